#!/usr/bin/python3
"""Regenerates tests/data/converter/ from PyTorch 1.13 (Debian python3-torch):
    /usr/bin/python3 tests/parity/make_converter_models.py

small_cnn: Conv+BN+ReLU, MaxPool, Conv+BN -> ReLU6, Conv+BN, residual
add_relu, AdaptiveAvgPool2d(1), flatten, Linear; QuantStub/DeQuantStub and
FloatFunctional, the way eager-mode quantization wants it. The float model is
fused (fuse_modules, eval) and exported to ONNX, so the ONNX weights are the
folded weights PyTorch quantizes. Then, for each backend's default qconfig,
the fused model is prepared and calibrated on the same batches the test
feeds qrt-convert, and every quantized tensor's qparams are written keyed by
ONNX value name:
  small_cnn.onnx                      the fused float model, batch 4
  small_cnn_calib/batch_NN.npy        calibration batches (one forward each)
  small_cnn_heldout.npy               inputs never seen by the observers
  small_cnn_<profile>.txt             "act|weight NAME scale... | zero_point..."
                                      (scales as float.hex); qnnpack also has
                                      "heldout NAME KEY" lines:
  small_cnn_qnnpack_heldout.npz       KEY = PyTorch's quantized tensor NAME
                                      (uint8) on the held-out inputs, qnnpack
                                      engine
  small_cnn_observed/                 the float32 tensors PyTorch's activation
                                      observers were fed: batch_NN.npz holds
                                      a<k> for line k of observed.txt
                                      ("a<k> NAME"). PyTorch's fp32 kernels do
                                      not round like the runtime's, so only
                                      these inputs give PyTorch's exact scales.
npz/: small .npz files for the reader (stored, deflated, several keys).

    /usr/bin/python3 tests/parity/make_converter_models.py --mobilenet DIR
writes torchvision's quantizable mobilenet_v2 (seeded random weights, fused,
eval) as DIR/mobilenet_v2.onnx, calibration batches DIR/calib/*.npy and
PyTorch's qnnpack qparams DIR/qnnpack.txt (same format as above), for the
issue's PTSQ acceptance run (too large to commit); then
    qrt-convert DIR/mobilenet_v2.onnx -o DIR/m.qrt --mode static --profile qnnpack \
        --calib DIR/calib --histogram-compat torch1.13 --report-json DIR/report.json
    /usr/bin/python3 tests/parity/make_converter_models.py --compare DIR
counts the tensors whose qparams are identical.
"""

import copy
import os
import shutil
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from torch.ao.quantization import (DeQuantStub, QuantStub, convert, fuse_modules,
                                   get_default_qconfig, prepare)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "converter")
F32 = np.float32
BATCH = 4
SHAPE = (BATCH, 3, 12, 12)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.dequant = DeQuantStub()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.relu6 = nn.ReLU6()
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(8)
        self.skip = nn.quantized.FloatFunctional()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.quant(x)
        x = self.pool(self.relu1(self.bn1(self.conv1(x))))
        y = self.relu6(self.bn2(self.conv2(x)))
        y = self.bn3(self.conv3(y))
        x = self.skip.add_relu(x, y)
        x = torch.flatten(self.gap(x), 1)
        return self.dequant(self.fc(x))


