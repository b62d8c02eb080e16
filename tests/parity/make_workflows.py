#!/usr/bin/python3
"""Regenerates tests/data/parity/workflows/ from PyTorch 1.13 (Debian python3-torch):
    /usr/bin/python3 tests/parity/make_workflows.py

PyTorch's three eager-mode quantization workflows, on the models its docs use,
each taken to a .qrt by both routes and compared with what PyTorch computes
(tests/converter/test_workflow_parity.cc runs them and prints the table):
  ptdq_m   PTDQ: the docs' M (Linear 4->4), quantize_dynamic({nn.Linear}, qint8),
           input randn(4, 4, 4, 4)
  lstm2_linear  PTDQ: a 2-layer nn.LSTM(8, 16) + Linear(16, 4) (tests/parity/
           make_rnn_models.py's Rnn), quantize_dynamic({nn.Linear, nn.LSTM}, qint8),
           input randn(16, 1, 8)
  gru1, encoder  PTDQ rows on tests/data/converter/rnn/gru1 (nn.GRU + Linear) and
           converter/mha/enc_00_relu (nn.TransformerEncoderLayer), whose scripts
           write PyTorch's fp32 and quantize_dynamic outputs; only rows here
  ptsq_m   PTSQ: the docs' M (QuantStub, Conv2d(1, 1, 1), ReLU, DeQuantStub),
           fuse_modules([['conv', 'relu']]), prepare, calibrate on randn(4, 1, 4, 4),
           convert; evaluated on that same input, as the docs do
  cnn      PTSQ: Conv+BN+ReLU stem, MaxPool, two residual blocks (FloatFunctional
           add_relu and add), AvgPool, AdaptiveAvgPool, Linear; 4 calibration
           batches, one held-out batch
  qat_m    QAT: the docs' M (Conv2d(1, 1, 1), BN, ReLU), get_default_qat_qconfig,
           fuse_modules, prepare_qat, 20 SGD steps on synthetic data, eval, convert
Routes: (a) the quantized model -> torch.onnx.export (QDQ) -> qrt-convert; (b) the
fused fp32 model -> ONNX + the calibration batches -> qrt-convert --mode static.
PyTorch 1.13's exporter truncates the int32 conv/linear bias (Cast(Div)) where its
kernels round it; the QDQ files are exported with tests/bench/export_mobilenet_v2.py's
rounding fix, so they hold PyTorch's model.

What "PyTorch's bytes" are, per profile: qnnpack, the engine's own output (uint8
before DeQuantStub). fbgemm: this PyTorch build has no fbgemm engine, so the
script computes NUMERICS.md's fbgemm formulas in numpy (_fbgemm_bytes: quantize,
per-channel conv/linear with float bias, add/add_relu, max/average/adaptive average
pooling) on the converted model's int tensors and qparams (vs=fbgemm_formula).

QAT route (b): QAT's observers saw the training batches while the weights moved;
no calibration afterwards can replay that. What route (b) can reproduce is PTSQ of
the QAT-trained weights, so its reference is PyTorch's prepare/calibrate/convert of
the trained, BN-folded fp32 model on the training batches; the table also shows
route (b) against the QAT int8 model itself, for information.

Files, per model directory: fp32.onnx, qdq_<profile>.onnx, calib/b<k>.npy, x.npy
(the evaluated input), want_<route>_<profile>.npy, qparams_<profile>.txt (the
observers' qparams keyed by ONNX value name, "act|weight NAME scale.. | zp..",
scales as float.hex). cases.txt: one table row a line,
  MODEL ROUTE PROFILE key=value...
keys: onnx, args (qrt-convert options, comma-separated; @ marks a path in this
directory), input, want (.npy, u1 bytes or f4 floats), out (SCALE,ZP of a u1 want),
qparams, vs (what want is), identical and steps (required % of identical bytes, max
|step| difference), rel (max|qrt - want| / max|want| of a float output), max_qrt_bytes,
fp32 (.npy or .npz: PyTorch's fp32 output of a dynamic row) and ratio (required
max|qrt - want| / max|want - fp32|: the sequence models' end-to-end rule, qrt within
2% of PyTorch's own int8 error). .npy inputs are positional, .npz ones by name; an
.npz want is compared output by output, by name. Route fp32: plain qrt-convert
against PyTorch fp32. A row without identical/rel/ratio is informational.

    /usr/bin/python3 tests/parity/make_workflows.py --mobilenet DIR QRT_BUILD
MobileNetV2 (torchvision's quantizable, as tests/bench/export_mobilenet_v2.py builds it),
with the tools of the build dir QRT_BUILD, working in DIR: writes the route (a) fixture
workflows/mobilenet_v2/ (QDQ ONNX, two images, PyTorch's logits, and rows.txt, the
table rows the plain run above copies into cases.txt), then prints what ctest cannot
afford: the sizes (fp32 and int8 state_dict, .qrt), route (a)'s qparams against
PyTorch's modules, route (b) (fp32 ONNX + the 4 calibration batches of 8) qparams and
logits, and route (a)'s every quantized module output on 8 images, given the same input.
"""

