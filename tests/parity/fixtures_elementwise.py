"""Golden fixtures for the elementwise family (ADD, MUL, SUB, DIV, MAXIMUM,
MINIMUM, POW, SIGMOID, TANH, EXP, LOG, SQRT, NEG, SILU, GELU, ERF,
HARD_SWISH, HARD_SIGMOID, LEAKY_RELU).

Elementwise ops do not care about layout, so every array is stored exactly
as PyTorch computed on it (no NCHW/NHWC permutation): the runtime feeds the
same arrays with the same shapes.

Case parameters (params.txt): op (the runtime's opcode name), dtype (f32 or
u8), profile (qnnpack, fbgemm, or any for f32 and for u8 MUL, which is the
same in both), quantization of a/b or x and out, act_min/act_max for binary
ops, alpha/beta/approximate_tanh for unary ops. Arrays: a, b, out (binary)
or x, out (unary).

Quantized references:
- qnnpack profile: the qnnpack engine. Ops that PyTorch runs through its
  generic kernel even on that engine (ADD with unequal shapes, MUL,
  LEAKY_RELU) are evaluated on rows shorter than 64 elements, where x86
  PyTorch takes the element-by-element path that ARM PyTorch takes
  everywhere (ARM has no vectorised quantized types; on x86 the AVX2 path
  dequantizes with a fused multiply-add instead). Each such output is also
  checked here against a numpy model of that formula.
- fbgemm profile: this PyTorch build has no FBGEMM; the onednn engine runs
  the same generic kernels the fbgemm engine uses for these ops. Inputs
  are contiguous with a multiple of 64 elements so every element takes the
  AVX2 vector path, checked against a numpy model (fused dequantize) where
  the op has no transcendental function.
"""

import contextlib

import numpy as np
import torch
import torch.nn.functional as F

from fixture_lib import reset_family, save_case

FAMILY = "elementwise"
f32 = np.float32
INF = float("inf")


def fl(x):
    """A Python float holding an exact float32 value (PyTorch keeps scales
    as doubles; the runtime as floats)."""
    return float(f32(x))


@contextlib.contextmanager
def engine(name):
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = name
    try:
        yield
    finally:
        torch.backends.quantized.engine = old


def qt(arr, scale, zp):
    return torch._make_per_tensor_quantized_tensor(
        torch.from_numpy(np.ascontiguousarray(arr, dtype=np.uint8)), scale, zp)


def u8(t):
    return t.int_repr().numpy().astype(np.uint8)


# numpy models of PyTorch's generic quantized kernels -----------------------

def deq_plain(q, s, zp):
    return (f32(s) * (q.astype(np.int32) - zp).astype(f32)).astype(f32)


def deq_fused(q, s, zp):
    # fma(s, q, f32(s * -zp)): the exact sum fits a double (s*q has <= 32
    # significant bits, the premultiplied term 24), so one rounding to float.
    prem = f32(f32(s) * f32(-zp))
    return (np.float64(f32(s)) * q.astype(np.float64) + np.float64(prem)).astype(f32)


def quant(y, s, zp, lo=0, hi=255):
    inv = f32(1) / f32(s)
    r = np.rint((y.astype(f32) * inv).astype(f32)).astype(np.float64) + zp
    return np.clip(r, lo, hi).astype(np.uint8)


def deq(profile):
    return deq_plain if profile == "qnnpack" else deq_fused


def check(name, got, want):
    bad = np.flatnonzero(got.reshape(-1) != want.reshape(-1))
    if bad.size:
        raise AssertionError("%s: PyTorch differs from the model at %d elements (first %d: %d vs %d)"
                             % (name, bad.size, bad[0], got.reshape(-1)[bad[0]],
                                want.reshape(-1)[bad[0]]))


def chunked_unary(fn, x, s, zp, rows=48):
    """fn applied to x in pieces shorter than one AVX2 double vector."""
    flat = x.reshape(-1)
    parts = [u8(fn(qt(flat[i:i + rows], s, zp))) for i in range(0, flat.size, rows)]
    return np.concatenate(parts).reshape(x.shape)


class Cases:
    def __init__(self):
        self.count = 0

    def save(self, name, arrays, params):
        save_case(FAMILY, name, arrays, params)
        self.count += 1


# float32 --------------------------------------------------------------------

