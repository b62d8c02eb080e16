#!/usr/bin/env bash
# Instruction-count proxy for the NEON kernels (no ARM hardware here): runs
# one kernel call under qemu-aarch64 with one instruction per translation
# block and counts the instructions executed inside run_measured() of
# tests/bench/kernel_once.cc, i.e. the kernel's run phase with loads, stores,
# requantization and loop overhead, but not packing.
#   tests/bench/arm_insn_count.sh [build-dir]    (default build/insn)
# Prints, per kernel and tier, executed instructions and MACs per executed
# instruction for the whole run and for the kernel's k loop (the inner loop,
# see inner_loop below), next to the best the MAC instruction allows (smlal:
# 4 MACs, sdot: 16), and the functions that executed them.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash toolchains/deps.sh cross
dir=${1:-build/insn}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DQRT_BUILD_CONVERTER=OFF -DQRT_STATIC_TOOLS=ON \
  -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake >/dev/null
cmake --build "$dir" -j"$(nproc)" --target qrt-kernel-once >/dev/null
exe=$dir/tests/qrt-kernel-once

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fifo=$work/trace
mkfifo "$fifo"

# The exec log has one line per instruction, ending in the symbol it belongs
# to: "Trace 0: 0x... [.../0000000000401784/...] symbol". Counting starts at
# run_measured's first instruction and stops when control is back in main;
# the rest of the log is read and dropped so qemu never sees a closed pipe.
# Writes "pc count symbol" per executed instruction address.
per_pc() {
  awk '
    done { next }
    / run_measured$/ { inside = 1 }
    inside && / main$/ { done = 1; next }
    inside { split($4, f, "/"); n[f[2]]++; sym[f[2]] = $NF }
    END { for (pc in n) printf "%s %d %s\n", pc, n[pc], sym[pc] }' "$1" >"$2"
}

# The inner loop is the kernel's k loop: of the loops with no loop inside
# them (a conditional backward branch and the code from its target to it,
# read from objdump -d of the static binary; an unconditional jump back is
# an out-of-line block returning), the executed one with the most
# multiply-accumulate instructions. Prints the instructions executed in it
# and the MACs they did: sdot/udot do 4 per 32-bit lane, smlal and friends
# one per lane of their destination. Work outside it (a remainder step,
# requantization) counts only in the whole-kernel figure.
inner_loop() {
  aarch64-linux-gnu-objdump -d --no-show-raw-insn "$exe" | awk -F'\t' -v pcs="$1" '
    BEGIN {
      while ((getline line < pcs) > 0) { split(line, f, " "); sub(/^0+/, "", f[1]); count[f[1]] = f[2] }
    }
    /^ +[0-9a-f]+:\t/ {
      sub(/^ +/, "", $1); sub(/:$/, "", $1)
      n++; addr[n] = $1; index_of[$1] = n; op[n] = $2; args[n] = $3
      if ($2 ~ /^(b\..*|cbz|cbnz|tbz|tbnz)$/ && match($3, /[0-9a-f]+ </)) {
        target[n] = substr($3, RSTART, RLENGTH - 2)
      }
    }
    function macs_of(i,   lanes) {
      if (op[i] !~ /^(smlal2?|umlal2?|smlsl2?|sdot|udot)$/) return 0
      lanes = args[i]; sub(/^v[0-9]+\./, "", lanes); sub(/[^0-9].*$/, "", lanes)
      return op[i] ~ /dot$/ ? 4 * lanes : lanes
    }
    END {
      # Loops: a backward branch and the code from its target to it. Leaf
      # loops (no loop inside) that hold a MAC instruction are the inner loop.
      for (i = 1; i <= n; i++) if (i in target && (target[i] in index_of) && index_of[target[i]] <= i) {
        loops++; lo[loops] = index_of[target[i]]; hi[loops] = i
      }
      # Of the executed ones, the main k loop: the one with the most MAC
      # instructions (a remainder step can sit between a jump out and a jump
      # back and look like a smaller loop).
      for (a = 1; a <= loops; a++) {
        leaf = 1; n_mac[a] = 0
        for (b = 1; b <= loops; b++) {
          if (b != a && lo[b] >= lo[a] && hi[b] <= hi[a] && hi[b] - lo[b] < hi[a] - lo[a]) leaf = 0
        }
        ran = 0
        for (k = lo[a]; k <= hi[a]; k++) ran += count[addr[k]]
        if (leaf && ran) for (k = lo[a]; k <= hi[a]; k++) if (macs_of(k)) n_mac[a]++
        if (n_mac[a] > most) most = n_mac[a]
      }
      for (a = 1; a <= loops; a++) if (most && n_mac[a] == most) for (k = lo[a]; k <= hi[a]; k++) in_loop[k] = 1
      for (k in in_loop) { insns += count[addr[k]]; macs += count[addr[k]] * macs_of(k) }
      print insns + 0, macs + 0
    }'
}

printf '%-5s %-13s %-24s %10s %12s %9s %12s %9s %5s\n' kernel tier name macs instructions MAC/insn inner-loop MAC/insn best
for job in gemm:neon:4 gemm:neon_dotprod:16 dw:neon:4; do
  IFS=: read -r kernel tier best <<<"$job"
  per_pc "$fifo" "$work/pcs" &
  reader=$!
  out=$(qemu-aarch64 -cpu max -singlestep -d nochain,exec -D "$fifo" "$exe" "$kernel" "$tier")
  wait "$reader"
  name=$(awk '/^kernel /{ sub(/,$/, "", $2); print $2 }' <<<"$out")
  macs=$(awk '/^macs /{ print $2 }' <<<"$out")
  insns=$(awk '{ n += $2 } END { print n }' "$work/pcs")
  read -r loop_insns loop_macs < <(inner_loop "$work/pcs")
  printf '%-5s %-13s %-24s %10s %12s %9.2f %12s %9.2f %5s\n' "$kernel" "$tier" "$name" "$macs" "$insns" \
    "$(awk -v m="$macs" -v i="$insns" 'BEGIN { print m / i }')" "$loop_insns" \
    "$(awk -v m="$loop_macs" -v i="$loop_insns" 'BEGIN { print i ? m / i : 0 }')" "$best"
  awk '{ n[$3] += $2 } END { for (s in n) printf "      %10d  %s\n", n[s], s }' "$work/pcs" | sort -rn | head -n 3
done
