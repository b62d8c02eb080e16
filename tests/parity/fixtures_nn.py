"""Fixtures for the "nn" family: SOFTMAX, LOG_SOFTMAX, LAYER_NORM, REDUCE_MEAN,
REDUCE_MAX, REDUCE_SUM and MATMUL.

Every case has `op` in params.txt:
  softmax_f32, log_softmax_f32 (axis)         x -> expected
  layer_norm_f32 (axis, eps, has_gamma, has_beta)   x, [gamma], [beta] -> expected
  reduce_f32 (kind mean|max|sum, axes, keep_dims)   x -> expected
  matmul_f32                                   a, b -> expected
  softmax_u8 (axis, in/out scale and zero point, profile, exact)   x -> expected
  layer_norm_u8 (as layer_norm_f32 plus quantization)              x -> expected

Reduce and matmul cases give `out_shape` (empty for a scalar: save_case
stores 0-d arrays with shape (1,)).

float32 cases: `expected` is PyTorch's float32 result. Where PyTorch's own
float32 kernel is further than the test tolerance (1e-5 relative, 1e-6
absolute) from the exact result (layer norm of rows whose mean is large
against their spread: PyTorch computes x * rstd - mean * rstd in float32),
the case also has `oracle` (PyTorch in float64, rounded to float32) and
`torch_dev` (the largest |expected - oracle|).

Quantized cases run on the qnnpack engine (profile qnnpack) or, for the
fbgemm profile, on the onednn engine: PyTorch's quantized softmax and layer
norm do not depend on the engine except that quantized::softmax takes
QNNPACK's fixed-point path only on the qnnpack engine with output scale 1/256
and zero point 0; every other engine and output uses dequantize -> float
softmax -> quantize, exactly what the fbgemm engine does. `exact` is 0 where
the result goes through PyTorch's float exp (Sleef), which a portable kernel
reproduces only to the last bit of the float result: a byte may then differ
by one. Layer norm is checked to give identical bytes on both engines.

Tensors are in PyTorch's own layout; none of these ops has an NCHW/NHWC
distinction (axes are given explicitly).
"""

import numpy as np
import torch

from fixture_lib import reset_family, save_case

FAMILY = "nn"
F32 = np.float32


def _f32(v):
    return float(F32(v))


class _Counter:
    def __init__(self):
        self.n = 0

    def save(self, name, arrays, params):
        save_case(FAMILY, "%03d_%s" % (self.n, name), arrays, params)
        self.n += 1


def _tolerance_ratio(got, want):
    """max |got - want| / max(1e-5 |want|, 1e-6), NaNs equal."""
    got = got.astype(np.float64)
    want = want.astype(np.float64)
    both_nan = np.isnan(got) & np.isnan(want)
    same = (got == want) | both_nan
    d = np.where(same, 0.0, np.abs(got - want))
    tol = np.maximum(1e-5 * np.abs(np.where(np.isfinite(want), want, 0.0)), 1e-6)
    return float(np.max(np.where(np.isnan(d), np.inf, d) / tol)) if d.size else 0.0


def _check_close_to_f64(name, y32, y64):
    ratio = _tolerance_ratio(y32, y64.astype(F32))
    if ratio > 0.5:
        raise AssertionError("%s: PyTorch float32 is %.2f tolerances from float64" % (name, ratio))


# ---------------------------------------------------------------- softmax

