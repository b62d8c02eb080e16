#!/usr/bin/env bash
# qrt against ONNX Runtime 1.30 and PyTorch 1.13 on int8 MobileNetV2, measured in
# one run (BENCHMARKS.md): builds qrt (Release), exports torchvision's quantizable
# mobilenet_v2 with Debian's PyTorch, converts it with qrt-convert, installs
# onnxruntime-node from npm if missing, then times every engine on one core,
# interleaved round by round so all see the same machine state. Not part of ctest.
#   tests/bench/ort_compare.sh [ROOT]            (default build/ort_compare)
# Environment: ROUNDS (3), RUNS per round (30), WARMUP per round (10), CORE (1),
# QRT_BUILD (an existing build dir to use instead of building ROOT/qrt), PER_OP=1
# (also print qrt-bench's per-op table, and per conv qrt against ORT's profiler).
# Medians are over all timed runs of all rounds; "identical" is the share of the
# uint8 logits equal to PyTorch's on the same 8 seeded images.
set -euo pipefail
unset QRT_ISA  # "default tier" means what the runtime picks
cd "$(dirname "$0")/../.."
root=${1:-build/ort_compare}
rounds=${ROUNDS:-3} runs=${RUNS:-30} warmup=${WARMUP:-10} core=${CORE:-1}
ort_version=1.30.0
py=/usr/bin/python3
model=$root/model
out=$root/results

die() { echo "ort_compare.sh: $*" >&2; exit 1; }
source tests/bench/bench_common.sh
bench_check_tools "torch, torchvision, onnx" "torch, torchvision and onnx" \
  "python3-torch python3-torchvision python3-onnx"
bench_build_qrt

if [[ ! $model/mobilenet_v2_int8.pt -nt tests/bench/export_mobilenet_v2.py ]]; then
  echo "== exporting MobileNetV2 with PyTorch into $model"
  "$py" tests/bench/export_mobilenet_v2.py "$model" 2>"$root/export.log" ||
    { tail -5 "$root/export.log" >&2; die "the export failed; see $root/export.log"; }
fi
"$bin/converter/qrt-convert" "$model/mobilenet_v2_int8.onnx" -o "$model/mobilenet_v2_int8.qrt" -q

ort_dir=$root/node
bench_install_ort "$ort_dir"

rm -rf "$out" && mkdir -p "$out"
input=$model/image_0.npy
qrt_bench() {  # NAME [--isa TIER]
  local name=$1; shift
  taskset -c "$core" "$bin/runtime/qrt-bench" "$model/mobilenet_v2_int8.qrt" --input "input=$input" \
    --runs "$runs" --warmup "$warmup" --json "$out/$name.$r.json" "$@" >/dev/null
}
ort_bench() {  # NAME int8|fp32
  taskset -c "$core" node tests/bench/ort_bench.js --ort "$ort_dir" "$model/mobilenet_v2_$2.onnx" \
    "$input" --runs "$runs" --warmup "$warmup" >"$out/$1.$r.json"
}

