// qrt-bench: measures a .qrt model on the device it runs on: latency over N
// timed runs after warm-up, memory, and optionally a per-operator table and a
// JSON report. Runs the model through the public C API only; the file's
// flatbuffer is read (header-only) just to find an LSTM/GRU's time axis,
// which the C API does not describe.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if __has_include(<sys/resource.h>)
#include <sys/resource.h>
#define QRT_BENCH_HAVE_RUSAGE 1
#endif

#include "npy.h"
#include "qrt/qrt.h"
#include "qrt/schema/qrt_generated.h"
#include "tool_io.h"

namespace {

namespace fs = std::filesystem;
using namespace qrt::tools;
using Clock = std::chrono::steady_clock;

constexpr const char* kTool = "qrt-bench";
constexpr int kMaxThreads = 1024;
constexpr int kMaxRuns = 1000000;
// The per-op pass keeps every run's time of every op; this bounds that to
// ops * 1000 * 8 bytes however large --runs is.
constexpr int kMaxProfiledRuns = 1000;
constexpr size_t kMaxNameColumn = 40;

constexpr const char* kUsage =
    "usage: qrt-bench MODEL.qrt [--runs N] [--warmup N] [--threads N] [--input NAME=FILE.npy]...\n"
    "                 [--seed N] [--profile-ops] [--sequence-axis NAME:AXIS] [--json FILE]\n"
    "\n"
    "Times MODEL.qrt on this device: N runs after warm-up, each timed on its own with a\n"
    "monotonic clock; inputs are set once before warm-up and are not part of any time.\n"
    "\n"
    "  --runs N               timed runs, 1 to 1000000 (default 50)\n"
    "  --warmup N             untimed runs first, 0 to 1000000 (default 5)\n"
    "  --threads N            threads for invoke, the caller's included (qrt_options.threads;\n"
    "                         default 1). Convolutions, large adds and batched fully\n"
    "                         connected layers are split over them; the runtime uses at\n"
    "                         most as many threads as this CPU has cores.\n"
    "  --input NAME=FILE.npy  data for the model input NAME (repeatable). A FILE.npy without\n"
    "                         NAME= fills the inputs not given by name, in model order.\n"
    "                         Dtype and shape must match the input exactly; quantized inputs\n"
    "                         take their u8/s8 values, not floats. Inputs not given get random\n"
    "                         data: u8 uniform 0..255, s8 uniform -128..127, f32 standard\n"
    "                         normal; i32/i64 inputs (indices, whose range is unknown) get zeros.\n"
    "  --seed N               seed for the random inputs, 0 to 4294967295 (default 1); the\n"
    "                         same seed gives the same data on every device\n"
    "  --profile-ops          also print each operator's median time, share of the total,\n"
    "                         MACs and GMAC/s, from a second pass with per-op profiling on\n"
    "                         (the headline latency is measured without it)\n"
    "  --sequence-axis NAME:AXIS\n"
    "                         count tokens along axis AXIS (0-based) of input NAME and report\n"
    "                         tokens per second. Without it, a model with an LSTM or GRU op\n"
    "                         reports frames per second: the first such op's steps (its input's\n"
    "                         time axis) times inferences per second\n"
    "  --json FILE            write every result, including each run's time, to FILE\n"
    "  --isa TIER             kernel tier: ref, avx2, avxvnni, avx512vnni, neon or neon_dotprod\n"
    "                         (sets QRT_ISA for this run; a tier this CPU lacks is an error)\n"
    "  -h, --help             show this help\n"
    "\n"
    "Kernels: the runtime uses the fastest tier this CPU supports, or the one named by --isa\n"
    "or the environment variable QRT_ISA. The C API does not say which tier ran, so the isa\n"
    "line shows QRT_ISA or 'default'.\n"
    "Exit status: 0 success, 1 loading, running or writing failed, 2 command-line error.\n";

struct Args {
  std::string model;
  std::vector<std::string> inputs;  // --input values in order
  int runs = 50;
  int warmup = 5;
  int threads = 0;  // 0: the library's default
  uint32_t seed = 1;
  bool per_op = false;
  std::string json;  // empty: no JSON report
  std::string sequence_input;  // --sequence-axis NAME, empty without the flag
  int sequence_axis = 0;
};

// The runtime's rule (ThreadPool::resolve): at most one thread per core and
// 64 in all. The C API does not report the count, so the tool mirrors it.
int threads_used(int requested) {
  int used = std::min(requested < 1 ? 1 : requested, 64);
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores > 0 && static_cast<unsigned>(used) > cores) used = static_cast<int>(cores);
  return used;
}

