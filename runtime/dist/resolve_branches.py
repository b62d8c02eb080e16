#!/usr/bin/env python3
"""Resolves the branches inside one section of an aarch64 relocatable object.

Usage: resolve_branches.py IN.o OUT.o   (package.cmake, before --discard-all)

A partial link (ld -r) keeps every relocation, even a bl from one function
of the packaged object's single .text to another: the aarch64 libqrt.a had
1,371 such CALL26/JUMP26 entries, 24 bytes each, 33 KB of its 305 KB. Their
offset can never change (the final link moves the section as a whole, and a
~175 KB section is far inside bl's +-128 MB), so this writes the offset into
the instruction and drops the entry; strip then drops the local symbols
nothing names any more (another 7 KB). Only branches to LOCAL symbols
defined in the same section are resolved: a global (the C API) stays
interposable. ADRP pairs stay, as their result depends on where the final
link puts the page. Anything but a little-endian ELF64 aarch64 object is
copied unchanged.
"""
import struct
import sys

EM_AARCH64 = 183
SHT_SYMTAB, SHT_RELA, SHT_NOBITS = 2, 4, 8
SHF_EXECINSTR = 0x4
R_AARCH64_JUMP26, R_AARCH64_CALL26 = 282, 283
SHN_LORESERVE = 0xFF00
STB_LOCAL = 0


def main(src, dst):
    data = bytearray(open(src, "rb").read())
    if data[:6] != b"\x7fELF\x02\x01" or struct.unpack_from("<HH", data, 16) != (1, EM_AARCH64):
        open(dst, "wb").write(data)
        return 0
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    # name, type, flags, addr, offset, size, link, info, addralign, entsize
    shdrs = [list(struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize))
             for i in range(shnum)]
    contents = [bytes(data[h[4]:h[4] + h[5]]) if h[1] != SHT_NOBITS else b"" for h in shdrs]

    resolved = 0
    for index, h in enumerate(shdrs):
        target = h[7]
        if h[1] != SHT_RELA or not (shdrs[target][2] & SHF_EXECINSTR):
            continue
        symtab = shdrs[h[6]]
        assert symtab[1] == SHT_SYMTAB
        code = bytearray(contents[target])
        kept = bytearray()
        for off in range(h[4], h[4] + h[5], 24):
            r_offset, r_info, r_addend = struct.unpack_from("<QQq", data, off)
            sym, rtype = r_info >> 32, r_info & 0xFFFFFFFF
            _, st_info, _, st_shndx, st_value, _ = struct.unpack_from(
                "<IBBHQQ", data, symtab[4] + sym * 24)
            if (rtype in (R_AARCH64_CALL26, R_AARCH64_JUMP26) and st_info >> 4 == STB_LOCAL
                    and st_shndx == target and st_shndx < SHN_LORESERVE):
                delta = st_value + r_addend - r_offset
                assert delta % 4 == 0 and -(1 << 27) <= delta < (1 << 27)
                insn, = struct.unpack_from("<I", code, r_offset)
                struct.pack_into("<I", code, r_offset,
                                 (insn & 0xFC000000) | ((delta >> 2) & 0x03FFFFFF))
                resolved += 1
            else:
                kept += data[off:off + 24]
        contents[target] = bytes(code)
        contents[index] = bytes(kept)

    # Lay the sections out again, in their old order, without the gaps.
    out = bytearray(data[:64])
    for i in sorted(range(1, shnum), key=lambda i: shdrs[i][4]):
        h = shdrs[i]
        if h[1] == SHT_NOBITS:
            continue
        align = max(h[8], 1)
        out += b"\0" * (-len(out) % align)
        h[4], h[5] = len(out), len(contents[i])
        out += contents[i]
    out += b"\0" * (-len(out) % 8)
    struct.pack_into("<Q", out, 0x28, len(out))
    for h in shdrs:
        out += struct.pack("<IIQQQQIIQQ", *h)
    open(dst, "wb").write(out)
    print(f"resolve_branches.py: {resolved} branch relocations resolved")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
