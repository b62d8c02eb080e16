#include "kernels/ref/layout.h"

#include <cmath>
#include <cstring>

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {
namespace {

// Elements are copied with fixed-size memcpy: no aliasing questions, and
// the compiler turns each into one load and store.
template <size_t N>
void copy_elem(const uint8_t* src, uint8_t* dst) {
  std::memcpy(dst, src, N);
}

// Writes every output element in order, reading input element
// base + sum_k i_k * stride[k] for output index (i_0, ..., i_{rank-1}).
template <size_t N>
void strided_copy(int rank, const int32_t* out_dims, int64_t base, const int64_t* stride,
                  const uint8_t* in, uint8_t* out) {
  if (rank == 0) {
    copy_elem<N>(in + base * static_cast<int64_t>(N), out);
    return;
  }
  const int last = rank - 1;
  int32_t index[kLayoutMaxRank] = {};
  int64_t offset = base;  // input element of index (.., 0) on the current row
  for (;;) {
    int64_t src = offset;
    for (int32_t i = 0; i < out_dims[last]; ++i, src += stride[last]) {
      copy_elem<N>(in + src * static_cast<int64_t>(N), out);
      out += N;
    }
    int k = last - 1;
    for (; k >= 0; --k) {
      offset += stride[k];
      if (++index[k] < out_dims[k]) break;
      offset -= stride[k] * out_dims[k];
      index[k] = 0;
    }
    if (k < 0) return;
  }
}

void strided_copy(size_t elem_size, int rank, const int32_t* out_dims, int64_t base,
                  const int64_t* stride, const void* in, void* out) {
  const auto* i = static_cast<const uint8_t*>(in);
  auto* o = static_cast<uint8_t*>(out);
  switch (elem_size) {
    case 1: return strided_copy<1>(rank, out_dims, base, stride, i, o);
    case 2: return strided_copy<2>(rank, out_dims, base, stride, i, o);
    case 4: return strided_copy<4>(rank, out_dims, base, stride, i, o);
    case 8: return strided_copy<8>(rank, out_dims, base, stride, i, o);
    default: return;
  }
}

// Row-major element strides of dims.
void row_major_strides(int rank, const int32_t* dims, int64_t* strides) {
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; --k) {
    strides[k] = s;
    s *= dims[k];
  }
}

// Input index along one axis for output index o, or -1 for the constant.
int64_t pad_source(PadMode mode, int64_t o, int32_t before, int32_t n) {
  int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::constant: return -1;
    case PadMode::reflect: return i < 0 ? -i : 2 * (int64_t{n} - 1) - i;
    case PadMode::edge: return i < 0 ? 0 : n - 1;
  }
  return -1;
}

template <size_t N>
void pad_impl(const PadParams& p, const uint8_t* in, uint8_t* out) {
  int32_t out_dims[kLayoutMaxRank] = {};
  int64_t strides[kLayoutMaxRank] = {};
  int64_t total = 1;
  for (int k = 0; k < p.rank; ++k) {
    out_dims[k] = p.in_dims[k] + p.before[k] + p.after[k];
    total *= out_dims[k];
  }
  row_major_strides(p.rank, p.in_dims, strides);
  int32_t index[kLayoutMaxRank] = {};
  for (int64_t e = 0; e < total; ++e) {
    int64_t src = 0;
    bool inside = true;
    for (int k = 0; k < p.rank && inside; ++k) {
      const int64_t i = pad_source(p.mode, index[k], p.before[k], p.in_dims[k]);
      inside = i >= 0;
      src += i * strides[k];
    }
    copy_elem<N>(inside ? in + src * static_cast<int64_t>(N) : p.value, out + e * N);
    for (int k = p.rank - 1; k >= 0; --k) {
      if (++index[k] < out_dims[k]) break;
      index[k] = 0;
    }
  }
}

// Rounds differently from f32(s * (q - zp)) in the last place for some q.
float dequantize_fma(float s, uint8_t q, float s_times_neg_zp) {
  return std::fma(s, static_cast<float>(q), s_times_neg_zp);
}

}  // namespace

void transpose_ref(const TransposeParams& p, const void* in, void* out) {
  int64_t in_strides[kLayoutMaxRank] = {};
  row_major_strides(p.rank, p.in_dims, in_strides);
  int32_t out_dims[kLayoutMaxRank] = {};
  int64_t stride[kLayoutMaxRank] = {};
  for (int k = 0; k < p.rank; ++k) {
    out_dims[k] = p.in_dims[p.perm[k]];
    stride[k] = in_strides[p.perm[k]];
  }
  strided_copy(p.elem_size, p.rank, out_dims, 0, stride, in, out);
}

