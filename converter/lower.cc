#include "lower.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <tuple>

#include "kernels/ref/quant_math.h"
#include "kernels/ref/unary.h"
#include "passes.h"

namespace qrt::convert {

namespace {

using fb::DType;
using fb::OpCode;

constexpr float kInf = std::numeric_limits<float>::infinity();

enum class Layout : uint8_t { plain = 0, nhwc = 1 };

DType fb_type(ElemType t) {
  switch (t) {
    case ElemType::f32: return DType::F32;
    case ElemType::u8: return DType::U8;
    case ElemType::s8: return DType::S8;
    case ElemType::i32: return DType::I32;
    case ElemType::i64: return DType::I64;
    case ElemType::boolean: return DType::U8;
  }
  return DType::F32;
}

// Logical NCHW axis -> physical axis under `layout` (rank 4 only for nhwc).
int physical_axis(int axis, Layout layout) {
  if (layout == Layout::plain) return axis;
  static const int kToNhwc[4] = {0, 3, 1, 2};
  return kToNhwc[axis];
}

std::vector<int32_t> physical_shape(const std::vector<int64_t>& s, Layout layout) {
  std::vector<int32_t> out(s.begin(), s.end());
  if (layout == Layout::nhwc) out = {out[0], out[2], out[3], out[1]};
  return out;
}

// Permutes C-order data of `shape` (elements of `size` bytes) by `perm`
// (output axis i takes input axis perm[i]).
std::vector<uint8_t> permute(const std::vector<uint8_t>& data, const std::vector<int64_t>& shape,
                             const std::vector<int>& perm, size_t size) {
  const size_t rank = shape.size();
  std::vector<int64_t> in_stride(rank, 1);
  for (size_t i = rank; i-- > 1;) in_stride[i - 1] = in_stride[i] * shape[i];
  std::vector<int64_t> out_shape(rank);
  for (size_t i = 0; i < rank; ++i) out_shape[i] = shape[static_cast<size_t>(perm[i])];
  std::vector<uint8_t> out(data.size());
  std::vector<int64_t> idx(rank, 0);
  const size_t n = data.size() / size;
  for (size_t k = 0; k < n; ++k) {
    int64_t src = 0;
    for (size_t i = 0; i < rank; ++i) src += idx[i] * in_stride[static_cast<size_t>(perm[i])];
    std::memcpy(out.data() + k * size, data.data() + static_cast<size_t>(src) * size, size);
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < out_shape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

class Lowerer {
 public:
  // Lowers g into subgraph `subgraph` of b (selected on entry and after each If).
  Lowerer(const Graph& g, const LowerOptions& o, std::string* error, ModelBuilder& b, int subgraph)
      : g_(g), o_(o), error_(error), b_(b), subgraph_(subgraph), home_(g.values.size(), Layout::plain),
        alias_(g.values.size()), uses_(g.values.size(), 0) {
    std::iota(alias_.begin(), alias_.end(), 0);
    for (const Node& n : g.nodes)
      for (int i : n.inputs)
        if (i >= 0) uses_[static_cast<size_t>(i)]++;
    for (int v : g.outputs) uses_[static_cast<size_t>(v)]++;
  }

  // g_ as an If body, in plain layout and f32 (bodies are not quantized).
  // With `bound` (a constant condition) the body is inlined into the
  // selected subgraph, its inputs being those outer tensors; otherwise its
  // inputs and outputs become the selected subgraph's. *outputs receives
  // the tensors holding the body's outputs.
  bool run_body(const std::vector<int32_t>* bound, std::vector<int32_t>* outputs) {
    std::vector<int32_t> inputs;
    for (size_t k = 0; k < g_.inputs.size(); ++k) {
      const int v = g_.inputs[k];
      if (bound)
        cache_[Key{v, Layout::plain, false}] = (*bound)[k];
      else
        inputs.push_back(define(v, Layout::plain, false));
    }
    for (const Node& n : g_.nodes)
      if (!skip_.count(&n) && !lower_node(n)) return false;
    for (int v : g_.outputs) {
      int t = tensor(v, Layout::plain, false);
      if (t < 0) return fail_msg("If body output '" + val(v).name + "' is never computed");
      // The runtime wants every body output written by one of the body's
      // ops: a constant or a passed-through input is copied.
      if (!bound && (val(v).is_constant || std::find(inputs.begin(), inputs.end(), t) != inputs.end())) {
        const int copy = b_.add_tensor(val(v).name + ":copy", physical_shape(val(v).shape, Layout::plain),
                                       fb_type(val(v).type));
        b_.add_reshape(t, copy, val(v).name + ":copy");
        t = copy;
      }
      outputs->push_back(t);
    }
    if (!bound) {
      b_.set_inputs(inputs);
      b_.set_outputs(*outputs);
    }
    return true;
  }

  bool run(LowerResult* result) {
    std::vector<int32_t> inputs;
    for (int v : g_.inputs) inputs.push_back(tensor(v, Layout::plain, false));
    for (const Node& n : g_.nodes)
      if (!skip_.count(&n) && !lower_node(n)) return false;
    std::vector<int32_t> outputs;
    for (int v : g_.outputs) {
      const int r = alias_[static_cast<size_t>(v)];
      if (std::find(g_.inputs.begin(), g_.inputs.end(), r) != g_.inputs.end())
        return fail_msg("graph output '" + g_.values[static_cast<size_t>(v)].name +
                        "' is a graph input passed through; nothing to compute");
      outputs.push_back(tensor(r, o_.keep_io_layout ? Layout::plain : home_[static_cast<size_t>(r)],
                               false));
    }
    if (o_.expose_all) {
      for (size_t v = 0; v < g_.values.size(); ++v) {
        const Value& val = g_.values[v];
        if (val.is_constant || val.type != ElemType::f32 || alias_[v] != static_cast<int>(v)) continue;
        if (!defined(static_cast<int>(v))) continue;
        int t = tensor(static_cast<int>(v), Layout::plain, false);
        if (std::find(outputs.begin(), outputs.end(), t) == outputs.end()) outputs.push_back(t);
        auto pos = std::find(outputs.begin(), outputs.end(), t) - outputs.begin();
        result->observed.emplace_back(static_cast<int>(v), static_cast<int>(pos));
      }
    }
    b_.set_inputs(inputs);
    b_.set_outputs(outputs);
    result->model = b_.finish();
    result->quantized_ops = quantized_ops_;
    result->float_ops = float_ops_;
    result->dynamic_ops = dynamic_ops_;
    return true;
  }

 private:
  using Key = std::tuple<int, Layout, bool>;

  const Value& val(int v) const { return g_.values[static_cast<size_t>(alias_[static_cast<size_t>(v)])]; }
  bool quantized(int v) const { return !val(v).quant.scale.empty(); }
  bool defined(int v) const {
    for (const auto& kv : cache_)
      if (std::get<0>(kv.first) == v) return true;
    return false;
  }

  bool fail_msg(const std::string& what) {
    if (error_) *error_ = what;
    return false;
  }
  bool fail(const Node& n, const std::string& what) {
    return fail_msg("node '" + n.name + "' (" + n.op + "): " + what);
  }

  QuantParams act_quant(int v) const {
    QuantParams q = val(v).quant;
    q.axis = 0;
    return q;
  }

  std::string tensor_name(int v, Layout l, bool quant) const {
    std::string name = val(v).name;
    const bool canonical = l == Layout::plain && quant == (val(v).type == ElemType::u8);
    if (canonical) return name;
    if (l == Layout::nhwc) name += ":nhwc";
    if (quant) name += ":q";
    return name;
  }

  // NHWC holds 4-D tensors only. Declared shapes can disagree with the
  // graph (a unary op's 2-D output of a 4-D input), which would give a
  // non-4-D value that layout: it is recorded, lower_node refuses the node,
  // and the tensor is built plain meanwhile so nothing indexes past its rank.
  Layout checked(const Value& value, Layout l) {
    if (l != Layout::nhwc || value.shape.size() == 4) return l;
    if (not_4d_.empty())
      not_4d_ = "'" + value.name + "' is declared " + std::to_string(value.shape.size()) + "-D";
    return Layout::plain;
  }

  // A new builder tensor for value v in (layout, quantized).
  int define(int v, Layout l, bool quant) {
    v = alias_[static_cast<size_t>(v)];
    const Value& value = g_.values[static_cast<size_t>(v)];
    const DType dtype = quant ? DType::U8 : fb_type(value.type);
    const std::vector<int32_t> shape = physical_shape(value.shape, checked(value, l));
    const int t = b_.add_tensor(tensor_name(v, l, quant), shape, dtype, quant ? act_quant(v) : QuantParams{});
    cache_[Key{v, l, quant}] = t;
    return t;
  }

  int constant(int v, Layout l, bool quant) { return constant(v, l, quant, val(v)); }
  int constant(int v, Layout l, bool quant, const Value& value) {
    std::vector<uint8_t> data = value.data;
    const size_t size = elem_size(value.type);
    const Layout physical = checked(value, l);
    if (physical == Layout::nhwc) data = permute(data, value.shape, {0, 2, 3, 1}, size);
    DType dtype = fb_type(value.type);
    QuantParams q;
    if (quant) {
      // A constant activation of a quantized op (rare): quantize it with its params.
      std::vector<uint8_t> qd(value.elements());
      const float* f = reinterpret_cast<const float*>(data.data());
      for (size_t i = 0; i < qd.size(); ++i)
        qd[i] = static_cast<uint8_t>(kernels::quantize_value(
            f[i], value.quant.scale[0], static_cast<int32_t>(value.quant.zero_point[0]), 0, 255));
      data = std::move(qd);
      dtype = DType::U8;
      q = act_quant(v);
    }
    const int t = b_.add_constant(tensor_name(v, l, quant), physical_shape(value.shape, physical), dtype,
                                  data.data(), data.size(), q);
    cache_[Key{v, l, quant}] = t;
    return t;
  }

  // Value v as a builder tensor in (layout, quantized), converting if needed.
  int tensor(int v, Layout l, bool quant) {
    v = alias_[static_cast<size_t>(v)];
    auto it = cache_.find(Key{v, l, quant});
    if (it != cache_.end()) return it->second;
    const Value& value = g_.values[static_cast<size_t>(v)];
    if (value.is_constant) return constant(v, l, quant);
    if (expand_.count(v)) return expanded_constant(v, l, quant);
    // A u8 graph input arrives quantized; other types (Gather's i64
    // indices) arrive as plain numbers.
    if (std::find(g_.inputs.begin(), g_.inputs.end(), v) != g_.inputs.end() &&
        !cache_.count(Key{v, Layout::plain, value.type == ElemType::u8}))
      return define(v, Layout::plain, value.type == ElemType::u8);

    // Prefer a dtype conversion in place, then a layout change; but never
    // dequantize when the float itself exists in the other layout (a float
    // graph input that was quantized before its transpose): moving it is exact.
    const Layout other = l == Layout::plain ? Layout::nhwc : Layout::plain;
    if (cache_.count(Key{v, l, !quant}) && (quant || !cache_.count(Key{v, other, false})))
      return convert_dtype(v, l, quant);
    for (bool q : {quant, !quant}) {
      auto src = cache_.find(Key{v, other, q});
      if (src == cache_.end()) continue;
      if (quant && !q) {
        // Quantize where the float is, then move bytes: quantize is
        // elementwise, so the result is the same, and the layout change
        // moves a quarter of the data (a float image input, for one).
        convert_dtype(v, other, true);
        return tensor(v, l, true);
      }
      const int in = src->second;
      const int out = define(v, l, q);
      const auto& s = value.shape;
      if (s.size() == 4 && s[2] == 1 && s[3] == 1) {
        // [N,C,1,1] has the same bytes in both layouts.
        b_.add_reshape(in, out, tensor_name(v, l, q) + ":reshape");
      } else {
        TransposeOptionsT t;
        t.perm = l == Layout::nhwc ? std::vector<int32_t>{0, 2, 3, 1} : std::vector<int32_t>{0, 3, 1, 2};
        fb::OpOptionsUnion u;
        u.Set(std::move(t));
        b_.add_operator(OpCode::TRANSPOSE, {in}, {out}, u, tensor_name(v, l, q) + ":transpose");
      }
      return q == quant ? out : convert_dtype(v, l, quant);
    }
    return -1;  // not produced yet: the graph is not in topological order
  }

  int convert_dtype(int v, Layout l, bool quant) {
    auto src = cache_.find(Key{v, l, !quant});
    if (src == cache_.end()) return -1;
    const int out = define(v, l, quant);
    if (quant)
      b_.add_quantize(src->second, out, tensor_name(v, l, quant) + ":quantize");
    else
      b_.add_dequantize(src->second, out, tensor_name(v, l, quant) + ":dequantize");
    return out;
  }

  using TransposeOptionsT = fb::TransposeOptionsT;

  // Symmetric int8 weights from f32 `data` laid out [shape[0] output
  // channels][rest], with w.quant's per-tensor or per-channel scales
  // (PyTorch's quantize_per_tensor / quantize_per_channel, zero point 0).
  int quantized_weights(const Value& w, const std::vector<uint8_t>& data, std::vector<int32_t> shape) {
    return quantized_weights(w.name, w.quant, data, std::move(shape));
  }
  int quantized_weights(const std::string& name, const QuantParams& q, const std::vector<uint8_t>& data,
                        std::vector<int32_t> shape) {
    const size_t oc = static_cast<size_t>(shape[0]);
    const size_t per = data.size() / 4 / oc;
    std::vector<int8_t> qw(data.size() / 4);
    const float* f = reinterpret_cast<const float*>(data.data());
    for (size_t c = 0; c < oc; ++c) {
      const float s = q.scale.size() == 1 ? q.scale[0] : q.scale[c];
      for (size_t i = 0; i < per; ++i)
        qw[c * per + i] = static_cast<int8_t>(kernels::quantize_value(f[c * per + i], s, 0, -128, 127));
    }
    QuantParams wq = q;
    wq.axis = 0;
    return b_.add_constant_s8(name, std::move(shape), qw, wq);
  }

  // An Expand of constants (PyTorch's zero initial state for LSTM/GRU),
  // made a constant only if something reads it.
  int expanded_constant(int v, Layout l, bool quant) {
    const Node& e = g_.nodes[static_cast<size_t>(expand_.at(v))];
    const Value& in = val(e.inputs[0]);
    const Value& out = g_.values[static_cast<size_t>(v)];
    Value c = out;
    c.is_constant = true;
    c.type = in.type;
    const size_t size = elem_size(in.type);
    c.data.resize(out.elements() * size);
    const size_t rank = out.shape.size();
    std::vector<int64_t> in_shape(rank, 1);
    std::copy(in.shape.begin(), in.shape.end(), in_shape.end() - static_cast<long>(in.shape.size()));
    std::vector<int64_t> idx(rank, 0);
    for (size_t k = 0; k < out.elements(); ++k) {
      int64_t src = 0;
      for (size_t i = 0; i < rank; ++i) src = src * in_shape[i] + (in_shape[i] == 1 ? 0 : idx[i]);
      std::memcpy(c.data.data() + k * size, in.data.data() + static_cast<size_t>(src) * size, size);
      for (size_t i = rank; i-- > 0;) {
        if (++idx[i] < out.shape[i]) break;
        idx[i] = 0;
      }
    }
    return constant(v, l, quant, folded_[v] = std::move(c));
  }

  bool lower_node(const Node& n);
  bool lower_op(const Node& n);
  bool lower_conv(const Node& n);
  bool lower_gemm(const Node& n);
  // FULLY_CONNECTED for node n with weights wdata [nout, kin] (from w):
  // u8 when n runs quantized, f32 with int8 weights when dynamic, else f32.
  bool add_fully_connected(const Node& n, const Value& w, const std::vector<uint8_t>& wdata, int32_t nout,
                           int32_t kin, const std::vector<float>& bias);
  bool lower_matmul(const Node& n);
  bool lower_pool(const Node& n);
  bool lower_elementwise(const Node& n, OpCode code);
  bool lower_unary(const Node& n, OpCode code, fb::OpOptionsUnion options);
  bool lower_clamp(const Node& n, float lo, float hi);
  bool lower_reshape(const Node& n);
  bool lower_concat(const Node& n);
  bool lower_softmax(const Node& n, OpCode code);
  bool lower_transpose(const Node& n);
  bool lower_slice(const Node& n);
  bool lower_layer_norm(const Node& n);
  bool lower_rnn(const Node& n);
  bool lower_reduce(const Node& n, OpCode code);
  bool lower_pad(const Node& n);
  bool lower_gather(const Node& n);
  bool lower_split(const Node& n);
  bool lower_cast(const Node& n);
  bool lower_resize(const Node& n);
  bool lower_conv_transpose(const Node& n);
  bool lower_compare(const Node& n, bool greater);
  bool lower_if(const Node& n);
  bool lower_body(const Graph& body, int subgraph, const std::vector<int32_t>* bound,
                  const std::vector<std::string>& names, std::vector<int32_t>* outputs);
  bool only_conditions(int v) const;
  int rnn_initial_state(int v, int dir, int dirs, bool batch_major);

  // An op whose options table is `options` (an fb::...OptionsT).
  template <class Options>
  void add_op(OpCode code, std::vector<int32_t> ins, std::vector<int32_t> outs, Options options,
              const std::string& name) {
    fb::OpOptionsUnion u;
    u.Set(std::move(options));
    b_.add_operator(code, std::move(ins), std::move(outs), u, name);
  }

  // Op n reading input 0 and writing output 0, both in `layout`.
  template <class Options>
  bool add_single(const Node& n, OpCode code, Options options, Layout layout, bool quant) {
    const int in = tensor(n.inputs[0], layout, quant);
    const int out = define(n.outputs[0], layout, quant);
    home_[static_cast<size_t>(n.outputs[0])] = layout;
    add_op(code, {in}, {out}, std::move(options), n.name);
    count(quant);
    return true;
  }

  bool used(int v) const { return v >= 0 && uses_[static_cast<size_t>(v)] > 0; }
  // The one node reading v when v is not a graph output, else null.
  const Node* sole_reader(int v) const {
    if (uses_[static_cast<size_t>(v)] != 1) return nullptr;
    for (const Node& m : g_.nodes)
      if (std::find(m.inputs.begin(), m.inputs.end(), v) != m.inputs.end()) return &m;
    return nullptr;
  }
  // Constant data of v, including an Expand of constants; null otherwise.
  const Value* constant_data(int v) const {
    if (val(v).is_constant) return &val(v);
    auto e = expand_.find(alias_[static_cast<size_t>(v)]);
    return e == expand_.end() ? nullptr : &val(g_.nodes[static_cast<size_t>(e->second)].inputs[0]);
  }

  // Whether n runs on u8: every activation input and output has params.
  bool runs_quantized(const Node& n, std::initializer_list<int> activation_inputs) const {
    if (o_.keep_float.count(n.name)) return false;
    for (int i : activation_inputs)
      if (i >= static_cast<int>(n.inputs.size()) || n.inputs[static_cast<size_t>(i)] < 0 ||
          !quantized(n.inputs[static_cast<size_t>(i)]))
        return false;
    for (int o : n.outputs)
      if (o >= 0 && !quantized(o)) return false;
    return true;
  }

  // Whether n runs on u8 for an op whose u8 form keeps its input's params
  // (pad, gather, split, resize): every output must carry exactly those.
  bool keeps_params(const Node& n) const {
    if (!runs_quantized(n, {0})) return false;
    const QuantParams& q = val(n.inputs[0]).quant;
    for (int o : n.outputs)
      if (o >= 0 && (val(o).quant.scale != q.scale || val(o).quant.zero_point != q.zero_point)) return false;
    return q.scale.size() == 1;
  }

  // Where an elementwise-like op on v works: a 4-D value's home layout.
  Layout home(int v) const {
    return val(v).shape.size() == 4 ? home_[static_cast<size_t>(alias_[static_cast<size_t>(v)])] : Layout::plain;
  }

  void count(bool quant) { (quant ? quantized_ops_ : float_ops_)++; }

  const Graph& g_;
  const LowerOptions& o_;
  std::string* error_;
  std::string not_4d_;  // what checked() found, for lower_node's error
  ModelBuilder& b_;
  const int subgraph_;
  std::set<int> truth_;            // comparisons, held as f32 max(a - b, 0)
  std::map<Key, int> cache_;
  std::vector<Layout> home_;
  std::vector<int> alias_;
  std::vector<int> uses_;
  std::set<const Node*> skip_;     // folded into an earlier op
  std::map<int, int> expand_;      // value -> Expand node of constants
  std::map<int, Value> folded_;    // those values, once materialized
  int quantized_ops_ = 0, float_ops_ = 0, dynamic_ops_ = 0;
};

bool Lowerer::lower_node(const Node& n) {
  if (!lower_op(n)) return false;
  if (not_4d_.empty()) return true;
  return fail(n, not_4d_ + ", but this node gives it the 4-D layout of its input; the model's shapes disagree");
}

bool Lowerer::lower_op(const Node& n) {
  const std::string& op = n.op;
  if (op == "Identity" || op == "Dropout") {
    alias_[static_cast<size_t>(n.outputs[0])] = alias_[static_cast<size_t>(n.inputs[0])];
    return true;
  }
  if (op == "Expand" && val(n.inputs[0]).is_constant && val(n.inputs[1]).is_constant) {
    expand_[n.outputs[0]] = static_cast<int>(&n - g_.nodes.data());
    return true;
  }
  if (op == "LSTM" || op == "GRU") return lower_rnn(n);
  if (op == "Slice") return lower_slice(n);
  if (op == "LayerNormalization") return lower_layer_norm(n);
  if (op == "ReduceMean") return lower_reduce(n, OpCode::REDUCE_MEAN);
  if (op == "ReduceMax") return lower_reduce(n, OpCode::REDUCE_MAX);
  if (op == "ReduceSum") return lower_reduce(n, OpCode::REDUCE_SUM);
  if (op == "Pad") return lower_pad(n);
  if (op == "Gather") return lower_gather(n);
  if (op == "Split") return lower_split(n);
  if (op == "Cast") return lower_cast(n);
  if (op == "Resize" || op == "Upsample") return lower_resize(n);
  if (op == "ConvTranspose") return lower_conv_transpose(n);
  if (op == "Gelu") {
    fb::GeluOptionsT t;
    t.approximate_tanh = n.get_string("approximate", "none") == "tanh";
    fb::OpOptionsUnion u;
    u.Set(std::move(t));
    return lower_unary(n, OpCode::GELU, u);
  }
  if (op == "Conv") return lower_conv(n);
  if (op == "Gemm") return lower_gemm(n);
  if (op == "MatMul") return lower_matmul(n);
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") return lower_pool(n);
  if (op == "Add") return lower_elementwise(n, OpCode::ADD);
  if (op == "Sub") return lower_elementwise(n, OpCode::SUB);
  if (op == "Mul") return lower_elementwise(n, OpCode::MUL);
  if (op == "Div") return lower_elementwise(n, OpCode::DIV);
  if (op == "Max") return lower_elementwise(n, OpCode::MAXIMUM);
  if (op == "Min") return lower_elementwise(n, OpCode::MINIMUM);
  if (op == "Pow") return lower_elementwise(n, OpCode::POW);
  if (op == "Relu") return lower_clamp(n, 0.f, kInf);
  if (op == "Clip") {
    float lo = n.get_float("min", -kInf), hi = n.get_float("max", kInf);
    // opset 11+: bounds are (optional, constant) inputs.
    for (size_t k = 1; k < 3 && k < n.inputs.size(); ++k) {
      const int b = n.inputs[k];
      if (b < 0) continue;
      if (!val(b).is_constant || val(b).elements() != 1 || val(b).type != ElemType::f32)
        return fail(n, "Clip bound must be a constant float scalar");
      (k == 1 ? lo : hi) = val(b).as<float>()[0];
    }
    return lower_clamp(n, lo, hi);
  }
  if (op == "Sigmoid") return lower_unary(n, OpCode::SIGMOID, {});
  if (op == "Silu") return lower_unary(n, OpCode::SILU, {});
  if (op == "Tanh") return lower_unary(n, OpCode::TANH, {});
  if (op == "Exp") return lower_unary(n, OpCode::EXP, {});
  if (op == "Log") return lower_unary(n, OpCode::LOG, {});
  if (op == "Sqrt") return lower_unary(n, OpCode::SQRT, {});
  if (op == "Neg") return lower_unary(n, OpCode::NEG, {});
  if (op == "Erf") return lower_unary(n, OpCode::ERF, {});
  if (op == "HardSwish") return lower_unary(n, OpCode::HARD_SWISH, {});
  if (op == "HardSigmoid") {
    fb::HardSigmoidOptionsT t;
    t.alpha = n.get_float("alpha", 0.2f);
    t.beta = n.get_float("beta", 0.5f);
    fb::OpOptionsUnion u;
    u.Set(std::move(t));
    return lower_unary(n, OpCode::HARD_SIGMOID, u);
  }
  if (op == "LeakyRelu") {
    fb::LeakyReluOptionsT t;
    t.alpha = n.get_float("alpha", 0.01f);
    fb::OpOptionsUnion u;
    u.Set(std::move(t));
    return lower_unary(n, OpCode::LEAKY_RELU, u);
  }
  if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze")
    return lower_reshape(n);
  if (op == "Concat") return lower_concat(n);
  if (op == "Softmax") return lower_softmax(n, OpCode::SOFTMAX);
  if (op == "LogSoftmax") return lower_softmax(n, OpCode::LOG_SOFTMAX);
  if (op == "Transpose") return lower_transpose(n);
  if (op == "If") return lower_if(n);
  if (op == "Greater" || op == "Less") return lower_compare(n, op == "Greater");
  return fail(n, "operator type '" + op + "' is not supported by qrt-convert");
}

// ONNX strides, dilations and pads (top, left, bottom, right) into a conv
// or pool options struct, which all name these fields alike.
template <class Options>
void set_window(Options& o, const std::vector<int64_t>& strides, const std::vector<int64_t>& dil,
                const std::vector<int64_t>& pads) {
  o.stride_h = static_cast<int32_t>(strides[0]);
  o.stride_w = static_cast<int32_t>(strides[1]);
  o.dilation_h = static_cast<int32_t>(dil[0]);
  o.dilation_w = static_cast<int32_t>(dil[1]);
  o.pad_top = static_cast<int32_t>(pads[0]);
  o.pad_left = static_cast<int32_t>(pads[1]);
  o.pad_bottom = static_cast<int32_t>(pads[2]);
  o.pad_right = static_cast<int32_t>(pads[3]);
}

// Fused activation recorded on the node by the fusion pass.
std::pair<float, float> fused_activation(const Node& n) {
  return {n.get_float("qrt_act_min", -kInf), n.get_float("qrt_act_max", kInf)};
}

bool Lowerer::lower_conv(const Node& n) {
  const Value& x = val(n.inputs[0]);
  if (x.shape.size() != 4) return fail(n, "only 2-D convolution (4-D input) is supported");
  const int wid = n.inputs[1];
  const Value& w = val(wid);
  if (!w.is_constant) return fail(n, "weights must be constant");
  if (w.shape.size() != 4) return fail(n, "weights must be 4-D (OIHW)");
  const int64_t groups = n.get_int("group", 1);
  std::vector<int64_t> k = n.get_ints("kernel_shape", {w.shape[2], w.shape[3]});
  std::vector<int64_t> strides = n.get_ints("strides", {1, 1});
  std::vector<int64_t> dil = n.get_ints("dilations", {1, 1});
  std::vector<int64_t> pads = n.get_ints("pads", {0, 0, 0, 0});
  if (k.size() != 2 || strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
    return fail(n, "kernel_shape, strides and dilations need 2 entries and pads 4");
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (int a = 0; a < 2; ++a) {
      const int64_t in = x.shape[static_cast<size_t>(2 + a)];
      const int64_t out = (in + strides[static_cast<size_t>(a)] - 1) / strides[static_cast<size_t>(a)];
      const int64_t total = std::max<int64_t>(
          0, (out - 1) * strides[static_cast<size_t>(a)] + (k[static_cast<size_t>(a)] - 1) * dil[static_cast<size_t>(a)] + 1 - in);
      const int64_t small = total / 2, big = total - small;
      pads[static_cast<size_t>(a)] = auto_pad == "SAME_UPPER" ? small : big;
      pads[static_cast<size_t>(a + 2)] = auto_pad == "SAME_UPPER" ? big : small;
    }
  } else if (auto_pad == "VALID") {
    pads = {0, 0, 0, 0};
  }
  const bool quant = runs_quantized(n, {0}) && w.type == ElemType::f32 && !w.quant.scale.empty();
  // Weights: ONNX OIHW -> OHWI, quantized symmetric int8 with the weight's params.
  std::vector<uint8_t> data = permute(w.data, w.shape, {0, 2, 3, 1}, 4);
  std::vector<int32_t> w_shape = {static_cast<int32_t>(w.shape[0]), static_cast<int32_t>(w.shape[2]),
                                  static_cast<int32_t>(w.shape[3]), static_cast<int32_t>(w.shape[1])};
  const int wt = quant ? quantized_weights(w, data, w_shape)
                       : b_.add_constant(w.name, w_shape, DType::F32, data.data(), data.size());
  int bias = -1;
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Value& bv = val(n.inputs[2]);
    if (!bv.is_constant) return fail(n, "bias must be constant");
    bias = b_.add_constant(bv.name, {static_cast<int32_t>(bv.elements())}, DType::F32, bv.data.data(),
                           bv.data.size());
  }
  const int in = tensor(n.inputs[0], Layout::nhwc, quant);
  const int out = define(n.outputs[0], Layout::nhwc, quant);
  home_[static_cast<size_t>(n.outputs[0])] = Layout::nhwc;
  Conv2DAttrs a;
  set_window(a, strides, dil, pads);
  a.groups = static_cast<int>(groups);
  std::tie(a.act_min, a.act_max) = fused_activation(n);
  b_.add_conv2d(in, wt, bias, out, a, n.name);
  count(quant);
  return true;
}

bool Lowerer::lower_gemm(const Node& n) {
  const Value& a = val(n.inputs[0]);
  const Value& bmat = val(n.inputs[1]);
  if (n.get_int("transA", 0) != 0) return fail(n, "transA=1 is not supported");
  if (!bmat.is_constant || bmat.shape.size() != 2 || a.shape.size() != 2)
    return fail(n, "needs a 2-D input and constant 2-D weights");
  const float alpha = n.get_float("alpha", 1.f), beta = n.get_float("beta", 1.f);
  const bool trans_b = n.get_int("transB", 0) != 0;
  std::vector<uint8_t> wdata = trans_b ? bmat.data : permute(bmat.data, bmat.shape, {1, 0}, 4);
  const int32_t nout = static_cast<int32_t>(trans_b ? bmat.shape[0] : bmat.shape[1]);
  const int32_t kin = static_cast<int32_t>(trans_b ? bmat.shape[1] : bmat.shape[0]);
  float* wf = reinterpret_cast<float*>(wdata.data());
  if (alpha != 1.f)
    for (size_t i = 0; i < wdata.size() / 4; ++i) wf[i] *= alpha;
  std::vector<float> bias;
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Value& c = val(n.inputs[2]);
    if (!c.is_constant || (c.elements() != 1 && c.elements() != static_cast<size_t>(nout)))
      return fail(n, "bias C must be a constant of N elements or a scalar");
    for (int32_t j = 0; j < nout; ++j) bias.push_back(beta * c.as<float>()[c.elements() == 1 ? 0 : j]);
  }
  return add_fully_connected(n, bmat, wdata, nout, kin, bias);
}

bool Lowerer::add_fully_connected(const Node& n, const Value& w, const std::vector<uint8_t>& wdata,
                                  int32_t nout, int32_t kin, const std::vector<float>& bias) {
  const bool weights_quantized = !w.quant.scale.empty();
  const bool quant = runs_quantized(n, {0}) && weights_quantized;
  // Imported (QDQ) weight params that do not fit [nout, kin] leave the op float.
  const size_t scales = w.quant.scale.size();
  const bool dynamic = !quant && weights_quantized && o_.dynamic && !o_.keep_float.count(n.name) &&
                       (scales == 1 || scales == static_cast<size_t>(nout));
  const int wt = quant || dynamic ? quantized_weights(w, wdata, {nout, kin})
                                  : b_.add_constant(w.name, {nout, kin}, DType::F32, wdata.data(), wdata.size());
  // nn.Linear on an N-D input exports as MatMul + Add(bias); PyTorch's
  // dynamic linear adds the bias itself, f32(acc * scale) + bias, which is
  // what the separate float Add computes too: one op instead of two. The
  // float FC starts its sum from the bias, which moves results by rounding
  // only. A clamp fused into the MatMul sits before the Add: no fold then.
  std::vector<float> folded_bias = bias;
  const Node* add = !quant && bias.empty() && !n.has("qrt_act_min") ? sole_reader(n.outputs[0]) : nullptr;
  if (add && (add->op != "Add" || add->inputs.size() != 2 || o_.keep_float.count(add->name) ||
              quantized(add->outputs[0])))
    add = nullptr;
  if (add) {
    const int other = add->inputs[0] == n.outputs[0] ? add->inputs[1] : add->inputs[0];
    const Value& c = val(other);
    const bool vector = c.is_constant && c.type == ElemType::f32 && c.elements() == static_cast<size_t>(nout) &&
                        !c.shape.empty() && c.shape.back() == nout &&
                        val(add->outputs[0]).shape == val(n.outputs[0]).shape;
    if (vector)
      folded_bias.assign(c.as<float>(), c.as<float>() + nout);
    else
      add = nullptr;
  }
  const int bt = folded_bias.empty() ? -1 : b_.add_constant_f32((add ? add->name : n.name) + ".bias", {nout}, folded_bias);
  const int in = tensor(n.inputs[0], Layout::plain, quant);
  const int out = define(add ? add->outputs[0] : n.outputs[0], Layout::plain, quant);
  auto [lo, hi] = fused_activation(add ? *add : n);
  if (add) skip_.insert(add);
  b_.add_fully_connected(in, wt, bt, out, lo, hi, n.name);
  if (dynamic)
    dynamic_ops_++;
  else
    count(quant);
  return true;
}

bool Lowerer::lower_matmul(const Node& n) {
  const Value& bmat = val(n.inputs[1]);
  if (bmat.is_constant && bmat.shape.size() == 2 && val(n.inputs[0]).shape.size() >= 2) {
    Node gemm = n;
    gemm.attrs["transB"].kind = Attribute::Kind::i;
    gemm.attrs["transB"].i = 0;
    const Value& a = val(n.inputs[0]);
    if (a.shape.size() == 2) return lower_gemm(gemm);
    // [..., K] x [K, N]: FULLY_CONNECTED takes any leading dims.
    std::vector<uint8_t> wdata = permute(bmat.data, bmat.shape, {1, 0}, 4);
    return add_fully_connected(n, bmat, wdata, static_cast<int32_t>(bmat.shape[1]),
                               static_cast<int32_t>(bmat.shape[0]), {});
  }
  const int a = tensor(n.inputs[0], Layout::plain, false);
  const int b = tensor(n.inputs[1], Layout::plain, false);
  const int out = define(n.outputs[0], Layout::plain, false);
  b_.add_operator(OpCode::MATMUL, {a, b}, {out}, {}, n.name);
  count(false);
  return true;
}

bool Lowerer::lower_pool(const Node& n) {
  const Value& x = val(n.inputs[0]);
  if (x.shape.size() != 4) return fail(n, "only 2-D pooling (4-D input) is supported");
  const bool quant = runs_quantized(n, {0});
  const int in = tensor(n.inputs[0], Layout::nhwc, quant);
  const int out = define(n.outputs[0], Layout::nhwc, quant);
  home_[static_cast<size_t>(n.outputs[0])] = Layout::nhwc;
  count(quant);
  if (n.op == "GlobalAveragePool") {
    b_.add_global_avg_pool(in, out, n.name);
    return true;
  }
  std::vector<int64_t> k = n.get_ints("kernel_shape");
  if (k.size() != 2) return fail(n, "kernel_shape must have 2 entries");
  std::vector<int64_t> strides = n.get_ints("strides", {1, 1});
  std::vector<int64_t> pads = n.get_ints("pads", {0, 0, 0, 0});
  std::vector<int64_t> dil = n.get_ints("dilations", {1, 1});
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
    return fail(n, "strides and dilations need 2 entries and pads 4");
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return fail(n, "auto_pad " + auto_pad + " is not supported");
  fb::Pool2DOptionsT p;
  p.kernel_h = static_cast<int32_t>(k[0]);
  p.kernel_w = static_cast<int32_t>(k[1]);
  set_window(p, strides, dil, pads);
  p.ceil_mode = n.get_int("ceil_mode", 0) != 0;
  p.count_include_pad = n.get_int("count_include_pad", 0) != 0;
  fb::OpOptionsUnion u;
  u.Set(std::move(p));
  b_.add_operator(n.op == "MaxPool" ? OpCode::MAX_POOL_2D : OpCode::AVG_POOL_2D, {in}, {out}, u,
                  n.name);
  return true;
}

bool Lowerer::lower_elementwise(const Node& n, OpCode code) {
  const bool quant = (code == OpCode::ADD || code == OpCode::MUL) && runs_quantized(n, {0, 1});
  // Work in NHWC when every non-constant input is 4-D and the first lives there.
  Layout layout = Layout::plain;
  const Value& out_v = val(n.outputs[0]);
  if (out_v.shape.size() == 4) {
    bool all4 = true;
    int first = -1;
    for (int i : n.inputs) {
      if (val(i).is_constant) continue;
      all4 = all4 && val(i).shape.size() == 4;
      if (first < 0) first = i;
    }
    if (all4 && first >= 0) layout = home_[static_cast<size_t>(alias_[static_cast<size_t>(first)])];
  }
  std::vector<int32_t> ins;
  for (int i : n.inputs) {
    const Value& v = val(i);
    if (v.is_constant && layout == Layout::nhwc && v.shape.size() < 4) {
      // numpy broadcasting aligns trailing axes: lift to 4-D, then to NHWC.
      Value lifted = v;
      while (lifted.shape.size() < 4) lifted.shape.insert(lifted.shape.begin(), 1);
      std::vector<uint8_t> data = permute(lifted.data, lifted.shape, {0, 2, 3, 1}, elem_size(v.type));
      ins.push_back(b_.add_constant(v.name + ":nhwc", physical_shape(lifted.shape, Layout::nhwc),
                                    fb_type(v.type), data.data(), data.size()));
      continue;
    }
    ins.push_back(tensor(i, v.shape.size() == 4 ? layout : Layout::plain, quant));
  }
  const int out = define(n.outputs[0], layout, quant);
  home_[static_cast<size_t>(n.outputs[0])] = layout;
  auto [lo, hi] = fused_activation(n);
  if (code == OpCode::ADD) {
    b_.add_add(ins[0], ins[1], out, lo, hi, n.name);
  } else {
    fb::BinaryOptionsT t;
    t.act_min = lo;
    t.act_max = hi;
    fb::OpOptionsUnion u;
    u.Set(std::move(t));
    b_.add_operator(code, ins, {out}, u, n.name);
  }
  count(quant);
  return true;
}

// Whether PyTorch 1.13 has a uint8 kernel for unary op `n` with the params
// on its input and output (kernels/ref/unary.h decides, as the runtime's
// prepare does); otherwise the op runs in float between DEQUANTIZE and
// QUANTIZE.
bool unary_runs_u8(const Node& n, OpCode code, fb::Profile profile, const QuantParams& in,
                   const QuantParams& out) {
  kernels::QuantUnarySpec spec;
  switch (code) {
    case OpCode::SIGMOID: spec.op = kernels::UnaryOp::sigmoid; break;
    case OpCode::TANH: spec.op = kernels::UnaryOp::tanh; break;
    case OpCode::HARD_SWISH: spec.op = kernels::UnaryOp::hard_swish; break;
    case OpCode::HARD_SIGMOID:
      spec.op = kernels::UnaryOp::hard_sigmoid;
      spec.alpha = n.get_float("alpha", 0.2f);
      spec.beta = n.get_float("beta", 0.5f);
      break;
    case OpCode::LEAKY_RELU:
      spec.op = kernels::UnaryOp::leaky_relu;
      spec.alpha = n.get_float("alpha", 0.01f);
      break;
    default: return false;
  }
  if (in.scale.size() != 1 || out.scale.size() != 1) return false;
  spec.profile = profile == fb::Profile::Fbgemm ? kernels::Profile::fbgemm : kernels::Profile::qnnpack;
  spec.in_scale = in.scale[0];
  spec.in_zp = static_cast<int32_t>(in.zero_point[0]);
  spec.out_scale = out.scale[0];
  spec.out_zp = static_cast<int32_t>(out.zero_point[0]);
  return kernels::unary_u8_unsupported(spec) == nullptr;
}

bool Lowerer::lower_unary(const Node& n, OpCode code, fb::OpOptionsUnion options) {
  const bool quant = runs_quantized(n, {0}) &&
                     unary_runs_u8(n, code, o_.profile, val(n.inputs[0]).quant, val(n.outputs[0]).quant);
  const Layout layout = home(n.inputs[0]);
  const int in = tensor(n.inputs[0], layout, quant);
  const int out = define(n.outputs[0], layout, quant);
  home_[static_cast<size_t>(n.outputs[0])] = layout;
  b_.add_operator(code, {in}, {out}, options, n.name);
  count(quant);
  return true;
}

bool Lowerer::lower_clamp(const Node& n, float lo, float hi) {
  const bool quant = runs_quantized(n, {0});
  const Layout layout = home(n.inputs[0]);
  const int in = tensor(n.inputs[0], layout, quant);
  const int out = define(n.outputs[0], layout, quant);
  home_[static_cast<size_t>(n.outputs[0])] = layout;
  b_.add_clamp(in, out, lo, hi, n.name);
  count(quant);
  return true;
}

bool Lowerer::lower_reshape(const Node& n) {
  const bool quant = runs_quantized(n, {0});
  const int in = tensor(n.inputs[0], Layout::plain, quant);
  const int out = define(n.outputs[0], Layout::plain, quant);
  b_.add_reshape(in, out, n.name);
  count(quant);
  return true;
}

bool Lowerer::lower_concat(const Node& n) {
  std::vector<int> inputs;
  for (size_t k = 0; k < n.inputs.size(); ++k) inputs.push_back(static_cast<int>(k));
  bool quant = !o_.keep_float.count(n.name);
  for (int i : n.inputs) quant = quant && quantized(i);
  quant = quant && quantized(n.outputs[0]);
  const Value& out_v = val(n.outputs[0]);
  const int rank = static_cast<int>(out_v.shape.size());
  int64_t axis = n.get_int("axis", 0);
  if (axis < 0) axis += rank;
  Layout layout = Layout::plain;
  if (rank == 4) {
    bool all_nhwc = true;
    for (int i : n.inputs) all_nhwc = all_nhwc && !val(i).is_constant &&
                                      home_[static_cast<size_t>(alias_[static_cast<size_t>(i)])] == Layout::nhwc;
    if (all_nhwc) layout = Layout::nhwc;
  }
  std::vector<int32_t> ins;
  for (int i : n.inputs) ins.push_back(tensor(i, layout, quant));
  const int out = define(n.outputs[0], layout, quant);
  home_[static_cast<size_t>(n.outputs[0])] = layout;
  fb::ConcatOptionsT t;
  t.axis = rank == 4 ? physical_axis(static_cast<int>(axis), layout) : static_cast<int>(axis);
  fb::OpOptionsUnion u;
  u.Set(std::move(t));
  b_.add_operator(OpCode::CONCAT, ins, {out}, u, n.name);
  count(quant);
  return true;
}

bool Lowerer::lower_softmax(const Node& n, OpCode code) {
  const Value& x = val(n.inputs[0]);
  const int rank = static_cast<int>(x.shape.size());
  int64_t axis = n.get_int("axis", g_.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (g_.opset < 13 && axis != rank - 1)
    return fail(n, "opset < 13 softmax over axis " + std::to_string(axis) +
                       " flattens the input to 2-D; only the last axis is supported");
  const int in = tensor(n.inputs[0], Layout::plain, false);
  const int out = define(n.outputs[0], Layout::plain, false);
  fb::SoftmaxOptionsT t;
  t.axis = static_cast<int32_t>(axis);
  fb::OpOptionsUnion u;
  u.Set(std::move(t));
  b_.add_operator(code, {in}, {out}, u, n.name);
  count(false);
  return true;
}

bool Lowerer::lower_transpose(const Node& n) {
  const bool quant = runs_quantized(n, {0});
  const Value& x = val(n.inputs[0]);
  std::vector<int64_t> perm = n.get_ints("perm");
  if (perm.empty())
    for (int64_t i = static_cast<int64_t>(x.shape.size()); i-- > 0;) perm.push_back(i);
  fb::TransposeOptionsT t;
  t.perm.assign(perm.begin(), perm.end());
  return add_single(n, OpCode::TRANSPOSE, std::move(t), Layout::plain, quant);
}

// ONNX Slice (starts/ends/axes/steps as constant inputs, or attributes
// before opset 10) -> SLICE with a begin and a step per axis; the output
// shape holds the counts.
bool Lowerer::lower_slice(const Node& n) {
  const Value& x = val(n.inputs[0]);
  const Value& y = val(n.outputs[0]);
  const size_t rank = x.shape.size();
  auto ints = [&](size_t k, const char* attr, std::vector<int64_t>* out) {
    return constant_ints(g_, n, k, attr, out);
  };
  std::vector<int64_t> starts, ends, axes, steps;
  if (!ints(1, "starts", &starts) || !ints(2, "ends", &ends) || !ints(3, "axes", &axes) || !ints(4, "", &steps))
    return fail(n, "starts, ends, axes and steps must be constant integers");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return fail(n, "starts, ends, axes and steps differ in length");
  if (y.shape.size() != rank) return fail(n, "the output's rank is not the input's");
  std::vector<int32_t> begin(rank, 0), step(rank, 1);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + static_cast<int64_t>(rank) : axes[i];
    if (a < 0 || a >= static_cast<int64_t>(rank) || steps[i] == 0) return fail(n, "axis or step out of range");
    const int64_t dim = x.shape[static_cast<size_t>(a)];
    // A step longer than the axis takes one element: clamped, it fits SLICE's int32.
    const int64_t s = std::clamp<int64_t>(steps[i], -dim - 1, dim + 1);
    int64_t first = 0, count = 0;
    if (!slice_range(dim, starts[i], ends[i], s, &first, &count) || count != y.shape[static_cast<size_t>(a)])
      return fail(n, "the output shape is not the slice's");
    begin[static_cast<size_t>(a)] = static_cast<int32_t>(std::min<int64_t>(first, dim - 1));
    step[static_cast<size_t>(a)] = static_cast<int32_t>(s);
  }
  if (y.elements() == 0) return fail(n, "the slice is empty");
  const bool quant = runs_quantized(n, {0});
  fb::SliceOptionsT t;
  t.begin = begin;
  t.step = step;
  return add_single(n, OpCode::SLICE, std::move(t), Layout::plain, quant);
}

bool Lowerer::lower_layer_norm(const Node& n) {
  for (size_t k = 1; k < n.outputs.size(); ++k)
    if (used(n.outputs[k])) return fail(n, "the Mean and InvStdDev outputs are not supported");
  const int rank = static_cast<int>(val(n.inputs[0]).shape.size());
  int64_t axis = n.get_int("axis", -1);
  if (axis < 0) axis += rank;
  std::vector<int32_t> ins = {tensor(n.inputs[0], Layout::plain, false)};
  for (size_t k = 1; k < 3; ++k) {
    const int v = k < n.inputs.size() ? n.inputs[k] : -1;
    if (v >= 0 && !val(v).is_constant) return fail(n, "scale and bias must be constant");
    ins.push_back(v < 0 ? -1 : tensor(v, Layout::plain, false));
  }
  const int out = define(n.outputs[0], Layout::plain, false);
  fb::LayerNormOptionsT t;
  t.axis = static_cast<int32_t>(axis);
  t.epsilon = n.get_float("epsilon", 1e-5f);
  add_op(OpCode::LAYER_NORM, ins, {out}, std::move(t), n.name);
  count(false);
  return true;
}

// Initial h or c of direction `dir`: absent or all zeros -> -1 (the op's
// zeros), else the value itself when there is one direction (a graph input
// stays one: a caller carries state through it), or a SLICE of it.
int Lowerer::rnn_initial_state(int v, int dir, int dirs, bool batch_major) {
  if (v < 0) return -1;
  const Value& s = val(v);
  const std::vector<int32_t> shape = batch_major ? std::vector<int32_t>{static_cast<int32_t>(s.shape[0]), 1,
                                                                        static_cast<int32_t>(s.shape[2])}
                                                 : std::vector<int32_t>{1, static_cast<int32_t>(s.shape[1]),
                                                                        static_cast<int32_t>(s.shape[2])};
  const std::string name = s.name + (dirs == 1 ? "" : dir ? ":reverse" : ":forward");
  if (const Value* c = constant_data(v))
    if (std::all_of(c->data.begin(), c->data.end(), [](uint8_t b) { return b == 0; })) return -1;
  const int whole = tensor(v, Layout::plain, false);
  if (dirs == 1) return whole;
  const int out = b_.add_tensor(name, shape, DType::F32);
  fb::SliceOptionsT t;
  t.begin = batch_major ? std::vector<int32_t>{0, dir, 0} : std::vector<int32_t>{dir, 0, 0};
  t.step = {1, 1, 1};
  add_op(OpCode::SLICE, {whole}, {out}, std::move(t), name + ":slice");
  count(false);
  return out;
}

// ONNX LSTM / GRU -> one LSTM / GRU op per direction; a bidirectional
// node's directions meet again in CONCATs along ONNX's direction axis.
// Weights quantized by quantize_dynamic (one scale per direction, or one
// per row) give the dynamically quantized op, else the float one.
bool Lowerer::lower_rnn(const Node& n) {
  const bool lstm = n.op == "LSTM";
  const int gates = lstm ? 4 : 3;
  auto input = [&](size_t k) { return k < n.inputs.size() ? n.inputs[k] : -1; };
  auto output = [&](size_t k) { return k < n.outputs.size() ? n.outputs[k] : -1; };
  const std::string direction = n.get_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    return fail(n, "direction '" + direction + "' is not forward, reverse or bidirectional");
  const int dirs = direction == "bidirectional" ? 2 : 1;
  if (n.has("clip")) return fail(n, "clip is not supported (PyTorch's LSTM and GRU do not clip)");
  if (lstm && n.get_int("input_forget", 0) != 0) return fail(n, "input_forget=1 is not supported");
  if (lstm && input(7) >= 0) return fail(n, "peephole weights (input P) are not supported");
  if (n.has("activations")) {
    std::vector<std::string> want;
    for (int d = 0; d < dirs; ++d)
      for (const char* a : lstm ? std::vector<const char*>{"Sigmoid", "Tanh", "Tanh"}
                                : std::vector<const char*>{"Sigmoid", "Tanh"})
        want.push_back(a);
    const std::vector<std::string>& have = n.attrs.at("activations").strings;
    if (have != want) {
      std::string list;
      for (const std::string& a : have) list += (list.empty() ? "" : ",") + a;
      return fail(n, "activations " + list + " are not supported (only the default sigmoid and tanh)");
    }
  }
  const bool batch_major = n.get_int("layout", 0) != 0;
  const Value& x = val(input(0));
  if (input(1) < 0 || input(2) < 0) return fail(n, "W and R are required");
  const Value& w = val(input(1));
  const Value& r = val(input(2));
  if (x.shape.size() != 3) return fail(n, "X must be 3-D");
  if (!w.is_constant || !r.is_constant || w.type != ElemType::f32 || r.type != ElemType::f32 ||
      w.shape.size() != 3 || r.shape.size() != 3)
    return fail(n, "W and R must be constant 3-D float tensors");
  const int64_t hidden = n.get_int("hidden_size", r.shape[2]);
  const int64_t gh = gates * hidden, in_size = x.shape[2];
  if (w.shape != std::vector<int64_t>{dirs, gh, in_size} || r.shape != std::vector<int64_t>{dirs, gh, hidden})
    return fail(n, "W or R does not have the shape of " + std::to_string(dirs) + " direction(s), hidden_size " +
                       std::to_string(hidden) + " and input size " + std::to_string(in_size));
  const int64_t seq = x.shape[batch_major ? 1 : 0], batch = x.shape[batch_major ? 0 : 1];
  if (input(4) >= 0) {
    const Value& lens = val(input(4));
    bool full = lens.is_constant && lens.elements() == static_cast<size_t>(batch) &&
                (lens.type == ElemType::i32 || lens.type == ElemType::i64);
    for (size_t i = 0; full && i < lens.elements(); ++i)
      full = (lens.type == ElemType::i32 ? lens.as<int32_t>()[i] : lens.as<int64_t>()[i]) == seq;
    if (!full)
      return fail(n, "sequence_lens must be a constant equal to the sequence length (" + std::to_string(seq) +
                         ") for every batch entry: variable lengths are not supported");
  }
  const int bias_v = input(3);
  if (bias_v >= 0 && (!val(bias_v).is_constant || val(bias_v).elements() != static_cast<size_t>(dirs * 2 * gh)))
    return fail(n, "B must be a constant of [directions, 2 * gates * hidden_size]");
  // Params in quantize_dynamic's layout only (an imported QDQ model's may differ: those stay float).
  auto rnn_params = [&](const QuantParams& q) {
    return q.scale.size() == static_cast<size_t>(q.axis == 1 ? dirs * gh : dirs);
  };
  const bool dynamic = o_.dynamic && !o_.keep_float.count(n.name) && rnn_params(w.quant) && rnn_params(r.quant);

  const size_t w_bytes = static_cast<size_t>(gh * in_size) * 4, r_bytes = static_cast<size_t>(gh * hidden) * 4;
  // One direction of W or R, and its params when quantized (quantize.h:
  // one scale per direction on axis 0, or one per row on axis 1).
  auto weights = [&](const Value& v, int d, size_t bytes, int64_t cols) {
    const std::string name = v.name + (dirs == 1 ? "" : d ? ":reverse" : ":forward");
    std::vector<uint8_t> data(v.data.begin() + static_cast<long>(d * bytes),
                              v.data.begin() + static_cast<long>((d + 1) * bytes));
    const std::vector<int32_t> shape = {static_cast<int32_t>(gh), static_cast<int32_t>(cols)};
    if (!dynamic) return b_.add_constant(name, shape, DType::F32, data.data(), data.size());
    QuantParams q;
    const bool per_row = v.quant.axis == 1;
    const size_t per = per_row ? static_cast<size_t>(gh) : 1;
    q.scale.assign(v.quant.scale.begin() + static_cast<long>(d * per), v.quant.scale.begin() + static_cast<long>((d + 1) * per));
    q.zero_point.assign(per, 0);
    q.per_channel = per_row;
    return quantized_weights(name, q, data, shape);
  };
  const int xt = tensor(input(0), Layout::plain, false);
  const int32_t h32 = static_cast<int32_t>(hidden), b32 = static_cast<int32_t>(batch), s32 = static_cast<int32_t>(seq);
  const std::vector<int32_t> y_shape = batch_major ? std::vector<int32_t>{b32, s32, 1, h32}
                                                   : std::vector<int32_t>{s32, 1, b32, h32};
  const std::vector<int32_t> state_shape = batch_major ? std::vector<int32_t>{b32, 1, h32}
                                                       : std::vector<int32_t>{1, b32, h32};
  const int states = lstm ? 2 : 1;
  // Final c needs final h before it (outputs are positional); Y is always made.
  int last_state = 0;
  for (int k = 1; k <= states; ++k)
    if (used(output(static_cast<size_t>(k)))) last_state = k;
  std::vector<std::vector<int32_t>> outs(static_cast<size_t>(1 + last_state));
  for (int d = 0; d < dirs; ++d) {
    const std::string suffix = dirs == 1 ? "" : d ? ":reverse" : ":forward";
    std::vector<int32_t> ins = {xt, weights(w, d, w_bytes, in_size), weights(r, d, r_bytes, hidden), -1, -1};
    if (bias_v >= 0) {
      const float* b = val(bias_v).as<float>() + d * 2 * gh;
      ins[3] = b_.add_constant_f32(val(bias_v).name + suffix + ":W", {static_cast<int32_t>(gh)},
                                   std::vector<float>(b, b + gh));
      ins[4] = b_.add_constant_f32(val(bias_v).name + suffix + ":R", {static_cast<int32_t>(gh)},
                                   std::vector<float>(b + gh, b + 2 * gh));
    }
    for (int k = 0; k < states; ++k) ins.push_back(rnn_initial_state(input(static_cast<size_t>(5 + k)), d, dirs, batch_major));
    while (ins.back() < 0 && ins.size() > 3) ins.pop_back();
    std::vector<int32_t> op_outs;
    for (int k = 0; k <= last_state; ++k) {
      const int v = output(static_cast<size_t>(k));
      int t;
      if (dirs == 1 && used(v))
        t = define(v, Layout::plain, false);
      else
        t = b_.add_tensor(n.name + (k == 0 ? ":Y" : k == 1 ? ":Y_h" : ":Y_c") + suffix, k ? state_shape : y_shape,
                          DType::F32);
      op_outs.push_back(t);
      outs[static_cast<size_t>(k)].push_back(t);
    }
    fb::RnnOptionsT o;
    o.hidden_size = h32;
    o.reverse = direction == "reverse" || d == 1;
    o.batch_major = batch_major;
    o.linear_before_reset = !lstm && n.get_int("linear_before_reset", 0) != 0;
    add_op(lstm ? OpCode::LSTM : OpCode::GRU, ins, op_outs, std::move(o), n.name + suffix);
    if (dynamic)
      dynamic_ops_++;
    else
      count(false);
  }
  if (dirs == 1) return true;
  for (int k = 0; k <= last_state; ++k) {
    const int v = output(static_cast<size_t>(k));
    if (!used(v)) continue;
    fb::ConcatOptionsT t;
    t.axis = k == 0 ? (batch_major ? 2 : 1) : (batch_major ? 1 : 0);
    add_op(OpCode::CONCAT, outs[static_cast<size_t>(k)], {define(v, Layout::plain, false)}, std::move(t),
           n.name + (k == 0 ? ":Y" : k == 1 ? ":Y_h" : ":Y_c"));
    count(false);
  }
  return true;
}

// Logical axis of each physical NHWC axis.
constexpr int kFromNhwc[4] = {0, 2, 3, 1};

// ReduceMean/Max/Sum (axes an attribute, or an input from ReduceSum 13 and
// the others 18). A 4-D input living in NHWC is reduced there when the
// result's layout needs no transpose.
bool Lowerer::lower_reduce(const Node& n, OpCode code) {
  const Value& x = val(n.inputs[0]);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> axes;
  if (!constant_ints(g_, n, 1, "axes", &axes)) return fail(n, "axes must be a constant integer list");
  if (axes.empty() && n.get_int("noop_with_empty_axes", 0) != 0) {
    alias_[static_cast<size_t>(n.outputs[0])] = alias_[static_cast<size_t>(n.inputs[0])];
    return true;
  }
  const bool keep = n.get_int("keepdims", 1) != 0;
  std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank) return fail(n, "axis " + std::to_string(a) + " is outside rank " + std::to_string(rank));
    a = a < 0 ? a + rank : a;
    reduced[static_cast<size_t>(a)] = true;
  }
  Layout layout = home(n.inputs[0]);
  if (layout == Layout::nhwc && !keep) {
    std::vector<int> kept;
    for (int p : kFromNhwc)
      if (!reduced[static_cast<size_t>(p)]) kept.push_back(p);
    if (!std::is_sorted(kept.begin(), kept.end())) layout = Layout::plain;
  }
  fb::ReduceOptionsT t;
  for (int64_t a : axes) t.axes.push_back(physical_axis(static_cast<int>(a), layout));
  t.keep_dims = keep;
  const int in = tensor(n.inputs[0], layout, false);
  const Layout out_layout = keep ? layout : Layout::plain;
  const int out = define(n.outputs[0], out_layout, false);
  home_[static_cast<size_t>(n.outputs[0])] = out_layout;
  add_op(code, {in}, {out}, std::move(t), n.name);
  count(false);
  return true;
}

