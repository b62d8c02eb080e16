#!/usr/bin/env bash
# The main job: build everything, then take the shipped model (a small CNN
# trained on scikit-learn's 8x8 digits, tests/parity/train_digits.py) through
# qrt end to end: convert -> run -> accuracy and latency -> sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash toolchains/deps.sh host
jobs=$(nproc)

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs" --target qrt-convert qrt-inspect qrt-run qrt-accuracy >/dev/null

bin=build/release
data=tests/data/digits
work=build/main-job
rm -rf "$work"
mkdir -p "$work"

echo "== convert: fp32, then int8 (static, calibrated on 256 training digits) in both profiles"
"$bin/converter/qrt-convert" "$data/digits_fp32.onnx" -o "$work/digits_fp32.qrt" \
  --input-shape image=1,1,8,8
for profile in qnnpack fbgemm; do
  "$bin/converter/qrt-convert" "$data/digits_fp32.onnx" -o "$work/digits_int8_$profile.qrt" \
    --input-shape image=1,1,8,8 --mode static --profile "$profile" --calib "$data/calib.npy"
done

echo "== run (one image; its label is $(cat "$data/one_image_label.txt"))"
"$bin/runtime/qrt-run" "$work/digits_int8_qnnpack.qrt" --input image="$data/one_image.npy" \
  --output-dir "$work/out"

echo "== accuracy and latency on the held-back split ($(cat "$data/torch_accuracy.txt") in PyTorch)"
for model in "$work"/digits_fp32.qrt "$work"/digits_int8_*.qrt; do
  "$bin/tests/qrt-accuracy" "$model" "$data/eval_x.npy" "$data/eval_y.npy"
done

echo "== sizes (bytes)"
printf '  %-24s %10s\n' "ONNX fp32" "$(stat -c %s "$data/digits_fp32.onnx")"
for f in "$work"/*.qrt; do printf '  %-24s %10s\n' "$(basename "$f")" "$(stat -c %s "$f")"; done
printf '  %-24s %10s\n' "libqrt.a" "$(stat -c %s "$bin/runtime/libqrt.a")"