TransposeParams simplify_transpose(const TransposeParams& p) {
  // Input axes that are kept, renumbered in input order.
  int new_axis[kLayoutMaxRank] = {};
  int kept = 0;
  for (int a = 0; a < p.rank; ++a) new_axis[a] = p.in_dims[a] > 1 ? kept++ : -1;
  int32_t dims[kLayoutMaxRank] = {};
  int32_t perm[kLayoutMaxRank] = {};
  int rank = 0;
  for (int k = 0; k < p.rank; ++k) {
    const int a = new_axis[p.perm[k]];
    if (a < 0) continue;
    dims[a] = p.in_dims[p.perm[k]];
    perm[rank++] = a;
  }
  // Output runs a, a+1, ... become one axis; group g starts at output
  // position start[g].
  int start[kLayoutMaxRank] = {};
  int groups = 0;
  for (int k = 0; k < rank; ++k) {
    if (k == 0 || perm[k] != perm[k - 1] + 1) start[groups++] = k;
  }
  TransposeParams s;
  s.elem_size = p.elem_size;
  s.rank = groups;
  // Group g covers input axes perm[start[g]] .. perm[start[g]] + len - 1;
  // its new input position is the number of groups whose first axis is
  // smaller.
  for (int g = 0; g < groups; ++g) {
    const int end = g + 1 < groups ? start[g + 1] : rank;
    int position = 0;
    for (int h = 0; h < groups; ++h) position += perm[start[h]] < perm[start[g]];
    int32_t size = 1;
    for (int k = start[g]; k < end; ++k) size *= dims[perm[k]];
    s.perm[g] = position;
    s.in_dims[position] = size;
  }
  return s;
}

void slice_ref(const SliceParams& p, const void* in, void* out) {
  int64_t in_strides[kLayoutMaxRank] = {};
  row_major_strides(p.rank, p.in_dims, in_strides);
  int64_t stride[kLayoutMaxRank] = {};
  int64_t base = 0;
  for (int k = 0; k < p.rank; ++k) {
    base += int64_t{p.begin[k]} * in_strides[k];
    stride[k] = int64_t{p.step[k]} * in_strides[k];
  }
  strided_copy(p.elem_size, p.rank, p.out_dims, base, stride, in, out);
}

void pad_ref(const PadParams& p, const void* in, void* out) {
  const auto* i = static_cast<const uint8_t*>(in);
  auto* o = static_cast<uint8_t*>(out);
  switch (p.elem_size) {
    case 1: return pad_impl<1>(p, i, o);
    case 2: return pad_impl<2>(p, i, o);
    case 4: return pad_impl<4>(p, i, o);
    case 8: return pad_impl<8>(p, i, o);
    default: return;
  }
}

void concat_ref(const ConcatParams& p, void* out) {
  auto* o = static_cast<uint8_t*>(out);
  for (int64_t outer = 0; outer < p.outer; ++outer) {
    for (int t = 0; t < p.num_inputs; ++t) {
      const ConcatPart& in = p.inputs[t];
      const size_t bytes = static_cast<size_t>(in.axis_size * p.inner) * p.elem_size;
      std::memcpy(o, static_cast<const uint8_t*>(in.data) + outer * bytes, bytes);
      o += bytes;
    }
  }
}

namespace {

// One element of concat_u8_ref: x dequantized by the vector form (fma) or
// the scalar one, then quantized with the output's params.
uint8_t cat_requantize(uint8_t q, float s, int32_t zp, bool fma, float inv_scale, int32_t out_zp) {
  const float x = fma ? dequantize_fma(s, q, s * static_cast<float>(-zp))
                      : s * static_cast<float>(q - zp);
  return static_cast<uint8_t>(rne_add_clamp(x * inv_scale, out_zp, 0, 255));
}

// Axis positions below this take the vector dequantize, per outer row of
// an input with `count` elements along [axis, inner].
int64_t cat_fma_end(CatDequant form, int64_t axis_size, int64_t inner) {
  return form == CatDequant::avx2_channels_last ? (axis_size - axis_size % 8) * inner : 0;
}

}  // namespace

