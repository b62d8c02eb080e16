// Corrupted models through the public C API. Every variant of a valid model
// must either be rejected (non-OK status, a message that says why) or load,
// prepare and run like any other model. "Safely" is what the ASan+UBSan build
// of this test checks: any out-of-bounds read, overflow or misaligned load in
// the verifier, the ops' prepare or the kernels aborts the run.
//
// Variants: truncations at every structural boundary of the flatbuffer, random
// bit flips, hostile values written over structural words (offsets, lengths,
// vtable entries, indices, shapes, quantization values), and structure-aware
// mutations assembled with ModelBuilder, each with the status and culprit the
// runtime must report.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "model_builder.h"
#include "qrt/qrt.h"
#include "qrt/schema/qrt_generated.h"
#include "schema/format_version.h"
#include "support/test_models.h"

// Provided by the ASan runtime, null without it.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace {

using qrt::convert::AddAttrs;
using qrt::convert::ClampAttrs;
using qrt::convert::Conv2DAttrs;
using qrt::convert::FullyConnectedAttrs;
using qrt::convert::OpAttrs;
using qrt::convert::Pool2DAttrs;
using qrt::convert::QuantParams;
using qrt::convert::UnknownAttrs;
using qrt::fb::DType;
using qrt::fb::OpCode;
using qrt::fb::Profile;

constexpr uint32_t kSeed = 0x5EED2024u;
constexpr size_t kMaxArena = size_t{64} << 20;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int32_t kIntMax = std::numeric_limits<int32_t>::max();

// ---------------------------------------------------------------------------
// Running one variant

// The variant being run, for the report when ASan ends the process (doctest's
// crash report, with its INFO context, does not run then). GCC's UBSan
// runtime keeps its own callback: run with UBSAN_OPTIONS=print_stacktrace=1.
std::string g_current_variant;

void report_current_variant() {
  std::fprintf(stderr, "corrupt-model test (seed %u) died on: %s\n", kSeed,
               g_current_variant.c_str());
}

void set_current_variant(std::string what) {
  static const bool registered = [] {
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(report_current_variant);
    return true;
  }();
  (void)registered;
  g_current_variant = std::move(what);
}

enum class Stage { kLoad, kPrepare, kInvoke, kRan };

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kLoad: return "rejected at load";
    case Stage::kPrepare: return "rejected at prepare";
    case Stage::kInvoke: return "failed at invoke";
    case Stage::kRan: return "ran";
  }
  return "?";
}

struct Outcome {
  Stage stage = Stage::kRan;
  qrt_status status = QRT_OK;
  std::string message;
  std::vector<std::vector<uint8_t>> outputs;  // when it ran
  qrt_memory_info memory = {};                // when it prepared
  std::string problem;  // a broken contract; empty when all is well
};

// qrt_last_error() is only written on failure, so a stale message could hide
// a failure that reports nothing. Each call under test starts from this
// known message, which no call on a non-null buffer can produce.
void prime_last_error() {
  qrt_model* m = nullptr;
  qrt_model_from_buffer(nullptr, 0, &m);
}

const std::string& primed_message() {
  static const std::string text = [] {
    prime_last_error();
    return std::string(qrt_last_error());
  }();
  return text;
}

bool status_in(qrt_status s, std::initializer_list<qrt_status> allowed) {
  for (qrt_status a : allowed)
    if (s == a) return true;
  return false;
}

// Records a failed call; false (and `problem`) if the failure breaks the API
// contract: an unexpected status or no fresh message.
bool record_failure(const char* call, qrt_status s, std::initializer_list<qrt_status> allowed,
                    Outcome* out) {
  out->status = s;
  out->message = qrt_last_error();
  std::ostringstream why;
  if (!status_in(s, allowed))
    why << call << " returned unexpected status " << static_cast<int>(s) << " ("
        << qrt_status_name(s) << ")";
  else if (out->message.empty())
    why << call << " failed (" << qrt_status_name(s) << ") with an empty message";
  else if (out->message == primed_message())
    why << call << " failed (" << qrt_status_name(s) << ") without setting qrt_last_error()";
  out->problem = why.str();
  return out->problem.empty();
}

size_t dtype_bytes(qrt_dtype d) {
  switch (d) {
    case QRT_F32: return 4;
    case QRT_U8: return 1;
    case QRT_S8: return 1;
    case QRT_I32: return 4;
    case QRT_I64: return 8;
  }
  return 0;
}

// The bytes of a described tensor, or SIZE_MAX when the description is
// inconsistent (negative dims, overflow).
size_t described_bytes(const qrt_tensor& t) {
  if (t.rank < 0 || t.rank > QRT_MAX_RANK) return SIZE_MAX;
  size_t n = dtype_bytes(t.dtype);
  for (int i = 0; i < t.rank; ++i) {
    if (t.dims[i] <= 0) return SIZE_MAX;
    n *= static_cast<size_t>(t.dims[i]);
  }
  return n;
}

// A fixed input pattern: finite floats for f32, cycling bytes otherwise.
std::vector<uint8_t> input_pattern(const qrt_tensor& t) {
  std::vector<uint8_t> bytes(t.bytes);
  if (t.dtype == QRT_F32) {
    for (size_t i = 0; i + 4 <= t.bytes; i += 4) {
      const float v = static_cast<float>(static_cast<int>((i / 4 * 37) % 101) - 50) / 25.f;
      std::memcpy(&bytes[i], &v, 4);
    }
  } else {
    for (size_t i = 0; i < t.bytes; ++i) bytes[i] = static_cast<uint8_t>(i * 131 + 17);
  }
  return bytes;
}

Outcome run_variant(const uint8_t* data, size_t size) {
  Outcome out;
  qrt::test::AlignedBytes copy(data, size);  // exactly `size` bytes
  qrt_model* model = nullptr;
  prime_last_error();
  qrt_status s = qrt_model_from_buffer(copy.data(), copy.size(), &model);
  if (s != QRT_OK) {
    out.stage = Stage::kLoad;
    record_failure("qrt_model_from_buffer", s, {QRT_INVALID_MODEL, QRT_UNSUPPORTED, QRT_VERSION},
                   &out);
    if (model) out.problem += "; a rejected model was still returned";
    return out;
  }

  size_t required = 0;
  prime_last_error();
  s = qrt_required_arena_bytes(model, &required);
  if (s != QRT_OK) {
    Outcome planned;
    if (!record_failure("qrt_required_arena_bytes", s,
                        {QRT_INVALID_MODEL, QRT_UNSUPPORTED, QRT_OUT_OF_MEMORY}, &planned))
      out.problem = planned.problem;
  }

  qrt_options options;
  qrt_options_init(&options);
  options.max_arena_bytes = kMaxArena;
  qrt_interpreter* it = nullptr;
  prime_last_error();
  s = qrt_interpreter_create(model, &options, &it);
  if (s != QRT_OK) {
    out.stage = Stage::kPrepare;
    const std::string earlier = out.problem;
    record_failure("qrt_interpreter_create", s,
                   {QRT_INVALID_MODEL, QRT_UNSUPPORTED, QRT_OUT_OF_MEMORY}, &out);
    if (!earlier.empty()) out.problem = earlier + "; " + out.problem;
    if (it) out.problem += "; a failed create still returned an interpreter";
    qrt_model_free(model);
    return out;
  }

  std::ostringstream why;
  why << out.problem;
  if (qrt_memory(it, &out.memory) != QRT_OK || out.memory.total_bytes > kMaxArena)
    why << "; memory info missing or above the arena limit";
  for (int32_t i = 0; i < qrt_input_count(it); ++i) {
    qrt_tensor t;
    if (qrt_input(it, i, &t) != QRT_OK || !t.data || described_bytes(t) != t.bytes) {
      why << "; input " << i << " is inconsistent";
      continue;
    }
    std::vector<uint8_t> pattern = input_pattern(t);
    if (qrt_set_input(it, i, t.dtype, pattern.data(), pattern.size()) != QRT_OK)
      why << "; qrt_set_input(" << i << ") failed: " << qrt_last_error();
  }
  prime_last_error();
  s = qrt_invoke(it);
  if (s != QRT_OK) {
    out.stage = Stage::kInvoke;
    Outcome failed;
    if (!record_failure("qrt_invoke", s, {QRT_RUNTIME}, &failed)) why << "; " << failed.problem;
    out.status = failed.status;
    out.message = failed.message;
  } else {
    for (int32_t i = 0; i < qrt_output_count(it); ++i) {
      qrt_tensor t;
      if (qrt_output(it, i, &t) != QRT_OK || !t.data || described_bytes(t) != t.bytes) {
        why << "; output " << i << " is inconsistent";
        continue;
      }
      const uint8_t* p = static_cast<const uint8_t*>(t.data);
      out.outputs.emplace_back(p, p + t.bytes);  // reads every byte
    }
  }
  out.problem = why.str();
  if (out.problem.rfind("; ", 0) == 0) out.problem.erase(0, 2);
  qrt_interpreter_free(it);
  qrt_model_free(model);
  return out;
}