int report(int code, const std::string& message) {
  return qrt::tools::report(kTool, code, message);
}

// One flag of the command line, its form already checked.
bool set_flag(Args* args, const std::string& flag, const std::string& value, std::string* error) {
  uint64_t n = 0;
  if (flag == "--runs") {
    if (!parse_count(flag, value, 1, kMaxRuns, &n, error)) return false;
    args->runs = static_cast<int>(n);
  } else if (flag == "--warmup") {
    if (!parse_count(flag, value, 0, kMaxRuns, &n, error)) return false;
    args->warmup = static_cast<int>(n);
  } else if (flag == "--threads") {
    if (!parse_count(flag, value, 1, kMaxThreads, &n, error)) return false;
    args->threads = static_cast<int>(n);
  } else if (flag == "--seed") {
    if (!parse_count(flag, value, 0, UINT32_MAX, &n, error)) return false;
    args->seed = static_cast<uint32_t>(n);
  } else if (flag == "--input") {
    args->inputs.push_back(value);
  } else if (flag == "--json") {
    args->json = value;
  } else if (flag == "--sequence-axis") {
    // The last ':' splits, so an input name may itself contain ':'.
    const size_t colon = value.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      *error = "--sequence-axis needs NAME:AXIS (an input name and an axis), got '" + value + "'";
      return false;
    }
    if (!parse_count(flag, value.substr(colon + 1), 0, QRT_MAX_RANK - 1, &n, error)) return false;
    args->sequence_input = value.substr(0, colon);
    args->sequence_axis = static_cast<int>(n);
  } else if (flag == "--isa") {
    // The runtime reads QRT_ISA at prepare and refuses a tier the CPU lacks.
    static const char* const kTiers[] = {"ref", "avx2", "avxvnni", "avx512vnni", "neon",
                                         "neon_dotprod"};
    if (std::find(std::begin(kTiers), std::end(kTiers), value) == std::end(kTiers)) {
      *error = "--isa " + value +
               ": expected ref, avx2, avxvnni, avx512vnni, neon or neon_dotprod";
      return false;
    }
    setenv("QRT_ISA", value.c_str(), 1);
  } else {
    args->per_op = true;
  }
  return true;
}

// "1234567 B (1.2 MiB)": exact for scripts reading the text, short for people.
std::string bytes_both(uint64_t bytes) {
  std::string s = std::to_string(bytes) + " B";
  if (bytes >= 1024) s += " (" + format_bytes(bytes) + ")";
  return s;
}

// 1234 -> "1.23k", 300800000 -> "300.8M".
std::string format_count(uint64_t n) {
  char buf[32];
  const double v = static_cast<double>(n);
  if (n < 1000) {
    std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(n));
  } else if (n < 1000000) {
    std::snprintf(buf, sizeof(buf), "%.2fk", v / 1e3);
  } else if (n < 1000000000) {
    std::snprintf(buf, sizeof(buf), "%.2fM", v / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2fG", v / 1e9);
  }
  return buf;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

// Three decimals from 1 ms up, three significant digits below, so a 7 us
// model does not print as 0.007 everywhere.
std::string format_ms(double ms) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), ms >= 1.0 ? "%.3f" : "%#.3g", ms);
  return buf;
}

