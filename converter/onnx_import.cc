#include "onnx_import.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "passes.h"

namespace qrt::convert {

namespace {

// No real model needs more; bounds what a hostile file can make us allocate.
constexpr uint64_t kMaxElements = uint64_t{1} << 31;

bool fail(std::string* error, const std::string& label, const std::string& what) {
  if (error) *error = label + ": " + what;
  return false;
}

bool elem_type_from_onnx(int32_t t, ElemType* out) {
  switch (t) {
    case onnx::TensorProto::FLOAT: *out = ElemType::f32; return true;
    case onnx::TensorProto::DOUBLE: *out = ElemType::f32; return true;  // narrowed
    case onnx::TensorProto::UINT8: *out = ElemType::u8; return true;
    case onnx::TensorProto::INT8: *out = ElemType::s8; return true;
    case onnx::TensorProto::INT32: *out = ElemType::i32; return true;
    case onnx::TensorProto::INT64: *out = ElemType::i64; return true;
    case onnx::TensorProto::BOOL: *out = ElemType::boolean; return true;
    default: return false;
  }
}

std::string onnx_type_name(int32_t t) {
  const std::string& n = onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(t));
  return n.empty() ? "type " + std::to_string(t) : n;
}

bool shape_elements(const std::vector<int64_t>& shape, uint64_t* n) {
  uint64_t e = 1;
  for (int64_t d : shape) {
    if (d < 0) return false;
    e *= static_cast<uint64_t>(d);
    if (e > kMaxElements) return false;
  }
  *n = e;
  return true;
}

// TensorProto -> constant Value. Doubles are narrowed to float32.
bool value_from_tensor(const onnx::TensorProto& t, const std::string& label, Value* v,
                       std::string* error) {
  const std::string what = "tensor '" + t.name() + "'";
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return fail(error, label, what + " keeps its data in an external file; save the model with "
                                     "all tensors inside (onnx.save(..., save_as_external_data=False))");
  if (!elem_type_from_onnx(t.data_type(), &v->type))
    return fail(error, label, what + " has unsupported element type " + onnx_type_name(t.data_type()));
  v->name = t.name();
  v->shape.assign(t.dims().begin(), t.dims().end());
  v->is_constant = true;
  uint64_t n = 0;
  if (!shape_elements(v->shape, &n))
    return fail(error, label, what + " has an invalid or oversized shape");
  const size_t size = elem_size(v->type);
  v->data.assign(n * size, 0);
  const bool is_double = t.data_type() == onnx::TensorProto::DOUBLE;
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    const uint64_t want = n * (is_double ? 8 : size);
    if (raw.size() != want)
      return fail(error, label, what + " holds " + std::to_string(raw.size()) +
                                    " bytes of raw data, its shape needs " + std::to_string(want));
    if (is_double) {
      for (uint64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, raw.data() + i * 8, 8);
        float f = static_cast<float>(d);
        std::memcpy(v->data.data() + i * 4, &f, 4);
      }
    } else if (n) {
      std::memcpy(v->data.data(), raw.data(), raw.size());
    }
    return true;
  }
  auto count_mismatch = [&](size_t have) {
    return fail(error, label, what + " has " + std::to_string(have) + " values, its shape needs " +
                                  std::to_string(n));
  };
  switch (v->type) {
    case ElemType::f32:
      if (is_double) {
        if (static_cast<uint64_t>(t.double_data_size()) != n) return count_mismatch(t.double_data_size());
        for (uint64_t i = 0; i < n; ++i) v->as<float>()[i] = static_cast<float>(t.double_data(static_cast<int>(i)));
      } else {
        if (static_cast<uint64_t>(t.float_data_size()) != n) return count_mismatch(t.float_data_size());
        if (n) std::memcpy(v->data.data(), t.float_data().data(), n * 4);
      }
      return true;
    case ElemType::i64:
      if (static_cast<uint64_t>(t.int64_data_size()) != n) return count_mismatch(t.int64_data_size());
      if (n) std::memcpy(v->data.data(), t.int64_data().data(), n * 8);
      return true;
    case ElemType::i32:
    case ElemType::u8:
    case ElemType::s8:
    case ElemType::boolean:
      // ONNX stores these widened to int32.
      if (static_cast<uint64_t>(t.int32_data_size()) != n) return count_mismatch(t.int32_data_size());
      for (uint64_t i = 0; i < n; ++i) {
        int32_t x = t.int32_data(static_cast<int>(i));
        if (v->type == ElemType::i32) v->as<int32_t>()[i] = x;
        else v->data[i] = static_cast<uint8_t>(x);
      }
      return true;
  }
  return false;
}