struct Tally {
  size_t load = 0, prepare = 0, invoke = 0, ran = 0, problems = 0;
  size_t total() const { return load + prepare + invoke + ran; }
  void add(Stage s) {
    switch (s) {
      case Stage::kLoad: ++load; break;
      case Stage::kPrepare: ++prepare; break;
      case Stage::kInvoke: ++invoke; break;
      case Stage::kRan: ++ran; break;
    }
  }
  std::string str() const {
    std::ostringstream o;
    o << total() << " variants: " << load << " rejected at load, " << prepare
      << " rejected at prepare, " << invoke << " failed at invoke, " << ran << " ran";
    return o.str();
  }
};

// Runs one variant, counts it and reports a broken contract (only the first
// few in detail, so a systematic bug does not bury the log).
void check_variant(const std::string& what, const std::vector<uint8_t>& bytes, Tally* tally) {
  set_current_variant(what);
  Outcome o = run_variant(bytes.data(), bytes.size());
  tally->add(o.stage);
  if (o.problem.empty()) return;
  if (++tally->problems <= 20)
    FAIL_CHECK("seed " << kSeed << ", " << what << ": " << o.problem << " [message: '"
                       << o.message << "']");
}

// ---------------------------------------------------------------------------
// The flatbuffer's structure, from the generated accessors on intact bytes

class Layout {
 public:
  explicit Layout(const std::vector<uint8_t>& bytes) : base_(bytes.data()) {
    bounds.insert({0, 4, 8});
    words.insert({0, 4});  // root offset, file identifier
    const qrt::fb::Model* m = qrt::fb::GetModel(base_);
    table(m);
    string(m->producer());
    string(m->description());
    vector(m->subgraphs());
    for (const qrt::fb::SubGraph* g : *m->subgraphs()) {
      table(g);
      string(g->name());
      vector(g->tensors());
      for (const qrt::fb::Tensor* t : *g->tensors()) {
        table(t);
        string(t->name());
        vector(t->shape());
        if (const qrt::fb::Quantization* q = t->quantization()) {
          table(q);
          vector(q->scale());
          vector(q->zero_point());
        }
      }
      vector(g->inputs());
      vector(g->outputs());
      vector(g->operators());
      for (const qrt::fb::Operator* op : *g->operators()) {
        table(op);
        vector(op->inputs());
        vector(op->outputs());
        if (op->options()) table(op->options());
        string(op->name());
      }
      if (const qrt::fb::MemoryPlan* plan = g->memory_plan()) {
        table(plan);
        vector(plan->offsets());
      }
    }
    vector(m->buffers());
    for (const qrt::fb::Buffer* b : *m->buffers()) {
      table(b);
      vector(b->data());
    }
  }

  // Where tables, vtables, vectors, strings and buffer data begin and end.
  std::set<size_t> bounds;
  // Starts of 4-byte words worth overwriting: offsets, vtable entries, vector
  // lengths, index/shape/quantization elements, scalar fields.
  std::set<size_t> words;

 private:
  size_t at(const void* p) const {
    return static_cast<size_t>(static_cast<const uint8_t*>(p) - base_);
  }

  void span(size_t begin, size_t bytes) {
    bounds.insert(begin);
    bounds.insert(begin + bytes);
  }

  void table(const void* t) {
    const uint8_t* p = static_cast<const uint8_t*>(t);
    const uint8_t* vt = p - flatbuffers::ReadScalar<flatbuffers::soffset_t>(p);
    const auto vt_bytes = flatbuffers::ReadScalar<flatbuffers::voffset_t>(vt);
    const auto table_bytes = flatbuffers::ReadScalar<flatbuffers::voffset_t>(vt + 2);
    span(at(vt), vt_bytes);
    span(at(p), table_bytes);
    words.insert(at(p));  // soffset to the vtable
    for (size_t e = 0; e + 2 <= vt_bytes; e += 2) {
      words.insert(at(vt) + e);
      if (e < 4) continue;
      const auto field = flatbuffers::ReadScalar<flatbuffers::voffset_t>(vt + e);
      if (field) words.insert(at(p) + field);  // uoffset or scalar field
    }
  }

  // Length prefix, elements (each 4-byte half of 8-byte ones), end.
  void raw_vector(const void* v, size_t elem_bytes, bool elements_are_words) {
    const size_t begin = at(v);
    const size_t n = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(v);
    span(begin, 4 + n * elem_bytes);
    bounds.insert(begin + 4);
    words.insert(begin);
    if (!elements_are_words) return;
    for (size_t i = 0; i < n * elem_bytes; i += 4) words.insert(begin + 4 + i);
  }

  template <class T>
  void vector(const flatbuffers::Vector<T>* v) {
    if (v) raw_vector(v, sizeof(T), sizeof(T) >= 4);
  }

  void string(const flatbuffers::String* s) {
    if (!s) return;
    raw_vector(s, 1, false);
    bounds.insert(at(s) + 4 + s->size() + 1);  // past the terminator
  }

  const uint8_t* base_;
};

// ---------------------------------------------------------------------------
// Byte-level variants

struct NamedModel {
  std::string name;
  std::vector<uint8_t> bytes;
};

std::vector<NamedModel> valid_models() {
  return {{"int8 qnnpack", qrt::test::int8_cnn(Profile::Qnnpack)},
          {"int8 fbgemm", qrt::test::int8_cnn(Profile::Fbgemm)},
          {"fp32", qrt::test::fp32_cnn()}};
}

void write_word(std::vector<uint8_t>* bytes, size_t at, uint32_t value) {
  for (size_t i = 0; i < 4 && at + i < bytes->size(); ++i)
    (*bytes)[at + i] = static_cast<uint8_t>(value >> (8 * i));
}

// ---------------------------------------------------------------------------
// Structure-aware variants: the model as plain data, mutated, then built

struct TensorSpec {
  std::string name;
  std::vector<int32_t> shape;
  DType dtype = DType::F32;
  QuantParams q;
  bool constant = false;
  std::vector<uint8_t> data;  // written as given, whether or not it fits the shape
  int64_t buffer = -1;        // >= 0: refer to this buffer index instead
};

struct OpSpec {
  OpCode code;
  std::vector<int32_t> inputs, outputs;
  OpAttrs attrs;
  std::string name;
};