def _softmax_cases(c, rng):
    shapes = [((5,), -1), ((3, 7), 1), ((3, 7), 0), ((2, 5, 4), 1), ((2, 3, 4, 5), 2),
              ((2, 3, 4, 5), -3), ((4, 1), 1), ((2, 3, 4), -1), ((1, 1, 6), 0)]
    for op, fn in (("softmax_f32", torch.softmax), ("log_softmax_f32", torch.log_softmax)):
        for shape, axis in shapes:
            x = (3 * rng.standard_normal(shape)).astype(F32)
            y = fn(torch.from_numpy(x), axis).numpy()
            _check_close_to_f64(op, y, fn(torch.from_numpy(x).double(), axis).numpy())
            c.save("%s_r%d_axis%d" % (op, len(shape), axis), {"x": x, "expected": y},
                   {"op": op, "axis": axis})
        # Logits at +-80: exp(-160) underflows float32, the max term must not overflow.
        x = rng.uniform(-80, 80, size=(4, 9)).astype(F32)
        x[0, :] = [80, -80, 80, -80, 79.5, -79.5, 0, 1, -1]
        x[1, 3] = 80
        x[2, :] = -80
        x[3, 0] = 80
        y = fn(torch.from_numpy(x), 1).numpy()
        c.save(op + "_large_logits", {"x": x, "expected": y}, {"op": op, "axis": 1})
        x = rng.uniform(-80, 80, size=(3, 5, 2)).astype(F32)
        x[:, 0, :] = 80
        y = fn(torch.from_numpy(x), 1).numpy()
        c.save(op + "_large_logits_mid_axis", {"x": x, "expected": y}, {"op": op, "axis": 1})
        # All-equal rows: exactly 1/n (softmax) and -log(n) (log softmax).
        x = np.full((3, 6), 7.25, dtype=F32)
        x[1, :] = -3.5
        x[2, :] = 0
        y = fn(torch.from_numpy(x), -1).numpy()
        c.save(op + "_equal_rows", {"x": x, "expected": y}, {"op": op, "axis": -1})
        # Masked attention rows (-inf entries), and a fully masked row (NaN).
        x = rng.standard_normal((3, 5)).astype(F32)
        x[0, 1] = -np.inf
        x[1, :4] = -np.inf
        x[2, :] = -np.inf
        y = fn(torch.from_numpy(x), -1).numpy()
        c.save(op + "_masked", {"x": x, "expected": y}, {"op": op, "axis": -1})


def _qsoftmax(q, in_scale, in_zp, dim, out_scale, out_zp, engine):
    torch.backends.quantized.engine = engine
    try:
        qx = torch._make_per_tensor_quantized_tensor(torch.from_numpy(q), in_scale, in_zp)
        # PyTorch 1.13's QNNPACK path indexes a vector with `dim` and throws on a
        # negative dim that is not the innermost one: pass it normalized.
        dim %= q.ndim
        return torch.ops.quantized.softmax(qx, dim, out_scale, out_zp).int_repr().numpy()
    finally:
        torch.backends.quantized.engine = "qnnpack"


def _softmax_u8_cases(c, rng):
    def save(name, q, in_scale, in_zp, axis, out_scale, out_zp, profile, exact):
        engine = "qnnpack" if profile == "qnnpack" else "onednn"
        y = _qsoftmax(q, in_scale, in_zp, axis, out_scale, out_zp, engine)
        c.save("softmax_u8_%s_%s" % (profile, name), {"x": q, "expected": y},
               {"op": "softmax_u8", "axis": axis, "in_scale": in_scale, "in_zp": in_zp,
                "out_scale": out_scale, "out_zp": out_zp, "profile": profile,
                "exact": 1 if exact else 0})

    lut_scale = 1.0 / 256
    for i in range(14):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(d) for d in rng.integers(1, 7, size=rank))
        axis = int(rng.integers(-rank, rank))
        in_scale = _f32(10 ** rng.uniform(-3, 0.7))
        in_zp = int(rng.integers(0, 256))
        q = rng.integers(0, 256, size=shape).astype(np.uint8)
        save("random%d" % i, q, in_scale, in_zp, axis, lut_scale, 0, "qnnpack", True)
    # Ties and saturation corners of the table.
    q = np.full((3, 8), 200, dtype=np.uint8)
    q[1, :] = 0
    q[2, :] = 255
    save("equal_rows", q, 0.05, 128, 1, lut_scale, 0, "qnnpack", True)
    q = rng.integers(0, 256, size=(2, 7)).astype(np.uint8)
    q[:, 0] = 255
    q[:, 1] = 0
    save("saturating", q, 1.0, 0, -1, lut_scale, 0, "qnnpack", True)
    save("tiny_scale", rng.integers(0, 256, size=(3, 10)).astype(np.uint8), 1e-4, 7, 1,
         lut_scale, 0, "qnnpack", True)
    # Long rows: the table's scale becomes UINT32_MAX / n below 2^23 - 1.
    for n in (600, 1000):
        save("long%d" % n, rng.integers(100, 256, size=(2, n)).astype(np.uint8), 0.01, 90, 1,
             lut_scale, 0, "qnnpack", True)
    # 512 equal logits: p = 1/512 gives exactly 0.5 output steps. QNNPACK rounds
    # half up (1); dequantize -> softmax -> quantize rounds half to even (0).
    tie = np.full((2, 512), 77, dtype=np.uint8)
    save("tie512", tie, 0.1, 3, 1, lut_scale, 0, "qnnpack", True)
    save("tie512", tie, 0.1, 3, 1, lut_scale, 0, "fbgemm", True)
    # The float path: other output params on qnnpack, every output on fbgemm.
    for i, (out_scale, out_zp) in enumerate([(0.01, 5), (lut_scale, 1), (0.004, 0)]):
        q = rng.integers(0, 256, size=(4, 6)).astype(np.uint8)
        save("float_path%d" % i, q, _f32(0.03 + 0.02 * i), 100, -1, out_scale, out_zp,
             "qnnpack", False)
    for i, (out_scale, out_zp) in enumerate([(lut_scale, 0), (lut_scale, 0), (0.02, 10)]):
        q = rng.integers(0, 256, size=(3, 4, 5)).astype(np.uint8)
        save("random%d" % i, q, _f32(0.05 * (i + 1)), 60, i - 2, out_scale, out_zp,
             "fbgemm", False)