struct Importer;
// A graph attribute is imported as a body of `scope`, whose values it may read.
bool attribute_from_proto(const onnx::AttributeProto& a, const std::string& label, Attribute* out,
                          std::string* error, Importer* scope = nullptr);

// A value's type and static shape from what ONNX knows of it (vi may be null).
bool typed_value_from_info(const std::string& name, const onnx::ValueInfoProto* vi, Value* v,
                           std::string* why) {
  v->name = name;
  if (!vi || !vi->type().has_tensor_type()) {
    *why = "has no type or shape information";
    return false;
  }
  const auto& tt = vi->type().tensor_type();
  if (!elem_type_from_onnx(tt.elem_type(), &v->type)) {
    *why = "has unsupported element type " + onnx_type_name(tt.elem_type());
    return false;
  }
  if (!tt.has_shape()) {
    *why = "has no static shape";
    return false;
  }
  for (int d = 0; d < tt.shape().dim_size(); ++d) {
    const auto& dim = tt.shape().dim(d);
    if (!dim.has_dim_value() || dim.dim_value() < 0) {
      *why = "has a dynamic dimension " + std::to_string(d) +
             (dim.has_dim_param() ? " ('" + dim.dim_param() + "')" : std::string());
      return false;
    }
    v->shape.push_back(dim.dim_value());
  }
  return true;
}

// A Constant's value_float(s) / value_int(s): a scalar, or a 1-D list.
template <class T>
void set_values(Value* v, ElemType type, const std::vector<T>& values, bool list) {
  v->type = type;
  if (list) v->shape = {static_cast<int64_t>(values.size())};
  const size_t bytes = values.size() * sizeof(T);
  v->data.resize(bytes);
  if (bytes) std::memcpy(v->data.data(), values.data(), bytes);
}

// The constant a Constant node defines, named after its output.
bool constant_node_value(const onnx::NodeProto& p, const std::string& label, Value* v, std::string* error) {
  const std::string who = "node '" + p.name() + "' (Constant)";
  for (const auto& a : p.attribute()) {
    if (a.name() == "value") {
      if (!value_from_tensor(a.t(), label, v, error)) return false;
    } else if (a.name() == "value_float") {
      set_values(v, ElemType::f32, std::vector<float>{a.f()}, false);
    } else if (a.name() == "value_floats") {
      set_values(v, ElemType::f32, std::vector<float>(a.floats().begin(), a.floats().end()), true);
    } else if (a.name() == "value_int") {
      set_values(v, ElemType::i64, std::vector<int64_t>{a.i()}, false);
    } else if (a.name() == "value_ints") {
      set_values(v, ElemType::i64, std::vector<int64_t>(a.ints().begin(), a.ints().end()), true);
    } else {
      return fail(error, label, who + ": attribute '" + a.name() + "' is not supported");
    }
  }
  if (p.output_size() != 1) return fail(error, label, who + " must have one output");
  // Without a value attribute (or with two that disagree) the value would
  // have a shape but no data, which every pass reading it trusts.
  uint64_t elements = 0;
  if (!shape_elements(v->shape, &elements) || v->data.size() != elements * elem_size(v->type))
    return fail(error, label, who + " has no value, or value attributes that disagree");
  v->is_constant = true;
  v->name = p.output(0);
  return true;
}

struct Importer {
  std::string label;
  const ImportOptions& options;
  std::string* error;
  Importer* parent = nullptr;  // the graph enclosing this body
  Graph* out = nullptr;
  std::unordered_map<std::string, int> ids;

  bool graph(const onnx::GraphProto& g, int64_t opset, Graph* out);

  // The value `name` names here: this graph's own, or an enclosing graph's
  // that a body reads, which becomes a body input (constants are copied).
  int resolve(const std::string& name) {
    auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    const int outer = parent ? parent->resolve(name) : -1;
    if (outer < 0) return -1;
    Value v = parent->out->values[static_cast<size_t>(outer)];
    v.producer = -1;
    const bool constant = v.is_constant;
    const int id = out->add_value(std::move(v));
    if (!constant) out->inputs.push_back(id);
    ids[name] = id;
    return id;
  }

