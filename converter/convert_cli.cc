#include "convert_cli.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fnmatch.h>
#include <sys/stat.h>

#include <onnx/onnx_pb.h>

#include "graph.h"
#include "lower.h"
#include "passes.h"
#include "qrt/qrt.h"
#include "quantize.h"
#include "tool_io.h"
#include "write_file.h"

namespace qrt::convert {

namespace {

const char* kUsage =
    "usage: qrt-convert IN.onnx -o OUT.qrt [options]\n"
    "\n"
    "  -o, --output FILE          the .qrt to write (written atomically)\n"
    "  --mode fp32|static|dynamic float model, post-training static quantization, or\n"
    "                             dynamic quantization (int8 Linear, LSTM and GRU weights,\n"
    "                             float activations quantized per call: quantize_dynamic)\n"
    "  --profile qnnpack|fbgemm   numeric profile; in static mode also PyTorch's default\n"
    "                             qconfig for that backend (default qnnpack)\n"
    "  --input-shape NAME=D,D,..  fix the shape of a graph input (needed for dynamic dims)\n"
    "  --fix-input NAME=VALUE     replace a graph input by a constant (folds control flow)\n"
    "  --nhwc-io                  give graph inputs/outputs the runtime's NHWC layout\n"
    "                             instead of the exported one\n"
    "  -q, --quiet                print nothing but errors\n"
    "  -h, --help                 this text\n"
    "\n"
    "static mode:\n"
    "  --calib PATH               calibration data: .npy/.npz files or folders of them\n"
    "                             (repeatable); arrays are batches [B, ...] or samples\n"
    "  --calib-batch N            cut all samples into batches of N (default: one\n"
    "                             forward call per file)\n"
    "  --observer KIND            activation observer: histogram (profile default),\n"
    "                             minmax, moving-average or percentile\n"
    "  --percentile P             percentile observer: keep P% of the mass (default 99.99)\n"
    "  --per-channel on|off       per-channel weights (static: fbgemm default on, qnnpack\n"
    "                             off; dynamic: off in both, as default_dynamic_qconfig)\n"
    "  --reduce-range on|off      7-bit activations (fbgemm default on, qnnpack off)\n"
    "  --histogram-compat torch1.13\n"
    "                             reproduce PyTorch 1.13's HistogramObserver, which\n"
    "                             truncates its range to integers (#83672)\n"
    "  --keep-float NODE,...      run these ONNX nodes in float32; a NODE with * ? or [ ]\n"
    "                             is a glob over node names ('*' crosses '/')\n"
    "  --report-json FILE         also write the conversion report as JSON\n"
    "\n"
    "dynamic mode:\n"
    "  --embedding int8|fp32      nn.Embedding tables (Gather on a constant 2-D float\n"
    "                             table): fp32 (default, as quantize_dynamic's default\n"
    "                             modules) or int8 rows with a float scale and bias\n"
    "                             each (float_qparams_weight_only_qconfig)\n"
    "\n"
    "dynamic mode takes --per-channel and --keep-float; the other static options\n"
    "need calibration and are refused. As quantize_dynamic(model, dtype=torch.qint8)\n"
    "it quantizes nn.Linear modules (Gemm, or MatMul with a constant 2-D weight; a\n"
    "MatMul + bias Add becomes one op) and LSTM/GRU weights per direction, W and R\n"
    "each on its own (per row with --per-channel on). F.linear calls inside a\n"
    "module stay float, as PyTorch leaves them: a Linear-like node whose module\n"
    "scope in the exported node name ('/layer/self_attn/MatMul') holds other\n"
    "computation than its bias Add, e.g. nn.MultiheadAttention's in_proj and\n"
    "out_proj. Names without a scope count as modules; --keep-float '*/attn/*'\n"
    "keeps more nodes float.\n";

struct Args {
  std::string input, output, mode = "fp32", profile = "qnnpack";
  ImportOptions import;
  bool nhwc_io = false, quiet = false, help = false;
  std::vector<std::string> calib;
  int64_t calib_batch = 0;
  std::string observer, per_channel, reduce_range, histogram_compat, report_json, embedding;
  double percentile = 99.99;
  bool percentile_given = false;
  std::set<std::string> keep_float;
};

int usage_error(const std::string& what) {
  std::fprintf(stderr, "qrt-convert: %s\n(run qrt-convert --help for usage)\n", what.c_str());
  return 2;
}

bool parse_ints(const std::string& text, std::vector<int64_t>* out) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno != 0 || v <= 0) return false;
    out->push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return !out->empty();
}