echo "== outputs for the byte comparison"
for image in "$model"/image_*.npy; do
  k=$(basename "$image" .npy) && k=${k#image_}
  for isa in default avx2; do
    QRT_ISA=${isa/default/} "$bin/runtime/qrt-run" "$model/mobilenet_v2_int8.qrt" --input "input=$image" \
      --output-dir "$out/qrt_$isa" --quiet
    mv "$out/qrt_$isa/logits.npy" "$out/qrt_$isa/$k.npy"
  done
  for kind in int8 fp32; do
    mkdir -p "$out/ort_$kind"
    node tests/bench/ort_bench.js --ort "$ort_dir" "$model/mobilenet_v2_$kind.onnx" "$image" \
      --runs 1 --warmup 0 --output "$out/ort_$kind/$k.npy" >/dev/null
  done
done

for r in $(seq "$rounds"); do
  echo "== round $r/$rounds on core $core ($warmup warm-up + $runs timed runs each)"
  qrt_bench qrt_default
  ort_bench ort_int8 int8
  qrt_bench qrt_avx2 --isa avx2
  ort_bench ort_fp32 fp32
  taskset -c "$core" "$py" tests/bench/export_mobilenet_v2.py "$model" --bench --runs "$runs" \
    --warmup "$warmup" >"$out/torch.$r.json"
done

if [[ ${PER_OP:-0} == 1 ]]; then
  taskset -c "$core" "$bin/runtime/qrt-bench" "$model/mobilenet_v2_int8.qrt" --input "input=$input" \
    --runs "$runs" --warmup "$warmup" --profile-ops --json "$out/qrt_ops.json"
  taskset -c "$core" node tests/bench/ort_bench.js --ort "$ort_dir" \
    "$model/mobilenet_v2_int8.onnx" "$input" --runs "$runs" --warmup "$warmup" \
    --profile "$out/ort_profile" >/dev/null
  echo "== per conv: qrt (default tier) vs ORT 1.30 int8 (its profiler), medians in us"
  "$py" - "$model/mobilenet_v2_int8.onnx" "$out" <<'EOF_PY'
import collections, glob, json, statistics, sys
import onnx
model, out = sys.argv[1], sys.argv[2]
groups = {n.name: next((a.i for a in n.attribute if a.name == "group"), 1)
          for n in onnx.load(model).graph.node if n.op_type == "Conv"}
qrt = {op["name"]: op for op in json.load(open(out + "/qrt_ops.json"))["ops"]}
ort = collections.defaultdict(list)
for e in json.load(open(sorted(glob.glob(out + "/ort_profile*.json"))[-1])):
    name = e.get("name", "")
    if e.get("cat") == "Node" and name.endswith("_kernel_time"):
        # ORT names a fused QLinearConv after the Conv it replaced, plus "_token_N".
        ort[name[:-len("_kernel_time")].rsplit("_token_", 1)[0]].append(e["dur"])
print("%-28s %5s %8s %9s %7s %9s %7s %7s" % ("conv", "kind", "MMAC", "qrt us", "GMAC/s", "ORT us",
                                              "GMAC/s", "speedup"))
total = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
for name, g in groups.items():
    if name not in qrt or name not in ort:
        continue
    macs, q_us, o_us = qrt[name]["macs"], qrt[name]["median_us"], statistics.median(ort[name])
    kind = "dw" if g > 1 else "conv"
    for key in (kind, "all"):
        total[key][0] += macs; total[key][1] += q_us; total[key][2] += o_us
    print("%-28s %5s %8.2f %9.1f %7.1f %9.1f %7.1f %6.2fx" % (name[-28:], kind, macs / 1e6, q_us,
          macs / q_us / 1e3, o_us, macs / o_us / 1e3, o_us / q_us))
for key, label in (("dw", "all depthwise"), ("all", "all convs")):
    macs, q_us, o_us = total[key]
    print("%-28s %5s %8.2f %9.1f %7.1f %9.1f %7.1f %6.2fx" % (label, "", macs / 1e6, q_us,
          macs / q_us / 1e3, o_us, macs / o_us / 1e3, o_us / q_us))
EOF_PY
fi

"$py" - "$model" "$out" "$rounds" "$(bench_machine)" <<'EOF_PY'
import glob, json, os, statistics, sys
import numpy as np
model, out, rounds, machine = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
scale, zp = open(model + "/torch_qparams.txt").read().split()

def identical(key):
    if key == "torch":
        return "reference"
    # Map the dequantized logits back onto PyTorch's output grid (exact for int8 outputs).
    files = sorted(glob.glob("%s/%s/*.npy" % (out, key)))
    q = np.concatenate([np.rint(np.load(f) / np.float32(scale)) + int(zp) for f in files])
    torch_q = np.concatenate([np.load("%s/torch_%s" % (model, os.path.basename(f))) for f in files])
    d = np.abs(np.clip(q, 0, 255).astype(np.int64) - torch_q)
    return "%6.2f%%  max %d step%s  (%d images)" % (100 * (d == 0).mean(), d.max(),
                                                    "" if d.max() == 1 else "s", len(files))

def samples(key, r):
    return json.load(open("%s/%s.%d.json" % (out, key, r)))["samples_ms"]

rows = [("qrt int8, default tier", "qrt_default"), ("qrt int8, QRT_ISA=avx2", "qrt_avx2"),
        ("ORT 1.30 int8 QDQ", "ort_int8"), ("ORT 1.30 fp32", "ort_fp32"),
        ("PyTorch 1.13 int8 qnnpack", "torch")]
times = {key: [t for r in range(1, rounds + 1) for t in samples(key, r)] for _, key in rows}
print("\nMobileNetV2 1.0 int8, 224x224, batch 1, one thread; " + machine)
print("%-27s %9s %8s %6s %10s  %s" % ("runtime", "median ms", "min ms", "runs", "/ ORT int8", "logits identical to PyTorch"))
ort = statistics.median(times["ort_int8"])
for label, key in rows:
    ms = times[key]
    print("%-27s %9.3f %8.3f %6d %10.2f  %s" % (label, statistics.median(ms), min(ms), len(ms),
                                                 statistics.median(ms) / ort, identical(key)))
print("qrt / ORT int8, round by round: " + " ".join(
    "%.2f" % (statistics.median(samples("qrt_default", r)) / statistics.median(samples("ort_int8", r)))
    for r in range(1, rounds + 1)))
EOF_PY
