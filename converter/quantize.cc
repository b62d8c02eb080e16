#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "kernels/ref/embedding.h"
#include "passes.h"

namespace qrt::convert {

namespace {

enum class Role : uint8_t { float_op, observed, passthrough, fixed, fused_relu };

bool is_graph_output(const Graph& g, int v) {
  return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
}

const Value& value(const Graph& g, int v) { return g.values[static_cast<size_t>(v)]; }

bool activation(const Graph& g, int v) {
  return v >= 0 && !value(g, v).is_constant && value(g, v).type == ElemType::f32;
}

bool constant_2d(const Graph& g, int v) {
  return v >= 0 && value(g, v).is_constant && value(g, v).type == ElemType::f32 &&
         value(g, v).shape.size() == 2;
}

// Gemm and MatMul as nn.Linear exports them: what lowers to FULLY_CONNECTED
// with the weights as they are in the graph (lower.cc scales them by alpha).
bool linear_kind(const Graph& g, const Node& n) {
  if (n.inputs.size() < 2 || !activation(g, n.inputs[0])) return false;
  const size_t rank = value(g, n.inputs[0]).shape.size();
  if (n.op == "Gemm")
    return rank == 2 && constant_2d(g, n.inputs[1]) && n.get_int("transA", 0) == 0 &&
           n.get_float("alpha", 1.f) == 1.f;
  return n.op == "MatMul" && rank >= 2 && constant_2d(g, n.inputs[1]);
}

// numpy broadcasting: aligned from the last axis, each pair equal or one 1.
bool broadcastable(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  for (size_t i = 1; i <= a.size() && i <= b.size(); ++i) {
    const int64_t p = a[a.size() - i], q = b[b.size() - i];
    if (p != q && p != 1 && q != 1) return false;
  }
  return true;
}

// Ops PyTorch eager mode quantizes with their own output observer (the
// shapes and constness its quantized modules accept).
bool observed_kind(const Graph& g, const Node& n) {
  const std::string& op = n.op;
  if (n.inputs.empty() || !activation(g, n.inputs[0])) return false;
  for (int o : n.outputs)
    if (o >= 0 && value(g, o).type != ElemType::f32) return false;
  const Value& x = value(g, n.inputs[0]);
  if (op == "Conv") {
    const int w = n.inputs.size() > 1 ? n.inputs[1] : -1;
    return x.shape.size() == 4 && w >= 0 && value(g, w).is_constant &&
           value(g, w).type == ElemType::f32 && value(g, w).shape.size() == 4;
  }
  if (op == "Gemm" || op == "MatMul") return linear_kind(g, n);
  if (op == "Add" || op == "Mul") {
    if (n.inputs.size() != 2 || !activation(g, n.inputs[1])) return false;
    const std::vector<int64_t>& y = value(g, n.inputs[1]).shape;
    // PyTorch's quantized add broadcasts only off its QNNPACK path, with
    // other arithmetic; its quantized mul broadcasts with the same formula
    // (a squeeze-excitation scale times its feature map).
    return op == "Add" ? y == x.shape : broadcastable(x.shape, y);
  }
  if (op == "Concat") {
    for (int i : n.inputs)
      if (!activation(g, i)) return false;
    return true;
  }
  return op == "HardSwish" || op == "LeakyRelu";
}

// Ops whose quantized form keeps the input's params (Slice and Split: a
// quantized tensor's chunk, narrow or indexing is a view of its bytes).
bool passthrough_kind(const Graph& g, const Node& n) {
  static const std::set<std::string> ops = {"Relu",    "Clip",    "MaxPool",   "AveragePool",
                                            "GlobalAveragePool",  "Reshape",   "Flatten",
                                            "Squeeze", "Unsqueeze", "Transpose", "Identity",
                                            "Dropout", "Slice",   "Split"};
  if (!ops.count(n.op) || n.inputs.empty() || !activation(g, n.inputs[0])) return false;
  // MaxPool's indices or Dropout's mask must not be wanted.
  for (size_t k = 1; k < n.outputs.size() && n.op != "Split"; ++k)
    if (n.outputs[k] >= 0) return false;
  if (n.op == "Clip")
    for (size_t k = 1; k < n.inputs.size(); ++k) {
      const int b = n.inputs[k];
      if (b >= 0 && (!value(g, b).is_constant || value(g, b).elements() != 1)) return false;
    }
  return true;
}

// Ops whose quantized form has fixed output params (torch.sigmoid, tanh and
// hardsigmoid on a quint8 tensor, no observer): 1/256 and 0, 2/256 and 128.
bool fixed_kind(const Graph& g, const Node& n, QuantParams* q) {
  if (n.inputs.empty() || !activation(g, n.inputs[0]) || n.outputs.size() != 1) return false;
  q->axis = 0;
  if (n.op == "Sigmoid" ||
      (n.op == "HardSigmoid" && n.get_float("alpha", 0.2f) == 1.f / 6.f && n.get_float("beta", 0.5f) == 0.5f)) {
    q->scale = {1.f / 256.f};
    q->zero_point = {0};
    return true;
  }
  if (n.op == "Tanh") {
    q->scale = {2.f / 256.f};
    q->zero_point = {128};
    return true;
  }
  return false;
}

// The condition under which passes.h fuse_activations folds a Relu into its
// producer (kept in step with passes.cc).
bool fusable_relu(const Graph& g, const Node& act, const std::vector<int>& uses) {
  if (act.op != "Relu") return false;
  const int x = act.inputs[0];
  const int p = value(g, x).producer;
  if (p < 0 || uses[static_cast<size_t>(x)] != 1 || is_graph_output(g, x)) return false;
  const Node& prod = g.nodes[static_cast<size_t>(p)];
  if (prod.op != "Conv" && prod.op != "Gemm" && prod.op != "MatMul" && prod.op != "Add") return false;
  return !prod.has("qrt_act_min") && !prod.has("qrt_act_max");
}

int weight_axis(const Node& n) {
  if (n.op == "Conv") return 0;
  if (n.op == "Gemm") return n.get_int("transB", 0) != 0 ? 0 : 1;
  return 1;  // MatMul: [K, N]
}

bool fail(std::string* error, const std::string& what) {
  if (error) *error = what;
  return false;
}

}  // namespace

QuantizeConfig default_qconfig(fb::Profile profile) {
  QuantizeConfig c;
  c.profile = profile;
  c.activation.kind = ObserverKind::histogram;
  c.activation.reduce_range = profile == fb::Profile::Fbgemm;
  c.weight.qint8 = true;
  c.weight.scheme = QScheme::symmetric;
  c.weight.kind = profile == fb::Profile::Fbgemm ? ObserverKind::per_channel_min_max : ObserverKind::min_max;
  return c;
}

QuantizeConfig default_dynamic_qconfig(fb::Profile profile) {
  QuantizeConfig c = default_qconfig(profile);
  c.weight.kind = ObserverKind::min_max;
  return c;
}

bool plan_static_quantization(const Graph& g, const QuantizeConfig& config, QuantPlan* plan,
                              std::string* error) {
  for (const std::string& name : config.keep_float)
    if (std::none_of(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.name == name; }))
      return fail(error, "--keep-float names '" + name + "', which is not a node of the graph");

