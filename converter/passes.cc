#include "passes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace qrt::convert {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr double kSqrt2OverPi = 0.7978845608028654;

std::vector<int> use_counts(const Graph& g) {
  std::vector<int> uses(g.values.size(), 0);
  for (const Node& n : g.nodes)
    for (int i : n.inputs)
      if (i >= 0) uses[static_cast<size_t>(i)]++;
  for (int o : g.outputs) uses[static_cast<size_t>(o)]++;
  return uses;
}

bool is_graph_output(const Graph& g, int v) {
  return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
}

// Replaces every read of `from` with `to`.
void replace_uses(Graph& g, int from, int to) {
  for (Node& n : g.nodes)
    for (int& i : n.inputs)
      if (i == from) i = to;
  for (int& o : g.outputs)
    if (o == from) o = to;
}

bool constant_f32(const Graph& g, int v) {
  return v >= 0 && g.values[static_cast<size_t>(v)].is_constant &&
         g.values[static_cast<size_t>(v)].type == ElemType::f32;
}

// A float scalar constant equal to `want` to float precision (exporters
// write sqrt(2), 1/sqrt(2) and sqrt(2/pi) rounded their own way).
bool scalar_near(const Graph& g, int v, double want) {
  if (!constant_f32(g, v) || g.values[static_cast<size_t>(v)].elements() != 1) return false;
  const double x = g.values[static_cast<size_t>(v)].as<float>()[0];
  return std::fabs(x - want) <= 1e-6 * std::fabs(want);
}

// The node producing v if its op is `op`, else null.
Node* made_by(Graph& g, int v, const char* op) {
  const int p = v < 0 ? -1 : g.values[static_cast<size_t>(v)].producer;
  if (p < 0 || g.nodes[static_cast<size_t>(p)].op != op) return nullptr;
  return &g.nodes[static_cast<size_t>(p)];
}

// The one node reading v (v not a graph output), else null.
Node* sole_reader(Graph& g, const std::vector<int>& uses, int v) {
  if (uses[static_cast<size_t>(v)] != 1) return nullptr;
  for (Node& n : g.nodes)
    if (std::find(n.inputs.begin(), n.inputs.end(), v) != n.inputs.end()) return &n;
  return nullptr;
}

// The operand of binary node n that is not v (-1 if n does not read v).
int other_operand(const Node& n, int v) {
  if (n.inputs.size() != 2) return -1;
  return n.inputs[0] == v ? n.inputs[1] : n.inputs[1] == v ? n.inputs[0] : -1;
}

void set_attr(Node& n, const char* key, int64_t i) {
  n.attrs[key].kind = Attribute::Kind::i;
  n.attrs[key].i = i;
}
void set_attr(Node& n, const char* key, float f) {
  n.attrs[key].kind = Attribute::Kind::f;
  n.attrs[key].f = f;
}

}  // namespace

bool constant_ints(const Graph& g, const Node& n, size_t k, const char* attr, std::vector<int64_t>* out) {
  if (n.has(attr)) {
    *out = n.get_ints(attr);
    return true;
  }
  if (k >= n.inputs.size() || n.inputs[k] < 0) return true;
  const Value& v = g.values[static_cast<size_t>(n.inputs[k])];
  if (!v.is_constant || (v.type != ElemType::i64 && v.type != ElemType::i32)) return false;
  for (size_t i = 0; i < v.elements(); ++i)
    out->push_back(v.type == ElemType::i64 ? v.as<int64_t>()[i] : v.as<int32_t>()[i]);
  return true;
}

