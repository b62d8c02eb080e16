#!/usr/bin/python3
"""Regenerates tests/data/converter/cells/ from PyTorch 1.13 (Debian python3-torch):
    /usr/bin/python3 tests/parity/make_cell_models.py

nn.LSTMCell, nn.GRUCell and nn.RNNCell (tanh and relu) under
quantize_dynamic(model, dtype=torch.qint8) with its default module set,
qnnpack engine (this build has no fbgemm). torch.onnx.export (opset 14)
writes each cell as two Gemms (x and h) and float gate math.
  <kind>_cell.onnx, _in.npz   the cell alone; inputs x [3, 8], h [3, 16] (and c)
  <kind>_zero.onnx, _in.npz   the cell alone on x [3, 8] with hx=None: its h
                              Gemm reads a constant zero state
  <kind>_steps.onnx, _in.npz  the cell stepped over x [4, 3, 8] from a zero
                              state (hx=None), then Linear(16, 4) on the last h
  <model>_fp32.npz            the float model's outputs, y0, y1...
  <model>_qnnpack.npz         quantize_dynamic's outputs (default_dynamic_qconfig)
  <model>_per_channel.npz     the same with per_channel_dynamic_qconfig
  scales.txt                  "MODEL QCONFIG WEIGHT scale..." (float.hex): the
                              scales of the packed weights PyTorch's modules
                              hold, WEIGHT the ONNX initializer they come from
"""

import os

import numpy as np
import onnx
import torch
import torch.nn as nn
from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "converter", "cells")
F32 = np.float32
KINDS = {
    "lstm": lambda: nn.LSTMCell(8, 16),
    "gru": lambda: nn.GRUCell(8, 16),
    "rnn_tanh": lambda: nn.RNNCell(8, 16),
    "rnn_relu": lambda: nn.RNNCell(8, 16, nonlinearity="relu"),
}


class Cell(nn.Module):
    """The cell alone, its state given."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x, h, c=None):
        if c is None:
            return self.cell(x, h)
        return self.cell(x, (h, c))


class Zero(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x):
        return self.cell(x)


class Steps(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        state = None
        for t in range(x.shape[0]):
            state = self.cell(x[t]) if state is None else self.cell(x[t], state)
        h = state[0] if isinstance(state, tuple) else state
        return self.fc(h)


def outputs(model, inputs):
    with torch.no_grad():
        y = model(*inputs)
    ys = y if isinstance(y, tuple) else (y,)
    return {"y%d" % i: t.numpy().astype(F32) for i, t in enumerate(ys)}


def packed_scales(q):
    """Scales of every packed weight of `q`, in the order of the float
    parameters they replace: (parameter name, scales)."""
    out = []
    for name, m in q.named_modules():
        prefix = name + "." if name else ""
        if hasattr(m, "_packed_weight_ih"):
            for part in ("ih", "hh"):
                w = torch.ops.quantized.linear_unpack(getattr(m, "_packed_weight_" + part))[0]
                out.append((prefix + "weight_" + part, w))
        elif hasattr(m, "_packed_params") and hasattr(m._packed_params, "_packed_params"):
            out.append((prefix + "weight", m.weight()))
    res = []
    for name, w in out:
        if w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
            res.append((name, [float(s) for s in w.q_per_channel_scales()]))
        else:
            res.append((name, [w.q_scale()]))
    return res


def main():
    torch.backends.quantized.engine = "qnnpack"
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for seed, (kind, make) in enumerate(KINDS.items()):
        for shape in ("cell", "steps", "zero"):
            torch.manual_seed(200 + seed if shape == "zero" else 100 + 2 * seed + (shape == "steps"))
            name = kind + "_" + shape
            if shape == "cell":
                model = Cell(make()).eval()
                inputs = [torch.randn(3, 8), torch.randn(3, 16)]
                if kind == "lstm":
                    inputs.append(torch.randn(3, 16))
            elif shape == "zero":
                model = Zero(make()).eval()
                inputs = [torch.randn(3, 8)]
            else:
                model = Steps(make()).eval()
                inputs = [torch.randn(4, 3, 8)]
            names = ["x", "h", "c"][: len(inputs)]
            path = os.path.join(OUT, name + ".onnx")
            torch.onnx.export(model, tuple(inputs), path, opset_version=14, input_names=names)
            # Initializers by their parameter name (the cell alone drops the prefix).
            init = {t.name for t in onnx.load(path).graph.initializer}
            np.savez(os.path.join(OUT, name + "_in.npz"), **{n: t.numpy() for n, t in zip(names, inputs)})
            np.savez(os.path.join(OUT, name + "_fp32.npz"), **outputs(model, inputs))
            for qname, qconfig in (("qnnpack", default_dynamic_qconfig), ("per_channel", per_channel_dynamic_qconfig)):
                q = quantize_dynamic(model, qconfig_spec=None, dtype=torch.qint8, inplace=False)
                if qconfig is per_channel_dynamic_qconfig:
                    spec = {nn.Linear: qconfig, nn.LSTMCell: qconfig, nn.GRUCell: qconfig, nn.RNNCell: qconfig}
                    q = quantize_dynamic(model, qconfig_spec=spec, dtype=torch.qint8, inplace=False)
                np.savez(os.path.join(OUT, "%s_%s.npz" % (name, qname)), **outputs(q, inputs))
                for param, scales in packed_scales(q):
                    weight = param if param in init else param.split(".", 1)[1]
                    assert weight in init, (name, param)
                    lines.append(" ".join([name, qname, weight] + [float(s).hex() for s in scales]))
    with open(os.path.join(OUT, "scales.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