// Pad: pads (and constant_value, axes) are inputs from opset 11, pads and
// value attributes before.
bool Lowerer::lower_pad(const Node& n) {
  const std::string mode = n.get_string("mode", "constant");
  fb::PadOptionsT t;
  if (mode == "constant")
    t.mode = fb::PadMode::CONSTANT;
  else if (mode == "reflect")
    t.mode = fb::PadMode::REFLECT;
  else if (mode == "edge")
    t.mode = fb::PadMode::EDGE;
  else
    return fail(n, "Pad mode '" + mode + "' is not supported (constant, reflect or edge)");
  const size_t rank = val(n.inputs[0]).shape.size();
  std::vector<int64_t> pads, axes;
  if (!constant_ints(g_, n, 1, "pads", &pads) || !constant_ints(g_, n, 3, "", &axes))
    return fail(n, "pads and axes must be constant integer lists");
  if (!axes.empty()) {
    if (pads.size() != 2 * axes.size()) return fail(n, "pads needs two entries per axis");
    std::vector<int64_t> all(2 * rank, 0);
    for (size_t i = 0; i < axes.size(); ++i) {
      const int64_t a = axes[i] < 0 ? axes[i] + static_cast<int64_t>(rank) : axes[i];
      if (a < 0 || a >= static_cast<int64_t>(rank)) return fail(n, "axis " + std::to_string(axes[i]) + " is out of range");
      all[static_cast<size_t>(a)] = pads[i];
      all[static_cast<size_t>(a) + rank] = pads[i + axes.size()];
    }
    pads = all;
  }
  if (pads.size() != 2 * rank) return fail(n, "pads needs " + std::to_string(2 * rank) + " entries");
  t.value = n.get_float("value", 0.f);
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Value& c = val(n.inputs[2]);
    if (!c.is_constant || c.elements() != 1) return fail(n, "constant_value must be a constant scalar");
    t.value = c.type == ElemType::f32 ? c.as<float>()[0]
              : c.type == ElemType::i64 ? static_cast<float>(c.as<int64_t>()[0])
                                        : static_cast<float>(c.as<int32_t>()[0]);
  }
  const Layout layout = home(n.inputs[0]);
  for (size_t side = 0; side < 2; ++side)
    for (size_t k = 0; k < rank; ++k)
      t.pads.push_back(static_cast<int32_t>(
          pads[side * rank + static_cast<size_t>(layout == Layout::nhwc ? kFromNhwc[k] : static_cast<int>(k))]));
  return add_single(n, OpCode::PAD, std::move(t), layout, keeps_params(n));
}

