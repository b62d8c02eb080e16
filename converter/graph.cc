#include "graph.h"

#include <algorithm>

namespace qrt::convert {

size_t elem_size(ElemType t) {
  switch (t) {
    case ElemType::f32: return 4;
    case ElemType::u8: return 1;
    case ElemType::s8: return 1;
    case ElemType::i32: return 4;
    case ElemType::i64: return 8;
    case ElemType::boolean: return 1;
  }
  return 0;
}

const char* elem_name(ElemType t) {
  switch (t) {
    case ElemType::f32: return "float32";
    case ElemType::u8: return "uint8";
    case ElemType::s8: return "int8";
    case ElemType::i32: return "int32";
    case ElemType::i64: return "int64";
    case ElemType::boolean: return "bool";
  }
  return "unknown";
}

size_t Value::elements() const {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

int64_t Node::get_int(const std::string& key, int64_t fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.i;
}

float Node::get_float(const std::string& key, float fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.f;
}

std::string Node::get_string(const std::string& key, const std::string& fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.s;
}

std::vector<int64_t> Node::get_ints(const std::string& key, std::vector<int64_t> fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.ints;
}

int Graph::add_value(Value v) {
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::find_value(const std::string& name) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == name) return static_cast<int>(i);
  return -1;
}

void Graph::link() {
  for (Value& v : values) v.producer = -1;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int o : nodes[n].outputs)
      if (o >= 0) values[static_cast<size_t>(o)].producer = static_cast<int>(n);
}

size_t Graph::remove_dead() {
  std::vector<bool> live_value(values.size(), false);
  for (int o : outputs) live_value[static_cast<size_t>(o)] = true;
  std::vector<bool> live_node(nodes.size(), false);
  for (size_t k = nodes.size(); k-- > 0;) {
    const Node& n = nodes[k];
    bool needed = false;
    for (int o : n.outputs) needed = needed || (o >= 0 && live_value[static_cast<size_t>(o)]);
    if (!needed) continue;
    live_node[k] = true;
    for (int i : n.inputs)
      if (i >= 0) live_value[static_cast<size_t>(i)] = true;
  }
  for (int i : inputs) live_value[static_cast<size_t>(i)] = true;

  // Renumber values; outputs of live nodes stay even if unread (multi-output ops).
  for (size_t k = 0; k < nodes.size(); ++k)
    if (live_node[k])
      for (int o : nodes[k].outputs)
        if (o >= 0) live_value[static_cast<size_t>(o)] = true;
  std::vector<int> remap(values.size(), -1);
  std::vector<Value> kept_values;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!live_value[i]) continue;
    remap[i] = static_cast<int>(kept_values.size());
    kept_values.push_back(std::move(values[i]));
  }
  std::vector<Node> kept_nodes;
  for (size_t k = 0; k < nodes.size(); ++k) {
    if (!live_node[k]) continue;
    Node n = std::move(nodes[k]);
    for (int& i : n.inputs)
      if (i >= 0) i = remap[static_cast<size_t>(i)];
    for (int& o : n.outputs)
      if (o >= 0) o = remap[static_cast<size_t>(o)];
    kept_nodes.push_back(std::move(n));
  }
  const size_t removed = nodes.size() - kept_nodes.size();
  for (int& i : inputs) i = remap[static_cast<size_t>(i)];
  for (int& o : outputs) o = remap[static_cast<size_t>(o)];
  values = std::move(kept_values);
  nodes = std::move(kept_nodes);
  link();
  return removed;
}

}  // namespace qrt::convert
