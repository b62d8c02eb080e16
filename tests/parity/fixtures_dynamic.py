"""Fixtures for the "dynamic" family: PyTorch 1.13's dynamically quantized
Linear (quantize_dynamic, quantized::linear_dynamic / linear_relu_dynamic,
qnnpack engine) and its ChooseQuantizationParams, for
tests/kernels/test_dynamic_linear.cc.

Case kinds (params.txt `kind`):
  qparams  mins.npy / maxs.npy (f4): ranges; for each, what PyTorch chooses:
             plain_scale (f8), plain_zp: torch._choose_qparams_per_tensor
               (qnnpack engine, so reduce_range is ignored), qmin 0, qmax 255
             rr_scale (f8), rr_zp: the same with reduce_range under the onednn
               engine, which honours it (0..127)
             <name>_scale (f4: the op stores float), <name>_zp for the
               preserve_sparsity / signed variants, computed by
               torch.fused_moving_avg_obs_fake_quant (per tensor it calls
               ChooseQuantizationParams(min, max, qmin, qmax,
               preserve_sparsity=symmetric_quant)); `variants` lists
               name qmin qmax symmetric, four words each.
  linear   x.npy (f32 [..., K]), w.npy (i1 [N, K]), w_scales.npy (f4, 1 or N),
           bias.npy (f4 [N], when has_bias), out.npy (f32: PyTorch's output),
           a_scale.npy (f8) / a_zp: the input's qparams; params: per_channel,
           has_bias, relu, path (module = quantize_dynamic's
           nn.quantized.dynamic.Linear, op = quantized::linear[_relu]_dynamic).
"""

import numpy as np
import torch
from torch import nn
from torch.ao.quantization import (default_dynamic_qconfig, per_channel_dynamic_qconfig,
                                   quantize_dynamic)

from fixture_lib import reset_family, save_case

FAMILY = "dynamic"
F32 = np.float32

# (name, qmin, qmax, symmetric) for fused_moving_avg_obs_fake_quant.
VARIANTS = [("sym_u8", 0, 255, True), ("sym_s8", -128, 127, True), ("sym_u7", 0, 127, True),
            ("asym_s8", -128, 127, False)]


def _ranges(rng):
    f = lambda v: float(F32(v))
    pairs = [(0.0, 0.0), (0.37, 0.37), (-1.25, -1.25), (0.0, 1.0), (-1.0, 0.0), (-1.0, 2.0),
             (-2.5, 3.7), (1e-3, 2e-3), (-2e-3, -1e-3), (-0.004, 0.006), (0.0, 1e-4),
             (-1e-4, 0.0), (-3e-6, 1e-6), (0.0, 6.1e-5 * 255), (0.0, 6.0e-5 * 255),
             (0.0, 6.2e-5 * 255), (0.0, 1e-43), (-1e-44, 0.0), (0.0, 1e-38), (-1e-42, 1e-42),
             (-3e38, 3e38), (0.0, 3.4e38), (-3.4e38, -1e38), (-1e30, 2e30), (5e4, 1e5),
             (-10.5, 117.0), (-10.5, 53.0), (-127.5, 127.5), (-128.0, 127.0), (-1.0, 1.0)]
    for _ in range(60):
        e = rng.uniform(-9, 9)
        a, b = sorted(rng.standard_normal(2) * 10.0 ** e)
        pairs.append((a, b))
    for _ in range(20):  # one-sided
        e = rng.uniform(-9, 9)
        a, b = sorted(np.abs(rng.standard_normal(2)) * 10.0 ** e)
        pairs.append((a, b) if rng.uniform() < 0.5 else (-b, -a))
    for _ in range(20):  # near the small-scale threshold: range ~ 255 * 6.1e-5
        w = 255 * 6.1e-5 * rng.uniform(0.5, 1.5)
        lo = -w * rng.uniform(0, 1)
        pairs.append((lo, lo + w))
    mins = np.array([f(a) for a, _ in pairs], F32)
    maxs = np.array([f(b) for _, b in pairs], F32)
    assert np.all(mins <= maxs)
    return mins, maxs


