#!/usr/bin/env python3
"""The sequence models of issue 7's speed acceptance, with Debian's PyTorch 1.13.

  seq_models.py OUTDIR
      builds (seeded, no downloads) and writes into OUTDIR, for MODEL in lstm, transformer:
        MODEL_fp32.onnx   the float model (what qrt-convert and ONNX Runtime read)
        MODEL_input.npy   one seeded float32 input
        MODEL_torch_fp32.npy, MODEL_torch_dynamic.npy   PyTorch's outputs for it
  seq_models.py OUTDIR --bench MODEL [--runs N] [--warmup W]
      times PyTorch fp32 and PyTorch quantize_dynamic (qnnpack engine) on one thread,
      alternating the two run by run, and prints one JSON line:
      {"fp32": {"samples_ms": [...]}, "dynamic": {"samples_ms": [...]}}

lstm: nn.LSTM(256, 512, 2 layers) + Linear(512, 40), seq 64, batch 1, input [64, 1, 256].
transformer: nn.TransformerEncoderLayer(256, 4 heads, ff 1024), seq 64, batch 1, input
[64, 1, 256]. quantize_dynamic's default set matches module types exactly, so only
linear1 and linear2 become dynamic: attention's out_proj is a
NonDynamicallyQuantizableLinear and its in-projection a bare parameter.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

SEQ, BATCH, FEATURES = 64, 1, 256


class LstmModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(FEATURES, 512, num_layers=2)
        self.fc = nn.Linear(512, 40)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y)


def build(name):
    torch.manual_seed({"lstm": 7, "transformer": 11}[name])
    if name == "lstm":
        model = LstmModel()
    else:
        # Sequence-first (batch_first=False), PyTorch's default: 1.13's fused eval
        # fast path (torch._transformer_encoder_layer_fwd, no ONNX symbolic) needs
        # batch_first=True, so export traces the ordinary MultiheadAttention graph.
        model = nn.TransformerEncoderLayer(FEATURES, 4, dim_feedforward=1024)
    model.eval()
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(SEQ, BATCH, FEATURES, generator=gen)
    return model, x


def dynamic(model):
    torch.backends.quantized.engine = "qnnpack"
    return torch.ao.quantization.quantize_dynamic(model, dtype=torch.qint8)


def export(model, x, path):
    # The plain export: qrt-convert folds MultiheadAttention's run-time Slice
    # bounds and fuses opset 14's decomposed LayerNorm itself.
    torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"],
                      opset_version=14, do_constant_folding=True)


def write_models(outdir):
    os.makedirs(outdir, exist_ok=True)
    for name in ("lstm", "transformer"):
        model, x = build(name)
        export(model, x, os.path.join(outdir, name + "_fp32.onnx"))
        np.save(os.path.join(outdir, name + "_input.npy"), x.numpy().astype(np.float32))
        with torch.no_grad():
            fp32 = model(x)
            dyn = dynamic(model)(x)
        np.save(os.path.join(outdir, name + "_torch_fp32.npy"), fp32.numpy())
        np.save(os.path.join(outdir, name + "_torch_dynamic.npy"), dyn.numpy())
        print("%s: %s -> %s, |dynamic - fp32| max %.4g" % (
            name, tuple(x.shape), tuple(fp32.shape), (dyn - fp32).abs().max().item()))


def bench(name, runs, warmup):
    torch.set_num_threads(1)
    model, x = build(name)
    engines = {"fp32": model, "dynamic": dynamic(build(name)[0])}
    samples = {k: [] for k in engines}
    with torch.no_grad():
        for _ in range(warmup):
            for m in engines.values():
                m(x)
        for _ in range(runs):
            for key, m in engines.items():
                t0 = time.perf_counter()
                m(x)
                samples[key].append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({k: {"samples_ms": v} for k, v in samples.items()}))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("outdir")
    p.add_argument("--bench", choices=["lstm", "transformer"])
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=10)
    a = p.parse_args()
    if a.bench:
        bench(a.bench, a.runs, a.warmup)
    else:
        write_models(a.outdir)


if __name__ == "__main__":
    sys.exit(main())