struct GraphSpec {
  Profile profile = Profile::Qnnpack;
  uint32_t version = qrt::kFormatVersion;
  std::vector<TensorSpec> tensors;
  std::vector<OpSpec> ops;
  std::vector<int32_t> inputs, outputs;
  bool has_plan = false;
  std::vector<int64_t> plan;

  int32_t add(TensorSpec t) {
    tensors.push_back(std::move(t));
    return static_cast<int32_t>(tensors.size()) - 1;
  }
  int32_t index(const std::string& name) const {
    for (size_t i = 0; i < tensors.size(); ++i)
      if (tensors[i].name == name) return static_cast<int32_t>(i);
    FAIL("no tensor named " << name);
    return -1;
  }
  TensorSpec& tensor(const std::string& name) { return tensors[static_cast<size_t>(index(name))]; }
  OpSpec& op(const std::string& name) {
    for (OpSpec& o : ops)
      if (o.name == name) return o;
    FAIL("no operator named " << name);
    return ops.front();
  }
  int32_t op_index(const std::string& name) const {
    for (size_t i = 0; i < ops.size(); ++i)
      if (ops[i].name == name) return static_cast<int32_t>(i);
    return -1;
  }
};

std::vector<uint8_t> serialize(const GraphSpec& g) {
  qrt::convert::ModelBuilder b(g.profile);
  b.set_format_version(g.version);
  b.set_producer("corrupt-model test");
  for (const TensorSpec& t : g.tensors) {
    if (t.buffer >= 0)
      b.add_tensor_with_buffer(t.name, t.shape, t.dtype, static_cast<uint32_t>(t.buffer), t.q);
    else if (t.constant)
      b.add_constant(t.name, t.shape, t.dtype, t.data.data(), t.data.size(), t.q);
    else
      b.add_tensor(t.name, t.shape, t.dtype, t.q);
  }
  for (const OpSpec& op : g.ops) b.add_operator(op.code, op.inputs, op.outputs, op.attrs, op.name);
  b.set_inputs(g.inputs);
  b.set_outputs(g.outputs);
  if (g.has_plan) b.set_memory_plan(g.plan);
  return b.finish();
}

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

QuantParams per_tensor(float scale, int64_t zp) { return QuantParams{{scale}, {zp}, 0}; }

// The tests' CNN (support/test_models.h) as data: f32 image [1,8,8,3] ->
// quantize -> conv3x3+relu -> depthwise3x3/2+relu6 -> conv1x1 -> add ->
// clamp -> maxpool2x2 -> global avg pool -> reshape -> fc -> dequantize.
GraphSpec cnn_spec(bool quant, Profile profile) {
  std::mt19937 rng(kSeed);
  GraphSpec g;
  g.profile = profile;
  const DType adt = quant ? DType::U8 : DType::F32;
  auto act = [&](const char* name, std::vector<int32_t> shape, float scale, int zp) {
    TensorSpec t{name, std::move(shape), adt, {}, false, {}, -1};
    if (quant) t.q = per_tensor(scale, zp);
    return g.add(t);
  };
  auto weights = [&](const char* name, std::vector<int32_t> shape) {
    size_t n = 1;
    for (int32_t d : shape) n *= static_cast<size_t>(d);
    TensorSpec t{name, shape, quant ? DType::S8 : DType::F32, {}, true, {}, -1};
    if (quant) {
      std::uniform_int_distribution<int> w(-127, 127);
      std::vector<int8_t> v(n);
      for (int8_t& x : v) x = static_cast<int8_t>(w(rng));
      t.data = bytes_of(v);
      std::uniform_real_distribution<float> s(0.002f, 0.01f);
      for (int32_t c = 0; c < shape[0]; ++c) {
        t.q.scale.push_back(s(rng));
        t.q.zero_point.push_back(0);
      }
    } else {
      std::uniform_real_distribution<float> w(-0.5f, 0.5f);
      std::vector<float> v(n);
      for (float& x : v) x = w(rng);
      t.data = bytes_of(v);
    }
    return g.add(t);
  };
  auto bias = [&](const char* name, int32_t n) {
    std::uniform_real_distribution<float> d(-0.2f, 0.2f);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = d(rng);
    return g.add(TensorSpec{name, {n}, DType::F32, {}, true, bytes_of(v), -1});
  };

  const int32_t image = g.add(TensorSpec{"image", {1, 8, 8, 3}, DType::F32, {}, false, {}, -1});
  int32_t x = image;
  if (quant) {
    x = act("image_q", {1, 8, 8, 3}, 1.f / 64, 128);
    g.ops.push_back({OpCode::QUANTIZE, {image}, {x}, {}, "quant"});
  }
  const int32_t c1 = act("conv1", {1, 8, 8, 8}, 0.02f, 0);
  Conv2DAttrs conv1;
  conv1.pad_top = conv1.pad_left = conv1.pad_bottom = conv1.pad_right = 1;
  conv1.act_min = 0.f;
  const int32_t c1w = weights("conv1.w", {8, 3, 3, 3});
  g.ops.push_back({OpCode::CONV_2D, {x, c1w, bias("conv1.b", 8)}, {c1}, conv1, "conv1"});

  const int32_t dw = act("dw", {1, 4, 4, 8}, 0.03f, 0);
  Conv2DAttrs dwa;
  dwa.stride_h = dwa.stride_w = 2;
  dwa.pad_top = dwa.pad_left = dwa.pad_bottom = dwa.pad_right = 1;
  dwa.groups = 8;
  dwa.act_min = 0.f;
  dwa.act_max = 6.f;
  const int32_t dww = weights("dw.w", {8, 3, 3, 1});
  g.ops.push_back({OpCode::CONV_2D, {c1, dww, bias("dw.b", 8)}, {dw}, dwa, "dw"});

  const int32_t pw = act("pw", {1, 4, 4, 8}, 0.04f, 131);
  const int32_t pww = weights("pw.w", {8, 1, 1, 8});
  g.ops.push_back({OpCode::CONV_2D, {dw, pww, -1}, {pw}, Conv2DAttrs{}, "pw"});

  const int32_t sum = act("sum", {1, 4, 4, 8}, 0.05f, 120);
  g.ops.push_back({OpCode::ADD, {pw, dw}, {sum}, AddAttrs{}, "residual"});
  const int32_t clamped = act("clamped", {1, 4, 4, 8}, 0.05f, 120);
  g.ops.push_back({OpCode::CLAMP, {sum}, {clamped}, ClampAttrs{0.f, 4.f}, "relu4"});

  const int32_t pooled = act("pooled", {1, 2, 2, 8}, 0.05f, 120);
  Pool2DAttrs pool;
  pool.kernel_h = pool.kernel_w = 2;
  pool.stride_h = pool.stride_w = 2;
  g.ops.push_back({OpCode::MAX_POOL_2D, {clamped}, {pooled}, pool, "maxpool"});

  const int32_t gap = act("gap", {1, 1, 1, 8}, 0.03f, 110);
  g.ops.push_back({OpCode::GLOBAL_AVG_POOL, {pooled}, {gap}, {}, "gap"});
  const int32_t flat = act("flat", {1, 8}, 0.03f, 110);
  g.ops.push_back({OpCode::RESHAPE, {gap}, {flat}, {}, "flatten"});

  const int32_t fc = act("fc", {1, 4}, 0.01f, 125);
  const int32_t fcw = weights("fc.w", {4, 8});
  g.ops.push_back(
      {OpCode::FULLY_CONNECTED, {flat, fcw, bias("fc.b", 4)}, {fc}, FullyConnectedAttrs{}, "fc"});
  int32_t logits = fc;
  if (quant) {
    logits = g.add(TensorSpec{"logits", {1, 4}, DType::F32, {}, false, {}, -1});
    g.ops.push_back({OpCode::DEQUANTIZE, {fc}, {logits}, {}, "dequant"});
  }
  // Written by nobody and read by nobody: a target for dangling references.
  g.add(TensorSpec{"spare", {1, 4}, adt, quant ? per_tensor(0.1f, 0) : QuantParams{}, false, {},
                   -1});
  g.inputs = {image};
  g.outputs = {logits};
  return g;
}