BINARY_F32 = {
    "ADD": torch.add, "SUB": torch.sub, "MUL": torch.mul, "DIV": torch.div,
    "MAXIMUM": torch.maximum, "MINIMUM": torch.minimum, "POW": torch.pow,
}

SHAPES = [
    ("same", (2, 3, 4, 5), (2, 3, 4, 5)),
    ("inner", (2, 3, 4, 5), (5,)),
    ("channel", (2, 3, 4, 5), (1, 3, 1, 1)),
    ("outer", (2, 1, 4, 1), (1, 3, 1, 5)),
    ("small_a", (3, 1), (2, 1, 4)),
    ("scalar", (4, 6), ()),
]


def binary_inputs(rng, op, sa, sb):
    a = rng.uniform(-4, 4, sa).astype(f32)
    b = rng.uniform(-4, 4, sb).astype(f32)
    if op == "DIV":
        b = (np.sign(b) * (np.abs(b) + 0.25)).astype(f32)
    if op == "POW":
        a = rng.uniform(0.05, 3, sa).astype(f32)
        b = rng.uniform(-2.5, 2.5, sb).astype(f32)
    return np.asarray(a, f32), np.asarray(b, f32)


def gen_binary_f32(c, rng):
    for op, fn in BINARY_F32.items():
        for kind, sa, sb in SHAPES:
            a, b = binary_inputs(rng, op, sa, sb)
            out = fn(torch.from_numpy(a), torch.from_numpy(b)).numpy()
            c.save("%s_f32_%s" % (op.lower(), kind), {"a": a, "b": b, "out": out},
                   {"op": op, "dtype": "f32", "profile": "any", "act_min": -INF, "act_max": INF})
        # A fused clamp (ReLU6 and an asymmetric range).
        a, b = binary_inputs(rng, op, (3, 7), (7,))
        for lo, hi in [(0.0, 6.0), (-1.5, 0.75)]:
            out = torch.clamp(fn(torch.from_numpy(a), torch.from_numpy(b)), lo, hi).numpy()
            c.save("%s_f32_clamp_%g_%g" % (op.lower(), lo, hi), {"a": a, "b": b, "out": out},
                   {"op": op, "dtype": "f32", "profile": "any", "act_min": lo, "act_max": hi})
    # NaN propagation of MAXIMUM/MINIMUM, negative bases with integral
    # exponents for POW.
    a = np.array([1.0, np.nan, -2.0, np.nan, 0.0, -0.0], f32)
    b = np.array([np.nan, 3.0, -1.0, np.nan, -0.0, 0.0], f32)
    for op in ("MAXIMUM", "MINIMUM"):
        out = BINARY_F32[op](torch.from_numpy(a), torch.from_numpy(b)).numpy()
        c.save("%s_f32_nan" % op.lower(), {"a": a, "b": b, "out": out},
               {"op": op, "dtype": "f32", "profile": "any", "act_min": -INF, "act_max": INF})
    a = np.array([-2.0, -1.5, -3.0, 0.0, 0.0, -2.0, 4.0], f32)
    b = np.array([2.0, 3.0, -1.0, 2.0, -1.0, 0.5, 0.5], f32)
    out = torch.pow(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    c.save("pow_f32_special", {"a": a, "b": b, "out": out},
           {"op": "POW", "dtype": "f32", "profile": "any", "act_min": -INF, "act_max": INF})


def onnx_hard_sigmoid(x, alpha, beta):
    return torch.clamp(alpha * x + beta, 0.0, 1.0)


UNARY_F32 = [
    # name, op, torch function, params, input range
    ("sigmoid", "SIGMOID", torch.sigmoid, {}, (-12, 12)),
    ("tanh", "TANH", torch.tanh, {}, (-6, 6)),
    ("exp", "EXP", torch.exp, {}, (-20, 20)),
    ("log", "LOG", torch.log, {}, (1e-4, 50)),
    ("sqrt", "SQRT", torch.sqrt, {}, (0, 50)),
    ("neg", "NEG", torch.neg, {}, (-10, 10)),
    ("silu", "SILU", F.silu, {}, (-12, 12)),
    ("gelu", "GELU", F.gelu, {"approximate_tanh": 0}, (-6, 6)),
    ("gelu_tanh", "GELU", lambda t: F.gelu(t, approximate="tanh"), {"approximate_tanh": 1},
     (-6, 6)),
    ("erf", "ERF", torch.erf, {}, (-4, 4)),
    ("hard_swish", "HARD_SWISH", F.hardswish, {}, (-5, 5)),
    ("hard_sigmoid", "HARD_SIGMOID", F.hardsigmoid, {"alpha": 1.0 / 6.0, "beta": 0.5}, (-5, 5)),
    ("hard_sigmoid_onnx", "HARD_SIGMOID", lambda t: onnx_hard_sigmoid(t, fl(0.2), 0.5),
     {"alpha": 0.2, "beta": 0.5}, (-4, 4)),
    ("leaky_relu", "LEAKY_RELU", lambda t: F.leaky_relu(t, fl(0.01)), {"alpha": 0.01}, (-5, 5)),
    ("leaky_relu_02", "LEAKY_RELU", lambda t: F.leaky_relu(t, fl(0.2)), {"alpha": 0.2}, (-5, 5)),
]

SPECIALS = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 88.5,
                     -88.5, 100.0, -100.0, 3.0, -3.0], f32)


