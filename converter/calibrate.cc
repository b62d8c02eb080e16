#include "calibrate.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>

#include "kernels/ref/quant_math.h"
#include "lower.h"
#include "qrt/qrt.h"

namespace qrt::convert {

namespace {

bool fail(std::string* error, const std::string& what) {
  if (error) *error = what;
  return false;
}

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// A lowered graph loaded into the runtime. The model bytes must stay put
// and 16-byte aligned while the model lives.
struct Runner {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> bytes;
  qrt_model* model = nullptr;
  qrt_interpreter* interpreter = nullptr;
  // Graph value names of the outputs, in output order.
  std::vector<std::string> outputs;

  Runner() = default;
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  ~Runner() {
    qrt_interpreter_free(interpreter);
    qrt_model_free(model);
  }
};

// Lowers `g` with `outputs` (value names) as its graph outputs.
bool make_runner(Graph g, const std::vector<std::string>& outputs, fb::Profile profile,
                 const std::set<std::string>& keep_float, std::unique_ptr<Runner>* out,
                 std::string* error) {
  auto r = std::make_unique<Runner>();
  g.outputs.clear();
  for (const std::string& name : outputs) {
    const int v = g.find_value(name);
    if (v < 0) return fail(error, "value '" + name + "' is missing from the graph");
    g.outputs.push_back(v);
    r->outputs.push_back(name);
  }
  LowerOptions lo;
  lo.profile = profile;
  lo.keep_float = keep_float;
  LowerResult lowered;
  if (!lower_graph(g, lo, &lowered, error)) return false;
  const size_t size = (lowered.model.size() + 63) / 64 * 64;
  r->bytes.reset(static_cast<uint8_t*>(std::aligned_alloc(64, size)));
  if (!r->bytes) return fail(error, "out of memory for the lowered model");
  std::memcpy(r->bytes.get(), lowered.model.data(), lowered.model.size());
  qrt_status s = qrt_model_from_buffer(r->bytes.get(), lowered.model.size(), &r->model);
  qrt_options options;
  qrt_options_init(&options);
  if (s == QRT_OK) s = qrt_interpreter_create(r->model, &options, &r->interpreter);
  if (s != QRT_OK) return fail(error, std::string("the runtime refuses the lowered model: ") + qrt_last_error());
  *out = std::move(r);
  return true;
}

// Copies the batch's inputs in and runs the graph.
bool run(Runner& r, const Graph& g, const CalibBatch& b, std::string* error) {
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const std::string& name = g.values[static_cast<size_t>(g.inputs[i])].name;
    const int32_t index = qrt_input_index(r.interpreter, name.c_str());
    if (index < 0) return fail(error, "the lowered model has no input '" + name + "'");
    const std::vector<float>& data = b.inputs[i];
    const std::vector<uint8_t>& ints = b.integers[i];
    const ElemType type = g.values[static_cast<size_t>(g.inputs[i])].type;
    const qrt_status s =
        type == ElemType::f32
            ? qrt_set_input(r.interpreter, index, QRT_F32, data.data(), data.size() * sizeof(float))
            : qrt_set_input(r.interpreter, index, type == ElemType::i64 ? QRT_I64 : QRT_I32, ints.data(), ints.size());
    if (s != QRT_OK) return fail(error, b.label + ": " + qrt_last_error());
  }
  if (qrt_invoke(r.interpreter) != QRT_OK)
    return fail(error, b.label + ": running the model failed: " + qrt_last_error());
  return true;
}

std::vector<int64_t> dims_of(const qrt_tensor& t) {
  return std::vector<int64_t>(t.dims, t.dims + t.rank);
}

std::vector<int64_t> batch_shape(const Graph& g, size_t input, int64_t batch) {
  std::vector<int64_t> s = g.values[static_cast<size_t>(g.inputs[input])].shape;
  if (!s.empty()) s[0] = batch;
  return s;
}

// Runners per batch size, built on first use.
struct RunnerCache {
  const GraphFactory& make_graph;
  std::function<bool(Graph&, std::string*)> transform;
  std::function<std::vector<std::string>(const Graph&)> outputs;
  fb::Profile profile;
  std::set<std::string> keep_float;
  std::map<int64_t, std::pair<Graph, std::unique_ptr<Runner>>> runners;