int fold_batch_norm(Graph& g) {
  int folded = 0;
  std::vector<int> uses = use_counts(g);
  for (Node& bn : g.nodes) {
    if (bn.op != "BatchNormalization" || bn.inputs.size() < 5) continue;
    const int x = bn.inputs[0];
    const int producer = g.values[static_cast<size_t>(x)].producer;
    if (producer < 0 || uses[static_cast<size_t>(x)] != 1 || is_graph_output(g, x)) continue;
    Node& conv = g.nodes[static_cast<size_t>(producer)];
    if (conv.op != "Conv" && conv.op != "ConvTranspose" && conv.op != "Gemm") continue;
    bool ok = constant_f32(g, conv.inputs[1]);
    for (int k = 1; k < 5; ++k) ok = ok && constant_f32(g, bn.inputs[static_cast<size_t>(k)]);
    if (conv.op == "Gemm" && conv.get_int("transB", 0) == 0) ok = false;
    if (!ok) continue;
    const float eps = bn.get_float("epsilon", 1e-5f);
    const Value& gamma = g.values[static_cast<size_t>(bn.inputs[1])];
    const Value& beta = g.values[static_cast<size_t>(bn.inputs[2])];
    const Value& mean = g.values[static_cast<size_t>(bn.inputs[3])];
    const Value& var = g.values[static_cast<size_t>(bn.inputs[4])];
    const size_t channels = gamma.elements();
    Value w = g.values[static_cast<size_t>(conv.inputs[1])];
    // Conv/Gemm(transB) weights lead with output channels; ConvTranspose's
    // second axis is output channels per group.
    const bool transpose = conv.op == "ConvTranspose";
    const size_t groups = static_cast<size_t>(conv.get_int("group", 1));
    if (transpose && groups != 1) continue;
    const size_t out_c = transpose ? static_cast<size_t>(w.shape[1]) : static_cast<size_t>(w.shape[0]);
    if (out_c != channels || beta.elements() != channels || mean.elements() != channels ||
        var.elements() != channels)
      continue;
    std::vector<float> scale(channels);
    for (size_t c = 0; c < channels; ++c)
      scale[c] = gamma.as<float>()[c] * (1.0f / std::sqrt(var.as<float>()[c] + eps));
    w.name += ".bn_folded";
    const size_t total = w.elements();
    if (transpose) {
      const size_t inner = total / static_cast<size_t>(w.shape[0]) / out_c;
      for (size_t i = 0; i < total; ++i) w.as<float>()[i] *= scale[(i / inner) % out_c];
    } else {
      const size_t inner = total / out_c;
      for (size_t i = 0; i < total; ++i) w.as<float>()[i] *= scale[i / inner];
    }
    Value b;
    b.name = conv.name + ".bias.bn_folded";
    b.type = ElemType::f32;
    b.shape = {static_cast<int64_t>(channels)};
    b.is_constant = true;
    b.data.resize(channels * 4);
    const int old_bias = conv.inputs.size() > 2 ? conv.inputs[2] : -1;
    for (size_t c = 0; c < channels; ++c) {
      float bias = old_bias >= 0 ? g.values[static_cast<size_t>(old_bias)].as<float>()[c] : 0.f;
      b.as<float>()[c] = (bias - mean.as<float>()[c]) * scale[c] + beta.as<float>()[c];
    }
    conv.inputs[1] = g.add_value(std::move(w));
    if (conv.inputs.size() < 3) conv.inputs.resize(3, -1);
    conv.inputs[2] = g.add_value(std::move(b));
    // The BN output becomes the conv output.
    const int y = bn.outputs[0];
    conv.outputs[0] = y;
    bn.op = "Identity";
    bn.inputs = {x};
    bn.outputs = {g.add_value(g.values[static_cast<size_t>(x)])};
    uses.resize(g.values.size(), 0);
    ++folded;
  }
  g.link();
  g.remove_dead();
  return folded;
}

int fuse_activations(Graph& g) {
  int fused = 0;
  std::vector<int> uses = use_counts(g);
  for (Node& act : g.nodes) {
    float lo, hi;
    if (act.op == "Relu") {
      lo = 0.f;
      hi = kInf;
    } else if (act.op == "Clip") {
      lo = act.get_float("min", -kInf);
      hi = act.get_float("max", kInf);
      bool ok = true;
      for (size_t k = 1; k < 3 && k < act.inputs.size(); ++k) {
        const int b = act.inputs[k];
        if (b < 0) continue;
        const Value& v = g.values[static_cast<size_t>(b)];
        if (!constant_f32(g, b) || v.elements() != 1) {
          ok = false;
          break;
        }
        (k == 1 ? lo : hi) = v.as<float>()[0];
      }
      if (!ok) continue;
    } else {
      continue;
    }
    const int x = act.inputs[0];
    const int producer = g.values[static_cast<size_t>(x)].producer;
    if (producer < 0 || uses[static_cast<size_t>(x)] != 1 || is_graph_output(g, x)) continue;
    Node& p = g.nodes[static_cast<size_t>(producer)];
    if (p.op != "Conv" && p.op != "Gemm" && p.op != "MatMul" && p.op != "Add") continue;
    if (p.has("qrt_act_min") || p.has("qrt_act_max")) continue;
    p.attrs["qrt_act_min"].kind = Attribute::Kind::f;
    p.attrs["qrt_act_min"].f = lo;
    p.attrs["qrt_act_max"].kind = Attribute::Kind::f;
    p.attrs["qrt_act_max"].f = hi;
    // The producer now writes the activation's output.
    p.outputs[0] = act.outputs[0];
    act.op = "Identity";
    act.inputs = {x};
    act.outputs = {g.add_value(g.values[static_cast<size_t>(x)])};
    ++fused;
  }
  g.link();
  g.remove_dead();
  return fused;
}

