// QuantizeLinear/DequantizeLinear pairs -> Value::quant (see passes.h).
#include <cmath>
#include <cstring>

#include "passes.h"

namespace qrt::convert {

namespace {

bool fail(std::string* error, const Node& n, const std::string& what) {
  if (error) *error = "node '" + n.name + "' (" + n.op + "): " + what;
  return false;
}

// Scale and zero point inputs of a Q/DQ node as QuantParams.
bool read_params(const Graph& g, const Node& n, QuantParams* q, ElemType* zp_type,
                 std::string* error) {
  if (n.inputs.size() < 2 || n.inputs[1] < 0 || !g.values[static_cast<size_t>(n.inputs[1])].is_constant)
    return fail(error, n, "scale must be a constant");
  const Value& s = g.values[static_cast<size_t>(n.inputs[1])];
  if (s.type != ElemType::f32) return fail(error, n, "scale must be float32");
  q->scale.assign(s.as<float>(), s.as<float>() + s.elements());
  *zp_type = ElemType::u8;
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Value& z = g.values[static_cast<size_t>(n.inputs[2])];
    if (!z.is_constant) return fail(error, n, "zero point must be a constant");
    if (z.elements() != s.elements()) return fail(error, n, "scale and zero point counts differ");
    *zp_type = z.type;
    for (size_t i = 0; i < z.elements(); ++i) {
      int64_t v = 0;
      switch (z.type) {
        case ElemType::u8: v = z.data[i]; break;
        case ElemType::s8: v = static_cast<int8_t>(z.data[i]); break;
        case ElemType::i32: v = z.as<int32_t>()[i]; break;
        default: return fail(error, n, "zero point must be uint8, int8 or int32");
      }
      q->zero_point.push_back(v);
    }
  } else {
    q->zero_point.assign(q->scale.size(), 0);
  }
  q->axis = static_cast<int>(n.get_int("axis", 1));
  for (float f : q->scale)
    if (!(f > 0) || !std::isfinite(f)) return fail(error, n, "scale must be positive and finite");
  return true;
}

bool same(const QuantParams& a, const QuantParams& b) {
  return a.scale == b.scale && a.zero_point == b.zero_point;
}

void replace_uses(Graph& g, int from, int to) {
  for (Node& n : g.nodes)
    for (int& i : n.inputs)
      if (i == from) i = to;
  for (int& o : g.outputs)
    if (o == from) o = to;
}

}  // namespace

bool import_qdq(Graph& g, std::string* error) {
  // 1. Dequantized constants (weights, int32 biases) become float constants;
  //    int8/uint8 ones remember their params so lowering re-quantizes them to
  //    the very same integers.
  for (Node& n : g.nodes) {
    if (n.op != "DequantizeLinear" || n.inputs.empty() || n.inputs[0] < 0) continue;
    const Value& x = g.values[static_cast<size_t>(n.inputs[0])];
    if (!x.is_constant) continue;
    QuantParams q;
    ElemType zp_type;
    if (!read_params(g, n, &q, &zp_type, error)) return false;
    Value f = g.values[static_cast<size_t>(n.outputs[0])];
    f.type = ElemType::f32;
    f.is_constant = true;
    f.data.assign(x.elements() * 4, 0);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    int64_t axis = q.axis < 0 ? q.axis + rank : q.axis;
    size_t inner = 1;
    if (q.scale.size() > 1) {
      if (axis < 0 || axis >= rank || static_cast<size_t>(x.shape[static_cast<size_t>(axis)]) != q.scale.size())
        return fail(error, n, "per-axis scales do not match the tensor's axis");
      for (int64_t d = axis + 1; d < rank; ++d) inner *= static_cast<size_t>(x.shape[static_cast<size_t>(d)]);
    }
    for (size_t i = 0; i < x.elements(); ++i) {
      const size_t c = q.scale.size() > 1 ? (i / inner) % q.scale.size() : 0;
      int64_t v;
      switch (x.type) {
        case ElemType::u8: v = x.data[i]; break;
        case ElemType::s8: v = static_cast<int8_t>(x.data[i]); break;
        case ElemType::i32: v = x.as<int32_t>()[i]; break;
        default: return fail(error, n, "dequantizes an unsupported constant type");
      }
      // PyTorch's dequantize: (q - zp) * scale in float32.
      f.as<float>()[i] = static_cast<float>(v - q.zero_point[c]) * q.scale[c];
    }
    if (x.type == ElemType::s8 || x.type == ElemType::u8) {
      q.axis = static_cast<int>(axis < 0 ? 0 : axis);
      f.quant = q;
    }
    g.values[static_cast<size_t>(n.outputs[0])] = std::move(f);
    n.op = "Identity";
    n.outputs[0] = g.add_value(g.values[static_cast<size_t>(n.outputs[0])]);
    g.values.back().is_constant = false;
  }
  g.link();
  g.remove_dead();

  // 2. Activation pairs: Q(x) [-> Cast] -> DQ => x carries the params.
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    Node& q = g.nodes[k];
    if (q.op != "QuantizeLinear") continue;
    QuantParams params;
    ElemType zp_type;
    if (!read_params(g, q, &params, &zp_type, error)) return false;
    if (params.scale.size() != 1) return fail(error, q, "per-axis activation quantization is not supported");
    if (zp_type != ElemType::u8)
      return fail(error, q, "activations must be quantized to uint8 (PyTorch quint8)");
    const int x = q.inputs[0];
    const size_t xi = static_cast<size_t>(x);
    if (!g.values[xi].quant.scale.empty() && !same(g.values[xi].quant, params))
      return fail(error, q, "tensor '" + g.values[xi].name + "' is quantized twice with different parameters");
    params.axis = 0;
    g.values[xi].quant = params;
    // Follow the quantized value through Casts to its DequantizeLinears.
    std::vector<int> quantized = {q.outputs[0]};
    for (size_t i = 0; i < quantized.size(); ++i) {
      for (Node& use : g.nodes) {
        if (use.inputs.empty() || use.inputs[0] != quantized[i]) continue;
        if (use.op == "Cast") {
          quantized.push_back(use.outputs[0]);
          use.op = "Identity";  // dead once its readers are rewired
          continue;
        }
        if (use.op != "DequantizeLinear")
          return fail(error, use, "reads a quantized tensor directly; only DequantizeLinear may");
        QuantParams dq;
        ElemType dq_zp_type;
        if (!read_params(g, use, &dq, &dq_zp_type, error)) return false;
        if (!same(dq, params))
          return fail(error, use, "dequantizes with parameters that differ from its QuantizeLinear");
        const int z = use.outputs[0];
        // A graph output keeps its exported name.
        for (int o : g.outputs)
          if (o == z) g.values[xi].name = g.values[static_cast<size_t>(z)].name;
        replace_uses(g, z, x);
        use.op = "Identity";
        use.inputs = {x};
        use.outputs = {g.add_value(g.values[static_cast<size_t>(z)])};
      }
    }
    Node& qq = g.nodes[k];
    qq.op = "Identity";
    qq.outputs = {g.add_value(g.values[static_cast<size_t>(qq.outputs[0])])};
  }
  for (const Node& n : g.nodes)
    if (n.op == "QuantizeLinear" || n.op == "DequantizeLinear")
      return fail(error, n, "is not part of a QuantizeLinear/DequantizeLinear pair qrt understands");
  g.link();
  g.remove_dead();
  return true;
}

}  // namespace qrt::convert
