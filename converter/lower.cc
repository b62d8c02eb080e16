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
  Lowerer(const Graph& g, const LowerOptions& o, std::string* error)
      : g_(g), o_(o), error_(error), b_(o.profile), home_(g.values.size(), Layout::plain),
        alias_(g.values.size()) {
    std::iota(alias_.begin(), alias_.end(), 0);
    b_.set_producer(o.producer);
  }

  bool run(LowerResult* result) {
    std::vector<int32_t> inputs;
    for (int v : g_.inputs) inputs.push_back(tensor(v, Layout::plain, false));
    for (const Node& n : g_.nodes)
      if (!lower_node(n)) return false;
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
    const bool canonical = l == Layout::plain && quant == (val(v).type != ElemType::f32);
    if (canonical) return name;
    if (l == Layout::nhwc) name += ":nhwc";
    if (quant) name += ":q";
    return name;
  }

  // A new builder tensor for value v in (layout, quantized).
  int define(int v, Layout l, bool quant) {
    v = alias_[static_cast<size_t>(v)];
    const Value& value = g_.values[static_cast<size_t>(v)];
    const DType dtype = quant ? DType::U8 : fb_type(value.type);
    const int t = b_.add_tensor(tensor_name(v, l, quant), physical_shape(value.shape, l), dtype,
                                quant ? act_quant(v) : QuantParams{});
    cache_[Key{v, l, quant}] = t;
    return t;
  }

  int constant(int v, Layout l, bool quant) {
    const Value& value = val(v);
    std::vector<uint8_t> data = value.data;
    const size_t size = elem_size(value.type);
    if (l == Layout::nhwc) data = permute(data, value.shape, {0, 2, 3, 1}, size);
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
    const int t = b_.add_constant(tensor_name(v, l, quant), physical_shape(value.shape, l), dtype,
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
    if (std::find(g_.inputs.begin(), g_.inputs.end(), v) != g_.inputs.end() &&
        !cache_.count(Key{v, Layout::plain, value.type != ElemType::f32}))
      return define(v, Layout::plain, value.type != ElemType::f32);

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
    const QuantParams& q = w.quant;
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
    return b_.add_constant_s8(w.name, std::move(shape), qw, wq);
  }

  bool lower_node(const Node& n);
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

  void count(bool quant) { (quant ? quantized_ops_ : float_ops_)++; }

  const Graph& g_;
  const LowerOptions& o_;
  std::string* error_;
  ModelBuilder b_;
  std::map<Key, int> cache_;
  std::vector<Layout> home_;
  std::vector<int> alias_;
  int quantized_ops_ = 0, float_ops_ = 0, dynamic_ops_ = 0;
};

bool Lowerer::lower_node(const Node& n) {
  const std::string& op = n.op;
  if (op == "Identity" || op == "Dropout") {
    alias_[static_cast<size_t>(n.outputs[0])] = alias_[static_cast<size_t>(n.inputs[0])];
    return true;
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
  return fail(n, "operator type '" + op + "' is not supported by qrt-convert");
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
  a.stride_h = static_cast<int>(strides[0]);
  a.stride_w = static_cast<int>(strides[1]);
  a.dilation_h = static_cast<int>(dil[0]);
  a.dilation_w = static_cast<int>(dil[1]);
  a.pad_top = static_cast<int>(pads[0]);
  a.pad_left = static_cast<int>(pads[1]);
  a.pad_bottom = static_cast<int>(pads[2]);
  a.pad_right = static_cast<int>(pads[3]);
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
  const int bt = bias.empty() ? -1 : b_.add_constant_f32(n.name + ".bias", {nout}, bias);
  const int in = tensor(n.inputs[0], Layout::plain, quant);
  const int out = define(n.outputs[0], Layout::plain, quant);
  auto [lo, hi] = fused_activation(n);
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
  p.stride_h = static_cast<int32_t>(strides[0]);
  p.stride_w = static_cast<int32_t>(strides[1]);
  p.pad_top = static_cast<int32_t>(pads[0]);
  p.pad_left = static_cast<int32_t>(pads[1]);
  p.pad_bottom = static_cast<int32_t>(pads[2]);
  p.pad_right = static_cast<int32_t>(pads[3]);
  p.dilation_h = static_cast<int32_t>(dil[0]);
  p.dilation_w = static_cast<int32_t>(dil[1]);
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
  const Layout layout = val(n.inputs[0]).shape.size() == 4
                            ? home_[static_cast<size_t>(alias_[static_cast<size_t>(n.inputs[0])])]
                            : Layout::plain;
  const int in = tensor(n.inputs[0], layout, quant);
  const int out = define(n.outputs[0], layout, quant);
  home_[static_cast<size_t>(n.outputs[0])] = layout;
  b_.add_operator(code, {in}, {out}, options, n.name);
  count(quant);
  return true;
}

bool Lowerer::lower_clamp(const Node& n, float lo, float hi) {
  const bool quant = runs_quantized(n, {0});
  const Layout layout = val(n.inputs[0]).shape.size() == 4
                            ? home_[static_cast<size_t>(alias_[static_cast<size_t>(n.inputs[0])])]
                            : Layout::plain;
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
  const int in = tensor(n.inputs[0], Layout::plain, quant);
  const int out = define(n.outputs[0], Layout::plain, quant);
  fb::TransposeOptionsT t;
  t.perm.assign(perm.begin(), perm.end());
  fb::OpOptionsUnion u;
  u.Set(std::move(t));
  b_.add_operator(OpCode::TRANSPOSE, {in}, {out}, u, n.name);
  count(quant);
  return true;
}

}  // namespace

bool lower_graph(const Graph& graph, const LowerOptions& options, LowerResult* result,
                 std::string* error) {
  Lowerer l(graph, options, error);
  *result = LowerResult{};
  return l.run(result);
}

}  // namespace qrt::convert
