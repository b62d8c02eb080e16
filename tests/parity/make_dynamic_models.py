#!/usr/bin/python3
"""Regenerates tests/data/converter/dynamic/ from PyTorch 1.13 (Debian python3-torch):
    /usr/bin/python3 tests/parity/make_dynamic_models.py

Post-training dynamic quantization the way PyTorch's docs do it:
quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8), qnnpack engine (this
build has no fbgemm). The float models are exported to ONNX (opset 13), which
is what qrt-convert --mode dynamic is given.
  linear.onnx, linear_x.npy        the docs' example M: one Linear(4, 4) on a
                                   [4, 4, 4, 4] input (exports as MatMul + Add)
  mlp.onnx, mlp_x.npy              Linear(16, 32), ReLU, Linear(32, 10) on [2, 16]
  mlp_fused.onnx                   the same weights after fuse_modules(fc1, relu).
                                   quantize_dynamic(..., {nn.Linear}) leaves a fused
                                   LinearReLU in float (convert does not look inside
                                   fused modules), so this one is quantized with
                                   {nn.Linear, nni.LinearReLU}, which gives
                                   DynamicQuantizedLinearReLU.
  <model>_y_fp32.npy               the float model's output
  <model>_y_qnnpack.npy            the dynamically quantized model's output
                                   (default_dynamic_qconfig: per-tensor weights)
  <model>_y_qnnpack_per_channel.npy  the same with per_channel_dynamic_qconfig
  conv.onnx                        Conv2d + ReLU: nothing for dynamic mode to quantize
  scales.txt                       "MODEL QCONFIG WEIGHT scale... | zero_point...",
                                   scales as float.hex, WEIGHT the ONNX initializer
                                   the Gemm/MatMul reads. QCONFIG: qnnpack (the
                                   scales the quantized modules hold), fbgemm (the
                                   fbgemm default_dynamic_qconfig's weight observer
                                   run here, no engine needed), per_channel
                                   (per_channel_dynamic_qconfig's modules).
  <model>_wq.npz                   the int8 weights [N, K] those modules hold:
                                   qnnpack<k>, per_channel<k> for the k-th line of
                                   that QCONFIG in scales.txt
"""

import copy
import os
import sys

import numpy as np
import onnx
import torch
import torch.ao.nn.intrinsic as nni
import torch.nn as nn
from torch.ao.quantization import (default_dynamic_qconfig, fuse_modules,
                                   per_channel_dynamic_qconfig, quantize_dynamic)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "converter", "dynamic")
F32 = np.float32


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def _weights(path):
    """ONNX initializer read as weights by each Gemm/MatMul, in graph order."""
    g = onnx.load(path).graph
    init = {t.name for t in g.initializer}
    return [n.input[1] for n in g.node if n.op_type in ("Gemm", "MatMul") and n.input[1] in init]


def _linears(q):
    """The dynamically quantized Linear modules of `q`, in forward order."""
    return [m for m in q.modules() if isinstance(m, nn.quantized.dynamic.Linear)]


def _fmt(model, qconfig, name, scales, zps):
    return "%s %s %s %s | %s\n" % (model, qconfig, name, " ".join(float(F32(s)).hex() for s in scales),
                                   " ".join(str(int(z)) for z in zps))


def _export(name, model, x, spec):
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, x, path, input_names=["x"], output_names=["y"], opset_version=13)
    names = _weights(path)
    with torch.no_grad():
        np.save(os.path.join(OUT, name + "_y_fp32.npy"), model(x).numpy())
    lines, ints = [], {}
    floats = [m for m in model.modules() if type(m) == nn.Linear]
    for qname, qconfig in (("qnnpack", default_dynamic_qconfig), ("per_channel", per_channel_dynamic_qconfig)):
        q = quantize_dynamic(model, {k: qconfig for k in spec}, dtype=torch.qint8)
        mods = _linears(q)
        if len(mods) != len(names) or len(floats) != len(names):
            sys.exit("%s: %d quantized Linear, %d float, %d ONNX weights" % (name, len(mods), len(floats), len(names)))
        for k, (w, m, f) in enumerate(zip(names, mods, floats)):
            qw = m.weight()
            ints["%s%d" % (qname, k)] = qw.int_repr().numpy()
            if qname == "qnnpack":
                s, z = [qw.q_scale()], [qw.q_zero_point()]
            else:
                s, z = qw.q_per_channel_scales().tolist(), qw.q_per_channel_zero_points().tolist()
            # The module's scales are its qconfig's weight observer's.
            obs = qconfig.weight()
            obs(f.weight.detach())
            os_, oz = obs.calculate_qparams()
            if [F32(v) for v in s] != [F32(v) for v in os_.reshape(-1).tolist()]:
                sys.exit("%s %s: module scales differ from the observer's" % (name, w))
            lines.append(_fmt(name, qname, w, s, z))
            if qname == "qnnpack":
                # quantize_dynamic's qconfig does not depend on the engine:
                # fbgemm's scales are default_dynamic_qconfig's weight
                # observer's, run here (no fbgemm engine in this build).
                obs = default_dynamic_qconfig.weight()
                obs(f.weight.detach())
                fs, fz = obs.calculate_qparams()
                lines.append(_fmt(name, "fbgemm", w, fs.reshape(-1).tolist(), fz.reshape(-1).tolist()))
        with torch.no_grad():
            y = q(x).numpy()
        np.save(os.path.join(OUT, "%s_y_%s.npy" % (name, "qnnpack" if qname == "qnnpack" else "qnnpack_per_channel")), y)
    np.savez(os.path.join(OUT, name + "_wq.npz"), **ints)
    return lines


def main():
    if not torch.__version__.startswith("1.13"):
        sys.exit("make_dynamic_models.py: needs PyTorch 1.13 (found %s)" % torch.__version__)
    torch.backends.quantized.engine = "qnnpack"
    os.makedirs(OUT, exist_ok=True)
    lines = []

    torch.manual_seed(0)
    m = M().eval()
    x = torch.randn(4, 4, 4, 4)
    np.save(os.path.join(OUT, "linear_x.npy"), x.numpy())
    lines += _export("linear", m, x, {nn.Linear})

    torch.manual_seed(1)
    mlp = MLP().eval()
    x = torch.randn(2, 16)
    np.save(os.path.join(OUT, "mlp_x.npy"), x.numpy())
    lines += _export("mlp", mlp, x, {nn.Linear})
    fused = fuse_modules(copy.deepcopy(mlp), [["fc1", "relu"]])
    if not isinstance(quantize_dynamic(fused, {nn.Linear}, dtype=torch.qint8).fc1, nni.LinearReLU):
        sys.exit("quantize_dynamic(..., {nn.Linear}) now quantizes a fused LinearReLU: simplify mlp_fused")
    lines += _export("mlp_fused", fused, x, {nn.Linear, nni.LinearReLU})

    # No Linear at all: dynamic mode quantizes nothing and says so.
    torch.manual_seed(2)
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()).eval()
    torch.onnx.export(conv, torch.randn(1, 1, 5, 5), os.path.join(OUT, "conv.onnx"), input_names=["x"],
                      output_names=["y"], opset_version=13)

    with open(os.path.join(OUT, "scales.txt"), "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