  const size_t nodes = g.nodes.size();
  std::vector<int> uses(g.values.size(), 0);
  std::vector<std::vector<int>> consumers(g.values.size());
  for (size_t k = 0; k < nodes; ++k)
    for (int i : g.nodes[k].inputs)
      if (i >= 0) {
        uses[static_cast<size_t>(i)]++;
        consumers[static_cast<size_t>(i)].push_back(static_cast<int>(k));
      }
  for (int o : g.outputs) uses[static_cast<size_t>(o)]++;

  std::vector<Role> role(nodes, Role::float_op);
  std::vector<bool> quant(nodes, false);
  std::vector<QuantParams> fixed(nodes);
  for (size_t k = 0; k < nodes; ++k) {
    const Node& n = g.nodes[k];
    if (passthrough_kind(g, n)) role[k] = Role::passthrough;
    if (fixed_kind(g, n, &fixed[k])) role[k] = Role::fixed;
    if (config.keep_float.count(n.name)) continue;
    if (observed_kind(g, n)) {
      role[k] = Role::observed;
      quant[k] = true;
    }
  }
  auto produced_quantized = [&](int v) {
    const int p = value(g, v).producer;
    return p >= 0 && quant[static_cast<size_t>(p)];
  };
  // reaches(v): a float value feeds a quantized op, directly or through ops
  // that keep their input's params; it is then quantized where it is made
  // (a QuantStub right after the graph input or float op).
  std::vector<int> memo(g.values.size(), -1);
  std::function<bool(int)> reaches = [&](int v) -> bool {
    int& m = memo[static_cast<size_t>(v)];
    if (m >= 0) return m != 0;
    m = 0;
    for (int c : consumers[static_cast<size_t>(v)]) {
      const Node& n = g.nodes[static_cast<size_t>(c)];
      if (quant[static_cast<size_t>(c)] && role[static_cast<size_t>(c)] == Role::observed) m = 1;
      else if ((role[static_cast<size_t>(c)] == Role::passthrough || role[static_cast<size_t>(c)] == Role::fixed) &&
               !config.keep_float.count(n.name) && n.inputs[0] == v)
        for (int o : n.outputs)
          if (o >= 0 && reaches(o)) m = 1;
      if (m) break;
    }
    return m != 0;
  };
  auto float_made = [&](int v) { return activation(g, v) && !produced_quantized(v); };