int remove_identities(Graph& g) {
  int removed = 0;
  for (Node& n : g.nodes) {
    if (n.op != "Identity" && n.op != "Dropout") continue;
    const int in = n.inputs[0], out = n.outputs[0];
    // Keep graph-output names: only drop identities whose output is internal.
    if (is_graph_output(g, out)) continue;
    replace_uses(g, out, in);
    ++removed;
  }
  g.link();
  g.remove_dead();
  return removed;
}

namespace {

// Axes `axes` of a rank-r tensor normalized and checked to be the trailing
// ones; the first of them, or -1.
int64_t trailing_axes(std::vector<int64_t> axes, int64_t r) {
  for (int64_t& a : axes) a = a < 0 ? a + r : a;
  std::sort(axes.begin(), axes.end());
  if (axes.empty()) return -1;
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] != r - static_cast<int64_t>(axes.size()) + static_cast<int64_t>(i)) return -1;
  return axes[0];
}

// A constant broadcast over the normalized dims (gamma or beta) as a value
// of exactly those dims, or -1 if it is not one.
int norm_param(Graph& g, int v, const std::vector<int64_t>& dims) {
  if (!constant_f32(g, v)) return -1;
  Value c = g.values[static_cast<size_t>(v)];
  auto strip = [](std::vector<int64_t> s) {
    while (!s.empty() && s.front() == 1) s.erase(s.begin());
    return s;
  };
  if (strip(c.shape) != strip(dims)) return -1;
  if (c.shape == dims) return v;
  c.shape = dims;
  c.name += ":ln";
  return g.add_value(std::move(c));
}

}  // namespace

int fuse_layer_norm(Graph& g) {
  g.link();
  const std::vector<int> uses = use_counts(g);
  int fused = 0;
  for (Node& div : g.nodes) {
    if (div.op != "Div" || div.inputs.size() != 2) continue;
    const int d = div.inputs[0];
    Node* sqrt = made_by(g, div.inputs[1], "Sqrt");
    Node* add_eps = sqrt ? made_by(g, sqrt->inputs[0], "Add") : nullptr;
    if (!add_eps || add_eps->inputs.size() != 2) continue;
    const bool eps_first = constant_f32(g, add_eps->inputs[0]);
    const int eps_v = add_eps->inputs[eps_first ? 0 : 1];
    if (!constant_f32(g, eps_v) || g.values[static_cast<size_t>(eps_v)].elements() != 1) continue;
    Node* var = made_by(g, add_eps->inputs[eps_first ? 1 : 0], "ReduceMean");
    Node* pow = var ? made_by(g, var->inputs[0], "Pow") : nullptr;
    Node* sub = made_by(g, d, "Sub");
    if (!pow || !sub || pow->inputs[0] != d || !scalar_near(g, pow->inputs[1], 2.0)) continue;
    const int x = sub->inputs[0];
    Node* mean = made_by(g, sub->inputs[1], "ReduceMean");
    if (!mean || mean->inputs[0] != x) continue;
    std::vector<int64_t> axes_mean, axes_var;
    if (!constant_ints(g, *mean, 1, "axes", &axes_mean) || !constant_ints(g, *var, 1, "axes", &axes_var)) continue;
    const std::vector<int64_t> shape = g.values[static_cast<size_t>(x)].shape;
    const int64_t axis = trailing_axes(axes_mean, static_cast<int64_t>(shape.size()));
    if (axis < 0 || axis != trailing_axes(axes_var, static_cast<int64_t>(shape.size())) ||
        mean->get_int("keepdims", 1) != 1 || var->get_int("keepdims", 1) != 1)
      continue;
    const std::vector<int64_t> dims(shape.begin() + axis, shape.end());
    // nn.LayerNorm's affine part: * gamma, then + beta.
    Node* last = &div;
    int gamma = -1, beta = -1;
    Node* mul = sole_reader(g, uses, div.outputs[0]);
    if (mul && mul->op == "Mul" && (gamma = norm_param(g, other_operand(*mul, div.outputs[0]), dims)) >= 0) {
      last = mul;
      Node* add = sole_reader(g, uses, mul->outputs[0]);
      if (add && add->op == "Add" && (beta = norm_param(g, other_operand(*add, mul->outputs[0]), dims)) >= 0)
        last = add;
    }
    const float eps = g.values[static_cast<size_t>(eps_v)].as<float>()[0];
    last->op = "LayerNormalization";
    last->inputs = {x, gamma, beta};
    while (last->inputs.back() < 0) last->inputs.pop_back();
    last->attrs.clear();
    set_attr(*last, "axis", axis);
    set_attr(*last, "epsilon", eps);
    ++fused;
  }
  g.link();
  g.remove_dead();
  return fused;
}