double ms_since(Clock::time_point start, Clock::time_point stop) {
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

const char* random_distribution(qrt_dtype dtype) {
  switch (dtype) {
    case QRT_U8: return "uniform 0..255";
    case QRT_S8: return "uniform -128..127";
    case QRT_F32: return "standard normal";
    case QRT_I32:
    case QRT_I64: return "zeros";
  }
  return "zeros";
}

// Random data for input `index`. mt19937's output is fixed by the standard
// but its distributions are not (libstdc++ and libc++ differ), so the values
// are derived from raw draws here: a seed gives the same bytes on every
// device. Each input has its own stream, so giving one input from a file
// does not change the others.
std::vector<uint8_t> random_input(const qrt_tensor& t, uint32_t seed, size_t index) {
  std::vector<uint8_t> data(t.bytes, 0);
  std::seed_seq seq{seed, static_cast<uint32_t>(index)};
  std::mt19937 gen(seq);
  switch (t.dtype) {
    case QRT_U8:
      for (uint8_t& b : data) b = static_cast<uint8_t>(gen() >> 24);
      break;
    case QRT_S8:
      // The same top byte, reinterpreted: uniform over -128..127.
      for (uint8_t& b : data) b = static_cast<uint8_t>(gen() >> 24);
      break;
    case QRT_F32: {
      // Box-Muller: z = sqrt(-2 ln u1) * cos(2 pi u2), u1 in (0, 1], u2 in [0, 1),
      // each from 32 random bits.
      const size_t n = data.size() / sizeof(float);
      const double two_pi = 6.283185307179586;
      for (size_t i = 0; i < n; ++i) {
        const double u1 = (static_cast<double>(gen()) + 1.0) / 4294967296.0;
        const double u2 = static_cast<double>(gen()) / 4294967296.0;
        const float z = static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2));
        std::memcpy(data.data() + i * sizeof(float), &z, sizeof(float));
      }
      break;
    }
    case QRT_I32:
    case QRT_I64: break;
  }
  return data;
}

struct InputPlan {
  qrt_tensor tensor;
  std::string source;  // the .npy path, or empty for random data
  std::vector<uint8_t> data;
};

// Sets every input once; the timed runs reuse what is in the arena.
bool set_inputs(qrt_interpreter* interp, const std::vector<InputPlan>& plans, std::string* error) {
  for (size_t i = 0; i < plans.size(); ++i) {
    const InputPlan& p = plans[i];
    const qrt_status status = qrt_set_input(interp, static_cast<int32_t>(i), p.tensor.dtype,
                                            p.data.data(), p.data.size());
    if (status != QRT_OK) {
      *error = "input " + describe(p.tensor) + " from " +
               (p.source.empty() ? std::string("random data") : p.source) + ": " +
               library_error(status);
      return false;
    }
  }
  return true;
}

// Runs `count` times; records each run's time when `times_ms` is not null.
bool run_many(qrt_interpreter* interp, int count, const char* phase, std::vector<double>* times_ms,
              std::string* error) {
  for (int r = 0; r < count; ++r) {
    const auto start = Clock::now();
    const qrt_status status = qrt_invoke(interp);
    const auto stop = Clock::now();
    if (status != QRT_OK) {
      *error = std::string("invoke failed in ") + phase + " run " + std::to_string(r + 1) + ": " +
               library_error(status);
      return false;
    }
    if (times_ms) times_ms->push_back(ms_since(start, stop));
  }
  return true;
}

struct Stats {
  double min = 0, median = 0, mean = 0, p90 = 0, max = 0;
};

// Median: the middle value, or the mean of the two middle values. p90: the
// nearest rank, the smallest value with at least 90% of the runs at or below it.
template <typename T>
double median_of(std::vector<T> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? static_cast<double>(v[n / 2])
               : (static_cast<double>(v[n / 2 - 1]) + static_cast<double>(v[n / 2])) / 2.0;
}

Stats stats_of(const std::vector<double>& samples) {
  Stats s;
  if (samples.empty()) return s;
  std::vector<double> v = samples;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.min = v.front();
  s.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(n);
  s.median = median_of(v);
  const size_t rank = (9 * n + 9) / 10;  // ceil(0.9 n), n >= 1
  s.p90 = v[rank - 1];
  return s;
}

struct OpResult {
  std::string kind;
  std::string name;
  double median_ns = 0;
  uint64_t macs = 0;
};

// GMAC/s = MACs / ns.
double gmacs(uint64_t macs, double ns) {
  return ns > 0 ? static_cast<double>(macs) / ns : 0.0;
}