import copy
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.intrinsic.quantized as nniq
from torch.ao.quantization import (DeQuantStub, QuantStub, convert, fuse_modules,
                                   get_default_qat_qconfig, get_default_qconfig, prepare,
                                   prepare_qat, quantize_dynamic)
from torch.onnx import symbolic_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
sys.path.insert(0, HERE)
import export_mobilenet_v2 as mnv2  # noqa: E402
from make_converter_models import _fmt_case, _scope  # noqa: E402
from make_dynamic_models import M as DocsLinear  # noqa: E402 (the docs' PTDQ example)
from make_rnn_models import Rnn  # noqa: E402

OUT = os.path.join(HERE, "..", "data", "parity", "workflows")
F32 = np.float32
PROFILES = ("qnnpack", "fbgemm")
STATIC_ARGS = "--mode,static,--profile,%s,--calib,@%s/calib,--histogram-compat,torch1.13"


class DocsConv(nn.Module):
    """The PTSQ (bn=False) and QAT (bn=True) examples of PyTorch's quantization docs."""

    def __init__(self, bn):
        super().__init__()
        self.quant = QuantStub()
        self.conv = nn.Conv2d(1, 1, 1)
        self.bn = nn.BatchNorm2d(1) if bn else nn.Identity()
        self.relu = nn.ReLU()
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self.relu(self.bn(self.conv(self.quant(x)))))


class Block(nn.Module):
    def __init__(self, c, relu):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.skip = nn.quantized.FloatFunctional()
        self.relu = relu

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.skip.add_relu(x, y) if self.relu else self.skip.add(x, y)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(2)
        self.block1 = Block(8, relu=True)
        # count_include_pad=False: the default exports an all-zero Pad first,
        # which qrt-convert does not take (same pooling without padding).
        self.avgpool = nn.AvgPool2d(2, count_include_pad=False)
        self.block2 = Block(8, relu=False)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn(self.stem(self.quant(x)))))
        x = self.block2(self.avgpool(self.block1(x)))
        return self.dequant(self.fc(torch.flatten(self.gap(x), 1)))


CNN_FUSE = [["stem", "bn", "relu"]] + [["block%d.conv1" % b, "block%d.bn1" % b, "block%d.relu1" % b]
                                      for b in (1, 2)] + [["block%d.conv2" % b, "block%d.bn2" % b] for b in (1, 2)]


def _save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(array))


def _export_fp32(model, x, path):
    torch.onnx.export(model, x, path, input_names=["x"], output_names=["y"], opset_version=13)


def _export_qdq(qmodel, x, path):
    saved = symbolic_helper.requantize_bias_helper
    symbolic_helper.requantize_bias_helper = mnv2.rounded_bias
    try:
        _export_fp32(qmodel, x, path)
    finally:
        symbolic_helper.requantize_bias_helper = saved
    mnv2.fold_round(path)


def _quantized_output(qmodel, x):
    """PyTorch's uint8 output (the tensor DeQuantStub is given) and its scale, zero point."""
    got = {}
    h = qmodel.dequant.register_forward_pre_hook(lambda m, inp: got.update(q=inp[0]))
    with torch.no_grad():
        qmodel(x)
    h.remove()
    q = got["q"]
    return q.int_repr().numpy(), float(F32(q.q_scale())), int(q.q_zero_point())


def _onnx_value(nodes, graph_input, module, functional):
    """ONNX value name of the tensor module's activation observer sees, or None
    (PyTorch 1.13's exporter names nodes by module scope; a FloatFunctional's ops
    are not calls of it and sit in its parent's scope)."""
    if module == "quant":
        return graph_input
    parts = module.split(".")
    if functional:
        scope = _scope(".".join(parts[:-1])) if len(parts) > 1 else "/"
        cand = [n for n in nodes if n.name.startswith(scope) and n.name.count("/") == scope.count("/")
                and n.op_type in ("Add", "Relu")]
    else:
        cand = [n for n in nodes if n.name.startswith(_scope(module))]
    return cand[-1].output[0] if cand else None


def _weight_name(nodes, module):
    scope = _scope(module)
    return [n for n in nodes if n.name.startswith(scope) and n.op_type in ("Conv", "Gemm")][0].input[1]


