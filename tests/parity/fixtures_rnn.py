"""Fixtures for the "rnn" family: PyTorch 1.13's nn.LSTM / nn.GRU in float32
and dynamically quantized (quantize_dynamic, qnnpack engine), for
tests/runtime/test_rnn.cc.

Every case holds one layer, one direction, in qrt's LSTM/GRU op layout
(schema/qrt.fbs RnnOptions): gates in ONNX order (PyTorch's LSTM i,f,g,o
become i,o,f,c; GRU r,z,n become z,r,h), W [G*H, input], R [G*H, H],
W bias and R bias [G*H], initial h/c [batch, H], outputs y, hn, cn.

Case kinds (params.txt `kind`):
  float    x, w, r, wb/rb (has_bias), h0/c0 (has_h0), y, hn, cn (lstm).
           oracle `torch` (nn.LSTM / nn.GRU; a reverse case is the reverse
           half of a bidirectional module) or `numpy` (ONNX's GRU with
           linear_before_reset 0, which PyTorch lacks, in float64).
  dynamic  quantize_dynamic of an nn.LSTM / nn.GRU (default_dynamic_qconfig
           or per_channel_dynamic_qconfig): w/r (i1), w_scales/r_scales (f4),
           wb, rb, optional h0/c0, y/hn/cn (PyTorch int8), y_f32 (the float
           module). The op-level GEMMs, as torch.ops.quantized.linear_dynamic
           computes them on the module's packed weights:
             ih_out  linear_ih on all of X at once, a_scale (f8) / a_zp its
                     input's qparams
             hh_in   the h each step's linear_hh reads (h0, then y's steps)
             hh_out  linear_hh on each of them, one call per step
           generate() first checks that these GEMMs plus the cell's float
           math, in RNN.cpp's order, reproduce the module bit for bit.
"""

import numpy as np
import torch
from torch import nn
from torch.ao.quantization import (default_dynamic_qconfig, per_channel_dynamic_qconfig,
                                   quantize_dynamic)

from fixture_lib import reset_family, save_case

FAMILY = "rnn"
F32 = np.float32

# PyTorch's gate blocks, listed in ONNX order.
ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}


def _onnx_rows(a, op, hidden):
    """Gate blocks along axis 0 (rows of W and R, bias entries) in ONNX order."""
    blocks = [a[g * hidden:(g + 1) * hidden] for g in ORDER[op]]
    return np.ascontiguousarray(np.concatenate(blocks, axis=0))


def _onnx_cols(a, op, hidden):
    """The same along the last axis (a GEMM's output columns)."""
    blocks = [a[..., g * hidden:(g + 1) * hidden] for g in ORDER[op]]
    return np.ascontiguousarray(np.concatenate(blocks, axis=-1))


def _module(op, inp, hidden, bias=True, batch_first=False, bidirectional=False):
    cls = nn.LSTM if op == "lstm" else nn.GRU
    return cls(inp, hidden, num_layers=1, bias=bias, batch_first=batch_first,
               bidirectional=bidirectional)


def _np(t):
    return t.detach().numpy().astype(F32)


# (name, seq, batch, input, hidden, reverse, batch_major, has_bias, has_h0), run
# as an LSTM and as a GRU.
FLOAT_SHAPES = [
    ("fwd", 7, 2, 5, 8, False, False, True, True),
    ("rev", 6, 3, 7, 5, True, False, True, True),
    ("batch_major", 9, 3, 4, 7, False, True, True, False),
    ("batch_major_rev", 5, 2, 3, 9, True, True, False, True),
    ("no_bias_no_state", 8, 1, 6, 11, False, False, False, False),
    ("seq1_batch1", 1, 1, 1, 3, False, False, True, True),
    ("long", 64, 1, 9, 16, False, False, True, True),
]
FLOAT_CASES = [(op + "_" + name, op) + tuple(rest) for op in ("lstm", "gru")
               for name, *rest in FLOAT_SHAPES]

