"""Layout family fixtures: CONCAT, SPLIT, TRANSPOSE, SLICE, PAD, RESIZE,
GATHER, CAST and RESHAPE (squeeze / unsqueeze / flatten).

Every case holds in<i>.npy and out<i>.npy (u8 arrays are the quantized
bytes, int_repr) and params.txt with the op, its options, num_inputs,
num_outputs, profile, and <tensor>_scale / <tensor>_zp for quantized
tensors. PyTorch computes in NCHW; 4-D arrays are stored NHWC (permuted in
this script) and the options are the runtime's (NHWC axes, ONNX pad order).

Quantized ops run as an eager-mode model runs them: torch.ops.quantized.cat
(FloatFunctional.cat), F.pad / F.interpolate / permute / split / slicing /
index_select on quint8 tensors. Which kernel PyTorch picks depends on the
memory format:
  - cat of 4-D channels-last tensors along channels takes qcat_nhwc_kernel,
    whose AVX2 vector loop dequantizes with an FMA; every other cat
    dequantizes with the scalar form. Contiguous cases are the qnnpack
    profile (PyTorch on ARM has only the scalar form); channels-last ones the
    fbgemm profile (PyTorch on x86).
  - quantized bilinear upsampling of a channels-last tensor runs a kernel
    whose AVX2 build contracts products into FMAs; qrt follows the
    contiguous kernel, so these cases are contiguous with C > 1 and H*W > 1
    (a tensor with C == 1 or H == W == 1 also counts as channels-last).
Cases whose reference is not PyTorch say so in `source` (numpy).
"""

import numpy as np
import torch
import torch.nn.functional as F

from fixture_lib import reset_family, save_case

FAMILY = "layout"
SEED = 20240603

_count = 0


def _nhwc(a):
    a = a.numpy() if isinstance(a, torch.Tensor) else a
    return a.transpose(0, 2, 3, 1) if a.ndim == 4 else a


def _arr(t, nhwc=False):
    """A tensor as stored: quantized -> its bytes; 4-D -> NHWC when asked."""
    a = t.int_repr() if t.is_quantized else t
    a = a.contiguous().numpy()
    return np.ascontiguousarray(_nhwc(a) if nhwc else a)


def _save(name, op, inputs, outputs, nhwc=False, profile="qnnpack", source="pytorch",
          extra=None):
    global _count
    arrays, params = {}, {"op": op, "num_inputs": len(inputs), "num_outputs": len(outputs),
                          "profile": profile, "source": source}
    for role, tensors in (("in", inputs), ("out", outputs)):
        for i, t in enumerate(tensors):
            key = "%s%d" % (role, i)
            if isinstance(t, tuple):  # (array, scale, zp) built by hand
                arrays[key] = t[0]
                if t[1] is not None:
                    params[key + "_scale"], params[key + "_zp"] = t[1], t[2]
                continue
            arrays[key] = _arr(t, nhwc)
            if t.is_quantized:
                params[key + "_scale"] = t.q_scale()
                params[key + "_zp"] = t.q_zero_point()
    params.update(extra or {})
    save_case(FAMILY, name, arrays, params)
    _count += 1


def _q(rng, shape, scale=None, zp=None):
    """A random quint8 tensor with float32-exact params."""
    scale = float(np.float32(scale if scale is not None else rng.uniform(0.005, 0.2)))
    zp = int(zp if zp is not None else rng.integers(0, 256))
    data = torch.from_numpy(rng.integers(0, 256, size=shape).astype(np.uint8))
    return torch._make_per_tensor_quantized_tensor(data, scale, zp)


def _f(rng, shape):
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


# ----------------------------------------------------------------- concat

