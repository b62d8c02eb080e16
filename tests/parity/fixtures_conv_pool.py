"""Golden fixtures for the conv_pool family: CONV_2D, TRANSPOSE_CONV_2D,
FULLY_CONNECTED, MAX_POOL_2D, AVG_POOL_2D, ADAPTIVE_AVG_POOL_2D,
GLOBAL_AVG_POOL, QUANTIZE, DEQUANTIZE, ADD and CLAMP.

Layout: PyTorch computes in NCHW; the runtime is NHWC. Every 4-D activation
is stored NHWC (x.permute(0, 2, 3, 1)); conv weights are stored OHWI
(PyTorch's [O, I/g, kh, kw] permuted to [O, kh, kw, I/g]); transposed-conv
weights, [I, O/g, kh, kw] in PyTorch, are regrouped to OHWI as well
(O = output channels, I = input channels / groups). Conv1d cases are stored
as 2-D with H = 1. Quantized tensors fed to pooling are channels-last
(PyTorch's quantized conv outputs are), which selects PyTorch's
channels-last generic kernels where the qnnpack engine has no QNNPACK one.

Case parameters (params.txt): op, dtype (u8, s8 or f32), profile (qnnpack,
fbgemm, or any where both profiles compute the same bytes), the op's
options under the schema's field names, and in_scale/in_zp, out_scale/out_zp,
w_scales/per_channel for quantized tensors. Arrays: x, w, b, out (a, b, out
for ADD).

Quantized references:
- qnnpack: PyTorch's qnnpack engine, as eager-mode modules run
  (torch.nn.quantized.Conv2d/Conv1d/ConvTranspose2d/Linear, the intrinsic
  ConvReLU2d/LinearReLU, F.avg_pool2d, F.max_pool2d, F.adaptive_avg_pool2d,
  FloatFunctional-style quantized::add(_relu), ReLU6, hardtanh, clamp).
- fbgemm: only ops whose fbgemm-engine kernel is PyTorch's generic one
  (the pools): this build has no FBGEMM,
  and the onednn engine runs those same generic kernels. Conv, linear and
  transposed conv in the fbgemm profile are tested against hand-derived
  values in the C++ tests.
Pooling outputs are also checked here against numpy models of the formulas
kernels/ref/pool.h states, so a PyTorch path change shows up at generation.

Divergences from PyTorch 1.13 the fixtures deliberately avoid: QUANTIZE of
+inf or of values whose x / scale reaches 2^63 (x86 PyTorch converts them to
int64 out of range and gets 0; qrt saturates to 255 as ARM PyTorch's vector
path does).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
import torch.nn.intrinsic.quantized as nniq
import torch.nn.quantized as nnq

from fixture_lib import reset_family, save_case

FAMILY = "conv_pool"
f32 = np.float32
INF = float("inf")


def fl(x):
    """A Python float holding an exact float32 value (PyTorch keeps scales
    as doubles; the runtime as floats)."""
    return float(f32(x))


class engine:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.old = torch.backends.quantized.engine
        torch.backends.quantized.engine = self.name

    def __exit__(self, *exc):
        torch.backends.quantized.engine = self.old


def quint8(arr, scale, zp):
    return torch._make_per_tensor_quantized_tensor(
        torch.from_numpy(np.ascontiguousarray(arr, dtype=np.uint8)), scale, zp)


def nchw_view(x_nhwc, scale, zp):
    """A quint8 NCHW tensor with channels-last memory holding x_nhwc."""
    return quint8(x_nhwc, scale, zp).permute(0, 3, 1, 2)


def to_nhwc(t):
    """uint8 (quantized) or float NHWC numpy array of an NCHW tensor."""
    if t.is_quantized:
        t = t.int_repr()
    return np.ascontiguousarray(t.permute(0, 2, 3, 1).numpy())


def conv_weight_ohwi(w):
    return np.ascontiguousarray(w.permute(0, 2, 3, 1).numpy())


def transpose_weight_ohwi(w, groups):
    """[I, O/g, kh, kw] -> [O, kh, kw, I/g]."""
    i, og, kh, kw = w.shape
    w = w.reshape(groups, i // groups, og, kh, kw).permute(0, 2, 3, 4, 1)
    return np.ascontiguousarray(w.reshape(groups * og, kh, kw, i // groups).numpy())


def random_u8(rng, shape):
    return rng.integers(0, 256, shape).astype(np.uint8)


def out_qparams(y, relu=False, squeeze=1.0):
    """Output scale/zp covering float result y (a squeeze < 1 saturates)."""
    lo = 0.0 if relu else min(float(y.min()), 0.0)
    hi = max(float(y.max()), 0.0)
    scale = fl(max((hi - lo) / 255.0, 1e-3) * squeeze)
    zp = int(np.clip(round(-lo / scale), 0, 255))
    return scale, zp


def quantize_weight(rng, w, per_channel, axis=0):
    """Symmetric int8 weights; returns (qtensor, scales as a list of floats)."""
    if per_channel:
        n = w.shape[axis]
        amax = w.abs().transpose(0, axis).reshape(n, -1).max(1).values.numpy()
        scales = [fl(max(a, 1e-3) / 127.5 * rng.uniform(0.8, 1.2)) for a in amax]
        q = torch.quantize_per_channel(w, torch.tensor(scales, dtype=torch.double),
                                       torch.zeros(n, dtype=torch.long), axis, torch.qint8)
        return q, scales
    scale = fl(float(w.abs().max()) / 127.5 * rng.uniform(0.8, 1.2))
    return torch.quantize_per_tensor(w, scale, 0, torch.qint8), [scale]


class Cases:
    def __init__(self):
        self.count = 0

    def save(self, name, arrays, params):
        save_case(FAMILY, name, arrays, params)
        self.count += 1


def check(name, got, want):
    if got.shape != want.shape:
        raise AssertionError("%s: shape %s, model %s" % (name, got.shape, want.shape))
    bad = np.flatnonzero(got.reshape(-1) != want.reshape(-1))
    if bad.size:
        raise AssertionError("%s: PyTorch differs from the model at %d of %d elements"
                             % (name, bad.size, got.size))


def conv_params(stride, dilation, pads, groups, act_min, act_max):
    return {"stride_h": stride[0], "stride_w": stride[1], "dilation_h": dilation[0],
            "dilation_w": dilation[1], "pad_top": pads[0], "pad_left": pads[1],
            "pad_bottom": pads[2], "pad_right": pads[3], "groups": groups,
            "act_min": act_min, "act_max": act_max}


# CONV_2D ----------------------------------------------------------------------

# name, batch, in_c, out_c, (h, w), (kh, kw), stride, dilation, pads (t, l, b, r),
# groups, per_channel, relu, bias. h None: Conv1d over w.
CONV_CASES = [
    ("conv1d_k3", 1, 4, 6, (None, 11), (1, 3), (1, 1), (1, 1), (0, 1, 0, 1), 1, False, False, True),
    ("conv1d_k5_s2_d2", 2, 3, 5, (None, 17), (1, 5), (1, 2), (1, 2), (0, 2, 0, 2), 1, False, False, True),
    ("conv1d_dw_pc", 1, 6, 6, (None, 9), (1, 3), (1, 1), (1, 1), (0, 0, 0, 0), 6, True, False, True),
    ("k1", 1, 8, 16, (5, 6), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1, False, False, True),
    ("k1_s2_pc", 2, 5, 7, (6, 5), (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), 1, True, False, True),
    ("k3", 1, 3, 8, (7, 7), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, False, False, True),
    ("k3_pc", 1, 4, 6, (6, 7), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, True, False, True),
    ("k5", 1, 4, 4, (9, 8), (5, 5), (1, 1), (1, 1), (2, 2, 2, 2), 1, False, False, True),
    ("k7_s2", 1, 3, 8, (12, 11), (7, 7), (2, 2), (1, 1), (3, 3, 3, 3), 1, False, False, True),
    ("k3_s21", 1, 4, 5, (8, 7), (3, 3), (2, 1), (1, 1), (1, 1, 1, 1), 1, False, False, True),
    ("k3_d2", 1, 4, 4, (9, 9), (3, 3), (1, 1), (2, 2), (2, 2, 2, 2), 1, False, False, True),
    ("k3_d21_pc", 2, 3, 4, (8, 8), (3, 3), (1, 1), (2, 1), (2, 1, 2, 1), 1, True, False, True),
    ("asym_pad", 1, 4, 5, (6, 7), (3, 3), (1, 1), (1, 1), (1, 0, 2, 1), 1, False, False, True),
    ("asym_pad_s2_pc", 1, 3, 6, (7, 6), (3, 3), (2, 2), (1, 1), (0, 1, 1, 2), 1, True, False, True),
    ("k13_k31", 1, 5, 4, (5, 6), (1, 3), (1, 1), (1, 1), (0, 1, 0, 1), 1, False, False, True),
    ("k31", 1, 5, 4, (6, 5), (3, 1), (1, 1), (1, 1), (1, 0, 1, 0), 1, False, False, True),
    ("groups2", 1, 6, 4, (6, 6), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 2, False, False, True),
    ("groups3_pc", 1, 6, 9, (5, 5), (3, 3), (1, 1), (1, 1), (0, 0, 0, 0), 3, True, False, True),
    ("depthwise", 1, 8, 8, (7, 7), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 8, False, False, True),
    ("depthwise_pc", 2, 8, 8, (6, 6), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 8, True, False, True),
    ("depthwise_k5", 1, 6, 6, (8, 8), (5, 5), (1, 1), (1, 1), (2, 2, 2, 2), 6, False, False, True),
    ("depthwise_mult2", 1, 4, 8, (6, 6), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 4, False, False, True),
    ("depthwise_mult2_pc", 1, 4, 8, (7, 6), (3, 3), (2, 1), (1, 1), (1, 1, 1, 1), 4, True, False, True),
    ("relu", 1, 4, 6, (6, 6), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, False, True, True),
    ("relu_pc", 1, 4, 6, (6, 6), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, True, True, True),
    ("relu_depthwise", 1, 6, 6, (6, 6), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 6, False, True, True),
    ("no_bias", 1, 4, 6, (6, 6), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, False, False, False),
    ("no_bias_pc", 1, 4, 6, (5, 6), (3, 3), (1, 1), (1, 1), (0, 0, 0, 0), 1, True, False, False),
    ("deep_k", 1, 64, 4, (4, 4), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, False, False, True),
]


# float32: name, batch, in_c, out_c, (h, w), (kh, kw), stride, dilation,
# pads (t, l, b, r), groups, relu6. h None: Conv1d over w.
CONV_F32_CASES = [
    ("k3", 1, 3, 5, (6, 7), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, False),
    ("k1_s2", 2, 4, 6, (5, 5), (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), 1, False),
    ("depthwise_d2", 1, 6, 6, (7, 7), (3, 3), (1, 1), (2, 2), (2, 2, 2, 2), 6, False),
    ("groups2_s21_relu6", 1, 4, 6, (7, 6), (3, 2), (2, 1), (1, 1), (1, 0, 1, 0), 2, True),
    ("asym_pad", 1, 3, 4, (5, 6), (3, 3), (1, 1), (1, 1), (0, 1, 2, 1), 1, False),
]


def gen_conv(c, rng, cases=CONV_CASES, f32_cases=CONV_F32_CASES):
    for (name, n, ci, co, (h, w), (kh, kw), stride, dil, pads, groups, pc, relu,
         has_bias) in cases:
        conv1d = h is None
        in_scale, in_zp = fl(rng.uniform(0.01, 0.05)), int(rng.integers(0, 256))
        if name.startswith("k3_pc"):
            in_zp = 0
        if name.startswith("k3_d2"):
            in_zp = 255
        hh = 1 if conv1d else h
        x = random_u8(rng, (n, hh, w, ci))
        wf = torch.randn(co, ci // groups, *(((kw,) if conv1d else (kh, kw))))
        qw, w_scales = quantize_weight(rng, wf, pc)
        bias = torch.randn(co) * 0.5 if has_bias else None
        xq = nchw_view(x, in_scale, in_zp)
        if conv1d:
            xq = xq[:, :, 0, :]
        # Asymmetric padding: PyTorch pads quantized tensors with the zero
        # point, the value qrt's padded taps stand for.
        symmetric = pads[0] == pads[2] and pads[1] == pads[3]
        if not symmetric:
            xq = F.pad(xq, (pads[1], pads[3], pads[0], pads[2]))
        padding = (pads[1] if conv1d else (pads[0], pads[1])) if symmetric else 0
        yf = F.conv1d if conv1d else F.conv2d
        y_float = yf(xq.dequantize(), qw.dequantize(), bias, stride[1] if conv1d else stride,
                     padding, dil[1] if conv1d else dil, groups)
        out_scale, out_zp = out_qparams(y_float, relu, 0.8 if name == "k3" else 1.0)
        if conv1d:
            cls = nniq.ConvReLU1d if relu else nnq.Conv1d
            mod = cls(ci, co, kw, stride=stride[1], padding=padding, dilation=dil[1],
                      groups=groups, bias=has_bias)
        else:
            cls = nniq.ConvReLU2d if relu else nnq.Conv2d
            mod = cls(ci, co, (kh, kw), stride=stride, padding=padding, dilation=dil,
                      groups=groups, bias=has_bias)
        mod.set_weight_bias(qw, bias)
        mod.scale, mod.zero_point = out_scale, out_zp
        y = mod(xq)
        if conv1d:
            y = y.unsqueeze(2)
        w_ohwi = qw.int_repr()
        w_ohwi = w_ohwi.unsqueeze(2) if conv1d else w_ohwi
        arrays = {"x": x, "w": conv_weight_ohwi(w_ohwi).astype(np.int8), "out": to_nhwc(y)}
        if has_bias:
            arrays["b"] = bias.numpy().astype(f32)
        p = conv_params(stride, dil, pads, groups, 0.0 if relu else -INF, INF)
        p.update({"op": "CONV_2D", "dtype": "u8", "profile": "qnnpack", "in_scale": in_scale,
                  "in_zp": in_zp, "out_scale": out_scale, "out_zp": out_zp,
                  "w_scales": w_scales, "per_channel": pc, "bias": has_bias})
        c.save("conv2d_u8_" + name, arrays, p)
    for name, n, ci, co, (h, w), (kh, kw), stride, dil, pads, groups, relu in f32_cases:
        conv1d = h is None
        x = rng.uniform(-1, 1, (n, 1 if conv1d else h, w, ci)).astype(f32)
        wf = torch.from_numpy(rng.uniform(-0.5, 0.5, (co, ci // groups, kh, kw)).astype(f32))
        bias = torch.from_numpy(rng.uniform(-0.5, 0.5, co).astype(f32))
        xt = torch.from_numpy(x).permute(0, 3, 1, 2)
        if conv1d:
            xt = F.pad(xt[:, :, 0, :], (pads[1], pads[3]))
            y = F.conv1d(xt, wf[:, :, 0, :], bias, stride[1], 0, dil[1], groups).unsqueeze(2)
        else:
            xt = F.pad(xt, (pads[1], pads[3], pads[0], pads[2]))
            y = F.conv2d(xt, wf, bias, stride, 0, dil, groups)
        if relu:
            y = torch.clamp(y, 0.0, 6.0)
        p = conv_params(stride, dil, pads, groups, 0.0 if relu else -INF, 6.0 if relu else INF)
        p.update({"op": "CONV_2D", "dtype": "f32", "profile": "any", "bias": 1})
        c.save("conv2d_f32_" + name,
               {"x": x, "w": conv_weight_ohwi(wf), "b": bias.numpy(), "out": to_nhwc(y)}, p)


# TRANSPOSE_CONV_2D -----------------------------------------------------------

# name, batch, in_c, out_c, (h, w), (kh, kw), stride, dilation, padding,
# output_padding, crop (t, l, b, r) taken off the output afterwards (extra
# padding, which PyTorch only has symmetrically), groups, per_channel, bias.
TCONV_CASES = [
    ("k3_s2_op1", 1, 4, 6, (5, 5), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1, False, True),
    ("k4_s2_p1", 2, 3, 4, (4, 5), (4, 4), (2, 2), (1, 1), (1, 1), (0, 0), (0, 0, 0, 0), 1, False, True),
    ("k2_s2", 1, 6, 3, (4, 3), (2, 2), (2, 2), (1, 1), (0, 0), (0, 0), (0, 0, 0, 0), 1, False, True),
    ("k3_s1_p1", 1, 5, 4, (5, 6), (3, 3), (1, 1), (1, 1), (1, 1), (0, 0), (0, 0, 0, 0), 1, False, True),
    ("groups2", 1, 4, 6, (5, 5), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 2, False, True),
    ("depthwise", 1, 4, 4, (4, 5), (3, 3), (2, 1), (2, 1), (1, 0), (1, 0), (0, 0, 0, 0), 4, False, True),
    ("d2_s3", 1, 3, 5, (4, 6), (2, 4), (3, 2), (1, 2), (0, 2), (2, 1), (0, 0, 0, 0), 1, False, True),
    ("per_channel", 1, 4, 6, (5, 5), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1, True, True),
    ("per_channel_k4", 2, 3, 5, (3, 4), (4, 4), (2, 2), (1, 1), (1, 1), (0, 0), (0, 0, 0, 0), 1, True, True),
    ("no_bias", 1, 4, 4, (5, 4), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1, False, False),
    ("asym_crop", 1, 4, 5, (4, 5), (3, 3), (2, 2), (1, 1), (0, 0), (0, 0), (1, 0, 0, 2), 1, False, True),
    ("op_below_dilation", 1, 3, 4, (4, 4), (3, 3), (1, 1), (3, 3), (1, 1), (2, 1), (0, 0, 0, 0), 1, False, True),
]


def gen_transpose_conv(c, rng):
    for (name, n, ci, co, (h, w), (kh, kw), stride, dil, pad, opad, crop, groups, pc,
         has_bias) in TCONV_CASES:
        in_scale, in_zp = fl(rng.uniform(0.01, 0.05)), int(rng.integers(0, 256))
        x = random_u8(rng, (n, h, w, ci))
        wf = torch.randn(ci, co // groups, kh, kw)
        qw, w_scales = quantize_weight(rng, wf, pc, axis=1)
        bias = torch.randn(co) * 0.5 if has_bias else None
        xq = nchw_view(x, in_scale, in_zp)
        y_float = F.conv_transpose2d(xq.dequantize(), qw.dequantize(), bias, stride, pad, opad,
                                     groups, dil)
        out_scale, out_zp = out_qparams(y_float)
        mod = nnq.ConvTranspose2d(ci, co, (kh, kw), stride=stride, padding=pad,
                                  output_padding=opad, groups=groups, dilation=dil,
                                  bias=has_bias)
        mod.set_weight_bias(qw, bias)
        mod.scale, mod.zero_point = out_scale, out_zp
        y = to_nhwc(mod(xq))
        y = y[:, crop[0]:y.shape[1] - crop[2], crop[1]:y.shape[2] - crop[3], :]
        arrays = {"x": x, "w": transpose_weight_ohwi(qw.int_repr(), groups).astype(np.int8),
                  "out": np.ascontiguousarray(y)}
        if has_bias:
            arrays["b"] = bias.numpy().astype(f32)
        pads = (pad[0] + crop[0], pad[1] + crop[1], pad[0] + crop[2], pad[1] + crop[3])
        p = conv_params(stride, dil, pads, groups, -INF, INF)
        p.update({"op": "TRANSPOSE_CONV_2D", "dtype": "u8", "profile": "qnnpack",
                  "in_scale": in_scale, "in_zp": in_zp, "out_scale": out_scale,
                  "out_zp": out_zp, "w_scales": w_scales, "per_channel": pc, "bias": has_bias})
        c.save("tconv_u8_" + name, arrays, p)
    for name, n, ci, co, (h, w), (kh, kw), stride, dil, pad, opad, groups in [
            ("k3_s2_op1", 1, 4, 6, (4, 5), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1),
            ("k4_s2_groups2", 2, 4, 6, (3, 3), (4, 4), (2, 2), (1, 1), (1, 1), (0, 0), 2),
            ("d2_s21", 1, 3, 3, (4, 4), (3, 2), (2, 1), (2, 2), (0, 1), (1, 0), 3)]:
        x = rng.uniform(-1, 1, (n, h, w, ci)).astype(f32)
        wf = torch.from_numpy(rng.uniform(-0.5, 0.5, (ci, co // groups, kh, kw)).astype(f32))
        bias = torch.from_numpy(rng.uniform(-0.5, 0.5, co).astype(f32))
        y = F.conv_transpose2d(torch.from_numpy(x).permute(0, 3, 1, 2), wf, bias, stride, pad,
                               opad, groups, dil)
        p = conv_params(stride, dil, (pad[0], pad[1], pad[0], pad[1]), groups, -INF, INF)
        p.update({"op": "TRANSPOSE_CONV_2D", "dtype": "f32", "profile": "any", "bias": 1})
        c.save("tconv_f32_" + name, {"x": x, "w": transpose_weight_ohwi(wf, groups),
                                     "b": bias.numpy(), "out": to_nhwc(y)}, p)


# FULLY_CONNECTED -------------------------------------------------------------

# name, input shape, out features, per_channel, relu, bias
FC_CASES = [
    ("basic", (1, 16), 10, False, False, True),
    ("batch5", (5, 12), 7, False, False, True),
    ("rank3", (2, 3, 12), 7, False, False, True),
    ("per_channel", (3, 20), 9, True, False, True),
    ("per_channel_rank3", (2, 2, 9), 6, True, False, True),
    ("relu", (4, 16), 8, False, True, True),
    ("relu_per_channel", (4, 16), 8, True, True, True),
    ("no_bias", (2, 10), 5, False, False, False),
    ("k1", (6, 1), 4, False, False, True),
    ("deep_k", (2, 300), 3, False, False, True),
    ("saturate", (3, 24), 6, False, False, True),
]


def gen_fc(c, rng):
    for name, shape, nout, pc, relu, has_bias in FC_CASES:
        k = shape[-1]
        in_scale, in_zp = fl(rng.uniform(0.01, 0.05)), int(rng.integers(0, 256))
        x = random_u8(rng, shape)
        wf = torch.randn(nout, k)
        qw, w_scales = quantize_weight(rng, wf, pc)
        bias = torch.randn(nout) * 0.5 if has_bias else None
        xq = quint8(x, in_scale, in_zp)
        y_float = F.linear(xq.dequantize(), qw.dequantize(), bias)
        out_scale, out_zp = out_qparams(y_float, relu, 0.25 if name == "saturate" else 1.0)
        mod = nniq.LinearReLU(k, nout, bias=has_bias) if relu else nnq.Linear(k, nout, bias_=has_bias)
        mod.set_weight_bias(qw, bias)
        mod.scale, mod.zero_point = out_scale, out_zp
        y = mod(xq).int_repr().numpy()
        arrays = {"x": x, "w": qw.int_repr().numpy().astype(np.int8), "out": y}
        if has_bias:
            arrays["b"] = bias.numpy().astype(f32)
        c.save("fc_u8_" + name, arrays,
               {"op": "FULLY_CONNECTED", "dtype": "u8", "profile": "qnnpack",
                "in_scale": in_scale, "in_zp": in_zp, "out_scale": out_scale, "out_zp": out_zp,
                "w_scales": w_scales, "per_channel": pc, "bias": has_bias,
                "act_min": 0.0 if relu else -INF, "act_max": INF})
    for name, shape, nout, relu in [("basic", (3, 16), 5, False), ("rank3_relu", (2, 3, 8), 4, True)]:
        x = rng.uniform(-1, 1, shape).astype(f32)
        wf = rng.uniform(-0.5, 0.5, (nout, shape[-1])).astype(f32)
        b = rng.uniform(-0.5, 0.5, nout).astype(f32)
        y = F.linear(torch.from_numpy(x), torch.from_numpy(wf), torch.from_numpy(b))
        if relu:
            y = torch.relu(y)
        c.save("fc_f32_" + name, {"x": x, "w": wf, "b": b, "out": y.numpy()},
               {"op": "FULLY_CONNECTED", "dtype": "f32", "profile": "any", "bias": 1,
                "act_min": 0.0 if relu else -INF, "act_max": INF})


# Pooling models (kernels/ref/pool.h) ----------------------------------------

def pooled_size(n, k, s, pb, pe, d, ceil):
    span = d * (k - 1) + 1
    room = n + pb + pe - span
    out = (room + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= n + pb:
        out -= 1
    return out


def requant_mean(acc, mult, zp):
    v = (acc.astype(f32) * f32(mult)).astype(f32)
    return np.clip(np.rint(v.astype(np.float64)) + zp, 0, 255).astype(np.uint8)


def generic_mult(ratio, divisor):
    m = f32(f32(ratio) / f32(divisor))
    return f32(f32(1) / f32(f32(1) / m))


def avg_pool_model(x, s_in, zp_in, s_out, zp_out, k, st, pads, ceil, cip, div, qnnpack):
    n, h, w, ch = x.shape
    oh = pooled_size(h, k[0], st[0], pads[0], pads[2], 1, ceil)
    ow = pooled_size(w, k[1], st[1], pads[1], pads[3], 1, ceil)
    out = np.zeros((n, oh, ow, ch), np.uint8)
    qmult = f32(f32(s_in) / f32(f32(s_out) * f32(k[0] * k[1])))
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * st[0] - pads[0], ox * st[1] - pads[1]
            y1, x1 = min(y0 + k[0], h + pads[2]), min(x0 + k[1], w + pads[3])
            ya, xa, yb, xb = max(y0, 0), max(x0, 0), min(y1, h), min(x1, w)
            taps = (yb - ya) * (xb - xa)
            acc = x[:, ya:yb, xa:xb, :].astype(np.int64).sum((1, 2)) - zp_in * taps
            if qnnpack:
                mult = qmult
            else:
                mult = generic_mult(f32(s_in) / f32(s_out),
                                    div if div else ((y1 - y0) * (x1 - x0) if cip else taps))
            out[:, oy, ox, :] = requant_mean(acc, mult, zp_out)
    return out


def adaptive_model(x, s_in, zp_in, s_out, zp_out, oh, ow, qnnpack):
    n, h, w, ch = x.shape
    out = np.zeros((n, oh, ow, ch), np.uint8)
    qmult = None
    if qnnpack:
        qmult = f32(f32(s_in) / f32(f32(s_out) * f32((h // oh) * (w // ow))))
    for oy in range(oh):
        y0 = int(math.floor(f32(f32(oy * h) / f32(oh))))
        y1 = int(math.ceil(f32(f32((oy + 1) * h) / f32(oh))))
        for ox in range(ow):
            x0 = int(math.floor(f32(f32(ox * w) / f32(ow))))
            x1 = int(math.ceil(f32(f32((ox + 1) * w) / f32(ow))))
            area = (y1 - y0) * (x1 - x0)
            acc = x[:, y0:y1, x0:x1, :].astype(np.int64).sum((1, 2)) - zp_in * area
            mult = qmult if qnnpack else generic_mult(f32(s_in) / f32(s_out), area)
            out[:, oy, ox, :] = requant_mean(acc, mult, zp_out)
    return out


def pool_params(op, dtype, profile, k, st, pads, ceil=False, cip=True, div=0, dil=(1, 1)):
    return {"op": op, "dtype": dtype, "profile": profile, "kernel_h": k[0], "kernel_w": k[1],
            "stride_h": st[0], "stride_w": st[1], "pad_top": pads[0], "pad_left": pads[1],
            "pad_bottom": pads[2], "pad_right": pads[3], "ceil_mode": ceil,
            "count_include_pad": cip, "divisor_override": div, "dilation_h": dil[0],
            "dilation_w": dil[1]}


def tie_scale(area):
    """A scale s whose QNNPACK multiplier f32(s / f32(s * area)) differs from
    the generic kernel's f32(1 / area), so windows whose sum is an odd
    multiple of area / 2 round differently (None for powers of two)."""
    for s in [0.07, 0.011, 0.013, 0.0123, 0.05, 0.031, 0.021, 0.017, 0.003]:
        if f32(f32(s) / f32(f32(s) * f32(area))) != f32(f32(1) / f32(area)):
            return fl(s)
    return None


# MAX_POOL_2D, AVG_POOL_2D -----------------------------------------------------

# name, batch, channels, (h, w), kernel, stride, pads (t, l, b, r), ceil_mode, dilation
MAX_CASES = [
    ("k2_s2", 1, 8, (6, 6), (2, 2), (2, 2), (0, 0, 0, 0), False, (1, 1)),
    ("k3_s2_p1", 2, 3, (7, 7), (3, 3), (2, 2), (1, 1, 1, 1), False, (1, 1)),
    ("k3_s1_p1", 1, 16, (5, 4), (3, 3), (1, 1), (1, 1, 1, 1), False, (1, 1)),
    ("k23_s12", 1, 5, (6, 7), (2, 3), (1, 2), (1, 1, 1, 1), False, (1, 1)),
    ("ceil_k3_s2", 1, 4, (8, 7), (3, 3), (2, 2), (0, 0, 0, 0), True, (1, 1)),
    ("ceil_k3_s2_p1", 2, 3, (7, 6), (3, 3), (2, 2), (1, 1, 1, 1), True, (1, 1)),
    ("ceil_k2_s3", 1, 4, (8, 8), (2, 2), (3, 3), (0, 0, 0, 0), True, (1, 1)),
    ("d2_k3", 1, 4, (8, 9), (3, 3), (1, 2), (1, 1, 1, 1), False, (2, 2)),
    ("d2_ceil", 1, 3, (6, 7), (3, 3), (2, 2), (1, 1, 1, 1), True, (2, 3)),
    ("d3_k2_p1", 2, 6, (7, 8), (2, 2), (1, 1), (1, 1, 1, 1), False, (3, 3)),
    ("d21_k32_s2_p1", 1, 9, (8, 7), (3, 2), (2, 2), (1, 1, 1, 1), False, (2, 1)),
    ("asym_pad", 1, 5, (6, 6), (3, 3), (2, 2), (0, 1, 2, 1), False, (1, 1)),
]


def max_pool_model(x, k, st, pads, ceil, dil, clamp_taps):
    """Max over the in-bounds taps, or (clamp_taps) over every tap clamped to
    the nearest edge pixel, as QNNPACK's indirection buffer does."""
    n, h, w, ch = x.shape
    oh = pooled_size(h, k[0], st[0], pads[0], pads[2], dil[0], ceil)
    ow = pooled_size(w, k[1], st[1], pads[1], pads[3], dil[1], ceil)
    out = np.zeros((n, oh, ow, ch), np.uint8)
    for oy in range(oh):
        for ox in range(ow):
            ys = [oy * st[0] - pads[0] + ky * dil[0] for ky in range(k[0])]
            xs = [ox * st[1] - pads[1] + kx * dil[1] for kx in range(k[1])]
            if clamp_taps:
                ys = [min(max(y, 0), h - 1) for y in ys]
                xs = [min(max(x_, 0), w - 1) for x_ in xs]
            ys = [y for y in ys if 0 <= y < h]
            xs = [x_ for x_ in xs if 0 <= x_ < w]
            if ys and xs:
                out[:, oy, ox, :] = x[:, ys][:, :, xs].reshape(n, -1, ch).max(1)
    return out


