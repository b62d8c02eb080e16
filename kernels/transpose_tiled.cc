#include "kernels/transpose_tiled.h"

#include <algorithm>
#include <cstring>

namespace qrt::kernels {
namespace {

template <size_t N>
void copy_elem(const uint8_t* src, uint8_t* dst) {
  std::memcpy(dst, src, N);
}

// transpose_2d with a few rows known at compile time: each destination row
// is R elements gathered from the R source rows, with no inner loop left.
template <size_t N, int R>
void transpose_few_rows(int64_t cols, const uint8_t* src, int64_t ss, uint8_t* dst, int64_t ds) {
  constexpr int64_t n = static_cast<int64_t>(N);
  for (int64_t j = 0; j < cols; ++j) {
    for (int i = 0; i < R; ++i) copy_elem<N>(src + (i * ss + j) * n, dst + (j * ds + i) * n);
  }
}

// dst[j * ds + i] = src[i * ss + j] for i < rows, j < cols (strides in
// elements). A tile spans one cache line of each source row and of each
// destination row, so every line fetched is used whole before it leaves L1.
template <size_t N>
void transpose_2d(int64_t rows, int64_t cols, const uint8_t* src, int64_t ss, uint8_t* dst,
                  int64_t ds) {
  switch (rows) {
    case 2: return transpose_few_rows<N, 2>(cols, src, ss, dst, ds);
    case 3: return transpose_few_rows<N, 3>(cols, src, ss, dst, ds);
    case 4: return transpose_few_rows<N, 4>(cols, src, ss, dst, ds);
    default: break;
  }
  constexpr int64_t kTile = N >= 8 ? 8 : 64 / static_cast<int64_t>(N);
  for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
    const int64_t j1 = std::min(cols, j0 + kTile);
    for (int64_t i0 = 0; i0 < rows; i0 += kTile) {
      const int64_t i1 = std::min(rows, i0 + kTile);
      for (int64_t j = j0; j < j1; ++j) {
        for (int64_t i = i0; i < i1; ++i) {
          copy_elem<N>(src + (i * ss + j) * static_cast<int64_t>(N),
                       dst + (j * ds + i) * static_cast<int64_t>(N));
        }
      }
    }
  }
}

template <size_t N>
void run(const TransposeParams& p, const uint8_t* in, uint8_t* out, int64_t begin, int64_t end,
         const TransposeKernel* kernel) {
  constexpr int64_t n = static_cast<int64_t>(N);
  const int rank = p.rank;
  if (end <= begin) return;
  if (rank == 0) {
    copy_elem<N>(in, out);
    return;
  }
  int64_t in_axis_stride[kLayoutMaxRank] = {};
  for (int64_t a = rank - 1, s = 1; a >= 0; --a) {
    in_axis_stride[a] = s;
    s *= p.in_dims[a];
  }
  // Per output axis: size, input stride, output stride (elements).
  int64_t dims[kLayoutMaxRank] = {}, is[kLayoutMaxRank] = {}, os[kLayoutMaxRank] = {};
  int inner = 0;  // the output axis that is the input's innermost
  for (int k = 0; k < rank; ++k) {
    dims[k] = p.in_dims[p.perm[k]];
    is[k] = in_axis_stride[p.perm[k]];
    if (p.perm[k] == rank - 1) inner = k;
  }
  for (int64_t k = rank - 1, s = 1; k >= 0; --k) {
    os[k] = s;
    s *= dims[k];
  }
  in += begin * is[0] * n;
  out += begin * os[0] * n;
  dims[0] = end - begin;

  const int last = rank - 1;
  // The axes walked around the inner copy: all but `last` and `inner`.
  int64_t od[kLayoutMaxRank] = {}, ois[kLayoutMaxRank] = {}, oos[kLayoutMaxRank] = {};
  int outer = 0;
  for (int k = 0; k < rank; ++k) {
    if (k == last || k == inner) continue;
    od[outer] = dims[k];
    ois[outer] = is[k];
    oos[outer] = os[k];
    ++outer;
  }
  const int64_t rows = dims[last], cols = dims[inner];
  const bool interleave =
      N == 1 && kernel && inner != last && os[inner] == rows && rows >= 2 && rows <= 4;
  int64_t index[kLayoutMaxRank] = {};
  int64_t src = 0, dst = 0;
  for (;;) {
    const uint8_t* s = in + src * n;
    uint8_t* d = out + dst * n;
    if (inner == last) {
      std::memcpy(d, s, static_cast<size_t>(rows * n));
    } else if (interleave) {
      kernel->interleave_u8(static_cast<int>(rows), static_cast<size_t>(cols), s,
                            static_cast<size_t>(is[last]), d);
    } else {
      transpose_2d<N>(rows, cols, s, is[last], d, os[inner]);
    }
    int k = outer - 1;
    for (; k >= 0; --k) {
      src += ois[k];
      dst += oos[k];
      if (++index[k] < od[k]) break;
      src -= ois[k] * od[k];
      dst -= oos[k] * od[k];
      index[k] = 0;
    }
    if (k < 0) return;
  }
}

}  // namespace

void transpose_tiled(const TransposeParams& p, const void* in, void* out, int64_t begin,
                     int64_t end, const TransposeKernel* kernel) {
  const auto* i = static_cast<const uint8_t*>(in);
  auto* o = static_cast<uint8_t*>(out);
  switch (p.elem_size) {
    case 1: return run<1>(p, i, o, begin, end, kernel);
    case 2: return run<2>(p, i, o, begin, end, kernel);
    case 4: return run<4>(p, i, o, begin, end, kernel);
    case 8: return run<8>(p, i, o, begin, end, kernel);
    default: return;
  }
}

}  // namespace qrt::kernels
