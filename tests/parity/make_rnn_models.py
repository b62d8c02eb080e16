#!/usr/bin/python3
"""Regenerates tests/data/converter/rnn/ from PyTorch 1.13 (Debian python3-torch):
    /usr/bin/python3 tests/parity/make_rnn_models.py

Small seeded sequence models exported with torch.onnx.export (opset 14, 17 for
the Transformer's LayerNormalization), their PyTorch fp32 outputs, and the
outputs of quantize_dynamic(model, dtype=torch.qint8) (the default set:
nn.Linear, nn.LSTM, nn.GRU...) on the qnnpack engine, per tensor
(default_dynamic_qconfig) and per channel (per_channel_dynamic_qconfig).

For each model M:
  M.onnx                 the float model
  M_in.npz               inputs by ONNX input name
  M_fp32.npz             PyTorch fp32 outputs by ONNX output name
  M_qnnpack.npz          quantize_dynamic outputs, default_dynamic_qconfig
  M_per_channel.npz      the same with per_channel_dynamic_qconfig
scales.txt lines: "M QCONFIG KIND INDEX NAME scale..." (scales as float.hex):
  KIND rnn: INDEX = layer * directions + direction, NAME W or R, the scales
  of the packed weight_ih / weight_hh PyTorch holds (q_scale, or
  q_per_channel_scales put in ONNX's row order: LSTM i,o,f,c; GRU z,r,h);
  KIND linear: INDEX = k-th dynamically quantized nn.Linear in forward order.

onnx_<kind>_<layout>.onnx (LSTM and GRU built with onnx.helper, forms
PyTorch does not export: ONNX's layout=1 (batch-major), bidirectional with
initial state inputs, GRU with linear_before_reset=0), with _in.npz and
_fp32.npz from a numpy transcription of ONNX's LSTM/GRU equations.

The Transformer: in eval mode PyTorch 1.13's TransformerEncoderLayer takes
the fused fast path (torch._transformer_encoder_layer_fwd), which the
exporter cannot express. That path is only taken when autograd is off or no
parameter needs a gradient (its "grad is enabled and ... requires_grad"
check), so the model is exported from eval mode with grad enabled (the
default outside torch.no_grad) and parameters that require grad: the
exported graph is the ordinary MultiheadAttention/Linear/LayerNorm one.
Its outputs (fp32 and quantized) are computed in training mode with
dropout 0, which also skips the fast path and computes the same as eval.
MultiheadAttention splits its packed in_proj output with chunk(3); 1.13's
symbolic (prim::ConstantChunk) computes the three Slice bounds at run time
from Shape, Gather, Add, Div and Mul, and ONNX 1.12's shape inference does
not propagate values through Div, so qrt-convert's importer finds no static
shape for the slices. The export here registers a symbolic that emits the
same three Slices with constant bounds (what constant folding of those
shape computations gives).
"""

import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import (default_dynamic_qconfig, per_channel_dynamic_qconfig,
                                   quantize_dynamic)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "converter", "rnn")
SEQ = 64

# ONNX row blocks in PyTorch's order: LSTM i,o,f,c <- PyTorch i,f,g,o; GRU z,r,h <- r,z,n.
ONNX_BLOCKS = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}


class Rnn(nn.Module):
    """nn.LSTM / nn.GRU (+ optional Linear head); initial state optional."""

    def __init__(self, kind, inp, hidden, layers=1, bidirectional=False, batch_first=False, head=0,
                 state_io=False):
        super().__init__()
        cls = nn.LSTM if kind == "LSTM" else nn.GRU
        self.kind, self.state_io = kind, state_io
        self.rnn = cls(inp, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), head) if head else None

    def forward(self, x, *state):
        if self.state_io:
            s = state if self.kind == "LSTM" else state[0]
            y, hs = self.rnn(x, s)
        else:
            y, hs = self.rnn(x)
        if self.head is not None:
            y = self.head(y)
        if not self.state_io:
            return y
        return (y,) + (tuple(hs) if self.kind == "LSTM" else (hs,))


def fhex(v):
    return float(np.float32(v)).hex()


def rnn_scales(name, qname, q, kind, layers, dirs, hidden):
    lines = []
    mod = q.rnn
    weights = mod.get_weight()
    for layer in range(layers):
        for d in range(dirs):
            suffix = "_reverse" if d else ""
            for onnx_name, key in (("W", "weight_ih_l%d%s" % (layer, suffix)),
                                   ("R", "weight_hh_l%d%s" % (layer, suffix))):
                w = weights[key]
                if w.qscheme() == torch.per_tensor_affine:
                    s = [w.q_scale()]
                else:
                    rows = w.q_per_channel_scales().numpy().reshape(-1, hidden)
                    s = rows[ONNX_BLOCKS[kind]].reshape(-1).tolist()
                lines.append("%s %s rnn %d %s %s\n" % (name, qname, layer * dirs + d, onnx_name,
                                                       " ".join(fhex(v) for v in s)))
    return lines


