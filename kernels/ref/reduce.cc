#include "kernels/ref/reduce.h"

#include <cmath>
#include <utility>

namespace qrt::kernels {
namespace {

// Calls f(offset) for every index of `rank` dimensions in C order, where
// offset = sum_d index[d] * strides[d] + base.
template <class F>
void for_each_index(int rank, const int64_t* dims, const int64_t* strides, int64_t base, F&& f) {
  int64_t index[kNnMaxRank] = {};
  int64_t offset = base;
  for (;;) {
    f(offset);
    int d = rank - 1;
    for (; d >= 0; --d) {
      offset += strides[d];
      if (++index[d] < dims[d]) break;
      offset -= strides[d] * dims[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

// Calls f(out_index, in_base) for every output element, in order.
template <class F>
void for_each_output(const ReduceShape& s, F&& f) {
  int64_t o = 0;
  for_each_index(s.kept_rank, s.kept_dims, s.kept_strides, 0,
                 [&](int64_t base) { f(o++, base); });
}

double reduced_sum(const ReduceShape& s, const float* in, int64_t base) {
  double sum = 0.0;
  for_each_index(s.reduced_rank, s.reduced_dims, s.reduced_strides, base,
                 [&](int64_t at) { sum += in[at]; });
  return sum;
}

}  // namespace

ReduceShape make_reduce_shape(int rank, const int32_t* dims, const bool* reduce) {
  ReduceShape s;
  int last_kind = -1;  // 0 kept, 1 reduced: the kind of the previous non-1 dimension
  int64_t stride = 1;
  // Walk from the innermost dimension out so strides accumulate.
  for (int d = rank - 1; d >= 0; --d) {
    const int64_t size = dims[d];
    if (size == 1) continue;
    const int kind = reduce[d] ? 1 : 0;
    int& n = kind ? s.reduced_rank : s.kept_rank;
    int64_t* sizes = kind ? s.reduced_dims : s.kept_dims;
    int64_t* strides = kind ? s.reduced_strides : s.kept_strides;
    if (kind == last_kind) {
      sizes[n - 1] *= size;  // merge into the next-inner dimension of this kind
    } else {
      sizes[n] = size;
      strides[n] = stride;
      ++n;
    }
    last_kind = kind;
    stride *= size;
  }
  // Collected innermost first; the loops want outermost first.
  for (int i = 0, j = s.kept_rank - 1; i < j; ++i, --j) {
    std::swap(s.kept_dims[i], s.kept_dims[j]);
    std::swap(s.kept_strides[i], s.kept_strides[j]);
  }
  for (int i = 0, j = s.reduced_rank - 1; i < j; ++i, --j) {
    std::swap(s.reduced_dims[i], s.reduced_dims[j]);
    std::swap(s.reduced_strides[i], s.reduced_strides[j]);
  }
  return s;
}

void reduce_sum_f32_ref(const ReduceShape& shape, const float* in, float* out) {
  for_each_output(shape, [&](int64_t o, int64_t base) {
    out[o] = static_cast<float>(reduced_sum(shape, in, base));
  });
}

void reduce_mean_f32_ref(const ReduceShape& shape, const float* in, float* out) {
  int64_t count = 1;
  for (int d = 0; d < shape.reduced_rank; ++d) count *= shape.reduced_dims[d];
  for_each_output(shape, [&](int64_t o, int64_t base) {
    out[o] = static_cast<float>(reduced_sum(shape, in, base) / static_cast<double>(count));
  });
}

void reduce_max_f32_ref(const ReduceShape& shape, const float* in, float* out) {
  for_each_output(shape, [&](int64_t o, int64_t base) {
    float m = -INFINITY;
    for_each_index(shape.reduced_rank, shape.reduced_dims, shape.reduced_strides, base,
                   [&](int64_t at) {
                     const float v = in[at];
                     if (!std::isnan(m) && (v > m || std::isnan(v))) m = v;
                   });
    out[o] = m;
  });
}

}  // namespace qrt::kernels