// Gather: on a constant table this is nn.Embedding.
bool Lowerer::lower_gather(const Node& n) {
  const int64_t rank = static_cast<int64_t>(val(n.inputs[0]).shape.size());
  int64_t axis = n.get_int("axis", 0);
  if (axis < -rank || axis >= rank) return fail(n, "axis " + std::to_string(axis) + " is outside rank " + std::to_string(rank));
  const ElemType it = val(n.inputs[1]).type;
  if (it != ElemType::i64 && it != ElemType::i32) return fail(n, "indices must be int64 or int32");
  const bool quant = keeps_params(n);
  const int data = tensor(n.inputs[0], Layout::plain, quant);
  const int indices = tensor(n.inputs[1], Layout::plain, false);
  const int out = define(n.outputs[0], Layout::plain, quant);
  fb::GatherOptionsT t;
  t.axis = static_cast<int32_t>(axis < 0 ? axis + rank : axis);
  std::vector<int32_t> ins = {data, indices};
  // An int8 embedding table (quantize.h quantize_dynamic): u8 rows, then their scale and bias.
  const bool int8_table = n.inputs.size() > 2 && n.inputs[2] >= 0;
  if (int8_table) ins.push_back(tensor(n.inputs[2], Layout::plain, false));
  add_op(OpCode::GATHER, std::move(ins), {out}, std::move(t), n.name);
  if (int8_table) dynamic_ops_++;
  else count(quant);
  return true;
}

