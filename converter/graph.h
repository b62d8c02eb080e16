// The converter's graph: ONNX semantics (logical NCHW, ONNX op names and
// attributes) with static shapes, constants held by value and quantization
// parameters attached to tensors. Passes rewrite it; lowering turns it into a
// .qrt model in the runtime's layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model_builder.h"

namespace qrt::convert {

enum class ElemType : uint8_t { f32, u8, s8, i32, i64, boolean };

size_t elem_size(ElemType t);
const char* elem_name(ElemType t);

struct Value {
  std::string name;
  ElemType type = ElemType::f32;
  std::vector<int64_t> shape;  // static; rank 0 = scalar
  bool is_constant = false;
  std::vector<uint8_t> data;  // constants: elements in C order, host byte order
  QuantParams quant;          // from QDQ import or calibration; empty = float
  int producer = -1;          // node index, -1 for inputs and constants

  size_t elements() const;
  template <class T>
  const T* as() const { return reinterpret_cast<const T*>(data.data()); }
  template <class T>
  T* as() { return reinterpret_cast<T*>(data.data()); }
};

struct Graph;

struct Attribute {
  enum class Kind { none, i, f, s, ints, floats, strings, tensor, graph };
  Kind kind = Kind::none;
  int64_t i = 0;
  float f = 0.f;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  std::vector<Value> tensor;  // zero or one element (keeps Value incomplete-type friendly)
  std::vector<Graph> graph;   // zero or one element
};

struct Node {
  std::string name;
  std::string op;  // ONNX op_type (default domain)
  std::vector<int> inputs;   // value ids; -1 = absent optional input
  std::vector<int> outputs;  // value ids
  std::map<std::string, Attribute> attrs;

  bool has(const std::string& key) const { return attrs.count(key) != 0; }
  int64_t get_int(const std::string& key, int64_t fallback) const;
  float get_float(const std::string& key, float fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& key, std::vector<int64_t> fallback = {}) const;
};

struct Graph {
  std::string name;
  std::vector<Value> values;
  std::vector<Node> nodes;  // topological order
  std::vector<int> inputs;
  std::vector<int> outputs;
  int64_t opset = 0;

  int add_value(Value v);
  int find_value(const std::string& name) const;  // -1 if none
  // Recomputes Value::producer from the nodes.
  void link();
  // Drops nodes whose outputs nothing reads (graph outputs count as read)
  // and values no node or graph edge refers to; keeps ids stable by
  // rebuilding the tables. Returns the number of nodes removed.
  size_t remove_dead();
};

}  // namespace qrt::convert
