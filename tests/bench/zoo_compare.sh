#!/usr/bin/env bash
# qrt against ONNX Runtime 1.30 on more of torchvision's quantizable models than
# MobileNetV2 (ort_compare.sh): for each, exports it with Debian's PyTorch
# (export_torchvision.py), converts it with qrt-convert, checks qrt's output
# bytes against PyTorch's on 4 seeded images (default and avx2 tiers), then
# times qrt (both tiers) and ORT's int8 QDQ model on one core, interleaved round
# by round. Not part of ctest.
#   tests/bench/zoo_compare.sh [ROOT] [MODEL...]   (default build/zoo_compare, all models)
# Environment: ROUNDS (3), RUNS per round (20), WARMUP per round (5), CORE (1),
# QRT_BUILD (an existing build dir instead of building ROOT/qrt).
set -euo pipefail
unset QRT_ISA  # "default tier" means what the runtime picks
cd "$(dirname "$0")/../.."
root=${1:-build/zoo_compare}
shift || true
models=("$@")
[[ ${#models[@]} -gt 0 ]] ||
  models=(resnet18 resnet50 googlenet inception_v3 mobilenet_v2 mobilenet_v3_large)
rounds=${ROUNDS:-3} runs=${RUNS:-20} warmup=${WARMUP:-5} core=${CORE:-1}
ort_version=1.30.0
py=/usr/bin/python3

die() { echo "zoo_compare.sh: $*" >&2; exit 1; }
source tests/bench/bench_common.sh
bench_check_tools "torch, torchvision, onnx" "torch, torchvision and onnx" \
  "python3-torch python3-torchvision python3-onnx"
bench_build_qrt
bench_install_ort "$root/node"

for m in "${models[@]}"; do
  dir=$root/$m
  if [[ ! $dir/model_int8.onnx -nt tests/bench/export_torchvision.py ]]; then
    echo "== exporting $m with PyTorch into $dir"
    mkdir -p "$dir"
    (cd tests/bench && "$py" export_torchvision.py "$m" "$OLDPWD/$dir") 2>"$dir/export.log" >/dev/null ||
      { tail -3 "$dir/export.log" >&2; die "exporting $m failed; see $dir/export.log"; }
  fi
  "$bin/converter/qrt-convert" "$dir/model_int8.onnx" -o "$dir/model_int8.qrt" -q
  rm -rf "$dir/out" && mkdir -p "$dir/out"
  for image in "$dir"/image_*.npy; do
    k=$(basename "$image" .npy) && k=${k#image_}
    for isa in default avx2; do
      QRT_ISA=${isa/default/} "$bin/runtime/qrt-run" "$dir/model_int8.qrt" --input "input=$image" \
        --output-dir "$dir/out/$isa" --quiet
      mv "$dir/out/$isa/logits.npy" "$dir/out/$isa/$k.npy"
    done
  done
done

for r in $(seq "$rounds"); do
  echo "== round $r/$rounds on core $core ($warmup warm-up + $runs timed runs each)"
  for m in "${models[@]}"; do
    dir=$root/$m
    for isa in default avx2; do
      QRT_ISA=${isa/default/} taskset -c "$core" "$bin/runtime/qrt-bench" "$dir/model_int8.qrt" \
        --input "input=$dir/image_0.npy" --runs "$runs" --warmup "$warmup" \
        --json "$dir/out/qrt_$isa.$r.json" >/dev/null
    done
    taskset -c "$core" node tests/bench/ort_bench.js --ort "$root/node" "$dir/model_int8.onnx" \
      "$dir/image_0.npy" --runs "$runs" --warmup "$warmup" >"$dir/out/ort.$r.json"
  done
done

"$py" - "$root" "$rounds" "$(bench_machine)" "${models[@]}" <<'EOF_PY'
import glob, json, os, statistics, sys
import numpy as np
root, rounds, machine, models = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]

def identical(d, isa):
    scale, zp = open(d + "/torch_qparams.txt").read().split()
    same = total = worst = 0
    for f in sorted(glob.glob("%s/out/%s/*.npy" % (d, isa))):
        want = np.load("%s/torch_%s" % (d, os.path.basename(f))).astype(np.int64).ravel()
        got = np.clip(np.rint(np.load(f).ravel() / np.float32(scale)) + int(zp), 0, 255).astype(np.int64)
        diff = np.abs(got - want)
        same, total, worst = same + (diff == 0).sum(), total + diff.size, max(worst, diff.max())
    return "%.2f%% max %d" % (100.0 * same / total, worst)

def median(d, key):
    return statistics.median(t for r in range(1, rounds + 1)
                             for t in json.load(open("%s/out/%s.%d.json" % (d, key, r)))["samples_ms"])

print("\nint8 (qnnpack qconfig), batch 1, one thread, medians in ms; " + machine)
print("%-19s %9s %9s %9s %8s  %-16s %s" % ("model", "qrt", "qrt avx2", "ORT 1.30", "qrt/ORT",
                                           "= PyTorch", "= PyTorch (avx2)"))
for m in models:
    d = "%s/%s" % (root, m)
    q, a, o = median(d, "qrt_default"), median(d, "qrt_avx2"), median(d, "ort")
    print("%-19s %9.3f %9.3f %9.3f %8.2f  %-16s %s" % (m, q, a, o, q / o, identical(d, "default"),
                                                      identical(d, "avx2")))
EOF_PY