def gen_max_pool(c, rng):
    for name, n, ch, (h, w), k, st, pads, ceil, dil in MAX_CASES:
        symmetric = pads[0] == pads[2] and pads[1] == pads[3]
        x = random_u8(rng, (n, h, w, ch))
        got = {}
        for profile, eng in [("qnnpack", "qnnpack"), ("fbgemm", "onednn")]:
            if symmetric:
                with engine(eng):
                    y = F.max_pool2d(nchw_view(x, 0.1, 3), k, st, (pads[0], pads[1]), dil,
                                     ceil_mode=ceil)
                got[profile] = to_nhwc(y)
            else:
                # No asymmetric padding in PyTorch: pad with 0, which never
                # wins a max (dilation 1: QNNPACK's clamping changes nothing).
                assert dil == (1, 1)
                xp = np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)))
                with engine(eng):
                    got[profile] = to_nhwc(F.max_pool2d(nchw_view(xp, 0.1, 3), k, st, 0, dil))
            check("max_pool %s %s" % (profile, name), got[profile],
                  max_pool_model(x, k, st, pads, ceil, dil, profile == "qnnpack" and not ceil))
        p = pool_params("MAX_POOL_2D", "u8", "any", k, st, pads, ceil, dil=dil)
        p.update({"in_scale": 0.1, "in_zp": 3, "out_scale": 0.1, "out_zp": 3})
        if (got["qnnpack"] == got["fbgemm"]).all():
            c.save("maxpool_u8_" + name, {"x": x, "out": got["qnnpack"]}, p)
        else:
            for profile in ("qnnpack", "fbgemm"):
                p["profile"] = profile
                c.save("maxpool_u8_%s_%s" % (profile, name), {"x": x, "out": got[profile]}, p)
        xf = rng.standard_normal((n, h, w, ch)).astype(f32)
        xt = torch.from_numpy(xf).permute(0, 3, 1, 2)
        if symmetric:
            yf = F.max_pool2d(xt, k, st, (pads[0], pads[1]), dil, ceil_mode=ceil)
        else:
            yf = F.max_pool2d(F.pad(xt, (pads[1], pads[3], pads[0], pads[2]), value=-INF), k, st,
                              0, dil)
        c.save("maxpool_f32_" + name, {"x": xf, "out": to_nhwc(yf)},
               pool_params("MAX_POOL_2D", "f32", "any", k, st, pads, ceil, dil=dil))