  bool get(int64_t batch, const Graph** g, Runner** r, std::string* error) {
    auto it = runners.find(batch);
    if (it == runners.end()) {
      Graph graph;
      if (!make_graph(batch, &graph, error)) return false;
      if (transform && !transform(graph, error)) return false;
      std::unique_ptr<Runner> runner;
      if (!make_runner(graph, outputs(graph), profile, keep_float, &runner, error)) {
        // A model exported for one batch size often bakes it into shapes
        // (a Reshape's target): say what to do about it.
        Graph exported;
        std::string ignored;
        if (batch > 0 && make_graph(0, &exported, &ignored) && !exported.inputs.empty()) {
          const std::vector<int64_t>& shape =
              exported.values[static_cast<size_t>(exported.inputs[0])].shape;
          if (!shape.empty() && shape[0] != batch && error)
            *error = "the model, exported for a batch of " + std::to_string(shape[0]) +
                     ", does not run on a calibration batch of " + std::to_string(batch) + ": " +
                     *error + "; use --calib-batch " + std::to_string(shape[0]);
        }
        return false;
      }
      it = runners.emplace(batch, std::make_pair(std::move(graph), std::move(runner))).first;
    }
    *g = &it->second.first;
    *r = it->second.second.get();
    return true;
  }
};

bool is_input(const Graph& g, const std::string& name) {
  return std::any_of(g.inputs.begin(), g.inputs.end(),
                     [&](int v) { return g.values[static_cast<size_t>(v)].name == name; });
}

}  // namespace

bool stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

void Progress::update(size_t done) {
  if (!enabled) return;
  const double t = now_seconds();
  if (started == 0) started = t;
  if (done < total && drawn >= 0 && t - drawn < 0.1) return;
  drawn = t;
  constexpr int kWidth = 30;
  const int filled = total ? static_cast<int>(kWidth * done / total) : kWidth;
  char eta[32] = "";
  if (done > 0 && done < total) {
    const long s = std::lround((t - started) / static_cast<double>(done) * static_cast<double>(total - done));
    std::snprintf(eta, sizeof(eta), "  ETA %ld:%02ld", s / 60, s % 60);
  }
  std::fprintf(stderr, "\r%s [%s%s] %zu/%zu%s\033[K", label.c_str(), std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(kWidth - filled), '.').c_str(), done, total, eta);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled || drawn < 0) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

bool calibrate(const GraphFactory& make_graph, const QuantPlan& plan, const QuantizeConfig& config,
               const CalibrationSet& data, bool progress, QuantTable* table, std::string* error) {
  std::vector<Observer> observers(plan.observed.size());
  for (Observer& o : observers)
    if (!make_observer(config.activation, &o, error)) return false;
  RunnerCache cache{make_graph, nullptr, nullptr, config.profile, {}, {}};
  cache.outputs = [&](const Graph& g) {
    std::vector<std::string> names;
    for (const std::string& n : plan.observed)
      if (!is_input(g, n)) names.push_back(n);
    return names;
  };
  Graph planned;
  if (!make_graph(0, &planned, error)) return false;
  // Only graph inputs observed (or nothing): no need to run the model.
  const bool run_model = !cache.outputs(planned).empty();
  Progress bar{"calibrating", data.batches(), progress};
  for (size_t k = 0; k < data.batches(); ++k) {
    bar.update(k);
    CalibBatch b;
    if (!read_calibration_batch(data, k, &b, error)) return false;
    const Graph* g = &planned;
    Runner* r = nullptr;
    if (run_model && (!cache.get(b.batch, &g, &r, error) || !run(*r, *g, b, error))) return false;
    size_t out = 0;
    for (size_t i = 0; i < plan.observed.size(); ++i) {
      const std::string& name = plan.observed[i];
      std::string why;
      bool ok;
      if (is_input(*g, name)) {
        size_t in = 0;
        while (g->values[static_cast<size_t>(g->inputs[in])].name != name) ++in;
        ok = observe(observers[i], b.inputs[in].data(), batch_shape(*g, in, b.batch), &why);
      } else {
        qrt_tensor t;
        if (qrt_output(r->interpreter, static_cast<int32_t>(out++), &t) != QRT_OK || t.dtype != QRT_F32)
          return fail(error, "cannot read '" + name + "' from the float model");
        ok = observe(observers[i], static_cast<const float*>(t.data), dims_of(t), &why);
      }
      if (!ok) return fail(error, "calibration batch " + std::to_string(k) + " (" + b.label + "): tensor '" +
                                      name + "': " + why);
    }
  }
  bar.update(data.batches());
  bar.finish();
  for (size_t i = 0; i < plan.observed.size(); ++i) (*table)[plan.observed[i]] = calculate_qparams(observers[i]);
  return true;
}

