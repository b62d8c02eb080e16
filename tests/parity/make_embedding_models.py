#!/usr/bin/python3
"""Regenerates tests/data/converter/embedding/ from PyTorch 1.13 (Debian python3-torch):
    /usr/bin/python3 tests/parity/make_embedding_models.py

nn.Embedding under quantize_dynamic(model, {nn.Embedding:
float_qparams_weight_only_qconfig, nn.Linear: default_dynamic_qconfig}), qnnpack
engine (this build has no fbgemm, so embedding_byte runs PyTorch's fallback
lookup). torch.onnx.export (opset 13) writes the Embedding as Gather on the
table initializer.
  emb.onnx, emb_x.npy      Embedding(1000, 64) then Linear(64, 8); indices
                           int64 [3, 7]; outputs e (the Embedding's) and y
  pad.onnx, pad_x.npy      Embedding(100, 16, padding_idx=0) then Linear(16, 4),
                           rows scaled by 10^U(-2, 2.5) and shifted (per-row scales
                           about 1e-4..10), rows 5 and 6 constant (0.37 and -2.5:
                           scale 0, which the observer replaces by 1); indices
                           int64 [4, 25], every row once
  <model>_int8.npz         the quantized model's e and y
  <model>_rows.npy         f32 [V, 2]: the scale and bias per row that PyTorch's
                           prepack stores (bias = -zero_point * scale)
"""

import os
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import default_dynamic_qconfig, float_qparams_weight_only_qconfig, quantize_dynamic

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "converter", "embedding")


class EmbLinear(nn.Module):
    def __init__(self, rows, cols, out, padding_idx=None):
        super().__init__()
        self.emb = nn.Embedding(rows, cols, padding_idx=padding_idx)
        self.fc = nn.Linear(cols, out)

    def forward(self, x):
        e = self.emb(x)
        return e, self.fc(e)


def _rows(qemb):
    """Scale and bias per row as embedding_bag_prepack packs them."""
    w = qemb.weight()
    s = w.q_per_channel_scales().numpy().astype(np.float32)
    z = w.q_per_channel_zero_points().numpy().astype(np.float32)
    return np.stack([s, (z * s) * np.float32(-1)], axis=1).astype(np.float32)


def _export(name, model, x):
    torch.onnx.export(model, x, os.path.join(OUT, name + ".onnx"), input_names=["x"], output_names=["e", "y"],
                      opset_version=13)
    np.save(os.path.join(OUT, name + "_x.npy"), x.numpy())
    q = quantize_dynamic(model, {nn.Embedding: float_qparams_weight_only_qconfig, nn.Linear: default_dynamic_qconfig})
    if not isinstance(q.emb, torch.ao.nn.quantized.Embedding):
        sys.exit("%s: quantize_dynamic left the Embedding float (%s)" % (name, type(q.emb)))
    with torch.no_grad():
        e, y = q(x)
    np.savez(os.path.join(OUT, name + "_int8.npz"), e=e.numpy(), y=y.numpy())
    np.save(os.path.join(OUT, name + "_rows.npy"), _rows(q.emb))


def main():
    if not torch.__version__.startswith("1.13"):
        sys.exit("make_embedding_models.py: needs PyTorch 1.13 (found %s)" % torch.__version__)
    torch.backends.quantized.engine = "qnnpack"
    os.makedirs(OUT, exist_ok=True)

    torch.manual_seed(0)
    m = EmbLinear(1000, 64, 8).eval()
    x = torch.randint(0, 1000, (3, 7))
    x[0, 0], x[0, 1] = 0, 999
    _export("emb", m, x)

    torch.manual_seed(1)
    m = EmbLinear(100, 16, 4, padding_idx=0).eval()
    with torch.no_grad():
        w = m.emb.weight
        w.mul_(10 ** torch.empty(100, 1).uniform_(-2, 2.5))
        w.add_(torch.empty(100, 1).uniform_(-3, 3) * w.abs().max(dim=1, keepdim=True).values)
        w[5] = 0.37
        w[6] = -2.5
        w[0] = 0
    x = torch.randperm(100).reshape(4, 25)
    _export("pad", m, x)


if __name__ == "__main__":
    main()