  // Relus the fusion pass will fold into a quantized producer: the
  // producer's own output disappears and the Relu's is observed instead.
  std::vector<bool> fused_relu(nodes, false);
  std::set<int> fused_away;
  for (size_t k = 0; k < nodes; ++k) {
    const Node& n = g.nodes[k];
    if (role[k] == Role::passthrough && n.op == "Relu" && produced_quantized(n.inputs[0]) &&
        fusable_relu(g, n, uses)) {
      fused_relu[k] = true;
      fused_away.insert(n.inputs[0]);
    }
  }

  QuantPlan p;
  std::set<int> observed;
  auto observe = [&](int v) {
    if (observed.insert(v).second) p.observed.push_back(value(g, v).name);
  };
  for (int v : g.inputs)
    if (activation(g, v) && reaches(v)) observe(v);

  for (size_t k = 0; k < nodes; ++k) {
    const Node& n = g.nodes[k];
    if (fused_relu[k]) {
      role[k] = Role::fused_relu;
      quant[k] = true;
    } else if ((role[k] == Role::passthrough || role[k] == Role::fixed) && !config.keep_float.count(n.name)) {
      const int x = n.inputs[0];
      if (produced_quantized(x) || observed.count(x)) quant[k] = true;
    }
    if (!quant[k]) {
      p.float_nodes.push_back(n.name);
      for (int o : n.outputs)
        if (o >= 0 && float_made(o) && reaches(o)) observe(o);
      continue;
    }
    p.quantized_nodes.push_back(n.name);
    switch (role[k]) {
      case Role::observed:
        for (int i : n.inputs)
          if (activation(g, i) && !produced_quantized(i)) observe(i);
        if (!fused_away.count(n.outputs[0])) observe(n.outputs[0]);
        if (n.op == "Conv" || n.op == "Gemm" || n.op == "MatMul")
          p.weights.push_back({value(g, n.inputs[1]).name, weight_axis(n)});
        break;
      case Role::fused_relu:
        observe(n.outputs[0]);
        break;
      case Role::passthrough:
        for (int o : n.outputs)
          if (o >= 0) p.aliases.emplace_back(value(g, o).name, value(g, n.inputs[0]).name);
        break;
      case Role::fixed:
        p.fixed.emplace_back(value(g, n.outputs[0]).name, fixed[k]);
        break;
      case Role::float_op:
        break;
    }
  }
  *plan = std::move(p);
  return true;
}

