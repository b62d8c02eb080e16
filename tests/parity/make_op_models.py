#!/usr/bin/python3
"""Regenerates tests/data/converter/ops/ from PyTorch 1.13 (Debian python3-torch):
    /usr/bin/python3 tests/parity/make_op_models.py

Small seeded models for the ONNX ops qrt-convert lowers one by one
(tests/converter/test_op_lowering.cc), each exported fp32 with
torch.onnx.export at the opset named in its table row. For each model M:
  M.onnx       the float model
  M_in.npz     inputs by ONNX input name
  M_fp32.npz   PyTorch fp32 outputs by ONNX output name

F.pad at opset >= 11 exports its pads as a computed chain (ConstantOfShape,
Concat, Reshape, a 2-D Slice with step -1, Transpose, Reshape, Cast) that
qrt-convert's importer does not fold yet, so the Pad output has no static
shape. pad_modes replaces each chain with the constant it computes (the
pads F.pad was given, in ONNX order) to test the lowering on its own, and
so does pad_conv. conv_transpose_shape is conv_transpose_sized with ONNX's
output_shape attribute instead of pads and output_padding.
"""

import os

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "converter", "ops")


class Fn(nn.Module):
    """A module around a function of the input (and its own submodules)."""

    def __init__(self, fn, **mods):
        super().__init__()
        self.fn = fn
        for k, m in mods.items():
            setattr(self, k, m)

    def forward(self, x):
        return self.fn(self, x)


def image(*shape):
    return torch.randn(*shape)


def conv_reduce(z):
    return (z.mean((2, 3), keepdim=True) * z + z.amax(1, keepdim=True)).sum(dim=(2, 3))


def conv_split(z):
    a, b = torch.split(z, [2, 3], 1)
    return torch.cat([b * 2, a], 1)


# name, opset, module, example input
def models():
    torch.manual_seed(7)
    ln = nn.LayerNorm(16)
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
    return [
        ("layernorm_affine", 14, Fn(lambda s, x: s.ln(x), ln=ln), image(2, 5, 16)),
        ("layernorm_plain", 14, Fn(lambda s, x: s.ln(x), ln=nn.LayerNorm(16, elementwise_affine=False)),
         image(2, 5, 16)),
        ("gelu_erf", 14, nn.GELU(), image(2, 33) * 3),
        ("gelu_tanh", 14, nn.GELU(approximate="tanh"), image(2, 33) * 3),
        ("reduce13", 13, Fn(lambda s, x: (x.mean(dim=(2, 3), keepdim=True) + x.amax(dim=1, keepdim=True)).sum(dim=-1)),
         image(1, 3, 5, 7)),
        ("reduce11", 11, Fn(lambda s, x: x.mean(dim=1) + x.sum(dim=(1, 2), keepdim=True)[:, 0]), image(2, 4, 6)),
        ("pad_modes", 13, Fn(lambda s, x: torch.cat([F.pad(x, (1, 2, 0, 1), mode="reflect"),
                                                     F.pad(x, (1, 2, 0, 1), mode="replicate"),
                                                     F.pad(x, (1, 2, 0, 1), value=0.5)], 1)), image(1, 3, 5, 6)),
        ("pad9", 9, Fn(lambda s, x: F.pad(x, (2, 1, 1, 0), mode="reflect") + 1.0), image(1, 2, 5, 6)),
        ("avgpool_pad", 13, nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True), image(1, 4, 9, 8)),
        ("pad_conv", 13, Fn(lambda s, x: s.conv(F.pad(x, (1, 1, 2, 0))), conv=nn.Conv2d(3, 5, 3)), image(1, 3, 8, 7)),
        ("embedding", 13, Fn(lambda s, x: s.emb(x) * 2.0, emb=nn.Embedding(11, 6)), torch.tensor([[1, 4, 10, 0, 3]])),
        ("split13", 13, Fn(lambda s, x: torch.cat([t * (k + 1) for k, t in enumerate(torch.split(x, [2, 3, 2], 1))], 1)),
         image(1, 7, 4)),
        ("split11", 11, Fn(lambda s, x: torch.cat([t * (k + 1) for k, t in enumerate(torch.split(x, [2, 3, 2], 1))], 1)),
         image(1, 7, 4)),
        ("cast", 13, Fn(lambda s, x: x.to(torch.int32).to(torch.float32) + x), image(2, 9) * 4),
        ("resize_nearest", 13, Fn(lambda s, x: F.interpolate(x, scale_factor=2, mode="nearest")), image(1, 3, 4, 5)),
        ("resize_linear", 13, Fn(lambda s, x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=False)),
         image(1, 3, 4, 5)),
        ("resize_corners", 11, Fn(lambda s, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)),
         image(1, 2, 3, 4)),
        ("upsample9", 9, nn.Upsample(scale_factor=2, mode="nearest"), image(1, 2, 3, 4)),
        ("conv_transpose", 13, nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1), image(1, 4, 5, 6)),
        ("conv_transpose_sized", 13, Fn(lambda s, x: s.up(x, output_size=[10, 13]),
                                         up=nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)), image(1, 4, 5, 7)),
        ("linear3d", 13, nn.Linear(12, 5), image(2, 3, 12)),
        # After a Conv the runtime holds activations NHWC: reduce, split and
        # pad on that layout.
        ("conv_reduce", 13, Fn(lambda s, x: conv_reduce(s.conv(x)), conv=nn.Conv2d(3, 5, 3)), image(1, 3, 7, 6)),
        ("conv_split", 13, Fn(lambda s, x: conv_split(s.conv(x)), conv=nn.Conv2d(3, 5, 3)), image(1, 3, 7, 6)),
        ("conv_pad9", 9, Fn(lambda s, x: F.pad(s.conv(x), (2, 1, 1, 0), mode="reflect"), conv=nn.Conv2d(3, 5, 3)),
         image(1, 3, 7, 6)),
    ]