// Split: the outputs' static shapes carry the sizes, whichever form (split
// attribute, input from opset 13, equal parts) the model used.
bool Lowerer::lower_split(const Node& n) {
  const int64_t rank = static_cast<int64_t>(val(n.inputs[0]).shape.size());
  int64_t axis = n.get_int("axis", 0);
  if (axis < -rank || axis >= rank) return fail(n, "axis " + std::to_string(axis) + " is outside rank " + std::to_string(rank));
  if (axis < 0) axis += rank;
  for (int o : n.outputs)
    if (o < 0) return fail(n, "every output must be named");
  const bool quant = keeps_params(n);
  const Layout layout = home(n.inputs[0]);
  const int in = tensor(n.inputs[0], layout, quant);
  std::vector<int32_t> outs;
  for (int o : n.outputs) {
    outs.push_back(define(o, layout, quant));
    home_[static_cast<size_t>(o)] = layout;
  }
  fb::SplitOptionsT t;
  t.axis = rank == 4 ? physical_axis(static_cast<int>(axis), layout) : static_cast<int32_t>(axis);
  add_op(OpCode::SPLIT, {in}, outs, std::move(t), n.name);
  count(quant);
  return true;
}

bool Lowerer::lower_cast(const Node& n) {
  const ElemType from = val(n.inputs[0]).type, to = val(n.outputs[0]).type;
  if (to == ElemType::boolean) {
    const int in = alias_[static_cast<size_t>(n.inputs[0])];
    if (!truth_.count(in)) return fail(n, "Cast to bool is not supported");
    alias_[static_cast<size_t>(n.outputs[0])] = in;
    return true;
  }
  if (from == to) {
    alias_[static_cast<size_t>(n.outputs[0])] = alias_[static_cast<size_t>(n.inputs[0])];
    return true;
  }
  const Layout layout = home(n.inputs[0]);
  const int in = tensor(n.inputs[0], layout, false);
  const int out = define(n.outputs[0], layout, false);
  home_[static_cast<size_t>(n.outputs[0])] = layout;
  b_.add_operator(OpCode::CAST, {in}, {out}, {}, n.name);
  count(false);
  return true;
}