// f32 [1,in,in,2] -> one conv with a k x k kernel -> f32 [1,out,out,2]; for
// options whose extreme values need shapes the CNN does not have.
GraphSpec single_conv_spec(int32_t in, int32_t out, int32_t k, const Conv2DAttrs& attrs) {
  GraphSpec g;
  const int32_t x = g.add(TensorSpec{"in", {1, in, in, 2}, DType::F32, {}, false, {}, -1});
  std::vector<float> w(static_cast<size_t>(2 * k * k * 2));
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.25f * static_cast<float>(i % 5) - 0.5f;
  const int32_t wt = g.add(TensorSpec{"w", {2, k, k, 2}, DType::F32, {}, true, bytes_of(w), -1});
  const int32_t y = g.add(TensorSpec{"out", {1, out, out, 2}, DType::F32, {}, false, {}, -1});
  g.ops.push_back({OpCode::CONV_2D, {x, wt, -1}, {y}, attrs, "big_conv"});
  g.inputs = {x};
  g.outputs = {y};
  return g;
}

// f32 in -> one op -> f32 out.
GraphSpec single_op_spec(OpCode code, std::vector<int32_t> in_shape,
                         std::vector<int32_t> out_shape, OpAttrs attrs, const char* name) {
  GraphSpec g;
  const int32_t x = g.add(TensorSpec{"in", std::move(in_shape), DType::F32, {}, false, {}, -1});
  const int32_t y = g.add(TensorSpec{"out", std::move(out_shape), DType::F32, {}, false, {}, -1});
  g.ops.push_back({code, {x}, {y}, std::move(attrs), name});
  g.inputs = {x};
  g.outputs = {y};
  return g;
}

enum class Base { kInt8, kF32 };

struct Case {
  const char* what;
  Base base;
  std::function<void(GraphSpec&)> mutate;
  Stage stage;
  qrt_status status;
  std::vector<std::string> mentions;  // substrings the message must contain
};