bool observe_weights(const Graph& g, const QuantPlan& plan, const QuantizeConfig& config,
                     QuantTable* table, std::string* error) {
  for (const QuantPlan::Weight& w : plan.weights) {
    if (table->count(w.name)) continue;
    const int v = g.find_value(w.name);
    if (v < 0) return fail(error, "weight '" + w.name + "' is not in the graph");
    const Value& val = value(g, v);
    ObserverConfig c = config.weight;
    c.ch_axis = w.axis;
    Observer o;
    if (!make_observer(c, &o, error)) return false;
    std::string why;
    if (!observe(o, val.as<float>(), val.shape, &why)) return fail(error, "weight '" + w.name + "': " + why);
    (*table)[w.name] = calculate_qparams(o);
  }
  return true;
}

void resolve_aliases(const QuantPlan& plan, QuantTable* table) {
  for (const auto& [name, q] : plan.fixed) (*table)[name] = q;
  for (const auto& [to, from] : plan.aliases) {
    auto it = table->find(from);
    if (it != table->end()) (*table)[to] = it->second;
  }
}

bool apply_quantization(Graph& g, const QuantTable& table, std::string* error) {
  for (const auto& [name, q] : table) {
    const int v = g.find_value(name);
    if (v < 0) return fail(error, "quantized value '" + name + "' is missing from the graph");
    g.values[static_cast<size_t>(v)].quant = q;
  }
  fuse_activations(g);
  return true;
}

namespace {

// Gemm as an RNN cell exports its linear_ih or linear_hh: weights [rows,
// columns], input [batch, columns] (x, h, or a constant zero state).
bool cell_gemm(const Graph& g, const Node& n) {
  return n.op == "Gemm" && n.inputs.size() >= 2 && n.inputs[0] >= 0 && value(g, n.inputs[0]).type == ElemType::f32 &&
         value(g, n.inputs[0]).shape.size() == 2 && constant_2d(g, n.inputs[1]) && n.get_int("transB", 0) == 1 &&
         n.get_int("transA", 0) == 0 && n.get_float("alpha", 1.f) == 1.f;
}

// nn.LSTMCell, GRUCell and RNNCell export (torch.onnx, 1.13) as
// gates = Gemm(x, W_ih) + Gemm(h, W_hh), whole (LSTM: then Split into 4) or
// chunked per gate first (GRU), into Sigmoid/Tanh/Relu. Both weights have
// G * hidden rows (G = 1, 3 or 4) and W_hh has hidden columns. With hx=None
// the h Gemm reads a constant zero state; PyTorch still runs it as a dynamic
// linear (giving the bias), and holds W_hh in int8.
bool cell_linear(const Graph& g, const Node& n, const std::map<int, std::vector<const Node*>>& readers,
                 const std::map<int, const Node*>& producers) {
  if (!cell_gemm(g, n)) return false;
  const auto read = [&](int v) {
    const auto it = readers.find(v);
    return it == readers.end() ? std::vector<const Node*>{} : it->second;
  };
  // The value itself, or the per-gate chunks of its only reader, a Split.
  const auto terms = [&](const Node& m) {
    const std::vector<const Node*> r = read(m.outputs[0]);
    return r.size() == 1 && r[0]->op == "Split" ? r[0]->outputs : std::vector<int>{m.outputs[0]};
  };
  const auto made_by = [&](int v) -> const Node* {
    const auto it = producers.find(v);
    return it == producers.end() ? nullptr : it->second;
  };
  const std::vector<int64_t>& w = value(g, n.inputs[1]).shape;
  for (int t : terms(n))
    for (const Node* add : read(t)) {
      if (add->op != "Add" || add->inputs.size() != 2) continue;
      const Node* p = made_by(add->inputs[add->inputs[0] == t ? 1 : 0]);
      if (p && p->op == "Split") p = made_by(p->inputs[0]);
      if (!p || p == &n || !cell_gemm(g, *p)) continue;
      const std::vector<int64_t>& v = value(g, p->inputs[1]).shape;
      bool gates = false;
      for (int64_t h : {w[1], v[1]}) gates |= v[0] == w[0] && h > 0 && (w[0] == h || w[0] == 3 * h || w[0] == 4 * h);
      const auto is_gate = [](const Node* m) {
        return m->op == "Sigmoid" || m->op == "Tanh" || m->op == "Relu" || m->op == "Split";
      };
      // RNNCell's ReLU is fused into the Add by then (passes.h fuse_activations).
      const bool relu = add->get_float("qrt_act_min", -1.f) == 0.f && std::isinf(add->get_float("qrt_act_max", 0.f));
      const std::vector<const Node*> next = read(add->outputs[0]);
      if (gates && (relu || std::any_of(next.begin(), next.end(), is_gate))) return true;
    }
  return false;
}

std::set<std::string> cell_linears(const Graph& g) {
  std::map<int, std::vector<const Node*>> readers;
  std::map<int, const Node*> producers;
  for (const Node& n : g.nodes) {
    for (int v : n.inputs)
      if (v >= 0) readers[v].push_back(&n);
    for (int v : n.outputs)
      if (v >= 0) producers[v] = &n;
  }
  std::set<std::string> out;
  for (const Node& n : g.nodes)
    if (cell_linear(g, n, readers, producers)) out.insert(n.name);
  return out;
}

}  // namespace