// Per-op medians from a second interpreter with profiling on, so the clock
// reads around each op stay out of the headline latency.
bool profile_ops(const qrt_model* model, const qrt_options& base,
                 const std::vector<InputPlan>& plans, int warmup, int runs,
                 std::vector<OpResult>* ops, std::string* error) {
  qrt_options options = base;
  options.profile_ops = 1;
  qrt_interpreter* raw = nullptr;
  const qrt_status status = qrt_interpreter_create(model, &options, &raw);
  InterpreterPtr interp(raw);
  if (status != QRT_OK) {
    *error = "cannot prepare the profiling interpreter: " + library_error(status);
    return false;
  }
  if (!set_inputs(interp.get(), plans, error)) return false;
  if (!run_many(interp.get(), warmup, "per-op warm-up", nullptr, error)) return false;
  const int count = std::max(0, qrt_op_count(interp.get()));
  std::vector<std::vector<uint64_t>> ns(static_cast<size_t>(count));
  for (auto& v : ns) v.reserve(static_cast<size_t>(runs));
  ops->assign(static_cast<size_t>(count), OpResult{});
  for (int r = 0; r < runs; ++r) {
    const qrt_status s = qrt_invoke(interp.get());
    if (s != QRT_OK) {
      *error = "invoke failed in per-op run " + std::to_string(r + 1) + ": " + library_error(s);
      return false;
    }
    for (int i = 0; i < count; ++i) {
      qrt_op_profile p{};
      const qrt_status ps = qrt_op_profile_at(interp.get(), i, &p);
      if (ps != QRT_OK) {
        *error = "op " + std::to_string(i) + " profile: " + library_error(ps);
        return false;
      }
      ns[static_cast<size_t>(i)].push_back(p.nanoseconds);
      if (r == 0) {
        OpResult& o = (*ops)[static_cast<size_t>(i)];
        o.kind = p.kind ? p.kind : "?";
        o.name = p.name ? p.name : "";
        o.macs = p.macs;
      }
    }
  }
  for (int i = 0; i < count; ++i) {
    (*ops)[static_cast<size_t>(i)].median_ns = median_of(ns[static_cast<size_t>(i)]);
  }
  return true;
}

// Peak resident set of this process so far, in bytes, or 0 if unknown.
uint64_t peak_rss_bytes() {
#if defined(QRT_BENCH_HAVE_RUSAGE)
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0 || usage.ru_maxrss <= 0) return 0;
#if defined(__APPLE__)
  return static_cast<uint64_t>(usage.ru_maxrss);  // bytes on Darwin
#else
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux and Android
#endif
#else
  return 0;
#endif
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Enough digits for a microsecond out of an hour; JSON has no NaN or infinity.
std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// What one inference covers along time: `steps` frames (an LSTM/GRU's
// steps) or tokens (--sequence-axis). Empty `unit`: the model declares none.
struct Sequence {
  std::string unit;
  int64_t steps = 0;
  std::string tensor;  // whose axis it is
  int axis = 0;
  std::string origin;  // "LSTM 'name'" or "--sequence-axis"
};

// The first LSTM or GRU of the main graph, in execution order: later layers
// run the same steps, so the first one's input X counts the model's frames.
// X is [seq, batch, input], or [batch, seq, input] when batch_major. Leaves
// `out` empty when the model has no such op (or the file cannot be read now).
void find_rnn_sequence(const std::string& path, Sequence* out) {
  // One read: an istreambuf_iterator copy costs ~13 instructions a byte.
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::vector<char> bytes(in ? static_cast<size_t>(std::max<std::streamoff>(in.tellg(), 0)) : 0);
  if (!in.seekg(0) || !in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    bytes.clear();
  }
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  // The limits of the runtime's loader (runtime/src/model.cc).
  flatbuffers::Verifier verifier(data, bytes.size(), /*max_depth=*/64, /*max_tables=*/10000000);
  if (bytes.empty() || !qrt::fb::VerifyModelBuffer(verifier)) return;
  const auto* subgraphs = qrt::fb::GetModel(data)->subgraphs();
  if (!subgraphs || subgraphs->size() == 0) return;
  const qrt::fb::SubGraph* graph = subgraphs->Get(0);
  if (!graph->operators() || !graph->tensors()) return;
  for (const qrt::fb::Operator* op : *graph->operators()) {
    if (op->opcode() != qrt::fb::OpCode::LSTM && op->opcode() != qrt::fb::OpCode::GRU) continue;
    if (!op->inputs() || op->inputs()->size() == 0) return;
    const int32_t x = op->inputs()->Get(0);
    if (x < 0 || static_cast<uint32_t>(x) >= graph->tensors()->size()) return;
    const qrt::fb::Tensor* t = graph->tensors()->Get(static_cast<uint32_t>(x));
    const qrt::fb::RnnOptions* options = op->options_as_RnnOptions();
    const int axis = options && options->batch_major() ? 1 : 0;
    if (!t->shape() || t->shape()->size() <= static_cast<uint32_t>(axis)) return;
    out->unit = "frames";
    out->steps = t->shape()->Get(static_cast<uint32_t>(axis));
    out->tensor = t->name() ? t->name()->str() : "";
    out->axis = axis;
    out->origin = std::string(qrt::fb::EnumNameOpCode(op->opcode())) + " '" +
                  (op->name() ? op->name()->str() : "") + "'";
    return;
  }
}

