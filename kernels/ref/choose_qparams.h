// PyTorch 1.13's ChooseQuantizationParams (ATen quantized/cpu/QuantUtils.h,
// the same as fbgemm's): the affine uint8 parameters dynamic quantization
// picks for a tensor from its min and max at every call.
#pragma once

#include <cstdint>

namespace qrt::kernels {

struct ChosenQParams {
  double scale;  // consumers round it to float32
  int32_t zero_point;
};

// Follows PyTorch step by step, in its mix of float and double
// (pytorch-semantics-notes §2.5):
//  1. reduce_range halves qmin and qmax (integer division).
//  2. preserve_sparsity with min < 0 < max makes the range symmetric.
//  3. [min, max] is widened to contain 0.
//  4. scale = f64((f64(max) - min) / (qmax - qmin)); 0.1 if f32(scale) is 0
//     or has an infinite reciprocal.
//  5. scale below 6.1e-5f (smallest normal fp16) becomes 6.1e-5f and min/max
//     follow it.
//  6. zero point from whichever of (qmin, min) and (qmax, max) has the
//     smaller error term; (qmin + qmax) / 2 with preserve_sparsity.
//  7. clamped to [qmin, qmax], else rounded half to even.
// Requires min <= max, both finite, and qmin < qmax (PyTorch checks and
// throws). PyTorch's force_scale_power_of_two is left out: no qrt path uses it.
ChosenQParams choose_quantization_params(float min, float max, int32_t qmin, int32_t qmax,
                                         bool preserve_sparsity, bool reduce_range);

}  // namespace qrt::kernels
