// Reference float32 matrix product with ONNX MatMul (numpy.matmul) semantics:
// batched, batch dimensions broadcast, both operands may be activations.
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// numpy.matmul shapes. A 1-D a is [k] -> [1, k] and a 1-D b is [k] -> [k, 1],
// the added dimension removed from the result again; the batch dimensions
// (all but the last two) broadcast numpy-style. Writes the result's shape to
// out_dims/out_rank (room for kNnMaxRank entries) and the loop description
// to *shape. Returns false for a rank-0 operand, a rank above kNnMaxRank,
// mismatched inner dimensions, batch dimensions that do not broadcast, or a
// dimension below 1.
bool make_matmul_shape(int a_rank, const int32_t* a_dims, int b_rank, const int32_t* b_dims,
                       MatMulShape* shape, int* out_rank, int32_t* out_dims);

// out[batch][i][j] = f32(sum_k a[..][i][k] * b[..][k][j]), products and sum in
// double (float products are exact there), k in order. out must not alias
// a or b.
void matmul_f32_ref(const MatMulShape& shape, const float* a, const float* b, float* out);

}  // namespace qrt::kernels