struct Report {
  std::string model;
  uint64_t file_bytes = 0;
  std::string isa;         // what QRT_ISA says, or "default"
  std::string isa_source;  // "QRT_ISA" or "default"
  int threads = 0;       // requested (qrt_options.threads)
  int threads_used = 0;  // what the runtime runs: threads_used()
  uint32_t seed = 0;
  int warmup = 0;
  std::vector<InputPlan>* inputs = nullptr;
  double load_ms = 0;
  double prepare_ms = 0;
  qrt_memory_info memory{};
  uint64_t peak_rss = 0;
  std::vector<double> samples_ms;
  Stats latency;
  bool per_op = false;
  int profiled_runs = 0;
  std::vector<OpResult> ops;
  Sequence sequence;
};

// Steps per second of one stream: steps per inference times inferences per
// second (1000 / mean ms, like the throughput line).
double steps_per_s(const Report& r) {
  return r.latency.mean > 0 ? static_cast<double>(r.sequence.steps) * 1000.0 / r.latency.mean
                            : 0.0;
}

std::string to_json(const Report& r) {
  std::string j = "{\n";
  j += "  \"tool\": \"qrt-bench\",\n";
  j += "  \"qrt_version\": " + json_string(qrt_version()) + ",\n";
  j += "  \"model\": " + json_string(r.model) + ",\n";
  j += "  \"model_file_bytes\": " + std::to_string(r.file_bytes) + ",\n";
  j += "  \"isa\": " + json_string(r.isa) + ",\n";
  j += "  \"isa_source\": " + json_string(r.isa_source) + ",\n";
  j += "  \"threads\": " + std::to_string(r.threads) + ",\n";
  j += "  \"threads_used\": " + std::to_string(r.threads_used) + ",\n";
  j += "  \"seed\": " + std::to_string(r.seed) + ",\n";
  j += "  \"warmup\": " + std::to_string(r.warmup) + ",\n";
  j += "  \"runs\": " + std::to_string(r.samples_ms.size()) + ",\n";
  j += "  \"inputs\": [";
  for (size_t i = 0; i < r.inputs->size(); ++i) {
    const InputPlan& p = (*r.inputs)[i];
    j += i ? ",\n    " : "\n    ";
    j += "{\"name\": " + json_string(tensor_name(p.tensor)) +
         ", \"dtype\": " + json_string(qrt_dtype_name(p.tensor.dtype)) + ", \"shape\": [";
    const std::vector<int64_t> shape = tensor_shape(p.tensor);
    for (size_t k = 0; k < shape.size(); ++k) j += (k ? ", " : "") + std::to_string(shape[k]);
    j += "], \"source\": ";
    const std::string source =
        p.source.empty() ? std::string("random ") + random_distribution(p.tensor.dtype) : p.source;
    j += json_string(source);
    j += "}";
  }
  j += r.inputs->empty() ? "],\n" : "\n  ],\n";
  j += "  \"load_ms\": " + json_number(r.load_ms) + ",\n";
  j += "  \"prepare_ms\": " + json_number(r.prepare_ms) + ",\n";
  j += "  \"memory\": {\"arena_bytes\": " + std::to_string(r.memory.arena_bytes) +
       ", \"persistent_bytes\": " + std::to_string(r.memory.persistent_bytes) +
       ", \"total_bytes\": " + std::to_string(r.memory.total_bytes) +
       ", \"lower_bound_bytes\": " + std::to_string(r.memory.lower_bound_bytes) +
       ", \"peak_rss_bytes\": " + (r.peak_rss ? std::to_string(r.peak_rss) : "null") + "},\n";
  j += "  \"latency_ms\": {\"min\": " + json_number(r.latency.min) +
       ", \"median\": " + json_number(r.latency.median) +
       ", \"mean\": " + json_number(r.latency.mean) + ", \"p90\": " + json_number(r.latency.p90) +
       ", \"max\": " + json_number(r.latency.max) + "},\n";
  j += "  \"throughput_per_s\": " +
       json_number(r.latency.mean > 0 ? 1000.0 / r.latency.mean : 0.0) + ",\n";
  j += "  \"sequence\": ";
  if (r.sequence.unit.empty()) {
    j += "null,\n";
  } else {
    j += "{\"unit\": " + json_string(r.sequence.unit) +
         ", \"steps\": " + std::to_string(r.sequence.steps) +
         ", \"tensor\": " + json_string(r.sequence.tensor) +
         ", \"axis\": " + std::to_string(r.sequence.axis) +
         ", \"from\": " + json_string(r.sequence.origin) +
         ", \"per_s\": " + json_number(steps_per_s(r)) + "},\n";
  }
  j += "  \"samples_ms\": [";
  for (size_t i = 0; i < r.samples_ms.size(); ++i) {
    j += (i ? ", " : "") + json_number(r.samples_ms[i]);
  }
  j += "]";
  if (r.per_op) {
    double total_ns = 0;
    for (const OpResult& o : r.ops) total_ns += o.median_ns;
    j += ",\n  \"per_op_runs\": " + std::to_string(r.profiled_runs) + ",\n  \"ops\": [";
    for (size_t i = 0; i < r.ops.size(); ++i) {
      const OpResult& o = r.ops[i];
      j += i ? ",\n    " : "\n    ";
      j += "{\"index\": " + std::to_string(i) + ", \"kind\": " + json_string(o.kind) +
           ", \"name\": " + json_string(o.name) +
           ", \"median_us\": " + json_number(o.median_ns / 1000.0) +
           ", \"share\": " + json_number(total_ns > 0 ? o.median_ns / total_ns : 0.0) +
           ", \"macs\": " + std::to_string(o.macs) + ", \"gmac_per_s\": " +
           (o.macs ? json_number(gmacs(o.macs, o.median_ns)) : std::string("null")) + "}";
    }
    j += r.ops.empty() ? "]" : "\n  ]";
  }
  j += "\n}\n";
  return j;
}