def _concat_cases(rng):
    # float and integer tensors: torch.cat.
    for k, (shapes, dim) in enumerate([
            ([(2, 3), (2, 5)], 1), ([(4,), (1,), (3,)], 0), ([(2, 3, 4)], 2),
            ([(1, 2, 3, 4), (1, 5, 3, 4)], 1), ([(2, 3, 2, 2), (1, 3, 2, 2)], 0),
            ([(1, 2, 3, 2), (1, 2, 1, 2), (1, 2, 2, 2)], 2)]):
        xs = [_f(rng, s) for s in shapes]
        nhwc = len(shapes[0]) == 4
        axis = [0, 3, 1, 2][dim] if nhwc else dim
        _save("concat_f32_%d" % k, "CONCAT", xs, [torch.cat(xs, dim)], nhwc, extra={"axis": axis})
    for k, dt in enumerate([torch.int32, torch.int64]):
        xs = [torch.from_numpy(rng.integers(-2**31, 2**31, size=s)).to(dt) for s in [(3, 2), (3, 4)]]
        _save("concat_%s" % str(dt)[6:], "CONCAT", xs, [torch.cat(xs, 1)], extra={"axis": -1})

    # u8, contiguous inputs: at::dequantize -> cat -> quantize (scalar form).
    # Scales are simple multiples of the output's so that many values land
    # exactly on rounding ties; a small output range saturates.
    specs = [
        ([(2, 6), (2, 3)], 1, None), ([(5,), (7,)], 0, None), ([(2, 3, 4), (2, 2, 4)], 1, None),
        ([(1, 3, 2, 3), (1, 5, 2, 3), (1, 2, 2, 3)], 1, None),
        ([(1, 4, 3, 2), (1, 4, 1, 2)], 2, None), ([(2, 2, 2, 3), (1, 2, 2, 3)], 0, None),
        ([(1, 9, 2, 2), (1, 17, 2, 2)], 1, "saturate"), ([(3, 40), (3, 24)], 1, None),
    ]
    for k, (shapes, dim, kind) in enumerate(specs):
        out_scale = float(np.float32(rng.uniform(0.02, 0.1)))
        out_zp = int(rng.integers(0, 256))
        xs = []
        for j, s in enumerate(shapes):
            if j == 0 and k % 2 == 0:
                xs.append(_q(rng, s, out_scale, out_zp))  # equal params: bytes copied
            else:
                ratio = [0.5, 1.5, 2.0, 3.0, 0.25, 1.25][int(rng.integers(0, 6))]
                xs.append(_q(rng, s, out_scale * ratio))
        if kind == "saturate":
            out_scale = float(np.float32(out_scale / 8))
        y = torch.ops.quantized.cat(xs, dim, out_scale, out_zp)
        nhwc = len(shapes[0]) == 4
        axis = [0, 3, 1, 2][dim] if nhwc else dim
        _save("concat_u8_contiguous_%d" % k, "CONCAT", xs, [y], nhwc, extra={"axis": axis})

    # u8, channels-last 4-D inputs along channels: qcat_nhwc_kernel. Channel
    # counts straddle the 8-wide FMA blocks (5, 8, 13, 16, 35, 40).
    for k, chans in enumerate([[5, 3], [8, 13], [16, 35], [40, 1, 6], [13, 13]]):
        h, w = int(rng.integers(1, 4)), int(rng.integers(2, 4))
        out_scale = float(np.float32(rng.uniform(0.02, 0.1)))
        out_zp = int(rng.integers(0, 256))
        xs = []
        for j, c in enumerate(chans):
            ratio = [1.0, 0.5, 1.5, 2.0, 3.0, 1.25][(j + k) % 6]
            zp = out_zp if ratio == 1.0 else None
            xs.append(_q(rng, (1, c, h, w), out_scale * ratio, zp)
                      .contiguous(memory_format=torch.channels_last))
        y = torch.ops.quantized.cat(xs, 1, out_scale, out_zp)
        _save("concat_u8_channels_last_%d" % k, "CONCAT", xs, [y], True, profile="fbgemm",
              extra={"axis": 3})
    # Channels-last inputs along H: not the fast path, scalar form again.
    xs = [_q(rng, (1, 11, h, 2), 0.04 * r).contiguous(memory_format=torch.channels_last)
          for h, r in [(2, 1.5), (3, 0.5)]]
    y = torch.ops.quantized.cat(xs, 2, 0.04, 128)
    _save("concat_u8_channels_last_h", "CONCAT", xs, [y], True, profile="fbgemm",
          extra={"axis": 1})


