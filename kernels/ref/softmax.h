// Reference softmax and log-softmax along one axis: float32, and uint8 the
// way PyTorch 1.13's quantized::softmax computes it.
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// y_j = exp(x_j - m) / sum_i exp(x_i - m) with m = max_i x_i (so the largest
// term is exp(0) and nothing overflows), evaluated in double and rounded to
// float once. Logits 160 apart underflow to 0. A NaN in the slice, an
// all -inf slice or a +inf logit makes the whole slice NaN, as in PyTorch.
// in == out is allowed.
void softmax_f32_ref(const SoftmaxShape& shape, const float* in, float* out);

// y_j = (x_j - m) - log(sum_i exp(x_i - m)) in double, rounded once; -inf
// logits give -inf. NaN as for softmax. in == out is allowed.
void log_softmax_f32_ref(const SoftmaxShape& shape, const float* in, float* out);

// PyTorch runs QNNPACK's fixed-point softargmax only on the qnnpack engine
// and only for output scale 1/256 with zero point 0 (qsoftmax.cpp,
// is_qnnpack_compatible); everything else dequantizes, runs the float
// softmax and quantizes.
bool softmax_u8_uses_table(Profile profile, float out_scale, int32_t out_zp);

// Params for softmax_u8_ref. When softmax_u8_uses_table, fills `table` (256
// entries, must be non-null), QNNPACK's (pytorch_qnnp_create_softargmax_nc_q8):
//   qscale = min(double(UINT32_MAX) / axis_size, 2^23 - 1)
//   table[i] = lrint(qscale * exp(double(i - 255) * double(in_scale)))
// qscale keeps sum_j table[.] <= UINT32_MAX for any row. The scales must be
// finite, positive and normal; axis_size >= 1.
SoftmaxU8Params make_softmax_u8_params(Profile profile, float in_scale, int32_t in_zp,
                                       float out_scale, int32_t out_zp, int axis_size,
                                       uint32_t* table);

// With a table (QNNPACK, exact integer arithmetic), per slice with largest
// byte x_max:
//   t_j = table[x_j + 255 - x_max]        (= qscale * exp(s_in (x_j - x_max)))
//   sum = sum_j t_j                       (uint32, cannot overflow)
//   y_j = min(255, floor((t_j * 256 + floor(sum / 2)) / sum))
// Without: x = f32(s_in (q - zp_in)), the float softmax above, then
// q = clamp(zp_out + rne(f32(y * f32(1 / s_out))), 0, 255). PyTorch's float
// softmax uses a vectorised float exp (Sleef); this kernel's result is the
// correctly rounded one, so a byte can differ by one where PyTorch's float
// lands within its last bit of a rounding boundary.
void softmax_u8_ref(const SoftmaxShape& shape, const SoftmaxU8Params& p, const uint8_t* in,
                    uint8_t* out);

}  // namespace qrt::kernels