# ---------------------------------------------------------------- layer norm

def _layer_norm_f32(x, n_norm, gamma, beta, eps, dtype):
    t = torch.from_numpy(x).to(dtype)
    g = None if gamma is None else torch.from_numpy(gamma).to(dtype)
    b = None if beta is None else torch.from_numpy(beta).to(dtype)
    return torch.nn.functional.layer_norm(t, x.shape[len(x.shape) - n_norm:], g, b, eps).numpy()


def _layer_norm_f32_cases(c, rng):
    cases = [
        # name, shape, axis, gamma, beta, eps, offset, spread
        ("last1", (4, 6), -1, False, False, 1e-5, 0.0, 1.0),
        ("last1_affine", (2, 3, 5), -1, True, True, 1e-5, 0.0, 2.0),
        ("last2", (2, 3, 5), 1, False, False, 1e-5, 0.0, 1.0),
        ("last2_affine", (3, 4, 5), -2, True, True, 1e-5, 0.5, 3.0),
        ("gamma_only", (3, 8), 1, True, False, 1e-5, 0.0, 1.0),
        ("beta_only", (2, 2, 3, 4), 2, False, True, 1e-3, 0.0, 1.0),
        ("rank1", (7,), 0, True, True, 0.1, 0.0, 1.0),
        ("whole_tensor", (2, 3, 4), 0, True, True, 1e-5, 0.0, 1.0),
        ("tiny_var_near_zero", (3, 9), -1, True, True, 1e-5, 0.0, 1e-4),
        ("tiny_var_eps_dominates", (3, 9), -1, False, False, 1e-5, 0.0, 1e-3),
        ("tiny_var_offset", (3, 16), -1, True, True, 1e-5, 1.0, 1e-3),
        ("tiny_var_offset_last2", (2, 4, 6), 1, False, False, 1e-5, 5.0, 1e-2),
        ("large_offset", (4, 10), -1, True, True, 1e-5, 100.0, 1.0),
        ("large_offset_small_eps", (2, 12), -1, False, False, 1e-12, 1000.0, 1.0),
    ]
    for name, shape, axis, has_gamma, has_beta, eps, offset, spread in cases:
        x = (offset + spread * rng.standard_normal(shape)).astype(F32)
        n_norm = len(shape) - (axis % len(shape))
        norm_shape = shape[len(shape) - n_norm:]
        gamma = (1 + 0.5 * rng.standard_normal(norm_shape)).astype(F32) if has_gamma else None
        beta = rng.standard_normal(norm_shape).astype(F32) if has_beta else None
        _save_layer_norm_f32(c, name, x, axis, n_norm, gamma, beta, eps)
    # Constant rows: zero variance, the output is beta (or 0).
    x = np.repeat(rng.standard_normal((3, 1)).astype(F32), 6, axis=1)
    beta = rng.standard_normal(6).astype(F32)
    _save_layer_norm_f32(c, "constant_rows", x, -1, 1, None, beta, 1e-5)
    _save_layer_norm_f32(c, "constant_rows_nobeta", x, -1, 1, None, None, 1e-5)


