// Reference float32 reductions over any set of axes (REDUCE_SUM, REDUCE_MEAN,
// REDUCE_MAX). The output holds the kept dimensions in their input order, so
// keep_dims changes only the output's shape, not its bytes.
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// dims: the input's rank (<= kNnMaxRank) dimensions, each >= 1; reduce[i]
// says whether dimension i is reduced. Size-1 dimensions are dropped and
// neighbours of the same kind merged (that changes no offset in C order).
ReduceShape make_reduce_shape(int rank, const int32_t* dims, const bool* reduce);

// out = f32(sum) with the sum in double, in C order of the reduced indices.
void reduce_sum_f32_ref(const ReduceShape& shape, const float* in, float* out);

// out = f32(sum / count), sum as above; count is the number of reduced elements.
void reduce_mean_f32_ref(const ReduceShape& shape, const float* in, float* out);

// The largest element; NaN if any element is NaN (torch.amax).
void reduce_max_f32_ref(const ReduceShape& shape, const float* in, float* out);

}  // namespace qrt::kernels