std::vector<Case> structure_cases() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float denormal = std::numeric_limits<float>::denorm_min() * 1000.f;
  const Stage L = Stage::kLoad, P = Stage::kPrepare;
  const qrt_status BAD = QRT_INVALID_MODEL, UNSUP = QRT_UNSUPPORTED;
  std::vector<Case> cases = {
      // Indices and arity.
      {"operator input index out of range", Base::kInt8,
       [](GraphSpec& g) { g.op("conv1").inputs[0] = 999; }, L, BAD,
       {"operator 1 'conv1'", "input 0 is tensor 999"}},
      {"operator input index equal to the tensor count", Base::kInt8,
       [](GraphSpec& g) { g.op("fc").inputs[1] = static_cast<int32_t>(g.tensors.size()); }, L, BAD,
       {"'fc'", "input 1 is tensor"}},
      {"operator output index negative", Base::kInt8,
       [](GraphSpec& g) { g.op("pw").outputs[0] = -3; }, L, BAD,
       {"operator 3 'pw'", "output 0 is tensor -3"}},
      {"graph input index out of range", Base::kInt8, [](GraphSpec& g) { g.inputs[0] = 1000; }, L,
       BAD, {"input 0 is tensor 1000"}},
      {"graph output index out of range", Base::kF32, [](GraphSpec& g) { g.outputs[0] = -2; }, L,
       BAD, {"output 0 is tensor -2"}},
      {"-1 for the required weights", Base::kInt8,
       [](GraphSpec& g) { g.op("conv1").inputs[1] = -1; }, L, BAD,
       {"'conv1'", "input 1 is tensor -1"}},
      {"-1 for the only input of clamp", Base::kF32,
       [](GraphSpec& g) { g.op("relu4").inputs[0] = -1; }, L, BAD,
       {"'relu4'", "input 0 is tensor -1"}},
      {"add with three inputs", Base::kInt8,
       [](GraphSpec& g) { g.op("residual").inputs.push_back(g.index("pw")); }, L, BAD,
       {"'residual'", "3 inputs"}},
      {"conv with one input", Base::kF32, [](GraphSpec& g) { g.op("conv1").inputs.resize(1); }, L,
       BAD, {"'conv1'", "1 inputs"}},
      {"clamp with two outputs", Base::kInt8,
       [](GraphSpec& g) { g.op("relu4").outputs.push_back(g.index("spare")); }, L, BAD,
       {"'relu4'", "2 outputs"}},
      {"global pool with no output", Base::kInt8, [](GraphSpec& g) { g.op("gap").outputs.clear(); },
       L, BAD, {"'gap'", "0 outputs"}},
      // Options.
      {"conv with add options", Base::kInt8, [](GraphSpec& g) { g.op("conv1").attrs = AddAttrs{}; },
       L, BAD, {"'conv1'", "options of type"}},
      {"conv without options", Base::kF32, [](GraphSpec& g) { g.op("dw").attrs = OpAttrs{}; }, L,
       BAD, {"'dw'", "options of type 0"}},
      {"options on an op that takes none", Base::kInt8,
       [](GraphSpec& g) { g.op("gap").attrs = ClampAttrs{}; }, L, BAD, {"'gap'", "options"}},
      {"unknown options type", Base::kInt8,
       [](GraphSpec& g) { g.op("conv1").attrs = UnknownAttrs{200}; }, L, BAD,
       {"'conv1'", "options of type 200"}},
      {"unknown opcode", Base::kInt8,
       [](GraphSpec& g) { g.op("residual").code = static_cast<OpCode>(60000); }, L, UNSUP,
       {"operator 4 'residual'", "opcode 60000"}},
      {"unknown opcode with unknown options", Base::kF32,
       [](GraphSpec& g) {
         g.op("fc").code = static_cast<OpCode>(60001);
         g.op("fc").attrs = UnknownAttrs{201};
       },
       L, UNSUP, {"'fc'", "opcode 60001"}},
      // Shapes and dtypes.
      {"negative dimension", Base::kInt8, [](GraphSpec& g) { g.tensor("dw").shape[1] = -4; }, L,
       BAD, {"'dw'", "is -4"}},
      {"zero dimension", Base::kF32, [](GraphSpec& g) { g.tensor("image").shape[0] = 0; }, L, BAD,
       {"'image'", "dimension 0 is 0"}},
      {"huge dimensions", Base::kInt8,
       [](GraphSpec& g) { g.tensor("sum").shape = {1, 1 << 20, 1 << 20, 8}; }, L, BAD,
       {"'sum'", "2 GiB"}},
      {"shape whose element count overflows", Base::kF32,
       [](GraphSpec& g) {
         g.tensor("flat").shape = {kIntMax, kIntMax, kIntMax, kIntMax, kIntMax, kIntMax, kIntMax};
       },
       L, BAD, {"'flat'", "2 GiB"}},
      {"rank 9", Base::kInt8,
       [](GraphSpec& g) { g.tensor("gap").shape = {1, 1, 1, 1, 1, 1, 1, 1, 8}; }, L, BAD,
       {"'gap'", "rank 9"}},
      {"unknown dtype", Base::kInt8,
       [](GraphSpec& g) { g.tensor("flat").dtype = static_cast<DType>(9); }, L, UNSUP,
       {"'flat'", "unknown dtype 9"}},
      // Buffers.
      {"buffer index out of range", Base::kInt8,
       [](GraphSpec& g) { g.tensor("conv1.w").buffer = 500; }, L, BAD,
       {"'conv1.w'", "buffer 500 out of range"}},
      {"buffer shorter than the shape", Base::kInt8,
       [](GraphSpec& g) { g.tensor("pw.w").data.resize(63); }, L, BAD,
       {"'pw.w'", "holds 63 bytes", "need 64"}},
      {"buffer longer than the shape", Base::kF32,
       [](GraphSpec& g) { g.tensor("fc.b").data.resize(20); }, L, BAD,
       {"'fc.b'", "holds 20 bytes", "need 16"}},
      {"empty buffer for a constant", Base::kF32,
       [](GraphSpec& g) { g.tensor("conv1.b").data.clear(); }, L, BAD,
       {"'conv1.b'", "holds 0 bytes"}},
      {"constant reshaped away from its buffer", Base::kInt8,
       [](GraphSpec& g) { g.tensor("dw.w").shape = {8, 3, 3, 2}; }, L, BAD, {"'dw.w'"}},
      // Quantization parameters.
      {"scale NaN", Base::kInt8, [=](GraphSpec& g) { g.tensor("pw").q.scale[0] = nan; }, L, BAD,
       {"'pw'", "scale[0]"}},
      {"scale 0", Base::kInt8, [](GraphSpec& g) { g.tensor("pw").q.scale[0] = 0.f; }, L, BAD,
       {"'pw'", "scale[0]"}},
      {"scale negative", Base::kInt8, [](GraphSpec& g) { g.tensor("sum").q.scale[0] = -0.05f; }, L,
       BAD, {"'sum'", "scale[0]"}},
      {"scale inf", Base::kInt8, [](GraphSpec& g) { g.tensor("gap").q.scale[0] = kInf; }, L, BAD,
       {"'gap'", "scale[0]"}},
      {"scale -inf", Base::kInt8, [](GraphSpec& g) { g.tensor("fc").q.scale[0] = -kInf; }, L, BAD,
       {"'fc'", "scale[0]"}},
      {"scale denormal", Base::kInt8,
       [=](GraphSpec& g) { g.tensor("image_q").q.scale[0] = denormal; }, L, BAD,
       {"'image_q'", "scale[0]"}},
      {"per-channel weight scale NaN", Base::kInt8,
       [=](GraphSpec& g) { g.tensor("conv1.w").q.scale[5] = nan; }, L, BAD,
       {"'conv1.w'", "scale[5]"}},
      {"u8 zero point 256", Base::kInt8, [](GraphSpec& g) { g.tensor("pw").q.zero_point[0] = 256; },
       L, BAD, {"'pw'", "zero_point[0] = 256"}},
      {"u8 zero point -1", Base::kInt8,
       [](GraphSpec& g) { g.tensor("clamped").q.zero_point[0] = -1; }, L, BAD,
       {"'clamped'", "zero_point[0] = -1"}},
      {"s8 zero point 128", Base::kInt8,
       [](GraphSpec& g) { g.tensor("fc.w").q.zero_point[2] = 128; }, L, BAD,
       {"'fc.w'", "zero_point[2] = 128"}},
      {"zero point INT64_MIN", Base::kInt8,
       [](GraphSpec& g) {
         g.tensor("flat").q.zero_point[0] = std::numeric_limits<int64_t>::min();
       },
       L, BAD, {"'flat'", "zero_point[0]"}},
      {"per-channel scale count mismatch", Base::kInt8,
       [](GraphSpec& g) {
         g.tensor("conv1.w").q.scale.resize(7);
         g.tensor("conv1.w").q.zero_point.resize(7);
       },
       L, BAD, {"'conv1.w'", "7 scales for axis 0"}},
      {"scale and zero point counts differ", Base::kInt8,
       [](GraphSpec& g) { g.tensor("dw.w").q.zero_point.resize(7); }, L, BAD,
       {"'dw.w'", "8 scales but 7 zero points"}},
      {"quantization axis past the rank", Base::kInt8,
       [](GraphSpec& g) { g.tensor("pw.w").q.axis = 4; }, L, BAD, {"'pw.w'", "axis 4"}},
      {"quantization axis negative", Base::kInt8,
       [](GraphSpec& g) { g.tensor("pw.w").q.axis = -1; }, L, BAD, {"'pw.w'", "axis -1"}},
      {"f32 tensor with quantization", Base::kInt8,
       [](GraphSpec& g) { g.tensor("logits").q = per_tensor(0.1f, 0); }, L, BAD,
       {"'logits'", "f32"}},
      {"i64 tensor with quantization", Base::kInt8,
       [](GraphSpec& g) { g.tensor("spare").dtype = DType::I64; }, L, BAD,
       {"'spare'", "i64"}},
      // Dataflow.
      {"tensor read before it is written", Base::kInt8,
       [](GraphSpec& g) { std::swap(g.ops[1], g.ops[2]); }, L, BAD,
       {"operator 1 'dw'", "'conv1' is read before"}},
      {"tensor written twice", Base::kInt8,
       [](GraphSpec& g) { g.op("pw").outputs[0] = g.index("dw"); }, L, BAD,
       {"'pw'", "'dw'", "written twice"}},
      {"operator writes a constant", Base::kF32,
       [](GraphSpec& g) { g.op("relu4").outputs[0] = g.index("fc.w"); }, L, BAD,
       {"'relu4'", "'fc.w'"}},
      {"operator writes the graph input", Base::kInt8,
       [](GraphSpec& g) { g.op("quant").outputs[0] = g.index("image"); }, L, BAD,
       {"'quant'", "'image'"}},
      {"graph output never computed", Base::kInt8,
       [](GraphSpec& g) { g.outputs = {g.index("spare")}; }, L, BAD,
       {"'spare'", "never computed"}},
      {"graph output is a constant", Base::kF32,
       [](GraphSpec& g) { g.outputs.push_back(g.index("fc.b")); }, L, BAD,
       {"'fc.b'", "never computed"}},
      {"graph input is a constant", Base::kInt8,
       [](GraphSpec& g) { g.inputs.push_back(g.index("conv1.w")); }, L, BAD,
       {"'conv1.w'", "is a constant"}},
      // Model header.
      {"format version 0", Base::kInt8, [](GraphSpec& g) { g.version = 0; }, L, BAD,
       {"format version"}},
      {"next format version", Base::kInt8,
       [](GraphSpec& g) { g.version = qrt::kFormatVersion + 1; }, L, QRT_VERSION,
       {"format version " + std::to_string(qrt::kFormatVersion + 1)}},
      {"far future format version", Base::kF32, [](GraphSpec& g) { g.version = 0xFFFFFFFFu; }, L,
       QRT_VERSION, {"format version 4294967295"}},
      {"unknown profile", Base::kInt8, [](GraphSpec& g) { g.profile = static_cast<Profile>(5); },
       L, UNSUP, {"profile 5"}},
      {"memory plan with the wrong count", Base::kInt8,
       [](GraphSpec& g) {
         g.has_plan = true;
         g.plan = {0, 64};
       },
       L, BAD, {"memory plan has 2 offsets"}},

      // Checks only an operator can make (prepare).
      {"weights not constant", Base::kInt8,
       [](GraphSpec& g) {
         g.tensor("conv1.w").constant = false;
         g.inputs.push_back(g.index("conv1.w"));
       },
       P, UNSUP, {"'conv1'", "'conv1.w'", "constant"}},
      {"bias of the wrong length", Base::kInt8,
       [](GraphSpec& g) {
         g.tensor("conv1.b").shape = {7};
         g.tensor("conv1.b").data.resize(28);
       },
       P, BAD, {"'conv1'", "'conv1.b'", "(8,)"}},
      {"bias of the wrong dtype", Base::kInt8,
       [](GraphSpec& g) { g.tensor("fc.b").dtype = DType::I32; }, P, BAD, {"'fc'", "'fc.b'"}},
      {"bias not constant", Base::kF32,
       [](GraphSpec& g) {
         g.tensor("dw.b").constant = false;
         g.inputs.push_back(g.index("dw.b"));
       },
       P, BAD, {"'dw'", "'dw.b'", "constant"}},
      {"stride 0", Base::kInt8,
       [](GraphSpec& g) { std::get<Conv2DAttrs>(g.op("conv1").attrs).stride_h = 0; }, P, BAD,
       {"'conv1'", "stride 0x1"}},
      {"dilation 0", Base::kF32,
       [](GraphSpec& g) { std::get<Conv2DAttrs>(g.op("pw").attrs).dilation_w = 0; }, P, BAD,
       {"'pw'", "dilation 1x0"}},
      {"negative padding", Base::kInt8,
       [](GraphSpec& g) { std::get<Conv2DAttrs>(g.op("dw").attrs).pad_left = -1; }, P, BAD,
       {"'dw'", "padding 1,-1,1,1"}},
      {"huge padding on the CNN", Base::kInt8,
       [](GraphSpec& g) { std::get<Conv2DAttrs>(g.op("conv1").attrs).pad_bottom = kIntMax; }, P,
       BAD, {"'conv1'"}},
      {"huge padding and stride with consistent shapes", Base::kF32,
       [](GraphSpec& g) {
         Conv2DAttrs a;
         a.pad_top = a.pad_bottom = a.pad_left = a.pad_right = kIntMax;
         a.stride_h = a.stride_w = kIntMax;
         // (1 + 2 * (2^31 - 1) - 1) / (2^31 - 1) + 1 = 3 output rows and columns.
         g = single_conv_spec(1, 3, 1, a);
       },
       P, BAD, {"'big_conv'"}},
      {"huge dilation with consistent shapes", Base::kF32,
       [](GraphSpec& g) {
         Conv2DAttrs a;
         a.pad_top = a.pad_bottom = a.pad_left = a.pad_right = 1 << 30;
         a.dilation_h = a.dilation_w = 1 << 30;
         // A 3x3 kernel spans 2^31 + 1 rows of the 2^31 + 1 padded ones: one output.
         g = single_conv_spec(1, 1, 3, a);
       },
       P, BAD, {"'big_conv'"}},
      {"huge pool window and padding with consistent shapes", Base::kF32,
       [](GraphSpec& g) {
         Pool2DAttrs a;
         a.kernel_h = kIntMax;
         a.kernel_w = 1;
         a.pad_top = a.pad_bottom = kIntMax - 1;
         a.stride_h = 1 << 30;
         // (100 + 2 * (2^31 - 2) - (2^31 - 1)) / 2^30 + 1 = 3 output rows.
         g = single_op_spec(OpCode::MAX_POOL_2D, {1, 100, 1, 2}, {1, 3, 1, 2}, a, "big_pool");
       },
       P, BAD, {"'big_pool'"}},
      {"groups not dividing the channels", Base::kInt8,
       [](GraphSpec& g) { std::get<Conv2DAttrs>(g.op("dw").attrs).groups = 3; }, P, BAD,
       {"'dw'", "3 groups"}},
      {"groups 0", Base::kF32,
       [](GraphSpec& g) { std::get<Conv2DAttrs>(g.op("dw").attrs).groups = 0; },
       P, BAD, {"'dw'", "groups 0"}},
      {"weights not in OHWI for the groups", Base::kInt8,
       [](GraphSpec& g) { std::get<Conv2DAttrs>(g.op("pw").attrs).groups = 2; }, P, BAD,
       {"'pw'", "'pw.w'", "(8, 1, 1, 8)"}},
      {"conv output size inconsistent", Base::kF32,
       [](GraphSpec& g) { std::get<Conv2DAttrs>(g.op("conv1").attrs).pad_top = 0; }, P, BAD,
       {"'conv1'", "8x8"}},
      {"activation with per-channel parameters", Base::kInt8,
       [](GraphSpec& g) { g.tensor("sum").q = QuantParams{std::vector<float>(8, 0.05f),
                                                          std::vector<int64_t>(8, 120), 3}; },
       P, BAD, {"'residual'", "'sum'"}},
      {"asymmetric int8 weights", Base::kInt8,
       [](GraphSpec& g) { g.tensor("conv1.w").q.zero_point[3] = 3; }, P, UNSUP,
       {"'conv1'", "'conv1.w'"}},
      {"per-channel weights on the wrong axis", Base::kInt8,
       [](GraphSpec& g) { g.tensor("pw.w").q.axis = 3; }, P, BAD, {"'pw'", "axis 3"}},
      {"empty activation range", Base::kInt8,
       [](GraphSpec& g) {
         Conv2DAttrs& a = std::get<Conv2DAttrs>(g.op("conv1").attrs);
         a.act_min = 5.f;
         a.act_max = 1.f;
       },
       P, BAD, {"'conv1'", "[5, 1]"}},
      {"NaN clamp bound", Base::kF32,
       [=](GraphSpec& g) { g.op("relu4").attrs = ClampAttrs{nan, 4.f}; }, P, BAD,
       {"'relu4'", "nan"}},
      {"subnormal requantization multiplier", Base::kInt8,
       [](GraphSpec& g) { g.tensor("image_q").q.scale[0] = 2e-38f; }, P, BAD,
       {"'conv1'"}},
      {"add of different shapes", Base::kInt8,
       [](GraphSpec& g) { g.op("residual").inputs[1] = g.index("conv1"); }, P, BAD,
       {"'residual'", "'conv1'", "(1, 8, 8, 8)"}},
      {"clamp that changes quantization", Base::kInt8,
       [](GraphSpec& g) { g.tensor("clamped").q.scale[0] = 0.07f; }, P, BAD,
       {"'relu4'", "'clamped'"}},
      {"pool window 0", Base::kF32,
       [](GraphSpec& g) { std::get<Pool2DAttrs>(g.op("maxpool").attrs).kernel_h = 0; }, P, BAD,
       {"'maxpool'", "kernel 0x2"}},
      {"pool padding as large as the window", Base::kInt8,
       [](GraphSpec& g) { std::get<Pool2DAttrs>(g.op("maxpool").attrs).pad_right = 2; }, P, BAD,
       {"'maxpool'", "padding 0,0,0,2"}},
      {"pool output of the wrong size", Base::kInt8,
       [](GraphSpec& g) { g.tensor("pooled").shape = {1, 3, 3, 8}; }, P, BAD,
       {"'maxpool'", "(1, 3, 3, 8)"}},
      {"global pool output of the wrong shape", Base::kF32,
       [](GraphSpec& g) { g.tensor("gap").shape = {1, 2, 1, 8}; }, P, BAD, {"'gap'"}},
      {"reshape that changes the size", Base::kInt8,
       [](GraphSpec& g) { g.tensor("flat").shape = {1, 9}; }, P, BAD,
       {"'flatten'", "(1, 9)"}},
      {"fully connected weights transposed", Base::kF32,
       [](GraphSpec& g) { g.tensor("fc.w").shape = {8, 4}; }, P, BAD, {"'fc'", "(8, 4)"}},
      {"quantize to i32", Base::kInt8, [](GraphSpec& g) { g.tensor("image_q").dtype = DType::I32; },
       P, BAD, {"'quant'", "'image_q'", "i32"}},
      {"activations above the arena limit", Base::kF32,
       [](GraphSpec& g) {
         // Two 128 MiB tensors, each under the 2 GiB tensor limit.
         g = single_op_spec(OpCode::CLAMP, {1, 4096, 4096, 2}, {1, 4096, 4096, 2},
                            ClampAttrs{0.f, 1.f}, "big_clamp");
       },
       P, QRT_OUT_OF_MEMORY, {std::to_string(kMaxArena)}},
  };
  return cases;
}