// Writes next to `path` and renames over it: a failed write leaves no
// partial report behind.
bool write_text(const std::string& path, const std::string& text, std::string* error) {
  const std::string tmp = path + ".tmp" + std::to_string(std::random_device{}() & 0xffffff);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    *error = path + ": cannot write (" + std::strerror(errno) + ")";
    return false;
  }
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  std::error_code ec;
  if (!wrote || !closed) {
    fs::remove(tmp, ec);
    *error = path + ": write failed";
    return false;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    *error = path + ": cannot write (" + ec.message() + ")";
    return false;
  }
  return true;
}

void print_per_op(const Report& r) {
  double total_ns = 0;
  uint64_t total_macs = 0;
  size_t kind_w = 2, name_w = 4;
  for (const OpResult& o : r.ops) {
    total_ns += o.median_ns;
    total_macs += o.macs;
    kind_w = std::max(kind_w, o.kind.size());
    name_w = std::max(name_w, std::min(o.name.size(), kMaxNameColumn));
  }
  std::printf("\nper-op: median of %d profiled runs (second interpreter, profile_ops on)\n",
              r.profiled_runs);
  std::printf("%5s  %-*s  %-*s  %10s  %6s  %9s  %7s\n", "#", static_cast<int>(kind_w), "op",
              static_cast<int>(name_w), "name", "median us", "share", "MACs", "GMAC/s");
  for (size_t i = 0; i < r.ops.size(); ++i) {
    const OpResult& o = r.ops[i];
    std::string name = o.name;
    if (name.size() > kMaxNameColumn) name = name.substr(0, kMaxNameColumn - 2) + "..";
    const std::string share =
        total_ns > 0 ? fixed(100.0 * o.median_ns / total_ns, 1) + "%" : std::string("-");
    const std::string macs = o.macs ? format_count(o.macs) : "-";
    const std::string rate = o.macs ? fixed(gmacs(o.macs, o.median_ns), 2) : "-";
    std::printf("%5zu  %-*s  %-*s  %10.2f  %6s  %9s  %7s\n", i, static_cast<int>(kind_w),
                o.kind.c_str(), static_cast<int>(name_w), name.c_str(), o.median_ns / 1000.0,
                share.c_str(), macs.c_str(), rate.c_str());
  }
  std::printf("%5s  %-*s  %-*s  %10.2f  %6s  %9s  %7s\n", "", static_cast<int>(kind_w), "total",
              static_cast<int>(name_w), "", total_ns / 1000.0, total_ns > 0 ? "100.0%" : "-",
              total_macs ? format_count(total_macs).c_str() : "-",
              total_macs ? fixed(gmacs(total_macs, total_ns), 2).c_str() : "-");
}