namespace {

// x when v = x * x * x (Pow(x, 3) or two Muls in any order), else -1.
int cube_root_of(Graph& g, int v) {
  if (Node* p = made_by(g, v, "Pow")) return scalar_near(g, p->inputs[1], 3.0) ? p->inputs[0] : -1;
  Node* m = made_by(g, v, "Mul");
  if (!m || m->inputs.size() != 2) return -1;
  for (int k = 0; k < 2; ++k) {
    Node* sq = made_by(g, m->inputs[static_cast<size_t>(k)], "Mul");
    const int x = m->inputs[static_cast<size_t>(1 - k)];
    if (sq && sq->inputs.size() == 2 && sq->inputs[0] == x && sq->inputs[1] == x) return x;
  }
  return -1;
}

// The input x of GELU's inner function f (erf(x / sqrt(2)) or
// tanh(sqrt(2/pi) * (x + 0.044715 x^3))) given f's node, else -1.
int gelu_input(Graph& g, Node& f) {
  const int c = f.inputs[0];
  if (f.op == "Erf") {
    if (Node* div = made_by(g, c, "Div"))
      return scalar_near(g, div->inputs[1], std::sqrt(2.0)) ? div->inputs[0] : -1;
    Node* mul = made_by(g, c, "Mul");
    for (int k = 0; mul && k < 2; ++k)
      if (scalar_near(g, mul->inputs[static_cast<size_t>(k)], std::sqrt(0.5))) return mul->inputs[static_cast<size_t>(1 - k)];
    return -1;
  }
  Node* mul = made_by(g, c, "Mul");
  for (int k = 0; mul && mul->inputs.size() == 2 && k < 2; ++k) {
    if (!scalar_near(g, mul->inputs[static_cast<size_t>(k)], kSqrt2OverPi)) continue;
    Node* sum = made_by(g, mul->inputs[static_cast<size_t>(1 - k)], "Add");
    for (int j = 0; sum && sum->inputs.size() == 2 && j < 2; ++j) {
      const int x = sum->inputs[static_cast<size_t>(j)];
      Node* cubic = made_by(g, sum->inputs[static_cast<size_t>(1 - j)], "Mul");
      for (int i = 0; cubic && cubic->inputs.size() == 2 && i < 2; ++i)
        if (scalar_near(g, cubic->inputs[static_cast<size_t>(i)], 0.044715) &&
            cube_root_of(g, cubic->inputs[static_cast<size_t>(1 - i)]) == x)
          return x;
    }
  }
  return -1;
}

}  // namespace

int fuse_gelu(Graph& g) {
  g.link();
  const std::vector<int> uses = use_counts(g);
  int fused = 0;
  for (Node& f : g.nodes) {
    if (f.op != "Erf" && f.op != "Tanh") continue;
    const int x = gelu_input(g, f);
    Node* plus1 = x >= 0 ? sole_reader(g, uses, f.outputs[0]) : nullptr;
    if (!plus1 || plus1->op != "Add" || !scalar_near(g, other_operand(*plus1, f.outputs[0]), 1.0)) continue;
    // x * (1 + f) * 0.5, associated either way.
    const int u = plus1->outputs[0];
    Node* m1 = sole_reader(g, uses, u);
    if (!m1 || m1->op != "Mul") continue;
    const int o = other_operand(*m1, u);
    Node* last = nullptr;
    Node* m2 = sole_reader(g, uses, m1->outputs[0]);
    const bool m2_mul = m2 && m2->op == "Mul";
    if (o == x && m2_mul && scalar_near(g, other_operand(*m2, m1->outputs[0]), 0.5)) last = m2;
    if (scalar_near(g, o, 0.5) && m2_mul && other_operand(*m2, m1->outputs[0]) == x) last = m2;
    if (Node* half = made_by(g, o, "Mul"))
      if (other_operand(*half, x) >= 0 && scalar_near(g, other_operand(*half, x), 0.5)) last = m1;
    if (!last) continue;
    const bool tanh = f.op == "Tanh";
    last->op = "Gelu";
    last->inputs = {x};
    last->attrs.clear();
    last->attrs["approximate"].kind = Attribute::Kind::s;
    last->attrs["approximate"].s = tanh ? "tanh" : "none";
    ++fused;
  }
  g.link();
  g.remove_dead();
  return fused;
}