# ------------------------------------------------------------------ split

def _split_cases(rng):
    for k, (shape, sizes, dim, kind) in enumerate([
            ((2, 7), [3, 4], 1, "f32"), ((6,), [1, 2, 3], 0, "f32"), ((1, 8, 2, 3), [2, 6], 1, "f32"),
            ((1, 3, 5, 2), [5], 2, "u8"), ((2, 6, 2, 2), [1, 1, 4], 1, "u8"), ((3, 4, 2), [2, 1], 0, "u8"),
            ((4, 6), [3, 3], 1, "i64")]):
        if kind == "f32":
            x = _f(rng, shape)
        elif kind == "u8":
            x = _q(rng, shape)
        else:
            x = torch.from_numpy(rng.integers(-10**12, 10**12, size=shape))
        ys = torch.split(x, sizes, dim)
        nhwc = len(shape) == 4
        axis = [0, 3, 1, 2][dim] if nhwc else dim
        _save("split_%s_%d" % (kind, k), "SPLIT", [x], list(ys), nhwc,
              extra={"axis": axis - len(shape) if k % 2 else axis})


# -------------------------------------------------------------- transpose

def _transpose_cases(rng):
    for k, (shape, perm, kind) in enumerate([
            ((2, 3), (1, 0), "f32"), ((1, 4, 5, 3), (0, 3, 1, 2), "f32"), ((1, 4, 5, 3), (0, 2, 3, 1), "u8"),
            ((2, 3, 4), (2, 0, 1), "u8"), ((2, 1, 3, 2, 2), (4, 2, 0, 3, 1), "f32"), ((3, 5), (1, 0), "i64"),
            ((2, 3, 2), (1, 2, 0), "i32"), ((4,), (0,), "u8")]):
        if kind == "f32":
            x = _f(rng, shape)
        elif kind == "u8":
            x = _q(rng, shape)
        else:
            x = torch.from_numpy(rng.integers(-1000, 1000, size=shape)).to(
                torch.int64 if kind == "i64" else torch.int32)
        _save("transpose_%s_%d" % (kind, k), "TRANSPOSE", [x], [x.permute(*perm).contiguous()],
              extra={"perm": list(perm)})


# ------------------------------------------------------------------ slice

def _slice_axis(x, axis, begin, step, count):
    """x's elements begin + i * step, i < count, along axis (torch ops only)."""
    n = x.shape[axis]
    if step < 0:
        x = x.flip(axis)
        begin, step = n - 1 - begin, -step
    idx = [slice(None)] * x.dim()
    idx[axis] = slice(begin, begin + (count - 1) * step + 1, step)
    return x[tuple(idx)]


def _slice_cases(rng):
    for k, (shape, kind) in enumerate([((7,), "f32"), ((4, 6), "f32"), ((1, 5, 6, 3), "u8"),
                                        ((2, 5, 4), "u8"), ((6, 5), "i64"), ((2, 4, 3, 5), "f32"),
                                        ((3, 8), "u8"), ((1, 6, 6, 2), "f32")]):
        if kind == "f32":
            x = _f(rng, shape)
        elif kind == "u8":
            x = _q(rng, shape)
        else:
            x = torch.from_numpy(rng.integers(-10**15, 10**15, size=shape))
        begin, step, y = [], [], x
        for axis, n in enumerate(shape):
            s = int(rng.choice([1, 1, 2, 3, -1, -2]))
            b = int(rng.integers(0, n))
            room = (n - 1 - b) // s if s > 0 else b // -s
            count = int(rng.integers(1, room + 2))
            y = _slice_axis(y, axis, b, s, count)
            begin.append(b)
            step.append(s)
        _save("slice_%s_%d" % (kind, k), "SLICE", [x], [y.contiguous()],
              extra={"begin": begin, "step": step})


