// The float epilogue of the NEON dynamic linear kernels
// (dynamic_linear_neon.cc, dynamic_linear_neondot.cc). Internal linkage
// only (see kernels/x86/layout.h).
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/dynamic_linear.h"

namespace qrt::kernels::dynlin {

struct NeonEpilogue {
  const int32_t* rowsum;
  const float* scale;
  const float* bias;  // null when nothing is added
  int32x4_t init_mult;  // a_offset - zp
  float32x4_t a_scale, lo, hi;
  int n;
};

static inline NeonEpilogue neon_epilogue(const Packed* p, const Quant& q, int32_t a_offset) {
  NeonEpilogue e;
  e.rowsum = rowsum(p);
  e.scale = col_scale(p);
  e.bias = p->add_bias ? col_bias(p) : nullptr;
  e.init_mult = vdupq_n_s32(a_offset - q.zp);
  e.a_scale = vdupq_n_f32(q.scale);
  e.lo = vdupq_n_f32(p->src.act_min);
  e.hi = vdupq_n_f32(p->src.act_max);
  e.n = p->n;
  return e;
}

// Columns col..col+3 of one output row (those below n); the column arrays
// are padded to whole blocks. The clamp is the reference's compare and
// select: vmaxq/vminq would turn -0 into +0 against a zero bound.
static inline void neon_store4(const NeonEpilogue& e, int32x4_t acc, int col, float* out) {
  acc = vmlaq_s32(acc, vld1q_s32(e.rowsum + col), e.init_mult);
  const float32x4_t dq = vmulq_f32(vld1q_f32(e.scale + col), e.a_scale);
  float32x4_t v = vmulq_f32(vcvtq_f32_s32(acc), dq);
  if (e.bias) v = vaddq_f32(v, vld1q_f32(e.bias + col));
  v = vbslq_f32(vcltq_f32(v, e.lo), e.lo, v);
  v = vbslq_f32(vcltq_f32(e.hi, v), e.hi, v);
  if (col + 4 <= e.n) {
    vst1q_f32(out + col, v);
  } else {
    float tmp[4];
    vst1q_f32(tmp, v);
    std::memcpy(out + col, tmp, (e.n - col) * sizeof(float));
  }
}

}  // namespace qrt::kernels::dynlin