def _save_layer_norm_f32(c, name, x, axis, n_norm, gamma, beta, eps):
    y = _layer_norm_f32(x, n_norm, gamma, beta, eps, torch.float32)
    y64 = _layer_norm_f32(x, n_norm, gamma, beta, eps, torch.float64)
    arrays = {"x": x, "expected": y}
    params = {"op": "layer_norm_f32", "axis": axis, "eps": eps,
              "has_gamma": gamma is not None, "has_beta": beta is not None}
    if gamma is not None:
        arrays["gamma"] = gamma
    if beta is not None:
        arrays["beta"] = beta
    if _tolerance_ratio(y, y64.astype(F32)) > 0.5:
        oracle = y64.astype(F32)
        arrays["oracle"] = oracle
        params["torch_dev"] = float(np.max(np.abs(y.astype(np.float64) - oracle)))
    c.save("layer_norm_f32_" + name, arrays, params)


def _qlayer_norm(q, n_norm, in_scale, in_zp, gamma, beta, eps, out_scale, out_zp, engine):
    torch.backends.quantized.engine = engine
    try:
        qx = torch._make_per_tensor_quantized_tensor(torch.from_numpy(q), in_scale, in_zp)
        g = None if gamma is None else torch.from_numpy(gamma)
        b = None if beta is None else torch.from_numpy(beta)
        return torch.ops.quantized.layer_norm(qx, list(q.shape[q.ndim - n_norm:]), g, b, eps,
                                              out_scale, out_zp).int_repr().numpy()
    finally:
        torch.backends.quantized.engine = "qnnpack"


def _layer_norm_u8_model(q, in_scale, in_zp, gamma, beta, eps, out_scale, out_zp, fma_var,
                         fma_out):
    """PyTorch 1.13's quantized layer norm of rows q (R, n), one set of params
    per row, with or without its two fused multiply-adds. Used only to search
    for inputs that tell the variants apart: the fused multiply-add is emulated
    in float64 (double rounding is rare); the fixtures' bytes come from PyTorch."""
    n = q.shape[1]
    qi = q.astype(np.int64)
    ms = (qi.sum(1).astype(F32) / F32(n)).astype(F32)
    mean = (ms - in_zp.astype(F32)).astype(F32)
    mean_sq = ((qi * qi).sum(1).astype(F32) / F32(n)).astype(F32)
    if fma_var:
        var = (mean_sq.astype(np.float64) - ms.astype(np.float64) ** 2).astype(F32)
    else:
        var = (mean_sq - (ms * ms).astype(F32)).astype(F32)
    var = np.maximum(var, F32(0))
    var_real = ((var * in_scale).astype(F32) * in_scale).astype(F32)
    rstd = (in_scale.astype(np.float64) / np.sqrt(var_real.astype(np.float64) + eps)).astype(F32)
    t = ((((qi - in_zp[:, None]).astype(F32) - mean[:, None]).astype(F32)) * rstd[:, None])
    t = t.astype(F32)
    if fma_out:
        y = (t.astype(np.float64) * gamma + beta).astype(F32)
    else:
        y = ((t * gamma).astype(F32) + beta).astype(F32)
    v = np.rint((y * (F32(1) / out_scale).astype(F32)[:, None]).astype(F32)) + out_zp[:, None]
    return np.clip(v, 0, 255).astype(np.uint8)