std::vector<std::string> functional_linears(const Graph& g) {
  const std::set<std::string> cells = cell_linears(g);
  std::vector<std::string> out;
  for (const Node& n : g.nodes) {
    const size_t slash = n.name.rfind('/');
    // The cells' linears are modules of their own: quantize_dynamic swaps the cell.
    if (cells.count(n.name)) continue;
    if (!linear_kind(g, n) || n.name.empty() || n.name[0] != '/' || slash == std::string::npos) continue;
    const std::string scope = n.name.substr(0, slash + 1);
    for (const Node& m : g.nodes) {
      if (&m == &n || m.name.compare(0, scope.size(), scope) != 0 ||
          m.name.find('/', scope.size()) != std::string::npos)
        continue;
      // The bias Add of nn.Linear on an N-D input shares the module's scope.
      const bool bias_add = m.op == "Add" && std::find(m.inputs.begin(), m.inputs.end(), n.outputs[0]) != m.inputs.end();
      if (!bias_add && m.op != "Constant" && m.op != "Identity") {
        out.push_back(n.name);
        break;
      }
    }
  }
  return out;
}

namespace {

// W or R of an ONNX LSTM/GRU, [directions, rows, columns]: the weight
// observer per direction, as from_float quantizes each layer's and
// direction's weight_ih and weight_hh on its own.
bool observe_rnn_weights(const Value& w, const ObserverConfig& weight, QuantParams* q, std::string* error) {
  const bool per_row = weight.kind == ObserverKind::per_channel_min_max;
  const int64_t dirs = w.shape[0], rows = w.shape[1], cols = w.shape[2];
  *q = QuantParams{};
  q->axis = per_row ? 1 : 0;
  for (int64_t d = 0; d < dirs; ++d) {
    ObserverConfig c = weight;
    c.ch_axis = 0;
    Observer o;
    std::string why;
    if (!make_observer(c, &o, error)) return false;
    if (!observe(o, w.as<float>() + d * rows * cols, {rows, cols}, &why))
      return fail(error, "weight '" + w.name + "': " + why);
    const QuantParams p = calculate_qparams(o);
    q->scale.insert(q->scale.end(), p.scale.begin(), p.scale.end());
    q->zero_point.insert(q->zero_point.end(), p.zero_point.begin(), p.zero_point.end());
  }
  q->per_channel = per_row;
  return true;
}

// nn.Embedding as torch.onnx exports it: Gather on a constant float table.
bool embedding_kind(const Graph& g, const Node& n) {
  if (n.op != "Gather" || n.inputs.size() != 2 || !constant_2d(g, n.inputs[0]) || n.inputs[1] < 0) return false;
  const ElemType t = value(g, n.inputs[1]).type;
  const int64_t axis = n.get_int("axis", 0);
  return (t == ElemType::i64 || t == ElemType::i32) && (axis == 0 || axis == -2);
}

// Points each Embedding's Gather at its table's u8 rows and [V, 2] scales
// and biases, made once per table (a table may serve several Gathers).
bool quantize_embeddings(Graph& g, const std::set<std::string>& keep_float, std::string* error) {
  std::map<int, std::pair<int, int>> made;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (!embedding_kind(g, g.nodes[k]) || keep_float.count(g.nodes[k].name)) continue;
    const int table = g.nodes[k].inputs[0];
    if (!made.count(table)) {
      const Value& w = value(g, table);
      const int64_t rows = w.shape[0], cols = w.shape[1];
      const float* f = w.as<float>();
      if (rows <= 0 || cols <= 0) return fail(error, "embedding table '" + w.name + "' is empty");
      for (int64_t i = 0; i < rows * cols; ++i)
        if (!std::isfinite(f[i]))
          return fail(error, "embedding table '" + w.name + "' holds " + std::to_string(f[i]) + " at element " +
                                 std::to_string(i) + ": int8 rows need finite values");
      Value q, sb;
      q.name = w.name + ":u8";
      q.type = ElemType::u8;
      q.shape = w.shape;
      q.is_constant = true;
      q.data.resize(static_cast<size_t>(rows * cols));
      sb.name = w.name + ":scale_bias";
      sb.shape = {rows, 2};
      sb.is_constant = true;
      sb.data.resize(static_cast<size_t>(rows) * 2 * sizeof(float));
      kernels::quantize_embedding_rows(f, rows, cols, q.data.data(), sb.as<float>());
      made[table] = {g.add_value(std::move(q)), g.add_value(std::move(sb))};
    }
    Node& n = g.nodes[k];
    n.inputs = {made[table].first, n.inputs[1], made[table].second};
  }
  return true;
}

}  // namespace