# name, batch, channels, (h, w), kernel, stride, pads (t, l, b, r), ceil_mode,
# count_include_pad, divisor_override
AVG_CASES = [
    ("k2_s2", 1, 8, (6, 6), (2, 2), (2, 2), (0, 0, 0, 0), False, True, 0),
    ("k3_s1_p1", 2, 3, (5, 5), (3, 3), (1, 1), (1, 1, 1, 1), False, True, 0),
    ("k3_s2_p1_excl", 1, 16, (7, 7), (3, 3), (2, 2), (1, 1, 1, 1), False, False, 0),
    ("k3_s2_p1_div5", 1, 5, (7, 6), (3, 3), (2, 2), (1, 1, 1, 1), False, True, 5),
    ("k23_tie", 2, 8, (6, 9), (2, 3), (2, 3), (0, 0, 0, 0), False, True, 0),
    ("k32_s1_tie", 1, 21, (5, 6), (3, 2), (1, 1), (0, 0, 0, 0), False, True, 0),
    ("k25_p1_excl_tie", 1, 6, (6, 7), (2, 5), (2, 2), (1, 2, 1, 2), False, False, 0),
    ("k34_tie", 1, 9, (7, 8), (3, 4), (2, 2), (1, 1, 1, 1), False, True, 0),
    ("asym_pad", 1, 6, (6, 7), (3, 3), (2, 2), (0, 1, 2, 1), False, True, 0),
    ("ceil_k3_s2", 1, 8, (8, 7), (3, 3), (2, 2), (0, 0, 0, 0), True, True, 0),
    ("ceil_k3_s2_p1", 2, 3, (7, 6), (3, 3), (2, 2), (1, 1, 1, 1), True, True, 0),
    ("ceil_k3_s2_p1_excl", 1, 5, (6, 6), (3, 3), (2, 2), (1, 1, 1, 1), True, False, 0),
    ("ceil_k23_tie", 1, 8, (7, 8), (2, 3), (2, 3), (0, 0, 0, 0), True, True, 0),
    ("ceil_div7", 1, 4, (6, 8), (3, 3), (2, 3), (1, 1, 1, 1), True, True, 7),
]


