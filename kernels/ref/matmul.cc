#include "kernels/ref/matmul.h"

#include <cstddef>

namespace qrt::kernels {

bool make_matmul_shape(int a_rank, const int32_t* a_dims, int b_rank, const int32_t* b_dims,
                       MatMulShape* shape, int* out_rank, int32_t* out_dims) {
  if (a_rank < 1 || b_rank < 1 || a_rank > kNnMaxRank || b_rank > kNnMaxRank) return false;
  for (int i = 0; i < a_rank; ++i)
    if (a_dims[i] < 1) return false;
  for (int i = 0; i < b_rank; ++i)
    if (b_dims[i] < 1) return false;
  MatMulShape s;
  s.m = a_rank == 1 ? 1 : a_dims[a_rank - 2];
  s.k = a_dims[a_rank - 1];
  const int b_k = b_rank == 1 ? b_dims[0] : b_dims[b_rank - 2];
  s.n = b_rank == 1 ? 1 : b_dims[b_rank - 1];
  if (b_k != s.k) return false;

  const int a_batch = a_rank > 2 ? a_rank - 2 : 0;
  const int b_batch = b_rank > 2 ? b_rank - 2 : 0;
  s.batch_rank = a_batch > b_batch ? a_batch : b_batch;
  // Right-aligned batch dimensions; strides grow from the innermost out.
  int64_t a_stride = int64_t{s.m} * s.k, b_stride = int64_t{s.k} * s.n;
  for (int d = s.batch_rank - 1; d >= 0; --d) {
    const int ad = d - (s.batch_rank - a_batch), bd = d - (s.batch_rank - b_batch);
    const int64_t a_size = ad >= 0 ? a_dims[ad] : 1;
    const int64_t b_size = bd >= 0 ? b_dims[bd] : 1;
    if (a_size != b_size && a_size != 1 && b_size != 1) return false;
    s.batch_dims[d] = a_size > b_size ? a_size : b_size;
    s.a_strides[d] = a_size == 1 ? 0 : a_stride;
    s.b_strides[d] = b_size == 1 ? 0 : b_stride;
    a_stride *= a_size;
    b_stride *= b_size;
  }

  int r = 0;
  for (int d = 0; d < s.batch_rank; ++d) out_dims[r++] = static_cast<int32_t>(s.batch_dims[d]);
  if (a_rank > 1) out_dims[r++] = s.m;
  if (b_rank > 1) out_dims[r++] = s.n;
  *out_rank = r;
  *shape = s;
  return true;
}

void matmul_f32_ref(const MatMulShape& shape, const float* a, const float* b, float* out) {
  const size_t m = static_cast<size_t>(shape.m), k = static_cast<size_t>(shape.k),
               n = static_cast<size_t>(shape.n);
  int64_t index[kNnMaxRank] = {};
  int64_t a_off = 0, b_off = 0;
  for (;;) {
    const float* am = a + a_off;
    const float* bm = b + b_off;
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < n; ++j) {
        double acc = 0.0;
        for (size_t p = 0; p < k; ++p)
          acc += static_cast<double>(am[i * k + p]) * static_cast<double>(bm[p * n + j]);
        out[i * n + j] = static_cast<float>(acc);
      }
    }
    out += m * n;
    // Odometer over the batch dimensions, innermost fastest.
    int d = shape.batch_rank - 1;
    for (; d >= 0; --d) {
      a_off += shape.a_strides[d];
      b_off += shape.b_strides[d];
      if (++index[d] < shape.batch_dims[d]) break;
      a_off -= shape.a_strides[d] * shape.batch_dims[d];
      b_off -= shape.b_strides[d] * shape.batch_dims[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace qrt::kernels