void print_report(const Report& r) {
  std::printf("qrt-bench %s\n", qrt_version());
  std::printf("model       %s  %s\n", r.model.c_str(), bytes_both(r.file_bytes).c_str());
  if (r.isa_source == "default") {
    std::printf("isa         default (QRT_ISA unset: the fastest tier this CPU supports; the C API "
                "does not name it)\n");
  } else {
    std::printf("isa         %s (from QRT_ISA; the C API does not confirm it)\n", r.isa.c_str());
  }
  if (r.threads_used < r.threads) {
    std::printf("threads     %d requested, %d used (capped at this CPU's %u cores)\n", r.threads,
                r.threads_used, std::thread::hardware_concurrency());
  } else if (r.threads_used > 1) {
    std::printf("threads     %d (the caller and %d worker%s)\n", r.threads, r.threads - 1,
                r.threads > 2 ? "s" : "");
  } else {
    std::printf("threads     1 (every op on the caller's thread)\n");
  }
  for (const InputPlan& p : *r.inputs) {
    std::string source = p.source.empty() ? std::string("random ") +
                                                random_distribution(p.tensor.dtype) + ", seed " +
                                                std::to_string(r.seed)
                                          : p.source;
    std::printf("input       %s  <- %s\n", describe(p.tensor).c_str(), source.c_str());
  }
  std::printf("load        %s ms  prepare %s ms\n", format_ms(r.load_ms).c_str(),
              format_ms(r.prepare_ms).c_str());
  std::printf("memory      arena %s  persistent %s  total %s\n",
              bytes_both(r.memory.arena_bytes).c_str(),
              bytes_both(r.memory.persistent_bytes).c_str(),
              bytes_both(r.memory.total_bytes).c_str());
  std::printf("            peak live at one op %s (the arena's lower bound)\n",
              bytes_both(r.memory.lower_bound_bytes).c_str());
  if (r.peak_rss) {
    std::printf("peak RSS    %s (whole process, after the timed runs)\n",
                bytes_both(r.peak_rss).c_str());
  }
  std::printf("latency ms  min %s  median %s  mean %s  p90 %s  max %s  (%zu runs after %d "
              "warm-up)\n",
              format_ms(r.latency.min).c_str(), format_ms(r.latency.median).c_str(),
              format_ms(r.latency.mean).c_str(), format_ms(r.latency.p90).c_str(),
              format_ms(r.latency.max).c_str(), r.samples_ms.size(), r.warmup);
  if (r.latency.mean > 0) {
    std::printf("throughput  %.1f inferences/s (one stream: 1000 / mean ms)\n",
                1000.0 / r.latency.mean);
  }
  if (!r.sequence.unit.empty()) {
    const Sequence& q = r.sequence;
    std::printf("sequence    %lld %s per inference (axis %d of '%s', from %s): %.1f %s/s\n",
                static_cast<long long>(q.steps), q.unit.c_str(), q.axis, q.tensor.c_str(),
                q.origin.c_str(), steps_per_s(r), q.unit.c_str());
  }
  if (r.per_op) print_per_op(r);
}

