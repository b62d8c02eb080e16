// Reference elementwise binary ops with numpy/ONNX broadcasting: float32
// ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, POW and quantized MUL. Quantized
// ADD lives in add.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/params.h"
#include "kernels/ref/quant_math.h"

namespace qrt::kernels {

// Broadcasts shape a against shape b (numpy rules: right-aligned, each pair
// of dimensions equal or one of them 1; rank 0 is a scalar). On success
// writes the result shape to out_dims/out_rank (out_dims needs room for
// max(a_rank, b_rank) entries) and the loop description to s. Returns false
// if the shapes do not broadcast, a dimension is below 1, or the merged loop
// needs more than kMaxBroadcastRank dimensions.
bool make_broadcast(const int32_t* a_dims, int a_rank, const int32_t* b_dims, int b_rank,
                    int32_t* out_dims, int* out_rank, BroadcastShape* s);

// True when s is one flat loop over equally long operands.
inline bool broadcast_is_flat(const BroadcastShape& s) {
  return s.rank == 1 && s.a_strides[0] == 1 && s.b_strides[0] == 1;
}

// Calls run(a_offset, b_offset, out_offset, count, a_step, b_step) for every
// innermost row of the output in order; the row's elements are
// out[out_offset + i], a[a_offset + i * a_step], b[b_offset + i * b_step].
template <class Run>
void for_each_broadcast_row(const BroadcastShape& s, Run&& run) {
  const int inner = s.rank - 1;
  const int64_t count = s.dims[inner];
  int64_t index[kMaxBroadcastRank] = {};
  int64_t a_off = 0, b_off = 0, out_off = 0;
  for (;;) {
    run(a_off, b_off, out_off, count, s.a_strides[inner], s.b_strides[inner]);
    out_off += count;
    // Odometer over the outer dimensions, outermost last to change.
    int d = inner - 1;
    for (; d >= 0; --d) {
      a_off += s.a_strides[d];
      b_off += s.b_strides[d];
      if (++index[d] < s.dims[d]) break;
      a_off -= s.a_strides[d] * s.dims[d];
      b_off -= s.b_strides[d] * s.dims[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

// out = clamp(op(a, b), act_min, act_max) with PyTorch's float semantics:
// DIV is a true division, MAXIMUM/MINIMUM propagate NaN (torch.maximum),
// POW is std::pow. NaN results pass through the clamp.
void binary_f32_ref(BinaryOp op, const BroadcastShape& s, const float* a, const float* b,
                    float act_min, float act_max, float* out);

// Quantized multiply (quantized::mul / mul_relu, FloatFunctional.mul), the
// same in both profiles since PyTorch 1.13 runs its generic kernel for
// either engine:
//   multiplier = f32(f32(s_a * s_b) * f32(1 / s_out))
//   y = clamp(out_zp + rne(f32(float((a - a_zp) * (b - b_zp)) * multiplier)), out_min, out_max)
// The product is at most 255 * 255 = 65025 in magnitude: exact in int32 and
// in float. out_min/out_max = quantize(act_min/act_max) clamped to 0..255;
// a fused ReLU (act_min 0) gives out_min = out_zp, PyTorch's max(y, out_zp).
MulParams make_mul_params(float a_scale, int32_t a_zp, float b_scale, int32_t b_zp,
                          float out_scale, int32_t out_zp, float act_min, float act_max);
// False when a scale is not positive and normal or the multiplier comes out
// zero, subnormal or infinite.
bool mul_scales_supported(float a_scale, float b_scale, float out_scale);

void mul_u8_ref(const MulParams& p, const BroadcastShape& s, const uint8_t* a, const uint8_t* b,
                uint8_t* out);

// One element of mul_u8_ref; the fast kernels' scalar fallback.
inline uint8_t mul_u8_one(const MulParams& p, uint8_t a, uint8_t b) {
  const int32_t prod = (a - p.a_zp) * (b - p.b_zp);
  const float v = static_cast<float>(prod) * p.multiplier;
  return static_cast<uint8_t>(rne_add_clamp(v, p.out_zp, p.out_min, p.out_max));
}

}  // namespace qrt::kernels