# ONNX GRU with linear_before_reset 0, against a float64 numpy oracle.
# (name, seq, batch, input, hidden, reverse, batch_major, has_bias, has_h0)
GRU_LBR0_CASES = [
    ("gru_lbr0_fwd", 7, 2, 5, 8, False, False, True, True),
    ("gru_lbr0_rev_batch_major", 6, 3, 4, 7, True, True, True, False),
    ("gru_lbr0_no_bias", 8, 1, 6, 5, False, False, False, True),
]


def _float_case(rng, name, op, seq, batch, inp, hidden, reverse, batch_major, has_bias,
                has_h0):
    torch.manual_seed(int(rng.integers(1 << 31)))
    m = _module(op, inp, hidden, has_bias, batch_major, bidirectional=reverse)
    sfx = "_l0_reverse" if reverse else "_l0"
    x = rng.standard_normal((batch, seq, inp) if batch_major else (seq, batch, inp)).astype(F32)
    dirs = 2 if reverse else 1
    h0 = (rng.standard_normal((dirs, batch, hidden)) * 0.5).astype(F32)
    c0 = (rng.standard_normal((dirs, batch, hidden)) * 0.5).astype(F32)
    with torch.no_grad():
        if op == "lstm":
            state = (torch.from_numpy(h0), torch.from_numpy(c0)) if has_h0 else None
            y, (hn, cn) = m(torch.from_numpy(x), state)
        else:
            y, hn = m(torch.from_numpy(x), torch.from_numpy(h0) if has_h0 else None)
            cn = None
    d = dirs - 1
    arrays = {"x": x,
              "w": _onnx_rows(_np(getattr(m, "weight_ih" + sfx)), op, hidden),
              "r": _onnx_rows(_np(getattr(m, "weight_hh" + sfx)), op, hidden),
              "y": np.ascontiguousarray(_np(y)[..., d * hidden:(d + 1) * hidden]),
              "hn": _np(hn)[d]}
    if has_bias:
        arrays["wb"] = _onnx_rows(_np(getattr(m, "bias_ih" + sfx)), op, hidden)
        arrays["rb"] = _onnx_rows(_np(getattr(m, "bias_hh" + sfx)), op, hidden)
    if has_h0:
        arrays["h0"] = h0[d]
        if op == "lstm":
            arrays["c0"] = c0[d]
    if op == "lstm":
        arrays["cn"] = _np(cn)[d]
    save_case(FAMILY, name, arrays,
              {"kind": "float", "op": op, "oracle": "torch", "hidden": hidden,
               "reverse": reverse, "batch_major": batch_major, "linear_before_reset": op == "gru",
               "has_bias": has_bias, "has_h0": has_h0})


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _gru_lbr0_case(rng, name, seq, batch, inp, hidden, reverse, batch_major, has_bias, has_h0):
    k = 1.0 / np.sqrt(hidden)
    u = lambda *shape: rng.uniform(-k, k, shape).astype(F32)
    w, r = u(3 * hidden, inp), u(3 * hidden, hidden)
    wb, rb = (u(3 * hidden), u(3 * hidden)) if has_bias else (np.zeros(3 * hidden, F32),) * 2
    x = rng.standard_normal((batch, seq, inp) if batch_major else (seq, batch, inp)).astype(F32)
    h0 = (rng.standard_normal((batch, hidden)) * 0.5).astype(F32)
    xs = x.transpose(1, 0, 2) if batch_major else x
    f = lambda a: a.astype(np.float64)
    h = f(h0) if has_h0 else np.zeros((batch, hidden))
    y = np.zeros((seq, batch, hidden))
    H = hidden
    for s in range(seq):
        t = seq - 1 - s if reverse else s
        xw = f(xs[t]) @ f(w).T + f(wb)
        z = _sigmoid(xw[:, :H] + h @ f(r[:H]).T + f(rb[:H]))
        rr = _sigmoid(xw[:, H:2 * H] + h @ f(r[H:2 * H]).T + f(rb[H:2 * H]))
        n = np.tanh(xw[:, 2 * H:] + (rr * h) @ f(r[2 * H:]).T + f(rb[2 * H:]))
        h = (1 - z) * n + z * h
        y[t] = h
    if batch_major:
        y = y.transpose(1, 0, 2)
    arrays = {"x": x, "w": w, "r": r, "y": np.ascontiguousarray(y.astype(F32)),
              "hn": h.astype(F32)}
    if has_bias:
        arrays["wb"], arrays["rb"] = wb, rb
    if has_h0:
        arrays["h0"] = h0
    save_case(FAMILY, name, arrays,
              {"kind": "float", "op": "gru", "oracle": "numpy", "hidden": hidden,
               "reverse": reverse, "batch_major": batch_major, "linear_before_reset": False,
               "has_bias": has_bias, "has_h0": has_h0})