# F.pad's (left, right, top, bottom) as ONNX pads (begins, then ends, per axis).
CONSTANT_PADS = {"pad_modes": [0, 0, 0, 1, 0, 0, 1, 2], "pad_conv": [0, 0, 2, 1, 0, 0, 0, 1]}


def constant_pads(path, pads):
    """Feeds every Pad of the model at `path` the constant `pads` and drops
    the nodes nothing reads any more."""
    m = onnx.load(path)
    g = m.graph
    g.initializer.append(onnx.numpy_helper.from_array(np.array(pads, dtype=np.int64), "pads"))
    for n in g.node:
        if n.op_type == "Pad":
            n.input[1] = "pads"
    while True:
        read = {i for n in g.node for i in n.input} | {o.name for o in g.output}
        dead = [n for n in g.node if not any(o in read for o in n.output)]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)
    onnx.save(m, path)


def output_shape_form(path, out_path, shape):
    """The ConvTranspose at `path` with ONNX's output_shape attribute in
    place of pads and output_padding (same result; PyTorch never exports it)."""
    m = onnx.load(path)
    n = next(n for n in m.graph.node if n.op_type == "ConvTranspose")
    keep = [a for a in n.attribute if a.name not in ("pads", "output_padding")]
    del n.attribute[:]
    n.attribute.extend(keep + [onnx.helper.make_attribute("output_shape", shape)])
    onnx.save(m, out_path)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, opset, model, x in models():
        model.eval()
        path = os.path.join(OUT, name + ".onnx")
        torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"], opset_version=opset)
        if name == "conv_transpose_sized":
            output_shape_form(path, os.path.join(OUT, "conv_transpose_shape.onnx"), [10, 13])
            save_io("conv_transpose_shape", model, x)
        if name in CONSTANT_PADS:
            constant_pads(path, CONSTANT_PADS[name])
        save_io(name, model, x)


def save_io(name, model, x):
    with torch.no_grad():
        y = model(x)
    np.savez(os.path.join(OUT, name + "_in.npz"), x=x.numpy())
    np.savez(os.path.join(OUT, name + "_fp32.npz"), y=y.numpy())


if __name__ == "__main__":
    main()
