#include "kernels/ref/add.h"

#include <algorithm>
#include <cmath>

#include "kernels/ref/binary.h"
#include "kernels/ref/quant_math.h"

namespace qrt::kernels {
namespace {

// Divides by 2^shift rounding half away from zero, as QNNPACK's
// "remainder > threshold" correction on an arithmetic shift does.
int64_t shift_round_half_away(int64_t acc, int32_t shift) {
  if (shift <= 0) return acc;
  const int64_t half = int64_t{1} << (shift - 1);
  return acc >= 0 ? (acc + half) >> shift : -((-acc + half) >> shift);
}

}  // namespace

void add_u8_ref(const AddParams& p, size_t n, const uint8_t* a, const uint8_t* b, uint8_t* out) {
  if (p.profile == Profile::qnnpack) {
    for (size_t i = 0; i < n; ++i) {
      const int64_t acc = int64_t{p.a_mult} * (a[i] - p.a_zp) + int64_t{p.b_mult} * (b[i] - p.b_zp);
      const int64_t y = shift_round_half_away(acc, p.shift) + p.out_zp;
      out[i] = static_cast<uint8_t>(std::min<int64_t>(std::max<int64_t>(y, p.out_min), p.out_max));
    }
    return;
  }
  // PyTorch premultiplies the zero point by the scale in float and then
  // dequantizes with one fused multiply-add per element.
  const float a_zp_term = p.a_scale * static_cast<float>(-p.a_zp);
  const float b_zp_term = p.b_scale * static_cast<float>(-p.b_zp);
  for (size_t i = 0; i < n; ++i) {
    const float x = std::fma(p.a_scale, static_cast<float>(a[i]), a_zp_term) +
                    std::fma(p.b_scale, static_cast<float>(b[i]), b_zp_term);
    out[i] = static_cast<uint8_t>(rne_add_clamp(x * p.out_inv_scale, p.out_zp, p.out_min, p.out_max));
  }
}

void add_u8_broadcast_ref(const AddParams& p, const BroadcastShape& s, const uint8_t* a,
                          const uint8_t* b, uint8_t* out) {
  const bool fused = p.profile == Profile::fbgemm;
  const float a_zp_term = p.a_scale * static_cast<float>(-p.a_zp);
  const float b_zp_term = p.b_scale * static_cast<float>(-p.b_zp);
  auto add = [&](uint8_t qa, uint8_t qb) {
    float x;
    if (fused) {
      x = std::fma(p.a_scale, static_cast<float>(qa), a_zp_term) +
          std::fma(p.b_scale, static_cast<float>(qb), b_zp_term);
    } else {
      const float da = p.a_scale * static_cast<float>(qa - p.a_zp);
      const float db = p.b_scale * static_cast<float>(qb - p.b_zp);
      x = da + db;
    }
    return static_cast<uint8_t>(
        rne_add_clamp(x * p.out_inv_scale, p.out_zp, p.out_min, p.out_max));
  };
  for_each_broadcast_row(s, [&](int64_t ai, int64_t bi, int64_t oi, int64_t n, int64_t as,
                                int64_t bs) {
    for (int64_t i = 0; i < n; ++i, ai += as, bi += bs) out[oi + i] = add(a[ai], b[bi]);
  });
}

void add_f32_ref(size_t n, const float* a, const float* b, float act_min, float act_max,
                 float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = std::min(std::max(a[i] + b[i], act_min), act_max);
}

}  // namespace qrt::kernels