def gen_avg_pool(c, rng):
    for name, n, ch, (h, w), k, st, pads, ceil, cip, div in AVG_CASES:
        s = tie_scale(k[0] * k[1]) if "tie" in name else fl(rng.uniform(0.01, 0.1))
        zp = int(rng.integers(0, 256))
        x = random_u8(rng, (n, h, w, ch))
        symmetric = pads[0] == pads[2] and pads[1] == pads[3]
        for profile, eng in [("qnnpack", "qnnpack"), ("fbgemm", "onednn")]:
            if not symmetric and (profile == "fbgemm" or not cip):
                continue
            with engine(eng):
                xq = nchw_view(x, s, zp)
                if symmetric:
                    y = F.avg_pool2d(xq, k, st, (pads[0], pads[1]), ceil, cip, div or None)
                else:
                    # Zero-point padding counted in the divisor: QNNPACK's rule.
                    y = F.avg_pool2d(F.pad(xq, (pads[1], pads[3], pads[0], pads[2])), k, st)
            got = to_nhwc(y)
            qnnpack_kernel = profile == "qnnpack" and not ceil
            check("avg_pool %s %s" % (profile, name), got,
                  avg_pool_model(x, s, zp, s, zp, k, st, pads, ceil, cip, div, qnnpack_kernel))
            other = avg_pool_model(x, s, zp, s, zp, k, st, pads, ceil, cip, div, not qnnpack_kernel)
            if "tie" in name and not (other != got).any():
                raise AssertionError("avg_pool %s %s: the profiles' formulas do not differ"
                                     % (profile, name))
            p = pool_params("AVG_POOL_2D", "u8", profile, k, st, pads, ceil, cip, div)
            p.update({"in_scale": s, "in_zp": zp, "out_scale": s, "out_zp": zp})
            c.save("avgpool_u8_%s_%s" % (profile, name), {"x": x, "out": got}, p)
        if not symmetric:
            continue
        xf = rng.standard_normal((n, h, w, ch)).astype(f32)
        yf = F.avg_pool2d(torch.from_numpy(xf).permute(0, 3, 1, 2), k, st, (pads[0], pads[1]),
                          ceil, cip, div or None)
        c.save("avgpool_f32_" + name, {"x": xf, "out": to_nhwc(yf)},
               pool_params("AVG_POOL_2D", "f32", "any", k, st, pads, ceil, cip, div))