def _fused(mn, mx, qmin, qmax, symmetric):
    x = torch.tensor([mn, mx], dtype=torch.float32)
    running_min = torch.tensor([float("inf")])
    running_max = torch.tensor([float("-inf")])
    scale = torch.tensor([1.0])
    zp = torch.tensor([0], dtype=torch.int32)
    on = torch.tensor([1], dtype=torch.long)
    torch.fused_moving_avg_obs_fake_quant(x, on, on, running_min, running_max, scale, zp, 1.0,
                                          qmin, qmax, 0, False, symmetric)
    assert running_min.item() == mn and running_max.item() == mx
    return scale.item(), zp.item()


def _qparams_case(rng):
    mins, maxs = _ranges(rng)
    arrays = {"mins": mins, "maxs": maxs}
    for engine, name, rr in (("qnnpack", "plain", False), ("onednn", "rr", True)):
        torch.backends.quantized.engine = engine
        got = [torch._choose_qparams_per_tensor(torch.tensor([a, b]), rr)
               for a, b in zip(mins, maxs)]
        arrays[name + "_scale"] = np.array([s for s, _ in got], np.float64)
        arrays[name + "_zp"] = np.array([z for _, z in got], np.int64)
    torch.backends.quantized.engine = "qnnpack"
    variants = []
    for name, qmin, qmax, sym in VARIANTS:
        got = [_fused(float(a), float(b), qmin, qmax, sym) for a, b in zip(mins, maxs)]
        arrays[name + "_scale"] = np.array([s for s, _ in got], F32)
        arrays[name + "_zp"] = np.array([z for _, z in got], np.int64)
        variants += [name, qmin, qmax, int(sym)]
    save_case(FAMILY, "qparams", arrays, {"kind": "qparams", "variants": variants})


