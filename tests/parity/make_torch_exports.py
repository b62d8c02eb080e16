#!/usr/bin/python3
"""Regenerates tests/data/converter/torch_exports/ from PyTorch 1.13 (Debian python3-torch):
    /usr/bin/python3 tests/parity/make_torch_exports.py

Exports of PyTorch idioms whose ONNX form qrt-convert has to recognise
(tests/converter/test_torch_exports.cc), each fp32 with torch.onnx.export at
the opset in its table row, left exactly as exported. For each model M:
  M.onnx       the float model
  M_in.npz     inputs by ONNX input name
  M_fp32.npz   PyTorch fp32 outputs by ONNX output name

silu_*: nn.SiLU / F.silu export as Sigmoid + Mul (opsets 13-17 have no
Silu); silu_shared also reads the Sigmoid elsewhere, so it must stay two ops.
pad_*: F.pad at opset >= 11 computes its pads at run time from constants
(ConstantOfShape, Concat, Reshape, 2-D Slice with step -1, Transpose,
Reshape, Cast).
hardswish_*: nn.Hardswish / F.hardswish export as HardSigmoid(alpha 1/6) + Mul
before opset 14; hardswish_shared reads the HardSigmoid elsewhere (two ops).
hardswish_qdq: QuantStub, Conv2d(3, 8, 3), Hardswish, DeQuantStub, quantized
(qnnpack engine, calibrated on 4 batches) and exported as QDQ: Conv, then
DequantizeLinear, HardSigmoid, Mul, QuantizeLinear around PyTorch's
quantized::hardswish. hardswish_qdq_q.npy holds PyTorch's uint8 output on
hardswish_qdq_in.npz's x, hardswish_qdq_qparams.txt its "scale zero_point".
qdq_linear: a QDQ model for the size report (fp32 mode writes it int8).
embed_linear(_i32): token ids (int64, int32) -> Embedding -> Linear, for
--mode static calibration on integer inputs.
"""

import os

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

import make_op_models
from make_op_models import Fn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "converter", "torch_exports")


def pad3(x, mode):
    return F.pad(x, (1, 2, 0, 1), mode=mode) if mode != "constant" else F.pad(x, (1, 2, 0, 1), value=0.5)


# name, opset, module, example input
def models():
    torch.manual_seed(11)
    conv_silu = Fn(lambda s, x: s.c2(s.act(s.c1(x))), c1=nn.Conv2d(3, 6, 3), act=nn.SiLU(), c2=nn.Conv2d(6, 4, 1))
    rows = [
        ("silu_module", 13, nn.SiLU(), torch.randn(2, 37) * 4),
        ("silu_functional", 17, Fn(lambda s, x: F.silu(x) + 1.0), torch.randn(2, 5, 7) * 4),
        ("silu_sigmoid_first", 13, Fn(lambda s, x: torch.sigmoid(x) * x), torch.randn(3, 11) * 4),
        ("silu_shared", 13, Fn(lambda s, x: x * torch.sigmoid(x) + torch.sigmoid(x)), torch.randn(3, 11) * 4),
        ("silu_conv", 13, conv_silu, torch.randn(2, 3, 8, 7)),
        ("silu_linear", 13, nn.Sequential(nn.Linear(12, 16), nn.SiLU(), nn.Linear(16, 4)), torch.randn(3, 12)),
        ("embed_linear", 13, Fn(lambda s, x: s.fc(s.emb(x)), emb=nn.Embedding(17, 8), fc=nn.Linear(8, 5)),
         torch.tensor([[1, 4, 16, 0, 3, 9]])),
        ("embed_linear_i32", 13, Fn(lambda s, x: s.fc(s.emb(x)), emb=nn.Embedding(17, 8), fc=nn.Linear(8, 5)),
         torch.tensor([[1, 4, 16, 0, 3, 9]], dtype=torch.int32)),
    ]
    for opset in (11, 13):
        for mode in ("constant", "reflect", "replicate"):
            rows.append((f"pad_{mode}{opset}", opset, Fn(lambda s, x, m=mode: pad3(x, m)), torch.randn(1, 3, 5, 6)))
    # Rows added later draw from a saved state, so the calibration ids drawn
    # after models() stay what they were.
    state = torch.random.get_rng_state()
    rows += [
        ("hardswish_module", 13, nn.Hardswish(), torch.randn(2, 37) * 4),
        ("hardswish_mul_first", 13, Fn(lambda s, x: x * F.hardsigmoid(x)), torch.randn(3, 11) * 4),
        ("hardswish_shared", 13, Fn(lambda s, x: x * F.hardsigmoid(x) + F.hardsigmoid(x)),
         torch.randn(3, 11) * 4),
    ]
    torch.random.set_rng_state(state)
    return rows


