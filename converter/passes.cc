#include "passes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace qrt::convert {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

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

}  // namespace

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

bool run_default_passes(Graph& g, std::string* error) {
  fold_constants(g);
  if (!import_qdq(g, error)) return false;
  remove_identities(g);
  fold_batch_norm(g);
  fuse_activations(g);
  return true;
}

}  // namespace qrt::convert
