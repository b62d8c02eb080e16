#!/usr/bin/env bash
# Runs the libFuzzer harnesses of a QRT_FUZZ build from their seed corpora.
#   tests/fuzz/run.sh smoke BUILD_DIR [model|npy|onnx ...]  60 s each, fresh corpus (CI)
#   tests/fuzz/run.sh long BUILD_DIR [model|npy|onnx ...]   loader 10 M executions, ONNX
#       and .npy 1 M each; the corpus persists in BUILD_DIR/fuzz-work/corpus/
# Fails on any crash, leak, timeout or sanitizer report; the input that did it
# is left in BUILD_DIR/fuzz-work/artifacts/ (save it under tests/data/fuzz/).
set -euo pipefail
mode=${1:?usage: run.sh smoke|long BUILD_DIR [model|npy|onnx ...]}
build=$(cd "${2:?usage: run.sh smoke|long BUILD_DIR [model|npy|onnx ...]}" && pwd)
shift 2
harnesses=("$@")
[[ ${#harnesses[@]} -gt 0 ]] || harnesses=(model npy onnx)
root=$(cd "$(dirname "$0")/../.." && pwd)
data=$root/tests/data
work=$build/fuzz-work
bin=$build/tests/fuzz

declare -A long_runs=([model]=10000000 [npy]=1000000 [onnx]=1000000)

# Seeds: the test models and data files, and every input once saved as a crash.
seed() {
  local h=$1 dir=$work/seeds/$1
  rm -rf "$dir" && mkdir -p "$dir"
  case $h in
    model) "$bin/qrt-fuzz-seeds" "$dir" "$data" ;;
    npy) find "$data" -name '*.npy' -size -8k | sort | sed -n '1,300p' |
           while read -r f; do cp "$f" "$dir/$(echo "$f" | md5sum | cut -c1-16).npy"; done ;;
    onnx) cp "$data/converter/small_cnn.onnx" "$data/digits/digits_fp32.onnx" "$dir/" ;;
  esac
  if [[ -d $data/fuzz/$h ]]; then cp "$data/fuzz/$h"/* "$dir/"; fi
}

status=0
for h in "${harnesses[@]}"; do
  [[ -n ${long_runs[$h]:-} ]] || { echo "run.sh: unknown harness '$h'" >&2; exit 2; }
  seed "$h"
  mkdir -p "$work/artifacts"
  if [[ $mode == smoke ]]; then
    corpus=$work/corpus-smoke/$h
    rm -rf "$corpus"
    limit=(-max_total_time=60)
  else
    corpus=$work/corpus/$h
    limit=(-runs="${long_runs[$h]}")
  fi
  mkdir -p "$corpus"
  log=$work/$h-$mode.log
  echo "== fuzz $h ($mode): log in $log"
  # -timeout: a hang is a finding too. -rss_limit_mb also bounds single
  # mallocs (libFuzzer's malloc limit defaults to it).
  if "$bin/qrt-fuzz-$h" "${limit[@]}" -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
       -artifact_prefix="$work/artifacts/$h-" "$corpus" "$work/seeds/$h" >"$log" 2>&1; then
    grep -E '^Done [0-9]+ runs|stat::number_of_executed_units' "$log" || true
  else
    status=1
    echo "!! qrt-fuzz-$h failed:" >&2
    grep -E -A30 '^==[0-9]+==|^SUMMARY|runtime error|Test unit written' "$log" | head -60 >&2 || tail -40 "$log" >&2
  fi
done
exit $status