def _input(rng, kind, shape):
    n = lambda s=1.0: (s * rng.standard_normal(shape)).astype(F32)
    if kind == "normal":
        return n()
    if kind == "positive":
        return np.abs(n(2.0)) + F32(0.1)
    if kind == "negative":
        return -np.abs(n(0.5)) - F32(0.2)
    if kind == "zeros":
        return np.zeros(shape, F32)
    if kind == "constant":
        return np.full(shape, 0.37, F32)
    if kind == "neg_constant":
        return np.full(shape, -2.5, F32)
    if kind == "tiny":  # scale below 6.1e-5: min/max are amplified
        return rng.uniform(-0.004, 0.006, shape).astype(F32)
    if kind == "tiny_positive":
        return rng.uniform(0.0, 1e-3, shape).astype(F32)
    if kind == "tiny_negative":
        return -rng.uniform(0.0, 2e-4, shape).astype(F32)
    if kind == "large":
        return n(3e4)
    if kind == "huge":
        return n(1e30)
    if kind == "outliers":
        x = n(0.3)
        x.flat[[1, x.size // 2]] = [41.0, -17.5]
        return x
    if kind == "ties":
        # min -10.5, max 117: scale 0.5, zero point 21 (odd), so x * 2 = k + 0.5
        # rounds differently when the zero point is added before rounding.
        x = (rng.integers(-21, 234, shape) * 0.5 + 0.25).astype(F32)
        x.flat[0], x.flat[1] = -10.5, 117.0
        return x
    raise ValueError(kind)


# (name, x shape, N, per_channel, has_bias, relu, input kind, path)
LINEAR_CASES = [
    ("basic", (4, 8), 5, False, True, False, "normal", "module"),
    ("k1", (3, 1), 4, False, True, False, "normal", "module"),
    ("n1_odd_k", (5, 7), 1, False, True, False, "normal", "module"),
    ("rank3", (2, 3, 9), 6, False, True, False, "normal", "module"),
    ("rank4", (2, 2, 2, 10), 7, False, True, False, "normal", "module"),
    ("per_channel", (3, 33), 9, True, True, False, "normal", "module"),
    ("per_channel_rank3", (2, 5, 12), 8, True, False, False, "outliers", "module"),
    ("no_bias", (3, 10), 5, False, False, False, "normal", "module"),
    ("relu", (4, 12), 9, False, True, True, "normal", "op"),
    ("relu_per_channel", (2, 3, 17), 6, True, True, True, "normal", "op"),
    ("relu_no_bias", (3, 8), 4, False, False, True, "negative", "op"),
    ("positive", (4, 11), 5, False, True, False, "positive", "module"),
    ("negative", (4, 11), 5, True, True, False, "negative", "module"),
    ("zeros", (2, 6), 3, False, True, False, "zeros", "module"),
    ("zeros_no_bias", (2, 6), 3, False, False, False, "zeros", "module"),
    ("constant", (3, 6), 4, False, True, False, "constant", "module"),
    ("neg_constant", (3, 6), 4, True, True, True, "neg_constant", "op"),
    ("tiny", (4, 9), 5, False, True, False, "tiny", "module"),
    ("tiny_positive", (4, 9), 5, True, True, False, "tiny_positive", "module"),
    ("tiny_negative", (4, 9), 5, False, False, False, "tiny_negative", "module"),
    ("large", (3, 14), 6, False, True, False, "large", "module"),
    ("huge", (3, 14), 6, True, True, False, "huge", "module"),
    ("ties", (6, 20), 7, False, True, False, "ties", "module"),
    ("ties_per_channel", (6, 21), 8, True, True, False, "ties", "op"),
    ("deep_k", (1, 257), 2, False, True, False, "normal", "module"),
    ("wide_n", (2, 9), 33, True, True, False, "normal", "module"),
]


def _linear_case(rng, name, shape, n, per_channel, has_bias, relu, kind, path):
    k = shape[-1]
    torch.backends.quantized.engine = "qnnpack"
    lin = nn.Linear(k, n, bias=has_bias)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy((rng.standard_normal((n, k)) * 0.3).astype(F32)))
        if per_channel:  # spread the channel scales
            lin.weight.mul_(torch.from_numpy(rng.uniform(0.05, 3.0, (n, 1)).astype(F32)))
        if has_bias:
            lin.bias.copy_(torch.from_numpy(rng.uniform(-2, 2, n).astype(F32)))
    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    qmodel = quantize_dynamic(nn.Sequential(lin), {nn.Linear: qconfig}, dtype=torch.qint8)
    qlin = qmodel[0]
    qw = qlin.weight()
    w = qw.int_repr().numpy().astype(np.int8)
    if per_channel:
        assert qw.qscheme() == torch.per_channel_affine and qw.q_per_channel_axis() == 0
        assert np.all(qw.q_per_channel_zero_points().numpy() == 0)
        w_scales = qw.q_per_channel_scales().numpy()
    else:
        assert qw.qscheme() == torch.per_tensor_affine and qw.q_zero_point() == 0
        w_scales = np.array([qw.q_scale()])
    assert np.all(w_scales.astype(F32).astype(np.float64) == w_scales)
    bias = qlin.bias()
    x = _input(rng, kind, shape)
    xt = torch.from_numpy(x)
    packed = qlin._packed_params._packed_params
    op = torch.ops.quantized.linear_relu_dynamic if relu else torch.ops.quantized.linear_dynamic
    out_op = op(xt, packed, True)
    if path == "module":
        assert not relu
        out = qlin(xt)
        assert torch.equal(out.view(torch.int32), out_op.view(torch.int32)), name
    else:
        out = out_op
    a_scale, a_zp = torch._choose_qparams_per_tensor(xt, False)
    arrays = {"x": x, "w": w, "w_scales": w_scales.astype(F32), "out": out.numpy().astype(F32),
              "a_scale": np.array([a_scale], np.float64)}
    if has_bias:
        arrays["bias"] = bias.detach().numpy().astype(F32)
    save_case(FAMILY, name, arrays,
              {"kind": "linear", "per_channel": per_channel, "has_bias": has_bias, "relu": relu,
               "input": kind, "path": path, "a_zp": a_zp})


def generate():
    reset_family(FAMILY)
    rng = np.random.default_rng(20261126)
    _qparams_case(rng)
    for case in LINEAR_CASES:
        _linear_case(rng, *case)
    torch.backends.quantized.engine = "qnnpack"
    return 1 + len(LINEAR_CASES)
