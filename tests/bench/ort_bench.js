// Times an ONNX model in ONNX Runtime (npm onnxruntime-node) the way BENCHMARKS.md
// measures the peers: one intra-op thread, all graph optimizations, W warm-up runs,
// then N runs each timed on its own. Prints one JSON line: median/min/max and every run, in ms.
//   node tests/bench/ort_bench.js --ort DIR MODEL.onnx INPUT.npy [--runs N] [--warmup W] [--output OUT.npy]
// DIR holds node_modules/onnxruntime-node. INPUT.npy: float32, C order. --output writes
// the first output as float32 .npy, for the byte comparison with PyTorch. --profile PREFIX
// turns on ONNX Runtime's profiler: per-node times of every run go to PREFIX_<date>.json.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(msg) {
  console.error('ort_bench.js: ' + msg);
  process.exit(2);
}

function parseArgs(argv) {
  const a = {runs: 30, warmup: 10, files: []};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (['--ort', '--runs', '--warmup', '--output', '--profile'].includes(flag)) {
      if (i + 1 >= argv.length) fail(flag + ' needs a value');
      a[flag.slice(2)] = argv[++i];
    } else if (flag.startsWith('--')) {
      fail('unknown option ' + flag);
    } else {
      a.files.push(flag);
    }
  }
  a.runs = Number(a.runs);
  a.warmup = Number(a.warmup);
  if (!a.ort || a.files.length !== 2 || !(a.runs >= 1) || !(a.warmup >= 0)) {
    fail('usage: ort_bench.js --ort DIR MODEL.onnx INPUT.npy [--runs N] [--warmup W]' +
         ' [--output OUT.npy] [--profile PREFIX]');
  }
  return a;
}

// .npy version 1/2: magic, version, header length, a Python dict literal, the data.
function readNpyF32(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(file + ': not a .npy file');
  const v1 = buf[6] === 1;
  const hlen = v1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (v1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', v1 ? 10 : 12, start);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) {
    fail(file + ': expected little-endian float32 in C order, got ' + header.trim());
  }
  const dims = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return {dims, data};
}

function writeNpyF32(file, dims, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';  // data aligned to 64 bytes
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'),
                                        Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ort = require(path.resolve(a.ort, 'node_modules', 'onnxruntime-node'));
  const options = {intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all',
                   logSeverityLevel: 3};
  if (a.profile) Object.assign(options, {enableProfiling: true, profileFilePrefix: a.profile});
  const session = await ort.InferenceSession.create(a.files[0], options);
  const input = readNpyF32(a.files[1]);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', input.data, input.dims)};
  let out;
  for (let i = 0; i < a.warmup; i++) out = await session.run(feeds);
  const ms = [];
  for (let i = 0; i < a.runs; i++) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (a.profile) session.endProfiling();
  const sorted = [...ms].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  if (a.output) {
    const t = out[session.outputNames[0]];
    writeNpyF32(a.output, t.dims, t.data);
  }
  console.log(JSON.stringify({version: ort.env.versions.common, median_ms: median, min_ms: sorted[0],
                              max_ms: sorted[sorted.length - 1], samples_ms: ms}));
}

main().catch((e) => fail(e.message || String(e)));