def gen_unary_f32(c, rng):
    for name, op, fn, params, (lo, hi) in UNARY_F32:
        p = {"op": op, "dtype": "f32", "profile": "any"}
        p.update(params)
        # 300 elements: PyTorch's vectorised path for most, its scalar tail
        # for the rest.
        x = rng.uniform(lo, hi, (3, 4, 25)).astype(f32)
        c.save("%s_f32" % name, {"x": x, "out": fn(torch.from_numpy(x)).numpy()}, p)
        c.save("%s_f32_special" % name,
               {"x": SPECIALS, "out": fn(torch.from_numpy(SPECIALS.copy())).numpy()}, p)


# uint8 binary -----------------------------------------------------------------

def add_model(profile, a, b, sa, za, sb, zb, so, zo, relu):
    d = deq(profile)
    x = (d(a, sa, za) + d(np.broadcast_to(b, np.broadcast(a, b).shape), sb, zb)).astype(f32)
    if relu:
        x = np.maximum(x, f32(0))
    return quant(x, so, zo)


def mul_model(a, b, sa, za, sb, zb, so, zo, relu):
    mult = f32(f32(f32(sa) * f32(sb)) * f32(f32(1) / f32(so)))
    bb = np.broadcast_to(b, np.broadcast(a, b).shape)
    prod = ((a.astype(np.int32) - za) * (bb.astype(np.int32) - zb)).astype(f32)
    y = np.clip(np.rint((prod * mult).astype(f32)).astype(np.float64) + zo, 0, 255)
    if relu:
        y = np.maximum(y, zo)
    return y.astype(np.uint8)


def qbinary_params(op, profile, sa, za, sb, zb, so, zo, relu):
    return {"op": op, "dtype": "u8", "profile": profile, "a_scale": sa, "a_zp": za,
            "b_scale": sb, "b_zp": zb, "out_scale": so, "out_zp": zo,
            "act_min": 0.0 if relu else -INF, "act_max": INF}


def random_qparams(rng, lo=0.01, hi=0.2):
    return fl(rng.uniform(lo, hi)), int(rng.integers(0, 256))


def sweep_inputs(rows):
    """Every a byte against `rows` b bytes (both corners included)."""
    a = np.tile(np.arange(256, dtype=np.uint8), (len(rows), 1))
    b = np.repeat(np.array(rows, np.uint8)[:, None], 256, axis=1)
    return a, b


