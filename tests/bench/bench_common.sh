# What ort_compare.sh and seq_compare.sh share, sourced by both after they set
# root, core, py and ort_version and define die().

# bench_check_tools MODULES WHAT PACKAGES: taskset, node and npm, the Python
# modules (an import list, e.g. "torch, onnx") and the core to pin to.
bench_check_tools() {
  command -v taskset >/dev/null || die "taskset is missing (util-linux)"
  { command -v node && command -v npm; } >/dev/null ||
    die "node and npm are needed for ONNX Runtime (apt-get install nodejs npm)"
  "$py" -c "import $1" 2>/dev/null || die "$py cannot import $2 (apt-get install $3)"
  taskset -c "$core" true 2>/dev/null || die "cannot pin to core $core; set CORE"
}

# Sets bin: $QRT_BUILD, or a Release build of the tools in $root/qrt.
bench_build_qrt() {
  bin=${QRT_BUILD:-}
  if [[ -z $bin ]]; then
    bin=$root/qrt
    echo "== building qrt (Release) in $bin"
    cmake -S . -B "$bin" -DCMAKE_BUILD_TYPE=Release -DQRT_BUILD_TESTS=OFF >/dev/null
    cmake --build "$bin" -j2 --target qrt-convert qrt-bench qrt-run >/dev/null || die "building qrt failed"
  fi
  for tool in converter/qrt-convert runtime/qrt-bench runtime/qrt-run; do
    [[ -x $bin/$tool ]] || die "$bin/$tool is missing"
  done
}

# bench_install_ort DIR: onnxruntime-node@$ort_version under DIR/node_modules,
# from npm unless that version is there already.
bench_install_ort() {
  local installed
  installed=$(node -p "JSON.parse(require('fs').readFileSync(process.argv[1])).version" \
    "$1/node_modules/onnxruntime-node/package.json" 2>/dev/null || true)
  [[ $installed == "$ort_version" ]] && return
  echo "== installing onnxruntime-node@$ort_version into $1"
  mkdir -p "$1"
  [[ -f $1/package.json ]] || echo '{"private": true}' >"$1/package.json"
  # The CPU build ships in the package; skip the CUDA download from nuget.
  (cd "$1" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund \
     "onnxruntime-node@$ort_version" >/dev/null) || die "npm install onnxruntime-node@$ort_version failed"
}

# One line naming the machine, for the results table:
# "<model name> (<SIMD flags>), <N> cores".
bench_machine() {
  "$py" - <<'EOF_PY'
import os
cpu = {}
for line in open("/proc/cpuinfo"):
    k, _, v = line.partition(":")
    cpu.setdefault(k.strip(), v.strip())
flags = [f for f in ("avx2", "avx_vnni", "avx512_vnni") if f in cpu.get("flags", "").split()]
print("%s (%s), %d cores" % (cpu.get("model name", "?"), " ".join(flags), os.cpu_count()))
EOF_PY
}