GraphSpec base_spec(Base base, Profile profile) {
  return base == Base::kInt8 ? cnn_spec(true, profile) : cnn_spec(false, Profile::Qnnpack);
}

bool mentions_all(const std::string& message, const std::vector<std::string>& parts,
                  std::string* missing) {
  for (const std::string& p : parts)
    if (message.find(p) == std::string::npos) {
      *missing = p;
      return false;
    }
  return true;
}

// Offsets of the field `field` (a VT_ constant) of a table inside `bytes`.
size_t field_position(const std::vector<uint8_t>& bytes, const void* table,
                      flatbuffers::voffset_t field) {
  const uint8_t* p = static_cast<const uint8_t*>(table);
  const uint8_t* vt = p - flatbuffers::ReadScalar<flatbuffers::soffset_t>(p);
  const auto fo = flatbuffers::ReadScalar<flatbuffers::voffset_t>(vt + field);
  REQUIRE(fo != 0);
  return static_cast<size_t>(p + fo - bytes.data());
}

size_t vtable_entry_position(const std::vector<uint8_t>& bytes, const void* table,
                             flatbuffers::voffset_t field) {
  const uint8_t* p = static_cast<const uint8_t*>(table);
  const uint8_t* vt = p - flatbuffers::ReadScalar<flatbuffers::soffset_t>(p);
  REQUIRE(flatbuffers::ReadScalar<flatbuffers::voffset_t>(vt) > field);
  return static_cast<size_t>(vt + field - bytes.data());
}

}  // namespace

