#!/usr/bin/python3
"""Regenerates tests/data/converter/mha/ from PyTorch 1.13 (Debian python3-torch):
    /usr/bin/python3 tests/parity/make_mha_models.py
or, for the issue-7 size (d_model 256, 4 heads, ff 1024, seq 64), into DIR
(not committed):
    /usr/bin/python3 tests/parity/make_mha_models.py --big DIR

Plain torch.onnx.export (opset 17) with no custom symbolic, as a user would
run it: MultiheadAttention's chunk(3) of in_proj then computes its Slice
bounds at run time (Shape, Gather, Add, Div, Mul), which qrt-convert must
fold. Models: nn.TransformerEncoderLayer(d_model 64, nhead 4, ff 128,
dropout 0) with batch_first, norm_first and relu/gelu in the four
combinations that cover every pair of their values
(enc_<batch_first><norm_first>_<activation>), a bare nn.MultiheadAttention(64, 4) self-attention
with both outputs (mha), and enc_00_relu exported with a dynamic sequence
axis (enc_dyn, converted with --input-shape), whose Reshape shapes are
computed at run time too.

Exported in eval mode with autograd on and parameters requiring grad:
1.13's fused fast path (torch._transformer_encoder_layer_fwd,
_native_multi_head_attention) is skipped then, and it does not export.
For each model M: M.onnx, M_in.npz (inputs by ONNX name), M_fp32.npz
(PyTorch fp32 outputs by ONNX name, computed under the same conditions),
M_qnnpack.npz (the outputs of quantize_dynamic(M, {nn.Linear:
default_dynamic_qconfig}), qnnpack engine: linear1 and linear2; the
attention's projections are not nn.Linear modules PyTorch swaps).
"""

import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "converter", "mha")
SEQ, BATCH = 16, 2


class SelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)

    def forward(self, x):
        return self.attn(x, x, x)


def perturb(m):
    # LayerNorm weights start as ones and zeros; the exporter would then
    # share one initializer between equal tensors. Random ones test more.
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)


def export(out, name, model, x, out_names, dynamic_axes=None):
    model.eval()
    y = model(x)  # grad enabled: the exportable path
    y = y if isinstance(y, tuple) else (y,)
    torch.onnx.export(model, (x,), os.path.join(out, name + ".onnx"), input_names=["x"], output_names=out_names,
                      opset_version=17, dynamic_axes=dynamic_axes)
    np.savez(os.path.join(out, name + "_in.npz"), x=x.numpy())
    np.savez(os.path.join(out, name + "_fp32.npz"), **{n: t.detach().numpy() for n, t in zip(out_names, y)})
    q = quantize_dynamic(copy.deepcopy(model), {nn.Linear: default_dynamic_qconfig}, dtype=torch.qint8)
    # The fast path's device check fails on the quantized Linear (it calls
    # .is_cuda on its weight() method); training mode skips the fast path
    # and, with dropout 0, computes what eval mode does.
    with torch.no_grad():
        yq = q.train()(x)
    yq = yq if isinstance(yq, tuple) else (yq,)
    np.savez(os.path.join(out, name + "_qnnpack.npz"), **{n: t.numpy() for n, t in zip(out_names, yq)})


def encoder(d, heads, ff, batch_first, norm_first, act):
    m = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=batch_first, norm_first=norm_first,
                                   activation=act)
    perturb(m)
    return m


def main():
    if not torch.__version__.startswith("1.13"):
        sys.exit("make_mha_models.py: needs PyTorch 1.13 (found %s)" % torch.__version__)
    torch.backends.quantized.engine = "qnnpack"
    if len(sys.argv) == 3 and sys.argv[1] == "--big":
        os.makedirs(sys.argv[2], exist_ok=True)
        torch.manual_seed(256)
        export(sys.argv[2], "encoder256", encoder(256, 4, 1024, False, False, "relu"), torch.randn(64, 1, 256), ["y"])
        return
    os.makedirs(OUT, exist_ok=True)
    # Every pair of (batch_first, norm_first, activation) values once: four
    # models instead of eight keep the data under 1 MB (130 kB a model).
    for seed, (bf, nf, act) in enumerate(((0, 0, "relu"), (0, 1, "gelu"), (1, 0, "gelu"), (1, 1, "relu"))):
        torch.manual_seed(seed)
        m = encoder(64, 4, 128, bool(bf), bool(nf), act)
        x = torch.randn((BATCH, SEQ, 64) if bf else (SEQ, BATCH, 64))
        export(OUT, "enc_%d%d_%s" % (bf, nf, act), m, x, ["y"])
    torch.manual_seed(20)
    export(OUT, "enc_dyn", encoder(64, 4, 128, False, False, "relu"), torch.randn(SEQ, BATCH, 64), ["y"],
           dynamic_axes={"x": {0: "seq"}, "y": {0: "seq"}})
    torch.manual_seed(21)
    export(OUT, "mha", SelfAttention(64, 4), torch.randn(SEQ, BATCH, 64), ["y", "weights"])


if __name__ == "__main__":
    main()