def gen_add_u8(c, rng):
    add = torch.ops.quantized.add
    add_relu = torch.ops.quantized.add_relu
    # qnnpack, equal shapes: QNNPACK's fixed-point add.
    cases = []
    for i in range(6):
        shape = [(1, 4, 4, 8), (2, 3, 5, 7), (3, 17), (1, 6, 6, 3), (64,), (2, 2, 2, 9)][i]
        (sa, za), (sb, zb), (so, zo) = (random_qparams(rng) for _ in range(3))
        a = rng.integers(0, 256, shape).astype(np.uint8)
        b = rng.integers(0, 256, shape).astype(np.uint8)
        cases.append(("rand%d" % i, a, b, sa, za, sb, zb, so, zo, i % 3 == 2))
    # Ties: s_a / s_out = 1/2 puts odd sums exactly between two steps
    # (rounded away from zero), saturation at both ends, corner zero points.
    a, b = sweep_inputs([0, 1, 100, 128, 200, 255])
    cases.append(("tie_sweep", a, b, 1.0, 0, 0.5, 128, 2.0, 128, False))
    cases.append(("tie_sweep_relu", a, b, 0.25, 7, 0.125, 250, 0.5, 90, True))
    cases.append(("saturate", a, b, 0.1, 0, 0.2, 255, 0.02, 0, False))
    cases.append(("zp_corners", a, b, fl(0.05), 255, fl(0.03), 0, fl(0.04), 255, False))
    with engine("qnnpack"):
        for name, a, b, sa, za, sb, zb, so, zo, relu in cases:
            sa, sb, so = fl(sa), fl(sb), fl(so)
            fn = add_relu if relu else add
            out = u8(fn(qt(a, sa, za), qt(b, sb, zb), so, zo))
            c.save("add_u8_qnnpack_%s" % name, {"a": a, "b": b, "out": out},
                   qbinary_params("ADD", "qnnpack", sa, za, sb, zb, so, zo, relu))
    # Broadcast shapes: PyTorch's generic kernel on the qnnpack engine; the
    # innermost rows stay below 64 elements (the element-by-element path).
    bshapes = [((2, 3, 4, 5), (1, 3, 1, 5)), ((2, 3, 4, 5), (5,)), ((4, 1), (3,)),
               ((1, 3, 1, 1), (2, 3, 4, 5)), ((2, 1, 4, 1), (1, 3, 1, 5)), ((3, 5), ()),
               ((2, 6, 6, 3), (1, 1, 1, 3)), ((16, 4), (16, 1))]
    for i, (sha, shb) in enumerate(bshapes):
        (sa, za), (sb, zb), (so, zo) = (random_qparams(rng) for _ in range(3))
        relu = i % 3 == 1
        a = rng.integers(0, 256, sha).astype(np.uint8)
        b = rng.integers(0, 256, shb).astype(np.uint8)
        with engine("qnnpack"):
            fn = add_relu if relu else add
            out = u8(fn(qt(a, sa, za), qt(b, sb, zb), so, zo))
        check("add broadcast %d" % i, out, add_model("qnnpack", a, b, sa, za, sb, zb, so, zo, relu))
        c.save("add_u8_qnnpack_bcast%d" % i, {"a": a, "b": b, "out": out},
               qbinary_params("ADD", "qnnpack", sa, za, sb, zb, so, zo, relu))
    # fbgemm profile: the generic kernel's vector path (onednn engine).
    fcases = []
    for i, (sha, shb) in enumerate([((4, 64), (4, 64)), ((2, 4, 4, 8), (2, 4, 4, 8)),
                                     ((2, 3, 8, 8), (1, 3, 1, 1)), ((2, 3, 8, 8), (1, 1, 8, 8))]):
        (sa, za), (sb, zb), (so, zo) = (random_qparams(rng) for _ in range(3))
        a = rng.integers(0, 256, sha).astype(np.uint8)
        b = rng.integers(0, 256, shb).astype(np.uint8)
        fcases.append(("rand%d" % i, a, b, sa, za, sb, zb, so, zo, i == 1))
    a, b = sweep_inputs([0, 1, 2, 3, 100, 128, 200, 255])
    fcases.append(("tie_sweep", a, b, 1.0, 0, 0.5, 128, 2.0, 128, False))
    fcases.append(("saturate_relu", a, b, 0.1, 0, 0.2, 255, 0.02, 9, True))
    with engine("onednn"):
        for name, a, b, sa, za, sb, zb, so, zo, relu in fcases:
            sa, sb, so = fl(sa), fl(sb), fl(so)
            fn = add_relu if relu else add
            out = u8(fn(qt(a, sa, za), qt(b, sb, zb), so, zo))
            check("fbgemm add " + name, out,
                  add_model("fbgemm", a, b, sa, za, sb, zb, so, zo, relu))
            c.save("add_u8_fbgemm_%s" % name, {"a": a, "b": b, "out": out},
                   qbinary_params("ADD", "fbgemm", sa, za, sb, zb, so, zo, relu))