  // ONNX If branches read outer values by name; qrt's IF passes them in.
  // Both branches get the same inputs in one order, which the node reads
  // after its condition.
  void bind_branch_inputs(Node* n) {
    std::vector<std::string> names;
    for (auto& kv : n->attrs)
      for (const Graph& b : kv.second.graph)
        for (int v : b.inputs) {
          const std::string& name = b.values[static_cast<size_t>(v)].name;
          if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
        }
    for (auto& kv : n->attrs) {
      for (Graph& b : kv.second.graph) {
        std::vector<int> inputs;
        for (const std::string& name : names) {
          int v = b.find_value(name);
          if (v < 0) {
            Value copy = out->values[static_cast<size_t>(resolve(name))];
            copy.producer = -1;
            v = b.add_value(std::move(copy));
          }
          inputs.push_back(v);
        }
        b.inputs = inputs;
      }
    }
    for (const std::string& name : names) n->inputs.push_back(resolve(name));
  }
};

bool attribute_from_proto(const onnx::AttributeProto& a, const std::string& label, Attribute* out,
                          std::string* error, Importer* scope) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT: out->kind = Attribute::Kind::i; out->i = a.i(); return true;
    case A::FLOAT: out->kind = Attribute::Kind::f; out->f = a.f(); return true;
    case A::STRING: out->kind = Attribute::Kind::s; out->s = a.s(); return true;
    case A::INTS:
      out->kind = Attribute::Kind::ints;
      out->ints.assign(a.ints().begin(), a.ints().end());
      return true;
    case A::FLOATS:
      out->kind = Attribute::Kind::floats;
      out->floats.assign(a.floats().begin(), a.floats().end());
      return true;
    case A::STRINGS:
      out->kind = Attribute::Kind::strings;
      out->strings.assign(a.strings().begin(), a.strings().end());
      return true;
    case A::TENSOR: {
      out->kind = Attribute::Kind::tensor;
      out->tensor.resize(1);
      return value_from_tensor(a.t(), label, &out->tensor[0], error);
    }
    case A::GRAPH: {
      out->kind = Attribute::Kind::graph;
      out->graph.resize(1);
      ImportOptions none;
      Importer sub{label, none, error, scope, nullptr, {}};
      return sub.graph(a.g(), scope && scope->out ? scope->out->opset : 0, &out->graph[0]);
    }
    default:
      return fail(error, label, "attribute '" + a.name() + "' has an unsupported type");
  }
}