// Resize (opset 10: scales input; 11+: roi, scales, sizes inputs and the
// coordinate attributes) and Upsample (scales attribute before opset 9,
// input from 9), both asymmetric with floor before opset 11.
bool Lowerer::lower_resize(const Node& n) {
  const Value& x = val(n.inputs[0]);
  const Value& y = val(n.outputs[0]);
  if (x.shape.size() != 4) return fail(n, "only 4-D (NCHW) input is supported");
  if (y.shape[0] != x.shape[0] || y.shape[1] != x.shape[1]) return fail(n, "only H and W may be resized");
  fb::ResizeOptionsT t;
  const std::string mode = n.get_string("mode", "nearest");
  if (mode == "nearest")
    t.mode = fb::ResizeMode::NEAREST;
  else if (mode == "linear" || mode == "bilinear")
    t.mode = fb::ResizeMode::BILINEAR;
  else
    return fail(n, "mode '" + mode + "' is not supported (nearest or linear)");
  if (n.get_int("antialias", 0) != 0) return fail(n, "antialias is not supported");
  const bool modern = n.op == "Resize" && g_.opset >= 11;
  std::vector<float> scales;
  if (n.has("scales")) scales = n.attrs.at("scales").floats;
  const size_t scales_input = modern ? 2 : 1;
  if (scales_input < n.inputs.size() && n.inputs[scales_input] >= 0) {
    const Value& c = val(n.inputs[scales_input]);
    if (!c.is_constant || c.type != ElemType::f32) return fail(n, "scales must be a constant float tensor");
    scales.assign(c.as<float>(), c.as<float>() + c.elements());
  }
  // With sizes instead (scales empty), 0 derives the factors from the shapes.
  if (!scales.empty()) {
    if (scales.size() != 4 || scales[0] != 1.f || scales[1] != 1.f) return fail(n, "only H and W may be scaled");
    t.scale_h = scales[2];
    t.scale_w = scales[3];
  }
  t.coordinate_mode = fb::CoordinateMode::ASYMMETRIC;
  t.nearest_mode = fb::NearestMode::FLOOR;
  if (modern) {
    static const std::map<std::string, fb::CoordinateMode> coords = {
        {"half_pixel", fb::CoordinateMode::HALF_PIXEL},
        {"asymmetric", fb::CoordinateMode::ASYMMETRIC},
        {"align_corners", fb::CoordinateMode::ALIGN_CORNERS},
        {"pytorch_half_pixel", fb::CoordinateMode::PYTORCH_HALF_PIXEL},
        {"tf_half_pixel_for_nn", fb::CoordinateMode::TF_HALF_PIXEL_FOR_NN}};
    static const std::map<std::string, fb::NearestMode> rounding = {
        {"round_prefer_floor", fb::NearestMode::ROUND_PREFER_FLOOR},
        {"round_prefer_ceil", fb::NearestMode::ROUND_PREFER_CEIL},
        {"floor", fb::NearestMode::FLOOR},
        {"ceil", fb::NearestMode::CEIL}};
    const std::string coord = n.get_string("coordinate_transformation_mode", "half_pixel");
    const std::string nearest = n.get_string("nearest_mode", "round_prefer_floor");
    if (!coords.count(coord)) return fail(n, "coordinate_transformation_mode '" + coord + "' is not supported");
    if (!rounding.count(nearest)) return fail(n, "nearest_mode '" + nearest + "' is not supported");
    t.coordinate_mode = coords.at(coord);
    t.nearest_mode = rounding.at(nearest);
  }
  return add_single(n, OpCode::RESIZE, std::move(t), Layout::nhwc, keeps_params(n));
}