def _qparams_lines(prepared, onnx_path):
    """The qparams PyTorch's convert takes from each observer, keyed by ONNX value name."""
    g = onnx.load(onnx_path).graph
    nodes = [n for n in g.node if n.op_type != "Constant"]
    lines = []
    for name, mod in prepared.named_modules():
        obs = getattr(mod, "activation_post_process", None)
        if obs is None or isinstance(obs, nn.Identity):
            continue
        s, z = obs.calculate_qparams()
        functional = isinstance(mod, nn.quantized.FloatFunctional)
        lines.append(_fmt_case("act", _onnx_value(nodes, g.input[0].name, name, functional),
                               s.reshape(-1).tolist(), z.reshape(-1).tolist()))
    for name, mod in prepared.named_modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)) and hasattr(mod, "qconfig"):
            obs = mod.qconfig.weight()
            obs(mod.weight.detach())
            s, z = obs.calculate_qparams()
            lines.append(_fmt_case("weight", _weight_name(nodes, name), s.reshape(-1).tolist(),
                                   z.reshape(-1).tolist()))
    return lines


def _quantize(x, scale, zp):
    """NUMERICS.md: q = clamp(zp + rne(f32(x * f32(1/scale))), 0, 255)."""
    inv = F32(1) / F32(scale)
    return np.clip(np.rint(x.astype(F32) * inv) + zp, 0, 255).astype(np.int64)


# NUMERICS.md's fbgemm profile on the int tensors and qparams of PyTorch's converted
# model. A quantized tensor is (q, scale, zp): q an int64 NCHW (or NC) array of uint8
# values, scale a float32.

def _fb_conv(mod, t):
    """Conv2d / Linear (+ fused ReLU). fbgemm qconfigs quantize weights per channel,
    where PyTorch divides the bias by s_in * s_w[c] (per tensor it would multiply by a
    reciprocal)."""
    q, s_in, zp_in = t
    w = mod.weight()
    assert w.qscheme() == torch.per_channel_affine and not w.q_per_channel_zero_points().any(), w.qscheme()
    wq = w.int_repr().numpy().astype(np.int64)
    a = q - zp_in
    if wq.ndim == 2:
        acc, shape = a @ wq.T, (1, -1)
    else:
        assert mod.groups == 1 and mod.dilation == (1, 1) and mod.padding_mode == "zeros"
        (ph, pw), (sh, sw), (kh, kw) = mod.padding, mod.stride, wq.shape[2:]
        # Padding taps hold a_zp, which contributes (a_zp - a_zp) * w = 0.
        a = np.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        oh, ow = (a.shape[2] - kh) // sh + 1, (a.shape[3] - kw) // sw + 1
        acc = sum(np.einsum("nchw,oc->nohw", a[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw], wq[:, :, i, j])
                  for i in range(kh) for j in range(kw))
        shape = (1, -1, 1, 1)
    s_out, zp_out = F32(mod.scale), int(mod.zero_point)
    sw_in = s_in * w.q_per_channel_scales().numpy().astype(F32)
    bias = mod.bias()
    bias = np.zeros(len(sw_in), F32) if bias is None else bias.detach().numpy().astype(F32)
    m = (sw_in / s_out).reshape(shape)
    y = (acc.astype(F32) + (bias / sw_in).reshape(shape)) * m
    lo = zp_out if isinstance(mod, (nniq.ConvReLU2d, nniq.LinearReLU)) else 0
    return np.clip(np.rint(y) + zp_out, lo, 255).astype(np.int64), s_out, zp_out


def _fb_add(mod, t, u, relu):
    """FloatFunctional add / add_relu: each input dequantized as fma(s, q, f32(s * -zp))
    (exact in float64, then rounded once), a float32 add, quantized with mod's qparams."""
    x = [(np.float64(s) * q + np.float64(s * F32(-zp))).astype(F32) for q, s, zp in (t, u)]
    y = x[0] + x[1]
    if relu:
        y = np.maximum(y, F32(0))
    s, zp = F32(mod.scale), int(mod.zero_point)
    return _quantize(y, s, zp), s, zp