bool Importer::graph(const onnx::GraphProto& g, int64_t opset, Graph* graph_out) {
  Graph* const out = this->out = graph_out;
  out->name = g.name();
  out->opset = opset;
  auto known = [&](const std::string& name) { return ids.count(name) != 0; };

  for (const onnx::TensorProto& t : g.initializer()) {
    Value v;
    if (!value_from_tensor(t, label, &v, error)) return false;
    if (known(v.name)) return fail(error, label, "initializer '" + v.name + "' is defined twice");
    const std::string name = v.name;
    ids[name] = out->add_value(std::move(v));
  }

  // Shapes and types ONNX knows (inputs, outputs, value_info after inference).
  std::unordered_map<std::string, const onnx::ValueInfoProto*> infos;
  for (const auto& vi : g.input()) infos[vi.name()] = &vi;
  for (const auto& vi : g.value_info()) infos[vi.name()] = &vi;
  for (const auto& vi : g.output()) infos[vi.name()] = &vi;

  auto typed_value = [&](const std::string& name, Value* v, std::string* why) {
    auto it = infos.find(name);
    return typed_value_from_info(name, it == infos.end() ? nullptr : it->second, v, why);
  };

  for (const auto& vi : g.input()) {
    if (known(vi.name())) continue;  // an initializer listed as input (IR < 4)
    Value v;
    std::string why;
    if (!typed_value(vi.name(), &v, &why))
      return fail(error, label,
                  "input '" + vi.name() + "' " + why + "; fix it with --input-shape " + vi.name() +
                      "=d0,d1,...");
    auto fixed = options.fixed_inputs.find(vi.name());
    if (fixed != options.fixed_inputs.end()) {
      v.is_constant = true;
      uint64_t n = 0;
      shape_elements(v.shape, &n);
      v.data.assign(n * elem_size(v.type), 0);
      for (uint64_t i = 0; i < n; ++i) {
        switch (v.type) {
          case ElemType::f32: v.as<float>()[i] = static_cast<float>(fixed->second); break;
          case ElemType::i32: v.as<int32_t>()[i] = static_cast<int32_t>(fixed->second); break;
          case ElemType::i64: v.as<int64_t>()[i] = static_cast<int64_t>(fixed->second); break;
          default: v.data[i] = static_cast<uint8_t>(fixed->second); break;
        }
      }
      const std::string name = v.name;
      ids[name] = out->add_value(std::move(v));
      continue;
    }
    int id = out->add_value(std::move(v));
    ids[vi.name()] = id;
    out->inputs.push_back(id);
  }

  for (int k = 0; k < g.node_size(); ++k) {
    const onnx::NodeProto& p = g.node(k);
    const std::string who = "node '" + p.name() + "' (" + p.op_type() + ")";
    if (!p.domain().empty() && p.domain() != "ai.onnx")
      return fail(error, label, who + " is from domain '" + p.domain() + "', which qrt does not support");
    if (p.op_type() == "Constant") {
      Value v;
      if (!constant_node_value(p, label, &v, error)) return false;
      if (known(v.name)) return fail(error, label, who + ": output '" + v.name + "' is defined twice");
      const std::string name = v.name;
      ids[name] = out->add_value(std::move(v));
      continue;
    }
    Node n;
    n.name = p.name().empty() ? p.op_type() + "_" + std::to_string(k) : p.name();
    n.op = p.op_type();
    for (const std::string& in : p.input()) {
      if (in.empty()) {
        n.inputs.push_back(-1);
        continue;
      }
      const int id = resolve(in);
      if (id < 0)
        return fail(error, label, who + " reads '" + in + "', which nothing before it defines");
      n.inputs.push_back(id);
    }
    for (const auto& a : p.attribute())
      if (!attribute_from_proto(a, label, &n.attrs[a.name()], error, this)) return false;
    if (n.op == "If") bind_branch_inputs(&n);
    for (const std::string& o : p.output()) {
      if (o.empty()) {
        n.outputs.push_back(-1);
        continue;
      }
      if (known(o)) return fail(error, label, who + ": output '" + o + "' is defined twice");
      Value v;
      std::string why;
      if (!typed_value(o, &v, &why))
        return fail(error, label, who + ": output '" + o + "' " + why +
                                      " after shape inference (are all graph inputs static? use "
                                      "--input-shape)");
      int id = out->add_value(std::move(v));
      ids[o] = id;
      n.outputs.push_back(id);
    }
    out->nodes.push_back(std::move(n));
  }

  for (const auto& vi : g.output()) {
    const int id = resolve(vi.name());
    if (id < 0) return fail(error, label, "graph output '" + vi.name() + "' is never computed");
    out->outputs.push_back(id);
  }
  out->link();
  return true;
}

// ONNX's own shape inference divides by these attributes without checking
// them (a MaxPool with strides 0 raises SIGFPE inside libonnx), so they are
// checked here first, in every subgraph too. Found by tests/fuzz.
bool check_divisor_attributes(const onnx::GraphProto& g, const std::string& label,
                              std::string* error) {
  static const char* const kDivisors[] = {"strides", "dilations", "kernel_shape", "group",
                                          "blocksize"};
  for (const auto& node : g.node()) {
    for (const auto& a : node.attribute()) {
      for (const char* name : kDivisors) {
        if (a.name() != name) continue;
        bool bad = a.has_i() && a.i() < 1;
        for (int64_t v : a.ints()) bad = bad || v < 1;
        if (bad)
          return fail(error, label,
                      "node '" + node.name() + "' (" + node.op_type() + "): attribute '" +
                          a.name() + "' must be >= 1");
      }
      if (a.has_g() && !check_divisor_attributes(a.g(), label, error)) return false;
      for (const auto& sub : a.graphs())
        if (!check_divisor_attributes(sub, label, error)) return false;
    }
  }
  return true;
}