// ConvTranspose: ONNX weights [C_in, C_out / groups, kh, kw] become OHWI
// [C_out, kh, kw, C_in / groups]; the output's static shape fixes
// output_padding. Runs u8 only with per-tensor weight params (per-channel
// ones would sit on ONNX's axis 1).
bool Lowerer::lower_conv_transpose(const Node& n) {
  const Value& x = val(n.inputs[0]);
  const Value& w = val(n.inputs[1]);
  if (x.shape.size() != 4) return fail(n, "only 2-D transposed convolution (4-D input) is supported");
  if (!w.is_constant || w.type != ElemType::f32 || w.shape.size() != 4)
    return fail(n, "weights must be a constant 4-D float tensor");
  const int64_t groups = n.get_int("group", 1);
  const std::vector<int64_t> strides = n.get_ints("strides", {1, 1}), dil = n.get_ints("dilations", {1, 1}),
                             out_pad = n.get_ints("output_padding", {0, 0});
  std::vector<int64_t> pads = n.get_ints("pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4 || out_pad.size() != 2)
    return fail(n, "strides, dilations and output_padding need 2 entries and pads 4");
  const int64_t cin = w.shape[0], opg = w.shape[1], kh = w.shape[2], kw = w.shape[3];
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  if (auto_pad == "VALID") pads = {0, 0, 0, 0};
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER" || n.has("output_shape")) {
    // ONNX's rule: the padding that gives the (static) output size, an odd
    // total's extra at the start, or at the end for SAME_UPPER.
    for (size_t a = 0; a < 2; ++a) {
      const int64_t k = a ? kw : kh;
      const int64_t total = strides[a] * (x.shape[2 + a] - 1) + out_pad[a] + (k - 1) * dil[a] + 1 -
                            val(n.outputs[0]).shape[2 + a];
      if (total < 0) return fail(n, "output_shape is larger than the input gives");
      pads[a] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[a + 2] = total - pads[a];
    }
  }
  if (groups < 1 || cin % groups != 0) return fail(n, "group does not divide the input channels");
  const int64_t ipg = cin / groups;
  std::vector<uint8_t> data(w.data.size());
  const float* src = w.as<float>();
  float* dst = reinterpret_cast<float*>(data.data());
  for (int64_t ci = 0; ci < cin; ++ci)
    for (int64_t j = 0; j < opg; ++j)
      for (int64_t k = 0; k < kh * kw; ++k) {
        const int64_t o = ci / ipg * opg + j;
        dst[(o * kh * kw + k) * ipg + ci % ipg] = src[(ci * opg + j) * kh * kw + k];
      }
  const std::vector<int32_t> shape = {static_cast<int32_t>(groups * opg), static_cast<int32_t>(kh),
                                      static_cast<int32_t>(kw), static_cast<int32_t>(ipg)};
  const bool quant = runs_quantized(n, {0}) && w.quant.scale.size() == 1;
  std::vector<int32_t> ins = {tensor(n.inputs[0], Layout::nhwc, quant),
                              quant ? quantized_weights(w, data, shape)
                                    : b_.add_constant(w.name, shape, DType::F32, data.data(), data.size())};
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Value& bv = val(n.inputs[2]);
    if (!bv.is_constant) return fail(n, "bias must be constant");
    ins.push_back(b_.add_constant(bv.name, {static_cast<int32_t>(bv.elements())}, DType::F32, bv.data.data(),
                                  bv.data.size()));
  }
  const int out = define(n.outputs[0], Layout::nhwc, quant);
  home_[static_cast<size_t>(n.outputs[0])] = Layout::nhwc;
  fb::TransposeConv2DOptionsT t;
  set_window(t, strides, dil, pads);
  t.groups = static_cast<int32_t>(groups);
  add_op(OpCode::TRANSPOSE_CONV_2D, ins, {out}, std::move(t), n.name);
  count(quant);
  return true;
}