def _fb_pool(t, k, average):
    """Max or average pooling over k x k windows at stride k; the output keeps the input's
    qparams. Average: rne((sum q - zp * k * k) * m) + zp with m = s_in / s_out / (k * k);
    PyTorch's AVX2 channel loop multiplies by m, its scalar loops by f32(1 / f32(1 / m)):
    the same float while k * k is a power of two."""
    q, s, zp = t
    n, c, h, w = q.shape
    assert h % k == 0 and w % k == 0
    win = q.reshape(n, c, h // k, k, w // k, k)
    if not average:
        return win.max(axis=(3, 5)), s, zp
    assert k * k & (k * k - 1) == 0, "window %d: the paths round differently" % (k * k)
    acc = win.sum(axis=(3, 5)) - zp * k * k
    return np.clip(np.rint(acc.astype(F32) * F32(1.0 / (k * k))) + zp, 0, 255).astype(np.int64), s, zp


def _fb_window(mod):
    """MaxPool2d / AvgPool2d as _fb_pool takes them."""
    k = mod.kernel_size
    assert mod.stride == k and mod.padding == 0 and not mod.ceil_mode
    assert getattr(mod, "dilation", 1) == 1 and getattr(mod, "divisor_override", None) is None
    return k


def _fbgemm_bytes(qmodel, x):
    """The uint8 output (before DeQuantStub) of a converted DocsConv or CNN."""
    stub = qmodel.quant
    s, zp = F32(stub.scale.item()), int(stub.zero_point.item())
    t = _quantize(x.numpy(), s, zp), s, zp
    if not isinstance(qmodel, CNN):
        return _fb_conv(qmodel.conv, t)[0].astype(np.uint8)
    t = _fb_pool(_fb_conv(qmodel.stem, t), _fb_window(qmodel.maxpool), False)
    for block, pool in ((qmodel.block1, qmodel.avgpool), (qmodel.block2, None)):
        y = _fb_conv(block.conv2, _fb_conv(block.conv1, t))
        t = _fb_add(block.skip, t, y, block.relu)
        if pool is not None:
            t = _fb_pool(t, _fb_window(pool), True)
    assert qmodel.gap.output_size in (1, (1, 1)) and t[0].shape[2] == t[0].shape[3]
    t = _fb_pool(t, t[0].shape[2], True)
    t = (t[0].reshape(t[0].shape[0], -1),) + t[1:]
    return _fb_conv(qmodel.fc, t)[0].astype(np.uint8)


class Writer:
    def __init__(self):
        self.rows = []

    def row(self, model, route, profile, **keys):
        self.rows.append(" ".join([model, route, profile] + ["%s=%s" % kv for kv in keys.items()]))

    def save(self):
        with open(os.path.join(OUT, "cases.txt"), "w") as f:
            f.write("# tests/parity/make_workflows.py writes this; its docstring has the format.\n")
            f.writelines(r + "\n" for r in self.rows)


def _calibrate(fused, qconfig, batches):
    p = copy.deepcopy(fused)
    p.qconfig = qconfig
    p = prepare(p)
    with torch.no_grad():
        for b in batches:
            p(b)
    return p


def _static_model(w, name, fused, batches, x):
    """Routes (a) and (b) for a fused fp32 model calibrated on `batches` (PTSQ), both
    profiles."""
    d = os.path.join(OUT, name)
    for k, b in enumerate(batches):
        _save(os.path.join(d, "calib", "b%d.npy" % k), b.numpy())
    _save(os.path.join(d, "x.npy"), x.numpy())
    _export_fp32(fused, x, os.path.join(d, "fp32.onnx"))
    for profile in PROFILES:
        p = _calibrate(fused, get_default_qconfig(profile), batches)
        with open(os.path.join(d, "qparams_%s.txt" % profile), "w") as f:
            f.writelines(_qparams_lines(p, os.path.join(d, "fp32.onnx")))
        q = convert(p)
        _add_routes(w, name, profile, q, x, "qparams_%s.txt" % profile,
                    None, STATIC_ARGS % (profile, name), None)


def _add_routes(w, name, profile, q, x, qparams, want_b, args_b, note_b, fp32="fp32.onnx"):
    """Table rows for PyTorch's quantized model q. want_b = (u8 bytes, scale, zero point,
    vs): route (b)'s own reference when it is not q (QAT); then route (b) against q's
    bytes is a row for information, labelled note_b."""
    d = os.path.join(OUT, name)
    fp32, qparams = "%s/%s" % (name, fp32), "%s/%s" % (name, qparams)
    _export_qdq(q, x, os.path.join(d, "qdq_%s.onnx" % profile))
    got, scale, zp = _quantized_output(q, x)
    if profile == "fbgemm":
        # Route (a)'s QDQ file holds the bias as int32 (rne(b / (s_in * s_w))), where
        # fbgemm adds b / (s_in * s_w) unrounded: its bytes are the formula's only while
        # that rounding moves none (cnn: 115 of 18484 intermediate bytes move by 1 step,
        # none of the 20 output bytes). Route (b) keeps the float bias.
        got, vs = _fbgemm_bytes(q, x), "fbgemm_formula"
    else:
        vs = "pytorch_qnnpack"
    _save(os.path.join(d, "want_a_%s.npy" % profile), got)
    out = "%s,%d" % (float(F32(scale)).hex(), zp)
    common = dict(input="%s/x.npy" % name, out=out)
    w.row(name, "a", profile, onnx="%s/qdq_%s.onnx" % (name, profile), args="--profile,%s" % profile,
          want="%s/want_a_%s.npy" % (name, profile), vs=vs, identical=100, steps=0, **common)
    if want_b is not None:
        _save(os.path.join(d, "want_b_%s.npy" % profile), want_b[0])
        w.row(name, "b", profile, onnx=fp32, args=args_b, qparams=qparams,
              want="%s/want_b_%s.npy" % (name, profile), vs=want_b[3], identical=100, steps=0,
              input=common["input"], out="%s,%d" % (float(F32(want_b[1])).hex(), want_b[2]))
        w.row(name, "b", profile, onnx=fp32, args=args_b,
              want="%s/want_a_%s.npy" % (name, profile), vs=note_b, **common)
    else:
        w.row(name, "b", profile, onnx=fp32, args=args_b, qparams=qparams,
              want="%s/want_a_%s.npy" % (name, profile), vs=vs, identical=100, steps=0, **common)


def ptdq(w):
    torch.manual_seed(0)
    m = DocsLinear().eval()
    x = torch.randn(4, 4, 4, 4)
    q = quantize_dynamic(m, {nn.Linear}, dtype=torch.qint8)
    d = os.path.join(OUT, "ptdq_m")
    _save(os.path.join(d, "x.npy"), x.numpy())
    with torch.no_grad():
        _save(os.path.join(d, "want_qnnpack.npy"), q(x).numpy())
    _export_fp32(m, x, os.path.join(d, "fp32.onnx"))
    w.row("ptdq_m", "dynamic", "qnnpack", onnx="ptdq_m/fp32.onnx", args="--mode,dynamic,--profile,qnnpack",
          input="ptdq_m/x.npy", want="ptdq_m/want_qnnpack.npy", vs="pytorch_qnnpack", rel="1e-6")


def _sequence_rows(w, name, onnx_path, inputs, fp32, int8):
    w.row(name, "fp32", "-", onnx=onnx_path, input=inputs, want=fp32, vs="pytorch_fp32", rel="1e-5")
    w.row(name, "dynamic", "qnnpack", onnx=onnx_path, args="--mode,dynamic,--profile,qnnpack", input=inputs,
          want=int8, fp32=fp32, vs="pytorch_qnnpack", ratio="0.02")


def ptdq_sequence(w):
    torch.manual_seed(10)
    m = Rnn("LSTM", 8, 16, layers=2, head=4).eval()
    x = torch.randn(16, 1, 8)
    q = quantize_dynamic(m, {nn.Linear, nn.LSTM}, dtype=torch.qint8)
    d = os.path.join(OUT, "lstm2_linear")
    _save(os.path.join(d, "x.npy"), x.numpy())
    with torch.no_grad():
        _save(os.path.join(d, "want_fp32.npy"), m(x).numpy())
        _save(os.path.join(d, "want_qnnpack.npy"), q(x).numpy())
    _export_fp32(m, x, os.path.join(d, "fp32.onnx"))
    _sequence_rows(w, "lstm2_linear", "lstm2_linear/fp32.onnx", "lstm2_linear/x.npy", "lstm2_linear/want_fp32.npy",
                   "lstm2_linear/want_qnnpack.npy")
    # Paths from this directory: the fixtures belong to make_rnn_models.py and make_mha_models.py.
    for name, model in (("gru1", "../../converter/rnn/gru1"), ("encoder", "../../converter/mha/enc_00_relu")):
        _sequence_rows(w, name, model + ".onnx", model + "_in.npz", model + "_fp32.npz", model + "_qnnpack.npz")


def ptsq(w):
    torch.manual_seed(0)
    m = DocsConv(bn=False).eval()
    fused = fuse_modules(m, [["conv", "relu"]])
    x = torch.randn(4, 1, 4, 4)
    _static_model(w, "ptsq_m", fused, [x], x)


def _bn_stats(model):
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.3, 0.3)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)