def _fma_sensitive_layer_norm_rows(rng, n, wanted):
    """Rows (q, in_scale, in_zp, gamma, beta, out_scale, out_zp) where dropping
    one of PyTorch's fused multiply-adds changes a byte; wanted: 'var' or 'out'."""
    for _ in range(40):
        rows = 50000
        q = rng.integers(0, 256, size=(rows, n)).astype(np.uint8)
        in_scale = (10 ** rng.uniform(-2, 0, rows)).astype(F32)
        in_zp = rng.integers(0, 256, rows)
        out_scale = (10 ** rng.uniform(-3, -1.5, rows)).astype(F32)
        out_zp = rng.integers(0, 256, rows)
        gamma = (1 + 0.5 * rng.standard_normal((rows, n))).astype(F32)
        beta = (0.5 * rng.standard_normal((rows, n))).astype(F32)
        args = (q, in_scale, in_zp, gamma, beta, 1e-5, out_scale, out_zp)
        ref = _layer_norm_u8_model(*args, True, True)
        alt = _layer_norm_u8_model(*args, wanted != "var", wanted != "out")
        hits = np.nonzero((alt != ref).any(axis=1))[0]
        if len(hits):
            r = hits[0]
            y = _qlayer_norm(q[r:r + 1], 1, float(in_scale[r]), int(in_zp[r]), gamma[r], beta[r],
                             1e-5, float(out_scale[r]), int(out_zp[r]), "qnnpack")
            assert np.array_equal(y, ref[r:r + 1]), "PyTorch does not fuse as expected"
            return (q[r:r + 1], float(in_scale[r]), int(in_zp[r]), gamma[r], beta[r],
                    float(out_scale[r]), int(out_zp[r]))
    raise AssertionError("no fma-sensitive layer norm input found")


def _layer_norm_u8_cases(c, rng):
    def save(name, q, n_norm, in_scale, in_zp, gamma, beta, eps, out_scale, out_zp):
        y = _qlayer_norm(q, n_norm, in_scale, in_zp, gamma, beta, eps, out_scale, out_zp,
                         "qnnpack")
        y_onednn = _qlayer_norm(q, n_norm, in_scale, in_zp, gamma, beta, eps, out_scale,
                                out_zp, "onednn")
        assert np.array_equal(y, y_onednn), "quantized layer norm differs between engines"
        arrays = {"x": q, "expected": y}
        if gamma is not None:
            arrays["gamma"] = gamma
        if beta is not None:
            arrays["beta"] = beta
        c.save("layer_norm_u8_" + name, arrays,
               {"op": "layer_norm_u8", "axis": q.ndim - n_norm, "eps": eps,
                "has_gamma": gamma is not None, "has_beta": beta is not None,
                "in_scale": in_scale, "in_zp": in_zp, "out_scale": out_scale,
                "out_zp": out_zp})

    def affine(shape, kind):
        gamma = (1 + 0.5 * rng.standard_normal(shape)).astype(F32) if kind & 1 else None
        beta = (0.5 * rng.standard_normal(shape)).astype(F32) if kind & 2 else None
        return gamma, beta

    # PyTorch's AVX2 kernel handles 32 bytes at a time, the rest one by one.
    shapes = [((3, 5), 1), ((2, 16), 1), ((2, 31), 1), ((2, 32), 1), ((3, 33), 1),
              ((2, 40), 1), ((1, 64), 1), ((2, 100), 1), ((2, 3, 8), 2), ((2, 4, 9), 2),
              ((4, 7), 2)]
    for i, (shape, n_norm) in enumerate(shapes):
        q = rng.integers(0, 256, size=shape).astype(np.uint8)
        gamma, beta = affine(shape[len(shape) - n_norm:], i % 4)
        eps = 1e-5 if i % 3 else 1e-3
        save("random%d" % i, q, n_norm, _f32(10 ** rng.uniform(-2, 0)),
             int(rng.integers(0, 256)), gamma, beta, eps, _f32(10 ** rng.uniform(-2, -0.5)),
             int(rng.integers(0, 256)))
    # Saturation at both ends, and constant rows (zero variance: eps alone).
    q = rng.integers(0, 256, size=(3, 12)).astype(np.uint8)
    gamma, beta = affine((12,), 3)
    save("saturating", q, 1, 0.1, 128, gamma, beta, 1e-5, 0.002, 128)
    q = np.repeat(rng.integers(0, 256, size=(3, 1)).astype(np.uint8), 10, axis=1)
    q[2, 4] += 1
    gamma, beta = affine((10,), 2)
    save("constant_rows", q, 1, 0.02, 50, gamma, beta, 1e-5, 0.01, 100)
    # Inputs where PyTorch's fused multiply-adds (variance = fma(-m, m, E[x^2]),
    # y = fma(t, gamma, beta)) change a byte, in the scalar (n < 32) and the
    # vector path.
    for which in ("var", "out"):
        for n in (31, 96):
            q, in_scale, in_zp, gamma, beta, out_scale, out_zp = \
                _fma_sensitive_layer_norm_rows(rng, n, which)
            save("fma_%s_n%d" % (which, n), q, 1, in_scale, in_zp, gamma, beta, 1e-5,
                 out_scale, out_zp)