# ADAPTIVE_AVG_POOL_2D, GLOBAL_AVG_POOL --------------------------------------

# name, batch, channels, (h, w), (out_h, out_w)
ADAPTIVE_CASES = [
    ("div_8x6_4x3", 1, 8, (8, 6), (4, 3)),
    ("div_6x6_3x2_tie", 2, 5, (6, 6), (3, 2)),
    ("div_9x4_3x1", 1, 16, (9, 4), (3, 1)),
    ("div_12x6_2x3_tie", 1, 8, (12, 6), (2, 3)),
    ("div_5x7_1x1", 1, 3, (5, 7), (1, 1)),
    ("div_4x8_4x2", 1, 4, (4, 8), (4, 2)),
    ("nondiv_7x5_3x2", 2, 6, (7, 5), (3, 2)),
    ("nondiv_10x10_3x4", 1, 8, (10, 10), (3, 4)),
    ("nondiv_6x5_4x3", 1, 3, (6, 5), (4, 3)),
    ("identity_5x6", 1, 4, (5, 6), (5, 6)),
    ("upsample_3x3_5x4", 1, 4, (3, 3), (5, 4)),
]


def gen_adaptive(c, rng):
    for name, n, ch, (h, w), (oh, ow) in ADAPTIVE_CASES:
        divisible = h % oh == 0 and w % ow == 0 and (h, w) != (oh, ow)
        s = tie_scale((h // oh) * (w // ow)) if "tie" in name else fl(rng.uniform(0.01, 0.1))
        zp = int(rng.integers(0, 256))
        x = random_u8(rng, (n, h, w, ch))
        for profile, eng in [("qnnpack", "qnnpack"), ("fbgemm", "onednn")]:
            with engine(eng):
                y = F.adaptive_avg_pool2d(nchw_view(x, s, zp), (oh, ow))
            got = to_nhwc(y)
            qnnpack_kernel = profile == "qnnpack" and divisible
            check("adaptive %s %s" % (profile, name), got,
                  adaptive_model(x, s, zp, s, zp, oh, ow, qnnpack_kernel))
            if "tie" in name and not (
                    adaptive_model(x, s, zp, s, zp, oh, ow, not qnnpack_kernel) != got).any():
                raise AssertionError("adaptive %s %s: the profiles' formulas do not differ"
                                     % (profile, name))
            p = {"op": "ADAPTIVE_AVG_POOL_2D", "dtype": "u8", "profile": profile,
                 "in_scale": s, "in_zp": zp, "out_scale": s, "out_zp": zp}
            c.save("adaptive_u8_%s_%s" % (profile, name), {"x": x, "out": got}, p)
        xf = rng.standard_normal((n, h, w, ch)).astype(f32)
        yf = F.adaptive_avg_pool2d(torch.from_numpy(xf).permute(0, 3, 1, 2), (oh, ow))
        c.save("adaptive_f32_" + name, {"x": xf, "out": to_nhwc(yf)},
               {"op": "ADAPTIVE_AVG_POOL_2D", "dtype": "f32", "profile": "any"})


# name, batch, channels, (h, w)
GAP_CASES = [
    ("7x7x3", 1, 3, (7, 7)),
    ("4x6x16_tie", 2, 16, (4, 6)),
    ("3x2x9_tie", 1, 9, (3, 2)),
    ("5x5x8", 2, 8, (5, 5)),
    ("1x1x5", 1, 5, (1, 1)),
    ("2x1x7", 3, 7, (2, 1)),
]


def gen_global_avg_pool(c, rng):
    for name, n, ch, (h, w) in GAP_CASES:
        s = tie_scale(h * w) if "tie" in name else fl(rng.uniform(0.01, 0.1))
        zp = int(rng.integers(0, 256))
        x = random_u8(rng, (n, h, w, ch))
        for profile, eng in [("qnnpack", "qnnpack"), ("fbgemm", "onednn")]:
            with engine(eng):
                got = to_nhwc(F.adaptive_avg_pool2d(nchw_view(x, s, zp), 1))
            check("global %s %s" % (profile, name), got,
                  adaptive_model(x, s, zp, s, zp, 1, 1, profile == "qnnpack" and h * w > 1))
            c.save("gap_u8_%s_%s" % (profile, name), {"x": x, "out": got},
                   {"op": "GLOBAL_AVG_POOL", "dtype": "u8", "profile": profile,
                    "in_scale": s, "in_zp": zp, "out_scale": s, "out_zp": zp})
        xf = rng.standard_normal((n, h, w, ch)).astype(f32)
        yf = F.adaptive_avg_pool2d(torch.from_numpy(xf).permute(0, 3, 1, 2), 1)
        c.save("gap_f32_" + name, {"x": xf, "out": to_nhwc(yf)},
               {"op": "GLOBAL_AVG_POOL", "dtype": "f32", "profile": "any"})


# QUANTIZE, DEQUANTIZE --------------------------------------------------------

def quantize_inputs(rng, scale):
    """Random values, exact ties (k + 1/2 steps), saturation and huge values
    (below the 2^63 steps where x86 PyTorch's int64 conversion breaks)."""
    steps = np.arange(-300, 301, dtype=np.float64) + 0.5
    ties = (steps * scale).astype(f32)
    rand = (rng.standard_normal(200) * 60 * scale).astype(f32)
    big = np.array([1e3, -1e3, 1e6, -1e6, 3e9, -3e9, 1e15, -1e15, 1e18 * scale, -1e30,
                    -np.inf, np.nan, 0.0, -0.0], f32)
    return np.concatenate([ties, rand, big]).astype(f32)


def gen_quantize(c, rng):
    for dtype, qtype, cases in [("u8", torch.quint8, [(0.25, 0), (0.5, 128), (1.0, 255),
                                                      (0.001, 7), (fl(0.037), 200)]),
                                ("s8", torch.qint8, [(0.25, 0), (0.5, -128), (1.0, 127),
                                                     (fl(0.013), -9)])]:
        for i, (scale, zp) in enumerate(cases):
            x = quantize_inputs(rng, scale)
            if scale == 0.001:
                # 0.0015 * f32(1/0.001) = 1.49999988: multiply by the reciprocal.
                x = np.concatenate([x, np.array([0.0015, -0.0015, 0.0025], f32)])
            with engine("qnnpack"):
                q = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp, qtype)
            out = q.int_repr().numpy()
            c.save("quantize_%s_%d" % (dtype, i), {"x": x, "out": out},
                   {"op": "QUANTIZE", "dtype": dtype, "profile": "any", "out_scale": scale,
                    "out_zp": zp})
            # Every byte back to float.
            qa = np.arange(256, dtype=np.int64)
            qa = (qa if dtype == "u8" else qa - 128).astype(np.uint8 if dtype == "u8" else np.int8)
            qt = torch._make_per_tensor_quantized_tensor(torch.from_numpy(qa.reshape(4, 64)),
                                                         scale, zp)
            c.save("dequantize_%s_%d" % (dtype, i),
                   {"x": qa.reshape(4, 64), "out": qt.dequantize().numpy()},
                   {"op": "DEQUANTIZE", "dtype": dtype, "profile": "any", "in_scale": scale,
                    "in_zp": zp})


# ADD, CLAMP ------------------------------------------------------------------

def gen_add(c, rng):
    for i, (shape, relu) in enumerate([((1, 4, 4, 8), False), ((2, 3, 5, 7), True),
                                       ((3, 17), False), ((2, 6, 6, 3), True), ((100,), False)]):
        sa, sb, so = (fl(rng.uniform(0.01, 0.2)) for _ in range(3))
        za, zb, zo = (int(rng.integers(0, 256)) for _ in range(3))
        a, b = random_u8(rng, shape), random_u8(rng, shape)
        fn = torch.ops.quantized.add_relu if relu else torch.ops.quantized.add
        with engine("qnnpack"):
            out = fn(quint8(a, sa, za), quint8(b, sb, zb), so, zo).int_repr().numpy()
        c.save("add_u8_%d%s" % (i, "_relu" if relu else ""), {"a": a, "b": b, "out": out},
               {"op": "ADD", "dtype": "u8", "profile": "qnnpack", "a_scale": sa, "a_zp": za,
                "b_scale": sb, "b_zp": zb, "out_scale": so, "out_zp": zo,
                "act_min": 0.0 if relu else -INF, "act_max": INF})


def gen_clamp(c, rng):
    x = np.tile(np.arange(256, dtype=np.uint8), 2).reshape(2, 4, 64)
    relu6 = nnq.ReLU6()
    for i, (name, lo, hi, fn, scale, zp) in enumerate([
            ("relu", 0.0, INF, torch.relu, fl(0.1), 7),
            ("relu_zp0", 0.0, INF, torch.relu, fl(0.05), 0),
            ("relu6", 0.0, 6.0, relu6, fl(0.05), 100),
            ("relu6_tie", 0.0, 6.0, relu6, 0.04, 30),  # 6 / 0.04 = 150 steps exactly
            ("relu6_saturated", 0.0, 6.0, relu6, fl(0.01), 200),
            ("hardtanh_relu6", 0.0, 6.0, lambda t: F.hardtanh(t, 0.0, 6.0), fl(0.03), 64),
            ("hardtanh", -1.05, 0.35, lambda t: F.hardtanh(t, -1.05, 0.35), fl(0.1), 20),
            ("clip", -0.55, 2.25, lambda t: torch.clamp(t, -0.55, 2.25), fl(0.1), 7),
            ("clip_wide", -100.0, 100.0, lambda t: torch.clamp(t, -100.0, 100.0), fl(0.2), 128)]):
        with engine("qnnpack"):
            y = fn(quint8(x, scale, zp))
        assert y.q_scale() == scale and y.q_zero_point() == zp
        c.save("clamp_u8_" + name, {"x": x, "out": y.int_repr().numpy()},
               {"op": "CLAMP", "dtype": "u8", "profile": "any", "min": lo, "max": hi,
                "in_scale": scale, "in_zp": zp, "out_scale": scale, "out_zp": zp})
    xf = np.concatenate([rng.uniform(-8, 8, 60), [np.nan, np.inf, -np.inf, 0.0, -0.0]]).astype(f32)
    for name, lo, hi in [("relu", 0.0, INF), ("relu6", 0.0, 6.0), ("clip", -1.5, 0.25)]:
        y = torch.clamp(torch.from_numpy(xf), lo, hi if hi != INF else None)
        c.save("clamp_f32_" + name, {"x": xf, "out": y.numpy()},
               {"op": "CLAMP", "dtype": "f32", "profile": "any", "min": lo, "max": hi})


# Variants added after the first generation, with their own seed so the
# cases above keep their bytes.
EXTRA_CONV_CASES = [
    ("conv1d_asym_pad_groups2", 1, 6, 4, (None, 10), (1, 3), (1, 1), (1, 1), (0, 2, 0, 0), 2,
     False, False, True),
    ("conv1d_s2_d3_pc_relu", 2, 3, 5, (None, 19), (1, 4), (1, 2), (1, 3), (0, 3, 0, 3), 1, True,
     True, True),
]
EXTRA_CONV_F32_CASES = [
    ("conv1d_k3", 1, 4, 6, (None, 11), (1, 3), (1, 1), (1, 1), (0, 1, 0, 1), 1, False),
    ("conv1d_s2_d2_groups2", 2, 4, 6, (None, 15), (1, 5), (1, 2), (1, 2), (0, 3, 0, 1), 2, False),
]


def gen_extras(c):
    torch.manual_seed(20250117)
    rng = np.random.default_rng(20250117)
    with engine("qnnpack"):
        gen_conv(c, rng, EXTRA_CONV_CASES, EXTRA_CONV_F32_CASES)


def generate():
    reset_family(FAMILY)
    torch.manual_seed(20240613)
    rng = np.random.default_rng(20240613)
    c = Cases()
    with engine("qnnpack"):
        gen_conv(c, rng)
        gen_transpose_conv(c, rng)
        gen_fc(c, rng)
    gen_max_pool(c, rng)
    gen_avg_pool(c, rng)
    gen_adaptive(c, rng)
    gen_global_avg_pool(c, rng)
    gen_quantize(c, rng)
    gen_add(c, rng)
    gen_clamp(c, rng)
    gen_extras(c)
    return c.count