def linear_scales(name, qname, q):
    lines = []
    mods = [m for m in q.modules() if isinstance(m, nn.quantized.dynamic.Linear)]
    for k, m in enumerate(mods):
        w = m.weight()
        s = [w.q_scale()] if w.qscheme() == torch.per_tensor_affine else w.q_per_channel_scales().tolist()
        lines.append("%s %s linear %d W %s\n" % (name, qname, k, " ".join(fhex(v) for v in s)))
    return lines


def run(model, inputs):
    if isinstance(model, Encoder):
        # The fast path's device check calls .is_cuda on the dynamically
        # quantized Linear's weight() method and fails; training mode skips
        # the fast path and, with dropout 0, computes what eval mode does.
        model = copy.deepcopy(model).train()
    with torch.no_grad():
        y = model(*inputs)
    return y if isinstance(y, tuple) else (y,)


def save_npz(path, names, arrays):
    np.savez(path, **{n: a.numpy() if torch.is_tensor(a) else a for n, a in zip(names, arrays)})


def export(name, model, inputs, in_names, out_names, opset=14, dynamic_axes=None, rnn=None):
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, tuple(inputs), path, input_names=in_names, output_names=out_names,
                      opset_version=opset, dynamic_axes=dynamic_axes)
    save_npz(os.path.join(OUT, name + "_in.npz"), in_names, inputs)
    save_npz(os.path.join(OUT, name + "_fp32.npz"), out_names, run(model, inputs))
    lines = []
    for qname, qconfig in (("qnnpack", default_dynamic_qconfig), ("per_channel", per_channel_dynamic_qconfig)):
        q = quantize_dynamic(copy.deepcopy(model), qconfig_spec={nn.Linear: qconfig, nn.LSTM: qconfig,
                                                                  nn.GRU: qconfig}, dtype=torch.qint8)
        save_npz(os.path.join(OUT, "%s_%s.npz" % (name, qname)), out_names, run(q, inputs))
        if rnn is not None:
            lines += rnn_scales(name, qname, q, *rnn)
        lines += linear_scales(name, qname, q)
    return lines


def rnn_model(name, kind, inp=8, hidden=16, layers=1, bidirectional=False, batch_first=False, head=0,
              state_io=False, batch=1, seed=0, dynamic_seq=False):
    torch.manual_seed(seed)
    m = Rnn(kind, inp, hidden, layers, bidirectional, batch_first, head, state_io).eval()
    dirs = 2 if bidirectional else 1
    x = torch.randn((batch, SEQ, inp) if batch_first else (SEQ, batch, inp))
    inputs, in_names = [x], ["x"]
    out_names = ["y"]
    if state_io:
        inputs.append(torch.randn(layers * dirs, batch, hidden) * 0.5)
        in_names.append("h0")
        out_names.append("hn")
        if kind == "LSTM":
            inputs.append(torch.randn(layers * dirs, batch, hidden) * 0.5)
            in_names.append("c0")
            out_names.append("cn")
    axes = {"x": {1 if batch_first else 0: "seq"}, "y": {1 if batch_first else 0: "seq"}} if dynamic_seq else None
    return export(name, m, inputs, in_names, out_names, dynamic_axes=axes,
                  rnn=(kind, layers, dirs, hidden))


def static_chunk(g, x, chunks, dim):
    from torch.onnx import symbolic_helper
    rank = symbolic_helper._get_tensor_rank(x)
    dim = dim + rank if dim < 0 else dim
    size = symbolic_helper._get_tensor_dim_size(x, dim)
    step = (size + chunks - 1) // chunks
    const = lambda v: g.op("Constant", value_t=torch.tensor([v], dtype=torch.long))
    return [g.op("Slice", x, const(k * step), const(min((k + 1) * step, size)), const(dim)) for k in range(chunks)]


