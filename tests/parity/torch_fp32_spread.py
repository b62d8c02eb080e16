#!/usr/bin/python3
"""How far PyTorch 1.13's own static-quantization qparams move with its fp32 conv:
    /usr/bin/python3 tests/parity/torch_fp32_spread.py [--no-mobilenet]

Route (b) of the parity table (fp32 ONNX + calibration batches -> qrt-convert
--mode static) is asked to reproduce PyTorch's observers. Those observers see
PyTorch's fp32 activations, and PyTorch's fp32 conv is oneDNN, whose rounding
depends on the kernel it picks for the CPU. This script calibrates one fused fp32
model on one set of batches with three fp32 conv implementations of the same
PyTorch on the same machine:
  default   oneDNN at the best ISA of this CPU (what the parity fixtures use)
  avx2      oneDNN held to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2: any AVX2-only x86)
  native    PyTorch's own conv, oneDNN off (torch.backends.mkldnn.enabled = False)
and prints, against `default`: activation qparams exactly equal, the largest
scale difference in float32 ulps, and the share of identical int8 output bytes
on held-out input. Models: make_workflows.py's `cnn` (both qconfigs) and
MobileNetV2 as tests/bench/export_mobilenet_v2.py builds it (qnnpack).
Each variant runs in its own process: oneDNN reads its ISA limit once.
"""

import copy
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch.ao.quantization import convert, fuse_modules, get_default_qconfig, prepare

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
sys.path.insert(0, HERE)
import export_mobilenet_v2 as mnv2  # noqa: E402
import make_workflows as mw  # noqa: E402

VARIANTS = {"default": {}, "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"}, "native": {}}


def cnn_case():
    """make_workflows.cnn's fused model, calibration batches and held-out input."""
    torch.manual_seed(1)
    m = mw.CNN()
    mw._bn_stats(m)
    fused = fuse_modules(m.eval(), mw.CNN_FUSE)
    batches = [torch.randn(4, 3, 16, 16) * s for s in (1.0, 1.5, 0.7, 1.2)]
    return fused, batches, torch.randn(4, 3, 16, 16)


def mobilenet_case():
    """export_mobilenet_v2.build()'s fused model, its 4 calibration batches and its
    test images, re-drawn from the same seed (build() itself runs fp32 convs to
    re-estimate BatchNorm, so the fused model is made once, by the parent)."""
    _, fused, images = mnv2.build()
    rng = np.random.default_rng(0)
    for _ in range(4):
        mnv2.images(rng, 8)  # the BatchNorm batches
    return fused, [mnv2.images(rng, 8) for _ in range(4)], images


def calibrate(case_file, profile, out):
    fused, batches, x = torch.load(case_file)
    p = copy.deepcopy(fused)
    p.qconfig = get_default_qconfig(profile)
    prepare(p, inplace=True)
    with torch.no_grad():
        for b in batches:
            p(b)
    names, scales, zps = [], [], []
    for name, mod in p.named_modules():
        obs = getattr(mod, "activation_post_process", None)
        if obs is None or isinstance(obs, torch.nn.Identity) or obs.min_val.numel() == 0:
            continue
        s, z = obs.calculate_qparams()
        names.append(name)
        scales.append(float(s.reshape(-1)[0]))
        zps.append(int(z.reshape(-1)[0]))
    q = convert(p)
    # The bytes are the last quantized tensor, the input of the final DeQuantStub.
    seen = {}
    for mod in q.modules():
        if isinstance(mod, torch.ao.nn.quantized.DeQuantize):
            mod.register_forward_hook(lambda m, i, o: seen.update(q=i[0]))
    with torch.no_grad():
        q(x)
    np.savez(out, names=np.array(names), scales=np.array(scales, np.float32),
             zps=np.array(zps), out=seen["q"].int_repr().numpy())


def run_variant(variant, case_file, profile, out):
    env = dict(os.environ, **VARIANTS[variant])
    subprocess.run([sys.executable, __file__, "--child", variant, case_file, profile, out],
                   env=env, check=True, stderr=subprocess.DEVNULL)
    return np.load(out)


def compare(label, case_file, profile, tmp):
    got = {v: run_variant(v, case_file, profile, os.path.join(tmp, "%s_%s_%s.npz" % (label, profile, v)))
           for v in VARIANTS}
    base = got["default"]
    for v in ("avx2", "native"):
        r = got[v]
        assert list(r["names"]) == list(base["names"])
        same = (r["scales"] == base["scales"]) & (r["zps"] == base["zps"])
        ulps = np.abs(r["scales"].view(np.int32).astype(np.int64) - base["scales"].view(np.int32))
        identical = 100.0 * np.mean(r["out"] == base["out"])
        steps = int(np.max(np.abs(r["out"].astype(int) - base["out"].astype(int))))
        print("%-13s %-8s %-7s %6d/%-3d %11d %9.2f%% %8d" % (label, profile, v, same.sum(), len(same),
                                                          ulps.max(), identical, steps))


def main():
    if not torch.__version__.startswith("1.13"):
        sys.exit("torch_fp32_spread.py: needs PyTorch 1.13 (found %s)" % torch.__version__)
    torch.backends.quantized.engine = "qnnpack"
    cases = [("cnn", cnn_case, ("qnnpack", "fbgemm"))]
    if "--no-mobilenet" not in sys.argv:
        cases.append(("mobilenet_v2", mobilenet_case, ("qnnpack",)))
    print("PyTorch %s, each variant against `default` (see the docstring)" % torch.__version__)
    print("%-13s %-8s %-7s %10s %11s %10s %8s" % ("model", "qconfig", "variant", "qparams", "max ulps",
                                                  "identical", "max|d|"))
    with tempfile.TemporaryDirectory() as tmp:
        for label, make, profiles in cases:
            case_file = os.path.join(tmp, label + ".pt")
            torch.save(make(), case_file)
            for profile in profiles:
                compare(label, case_file, profile, tmp)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        torch.backends.quantized.engine = "qnnpack"
        if sys.argv[2] == "native":
            torch.backends.mkldnn.enabled = False
        calibrate(*sys.argv[3:])
    else:
        main()