// Nodes must have the input and output counts their schema allows: ONNX's
// shape inference reports a mismatch only as a swallowed error, and the
// lowering would index inputs that are not there (a Gemm with one input;
// found by tests/fuzz). Ops without a schema are refused later by name.
bool check_node_arity(const onnx::GraphProto& g, int64_t opset, const std::string& label,
                      std::string* error) {
  for (const auto& node : g.node()) {
    for (const auto& a : node.attribute()) {
      if (a.has_g() && !check_node_arity(a.g(), opset, label, error)) return false;
      for (const auto& sub : a.graphs())
        if (!check_node_arity(sub, opset, label, error)) return false;
    }
    if (!node.domain().empty() && node.domain() != "ai.onnx") continue;
    const onnx::OpSchema* schema =
        onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(opset), "");
    if (!schema) continue;
    auto range = [](int lo, int hi) {
      return hi == lo ? std::to_string(lo)
             : hi == std::numeric_limits<int>::max() ? std::to_string(lo) + " or more"
                                                     : std::to_string(lo) + " to " + std::to_string(hi);
    };
    const std::string what = "node '" + node.name() + "' (" + node.op_type() + ") has ";
    if (node.input_size() < schema->min_input() || node.input_size() > schema->max_input())
      return fail(error, label, what + std::to_string(node.input_size()) + " inputs; opset " +
                                    std::to_string(opset) + " allows " +
                                    range(schema->min_input(), schema->max_input()));
    if (node.output_size() < schema->min_output() || node.output_size() > schema->max_output())
      return fail(error, label, what + std::to_string(node.output_size()) + " outputs; opset " +
                                    std::to_string(opset) + " allows " +
                                    range(schema->min_output(), schema->max_output()));
  }
  return true;
}

// ONNX's Conv shape inference takes a missing kernel_shape from the
// weight's dims and then indexes the dilations (sized by the input's rank)
// with it: a weight of higher rank than the input reads past the end inside
// libonnx (found by tests/fuzz). So every convolution gets its kernel_shape
// written out here, from the weight's dims as ONNX defines the default, and
// libonnx's own rank check then refuses the mismatch. Weights are traced
// through the nodes that keep a shape (PyTorch's QDQ exports dequantize
// them); a convolution whose weight shape is not known before inference is
// refused rather than handed to libonnx. Subgraphs see the outer scope.
using Dims = std::unordered_map<std::string, std::vector<int64_t>>;

bool add_kernel_shapes(onnx::GraphProto* g, Dims known, const std::string& label,
                       std::string* error) {
  for (const auto& t : g->initializer()) known[t.name()].assign(t.dims().begin(), t.dims().end());
  static const std::unordered_set<std::string> kKeepShape = {
      "Identity", "Cast", "DequantizeLinear", "QuantizeLinear", "Neg", "Abs"};
  // Weight input index per convolution op.
  static const std::unordered_map<std::string, int> kWeight = {
      {"Conv", 1}, {"ConvTranspose", 1}, {"ConvInteger", 1}, {"QLinearConv", 3}};
  for (auto& node : *g->mutable_node()) {
    for (auto& a : *node.mutable_attribute()) {
      if (a.has_g() && !add_kernel_shapes(a.mutable_g(), known, label, error)) return false;
      for (auto& sub : *a.mutable_graphs())
        if (!add_kernel_shapes(&sub, known, label, error)) return false;
    }
    const std::string& op = node.op_type();
    if (op == "Constant" && node.output_size() == 1) {
      for (const auto& a : node.attribute())
        if (a.name() == "value" && a.has_t())
          known[node.output(0)].assign(a.t().dims().begin(), a.t().dims().end());
    } else if (kKeepShape.count(op) && node.input_size() >= 1 && node.output_size() >= 1) {
      auto it = known.find(node.input(0));
      if (it != known.end()) known[node.output(0)] = it->second;
    }
    auto w = kWeight.find(op);
    if (w == kWeight.end()) continue;
    bool has_kernel_shape = false;
    for (const auto& a : node.attribute()) has_kernel_shape |= a.name() == "kernel_shape";
    if (has_kernel_shape) continue;
    const std::string what = "node '" + node.name() + "' (" + op + ")";
    auto dims = node.input_size() > w->second ? known.find(node.input(w->second)) : known.end();
    if (dims == known.end())
      return fail(error, label, what + " has no kernel_shape attribute and its weight's shape "
                                       "is not known before shape inference; re-export with "
                                       "kernel_shape set");
    if (dims->second.size() < 3)
      return fail(error, label, what + ": the weight has rank " +
                                    std::to_string(dims->second.size()) + ", a convolution's "
                                    "needs at least 3");
    onnx::AttributeProto* a = node.add_attribute();
    a->set_name("kernel_shape");
    a->set_type(onnx::AttributeProto::INTS);
    for (size_t i = 2; i < dims->second.size(); ++i) a->add_ints(dims->second[i]);
  }
  return true;
}