TEST_CASE("corrupt models: the intact models load, prepare and run") {
  for (const NamedModel& m : valid_models()) {
    INFO(m.name);
    Outcome o = run_variant(m.bytes.data(), m.bytes.size());
    CHECK_MESSAGE(o.stage == Stage::kRan, o.message);
    CHECK_MESSAGE(o.problem.empty(), o.problem);
    REQUIRE(o.outputs.size() == 1);
    CHECK(o.outputs[0].size() == 4 * sizeof(float));
    float logits[4];
    std::memcpy(logits, o.outputs[0].data(), sizeof(logits));
    for (float v : logits) CHECK(std::isfinite(v));
  }
  for (Profile p : {Profile::Qnnpack, Profile::Fbgemm}) {
    // The data form used for structure-aware mutations builds the same graph.
    const std::vector<uint8_t> bytes = serialize(cnn_spec(true, p));
    Outcome o = run_variant(bytes.data(), bytes.size());
    CHECK_MESSAGE(o.stage == Stage::kRan, o.message);
  }
}

TEST_CASE("corrupt models: truncations, bit flips and overwritten words are rejected or run") {
  INFO("seed " << kSeed);
  std::mt19937 rng(kSeed);
  Tally all;
  for (const NamedModel& m : valid_models()) {
    INFO(m.name << ", " << m.bytes.size() << " bytes");
    const std::vector<uint8_t>& intact = m.bytes;
    const size_t size = intact.size();
    const Layout layout(intact);
    Tally tally;

    // 1. Truncations at every boundary, one byte either side, and every 64th byte.
    std::set<size_t> cuts;
    for (size_t b : layout.bounds)
      for (size_t c : {b - 1, b, b + 1})
        if (b > 0 || c == b)
          if (c < size) cuts.insert(c);
    for (size_t c = 0; c < size; c += 64) cuts.insert(c);
    CHECK(cuts.size() > 200);
    for (size_t cut : cuts) {
      const std::vector<uint8_t> v(intact.begin(), intact.begin() + static_cast<long>(cut));
      check_variant(m.name + " truncated to " + std::to_string(cut), v, &tally);
    }
    const size_t truncation_loads = tally.ran + tally.prepare + tally.invoke;

    // 2. 1-8 random bit flips anywhere.
    for (int k = 0; k < 300; ++k) {
      std::vector<uint8_t> v = intact;
      std::ostringstream what;
      what << m.name << " bit flips at";
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips; ++f) {
        const size_t at = rng() % size;
        const int bit = static_cast<int>(rng() % 8);
        v[at] ^= static_cast<uint8_t>(1u << bit);
        what << " " << at << ":" << bit;
      }
      check_variant(what.str(), v, &tally);
    }

    // 3. Hostile values over every structural word.
    const uint32_t n = static_cast<uint32_t>(size);
    for (size_t at : layout.words) {
      for (uint32_t value : {0u, 1u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu, n - 1, n, n + 4,
                             static_cast<uint32_t>(rng())}) {
        std::vector<uint8_t> v = intact;
        write_word(&v, at, value);
        if (v == intact) continue;
        check_variant(m.name + " word at " + std::to_string(at) + " = " + std::to_string(value),
                      v, &tally);
      }
    }

    MESSAGE(m.name << ": " << layout.bounds.size() << " boundaries, " << layout.words.size()
                   << " structural words; " << tally.str());
    // Truncated flatbuffers never verify: the root, the tables and the
    // constants at the tail are all needed.
    CHECK(truncation_loads == 0);
    CHECK(tally.load > tally.total() / 2);
    CHECK(tally.prepare * 100 >= tally.total());
    CHECK(tally.ran > 0);
    all.load += tally.load;
    all.prepare += tally.prepare;
    all.invoke += tally.invoke;
    all.ran += tally.ran;
    all.problems += tally.problems;
  }
  MESSAGE("byte-level total: " << all.str());
  CHECK(all.total() >= 1000);
  CHECK(all.problems == 0);
  CHECK(all.invoke == 0);  // no op fails at invoke: everything is checked in prepare
}

TEST_CASE("corrupt models: structure-aware mutations give the right status and culprit") {
  Tally tally;
  for (const Case& c : structure_cases()) {
    const std::vector<Profile> profiles =
        c.base == Base::kInt8 ? std::vector<Profile>{Profile::Qnnpack, Profile::Fbgemm}
                              : std::vector<Profile>{Profile::Qnnpack};
    for (Profile profile : profiles) {
      const char* model = c.base == Base::kF32             ? " (fp32)"
                          : profile == Profile::Qnnpack ? " (int8 qnnpack)"
                                                        : " (int8 fbgemm)";
      INFO((std::string(c.what) + model));
      set_current_variant(c.what);
      GraphSpec g = base_spec(c.base, profile);
      c.mutate(g);
      const std::vector<uint8_t> bytes = serialize(g);
      Outcome o = run_variant(bytes.data(), bytes.size());
      tally.add(o.stage);
      CHECK_MESSAGE(o.problem.empty(), o.problem);
      INFO(("got: " + std::string(stage_name(o.stage)) + ", " + qrt_status_name(o.status) + ": " +
            o.message));
      CHECK(o.stage == c.stage);
      CHECK(o.status == c.status);
      std::string missing;
      CHECK_MESSAGE(mentions_all(o.message, c.mentions, &missing),
                    "message lacks '" << missing << "'");
    }
  }
  MESSAGE("structure-aware: " << tally.str());
  CHECK(tally.load >= 80);
  CHECK(tally.prepare >= 40);
}