def gen_mul_u8(c, rng):
    mul = torch.ops.quantized.mul
    mul_relu = torch.ops.quantized.mul_relu
    cases = []
    shapes = [((2, 3, 4, 5), (2, 3, 4, 5)), ((1, 4, 4, 8), (1, 1, 1, 8)), ((2, 3, 4, 5), (5,)),
              ((1, 3, 1, 1), (2, 3, 4, 5)), ((2, 1, 4, 1), (1, 3, 1, 5)), ((6, 7), ()),
              ((3, 64), (3, 64))]
    for i, (sha, shb) in enumerate(shapes):
        (sa, za), (sb, zb) = random_qparams(rng), random_qparams(rng)
        so, zo = random_qparams(rng, 0.05, 1.0)
        a = rng.integers(0, 256, sha).astype(np.uint8)
        b = rng.integers(0, 256, shb).astype(np.uint8)
        cases.append(("rand%d" % i, a, b, sa, za, sb, zb, so, zo, i % 3 == 1))
    # multiplier 1/2: odd products tie and round to even.
    a, b = sweep_inputs([0, 127, 128, 129, 130, 131, 255])
    cases.append(("tie_sweep", a, b, 0.5, 128, 1.0, 128, 1.0, 128, False))
    cases.append(("saturate", a, b, 0.1, 0, 0.2, 255, 0.05, 3, False))
    cases.append(("saturate_relu", a, b, 0.1, 30, 0.2, 128, 0.05, 200, True))
    with engine("qnnpack"):
        for name, a, b, sa, za, sb, zb, so, zo, relu in cases:
            sa, sb, so = fl(sa), fl(sb), fl(so)
            fn = mul_relu if relu else mul
            out = u8(fn(qt(a, sa, za), qt(b, sb, zb), so, zo))
            check("mul " + name, out, mul_model(a, b, sa, za, sb, zb, so, zo, relu))
            c.save("mul_u8_%s" % name, {"a": a, "b": b, "out": out},
                   qbinary_params("MUL", "any", sa, za, sb, zb, so, zo, relu))


# uint8 unary ------------------------------------------------------------------

def hard_swish_model(profile, x, si, zi, so, zo):
    if profile == "qnnpack":
        v = deq_plain(x, si, zi)
        h = ((v * np.clip((v + f32(3)).astype(f32), 0, 6)).astype(f32) / f32(6)).astype(f32)
        t = ((f32(1) / f32(so)) * h).astype(f32) + f32(zo)
        return np.rint(np.clip(t.astype(f32), 0, 255)).astype(np.uint8)
    v = deq_fused(x, si, zi)
    h = ((v * np.clip((v + f32(3)).astype(f32), 0, 6)).astype(f32) / f32(6)).astype(f32)
    return quant(h, so, zo)


def hard_sigmoid_model(profile, x, si, zi):
    v = deq(profile)(x, si, zi)
    return quant((np.clip((v + f32(3)).astype(f32), 0, 6) / f32(6)).astype(f32), 1 / 256, 0)


def leaky_model(profile, x, si, zi, so, zo, slope):
    v = deq(profile)(x, si, zi)
    return quant(np.where(v > 0, v, (v * f32(slope)).astype(f32)), so, zo)


def qunary_params(op, profile, si, zi, so, zo, **extra):
    p = {"op": op, "dtype": "u8", "profile": profile, "in_scale": si, "in_zp": zi,
         "out_scale": so, "out_zp": zo}
    p.update(extra)
    return p


def all_bytes(rng):
    return rng.permutation(256).astype(np.uint8).reshape(4, 8, 8)


def save_leaky_u8(c, name, profile, x, si, zi, so, zo, slope):
    """quantized::leaky_relu on the current engine: rows shorter than one
    AVX2 vector for qnnpack (the plain dequantize ARM PyTorch uses), the
    vector path for fbgemm."""
    qleaky = torch.ops.quantized.leaky_relu
    if profile == "qnnpack":
        out = chunked_unary(lambda t: qleaky(t, slope, False, so, zo), x, si, zi)
    else:
        out = u8(qleaky(qt(x, si, zi), slope, False, so, zo))
    check(name, out, leaky_model(profile, x, si, zi, so, zo, slope))
    c.save(name, {"x": x, "out": out},
           qunary_params("LEAKY_RELU", profile, si, zi, so, zo, alpha=slope))


