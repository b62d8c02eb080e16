// Constant folding of the shape and type plumbing exporters leave in graphs
// (Shape, Gather, Cast, ConstantOfShape, Unsqueeze, Concat, Slice, Transpose,
// ...). These move or convert values exactly; float arithmetic is not folded
// here.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "passes.h"

namespace qrt::convert {

namespace {

bool is_const(const Graph& g, int v) { return v >= 0 && g.values[static_cast<size_t>(v)].is_constant; }

// Element i of a constant as double (exact for every type but huge int64s).
double get(const Value& v, size_t i) {
  switch (v.type) {
    case ElemType::f32: return v.as<float>()[i];
    case ElemType::u8: return v.data[i];
    case ElemType::s8: return static_cast<int8_t>(v.data[i]);
    case ElemType::i32: return v.as<int32_t>()[i];
    case ElemType::i64: return static_cast<double>(v.as<int64_t>()[i]);
    case ElemType::boolean: return v.data[i] ? 1 : 0;
  }
  return 0;
}

// Floats out of int64's range saturate and NaN gives 0 (a C++ cast of those
// is undefined; ONNX leaves the Cast result unspecified). Found by tests/fuzz.
int64_t get_int(const Value& v, size_t i) {
  if (v.type == ElemType::i64) return v.as<int64_t>()[i];
  const double x = std::trunc(get(v, i));
  if (std::isnan(x)) return 0;
  if (x <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  if (x >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(x);
}

// ONNX Cast: float -> int truncates toward zero; out of range saturates here.
void put(Value& v, size_t i, double x, int64_t exact) {
  switch (v.type) {
    case ElemType::f32: v.as<float>()[i] = static_cast<float>(x); break;
    case ElemType::u8: v.data[i] = static_cast<uint8_t>(std::fmin(std::fmax(std::trunc(x), 0), 255)); break;
    case ElemType::s8: v.data[i] = static_cast<uint8_t>(static_cast<int8_t>(std::fmin(std::fmax(std::trunc(x), -128), 127))); break;
    case ElemType::i32: v.as<int32_t>()[i] = static_cast<int32_t>(std::fmin(std::fmax(std::trunc(x), -2147483648.0), 2147483647.0)); break;
    case ElemType::i64: v.as<int64_t>()[i] = exact; break;
    case ElemType::boolean: v.data[i] = x != 0; break;
  }
}

// ONNX integer arithmetic wraps like the hardware does; signed overflow in
// C++ is undefined (a hostile file can ask for it), so it goes unsigned.
bool int_op(const std::string& op, int64_t x, int64_t y, int64_t* r) {
  const uint64_t ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
  if (op == "Add") *r = static_cast<int64_t>(ux + uy);
  else if (op == "Sub") *r = static_cast<int64_t>(ux - uy);
  else if (op == "Mul") *r = static_cast<int64_t>(ux * uy);
  else if (op == "Equal") *r = x == y;
  // ONNX's integer Div truncates toward zero, as C++'s does; INT64_MIN / -1 traps.
  else if (y == 0 || (x == std::numeric_limits<int64_t>::min() && y == -1)) return false;
  else *r = x / y;
  return true;
}

// Element strides of a C-order tensor of `shape`.
std::vector<int64_t> strides_of(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

// out (shape `dims`, C order) element i = x[first + sum_d idx_d(i) * strides[d]]:
// Slice and Transpose are both this walk. False if it would leave x.
bool copy_strided(const Value& x, int64_t first, const std::vector<int64_t>& dims,
                  const std::vector<int64_t>& strides, Value* out) {
  const size_t es = elem_size(x.type);
  const int64_t total = static_cast<int64_t>(x.elements());
  const size_t count = out->elements();
  if (out->data.size() != count * es || x.data.size() != static_cast<size_t>(total) * es) return false;
  std::vector<int64_t> idx(dims.size(), 0);
  int64_t src = first;
  for (size_t i = 0; i < count; ++i) {
    if (src < 0 || src >= total) return false;
    std::memcpy(out->data.data() + i * es, x.data.data() + static_cast<size_t>(src) * es, es);
    for (size_t d = dims.size(); d-- > 0;) {
      src += strides[d];
      if (++idx[d] < dims[d]) break;
      src -= idx[d] * strides[d];
      idx[d] = 0;
    }
  }
  return true;
}

}  // namespace

bool slice_range(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* first, int64_t* count) {
  if (step == 0) return false;
  if (dim == 0) {
    *first = *count = 0;
    return true;
  }
  // Any |step| > dim takes one element at most; clamping keeps the
  // arithmetic below from overflowing.
  step = std::clamp<int64_t>(step, -dim - 1, dim + 1);
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    *count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    *count = start > end ? (start - end - step - 1) / -step : 0;
  }
  *first = start;
  return true;
}

bool fold_node(const Graph& g, const Node& n, Value* out) {
  auto in = [&](size_t k) -> const Value& { return g.values[static_cast<size_t>(n.inputs[k])]; };
  out->data.assign(out->elements() * elem_size(out->type), 0);
  const size_t count = out->elements();
  if (n.op == "Shape") {
    // Opset 15's start/end pick a range of the dims, clamped as Slice's are.
    const Value& x = in(0);
    int64_t first = 0, dims = 0;
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    if (!slice_range(rank, n.get_int("start", 0), n.get_int("end", rank), 1, &first, &dims) ||
        count != static_cast<size_t>(dims) || out->type != ElemType::i64)
      return false;
    for (size_t i = 0; i < count; ++i) out->as<int64_t>()[i] = x.shape[static_cast<size_t>(first) + i];
    return true;
  }
  if (n.op == "Size") {
    out->as<int64_t>()[0] = static_cast<int64_t>(in(0).elements());
    return true;
  }
  for (int i : n.inputs)
    if (i >= 0 && !is_const(g, i)) return false;
  if (n.op == "Cast") {
    const Value& x = in(0);
    for (size_t i = 0; i < count; ++i) put(*out, i, get(x, i), get_int(x, i));
    return true;
  }
  if (n.op == "ConstantOfShape") {
    double fill = 0;
    int64_t fill_i = 0;
    auto it = n.attrs.find("value");
    if (it != n.attrs.end() && !it->second.tensor.empty()) {
      fill = get(it->second.tensor[0], 0);
      fill_i = get_int(it->second.tensor[0], 0);
    }
    for (size_t i = 0; i < count; ++i) put(*out, i, fill, fill_i);
    return true;
  }
  if (n.op == "Identity" || n.op == "Reshape" || n.op == "Flatten" || n.op == "Squeeze" ||
      n.op == "Unsqueeze") {
    if (in(0).data.size() != out->data.size()) return false;
    out->data = in(0).data;
    return true;
  }
  if (n.op == "Concat") {
    const int64_t rank = static_cast<int64_t>(out->shape.size());
    int64_t axis = n.get_int("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return false;
    size_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= static_cast<size_t>(out->shape[static_cast<size_t>(d)]);
    const size_t es = elem_size(out->type);
    size_t pos = 0;
    for (size_t o = 0; o < outer; ++o)
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        const Value& x = in(k);
        if (x.type != out->type) return false;
        const size_t chunk = x.data.size() / outer;
        if (pos + chunk > out->data.size()) return false;
        std::memcpy(out->data.data() + pos, x.data.data() + o * chunk, chunk);
        pos += chunk;
      }
    (void)es;
    return pos == out->data.size();
  }
  if (n.op == "Gather") {
    const Value& x = in(0);
    const Value& idx = in(1);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    int64_t axis = n.get_int("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank || x.type != out->type) return false;
    size_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= static_cast<size_t>(x.shape[static_cast<size_t>(d)]);
    for (int64_t d = axis + 1; d < rank; ++d) inner *= static_cast<size_t>(x.shape[static_cast<size_t>(d)]);
    const int64_t dim = x.shape[static_cast<size_t>(axis)];
    const size_t es = elem_size(x.type);
    size_t pos = 0;
    for (size_t o = 0; o < outer; ++o)
      for (size_t k = 0; k < idx.elements(); ++k) {
        int64_t j = get_int(idx, k);
        if (j < 0) j += dim;
        if (j < 0 || j >= dim) return false;
        std::memcpy(out->data.data() + pos,
                    x.data.data() + ((o * static_cast<size_t>(dim) + static_cast<size_t>(j)) * inner) * es,
                    inner * es);
        pos += inner * es;
      }
    return pos == out->data.size();
  }
  // Integer shape arithmetic.
  if ((n.op == "Add" || n.op == "Sub" || n.op == "Mul" || n.op == "Div" || n.op == "Equal") &&
      out->type != ElemType::f32 && n.inputs.size() == 2) {
    const Value& a = in(0);
    const Value& b = in(1);
    if (a.type == ElemType::f32 || (a.elements() != count && a.elements() != 1) ||
        (b.elements() != count && b.elements() != 1))
      return false;
    for (size_t i = 0; i < count; ++i) {
      const int64_t x = get_int(a, a.elements() == 1 ? 0 : i), y = get_int(b, b.elements() == 1 ? 0 : i);
      int64_t r;
      if (!int_op(n.op, x, y, &r)) return false;
      put(*out, i, static_cast<double>(r), r);
    }
    return true;
  }
  if (n.op == "Slice" && !n.inputs.empty() && in(0).type == out->type) {
    const Value& x = in(0);
    const std::vector<int64_t> xs = strides_of(x.shape);
    std::vector<int64_t> starts, ends, axes, steps;
    if (!constant_ints(g, n, 1, "starts", &starts) || !constant_ints(g, n, 2, "ends", &ends) ||
        !constant_ints(g, n, 3, "axes", &axes) || !constant_ints(g, n, 4, "steps", &steps) ||
        starts.size() != ends.size() || (!axes.empty() && axes.size() != starts.size()) ||
        (!steps.empty() && steps.size() != starts.size()))
      return false;
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    std::vector<int64_t> dims = x.shape, strides = xs;
    std::vector<bool> seen(x.shape.size(), false);
    int64_t first = 0;
    for (size_t k = 0; k < starts.size(); ++k) {
      int64_t axis = axes.empty() ? static_cast<int64_t>(k) : axes[k];
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank || seen[static_cast<size_t>(axis)]) return false;
      const size_t a = static_cast<size_t>(axis);
      seen[a] = true;
      const int64_t dim = x.shape[a];
      // A step longer than the axis takes one element at most: clamped, the
      // stride arithmetic cannot overflow and the result is the same.
      const int64_t step = std::clamp<int64_t>(steps.empty() ? 1 : steps[k], -dim - 1, dim + 1);
      int64_t at = 0;
      if (!slice_range(dim, starts[k], ends[k], step, &at, &dims[a])) return false;
      first += at * xs[a];
      strides[a] = step * xs[a];
    }
    return dims == out->shape && copy_strided(x, first, dims, strides, out);
  }
  if (n.op == "Transpose" && n.inputs.size() == 1 && in(0).type == out->type) {
    const Value& x = in(0);
    const size_t rank = x.shape.size();
    std::vector<int64_t> perm = n.get_ints("perm");
    if (perm.empty())
      for (size_t d = rank; d-- > 0;) perm.push_back(static_cast<int64_t>(d));
    if (perm.size() != rank) return false;
    const std::vector<int64_t> xs = strides_of(x.shape);
    std::vector<int64_t> dims(rank), strides(rank);
    std::vector<bool> seen(rank, false);
    for (size_t d = 0; d < rank; ++d) {
      const int64_t p = perm[d] < 0 ? perm[d] + static_cast<int64_t>(rank) : perm[d];
      if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)]) return false;
      seen[static_cast<size_t>(p)] = true;
      dims[d] = x.shape[static_cast<size_t>(p)];
      strides[d] = xs[static_cast<size_t>(p)];
    }
    return dims == out->shape && copy_strided(x, 0, dims, strides, out);
  }
  return false;
}

int fold_constants(Graph& g) {
  int folded = 0;
  for (Node& n : g.nodes) {
    if (n.outputs.size() != 1 || n.outputs[0] < 0) continue;
    Value out = g.values[static_cast<size_t>(n.outputs[0])];
    if (!fold_node(g, n, &out)) continue;
    out.is_constant = true;
    g.values[static_cast<size_t>(n.outputs[0])] = std::move(out);
    n.op = "Identity";  // dead now: its output no longer needs a producer
    n.outputs[0] = g.add_value(g.values[static_cast<size_t>(n.outputs[0])]);
    g.values.back().is_constant = false;
    ++folded;
  }
  g.link();
  g.remove_dead();
  return folded;
}

}  // namespace qrt::convert