bool measure_sqnr(const GraphFactory& make_graph, const std::function<bool(Graph&, std::string*)>& apply,
                  const std::set<std::string>& float_nodes, fb::Profile profile,
                  const CalibrationSet& data, bool progress, std::vector<LayerError>* out,
                  std::string* error) {
  // The quantized activations, named as in the quantized graph.
  auto quantized_names = [](const Graph& g) {
    std::vector<std::string> names;
    for (const Value& v : g.values)
      if (!v.quant.scale.empty() && !v.is_constant && v.type == ElemType::f32 && v.producer >= 0)
        names.push_back(v.name);
    return names;
  };
  std::vector<std::string> names;
  RunnerCache int8{make_graph, apply, nullptr, profile, float_nodes, {}};
  int8.outputs = [&](const Graph& g) { return names = quantized_names(g); };
  RunnerCache fp32{make_graph, nullptr, nullptr, profile, {}, {}};
  fp32.outputs = [&](const Graph&) { return names; };
  std::map<std::string, LayerError> errors;
  Graph planned;
  if (!make_graph(0, &planned, error) || !apply(planned, error)) return false;
  out->clear();
  if (quantized_names(planned).empty()) return true;  // nothing quantized inside the graph
  Progress bar{"measuring SQNR", data.batches(), progress};
  for (size_t k = 0; k < data.batches(); ++k) {
    bar.update(k);
    CalibBatch b;
    if (!read_calibration_batch(data, k, &b, error)) return false;
    const Graph *gq, *gf;
    Runner *rq, *rf;
    if (!int8.get(b.batch, &gq, &rq, error) || !fp32.get(b.batch, &gf, &rf, error)) return false;
    if (!run(*rq, *gq, b, error) || !run(*rf, *gf, b, error)) return false;
    for (size_t i = 0; i < rq->outputs.size(); ++i) {
      qrt_tensor tq, tf;
      if (qrt_output(rq->interpreter, static_cast<int32_t>(i), &tq) != QRT_OK ||
          qrt_output(rf->interpreter, static_cast<int32_t>(i), &tf) != QRT_OK || tq.bytes != tf.bytes ||
          tq.dtype != QRT_F32 || tf.dtype != QRT_F32)
        return fail(error, "cannot compare '" + rq->outputs[i] + "' between the float and int8 models");
      LayerError& e = errors[rq->outputs[i]];
      const float* q = static_cast<const float*>(tq.data);
      const float* f = static_cast<const float*>(tf.data);
      for (size_t j = 0; j < tq.bytes / sizeof(float); ++j) {
        const double d = static_cast<double>(f[j]) - q[j];
        e.signal += static_cast<double>(f[j]) * f[j];
        e.noise += d * d;
      }
      e.elements += static_cast<int64_t>(tq.bytes / sizeof(float));
    }
    // Graph inputs: the QUANTIZE at the input is the only error there.
    for (size_t i = 0; i < gq->inputs.size(); ++i) {
      const Value& v = gq->values[static_cast<size_t>(gq->inputs[i])];
      if (v.quant.scale.empty()) continue;
      LayerError& e = errors[v.name];
      const float s = v.quant.scale[0];
      const int32_t zp = static_cast<int32_t>(v.quant.zero_point[0]);
      for (float x : b.inputs[i]) {
        const int32_t qv = kernels::quantize_value(x, s, zp, 0, 255);
        const double d = static_cast<double>(x) - static_cast<double>(s) * (qv - zp);
        e.signal += static_cast<double>(x) * x;
        e.noise += d * d;
      }
      e.elements += static_cast<int64_t>(b.inputs[i].size());
    }
  }
  bar.update(data.batches());
  bar.finish();
  for (auto& [name, e] : errors) {
    e.name = name;
    e.sqnr_db = e.noise > 0 ? 10.0 * std::log10(e.signal / e.noise) : std::numeric_limits<double>::infinity();
    out->push_back(e);
  }
  std::stable_sort(out->begin(), out->end(),
                   [](const LayerError& a, const LayerError& b) { return a.sqnr_db < b.sqnr_db; });
  return true;
}

}  // namespace qrt::convert

namespace qrt::convert {

bool quantize_static(const GraphFactory& make_graph, const QuantizeConfig& config,
                     const std::vector<std::string>& calib_paths, int64_t calib_batch, bool progress,
                     StaticQuantization* out, std::string* error) {
  StaticQuantization r;
  Graph g;
  if (!make_graph(0, &g, error)) return false;
  if (!plan_static_quantization(g, config, &r.plan, error)) return false;
  r.float_nodes.insert(r.plan.float_nodes.begin(), r.plan.float_nodes.end());
  r.float_nodes.insert(config.keep_float.begin(), config.keep_float.end());
  std::vector<CalibInput> inputs;
  for (int v : g.inputs) {
    const Value& in = g.values[static_cast<size_t>(v)];
    if (in.type != ElemType::f32 && in.type != ElemType::i64 && in.type != ElemType::i32)
      return fail(error, "input '" + in.name + "' is " + elem_name(in.type) +
                             ": calibration data can be float32, int64 or int32");
    inputs.push_back({in.name, in.shape, in.type == ElemType::f32 ? "f4" : in.type == ElemType::i64 ? "i8" : "i4"});
  }
  if (!open_calibration(calib_paths, inputs, calib_batch, &r.data, error)) return false;
  if (!calibrate(make_graph, r.plan, config, r.data, progress, &r.table, error)) return false;
  if (!observe_weights(g, r.plan, config, &r.table, error)) return false;
  resolve_aliases(r.plan, &r.table);
  *out = std::move(r);
  return true;
}

}  // namespace qrt::convert
