"""Writes if.onnx: a data-dependent If (torch.jit.script, opset 13), and
PyTorch's outputs for inputs that take each branch (if_inputs.npz).
Run with PyTorch 1.13: /usr/bin/python3 make_if.py"""
import os

import numpy as np
import onnx
import torch

here = os.path.dirname(os.path.abspath(__file__))


class Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(6, 5)
        self.b = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Sigmoid())

    def forward(self, x):
        if x.sum() > 0:
            return torch.relu(self.a(x))
        else:
            return self.b(x) * 2.0


torch.manual_seed(4)
m = torch.jit.script(Branchy().eval())
x0 = torch.randn(3, 6)
torch.onnx.export(m, (x0,), os.path.join(here, "if.onnx"), opset_version=13,
                  input_names=["x"], output_names=["y"])
pos = torch.rand(3, 6) + 0.1
neg = -torch.rand(3, 6) - 0.1
with torch.no_grad():
    np.savez(os.path.join(here, "if_io.npz"), pos=pos.numpy(), neg=neg.numpy(),
             pos_out=m(pos).numpy(), neg_out=m(neg).numpy())

# flag.onnx: If on a bool graph input, written with onnx.helper. Branches read
# the outer x and an outer constant; --fix-input flag=... folds it away.
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

bias = np.array([0.5, -1.0, 2.0], dtype=np.float32)
then_g = helper.make_graph(
    [helper.make_node("Relu", ["x"], ["r"], name="then_relu"),
     helper.make_node("Add", ["r", "bias"], ["t_out"], name="then_add")],
    "then", [], [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [2, 3])])
else_g = helper.make_graph(
    [helper.make_node("Neg", ["x"], ["e_out"], name="else_neg")],
    "else", [], [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [2, 3])])
graph = helper.make_graph(
    [helper.make_node("If", ["flag"], ["y"], name="pick", then_branch=then_g, else_branch=else_g)],
    "flag_if",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
     helper.make_tensor_value_info("flag", TensorProto.BOOL, [])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    [numpy_helper.from_array(bias, "bias")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, os.path.join(here, "flag.onnx"))

# mismatch.onnx: branches giving different shapes, which qrt-convert refuses.
shape = numpy_helper.from_array(np.array([3, 2], dtype=np.int64), "shape")
then_g = helper.make_graph(
    [helper.make_node("Relu", ["x"], ["t_out"])], "then", [],
    [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [2, 3])])
else_g = helper.make_graph(
    [helper.make_node("Reshape", ["x", "shape"], ["e_out"])], "else", [],
    [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [3, 2])], [shape])
graph = helper.make_graph(
    [helper.make_node("If", ["flag"], ["y"], name="pick", then_branch=then_g, else_branch=else_g)],
    "mismatch",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
     helper.make_tensor_value_info("flag", TensorProto.BOOL, [])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
          os.path.join(here, "mismatch.onnx"))