class Encoder(nn.Module):
    def __init__(self, batch_first):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0,
                                                batch_first=batch_first)

    def forward(self, x):
        return self.layer(x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def onnx_rnn_reference(kind, x, w, r, b, h0, c0, lbr):
    """ONNX LSTM/GRU, sequence-major, float64: Y [seq, dirs, batch, H], Y_h, Y_c."""
    dirs, gh, _ = w.shape
    hidden = r.shape[2]
    seq = x.shape[0]
    y = np.zeros((seq, dirs, x.shape[1], hidden))
    yh, yc = np.zeros_like(h0), np.zeros_like(h0)
    for d in range(dirs):
        wb, rb = b[d, :gh], b[d, gh:]
        h, c = h0[d].astype(np.float64), c0[d].astype(np.float64) if c0 is not None else None
        for t in (range(seq) if d == 0 else range(seq - 1, -1, -1)):
            xw = x[t] @ w[d].T + wb
            if kind == "LSTM":
                g = xw + h @ r[d].T + rb
                i, o, f, cc = np.split(g, 4, axis=1)
                c = sigmoid(f) * c + sigmoid(i) * np.tanh(cc)
                h = sigmoid(o) * np.tanh(c)
            else:
                xz, xr, xh = np.split(xw, 3, axis=1)
                rz, rr, rh = np.split(r[d], 3, axis=0)
                bz, br, bh = np.split(rb, 3)
                z = sigmoid(xz + h @ rz.T + bz)
                rg = sigmoid(xr + h @ rr.T + br)
                n = np.tanh(xh + (rg * (h @ rh.T + bh) if lbr else (rg * h) @ rh.T + bh))
                h = (1 - z) * n + z * h
            y[t, d] = h
        yh[d] = h
        if c is not None:
            yc[d] = c
    return y, yh, yc


def onnx_models():
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.RandomState(9)
    seq, batch, inp, hidden, dirs = 7, 3, 5, 6, 2
    for kind, lbr in (("LSTM", 0), ("GRU", 0)):
        gates = 4 if kind == "LSTM" else 3
        w = (rng.randn(dirs, gates * hidden, inp) * 0.5).astype(np.float32)
        r = (rng.randn(dirs, gates * hidden, hidden) * 0.5).astype(np.float32)
        b = (rng.randn(dirs, 2 * gates * hidden) * 0.2).astype(np.float32)
        x = rng.randn(seq, batch, inp).astype(np.float32)
        h0 = (rng.randn(dirs, batch, hidden) * 0.5).astype(np.float32)
        c0 = (rng.randn(dirs, batch, hidden) * 0.5).astype(np.float32) if kind == "LSTM" else None
        y, yh, yc = onnx_rnn_reference(kind, x.astype(np.float64), w.astype(np.float64), r.astype(np.float64),
                                       b.astype(np.float64), h0, c0, lbr)
        for layout in (0, 1):
            name = "onnx_%s_%d" % (kind.lower(), layout)
            # layout 1: X [batch, seq, in], Y [batch, seq, dirs, H], states [batch, dirs, H].
            xl = x.transpose(1, 0, 2) if layout else x
            st = (lambda a: a.transpose(1, 0, 2)) if layout else (lambda a: a)
            yl = y.transpose(2, 0, 1, 3) if layout else y
            ins = {"x": xl, "h0": st(h0)}
            outs = {"y": yl, "hn": st(yh)}
            if kind == "LSTM":
                ins["c0"] = st(c0)
                outs["cn"] = st(yc)
            node = helper.make_node(kind, ["x", "W", "R", "B", "", "h0"] + (["c0"] if kind == "LSTM" else []),
                                    list(outs), name="rnn", hidden_size=hidden, direction="bidirectional",
                                    layout=layout, **({"linear_before_reset": lbr} if kind == "GRU" else {}))
            vi = lambda n, a: helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape))
            graph = helper.make_graph([node], name, [vi(k, v) for k, v in ins.items()],
                                      [vi(k, v) for k, v in outs.items()],
                                      [numpy_helper.from_array(a, n) for n, a in (("W", w), ("R", r), ("B", b))])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
            onnx.checker.check_model(model)
            onnx.save(model, os.path.join(OUT, name + ".onnx"))
            np.savez(os.path.join(OUT, name + "_in.npz"), **ins)
            np.savez(os.path.join(OUT, name + "_fp32.npz"), **{k: v.astype(np.float32) for k, v in outs.items()})


def main():
    if not torch.__version__.startswith("1.13"):
        sys.exit("make_rnn_models.py: needs PyTorch 1.13 (found %s)" % torch.__version__)
    torch.backends.quantized.engine = "qnnpack"
    os.makedirs(OUT, exist_ok=True)
    lines = []
    lines += rnn_model("lstm1", "LSTM", head=4, seed=1)
    lines += rnn_model("lstm2", "LSTM", layers=2, batch=2, seed=2)
    lines += rnn_model("lstm_bi", "LSTM", bidirectional=True, head=4, seed=3)
    lines += rnn_model("lstm_bf", "LSTM", layers=2, bidirectional=True, batch_first=True, state_io=True,
                       batch=2, seed=4)
    lines += rnn_model("lstm_stream", "LSTM", state_io=True, head=4, seed=5, dynamic_seq=True)
    lines += rnn_model("gru1", "GRU", head=4, seed=6)
    lines += rnn_model("gru2", "GRU", layers=2, state_io=True, batch=2, seed=7)

    torch.manual_seed(8)
    enc = Encoder(batch_first=True).eval()
    x = torch.randn(1, SEQ, 64)
    # Grad enabled (no torch.no_grad) keeps PyTorch off the fused fast path, which does not export.
    from torch.onnx._internal import registration
    registration.registry.register("prim::ConstantChunk", 17, static_chunk, custom=True)
    lines += export("encoder", enc, [x], ["x"], ["y"], opset=17)

    onnx_models()
    with open(os.path.join(OUT, "scales.txt"), "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