# -------------------------------------------------------------------- pad

_PAD_MODES = {"constant": 0, "reflect": 1, "replicate": 2}


def _onnx_pads(torch_pad, rank):
    """F.pad's (last_begin, last_end, prev_begin, ...) -> ONNX [begins, ends]
    on the NHWC axes when rank is 4."""
    begin, end = [0] * rank, [0] * rank
    for i in range(len(torch_pad) // 2):
        begin[rank - 1 - i] = torch_pad[2 * i]
        end[rank - 1 - i] = torch_pad[2 * i + 1]
    if rank == 4:
        order = [0, 2, 3, 1]
        begin, end = [begin[a] for a in order], [end[a] for a in order]
    return begin + end


def _pad_cases(rng):
    specs = [
        ("f32", (1, 2, 3, 4), (1, 2, 0, 1), "constant", 0.5),
        ("f32", (1, 2, 3, 4), (2, 1, 1, 2), "reflect", 0.0),
        ("f32", (2, 3, 2, 2), (3, 0, 1, 2), "replicate", 0.0),
        ("f32", (1, 3, 4, 5), (-1, 2, 1, -2), "constant", -1.25),
        ("f32", (1, 2, 3, 3), (1, 1, 0, 0, 1, 2), "constant", 0.0),  # channels too
        ("f32", (2, 3, 5), (2, 4), "reflect", 0.0),
        ("f32", (2, 3, 5), (3, 1), "replicate", 0.0),
        ("u8", (1, 3, 3, 4), (1, 2, 2, 1), "constant", 0.25),
        ("u8", (1, 2, 4, 3), (0, 1, 2, 0), "constant", 1.0),
        ("u8", (1, 2, 4, 3), (2, 2, 3, 1), "reflect", 0.0),
        ("u8", (2, 3, 6), (5, 4), "reflect", 0.0),
        ("u8", (1, 2, 3, 3), (1, 0, 0, 1), "constant", 100.0),  # saturates to 255
    ]
    for k, (kind, shape, pad, mode, value) in enumerate(specs):
        if kind == "f32":
            x = _f(rng, shape)
        else:
            # value 0.25 with scale 0.1: 0.25 * f32(1 / 0.1) is the tie 2.5 -> 2.
            x = _q(rng, shape, 0.1 if k == 7 else 0.05, 7 if k == 7 else None)
        y = F.pad(x, pad, mode=mode, value=value) if mode == "constant" else F.pad(x, pad, mode=mode)
        _save("pad_%s_%s_%d" % (kind, mode, k), "PAD", [x], [y], len(shape) == 4,
              extra={"pads": _onnx_pads(pad, len(shape)), "mode": _PAD_MODES[mode],
                     "value": float(value)})
    # u8 edge: PyTorch has no quantized replicate pad; numpy's edge mode.
    x = _q(rng, (1, 3, 4, 2))
    xn = _arr(x, True)
    pads = [0, 2, 1, 0, 0, 1, 3, 0]
    y = np.pad(xn, list(zip(pads[:4], pads[4:])), mode="edge")
    _save("pad_u8_edge", "PAD", [(xn, x.q_scale(), x.q_zero_point())],
          [(y, x.q_scale(), x.q_zero_point())], source="numpy",
          extra={"pads": pads, "mode": 2, "value": 0.0})


# ----------------------------------------------------------------- resize

# ONNX coordinate modes / nearest modes as the schema numbers them.
HALF_PIXEL, ASYMMETRIC, ALIGN_CORNERS, PYTORCH_HALF_PIXEL, TF_HALF_PIXEL_FOR_NN = range(5)
FLOOR = 2


def _resize_case(name, x, mode, align, size=None, scale=None, profile="qnnpack"):
    y = F.interpolate(x, size=size, scale_factor=scale, mode=mode,
                      align_corners=align if mode == "bilinear" else None)
    if mode == "nearest":
        coord, rmode = ASYMMETRIC, 0
    elif mode == "nearest-exact":
        coord, rmode = TF_HALF_PIXEL_FOR_NN, 0
    else:
        coord, rmode = (ALIGN_CORNERS if align else HALF_PIXEL), 1
        if not align and y.shape[2] > 1 and y.shape[3] > 1 and name.endswith("_pt"):
            coord = PYTORCH_HALF_PIXEL
    sh, sw = scale if scale else (0.0, 0.0)
    _save(name, "RESIZE", [x], [y], True, profile=profile,
          extra={"mode": rmode, "coordinate_mode": coord, "nearest_mode": FLOOR,
                 "scale_h": float(sh), "scale_w": float(sw)})


def _resize_cases(rng):
    # float32-exact scale factors only: PyTorch divides 1 by the double the
    # user wrote, qrt by the float32 the model stores.
    factors = [0.5, 0.75, 1.25, 1.5, 2.0, 2.5, 3.0]
    k = 0
    for mode in ["nearest", "nearest-exact", "bilinear"]:
        for kind in ["f32", "u8"]:
            for trial in range(6):
                c = int(rng.integers(2, 6))
                h, w = int(rng.integers(2, 7)), int(rng.integers(2, 7))
                x = _f(rng, (1, c, h, w)) if kind == "f32" else _q(rng, (1, c, h, w))
                if trial % 2 == 0:
                    scale = (float(rng.choice(factors)), float(rng.choice(factors)))
                    if int(h * scale[0]) < 1 or int(w * scale[1]) < 1:
                        scale = (2.0, 1.5)
                    size = None
                else:
                    scale, size = None, (int(rng.integers(1, 10)), int(rng.integers(1, 10)))
                align = mode == "bilinear" and trial % 3 == 1
                suffix = "_pt" if mode == "bilinear" and trial == 3 else ""
                _resize_case("resize_%s_%s_%d%s" % (mode.replace("-", "_"), kind, k, suffix), x,
                             mode, align, size, scale)
                k += 1
    # Equal sizes from a scale that is not 1: PyTorch's quantized kernels copy
    # the input, its float nearest kernel maps indices by the scale.
    for kind in ["f32", "u8"]:
        x = _f(rng, (1, 2, 3, 3)) if kind == "f32" else _q(rng, (1, 2, 3, 3))
        _resize_case("resize_nearest_%s_same_size" % kind, x, "nearest", None, None, (1.25, 1.25))
    x = _q(rng, (1, 3, 3, 4))
    _resize_case("resize_bilinear_u8_same_size", x, "bilinear", False, None, (1.25, 1.25))
    # A batch of 2, and a saturating zero point.
    _resize_case("resize_bilinear_u8_batch", _q(rng, (2, 3, 4, 3), 0.05, 250), "bilinear", False,
                 (7, 5))


# ----------------------------------------------------------------- gather

def _gather_cases(rng):
    specs = [((5, 3), 0, (4,), "f32", "i64"), ((2, 6, 3), 1, (2, 2), "f32", "i32"),
             ((1, 4, 4, 3), 3, (2,), "u8", "i64"), ((4, 5), -1, (1,), "u8", "i32"),
             ((6,), 0, (3, 2), "i64", "i64"), ((3, 4), 1, (5,), "i32", "i32"),
             ((2, 3, 2), 2, (1,), "f32", "i64")]
    for k, (shape, axis, idx_shape, kind, idx_kind) in enumerate(specs):
        if kind == "f32":
            x = _f(rng, shape)
        elif kind == "u8":
            x = _q(rng, shape)
        else:
            x = torch.from_numpy(rng.integers(-10**6, 10**6, size=shape)).to(
                torch.int64 if kind == "i64" else torch.int32)
        n = shape[axis]
        idx = rng.integers(-n, n, size=idx_shape)
        wrapped = torch.from_numpy(np.asarray(idx % n).reshape(-1).astype(np.int64))
        y = torch.index_select(x, axis, wrapped)
        a = axis % len(shape)
        y = y.reshape(tuple(shape[:a]) + tuple(idx_shape) + tuple(shape[a + 1:]))
        idx_arr = np.asarray(idx, dtype=np.int64 if idx_kind == "i64" else np.int32)
        _save("gather_%s_%d" % (kind, k), "GATHER", [x, (idx_arr, None, None)], [y],
              extra={"axis": axis, "in1_constant": int(k % 2 == 1)})


# ------------------------------------------------------------------- cast

def _cast_cases(rng):
    floats = np.concatenate([rng.uniform(-100, 100, 20), [0.0, -0.0, 0.5, -0.5, 1.999, -1.999,
                                                          126.9, -127.9]]).astype(np.float32)
    big = np.array([2**40 + 1, -(2**40) - 3, 2**24 + 1, 2**25 + 3, 16777217, -5, 0, 123456789],
                   dtype=np.int64)
    specs = [
        ("f32", "i32", torch.from_numpy(floats * 1000)),
        ("f32", "i64", torch.from_numpy(floats * 1e6)),
        ("f32", "s8", torch.from_numpy(floats)),
        ("f32", "u8", torch.from_numpy(np.abs(floats) * 2)),
        ("i64", "f32", torch.from_numpy(big)),
        ("i32", "i64", torch.from_numpy(rng.integers(-2**31, 2**31, 12).astype(np.int32))),
        ("i64", "i32", torch.from_numpy(rng.integers(-2**31, 2**31, 12))),
        ("u8", "f32", torch.from_numpy(rng.integers(0, 256, 12).astype(np.uint8))),
        ("s8", "i32", torch.from_numpy(rng.integers(-128, 128, 12).astype(np.int8))),
        ("u8", "s8", torch.from_numpy(rng.integers(0, 128, 12).astype(np.uint8))),
        ("i32", "f32", torch.from_numpy(np.array([2**24 + 1, 2**24 + 3, -(2**30) - 1, 7],
                                                 dtype=np.int32))),
        ("u8", "i64", torch.from_numpy(rng.integers(0, 256, (3, 4)).astype(np.uint8))),
    ]
    types = {"f32": torch.float32, "u8": torch.uint8, "s8": torch.int8, "i32": torch.int32,
             "i64": torch.int64}
    for k, (src, dst, x) in enumerate(specs):
        _save("cast_%s_%s_%d" % (src, dst, k), "CAST", [x], [x.to(types[dst])])


# ---------------------------------------------------------------- reshape

def _reshape_cases(rng):
    f = _f(rng, (2, 1, 3, 1))
    q = _q(rng, (1, 4, 1, 3))
    i = torch.from_numpy(rng.integers(-9, 9, size=(3, 1, 2)))
    cases = [("squeeze_f32", f, f.squeeze()), ("squeeze_dim_f32", f, f.squeeze(1)),
             ("unsqueeze_f32", f, f.unsqueeze(0)), ("flatten_f32", f, f.flatten(1)),
             ("squeeze_u8", q, q.squeeze(2)), ("unsqueeze_u8", q, q.unsqueeze(-1)),
             ("flatten_u8", q, q.flatten()), ("squeeze_i64", i, i.squeeze(1)),
             ("flatten_i64", i, i.flatten(0, 1))]
    for name, x, y in cases:
        # Shapes are PyTorch's own: these ops change no element order.
        _save("reshape_" + name, "RESHAPE", [x], [y])


# ----------------------------------------------------- later additions
# Cases added after the first generation, from their own seed so the cases
# above keep their bytes.

ROUND_PREFER_FLOOR, ROUND_PREFER_CEIL, CEIL = 0, 1, 3


def _onnx_source_coord(d, n_in, n_out, coord):
    """ONNX Resize's source coordinate of output index d (float64; the sizes
    below make every value exact, so float32 arithmetic agrees)."""
    r = n_in / n_out
    if coord == HALF_PIXEL:
        return (d + 0.5) * r - 0.5
    if coord == PYTORCH_HALF_PIXEL:
        return (d + 0.5) * r - 0.5 if n_out > 1 else 0.0
    if coord == ALIGN_CORNERS:
        return d * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    if coord == TF_HALF_PIXEL_FOR_NN:
        return (d + 0.5) * r
    return d * r  # ASYMMETRIC


def _onnx_nearest_index(x, n_in, mode):
    frac = x - np.floor(x)
    if mode == ROUND_PREFER_FLOOR:
        i = np.floor(x) if frac == 0.5 else np.floor(x + 0.5)
    elif mode == ROUND_PREFER_CEIL:
        i = np.ceil(x) if frac == 0.5 else np.floor(x + 0.5)
    elif mode == FLOOR:
        i = np.floor(x)
    else:
        i = np.ceil(x)
    return int(min(max(i, 0), n_in - 1))


def _onnx_linear_taps(x, n_in):
    """(i0, i1, weight of i1) with the input extended by its edge values."""
    x = min(max(x, 0.0), n_in - 1.0)
    i0 = int(np.floor(x))
    return i0, min(i0 + 1, n_in - 1), x - i0


def _onnx_resize(x, out_h, out_w, linear, coord, nearest):
    """ONNX Resize of H and W of an NHWC array, in float64."""
    n, h, w, c = x.shape
    out = np.zeros((n, out_h, out_w, c), np.float64)
    for oy in range(out_h):
        sy = _onnx_source_coord(oy, h, out_h, coord)
        for ox in range(out_w):
            sx = _onnx_source_coord(ox, w, out_w, coord)
            if not linear:
                out[:, oy, ox] = x[:, _onnx_nearest_index(sy, h, nearest),
                                   _onnx_nearest_index(sx, w, nearest)]
                continue
            y0, y1, ly = _onnx_linear_taps(sy, h)
            x0, x1, lx = _onnx_linear_taps(sx, w)
            xd = x.astype(np.float64)
            out[:, oy, ox] = ((1 - ly) * ((1 - lx) * xd[:, y0, x0] + lx * xd[:, y0, x1]) +
                              ly * ((1 - lx) * xd[:, y1, x0] + lx * xd[:, y1, x1]))
    return out


def _resize_onnx_cases(rng):
    # ONNX coordinate and nearest modes PyTorch has no interpolate mode for:
    # references from the ONNX formulas in float64 (source numpy). Sizes keep
    # in / out (and (in - 1) / (out - 1) for align_corners) dyadic, so every
    # coordinate is exact and exact halves occur for the nearest modes.
    sizes = [((4, 6), (8, 3)), ((3, 4), (6, 8)), ((6, 5), (4, 4)), ((5, 7), (9, 4))]
    modes = [(False, HALF_PIXEL, ROUND_PREFER_FLOOR), (False, HALF_PIXEL, CEIL),
             (False, ASYMMETRIC, ROUND_PREFER_FLOOR), (False, ASYMMETRIC, ROUND_PREFER_CEIL),
             (False, ASYMMETRIC, CEIL), (False, ALIGN_CORNERS, ROUND_PREFER_FLOOR),
             (False, ALIGN_CORNERS, ROUND_PREFER_CEIL), (False, PYTORCH_HALF_PIXEL, ROUND_PREFER_CEIL),
             (False, TF_HALF_PIXEL_FOR_NN, CEIL), (True, ASYMMETRIC, FLOOR),
             (True, TF_HALF_PIXEL_FOR_NN, FLOOR), (True, ALIGN_CORNERS, FLOOR),
             (True, HALF_PIXEL, FLOOR)]
    for k, (linear, coord, nearest) in enumerate(modes):
        (h, w), (oh, ow) = sizes[k % len(sizes)]
        if coord == ALIGN_CORNERS:
            (h, w), (oh, ow) = (5, 7), (9, 4)  # (in - 1) / (out - 1) = 1/2, 2
        kinds = ["f32"] if linear else ["f32", "u8"]
        for kind in kinds:
            c = int(rng.integers(1, 5))
            if kind == "f32":
                x = rng.standard_normal((1, h, w, c)).astype(np.float32)
                y = _onnx_resize(x, oh, ow, linear, coord, nearest).astype(np.float32)
                ins, outs = [(x, None, None)], [(y, None, None)]
            else:
                x = rng.integers(0, 256, (2, h, w, c)).astype(np.uint8)
                y = _onnx_resize(x, oh, ow, False, coord, nearest).astype(np.uint8)
                scale, zp = float(np.float32(rng.uniform(0.01, 0.1))), int(rng.integers(0, 256))
                ins, outs = [(x, scale, zp)], [(y, scale, zp)]
            _save("resize_onnx_%s_%s_c%d_n%d_%d" % ("linear" if linear else "nearest", kind, coord,
                                                     nearest, k),
                  "RESIZE", ins, outs, source="numpy",
                  extra={"mode": 1 if linear else 0, "coordinate_mode": coord,
                         "nearest_mode": nearest, "scale_h": 0.0, "scale_w": 0.0})
    # PyTorch's nearest-exact is also ONNX half_pixel + round_prefer_ceil
    # (floor(x + 1/2) of x = (d + 1/2) * r - 1/2): PyTorch's bytes under that
    # description.
    for k, kind in enumerate(["f32", "u8", "f32", "u8"]):
        shape = (1, int(rng.integers(2, 5)), int(rng.integers(2, 7)), int(rng.integers(2, 7)))
        x = _f(rng, shape) if kind == "f32" else _q(rng, shape)
        size = (int(rng.integers(1, 10)), int(rng.integers(1, 10)))
        y = F.interpolate(x, size=size, mode="nearest-exact")
        _save("resize_nearest_exact_as_half_pixel_%s_%d" % (kind, k), "RESIZE", [x], [y], True,
              extra={"mode": 0, "coordinate_mode": HALF_PIXEL, "nearest_mode": ROUND_PREFER_CEIL,
                     "scale_h": 0.0, "scale_w": 0.0})


def _audit_cases():
    rng = np.random.default_rng(20250117)
    torch.manual_seed(20250117)
    # u8 constant pad with 0.0: the zero point, what a padded conv input reads.
    for k, (shape, pad) in enumerate([((1, 3, 4, 5), (1, 2, 2, 1)), ((2, 4, 3, 3), (0, 3, 1, 0))]):
        x = _q(rng, shape)
        y = F.pad(x, pad, mode="constant", value=0.0)
        _save("pad_u8_constant_zero_point_%d" % k, "PAD", [x], [y], True,
              extra={"pads": _onnx_pads(pad, 4), "mode": 0, "value": 0.0})
    # Embedding lookup (ONNX Gather on axis 0 of a constant table).
    for k, (rows, dim, idx_shape) in enumerate([(10, 4, (2, 5)), (7, 3, (6,))]):
        table = _f(rng, (rows, dim))
        idx = torch.from_numpy(rng.integers(0, rows, size=idx_shape))
        y = F.embedding(idx, table)
        _save("gather_embedding_f32_%d" % k, "GATHER", [table, (idx.numpy(), None, None)], [y],
              extra={"axis": 0, "in0_constant": 1})
    _resize_onnx_cases(rng)


def generate():
    global _count
    _count = 0
    reset_family(FAMILY)
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    _concat_cases(rng)
    _split_cases(rng)
    _transpose_cases(rng)
    _slice_cases(rng)
    _pad_cases(rng)
    _resize_cases(rng)
    _gather_cases(rng)
    _cast_cases(rng)
    _reshape_cases(rng)
    _audit_cases()
    return _count