// Whether v only decides If branches, directly or through a Cast to bool:
// the one use qrt has for a comparison, whose result it holds as a float.
bool Lowerer::only_conditions(int v) const {
  if (std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end()) return false;
  for (const Node& m : g_.nodes) {
    for (size_t k = 0; k < m.inputs.size(); ++k) {
      if (m.inputs[k] != v) continue;
      if (m.op == "If" && k == 0) continue;
      if (m.op == "Cast" && m.get_int("to", 0) == 9 && only_conditions(m.outputs[0])) continue;
      return false;
    }
  }
  return true;
}

// a > b as SUB(a, b) clamped at 0, non-zero exactly when a > b: the
// difference of two distinct finite floats is never zero (gradual
// underflow). The IF op takes a non-zero condition as true.
bool Lowerer::lower_compare(const Node& n, bool greater) {
  const int a = n.inputs[greater ? 0 : 1], b = n.inputs[greater ? 1 : 0];
  if (val(a).type != ElemType::f32 || val(b).type != ElemType::f32 || !only_conditions(n.outputs[0]))
    return fail(n, "comparisons are supported on f32 values that decide an If only");
  const int ta = tensor(a, Layout::plain, false), tb = tensor(b, Layout::plain, false);
  const Value& out = g_.values[static_cast<size_t>(n.outputs[0])];
  const int t = b_.add_tensor(out.name, physical_shape(out.shape, Layout::plain), DType::F32);
  cache_[Key{n.outputs[0], Layout::plain, false}] = t;
  truth_.insert(n.outputs[0]);
  fb::BinaryOptionsT o;
  o.act_min = 0.f;
  add_op(OpCode::SUB, {ta, tb}, {t}, std::move(o), n.name);
  count(false);
  return true;
}