bool quantize_dynamic(Graph& g, const QuantizeConfig& config, std::string* error) {
  if (config.int8_embeddings && !quantize_embeddings(g, config.keep_float, error)) return false;
  QuantPlan plan;
  const std::vector<std::string> functional = functional_linears(g);
  const std::set<std::string> cells = cell_linears(g);
  QuantTable table;
  for (const Node& n : g.nodes) {
    if (config.keep_float.count(n.name)) continue;
    if (n.op == "LSTM" || n.op == "GRU") {
      for (size_t k : {1, 2}) {
        if (k >= n.inputs.size() || n.inputs[k] < 0) continue;
        const Value& w = value(g, n.inputs[k]);
        if (!w.is_constant || w.type != ElemType::f32 || w.shape.size() != 3 || !w.quant.scale.empty() ||
            table.count(w.name))
          continue;
        if (!observe_rnn_weights(w, config.weight, &table[w.name], error)) return false;
      }
      continue;
    }
    if (!(linear_kind(g, n) || cells.count(n.name)) || std::count(functional.begin(), functional.end(), n.name))
      continue;
    const Value& w = value(g, n.inputs[1]);
    if (w.quant.scale.empty()) plan.weights.push_back({w.name, weight_axis(n)});
  }
  return observe_weights(g, plan, config, &table, error) && apply_quantization(g, table, error);
}

}  // namespace qrt::convert