void concat_u8_ref(const ConcatParams& p, float out_scale, int32_t out_zp, CatDequant form,
                   uint8_t* out) {
  const float inv_scale = 1.0f / out_scale;
  for (int64_t outer = 0; outer < p.outer; ++outer) {
    for (int t = 0; t < p.num_inputs; ++t) {
      const ConcatPart& in = p.inputs[t];
      const int64_t count = in.axis_size * p.inner;
      const uint8_t* q = static_cast<const uint8_t*>(in.data) + outer * count;
      if (in.scale == out_scale && in.zero_point == out_zp) {
        std::memcpy(out, q, static_cast<size_t>(count));
        out += count;
        continue;
      }
      const int64_t fma_end = cat_fma_end(form, in.axis_size, p.inner);
      for (int64_t e = 0; e < count; ++e) {
        *out++ = cat_requantize(q[e], in.scale, in.zero_point, e < fma_end, inv_scale, out_zp);
      }
    }
  }
}

void make_cat_u8_lut(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                     uint8_t lut[kCatLutBytes]) {
  const float inv_scale = 1.0f / out_scale;
  for (int q = 0; q < 256; ++q) {
    const auto b = static_cast<uint8_t>(q);
    lut[q] = cat_requantize(b, in_scale, in_zp, true, inv_scale, out_zp);
    lut[256 + q] = cat_requantize(b, in_scale, in_zp, false, inv_scale, out_zp);
  }
}

void concat_u8_lut(const ConcatParams& p, CatDequant form,
                   void (*lookup)(const uint8_t* table, size_t n, const uint8_t* in, uint8_t* out),
                   uint8_t* out, int64_t outer_begin, int64_t outer_end) {
  int64_t axis_total = 0;
  for (int t = 0; t < p.num_inputs; ++t) axis_total += p.inputs[t].axis_size;
  out += outer_begin * axis_total * p.inner;
  for (int64_t outer = outer_begin; outer < outer_end; ++outer) {
    for (int t = 0; t < p.num_inputs; ++t) {
      const ConcatPart& in = p.inputs[t];
      const int64_t count = in.axis_size * p.inner;
      const uint8_t* q = static_cast<const uint8_t*>(in.data) + outer * count;
      if (in.lut == nullptr) {
        std::memcpy(out, q, static_cast<size_t>(count));
      } else {
        const int64_t fma_end = cat_fma_end(form, in.axis_size, p.inner);
        lookup(in.lut, static_cast<size_t>(fma_end), q, out);
        lookup(in.lut + 256, static_cast<size_t>(count - fma_end), q + fma_end, out + fma_end);
      }
      out += count;
    }
  }
}

void split_ref(const SplitParams& p, const void* in) {
  const auto* i = static_cast<const uint8_t*>(in);
  for (int64_t outer = 0; outer < p.outer; ++outer) {
    for (int t = 0; t < p.num_outputs; ++t) {
      const SplitPart& o = p.outputs[t];
      const size_t bytes = static_cast<size_t>(o.axis_size * p.inner) * p.elem_size;
      std::memcpy(static_cast<uint8_t*>(o.data) + outer * bytes, i, bytes);
      i += bytes;
    }
  }
}

int64_t find_bad_gather_index(const GatherParams& p, const void* indices) {
  for (int64_t j = 0; j < p.num_indices; ++j) {
    const int64_t k = p.indices_i64 ? static_cast<const int64_t*>(indices)[j]
                                    : static_cast<const int32_t*>(indices)[j];
    if (k < -p.axis_size || k >= p.axis_size) return j;
  }
  return -1;
}

int64_t gather_ref(const GatherParams& p, const void* data, const void* indices, void* out) {
  const int64_t bad = find_bad_gather_index(p, indices);
  if (bad >= 0) return bad;
  const size_t row = static_cast<size_t>(p.inner) * p.elem_size;
  const auto* d = static_cast<const uint8_t*>(data);
  auto* o = static_cast<uint8_t*>(out);
  for (int64_t outer = 0; outer < p.outer; ++outer) {
    for (int64_t j = 0; j < p.num_indices; ++j) {
      int64_t k = p.indices_i64 ? static_cast<const int64_t*>(indices)[j]
                                : static_cast<const int32_t*>(indices)[j];
      if (k < 0) k += p.axis_size;
      std::memcpy(o, d + (outer * p.axis_size + k) * static_cast<int64_t>(row), row);
      o += row;
    }
  }
  return -1;
}

}  // namespace qrt::kernels