def gen_unary_u8(c, rng):
    hswish = torch.ops.quantized.hardswish
    x = all_bytes(rng)
    params = [(fl(rng.uniform(0.01, 0.1)), int(rng.integers(0, 256))) for _ in range(4)]
    params += [(0.5, 0), (fl(0.0625), 255), (fl(0.2), 128)]
    for profile, eng in (("qnnpack", "qnnpack"), ("fbgemm", "onednn")):
        with engine(eng):
            for i, (si, zi) in enumerate(params):
                so, zo = random_qparams(rng, 0.005, 0.05)
                if i == 4:
                    so, zo = 0.25, 1  # x = 1.5 gives 4.5 + zp: the table rounds 5.5 to 6
                if i == 5:
                    so, zo = fl(0.001), 20  # saturates both ways
                out = u8(hswish(qt(x, si, zi), so, zo))
                check("hardswish", out, hard_swish_model(profile, x, si, zi, so, zo))
                c.save("hard_swish_u8_%s_%d" % (profile, i), {"x": x, "out": out},
                       qunary_params("HARD_SWISH", profile, si, zi, so, zo))

                out = u8(F.hardsigmoid(qt(x, si, zi)))
                check("hardsigmoid", out, hard_sigmoid_model(profile, x, si, zi))
                c.save("hard_sigmoid_u8_%s_%d" % (profile, i), {"x": x, "out": out},
                       qunary_params("HARD_SIGMOID", profile, si, zi, 1 / 256, 0,
                                     alpha=1.0 / 6.0, beta=0.5))

                out = u8(torch.sigmoid(qt(x, si, zi)))
                c.save("sigmoid_u8_%s_%d" % (profile, i), {"x": x, "out": out},
                       qunary_params("SIGMOID", profile, si, zi, 1 / 256, 0))

                out = u8(torch.tanh(qt(x, si, zi)))
                c.save("tanh_u8_%s_%d" % (profile, i), {"x": x, "out": out},
                       qunary_params("TANH", profile, si, zi, 1 / 128, 128))

                slope = fl([0.01, 0.1, 0.2, 0.5, 1.0 / 3.0, 0.05, 0.3][i])
                so, zo = random_qparams(rng, 0.005, 0.1)
                if i == 6:
                    so, zo = si, zi  # F.leaky_relu keeps the input's parameters
                save_leaky_u8(c, "leaky_relu_u8_%s_%d" % (profile, i), profile, x, si, zi, so,
                              zo, slope)
            if profile == "fbgemm":
                # quantized::sigmoid with explicit output parameters: only
                # the generic kernel accepts other than (1/256, 0).
                for i, (si, zi) in enumerate(params[:3]):
                    so, zo = random_qparams(rng, 0.002, 0.01)
                    out = u8(torch.ops.quantized.sigmoid(qt(x, si, zi), so, zo))
                    c.save("sigmoid_u8_fbgemm_outparams%d" % i, {"x": x, "out": out},
                           qunary_params("SIGMOID", "fbgemm", si, zi, so, zo))


def gen_leaky_profile_split(c):
    """LEAKY_RELU where the fbgemm profile's fused dequantize and the qnnpack
    profile's plain one give different bytes: parameters searched with the
    numpy models, bytes from PyTorch. Its own seed keeps the cases above."""
    rng = np.random.default_rng(20250117)
    x = all_bytes(rng)
    found = 0
    while found < 2:
        si, zi = random_qparams(rng, 0.01, 0.3)
        so, zo = random_qparams(rng, 0.005, 0.1)
        slope = fl(rng.uniform(0.01, 0.5))
        if (leaky_model("qnnpack", x, si, zi, so, zo, slope) ==
                leaky_model("fbgemm", x, si, zi, so, zo, slope)).all():
            continue
        for profile, eng in (("qnnpack", "qnnpack"), ("fbgemm", "onednn")):
            with engine(eng):
                save_leaky_u8(c, "leaky_relu_u8_%s_profile_split%d" % (profile, found), profile,
                              x, si, zi, so, zo, slope)
        found += 1


def generate():
    reset_family(FAMILY)
    rng = np.random.default_rng(20240613)
    c = Cases()
    gen_binary_f32(c, rng)
    gen_unary_f32(c, rng)
    gen_add_u8(c, rng)
    gen_mul_u8(c, rng)
    gen_unary_u8(c, rng)
    gen_leaky_profile_split(c)
    return c.count
