#!/usr/bin/python3
"""Builds int8 MobileNetV2 the way BENCHMARKS.md says, with Debian's PyTorch 1.13:
    /usr/bin/python3 tests/bench/export_mobilenet_v2.py [OUT_DIR]   (default build/ort_compare)
    /usr/bin/python3 tests/bench/export_mobilenet_v2.py OUT_DIR --bench [--runs N] [--warmup W]

torchvision's quantizable mobilenet_v2 with seeded random weights (no internet,
weights=None), its BatchNorm statistics re-estimated on random images (the
default statistics make the activations vanish, and an all-zero output would
"match" anywhere), fused, qnnpack qconfig, calibrated on seeded random images,
converted. Writes into OUT_DIR:
  mobilenet_v2_int8.onnx   the converted model as QDQ ONNX (opset 13)
  mobilenet_v2_fp32.onnx   the fused float model it was quantized from
  image_K.npy              seeded images, float32 [1, 3, 224, 224], K = 0..7
                           (image_0 is the one that is timed)
  torch_K.npy              PyTorch's (qnnpack engine) uint8 logits for image K; one
                           flipped byte early in the net spreads, so one image says little
  torch_qparams.txt        "scale zero_point" of the logits, to map float outputs back
                           to bytes
  mobilenet_v2_int8.pt     the int8 model as TorchScript, which --bench times
"""

import argparse
import copy
import json
import os
import statistics
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torchvision
from torch.ao.quantization import convert, get_default_qconfig, prepare
from torch.onnx import symbolic_helper

SIZE = 224
IMAGES = 8


def images(rng, n):
    return torch.from_numpy(rng.standard_normal((n, 3, SIZE, SIZE)).astype(np.float32))


def reestimate_batchnorm(model, rng):
    # momentum=None makes running_mean/var the plain average over all batches.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(images(rng, 8))
    model.eval()


def rounded_bias(g, bias, input_scale, weight_scale, axis=None):
    """PyTorch's kernels quantize a conv/linear bias as rne(b * f32(1 / f32(s_w * s_in)))
    (quantize_val); 1.13's exporter writes Cast(Div(b, s_w * s_in)), which truncates
    and so exports a different model: some biases are off by one step, and about
    0.3% of the first conv's output bytes already differ from PyTorch's."""
    bias_scale = g.op("Mul", weight_scale, input_scale)
    one = g.op("Constant", value_t=torch.tensor(1.0))
    q_bias = g.op("Cast", g.op("Round", g.op("Mul", bias, g.op("Div", one, bias_scale))),
                  to_i=onnx.TensorProto.INT32)
    zero_point = g.op("ConstantOfShape", g.op("Shape", bias_scale),
                      value_t=torch.tensor([0], dtype=torch.int))
    return g.op("prim::TupleConstruct", q_bias, bias_scale, zero_point,
                *([] if axis is None else [axis]))


def fold_round(path):
    """torch.onnx does not fold Round; fold it (ONNX Round is rne, like np.rint) so
    the biases are int32 constants, as in any QDQ model."""
    model = onnx.load(path)
    consts = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    for i, n in enumerate(model.graph.node):
        if n.op_type == "Round" and n.input[0] in consts:
            value = numpy_helper.to_array(consts[n.input[0]].attribute[0].t)
            model.graph.node[i].CopyFrom(onnx.helper.make_node(
                "Constant", [], [n.output[0]], value=numpy_helper.from_array(np.rint(value))))
    used = {i for n in model.graph.node for i in n.input}
    live = [n for n in model.graph.node if n.op_type != "Constant" or n.output[0] in used]
    del model.graph.node[:]
    model.graph.node.extend(live)
    onnx.save(model, path)


def build():
    """Returns (int8 model, fused fp32 model, IMAGES test images); the same on every call."""
    torch.manual_seed(0)
    torch.backends.quantized.engine = "qnnpack"
    rng = np.random.default_rng(0)

    model = torchvision.models.quantization.mobilenet_v2(weights=None, quantize=False)
    reestimate_batchnorm(model, rng)
    model.fuse_model()
    fp32 = copy.deepcopy(model)

    model.qconfig = get_default_qconfig("qnnpack")
    prepare(model, inplace=True)
    with torch.no_grad():
        for _ in range(4):
            model(images(rng, 8))
    convert(model, inplace=True)

    return model, fp32, images(rng, IMAGES)


def save_outputs(model, batch, out, who):
    """Runs each image of batch through the int8 model; writes image_K.npy, PyTorch's
    uint8 output torch_K.npy (the quantized tensor DeQuantStub reads: the bytes we
    compare) and its "scale zero_point" in torch_qparams.txt. Returns the last image
    and the number of distinct output bytes."""
    os.makedirs(out, exist_ok=True)
    captured = {}
    hook = model.dequant.register_forward_hook(lambda m, i, o: captured.update(q=i[0]))
    for k in range(len(batch)):
        x = batch[k:k + 1]
        with torch.no_grad():
            model(x)
        np.save(os.path.join(out, "image_%d.npy" % k), x.numpy())
        np.save(os.path.join(out, "torch_%d.npy" % k), captured["q"].int_repr().numpy())
    hook.remove()
    q = captured["q"]
    with open(os.path.join(out, "torch_qparams.txt"), "w") as f:
        f.write("%r %d\n" % (q.q_scale(), q.q_zero_point()))
    distinct = len(np.unique(q.int_repr().numpy()))
    if distinct < 16:
        sys.exit("%s: the int8 output has only %d distinct values; the activations vanished"
                 % (who, distinct))
    return x, distinct


def main(out):
    model, fp32, batch = build()
    x, distinct = save_outputs(model, batch, out, "export_mobilenet_v2.py")
    symbolic_helper.requantize_bias_helper = rounded_bias
    for name, m in (("int8", model), ("fp32", fp32)):
        torch.onnx.export(m, x, os.path.join(out, "mobilenet_v2_%s.onnx" % name),
                          input_names=["input"], output_names=["logits"], opset_version=13)
    fold_round(os.path.join(out, "mobilenet_v2_int8.onnx"))
    torch.jit.save(torch.jit.trace(model, x), os.path.join(out, "mobilenet_v2_int8.pt"))
    print("export_mobilenet_v2.py: wrote %s (int8 logits: %d distinct values)" % (out, distinct))


def bench(out, runs, warmup):
    """Times PyTorch's own int8 model (qnnpack engine, one thread) like ort_bench.js."""
    torch.backends.quantized.engine = "qnnpack"
    torch.set_num_threads(1)
    model = torch.jit.load(os.path.join(out, "mobilenet_v2_int8.pt"))
    x = torch.from_numpy(np.load(os.path.join(out, "image_0.npy")))
    ms = []
    with torch.no_grad():
        for i in range(warmup + runs):
            t0 = time.perf_counter()
            model(x)
            if i >= warmup:
                ms.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"version": torch.__version__, "median_ms": statistics.median(ms),
                      "samples_ms": ms}))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", default=os.path.join(here, "..", "..", "build", "ort_compare"))
    parser.add_argument("--bench", action="store_true",
                        help="time OUT/mobilenet_v2_int8.pt instead of exporting; prints JSON")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    if args.bench:
        bench(args.out, args.runs, args.warmup)
    else:
        main(args.out)