int fold_pads(Graph& g) {
  g.link();
  const std::vector<int> uses = use_counts(g);
  int folded = 0;
  for (Node& pad : g.nodes) {
    if (pad.op != "Pad" || pad.get_string("mode", "constant") != "constant" || pad.inputs.empty()) continue;
    std::vector<int64_t> pads;
    if (!constant_ints(g, pad, 1, "pads", &pads) || pads.size() != 8) continue;
    if (pad.inputs.size() > 3 && pad.inputs[3] >= 0) continue;  // axes (opset 18)
    bool zero = pad.get_float("value", 0.f) == 0.f;
    if (pad.inputs.size() > 2 && pad.inputs[2] >= 0) zero = zero && scalar_near(g, pad.inputs[2], 0.0);
    const bool spatial = pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0 &&
                         std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p >= 0; });
    Node* c = sole_reader(g, uses, pad.outputs[0]);
    if (!zero || !spatial || !c || c->inputs[0] != pad.outputs[0] || c->get_string("auto_pad", "NOTSET") != "NOTSET")
      continue;
    std::vector<int64_t> cp = c->get_ints("pads", {0, 0, 0, 0});
    if (cp.size() != 4) continue;
    const bool unpadded = std::all_of(cp.begin(), cp.end(), [](int64_t p) { return p == 0; });
    // ONNX pads [n, c, h, w begins, n, c, h, w ends] -> [h, w begins, h, w ends].
    for (size_t k = 0; k < 2; ++k) {
      cp[k] += pads[2 + k];
      cp[2 + k] += pads[6 + k];
    }
    if (c->op == "AveragePool") {
      // The padded zeros count in the divisor: count_include_pad, which
      // PyTorch's AvgPool2d exports as this Pad before an unpadded pool.
      // With ceil_mode a last window may overhang the padding and count less.
      const std::vector<int64_t> k = c->get_ints("kernel_shape");
      if ((c->get_int("count_include_pad", 0) != 1 && !unpadded) || c->get_int("ceil_mode", 0) != 0 || k.size() != 2)
        continue;
      bool fits = true;
      for (size_t i = 0; i < 4; ++i) fits = fits && cp[i] < k[i % 2];  // the runtime's limit
      if (!fits) continue;
      set_attr(*c, "count_include_pad", int64_t{1});
    } else if (c->op != "Conv") {
      continue;
    }
    c->attrs["pads"].kind = Attribute::Kind::ints;
    c->attrs["pads"].ints = cp;
    c->inputs[0] = pad.inputs[0];
    ++folded;
  }
  g.link();
  g.remove_dead();
  return folded;
}

namespace {

// x * gate(x) -> fused(x), the gate read by nothing else.
int fuse_self_gate(Graph& g, bool (*is_gate)(const Node&), const char* fused) {
  g.link();
  const std::vector<int> uses = use_counts(g);
  int count = 0;
  for (Node& gate : g.nodes) {
    if (!is_gate(gate) || gate.inputs.size() != 1 || gate.outputs.size() != 1) continue;
    const int x = gate.inputs[0], s = gate.outputs[0];
    // A QDQ model that rounds the gate to int8 before the Mul computes
    // something else than the fused op.
    if (!g.values[static_cast<size_t>(s)].quant.scale.empty()) continue;
    Node* mul = sole_reader(g, uses, s);
    if (!mul || mul->op != "Mul" || other_operand(*mul, s) != x) continue;
    mul->op = fused;
    mul->inputs = {x};
    mul->attrs.clear();
    ++count;
  }
  g.link();
  g.remove_dead();
  return count;
}

}  // namespace

int fuse_silu(Graph& g) {
  return fuse_self_gate(g, [](const Node& n) { return n.op == "Sigmoid"; }, "Silu");
}

int fuse_hard_swish(Graph& g) {
  // nn.Hardswish's export: HardSigmoid's alpha is f32(1/6), its beta 0.5.
  return fuse_self_gate(
      g,
      [](const Node& n) {
        return n.op == "HardSigmoid" && n.get_float("alpha", 0.2f) == 1.f / 6.f &&
               n.get_float("beta", 0.5f) == 0.5f;
      },
      "HardSwish");
}

int fuse_patterns(Graph& g) {
  return fuse_layer_norm(g) + fuse_gelu(g) + fuse_silu(g) + fuse_hard_swish(g) + fold_pads(g);
}

bool run_default_passes(Graph& g, std::string* error) {
  fold_constants(g);
  if (!import_qdq(g, error)) return false;
  remove_identities(g);
  fold_batch_norm(g);
  fuse_patterns(g);
  fuse_activations(g);
  return true;
}

}  // namespace qrt::convert