bool on_off(const std::string& v) { return v == "on" || v == "off"; }

// Returns 0 on success, else the exit code after printing the error.
int parse_args(int argc, const char* const* argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "-h" || arg == "--help") {
      a->help = true;
      return 0;
    } else if (arg == "-o" || arg == "--output") {
      if (!value(&a->output)) return usage_error(arg + " needs a file name");
    } else if (arg == "--mode") {
      if (!value(&a->mode)) return usage_error("--mode needs a value (fp32, static or dynamic)");
      if (a->mode != "fp32" && a->mode != "static" && a->mode != "dynamic")
        return usage_error("--mode " + a->mode + " is not available (have: fp32, static, dynamic)");
    } else if (arg == "--profile") {
      if (!value(&a->profile)) return usage_error("--profile needs a value (qnnpack or fbgemm)");
      if (a->profile != "qnnpack" && a->profile != "fbgemm")
        return usage_error("--profile " + a->profile + ": expected qnnpack or fbgemm");
    } else if (arg == "--input-shape") {
      if (!value(&v)) return usage_error("--input-shape needs NAME=D,D,...");
      size_t eq = v.rfind('=');
      std::vector<int64_t> dims;
      if (eq == std::string::npos || eq == 0 || !parse_ints(v.substr(eq + 1), &dims))
        return usage_error("--input-shape " + v + ": expected NAME=D,D,... with positive dims");
      a->import.input_shapes[v.substr(0, eq)] = dims;
    } else if (arg == "--fix-input") {
      if (!value(&v)) return usage_error("--fix-input needs NAME=VALUE");
      size_t eq = v.rfind('=');
      char* end = nullptr;
      double x = eq == std::string::npos ? 0 : std::strtod(v.c_str() + eq + 1, &end);
      if (eq == std::string::npos || eq == 0 || !end || *end != '\0' || eq + 1 == v.size())
        return usage_error("--fix-input " + v + ": expected NAME=NUMBER");
      a->import.fixed_inputs[v.substr(0, eq)] = x;
    } else if (arg == "--nhwc-io") {
      a->nhwc_io = true;
    } else if (arg == "-q" || arg == "--quiet") {
      a->quiet = true;
    } else if (arg == "--calib") {
      if (!value(&v)) return usage_error("--calib needs a file or folder");
      a->calib.push_back(v);
    } else if (arg == "--calib-batch") {
      std::vector<int64_t> n;
      if (!value(&v) || !parse_ints(v, &n) || n.size() != 1)
        return usage_error("--calib-batch needs a positive number");
      a->calib_batch = n[0];
    } else if (arg == "--observer") {
      if (!value(&a->observer) || (a->observer != "minmax" && a->observer != "moving-average" &&
                                   a->observer != "histogram" && a->observer != "percentile"))
        return usage_error("--observer: expected minmax, moving-average, histogram or percentile");
    } else if (arg == "--percentile") {
      char* end = nullptr;
      if (!value(&v)) return usage_error("--percentile needs a number");
      a->percentile = std::strtod(v.c_str(), &end);
      if (!end || *end != '\0' || !(a->percentile > 0 && a->percentile <= 100))
        return usage_error("--percentile " + v + ": expected a number in (0, 100]");
      a->percentile_given = true;
    } else if (arg == "--per-channel") {
      if (!value(&a->per_channel) || !on_off(a->per_channel)) return usage_error("--per-channel: expected on or off");
    } else if (arg == "--reduce-range") {
      if (!value(&a->reduce_range) || !on_off(a->reduce_range))
        return usage_error("--reduce-range: expected on or off");
    } else if (arg == "--histogram-compat") {
      if (!value(&a->histogram_compat) || a->histogram_compat != "torch1.13")
        return usage_error("--histogram-compat: the only compatibility mode is torch1.13");
    } else if (arg == "--keep-float") {
      if (!value(&v) || v.empty()) return usage_error("--keep-float needs NODE[,NODE...]");
      size_t pos = 0;
      while (pos <= v.size()) {
        const size_t comma = v.find(',', pos);
        const std::string name = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (name.empty()) return usage_error("--keep-float " + v + ": empty node name");
        a->keep_float.insert(name);
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    } else if (arg == "--embedding") {
      if (!value(&a->embedding) || (a->embedding != "int8" && a->embedding != "fp32"))
        return usage_error("--embedding: expected int8 or fp32");
    } else if (arg == "--report-json") {
      if (!value(&a->report_json)) return usage_error("--report-json needs a file name");
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("unknown option " + arg);
    } else if (a->input.empty()) {
      a->input = arg;
    } else {
      return usage_error("more than one input model given ('" + a->input + "' and '" + arg + "')");
    }
  }
  if (a->input.empty()) return usage_error("no input model given");
  if (a->output.empty()) return usage_error("no output given (-o OUT.qrt)");
  if (!a->embedding.empty() && a->mode != "dynamic")
    return usage_error("--embedding applies to --mode dynamic only");
  if (a->mode != "static") {
    const char* only_static = !a->calib.empty() ? "--calib"
                              : a->calib_batch ? "--calib-batch"
                              : !a->observer.empty() ? "--observer"
                              : a->percentile_given ? "--percentile"
                              : !a->reduce_range.empty() ? "--reduce-range"
                              : !a->histogram_compat.empty() ? "--histogram-compat"
                                                             : nullptr;
    if (only_static)
      return usage_error(std::string(only_static) + " applies to --mode static only" +
                         (a->mode == "dynamic" ? " (dynamic quantization has no calibration: the runtime "
                                                 "quantizes each input from its own range)"
                                               : ""));
    const char* quantizing = !a->per_channel.empty() ? "--per-channel"
                             : !a->keep_float.empty() ? "--keep-float"
                                                      : nullptr;
    if (a->mode == "fp32" && quantizing)
      return usage_error(std::string(quantizing) + " applies to --mode static or dynamic only");
  } else {
    if (a->calib.empty()) return usage_error("--mode static needs calibration data (--calib FILE_OR_FOLDER)");
    const std::string obs = a->observer.empty() ? "histogram" : a->observer;
    if (!a->histogram_compat.empty() && obs != "histogram" && obs != "percentile")
      return usage_error("--histogram-compat applies to the histogram and percentile observers only");
    if (a->percentile_given && obs != "percentile")
      return usage_error("--percentile applies to --observer percentile only");
  }
  return 0;
}