TEST_CASE("corrupt models: offline memory plans fall back, or are rejected, never misused") {
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    INFO(std::string(profile == Profile::Qnnpack ? "qnnpack" : "fbgemm"));
    const GraphSpec base = cnn_spec(true, profile);
    const std::vector<uint8_t> base_bytes = serialize(base);
    const Outcome reference = run_variant(base_bytes.data(), base_bytes.size());
    REQUIRE_MESSAGE(reference.stage == Stage::kRan, reference.message);
    REQUIRE(reference.outputs.size() == 1);
    const size_t n = base.tensors.size();

    // Disjoint 64-byte aligned slots: a valid plan.
    std::vector<int64_t> valid(n, -1);
    int64_t top = 0;
    for (size_t i = 0; i < n; ++i) {
      if (base.tensors[i].constant) continue;
      size_t bytes = base.tensors[i].dtype == DType::F32 ? 4 : 1;
      for (int32_t d : base.tensors[i].shape) bytes *= static_cast<size_t>(d);
      valid[i] = top;
      top += static_cast<int64_t>((bytes + 63) / 64 * 64);
    }
    // What the runtime must do with each plan.
    enum class Expect { kRuns, kFallsBack, kRunsOrOutOfMemory };
    struct PlanCase {
      const char* what;
      std::vector<int64_t> plan;
      Expect expect;
    };
    std::vector<PlanCase> plans = {{"valid", valid, Expect::kRuns}};
    plans.push_back({"every tensor at 0", std::vector<int64_t>(n, 0), Expect::kFallsBack});
    std::vector<int64_t> misaligned = valid;
    for (int64_t& o : misaligned)
      if (o >= 0) o += 8;
    plans.push_back({"misaligned", misaligned, Expect::kFallsBack});
    std::vector<int64_t> overlapping = valid;
    auto slot = [&](const char* name) { return static_cast<size_t>(base.index(name)); };
    overlapping[slot("dw")] = valid[slot("pw")];
    plans.push_back({"two live tensors overlapping", overlapping, Expect::kFallsBack});
    // Consistent, but far beyond the arena limit.
    std::vector<int64_t> huge = valid;
    huge[slot("sum")] = int64_t{1} << 40;
    plans.push_back({"one offset at 1 TiB", huge, Expect::kRunsOrOutOfMemory});
    std::vector<int64_t> edge = valid;
    edge[slot("gap")] = std::numeric_limits<int64_t>::max() & ~int64_t{63};
    plans.push_back({"one offset near INT64_MAX", edge, Expect::kRunsOrOutOfMemory});
    std::vector<int64_t> negative = valid;
    for (int64_t& o : negative)
      if (o >= 0) o = -7 - o;
    negative[0] = std::numeric_limits<int64_t>::min();
    plans.push_back({"negative offsets", negative, Expect::kFallsBack});
    std::vector<int64_t> constants(n, -1);
    for (size_t i = 0; i < n; ++i)
      if (base.tensors[i].constant) constants[i] = 0;
    plans.push_back({"offsets for constants only", constants, Expect::kFallsBack});

    for (const PlanCase& pc : plans) {
      INFO(std::string(pc.what));
      set_current_variant(std::string("memory plan: ") + pc.what);
      GraphSpec g = base;
      g.has_plan = true;
      g.plan = pc.plan;
      const std::vector<uint8_t> bytes = serialize(g);
      Outcome o = run_variant(bytes.data(), bytes.size());
      CHECK_MESSAGE(o.problem.empty(), o.problem);
      if (pc.expect == Expect::kRunsOrOutOfMemory && o.stage == Stage::kPrepare) {
        CHECK(o.status == QRT_OUT_OF_MEMORY);
        continue;
      }
      REQUIRE_MESSAGE(o.stage == Stage::kRan, o.message);
      REQUIRE(o.outputs.size() == 1);
      CHECK(o.outputs[0] == reference.outputs[0]);
      // Falling back means replanning everything, as if there were no plan.
      if (pc.expect == Expect::kFallsBack)
        CHECK(o.memory.arena_bytes == reference.memory.arena_bytes);
    }
  }
}

TEST_CASE("corrupt models: edits the builder cannot make are rejected at load") {
  // The flatbuffers verifier checks only the 4-byte alignment of a vector's
  // length, so a [long] vector can have misaligned elements. "blob" holds two
  // such vectors, well formed apart from that, for offsets to be pointed at:
  // at data + 8 one zero point (5), at data + 24 a memory plan of -1s.
  const GraphSpec spec = [] {
    GraphSpec g = cnn_spec(true, Profile::Qnnpack);
    const size_t tensors = g.tensors.size() + 1;
    std::vector<uint8_t> blob(28 + 8 * tensors, 0xFF);
    const uint32_t zp_vector[3] = {1, 5, 0};
    std::memcpy(&blob[8], zp_vector, sizeof(zp_vector));
    const uint32_t plan_length = static_cast<uint32_t>(tensors);
    std::memcpy(&blob[24], &plan_length, 4);
    g.add(TensorSpec{"blob", {static_cast<int32_t>(blob.size())}, DType::U8, {}, true, blob, -1});
    g.has_plan = true;
    g.plan.assign(tensors, -1);
    return g;
  }();
  const std::vector<uint8_t> intact = serialize(spec);
  REQUIRE(run_variant(intact.data(), intact.size()).stage == Stage::kRan);
  const qrt::fb::Model* model = qrt::fb::GetModel(intact.data());
  const qrt::fb::SubGraph* graph = model->subgraphs()->Get(0);
  const uint8_t* blob =
      model->buffers()
          ->Get(graph->tensors()->Get(static_cast<uint32_t>(spec.index("blob")))->buffer())
          ->data()
          ->data();
  auto point_field_at = [&](const void* table, flatbuffers::voffset_t field, size_t target) {
    const size_t at = field_position(intact, table, field);
    REQUIRE(target > at);
    std::vector<uint8_t> v = intact;
    write_word(&v, at, static_cast<uint32_t>(target - at));
    return v;
  };
  const size_t blob_at = static_cast<size_t>(blob - intact.data());
  REQUIRE(blob_at % 16 == 0);

  SUBCASE("an operator whose options table is missing but whose options type is set") {
    set_current_variant("an operator whose options table is missing but whose options type is set");
    const auto* op = graph->operators()->Get(static_cast<uint32_t>(spec.op_index("dw")));
    std::vector<uint8_t> v = intact;
    const size_t entry = vtable_entry_position(intact, op, qrt::fb::Operator::VT_OPTIONS);
    v[entry] = v[entry + 1] = 0;
    Outcome o = run_variant(v.data(), v.size());
    CHECK_MESSAGE(o.problem.empty(), o.problem);
    INFO(o.message);
    CHECK(o.stage == Stage::kLoad);
    CHECK(o.status == QRT_INVALID_MODEL);
    CHECK(o.message.find("options") != std::string::npos);
    CHECK(o.message.find("operator") != std::string::npos);
  }

  SUBCASE("zero points 4 bytes off their 8-byte alignment") {
    set_current_variant("zero points 4 bytes off their 8-byte alignment");
    const auto* t = graph->tensors()->Get(static_cast<uint32_t>(spec.index("conv1")));
    const std::vector<uint8_t> v =
        point_field_at(t->quantization(), qrt::fb::Quantization::VT_ZERO_POINT, blob_at + 8);
    Outcome o = run_variant(v.data(), v.size());
    CHECK_MESSAGE(o.problem.empty(), o.problem);
    INFO(o.message);
    CHECK(o.stage == Stage::kLoad);
    CHECK(o.status == QRT_INVALID_MODEL);
    CHECK(o.message.find("'conv1'") != std::string::npos);
  }

  SUBCASE("memory plan offsets 4 bytes off their 8-byte alignment") {
    set_current_variant("memory plan offsets 4 bytes off their 8-byte alignment");
    const std::vector<uint8_t> v =
        point_field_at(graph->memory_plan(), qrt::fb::MemoryPlan::VT_OFFSETS, blob_at + 24);
    Outcome o = run_variant(v.data(), v.size());
    CHECK_MESSAGE(o.problem.empty(), o.problem);
    INFO(o.message);
    CHECK(o.stage == Stage::kLoad);
    CHECK(o.status == QRT_INVALID_MODEL);
    CHECK(o.message.find("memory plan") != std::string::npos);
  }
}