int run(const Args& args) {
  const std::string problem = file_problem(args.model);
  if (!problem.empty()) return report(kExitUsage, args.model + ": " + problem);
  std::error_code ec;
  if (!args.json.empty()) {
    // Checked now, not after minutes of runs.
    const fs::path parent = fs::path(args.json).parent_path();
    if (!parent.empty() && !fs::is_directory(parent, ec)) {
      return report(kExitUsage, "--json " + args.json + ": no directory " + parent.string());
    }
    if (fs::is_directory(args.json, ec)) {
      return report(kExitUsage, "--json " + args.json + ": is a directory");
    }
  }

  Report r;
  r.model = args.model;
  r.file_bytes = static_cast<uint64_t>(fs::file_size(args.model, ec));
  if (ec) return report(kExitFailure, args.model + ": " + ec.message());
  const char* isa_env = std::getenv("QRT_ISA");
  r.isa = isa_env && *isa_env ? isa_env : "default";
  r.isa_source = isa_env && *isa_env ? "QRT_ISA" : "default";
  r.seed = args.seed;
  r.warmup = args.warmup;
  r.per_op = args.per_op;

  std::string error;
  ModelPtr model;
  auto start = Clock::now();
  const bool loaded = load_model(args.model, &model, &error);
  r.load_ms = ms_since(start, Clock::now());
  if (!loaded) return report(kExitFailure, error);

  qrt_options options;
  qrt_options_init(&options);
  if (args.threads > 0) options.threads = args.threads;
  r.threads = options.threads;
  r.threads_used = threads_used(options.threads);
  InterpreterPtr interp;
  start = Clock::now();
  const bool prepared = create_interpreter(model.get(), options, args.model, &interp, &error);
  r.prepare_ms = ms_since(start, Clock::now());
  if (!prepared) return report(kExitFailure, error);

  std::vector<qrt_tensor> tensors;
  if (!input_tensors(interp.get(), &tensors, &error)) return report(kExitFailure, error);
  if (!args.sequence_input.empty()) {
    const std::string flag = "--sequence-axis " + args.sequence_input + ":" +
                             std::to_string(args.sequence_axis);
    const int32_t index = qrt_input_index(interp.get(), args.sequence_input.c_str());
    if (index < 0) {
      std::string names;
      for (const qrt_tensor& t : tensors) {
        names += (names.empty() ? "'" : ", '") + tensor_name(t) + "'";
      }
      return report(kExitUsage, flag + ": no input '" + args.sequence_input + "' (inputs: " +
                                    names + ")");
    }
    const qrt_tensor& t = tensors[static_cast<size_t>(index)];
    if (args.sequence_axis >= t.rank) {
      return report(kExitUsage, flag + ": input " + describe(t) + " has rank " +
                                    std::to_string(t.rank));
    }
    r.sequence = {"tokens", t.dims[args.sequence_axis], tensor_name(t), args.sequence_axis,
                  "--sequence-axis"};
  }
  std::vector<InputPlan> plans(tensors.size());
  r.inputs = &plans;
  for (size_t i = 0; i < plans.size(); ++i) plans[i].tensor = tensors[i];
  // Inputs not given get random data.
  std::vector<Binding> bindings;
  if (!bind_inputs(args.inputs, interp.get(), tensors, /*require_all=*/false, &bindings, &error)) {
    return report(kExitUsage, error);
  }
  for (size_t i = 0; i < plans.size(); ++i) {
    InputPlan& p = plans[i];
    if (bindings[i].file.empty()) {
      p.data = random_input(p.tensor, args.seed, i);
      continue;
    }
    NpyArray a;
    if (!read_input(bindings[i], p.tensor, &a, &error)) return report(kExitFailure, error);
    p.source = bindings[i].file;
    p.data = std::move(a.data);
  }
  if (!set_inputs(interp.get(), plans, &error)) return report(kExitFailure, error);

  if (!run_many(interp.get(), args.warmup, "warm-up", nullptr, &error)) {
    return report(kExitFailure, error);
  }
  r.samples_ms.reserve(static_cast<size_t>(args.runs));
  if (!run_many(interp.get(), args.runs, "timed", &r.samples_ms, &error)) {
    return report(kExitFailure, error);
  }
  r.latency = stats_of(r.samples_ms);
  const qrt_status status = qrt_memory(interp.get(), &r.memory);
  if (status != QRT_OK) return report(kExitFailure, "memory info: " + library_error(status));
  r.peak_rss = peak_rss_bytes();
  // After the peak RSS reading: this reads the whole file once more.
  if (args.sequence_input.empty()) find_rnn_sequence(args.model, &r.sequence);
  // The profiling pass gets its own interpreter; freeing this one first keeps
  // peak memory at one arena.
  interp.reset();

  if (args.per_op) {
    r.profiled_runs = std::min(args.runs, kMaxProfiledRuns);
    if (!profile_ops(model.get(), options, plans, args.warmup, r.profiled_runs, &r.ops, &error)) {
      return report(kExitFailure, error);
    }
  }

  print_report(r);
  if (!args.json.empty()) {
    if (!write_text(args.json, to_json(r), &error)) return report(kExitFailure, "--json " + error);
    std::printf("json        %s\n", args.json.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const CommandLine command_line{
      kTool,
      kUsage,
      "qrt-bench MODEL.qrt [options]",
      {"--profile-ops"},
      {"--runs", "--warmup", "--threads", "--input", "--seed", "--json", "--isa",
       "--sequence-axis"}};
  return tool_main(argc, argv, command_line, set_flag, run);
}