bool same_type(const Value& a, const Value& b) { return a.type == b.type && a.shape == b.shape; }

std::string type_text(const Value& v) {
  std::string s = std::string(elem_name(v.type)) + "[";
  for (size_t i = 0; i < v.shape.size(); ++i) s += (i ? "," : "") + std::to_string(v.shape[i]);
  return s + "]";
}

bool Lowerer::lower_body(const Graph& body, int subgraph, const std::vector<int32_t>* bound,
                         const std::vector<std::string>& names, std::vector<int32_t>* outputs) {
  Graph g = body;
  if (!run_default_passes(g, error_)) return false;
  // Inlined, the body's outputs are the If's: they keep the If's names (a
  // graph output stays findable by name after --fix-input).
  if (bound)
    for (size_t k = 0; k < g.outputs.size() && k < names.size(); ++k) {
      Value& v = g.values[static_cast<size_t>(g.outputs[k])];
      if (std::find(g.inputs.begin(), g.inputs.end(), g.outputs[k]) == g.inputs.end()) v.name = names[k];
    }
  LowerOptions o = o_;
  o.keep_io_layout = true;
  o.expose_all = false;
  Lowerer sub(g, o, error_, b_, subgraph);
  if (!sub.run_body(bound, outputs)) return false;
  quantized_ops_ += sub.quantized_ops_;
  float_ops_ += sub.float_ops_;
  dynamic_ops_ += sub.dynamic_ops_;
  return true;
}

// ONNX If. The importer made every outer value a branch reads an input of
// the node (after the condition) and of both branch graphs, in one order.
// A constant condition inlines the branch it picks; otherwise each branch
// becomes a subgraph run by an IF op. Branches stay f32.
bool Lowerer::lower_if(const Node& n) {
  const Graph* branch[2] = {nullptr, nullptr};
  const char* const names[2] = {"then_branch", "else_branch"};
  for (int i = 0; i < 2; ++i) {
    auto it = n.attrs.find(names[i]);
    if (it == n.attrs.end() || it->second.graph.size() != 1) return fail(n, std::string("no ") + names[i]);
    branch[i] = &it->second.graph[0];
    const Graph& b = *branch[i];
    if (b.inputs.size() + 1 != n.inputs.size() || b.outputs.size() != n.outputs.size())
      return fail(n, std::string(names[i]) + " reads or gives a different number of values than the If");
    for (size_t k = 0; k < b.inputs.size(); ++k)
      if (!same_type(b.values[static_cast<size_t>(b.inputs[k])], val(n.inputs[k + 1])))
        return fail(n, std::string(names[i]) + " input '" + b.values[static_cast<size_t>(b.inputs[k])].name +
                           "' differs from the outer value");
    for (size_t k = 0; k < b.outputs.size(); ++k) {
      const Value& bo = b.values[static_cast<size_t>(b.outputs[k])];
      const Value& no = g_.values[static_cast<size_t>(n.outputs[k])];
      if (!same_type(bo, no))
        return fail(n, std::string(names[i]) + " output " + std::to_string(k) + " '" + bo.name + "' is " +
                           type_text(bo) + ", the If's is " + type_text(no) +
                           ": both branches must give the If's static shapes and types");
    }
  }
  std::vector<int32_t> ins;
  for (size_t k = 1; k < n.inputs.size(); ++k) {
    ins.push_back(tensor(n.inputs[k], Layout::plain, false));
    if (ins.back() < 0) return fail(n, "input " + std::to_string(k) + " is not computed yet");
  }
  const Value& cond = val(n.inputs[0]);
  if (cond.is_constant) {
    if (cond.elements() != 1) return fail(n, "the condition must have one element");
    bool taken = false;
    for (uint8_t byte : cond.data) taken = taken || byte != 0;
    std::vector<int32_t> outs;
    std::vector<std::string> out_names;
    for (int v : n.outputs) out_names.push_back(g_.values[static_cast<size_t>(v)].name);
    if (!lower_body(*branch[taken ? 0 : 1], subgraph_, &ins, out_names, &outs)) return false;
    for (size_t k = 0; k < outs.size(); ++k) cache_[Key{n.outputs[k], Layout::plain, false}] = outs[k];
    return true;
  }
  const int c = tensor(n.inputs[0], Layout::plain, false);
  if (c < 0 || val(n.inputs[0]).elements() != 1)
    return fail(n, "the condition must be one computed element");
  int sub[2];
  for (int i = 0; i < 2; ++i) {
    sub[i] = b_.add_subgraph(n.name + ":" + names[i]);
    b_.select_subgraph(sub[i]);
    std::vector<int32_t> outs;
    const bool ok = lower_body(*branch[i], sub[i], nullptr, {}, &outs);
    b_.select_subgraph(subgraph_);
    if (!ok) return false;
  }
  std::vector<int32_t> ops_in{c};
  ops_in.insert(ops_in.end(), ins.begin(), ins.end());
  std::vector<int32_t> outs;
  for (int v : n.outputs) outs.push_back(define(v, Layout::plain, false));
  fb::IfOptionsT o;
  o.then_subgraph = sub[0];
  o.else_subgraph = sub[1];
  add_op(OpCode::IF, ops_in, outs, std::move(o), n.name);
  count(false);
  return true;
}

}  // namespace

bool lower_graph(const Graph& graph, const LowerOptions& options, LowerResult* result,
                 std::string* error) {
  ModelBuilder builder(options.profile);
  builder.set_producer(options.producer);
  Lowerer l(graph, options, error, builder, 0);
  *result = LowerResult{};
  return l.run(result);
}

}  // namespace qrt::convert
