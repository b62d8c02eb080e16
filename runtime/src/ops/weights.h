// Checks and requantization setup shared by CONV_2D and FULLY_CONNECTED.
#pragma once

#include "kernels/params.h"
#include "op.h"

namespace qrt {

// f32, rank 1, `channels` long, constant.
qrt_status check_bias(OpContext& ctx, const Tensor& bias, int32_t channels);
// int8 symmetric: zero points 0, one scale or one per output channel (axis 0).
qrt_status check_weight_quant(OpContext& ctx, const Tensor& w, int32_t channels);

struct RequantArrays {
  float* multiplier = nullptr;
  int32_t* bias_q = nullptr;
  float* bias_f = nullptr;
  int32_t channels = 0;
};

// Carves the requantization arrays from persistent memory (nothing for f32).
RequantArrays take_requant_arrays(OpContext& ctx, bool quant, int32_t channels,
                                  bool per_channel);

// Fills `arrays` and `rq` per the model's profile (kernels::make_conv_requant).
qrt_status make_requant(OpContext& ctx, const Tensor& in, const Tensor& w, const Tensor* bias,
                        const Tensor& out, float act_min, float act_max,
                        const RequantArrays& arrays, kernels::Requant* rq);

}  // namespace qrt