# ---------------------------------------------------------------- reduce, matmul

def _reduce_cases(c, rng):
    fns = {"mean": torch.mean, "sum": torch.sum, "max": torch.amax}
    cases = [((2, 3, 4, 5), [1, 3]), ((2, 3, 4, 5), [-1, -3]), ((2, 3, 4, 5), [0]),
             ((2, 3, 4, 5), []), ((2, 3, 4), [0, 2]), ((3, 4), [-1]), ((5,), [0]),
             ((2, 3, 4), [2, 0, 1]), ((1, 6, 1, 2), [0, 2])]
    for kind, fn in fns.items():
        for shape, axes in cases:
            for keep in (True, False):
                x = rng.standard_normal(shape).astype(F32)
                dims = tuple(axes) if axes else tuple(range(len(shape)))
                y = fn(torch.from_numpy(x), dim=dims, keepdim=keep).numpy()
                y64 = fn(torch.from_numpy(x).double(), dim=dims, keepdim=keep).numpy()
                _check_close_to_f64("reduce_" + kind, y, y64)
                c.save("reduce_%s_r%d_%s_%s" % (kind, len(shape),
                                               "_".join(str(a) for a in axes) or "all",
                                               "keep" if keep else "drop"),
                       {"x": x, "expected": np.asarray(y, dtype=F32)},
                       {"op": "reduce_f32", "kind": kind, "axes": axes, "keep_dims": keep,
                        "out_shape": list(y.shape)})
    # max propagates NaN; -inf and +inf entries.
    x = rng.standard_normal((3, 4)).astype(F32)
    x[0, 2] = np.nan
    x[1, :] = -np.inf
    x[2, 1] = np.inf
    y = torch.amax(torch.from_numpy(x), dim=(1,), keepdim=False).numpy()
    c.save("reduce_max_nan_inf", {"x": x, "expected": y},
           {"op": "reduce_f32", "kind": "max", "axes": [1], "keep_dims": False,
            "out_shape": list(y.shape)})


def _matmul_cases(c, rng):
    shapes = [((3,), (3, 4)), ((2, 1, 3, 4), (5, 4, 2)), ((4, 3), (3,)), ((3,), (3,)),
              ((1,), (1,)), ((2, 3, 4), (4, 5)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)),
              ((1, 2, 3), (3, 3, 2)), ((3, 1, 2, 5), (1, 4, 5, 3)), ((6, 7), (7, 6)),
              ((2, 2, 1, 3), (2, 3, 1))]
    for i, (sa, sb) in enumerate(shapes):
        a = rng.standard_normal(sa).astype(F32)
        b = rng.standard_normal(sb).astype(F32)
        y = torch.matmul(torch.from_numpy(a), torch.from_numpy(b)).numpy()
        y64 = torch.matmul(torch.from_numpy(a).double(), torch.from_numpy(b).double()).numpy()
        _check_close_to_f64("matmul", y, y64)
        name = "matmul_%d_%s_x_%s" % (i, "x".join(map(str, sa)), "x".join(map(str, sb)))
        c.save(name, {"a": a, "b": b, "expected": np.asarray(y, dtype=F32)},
               {"op": "matmul_f32", "out_shape": list(y.shape)})


def generate():
    reset_family(FAMILY)
    rng = np.random.default_rng(20240603)
    c = _Counter()
    _softmax_cases(c, rng)
    _softmax_u8_cases(c, rng)
    _layer_norm_f32_cases(c, rng)
    _layer_norm_u8_cases(c, rng)
    _reduce_cases(c, rng)
    _matmul_cases(c, rng)
    return c.n