def qdq_linear(path):
    """A QDQ Linear (the form of a quantized model exported to ONNX), built
    by hand: x -> Q/DQ -> Gemm(DQ(int8 W), float bias) -> Q/DQ -> y. Large
    enough that int8 weights make the model smaller."""
    rng = np.random.default_rng(5)
    w = rng.integers(-127, 128, (64, 96), dtype=np.int8)
    init = [onnx.numpy_helper.from_array(a, n) for a, n in [
        (w, "w_q"), (np.float32(0.01), "w_s"), (np.int8(0), "w_zp"),
        (rng.standard_normal(64).astype(np.float32), "b"),
        (np.float32(0.05), "x_s"), (np.uint8(128), "x_zp"), (np.float32(0.2), "y_s"), (np.uint8(120), "y_zp")]]
    nodes = [onnx.helper.make_node("QuantizeLinear", ["x", "x_s", "x_zp"], ["x_q"]),
             onnx.helper.make_node("DequantizeLinear", ["x_q", "x_s", "x_zp"], ["x_dq"]),
             onnx.helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_zp"], ["w"]),
             onnx.helper.make_node("Gemm", ["x_dq", "w", "b"], ["y_f"], transB=1),
             onnx.helper.make_node("QuantizeLinear", ["y_f", "y_s", "y_zp"], ["y_q"]),
             onnx.helper.make_node("DequantizeLinear", ["y_q", "y_s", "y_zp"], ["y"])]
    graph = onnx.helper.make_graph(nodes, "qdq_linear",
                                   [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 96])],
                                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 64])], init)
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]), path)


def hardswish_qdq():
    """PyTorch's quantized::hardswish after a conv, exported as QDQ (see the docstring)."""
    import sys
    sys.path.insert(0, os.path.join(HERE, "..", "bench"))
    from export_mobilenet_v2 import fold_round, rounded_bias
    from torch.ao.quantization import DeQuantStub, QuantStub, convert, get_default_qconfig, prepare
    from torch.onnx import symbolic_helper

    torch.manual_seed(12)
    torch.backends.quantized.engine = "qnnpack"
    model = nn.Sequential(QuantStub(), nn.Conv2d(3, 8, 3), nn.Hardswish(), DeQuantStub()).eval()
    model.qconfig = get_default_qconfig("qnnpack")
    prepare(model, inplace=True)
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(2, 3, 9, 10) * 2)
    convert(model, inplace=True)
    x = torch.randn(1, 3, 9, 10) * 2
    with torch.no_grad():
        q = model[2](model[1](model[0](x)))
    np.savez(os.path.join(OUT, "hardswish_qdq_in.npz"), x=x.numpy())
    np.save(os.path.join(OUT, "hardswish_qdq_q.npy"), q.int_repr().numpy())
    with open(os.path.join(OUT, "hardswish_qdq_qparams.txt"), "w") as f:
        f.write("%r %d\n" % (q.q_scale(), q.q_zero_point()))
    path = os.path.join(OUT, "hardswish_qdq.onnx")
    symbolic_helper.requantize_bias_helper = rounded_bias
    torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"], opset_version=13)
    fold_round(path)


def main():
    os.makedirs(OUT, exist_ok=True)
    make_op_models.OUT = OUT  # its save_io writes the _in/_fp32 pair there
    for name, opset, model, x in models():
        model.eval()
        path = os.path.join(OUT, name + ".onnx")
        torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"], opset_version=opset)
        make_op_models.save_io(name, model, x)
    qdq_linear(os.path.join(OUT, "qdq_linear.onnx"))
    # Calibration files for embed_linear: int64 ids batched and as one sample.
    ids = torch.randint(0, 17, (4, 6))
    np.save(os.path.join(OUT, "embed_linear_calib.npy"), ids.numpy())
    np.save(os.path.join(OUT, "embed_linear_calib_i32.npy"), ids.numpy().astype(np.int32))
    hardswish_qdq()


if __name__ == "__main__":
    main()