# (name, op, batch, input, hidden, per_channel, batch_major, has_h0); seq 64.
DYNAMIC_CASES = [
    ("dyn_lstm", "lstm", 1, 20, 32, False, False, False),
    ("dyn_lstm_per_channel", "lstm", 1, 20, 32, True, False, True),
    ("dyn_lstm_batch3", "lstm", 3, 12, 24, False, True, True),
    ("dyn_gru", "gru", 1, 20, 32, False, False, True),
    ("dyn_gru_per_channel", "gru", 1, 20, 32, True, False, False),
    ("dyn_gru_batch3", "gru", 3, 12, 24, True, False, True),
]
SEQ = 64


def _qweight(packed):
    w, b = torch.ops.quantized.linear_unpack(packed)
    iw = w.int_repr().numpy().astype(np.int8)
    if w.qscheme() == torch.per_channel_affine:
        assert w.q_per_channel_axis() == 0 and np.all(w.q_per_channel_zero_points().numpy() == 0)
        scales = w.q_per_channel_scales().numpy()
    else:
        assert w.qscheme() == torch.per_tensor_affine and w.q_zero_point() == 0
        scales = np.array([w.q_scale()])
    assert np.all(scales.astype(F32).astype(np.float64) == scales)
    return iw, scales.astype(F32), b


def _restate(op, ih_out, packed_hh, h, c, batch):
    """RNN.cpp's FullLayer with pre-computed linear_ih and LSTMCell/GRUCell,
    op for op, from PyTorch's own GEMMs (gates in PyTorch order). Returns
    each step's linear_hh input and output, each step's h, and the final c."""
    hh_in, hh_out, ys = [], [], []
    for gi in ih_out.view(SEQ, batch, -1).unbind(0):
        hh = torch.ops.quantized.linear_dynamic(h, packed_hh, True)
        hh_in.append(h)
        hh_out.append(hh)
        # In place on the chunks' strided views, as the cells do: PyTorch's
        # elementwise loops run Sleef on whole vectors and libm on the tail
        # of each contiguous run, so the layout decides some last bits.
        if op == "lstm":
            i, f, g, o = hh.clone().add_(gi).unsafe_chunk(4, 1)
            i, f, g, o = i.sigmoid_(), f.sigmoid_(), g.tanh_(), o.sigmoid_()
            c = (f * c).add_(i * g)
            h = o * c.tanh()
        else:
            ir, iz, inn = gi.unsafe_chunk(3, 1)
            hr, hz, hn = hh.clone().unsafe_chunk(3, 1)
            r = hr.add_(ir).sigmoid_()
            z = hz.add_(iz).sigmoid_()
            n = inn.add(hn.mul_(r)).tanh_()
            h = (h - n).mul_(z).add_(n)
        ys.append(h)
    return hh_in, hh_out, ys, c