def cnn(w):
    torch.manual_seed(1)
    m = CNN()
    _bn_stats(m)
    fused = fuse_modules(m.eval(), CNN_FUSE)
    batches = [torch.randn(4, 3, 16, 16) * s for s in (1.0, 1.5, 0.7, 1.2)]
    _static_model(w, "cnn", fused, batches, torch.randn(4, 3, 16, 16))


def qat(w):
    name = "qat_m"
    d = os.path.join(OUT, name)
    torch.manual_seed(2)
    batches = [torch.randn(8, 1, 4, 4) for _ in range(4)]
    for k, b in enumerate(batches):
        _save(os.path.join(d, "calib", "b%d.npy" % k), b.numpy())
    x = torch.randn(4, 1, 4, 4)
    _save(os.path.join(d, "x.npy"), x.numpy())
    for profile in PROFILES:
        torch.manual_seed(3)
        m = DocsConv(bn=True).eval()
        m.qconfig = get_default_qat_qconfig(profile)
        fused = fuse_modules(m, [["conv", "bn", "relu"]])
        p = prepare_qat(fused.train())
        opt = torch.optim.SGD(p.parameters(), lr=0.05)
        for step in range(20):
            b = batches[step % len(batches)]
            loss = ((p(b) - torch.relu(1.5 * b - 0.25)) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        p.eval()
        # The docs fuse in eval mode, so the BatchNorm is folded before training and
        # QAT trains a ConvReLU2d; route (b) gets its trained weights as fp32.
        trained = copy.deepcopy(fused).eval()
        trained.conv[0].weight.data.copy_(p.conv.weight.data)
        trained.conv[0].bias.data.copy_(p.conv.bias.data)
        # Each profile's qconfig trains its own weights.
        fp32 = "fp32_%s.onnx" % profile
        _export_fp32(trained, x, os.path.join(d, fp32))
        ptsq_p = _calibrate(trained, get_default_qconfig(profile), batches)
        with open(os.path.join(d, "qparams_%s.txt" % profile), "w") as f:
            f.writelines(_qparams_lines(ptsq_p, os.path.join(d, fp32)))
        ptsq_q = convert(ptsq_p)
        got, scale, zp = _quantized_output(ptsq_q, x)
        if profile == "fbgemm":
            got = _fbgemm_bytes(ptsq_q, x)
        q = convert(p)
        _add_routes(w, name, profile, q, x, "qparams_%s.txt" % profile,
                    (got, scale, zp, "ptsq_of_qat_weights_" + ("qnnpack" if profile == "qnnpack" else "formula")),
                    STATIC_ARGS % (profile, name), "qat_int8_model_info_only", fp32)


def _converted_qparams(q, onnx_path):
    """The qparams of PyTorch's converted model, keyed by the fp32 ONNX's value names."""
    g = onnx.load(onnx_path).graph
    nodes = [n for n in g.node if n.op_type != "Constant"]
    lines = []
    for name, mod in q.named_modules():
        if not hasattr(mod, "zero_point"):
            continue
        value = _onnx_value(nodes, g.input[0].name, name, isinstance(mod, nn.quantized.QFunctional))
        if value is None:
            continue  # the skip_add of a block without a residual never runs
        lines.append(_fmt_case("act", value, [float(mod.scale)], [int(mod.zero_point)]))
        if callable(getattr(mod, "weight", None)):
            lines.append(_fmt_case("weight", _weight_name(nodes, name), [mod.weight().q_scale()], [0]))
    return lines


def _tool(build, name, *args):
    subprocess.run([os.path.join(build, name)] + list(args), check=True)


def _identical(q, want):
    d = np.abs(q.astype(np.int64) - want.astype(np.int64))
    return "%.2f%% identical, max %d steps" % (100.0 * (d == 0).mean(), d.max())


def _per_layer(model_dir, out, build, q, images):
    """Every quantized module's output (the QuantizeLinear at the end of its scope in
    the QDQ export) made a graph output and compared with PyTorch's on each image."""
    m = onnx.load(os.path.join(model_dir, "mobilenet_v2_int8.onnx"))
    # The QuantizeLinear's uint8 value disappears when the converter fuses the
    # QDQ pairs; the DequantizeLinear reading it (through a Cast) stays, and its
    # float output s * (q - zp) gives q back exactly.
    reader = {}
    for n in m.graph.node:
        if n.op_type in ("Cast", "DequantizeLinear") and n.input and n.input[0] not in reader:
            reader[n.input[0]] = n
    outputs = {}
    for name, mod in q.named_modules():
        if hasattr(mod, "zero_point") and not isinstance(mod, nn.quantized.QFunctional) and name != "quant":
            scope = "/" + name.replace(".", "/") + "/"
            cand = [n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.name.startswith(scope)]
            n = reader.get(cand[-1].output[0]) if cand else None
            if n is not None and n.op_type == "Cast":
                n = reader.get(n.output[0])
            if n is not None and n.op_type == "DequantizeLinear":
                outputs[name] = (n.output[0], F32(float(mod.scale)), int(mod.zero_point))
    del m.graph.output[:]
    for value, _, _ in outputs.values():
        m.graph.output.append(onnx.helper.make_tensor_value_info(value, onnx.TensorProto.FLOAT, None))
    path = os.path.join(out, "per_layer.onnx")
    onnx.save(m, path)
    _tool(build, "converter/qrt-convert", path, "-o", os.path.join(out, "per_layer.qrt"), "-q")
    got = {}
    hooks = [mod.register_forward_hook(lambda mod, i, o, name=name: got.__setitem__(name, o.int_repr().numpy()))
             for name, mod in q.named_modules() if name in outputs]
    worst = []
    for k, image in enumerate(images):
        with torch.no_grad():
            q(torch.from_numpy(np.load(image)))
        res = os.path.join(out, "per_layer_%d" % k)
        _tool(build, "runtime/qrt-run", os.path.join(out, "per_layer.qrt"), "--input", "input=" + image,
              "--output-dir", res, "--quiet")
        for name, (value, scale, zp) in outputs.items():
            y = np.load(os.path.join(res, value.replace("/", "_") + ".npy"))  # qrt-run's file name
            ours = np.clip(np.rint(y / scale) + zp, 0, 255)
            if ours.shape != got[name].shape:  # NHWC <-> NCHW
                ours = ours.transpose(0, 3, 1, 2)
            if not np.array_equal(ours, got[name]):
                worst.append("image %d %s: %s" % (k, name, _identical(ours, got[name])))
    for h in hooks:
        h.remove()
    print("per layer: %d quantized module outputs x %d images, %d differ" % (len(outputs), len(images), len(worst)))
    for w in worst:
        print("  " + w)


def _qdq_qparams(build, q, qrt):
    """Counts the quantized tensors of the route (a) .qrt (qrt-inspect --json; the QDQ
    importer names them after the exported nodes, whose scope is the module path)
    whose scale and zero point are exactly those of PyTorch's module."""
    import json
    res = subprocess.run([os.path.join(build, "converter/qrt-inspect"), qrt, "--json"], check=True,
                         capture_output=True, text=True)
    tensors = [t for t in json.loads(res.stdout)["tensors"] if "scales" in t]
    same = total = 0
    for name, mod in q.named_modules():
        if not hasattr(mod, "zero_point"):
            continue
        want = [("U8", F32(float(mod.scale)), int(mod.zero_point))]
        if callable(getattr(mod, "weight", None)):
            want.append(("S8", F32(mod.weight().q_scale()), 0))
        if name == "quant":
            prefix = "input:"
        elif isinstance(mod, nn.quantized.QFunctional):
            prefix = "/" + name.replace(".", "/").rsplit("/", 1)[0] + "/Add"
        else:
            prefix = "/" + name.replace(".", "/") + "/"
        for dtype, scale, zp in want:
            found = [t for t in tensors if t["name"].startswith(prefix) and t["dtype"] == dtype]
            if not found:
                continue  # a skip_add that never runs
            total += 1
            ok = all(F32(t["scales"][0]) == scale and t["zero_points"][0] == zp for t in found)
            same += ok
            if not ok:
                print("QDQ qparams differ: %s %s" % (name, dtype))
    print("route (a) QDQ qparams: %d of %d quantized tensors exactly PyTorch's" % (same, total))


def mobilenet(out, build):
    """Route (a) fixture, route (b) and the per-layer check for MobileNetV2 (see the docstring)."""
    import make_converter_models
    torch.backends.quantized.engine = "qnnpack"
    out = os.path.abspath(out)
    model_dir = os.path.join(out, "model")
    seen = []
    draw = mnv2.images
    mnv2.images = lambda rng, n: seen.append(draw(rng, n)) or seen[-1]
    q, fp32, _ = mnv2.build()
    mnv2.images = draw
    calib = seen[4:8]  # after the 4 BatchNorm batches; build() calibrates on the next 4
    if not os.path.isfile(os.path.join(model_dir, "mobilenet_v2_int8.pt")):
        mnv2.main(model_dir)
    for k, b in enumerate(calib):
        _save(os.path.join(out, "calib", "b%02d.npy" % k), b.numpy())

    import io
    import torchvision
    sizes = {}
    for key, sd in (("fp32", torchvision.models.quantization.mobilenet_v2(weights=None, quantize=False).state_dict()),
                    ("int8", q.state_dict())):
        buf = io.BytesIO()
        torch.save(sd, buf)
        sizes[key] = buf.tell()

    # The committed route (a) fixture: the QDQ model, two images, PyTorch's logits.
    fix = os.path.join(OUT, "mobilenet_v2")
    shutil.rmtree(fix, ignore_errors=True)
    os.makedirs(fix)
    shutil.copy(os.path.join(model_dir, "mobilenet_v2_int8.onnx"), os.path.join(fix, "qdq_qnnpack.onnx"))
    scale, zp = open(os.path.join(model_dir, "torch_qparams.txt")).read().split()
    rows = []
    for k in range(2):
        for f in ("image_%d.npy" % k, "torch_%d.npy" % k):
            shutil.copy(os.path.join(model_dir, f), os.path.join(fix, f))
        rows.append("mobilenet_v2 a qnnpack onnx=mobilenet_v2/qdq_qnnpack.onnx args=--profile,qnnpack "
                    "input=mobilenet_v2/image_%d.npy want=mobilenet_v2/torch_%d.npy out=%s,%s "
                    "vs=pytorch_qnnpack_image%d identical=99.9 steps=1 max_qrt_bytes=3630000\n"
                    % (k, k, float(F32(float(scale))).hex(), zp, k))
    with open(os.path.join(fix, "rows.txt"), "w") as f:
        f.writelines(rows)

    # Route (a) sizes and QDQ qparams; route (b): fp32 ONNX + the same calibration batches.
    qdq = os.path.join(out, "a.qrt")
    _tool(build, "converter/qrt-convert", os.path.join(model_dir, "mobilenet_v2_int8.onnx"), "-o", qdq, "-q")
    # Batches of 8 as PyTorch calibrated: each is one observer update, and a
    # histogram fed 8 single images is not the histogram fed their batch.
    fp32_onnx = os.path.join(out, "mobilenet_v2_fp32_b8.onnx")
    torch.onnx.export(fp32, calib[0], fp32_onnx, input_names=["input"], output_names=["logits"], opset_version=13)
    with open(os.path.join(out, "qnnpack.txt"), "w") as f:
        f.writelines(_converted_qparams(q, fp32_onnx))
    b = os.path.join(out, "b.qrt")
    _tool(build, "converter/qrt-convert", fp32_onnx, "-o", b, "--mode", "static", "--profile", "qnnpack",
          "--calib", os.path.join(out, "calib"), "--histogram-compat", "torch1.13",
          "--report-json", os.path.join(out, "report.json"), "-q")
    print("sizes: fp32 state_dict %.2f MB, int8 state_dict %.2f MB, .qrt route (a) %.2f MB (%d bytes), "
          "route (b) %.2f MB" % (sizes["fp32"] / 1e6, sizes["int8"] / 1e6, os.path.getsize(qdq) / 1e6,
                                os.path.getsize(qdq), os.path.getsize(b) / 1e6))
    _qdq_qparams(build, q, qdq)
    print("route (b) qparams against PyTorch's converted model:")
    make_converter_models.compare(out)
    images = [os.path.join(model_dir, "image_%d.npy" % k) for k in range(mnv2.IMAGES)]
    batch = os.path.join(out, "images.npy")
    np.save(batch, np.concatenate([np.load(f) for f in images]))
    want = np.concatenate([np.load(os.path.join(model_dir, "torch_%d.npy" % k)) for k in range(len(images))])
    for route, path, inputs in (("a", qdq, images), ("b", b, [batch])):
        qs = []
        for k, image in enumerate(inputs):
            res = os.path.join(out, "run_%s_%d" % (route, k))
            _tool(build, "runtime/qrt-run", path, "--input", "input=" + image, "--output-dir", res, "--quiet")
            y = np.load(os.path.join(res, "logits.npy"))
            qs.append(np.clip(np.rint(y / F32(float(scale))) + int(zp), 0, 255))
        print("route (%s) logits, %d images: %s" % (route, len(images), _identical(np.concatenate(qs), want)))
    _per_layer(model_dir, out, build, q, images)


def main():
    if not torch.__version__.startswith("1.13"):
        sys.exit("make_workflows.py: needs PyTorch 1.13 (found %s)" % torch.__version__)
    torch.backends.quantized.engine = "qnnpack"
    keep = os.path.join(OUT, "mobilenet_v2")
    for entry in os.listdir(OUT) if os.path.isdir(OUT) else []:
        if os.path.join(OUT, entry) != keep:
            path = os.path.join(OUT, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    os.makedirs(OUT, exist_ok=True)
    w = Writer()
    ptdq(w)
    ptdq_sequence(w)
    ptsq(w)
    cnn(w)
    qat(w)
    if os.path.isfile(os.path.join(keep, "rows.txt")):
        w.rows += open(os.path.join(keep, "rows.txt")).read().split("\n")[:-1]
    w.save()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--mobilenet":
        mobilenet(sys.argv[2], sys.argv[3])
    else:
        main()
