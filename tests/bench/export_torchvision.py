#!/usr/bin/python3
"""Builds one of torchvision's quantizable models as int8 QDQ ONNX, the way
export_mobilenet_v2.py builds MobileNetV2 (BENCHMARKS.md), with Debian's PyTorch 1.13:
    /usr/bin/python3 tests/bench/export_torchvision.py NAME OUT_DIR

NAME: resnet18, resnet50, googlenet, inception_v3 (299x299), mobilenet_v2,
mobilenet_v3_large. (shufflenet_v2_x1_0 does not export: PyTorch 1.13's exporter
cannot slice the quantized tensor of its channel split.) Seeded random weights
(no internet: weights=None), BatchNorm statistics re-estimated on random images,
fused, qnnpack qconfig, calibrated on seeded random images, converted. Writes into
OUT_DIR:
  model_int8.onnx     the converted model as QDQ ONNX (opset 13), biases rounded
                      as PyTorch's kernels round them
  image_K.npy         seeded images, float32 [1, 3, S, S], K = 0..3
  torch_K.npy         PyTorch's (qnnpack engine) uint8 output for image K (the
                      tensor before DeQuantStub)
  torch_qparams.txt   "scale zero_point" of that output
"""

import os
import sys

import numpy as np
import torch
import torchvision
from torch.ao.quantization import convert, get_default_qconfig, prepare
from torch.onnx import symbolic_helper

import export_mobilenet_v2 as mnv2

MODELS = ("resnet18", "resnet50", "googlenet", "inception_v3", "mobilenet_v2", "mobilenet_v3_large")
IMAGES = 4


def main(name, out):
    if name not in MODELS:
        sys.exit("export_torchvision.py: unknown model %r (one of %s)" % (name, ", ".join(MODELS)))
    size = 299 if name == "inception_v3" else 224
    torch.manual_seed(0)
    torch.backends.quantized.engine = "qnnpack"
    rng = np.random.default_rng(0)

    def images(n):
        return torch.from_numpy(rng.standard_normal((n, 3, size, size)).astype(np.float32))

    # Their auxiliary heads only train; init_weights avoids scipy.
    extra = dict(aux_logits=False, init_weights=True) if name in ("googlenet", "inception_v3") else {}
    model = getattr(torchvision.models.quantization, name)(weights=None, quantize=False, **extra)
    mnv2.images = lambda _, n: images(n)
    mnv2.reestimate_batchnorm(model, rng)
    model.fuse_model()
    model.qconfig = get_default_qconfig("qnnpack")
    prepare(model, inplace=True)
    with torch.no_grad():
        for _ in range(4):
            model(images(4))
    convert(model, inplace=True)

    x, distinct = mnv2.save_outputs(model, images(IMAGES), out, "export_torchvision.py (%s)" % name)
    symbolic_helper.requantize_bias_helper = mnv2.rounded_bias
    path = os.path.join(out, "model_int8.onnx")
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["logits"], opset_version=13)
    mnv2.fold_round(path)
    print("export_torchvision.py: wrote %s (%s, int8 output: %d distinct values)" % (out, name, distinct))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
