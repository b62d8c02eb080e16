#include "kernels/ref/binary.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {
namespace {

float clamp_f32(float v, float lo, float hi) { return std::min(std::max(v, lo), hi); }

// torch.maximum / torch.minimum: NaN in either operand gives NaN.
float max_nan(float a, float b) { return (std::isnan(a) || std::isnan(b)) ? NAN : std::max(a, b); }
float min_nan(float a, float b) { return (std::isnan(a) || std::isnan(b)) ? NAN : std::min(a, b); }

template <class F>
void binary_rows(const BroadcastShape& s, const float* a, const float* b, float lo, float hi,
                 float* out, F f) {
  if (broadcast_is_flat(s)) {
    const int64_t n = s.dims[0];
    for (int64_t i = 0; i < n; ++i) out[i] = clamp_f32(f(a[i], b[i]), lo, hi);
    return;
  }
  for_each_broadcast_row(s, [&](int64_t ai, int64_t bi, int64_t oi, int64_t n, int64_t as,
                                int64_t bs) {
    for (int64_t i = 0; i < n; ++i, ai += as, bi += bs)
      out[oi + i] = clamp_f32(f(a[ai], b[bi]), lo, hi);
  });
}

}  // namespace

bool make_broadcast(const int32_t* a_dims, int a_rank, const int32_t* b_dims, int b_rank,
                    int32_t* out_dims, int* out_rank, BroadcastShape* s) {
  if (a_rank < 0 || b_rank < 0) return false;
  const int rank = std::max(a_rank, b_rank);
  // Merged loop dimensions, outermost first, and whether a/b broadcast there.
  int64_t dims[kMaxBroadcastRank];
  bool a_bcast[kMaxBroadcastRank], b_bcast[kMaxBroadcastRank];
  int kept = 0;
  for (int i = 0; i < rank; ++i) {
    const int ai = i - (rank - a_rank), bi = i - (rank - b_rank);
    const int32_t ad = ai >= 0 ? a_dims[ai] : 1;
    const int32_t bd = bi >= 0 ? b_dims[bi] : 1;
    if (ad < 1 || bd < 1 || (ad != bd && ad != 1 && bd != 1)) return false;
    const int32_t od = std::max(ad, bd);
    out_dims[i] = od;
    // Size-1 output dimensions take no loop; an operand is contiguous over
    // the rest, so neighbours that broadcast alike merge into one.
    if (od == 1) continue;
    const bool ab = ad == 1, bb = bd == 1;
    if (kept > 0 && a_bcast[kept - 1] == ab && b_bcast[kept - 1] == bb) {
      dims[kept - 1] *= od;
      continue;
    }
    if (kept == kMaxBroadcastRank) return false;
    dims[kept] = od;
    a_bcast[kept] = ab;
    b_bcast[kept] = bb;
    ++kept;
  }
  *out_rank = rank;
  *s = BroadcastShape{};
  if (kept == 0) return true;  // one element: the default flat loop of 1
  s->rank = kept;
  int64_t a_size = 1, b_size = 1;
  for (int d = kept - 1; d >= 0; --d) {
    s->dims[d] = dims[d];
    s->a_strides[d] = a_bcast[d] ? 0 : a_size;
    s->b_strides[d] = b_bcast[d] ? 0 : b_size;
    if (!a_bcast[d]) a_size *= dims[d];
    if (!b_bcast[d]) b_size *= dims[d];
  }
  return true;
}

void binary_f32_ref(BinaryOp op, const BroadcastShape& s, const float* a, const float* b,
                    float act_min, float act_max, float* out) {
  const float lo = act_min, hi = act_max;
  switch (op) {
    case BinaryOp::add:
      return binary_rows(s, a, b, lo, hi, out, [](float x, float y) { return x + y; });
    case BinaryOp::sub:
      return binary_rows(s, a, b, lo, hi, out, [](float x, float y) { return x - y; });
    case BinaryOp::mul:
      return binary_rows(s, a, b, lo, hi, out, [](float x, float y) { return x * y; });
    case BinaryOp::div:
      return binary_rows(s, a, b, lo, hi, out, [](float x, float y) { return x / y; });
    case BinaryOp::maximum:
      return binary_rows(s, a, b, lo, hi, out, max_nan);
    case BinaryOp::minimum:
      return binary_rows(s, a, b, lo, hi, out, min_nan);
    case BinaryOp::pow:
      return binary_rows(s, a, b, lo, hi, out, [](float x, float y) { return std::pow(x, y); });
  }
}

bool mul_scales_supported(float a_scale, float b_scale, float out_scale) {
  for (const float v : {a_scale, b_scale, out_scale})
    if (!std::isnormal(v) || v <= 0.f) return false;
  const float m = a_scale * b_scale * (1.0f / out_scale);
  return std::isnormal(m);
}

MulParams make_mul_params(float a_scale, int32_t a_zp, float b_scale, int32_t b_zp,
                          float out_scale, int32_t out_zp, float act_min, float act_max) {
  MulParams p;
  p.a_zp = a_zp;
  p.b_zp = b_zp;
  p.out_zp = out_zp;
  p.out_min = quantize_value(act_min, out_scale, out_zp, 0, 255);
  p.out_max = quantize_value(act_max, out_scale, out_zp, 0, 255);
  // PyTorch: self_scale * other_scale * inv_scale, left to right in float.
  const float inv_out_scale = 1.0f / out_scale;
  const float ab = a_scale * b_scale;
  p.multiplier = ab * inv_out_scale;
  return p;
}

void mul_u8_ref(const MulParams& p, const BroadcastShape& s, const uint8_t* a, const uint8_t* b,
                uint8_t* out) {
  auto mul = [&p](uint8_t x, uint8_t y) { return mul_u8_one(p, x, y); };
  if (broadcast_is_flat(s)) {
    const int64_t n = s.dims[0];
    for (int64_t i = 0; i < n; ++i) out[i] = mul(a[i], b[i]);
    return;
  }
  for_each_broadcast_row(s, [&](int64_t ai, int64_t bi, int64_t oi, int64_t n, int64_t as,
                                int64_t bs) {
    for (int64_t i = 0; i < n; ++i, ai += as, bi += bs) out[oi + i] = mul(a[ai], b[bi]);
  });
}

}  // namespace qrt::kernels