QuantizeConfig quantize_config(const Args& a) {
  const fb::Profile profile = a.profile == "fbgemm" ? fb::Profile::Fbgemm : fb::Profile::Qnnpack;
  QuantizeConfig c = a.mode == "dynamic" ? default_dynamic_qconfig(profile) : default_qconfig(profile);
  if (a.observer == "minmax") c.activation.kind = ObserverKind::min_max;
  if (a.observer == "moving-average") c.activation.kind = ObserverKind::moving_average;
  if (a.observer == "percentile") c.activation.kind = ObserverKind::percentile;
  c.activation.percentile = a.percentile;
  if (!a.reduce_range.empty()) c.activation.reduce_range = a.reduce_range == "on";
  if (!a.per_channel.empty())
    c.weight.kind = a.per_channel == "on" ? ObserverKind::per_channel_min_max : ObserverKind::min_max;
  if (a.histogram_compat == "torch1.13") c.activation.histogram_range = HistogramRange::torch113;
  c.keep_float = a.keep_float;
  c.int8_embeddings = a.embedding == "int8";
  return c;
}

bool fail(std::string* error, const std::string& what) {
  if (error) *error = what;
  return false;
}

// ---------------------------------------------------------------- report

struct Report {
  size_t onnx_nodes = 0;
  size_t fp32_bytes = 0;   // the float version of the model, lowered
  size_t model_bytes = 0;  // the written model
  bool qdq = false;        // the input carried QuantizeLinear/DequantizeLinear params
  size_t arena_bytes = 0;
  int quantized_ops = 0;
  int float_ops = 0;
  int dynamic_ops = 0;  // float in/out, int8 weights
  std::vector<std::string> functional;  // Linear-like nodes dynamic mode leaves float
  std::map<std::string, int> ops;  // by runtime op kind
  std::vector<LayerError> layers;
  size_t calib_batches = 0;
  int64_t calib_samples = 0;
  QuantTable table;
};