onnx::TensorProto tensor_from_value(const Value& v) {
  onnx::TensorProto t;
  int32_t type = onnx::TensorProto::FLOAT;
  switch (v.type) {
    case ElemType::f32: type = onnx::TensorProto::FLOAT; break;
    case ElemType::u8: type = onnx::TensorProto::UINT8; break;
    case ElemType::s8: type = onnx::TensorProto::INT8; break;
    case ElemType::i32: type = onnx::TensorProto::INT32; break;
    case ElemType::i64: type = onnx::TensorProto::INT64; break;
    case ElemType::boolean: type = onnx::TensorProto::BOOL; break;
  }
  t.set_data_type(type);
  for (int64_t d : v.shape) t.add_dims(d);
  t.set_raw_data(v.data.data(), v.data.size());
  return t;
}

// Shape plumbing is a handful of integers; bigger integer tensors (masks)
// are left to fold_constants after import rather than copied into the model.
constexpr size_t kMaxFoldElements = 4096;

// Node p of the top graph as fold_node sees it: its constant inputs (and,
// for Shape and Size, a typed input) in a small Graph; false if an input is
// computed at run time or the output is float or has no static shape.
bool fold_onnx_node(const onnx::NodeProto& p,
                    const std::unordered_map<std::string, const onnx::ValueInfoProto*>& infos,
                    const std::unordered_map<std::string, const onnx::TensorProto*>& initializers,
                    const std::unordered_map<std::string, const onnx::NodeProto*>& constants,
                    const std::string& label, Value* out) {
  if (p.output_size() != 1 || (!p.domain().empty() && p.domain() != "ai.onnx")) return false;
  auto info = infos.find(p.output(0));
  std::string why;
  uint64_t elements = 0;
  if (!typed_value_from_info(p.output(0), info == infos.end() ? nullptr : info->second, out, &why) ||
      out->type == ElemType::f32 || !shape_elements(out->shape, &elements) || elements > kMaxFoldElements)
    return false;
  Graph g;
  Node n;
  n.op = p.op_type();
  for (const auto& a : p.attribute())
    if (a.type() == onnx::AttributeProto::GRAPH || !attribute_from_proto(a, label, &n.attrs[a.name()], &why))
      return false;
  const bool reads_shape = n.op == "Shape" || n.op == "Size";
  for (const std::string& name : p.input()) {
    Value v;
    auto init = initializers.find(name);
    auto node = constants.find(name);
    auto vi = infos.find(name);
    if (name.empty()) {
      n.inputs.push_back(-1);
      continue;
    }
    if (init != initializers.end() && reads_shape) {
      v.shape.assign(init->second->dims().begin(), init->second->dims().end());
    } else if (init != initializers.end()) {
      if (!value_from_tensor(*init->second, label, &v, &why)) return false;
    } else if (node != constants.end()) {
      if (!constant_node_value(*node->second, label, &v, &why)) return false;
    } else if (!reads_shape || !typed_value_from_info(name, vi == infos.end() ? nullptr : vi->second, &v, &why)) {
      return false;
    }
    n.inputs.push_back(g.add_value(std::move(v)));
  }
  return fold_node(g, n, out);
}