def _model():
    torch.manual_seed(7)
    m = SmallCNN()
    # Non-trivial BatchNorm statistics so folding changes the weights.
    with torch.no_grad():
        for bn in (m.bn1, m.bn2, m.bn3):
            bn.running_mean.uniform_(-0.3, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    m.eval()
    return fuse_modules(m, [["conv1", "bn1", "relu1"], ["conv2", "bn2"], ["conv3", "bn3"]])


def _onnx_names(path):
    """ONNX value names of the tensors eager mode quantizes, by role."""
    g = onnx.load(path).graph
    node = [n for n in g.node if n.op_type != "Constant"]  # Clip's bounds
    ops = [n.op_type for n in node]
    want = ["Conv", "Relu", "MaxPool", "Conv", "Clip", "Conv", "Add", "Relu",
            "GlobalAveragePool", "Flatten", "Gemm"]
    if ops != want:
        sys.exit("unexpected ONNX graph %s" % ops)
    out = [n.output[0] for n in node]
    return {
        "act": {
            "quant": g.input[0].name, "conv1": out[1], "pool": out[2], "conv2": out[3],
            "relu6": out[4], "conv3": out[5], "skip": out[7], "gap": out[8], "flatten": out[9],
            "fc": out[10],
        },
        "weight": {"conv1": node[0].input[1], "conv2": node[3].input[1],
                   "conv3": node[5].input[1], "fc": node[10].input[1]},
    }


def _fmt_case(kind, name, scales, zps):
    return "%s %s %s | %s\n" % (kind, name, " ".join(float(F32(s)).hex() for s in scales),
                                " ".join(str(int(z)) for z in zps))


def _qparams(fused, backend, calib, names, seen=None):
    """Activation and weight qparams PyTorch's prepare/convert would use.
    With `seen`, also records every tensor an activation observer is fed:
    seen[batch][role] = the float32 array."""
    m = copy.deepcopy(fused)
    m.qconfig = get_default_qconfig(backend)
    p = prepare(m)
    act_obs = {"quant": p.quant, "conv1": p.conv1, "conv2": p.conv2, "conv3": p.conv3,
               "skip": p.skip, "fc": p.fc}
    batch = [0]
    if seen is not None:
        for role, mod in act_obs.items():
            mod.activation_post_process.register_forward_hook(
                lambda obs, inp, out, role=role: seen[batch[0]].__setitem__(
                    role, inp[0].detach().numpy().copy()))
    with torch.no_grad():
        for k, b in enumerate(calib):
            batch[0] = k
            if seen is not None:
                seen.append({})
            p(torch.from_numpy(b))
    acts = {k: o.activation_post_process.calculate_qparams() for k, o in act_obs.items()}
    # Modules without an observer in use keep their input's params
    # (checked on the converted qnnpack model below).
    acts["pool"] = acts["conv1"]
    acts["relu6"] = acts["conv2"]
    acts["gap"] = acts["flatten"] = acts["skip"]
    weights = {}
    for k, mod in (("conv1", p.conv1[0]), ("conv2", p.conv2), ("conv3", p.conv3), ("fc", p.fc)):
        obs = m.qconfig.weight()
        obs(mod.weight.detach())
        weights[k] = obs.calculate_qparams()
    lines = []
    for k, onnx_name in names["act"].items():
        s, z = acts[k]
        lines.append(_fmt_case("act", onnx_name, s.reshape(-1).tolist(), z.reshape(-1).tolist()))
    for k, onnx_name in names["weight"].items():
        s, z = weights[k]
        lines.append(_fmt_case("weight", onnx_name, s.reshape(-1).tolist(), z.reshape(-1).tolist()))
    return p, acts, weights, lines


def _check_converted(p, acts, weights, heldout):
    """Converts the qnnpack-prepared model and checks its qparams against the
    observers'; returns PyTorch's quantized tensors on the held-out inputs
    (role -> uint8 array)."""
    q = convert(p)
    # PyTorch 1.13's quantized::relu6 scrambles a channels_last input (the
    # conv's output): it writes NHWC order into a tensor flagged contiguous,
    # so everything after it is garbage. Give it a contiguous tensor so the
    # reference is what ReLU6 means.
    relu6 = q.relu6.forward
    q.relu6.forward = lambda x: relu6(x.contiguous())
    seen, outs = {}, {}

    def hook(name):
        def f(mod, inp, out):
            seen[name] = (out.q_scale(), out.q_zero_point())
            outs[name] = out.int_repr().numpy()
        return f
    for name in ("quant", "conv1", "pool", "conv2", "relu6", "conv3", "gap", "fc"):
        getattr(q, name).register_forward_hook(hook(name))
    # add_relu is not a forward call: take its input from the pooling after it.
    q.gap.register_forward_pre_hook(lambda mod, inp: outs.__setitem__("skip", inp[0].int_repr().numpy()))
    with torch.no_grad():
        q(torch.from_numpy(heldout))
    seen["skip"] = (q.skip.scale, q.skip.zero_point)
    for k, (s, z) in seen.items():
        ws, wz = acts[k]
        if F32(s) != F32(ws.item()) or z != wz.item():
            sys.exit("%s: converted model has %r/%r, observer %r/%r" % (k, s, z, ws, wz))
    for k, mod in (("conv1", q.conv1), ("conv2", q.conv2), ("conv3", q.conv3), ("fc", q.fc)):
        if F32(mod.weight().q_scale()) != F32(weights[k][0].item()):
            sys.exit("%s: weight scale differs from the observer's" % k)
    return outs


def _npz_files(rng):
    d = os.path.join(OUT, "npz")
    os.makedirs(d)
    a = rng.standard_normal((2, 3, 4, 4)).astype(F32)
    b = rng.standard_normal((2, 5)).astype(F32)
    np.savez(os.path.join(d, "stored.npz"), x=a, y=b)
    np.savez_compressed(os.path.join(d, "deflated.npz"), x=a, y=b)
    np.savez(os.path.join(d, "positional.npz"), a)
    np.save(os.path.join(d, "x.npy"), a)
    np.save(os.path.join(d, "y.npy"), b)


def main():
    if not torch.__version__.startswith("1.13"):
        sys.exit("make_converter_models.py: needs PyTorch 1.13 (found %s)" % torch.__version__)
    torch.backends.quantized.engine = "qnnpack"
    for entry in os.listdir(OUT) if os.path.isdir(OUT) else []:
        path = os.path.join(OUT, entry)
        if entry != "dynamic":  # make_dynamic_models.py's
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    os.makedirs(os.path.join(OUT, "small_cnn_calib"))
    rng = np.random.default_rng(1913)

    fused = _model()
    calib = [(rng.standard_normal(SHAPE) * s + o).astype(F32)
             for s, o in ((1.0, 0.0), (1.5, 0.2), (0.7, -0.1), (1.2, 0.0))]
    heldout = (rng.standard_normal(SHAPE) * 1.1).astype(F32)
    for i, b in enumerate(calib):
        np.save(os.path.join(OUT, "small_cnn_calib", "batch_%02d.npy" % i), b)
    np.save(os.path.join(OUT, "small_cnn_heldout.npy"), heldout)

    onnx_path = os.path.join(OUT, "small_cnn.onnx")
    torch.onnx.export(fused, torch.from_numpy(heldout), onnx_path, input_names=["x"],
                      output_names=["logits"], opset_version=13)
    names = _onnx_names(onnx_path)

    seen = []
    for backend in ("qnnpack", "fbgemm"):
        p, acts, weights, lines = _qparams(fused, backend, calib, names,
                                           seen if backend == "qnnpack" else None)
        if backend == "qnnpack":
            outs = _check_converted(p, acts, weights, heldout)
            arrays = {}
            for k, role in enumerate(sorted(outs)):
                arrays["q%d" % k] = outs[role]
                lines.append("heldout %s q%d\n" % (names["act"][role], k))
            np.savez(os.path.join(OUT, "small_cnn_qnnpack_heldout.npz"), **arrays)
        with open(os.path.join(OUT, "small_cnn_%s.txt" % backend), "w") as f:
            f.writelines(lines)
    # What PyTorch's activation observers were fed (the same for both
    # backends): batch_NN.npz holds a<k> for the k-th line of observed.txt.
    roles = sorted(seen[0])
    os.makedirs(os.path.join(OUT, "small_cnn_observed"))
    with open(os.path.join(OUT, "small_cnn_observed", "observed.txt"), "w") as f:
        f.writelines("a%d %s\n" % (k, names["act"][r]) for k, r in enumerate(roles))
    for b, tensors in enumerate(seen):
        np.savez(os.path.join(OUT, "small_cnn_observed", "batch_%02d.npz" % b),
                 **{"a%d" % k: tensors[r] for k, r in enumerate(roles)})
    _npz_files(rng)


def _scope(module):
    """ONNX node-name scope PyTorch 1.13's exporter gives a module path:
    features.1.conv.0 -> /features/features.1/conv/conv.0/."""
    parts = []
    for tok in module.split("."):
        parts.append(parts[-1] + "." + tok if tok.isdigit() else tok)
    return "/" + "/".join(parts) + "/"


def mobilenet(out):
    import torchvision
    torch.backends.quantized.engine = "qnnpack"
    os.makedirs(os.path.join(out, "calib"), exist_ok=True)
    torch.manual_seed(0)
    m = torchvision.models.quantization.mobilenet_v2(weights=None, quantize=False).eval()
    m.fuse_model()
    rng = np.random.default_rng(0)
    calib = [rng.standard_normal((8, 3, 224, 224)).astype(F32) for _ in range(4)]
    for i, b in enumerate(calib):
        np.save(os.path.join(out, "calib", "b%02d.npy" % i), b)
    path = os.path.join(out, "mobilenet_v2.onnx")
    torch.onnx.export(m, torch.from_numpy(calib[0]), path, input_names=["x"],
                      output_names=["logits"], opset_version=13)
    nodes = [n for n in onnx.load(path).graph.node if n.op_type != "Constant"]
    p = copy.deepcopy(m)
    p.qconfig = get_default_qconfig("qnnpack")
    p = prepare(p)
    with torch.no_grad():
        for b in calib:
            p(torch.from_numpy(b))
    lines = []
    for name, mod in p.named_modules():
        obs = getattr(mod, "activation_post_process", None)
        if obs is None or isinstance(obs, nn.Identity) or obs.min_val.numel() == 0 or \
                obs.min_val.item() == float("inf"):
            continue  # never ran (a skip_add of a block without residual)
        if name == "quant":
            value = "x"
        else:
            parts = name.split(".")
            scope = _scope(".".join(parts[:-1]) if parts[-1] == "skip_add" else name)
            cand = [n for n in nodes if n.name.startswith(scope) and
                    (parts[-1] != "skip_add" or (n.op_type == "Add" and n.name.count("/") == scope.count("/")))]
            value = cand[-1].output[0]
        s, z = obs.calculate_qparams()
        lines.append(_fmt_case("act", value, [float(s)], [int(z)]))
    for name, mod in p.named_modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            w = mod.qconfig.weight()
            w(mod.weight.detach())
            s, z = w.calculate_qparams()
            scope = _scope(name)
            cand = [n for n in nodes if n.name.startswith(scope) and n.op_type in ("Conv", "Gemm")]
            lines.append(_fmt_case("weight", cand[0].input[1], s.reshape(-1).tolist(), z.reshape(-1).tolist()))
    with open(os.path.join(out, "qnnpack.txt"), "w") as f:
        f.writelines(lines)


def compare(out):
    import json
    report = json.load(open(os.path.join(out, "report.json")))
    ours = {q["name"]: q for q in report["qparams"]}
    counts = {"act": [0, 0], "weight": [0, 0]}
    for line in open(os.path.join(out, "qnnpack.txt")):
        kind, name, rest = line.split(" ", 2)
        scales, zps = rest.split("|")
        want = ([F32(float.fromhex(t)) for t in scales.split()], [int(t) for t in zps.split()])
        q = ours.get(name)
        same = q is not None and [F32(v) for v in q["scale"]] == want[0] and q["zero_point"] == want[1]
        counts[kind][0] += same
        counts[kind][1] += 1
        if not same:
            print("differs: %s %s ours %s PyTorch %s" % (kind, name, q and (q["scale"], q["zero_point"]), want))
    for kind, (same, total) in counts.items():
        print("%s: %d of %d identical" % (kind, same, total))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--mobilenet":
        mobilenet(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--compare":
        compare(sys.argv[2])
    else:
        main()