// Loads the model into the runtime, as a device would, for its arena size
// and op list; a model the runtime refuses is a failed conversion.
bool inspect_model(const std::vector<uint8_t>& model, Report* r, std::string* error) {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  const size_t size = (model.size() + 63) / 64 * 64;
  std::unique_ptr<uint8_t, Free> bytes(static_cast<uint8_t*>(std::aligned_alloc(64, size)));
  if (!bytes) return fail(error, "out of memory");
  std::memcpy(bytes.get(), model.data(), model.size());
  qrt_model* m = nullptr;
  qrt_interpreter* it = nullptr;
  qrt_options options;
  qrt_options_init(&options);
  qrt_status s = qrt_model_from_buffer(bytes.get(), model.size(), &m);
  if (s == QRT_OK) s = qrt_interpreter_create(m, &options, &it);
  bool ok = s == QRT_OK;
  if (!ok) {
    *error = std::string("the runtime refuses the converted model: ") + qrt_last_error();
  } else {
    qrt_memory_info mem;
    if (qrt_memory(it, &mem) == QRT_OK) r->arena_bytes = mem.total_bytes;
    for (int32_t k = 0; k < qrt_op_count(it); ++k) {
      qrt_op_profile p;
      if (qrt_op_profile_at(it, k, &p) == QRT_OK) r->ops[p.kind]++;
    }
  }
  qrt_interpreter_free(it);
  qrt_model_free(m);
  return ok;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// Shortest decimal that reads back as the same float32.
std::string float_text(float v) {
  char buf[32];
  for (int p = 6; p <= 9; ++p) {
    std::snprintf(buf, sizeof(buf), "%.*g", p, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

std::string db_text(double db) {
  if (std::isinf(db)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", db);
  return buf;
}

// What the written model holds, whatever --mode said: a QDQ import is int8
// in fp32 mode, and a mode that quantized nothing left fp32.
const char* model_kind(const Report& r) {
  if (r.quantized_ops == 0 && r.dynamic_ops == 0) return "fp32";
  if (r.qdq) return "QDQ int8";
  return r.quantized_ops ? "int8 static" : "int8 dynamic";
}

std::string report_json(const Args& a, const Report& r) {
  std::string j = "{\n";
  j += "  \"input\": " + json_string(a.input) + ",\n";
  j += "  \"output\": " + json_string(a.output) + ",\n";
  j += "  \"mode\": " + json_string(a.mode) + ",\n";
  j += "  \"profile\": " + json_string(a.profile) + ",\n";
  j += "  \"onnx_nodes\": " + std::to_string(r.onnx_nodes) + ",\n";
  j += "  \"size\": {\"fp32_bytes\": " + std::to_string(r.fp32_bytes) +
       ", \"model_bytes\": " + std::to_string(r.model_bytes) +
       ", \"model_kind\": " + json_string(model_kind(r)) + "},\n";
  j += "  \"arena_bytes\": " + std::to_string(r.arena_bytes) + ",\n";
  j += "  \"ops\": {\"total\": " + std::to_string(r.quantized_ops + r.dynamic_ops + r.float_ops) +
       ", \"quantized\": " + std::to_string(r.quantized_ops) + ", \"dynamic\": " + std::to_string(r.dynamic_ops) +
       ", \"float\": " + std::to_string(r.float_ops) + ", \"by_kind\": {";
  bool first = true;
  for (const auto& [kind, n] : r.ops) {
    j += (first ? "" : ", ") + json_string(kind) + ": " + std::to_string(n);
    first = false;
  }
  j += "}}";
  if (a.mode == "static") {
    j += ",\n  \"calibration\": {\"batches\": " + std::to_string(r.calib_batches) +
         ", \"samples\": " + std::to_string(r.calib_samples) + "},\n";
    j += "  \"layers\": [";
    for (size_t i = 0; i < r.layers.size(); ++i) {
      const LayerError& e = r.layers[i];
      j += std::string(i ? ",\n" : "\n") + "    {\"name\": " + json_string(e.name) + ", \"sqnr_db\": " +
           (std::isinf(e.sqnr_db) ? std::string("null") : db_text(e.sqnr_db)) +
           ", \"elements\": " + std::to_string(e.elements) + "}";
    }
    j += "\n  ],\n  \"qparams\": [";
    first = true;
    for (const auto& [name, q] : r.table) {
      j += std::string(first ? "\n" : ",\n") + "    {\"name\": " + json_string(name) + ", \"scale\": [";
      for (size_t k = 0; k < q.scale.size(); ++k) j += (k ? ", " : "") + float_text(q.scale[k]);
      j += "], \"zero_point\": [";
      for (size_t k = 0; k < q.zero_point.size(); ++k) j += (k ? ", " : "") + std::to_string(q.zero_point[k]);
      j += "]}";
      first = false;
    }
    j += "\n  ]";
  }
  return j + "\n}\n";
}

void print_report(const Args& a, const Report& r) {
  std::string counts = std::to_string(r.quantized_ops) + " int8, ";
  if (a.mode == "dynamic")
    counts = std::to_string(r.dynamic_ops) + " quantized dynamically, " + (r.quantized_ops ? counts : "");
  std::printf("qrt-convert: %s -> %s  %s %s, %zu ONNX nodes -> %d ops (%s%d float)\n", a.input.c_str(),
              a.output.c_str(), a.mode.c_str(), a.profile.c_str(), r.onnx_nodes,
              r.quantized_ops + r.dynamic_ops + r.float_ops, counts.c_str(), r.float_ops);
  // Like PyTorch's print_model_size: the bytes of the saved file.
  std::printf("  model size: fp32 %zu bytes (%.2f MB) -> %s %zu bytes (%.2f MB)", r.fp32_bytes,
              static_cast<double>(r.fp32_bytes) / 1e6, model_kind(r), r.model_bytes,
              static_cast<double>(r.model_bytes) / 1e6);
  // Tiny int8 models can outgrow their float version (per-tensor params).
  const double f = static_cast<double>(r.fp32_bytes), m = static_cast<double>(r.model_bytes);
  if (std::string(model_kind(r)) != "fp32" && f > 0 && m > 0)
    std::printf(", %.2fx %s", f >= m ? f / m : m / f, f >= m ? "smaller" : "larger");
  std::printf("\n");
  std::printf("  arena: %zu bytes\n  ops:", r.arena_bytes);
  for (const auto& [kind, n] : r.ops) std::printf(" %s %d", kind.c_str(), n);
  std::printf("\n");
  if (a.mode == "dynamic" && !r.functional.empty()) {
    std::printf("  float as in quantize_dynamic (F.linear inside a module, not an nn.Linear):");
    for (const std::string& name : r.functional) std::printf(" %s", name.c_str());
    std::printf("\n");
  }
  if (a.mode != "static") return;
  std::printf("  calibration: %zu batches, %lld samples\n", r.calib_batches,
              static_cast<long long>(r.calib_samples));
  std::printf("  SQNR int8 vs fp32 on the calibration data, worst first (dB):\n");
  constexpr size_t kShown = 30;
  for (size_t i = 0; i < r.layers.size() && i < kShown; ++i)
    std::printf("    %8s  %s\n", db_text(r.layers[i].sqnr_db).c_str(), r.layers[i].name.c_str());
  if (r.layers.size() > kShown)
    std::printf("    ... %zu more%s\n", r.layers.size() - kShown,
                a.report_json.empty() ? " (all in --report-json)" : "");
}

bool lower_to(const Graph& g, const Args& a, const std::set<std::string>& keep_float, LowerResult* out,
              std::string* error, bool dynamic = false) {
  LowerOptions lower;
  lower.dynamic = dynamic;
  lower.profile = a.profile == "fbgemm" ? fb::Profile::Fbgemm : fb::Profile::Qnnpack;
  lower.keep_io_layout = !a.nhwc_io;
  lower.keep_float = keep_float;
  if (lower_graph(g, lower, out, error)) return true;
  *error = a.input + ": " + *error;
  return false;
}

// Ops whose constant inputs are learned parameters (weights, biases,
// normalisation statistics). Infinity elsewhere can be deliberate (an
// attention mask of -inf); here it only comes from a broken model.
bool takes_weights(const std::string& op) {
  static const std::set<std::string> kOps = {
      "Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "InstanceNormalization",
      "LayerNormalization", "PRelu", "LSTM", "GRU", "RNN"};
  return kOps.count(op) != 0;
}

// A model with NaN or infinite weights (a diverged training run, a bad
// export) would convert to garbage without complaint: the observers would
// see NaN ranges and quantize to nonsense. Refused, naming the initializer.
bool check_finite_weights(const Graph& g, const std::string& label, std::string* error) {
  for (const Node& n : g.nodes) {
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (n.inputs[k] < 0) continue;
      const Value& v = g.values[static_cast<size_t>(n.inputs[k])];
      if (!v.is_constant || v.type != ElemType::f32) continue;
      const bool weights = takes_weights(n.op);
      const float* f = v.as<float>();
      const size_t count = v.data.size() / sizeof(float);
      for (size_t i = 0; i < count; ++i) {
        if (std::isnan(f[i]) || (weights && std::isinf(f[i])))
          return fail(error, label + ": initializer '" + v.name + "' (input " + std::to_string(k) +
                                 " of node '" + n.name + "' (" + n.op + ")) holds " +
                                 (std::isnan(f[i]) ? "NaN" : f[i] > 0 ? "+inf" : "-inf") +
                                 " at element " + std::to_string(i) + " of " +
                                 std::to_string(count) +
                                 ": the model's weights are broken (a diverged training run or a "
                                 "bad export?)");
      }
    }
  }
  return true;
}

bool is_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// --keep-float globs -> the node names they match (each must match one);
// plain names pass through for the mode's own check.
bool expand_keep_float(const std::set<std::string>& patterns, const std::set<std::string>& nodes,
                       const std::string& label, std::set<std::string>* out, std::string* error) {
  for (const std::string& p : patterns) {
    if (!is_glob(p)) {
      out->insert(p);
      continue;
    }
    size_t matched = 0;
    for (const std::string& name : nodes)
      if (fnmatch(p.c_str(), name.c_str(), 0) == 0) {
        out->insert(name);
        ++matched;
      }
    if (!matched) return fail(error, "--keep-float pattern '" + p + "' matches no node of " + label);
  }
  return true;
}

bool convert(const Args& a, Report* r, std::vector<uint8_t>* model, std::string* error) {
  Graph fp32;
  if (!import_onnx_file(a.input, a.import, &fp32, error)) return false;
  if (!check_finite_weights(fp32, a.input, error)) return false;
  r->onnx_nodes = fp32.nodes.size();
  // --keep-float names ONNX nodes, some of which (a Relu) the passes fold away.
  std::set<std::string> node_names;
  for (const Node& n : fp32.nodes) node_names.insert(n.name);
  std::set<std::string> keep_float;
  if (!expand_keep_float(a.keep_float, node_names, a.input, &keep_float, error)) return false;
  if (!run_default_passes(fp32, error)) {
    *error = a.input + ": " + *error;
    return false;
  }
  LowerResult lowered;
  if (!lower_to(fp32, a, {}, &lowered, error)) return false;
  r->fp32_bytes = lowered.model.size();
  // A QDQ model lowers to int8 as it is; its float version drops the params
  // (the dequantized weights are float already).
  r->qdq = std::any_of(fp32.values.begin(), fp32.values.end(), [](const Value& v) { return !v.quant.scale.empty(); });
  if (r->qdq) {
    Graph dequantized = fp32;
    for (Value& v : dequantized.values) v.quant = QuantParams{};
    LowerResult float_version;
    if (!lower_to(dequantized, a, {}, &float_version, error)) return false;
    r->fp32_bytes = float_version.model.size();
  }
  if (a.mode == "static") {
    QuantizeConfig config = quantize_config(a);
    config.keep_float = keep_float;
    const GraphFactory factory = onnx_graph_factory(a.input, a.import);
    const bool progress = !a.quiet && stderr_is_terminal();
    StaticQuantization sq;
    if (!quantize_static(factory, config, a.calib, a.calib_batch, progress, &sq, error)) return false;
    auto apply = [&](Graph& g, std::string* e) { return apply_quantization(g, sq.table, e); };
    Graph g;
    if (!factory(0, &g, error) || !apply(g, error)) return false;
    if (!lower_to(g, a, sq.float_nodes, &lowered, error)) return false;
    if (!inspect_model(lowered.model, r, error)) return false;
    if (!measure_sqnr(factory, apply, sq.float_nodes, config.profile, sq.data, progress, &r->layers, error))
      return false;
    r->calib_batches = sq.data.batches();
    r->calib_samples = sq.data.samples;
    r->table = sq.table;
  } else if (a.mode == "dynamic") {
    QuantizeConfig config = quantize_config(a);
    config.keep_float = keep_float;
    r->functional = functional_linears(fp32);
    for (const std::string& name : config.keep_float)
      if (!node_names.count(name))
        return fail(error, "--keep-float names '" + name + "', which is not a node of " + a.input);
    if (!quantize_dynamic(fp32, config, error) || !lower_to(fp32, a, config.keep_float, &lowered, error, true) ||
        !inspect_model(lowered.model, r, error))
      return false;
  } else if (!inspect_model(lowered.model, r, error)) {
    return false;
  }
  r->model_bytes = lowered.model.size();
  r->quantized_ops = lowered.quantized_ops;
  r->float_ops = lowered.float_ops;
  r->dynamic_ops = lowered.dynamic_ops;
  *model = std::move(lowered.model);
  return true;
}

}  // namespace

GraphFactory onnx_graph_factory(const std::string& path, const ImportOptions& options) {
  return [path, options](int64_t batch, Graph* g, std::string* error) {
    if (!import_onnx_file(path, options, g, error)) return false;
    ImportOptions batched = options;
    bool changed = false;
    for (int v : g->inputs) {
      std::vector<int64_t> shape = g->values[static_cast<size_t>(v)].shape;
      if (batch <= 0 || shape.empty() || shape[0] == batch) continue;
      shape[0] = batch;
      batched.input_shapes[g->values[static_cast<size_t>(v)].name] = shape;
      changed = true;
    }
    if (changed) {
      // The graph outputs' declared shapes still carry the exported batch and
      // would contradict shape inference for the new one: drop them.
      onnx::ModelProto model;
      std::ifstream in(path, std::ios::binary);
      if (!model.ParseFromIstream(&in)) return fail(error, path + ": cannot read the model again");
      for (auto& out : *model.mutable_graph()->mutable_output())
        if (out.type().has_tensor_type()) out.mutable_type()->mutable_tensor_type()->clear_shape();
      const std::string bytes = model.SerializeAsString();
      std::string why;
      if (!import_onnx_bytes(bytes.data(), bytes.size(), path, batched, g, &why))
        return fail(error, "the model cannot take a batch of " + std::to_string(batch) +
                               " (the size of a calibration batch): " + why +
                               "; use --calib-batch to match the model's batch size");
    }
    fold_constants(*g);
    if (!import_qdq(*g, error)) return fail(error, path + ": " + *error);
    for (const Value& v : g->values)
      if (!v.quant.scale.empty())
        return fail(error, path + ": the model is already quantized (QuantizeLinear/DequantizeLinear "
                                  "around '" + v.name + "'); convert it without --mode static");
    remove_identities(*g);
    fold_batch_norm(*g);
    fuse_patterns(*g);
    return true;
  };
}

int qrt_convert_main(int argc, const char* const* argv) {
  Args args;
  if (int code = parse_args(argc, argv, &args)) return code;
  if (args.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  auto failed = [](const std::string& what) {
    std::fprintf(stderr, "qrt-convert: %s\n", what.c_str());
    return 1;
  };
  // What can be told before a conversion that may take minutes.
  const std::string missing = tools::file_problem(args.input);
  if (!missing.empty()) return failed(args.input + ": " + missing);
  for (const std::string* out : {&args.output, &args.report_json}) {
    if (out->empty()) continue;
    const std::string problem = output_path_problem(*out);
    if (!problem.empty()) return failed(problem);
    struct stat in_st, out_st;
    if (stat(args.input.c_str(), &in_st) == 0 && stat(out->c_str(), &out_st) == 0 &&
        in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino)
      return failed(*out + ": is the input model; writing it would destroy the input");
  }
  Report report;
  std::vector<uint8_t> model;
  std::string error;
  if (!convert(args, &report, &model, &error)) return failed(error);
  // Both files are written in full before either replaces anything: a
  // failure leaves neither a new model without its report nor a partial one.
  std::string model_temp, report_temp;
  if (!write_temp_file(args.output, model.data(), model.size(), &model_temp, &error))
    return failed(error);
  if (!args.report_json.empty()) {
    const std::string j = report_json(args, report);
    if (!write_temp_file(args.report_json, j.data(), j.size(), &report_temp, &error)) {
      std::remove(model_temp.c_str());
      return failed(error);
    }
  }
  if (!commit_temp_file(model_temp, args.output, &error)) {
    if (!report_temp.empty()) std::remove(report_temp.c_str());
    return failed(error);
  }
  if (!report_temp.empty() && !commit_temp_file(report_temp, args.report_json, &error))
    return failed(error + " (" + args.output + " was written)");
  if (!args.quiet) print_report(args, report);
  if (!args.quiet && args.mode == "dynamic" && report.dynamic_ops == 0 && report.quantized_ops == 0)
    std::fprintf(stderr,
                 "qrt-convert: warning: --mode dynamic quantized nothing: %s has no Gemm or MatMul "
                 "with constant 2-D weights (what nn.Linear exports), LSTM or GRU outside --keep-float, so %s "
                 "runs entirely in float32\n",
                 args.input.c_str(), args.output.c_str());
  return 0;
}

}  // namespace qrt::convert