// ONNX shape inference, then constant folding of the shape arithmetic on
// static shapes, again until a round folds nothing. PyTorch exports shapes
// it computes at run time, e.g. MultiheadAttention's chunk(3) of in_proj:
// Slice bounds from Shape -> Gather -> Add -> Div -> Mul. ONNX 1.12's data
// propagation stops at Div, so those Slices get no static shape until the
// bounds are Constant nodes. One round folds a whole chain (the nodes are in
// topological order); the next infers the shapes it unlocks.
bool infer_shapes(onnx::ModelProto& model, const std::string& label, std::string* error) {
  onnx::GraphProto& g = *model.mutable_graph();
  for (;;) {
    // Shapes inferred before may contradict new input shapes or folded
    // values: drop them.
    g.clear_value_info();
    try {
      onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                         onnx::ShapeInferenceOptions(false, 0, true));
    } catch (const std::exception& e) {
      return fail(error, label, std::string("ONNX shape inference failed: ") + e.what());
    }
    std::unordered_map<std::string, const onnx::ValueInfoProto*> infos;
    for (const auto& vi : g.input()) infos[vi.name()] = &vi;
    for (const auto& vi : g.value_info()) infos[vi.name()] = &vi;
    for (const auto& vi : g.output()) infos[vi.name()] = &vi;
    std::unordered_map<std::string, const onnx::TensorProto*> initializers;
    for (const auto& t : g.initializer()) initializers[t.name()] = &t;
    std::unordered_map<std::string, const onnx::NodeProto*> constants;
    int folded = 0;
    for (onnx::NodeProto& p : *g.mutable_node()) {
      if (p.op_type() == "Constant") {
        if (p.output_size() == 1) constants[p.output(0)] = &p;
        continue;
      }
      Value v;
      if (!fold_onnx_node(p, infos, initializers, constants, label, &v)) continue;
      const std::string name = p.name(), output = p.output(0);
      p.Clear();
      p.set_name(name);
      p.set_op_type("Constant");
      p.add_output(output);
      onnx::AttributeProto* a = p.add_attribute();
      a->set_name("value");
      a->set_type(onnx::AttributeProto::TENSOR);
      *a->mutable_t() = tensor_from_value(v);
      constants[output] = &p;
      ++folded;
    }
    if (!folded) return true;
  }
}

}  // namespace

bool import_onnx_bytes(const void* data, size_t size, const std::string& label,
                       const ImportOptions& options, Graph* graph, std::string* error) {
  onnx::ModelProto model;
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(data, static_cast<int>(size)))
    return fail(error, label, "not a valid ONNX model (the protobuf does not parse; truncated?)");
  if (!model.has_graph()) return fail(error, label, "the ONNX model has no graph");

  int64_t opset = -1;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset < 0) return fail(error, label, "the model imports no default-domain opset");
  if (opset < kMinOpset || opset > kMaxOpset)
    return fail(error, label, "opset " + std::to_string(opset) + " is outside what qrt imports (" +
                                  std::to_string(kMinOpset) + "-" + std::to_string(kMaxOpset) +
                                  "); re-export with opset_version in that range");

  // Apply --input-shape before inference so every shape can become static.
  std::unordered_set<std::string> initializers;
  for (const auto& t : model.graph().initializer()) initializers.insert(t.name());
  std::unordered_set<std::string> inputs;
  for (auto& vi : *model.mutable_graph()->mutable_input()) {
    if (initializers.count(vi.name())) continue;
    inputs.insert(vi.name());
    auto it = options.input_shapes.find(vi.name());
    if (it == options.input_shapes.end()) continue;
    auto* shape = vi.mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->clear_dim();
    for (int64_t d : it->second) shape->add_dim()->set_dim_value(d);
  }
  for (const auto& kv : options.input_shapes)
    if (!inputs.count(kv.first))
      return fail(error, label, "--input-shape names '" + kv.first + "', which is not a graph input");
  for (const auto& kv : options.fixed_inputs)
    if (!inputs.count(kv.first))
      return fail(error, label, "--fix-input names '" + kv.first + "', which is not a graph input");
  if (!check_divisor_attributes(model.graph(), label, error)) return false;
  if (!check_node_arity(model.graph(), opset, label, error)) return false;
  if (!add_kernel_shapes(model.mutable_graph(), {}, label, error)) return false;
  if (!infer_shapes(model, label, error)) return false;
  Importer importer{label, options, error, nullptr, nullptr, {}};
  *graph = Graph{};
  return importer.graph(model.graph(), opset, graph);
}

bool import_onnx_file(const std::string& path, const ImportOptions& options, Graph* graph,
                      std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(error, path, "cannot open the file");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const std::string data = bytes.str();
  if (data.empty()) return fail(error, path, "the file is empty");
  return import_onnx_bytes(data.data(), data.size(), path, options, graph, error);
}

}  // namespace qrt::convert