def _dynamic_case(rng, name, op, batch, inp, hidden, per_channel, batch_major, has_h0):
    torch.backends.quantized.engine = "qnnpack"
    torch.manual_seed(int(rng.integers(1 << 31)))
    m = _module(op, inp, hidden, True, batch_major)
    if per_channel:  # spread the row scales
        with torch.no_grad():
            for p in (m.weight_ih_l0, m.weight_hh_l0):
                p.mul_(torch.from_numpy(rng.uniform(0.2, 2.0, (p.shape[0], 1)).astype(F32)))
    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    qm = quantize_dynamic(nn.Sequential(m), {type(m): qconfig}, dtype=torch.qint8)[0]
    x = rng.standard_normal((batch, SEQ, inp) if batch_major else (SEQ, batch, inp)).astype(F32)
    h0 = (rng.standard_normal((1, batch, hidden)) * 0.5).astype(F32)
    c0 = (rng.standard_normal((1, batch, hidden)) * 0.5).astype(F32)
    xt = torch.from_numpy(x)
    state = None
    if has_h0:
        state = (torch.from_numpy(h0), torch.from_numpy(c0)) if op == "lstm" else \
            torch.from_numpy(h0)
    with torch.no_grad():
        y_f32 = m(xt, state)[0]
    if op == "lstm":
        y, (hn, cn) = qm(xt, state)
    else:
        (y, hn), cn = qm(xt, state), None

    packed_ih, packed_hh = qm._all_weight_values[0].param.__getstate__()[0][4]
    x_seq = xt.transpose(0, 1) if batch_major else xt
    ih_out = torch.ops.quantized.linear_dynamic(x_seq, packed_ih, True)
    a_scale, a_zp = torch._choose_qparams_per_tensor(xt, False)
    zeros = torch.zeros(batch, hidden)
    hh_in, hh_out, ys, c_last = _restate(
        op, ih_out, packed_hh, torch.from_numpy(h0[0]) if has_h0 else zeros,
        torch.from_numpy(c0[0]) if has_h0 else zeros, batch)
    y_seq = y.transpose(0, 1) if batch_major else y
    bits = lambda t: t.contiguous().view(torch.int32)
    assert torch.equal(bits(torch.stack(ys)), bits(y_seq)), name + ": restated cell differs"
    assert torch.equal(bits(ys[-1]), bits(hn[0]))
    if op == "lstm":
        assert torch.equal(bits(c_last), bits(cn[0]))

    w, w_scales, wb = _qweight(packed_ih)
    r, r_scales, rb = _qweight(packed_hh)
    pc = lambda s: _onnx_rows(s, op, hidden) if per_channel else s
    ih_rows = ih_out.reshape(-1, ih_out.shape[-1])
    if batch_major:  # X's own row order, (b, t)
        ih_rows = ih_out.transpose(0, 1).reshape(-1, ih_out.shape[-1])
    arrays = {"x": x, "w": _onnx_rows(w, op, hidden), "w_scales": pc(w_scales),
              "r": _onnx_rows(r, op, hidden), "r_scales": pc(r_scales),
              "wb": _onnx_rows(_np(wb), op, hidden), "rb": _onnx_rows(_np(rb), op, hidden),
              "y": _np(y), "hn": _np(hn)[0], "y_f32": _np(y_f32),
              "ih_out": _onnx_cols(_np(ih_rows), op, hidden),
              "a_scale": np.array([a_scale], np.float64),
              "hh_in": np.stack([_np(t) for t in hh_in]),
              "hh_out": _onnx_cols(np.stack([_np(t) for t in hh_out]), op, hidden)}
    if has_h0:
        arrays["h0"] = h0[0]
        if op == "lstm":
            arrays["c0"] = c0[0]
    if op == "lstm":
        arrays["cn"] = _np(cn)[0]
    save_case(FAMILY, name, arrays,
              {"kind": "dynamic", "op": op, "hidden": hidden, "reverse": False,
               "batch_major": batch_major, "linear_before_reset": op == "gru", "has_bias": True,
               "has_h0": has_h0, "per_channel": per_channel, "a_zp": a_zp})


def generate():
    reset_family(FAMILY)
    rng = np.random.default_rng(20261127)
    for case in FLOAT_CASES:
        _float_case(rng, *case)
    for case in GRU_LBR0_CASES:
        _gru_lbr0_case(rng, *case)
    for case in DYNAMIC_CASES:
        _dynamic_case(rng, *case)
    torch.backends.quantized.engine = "qnnpack"
    return len(FLOAT_CASES) + len(GRU_LBR0_CASES) + len(DYNAMIC_CASES)
