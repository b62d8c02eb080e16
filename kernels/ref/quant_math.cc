#include "kernels/ref/quant_math.h"

#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace qrt::kernels {
namespace {

bool positive_finite(float x) { return std::isfinite(x) && x > 0.f; }

// PyTorch's QNNPACK refuses requantization scales that are not positive
// normal numbers; fbgemm would produce garbage with them.
bool usable_multiplier(float m) { return std::isnormal(m) && m > 0.f; }

bool valid_zero_point(int32_t zp) { return zp >= 0 && zp <= 255; }

}  // namespace

bool make_conv_requant(const ConvRequantSpec& spec, float* multiplier, int32_t* bias_q,
                       float* bias_f, Requant* rq) {
  if (!positive_finite(spec.in_scale) || !positive_finite(spec.out_scale) ||
      !valid_zero_point(spec.out_zp) || spec.channels <= 0 || spec.w_scales == nullptr ||
      multiplier == nullptr || rq == nullptr) {
    return false;
  }
  const bool fbgemm = spec.profile == Profile::fbgemm;
  if (spec.bias != nullptr && (fbgemm ? bias_f == nullptr : bias_q == nullptr)) return false;

  const int num_scales = spec.per_channel ? spec.channels : 1;
  const float inv_out_scale = 1.0f / spec.out_scale;
  for (int i = 0; i < num_scales; ++i) {
    const float w_scale = spec.w_scales[i];
    if (!positive_finite(w_scale)) return false;
    // fbgemm divides by the output scale; qnnpack multiplies by its
    // reciprocal. The two differ in the last bit for some scales.
    const float m = fbgemm ? (spec.in_scale * w_scale) / spec.out_scale
                           : (w_scale * spec.in_scale) * inv_out_scale;
    if (!usable_multiplier(m)) return false;
    multiplier[i] = m;
  }

  rq->profile = spec.profile;
  rq->per_channel = spec.per_channel;
  rq->multiplier = multiplier;
  rq->bias_q = nullptr;
  rq->bias_f = nullptr;
  if (spec.bias != nullptr) {
    for (int c = 0; c < spec.channels; ++c) {
      const float w_scale = spec.w_scales[spec.per_channel ? c : 0];
      const float act_times_w = spec.in_scale * w_scale;
      if (fbgemm) {
        if (spec.per_channel) {
          bias_f[c] = spec.bias[c] / act_times_w;
        } else {
          // FBGEMM computes 1.0 / act_times_w in double and broadcasts it as
          // float; the product below is not always the quotient above.
          const float reciprocal = static_cast<float>(1.0 / static_cast<double>(act_times_w));
          bias_f[c] = spec.bias[c] * reciprocal;
        }
      } else {
        // PyTorch quantizes the bias as a qint32 tensor with scale s_w * s_in
        // and zero point 0 before handing it to QNNPACK.
        bias_q[c] = quantize_value(spec.bias[c], act_times_w, 0, INT32_MIN, INT32_MAX);
      }
    }
    if (fbgemm) {
      rq->bias_f = bias_f;
    } else {
      rq->bias_q = bias_q;
    }
  }

  rq->out_zp = spec.out_zp;
  rq->out_min = quantize_value(spec.act_min, spec.out_scale, spec.out_zp, 0, 255);
  rq->out_max = quantize_value(spec.act_max, spec.out_scale, spec.out_zp, 0, 255);
  return rq->out_min <= rq->out_max;
}

bool add_scales_supported(Profile profile, float a_scale, float b_scale, float out_scale) {
  for (const float s : {a_scale, b_scale, out_scale}) {
    if (!std::isnormal(s) || s <= 0.f) return false;
  }
  if (profile == Profile::fbgemm) return true;
  // pytorch_qnnp_create_add_nc_q8 accepts input/output ratios in [2^-14, 2^8),
  // but its parameter setup asserts shift <= 31, i.e. the larger ratio at
  // least 2^-10; below that a release build shifts by 32 or more (undefined).
  const float a_ratio = a_scale / out_scale;
  const float b_ratio = b_scale / out_scale;
  for (const float ratio : {a_ratio, b_ratio}) {
    if (!(ratio >= 0x1.0p-14f && ratio < 0x1.0p+8f)) return false;
  }
  return (a_ratio > b_ratio ? a_ratio : b_ratio) >= 0x1.0p-10f;
}

AddParams make_add_params(Profile profile, float a_scale, int32_t a_zp, float b_scale,
                          int32_t b_zp, float out_scale, int32_t out_zp, float act_min,
                          float act_max) {
  AddParams p;
  p.profile = profile;
  p.a_zp = a_zp;
  p.b_zp = b_zp;
  p.out_zp = out_zp;
  p.out_min = quantize_value(act_min, out_scale, out_zp, 0, 255);
  p.out_max = quantize_value(act_max, out_scale, out_zp, 0, 255);
  p.a_scale = a_scale;
  p.b_scale = b_scale;
  p.out_inv_scale = 1.0f / out_scale;
  if (profile == Profile::qnnpack && add_scales_supported(profile, a_scale, b_scale, out_scale)) {
    const float a_ratio = a_scale / out_scale;
    const float b_ratio = b_scale / out_scale;
    const float max_ratio = a_ratio > b_ratio ? a_ratio : b_ratio;
    // max_ratio in [2^e, 2^(e+1)) puts the larger multiplier in
    // [2^21, 2^22]; shift is in [14, 31] and scaling by 2^shift is exact.
    p.shift = 21 - std::ilogb(max_ratio);
    p.a_mult = static_cast<int32_t>(std::nearbyint(std::ldexp(a_ratio, p.shift)));
    p.b_mult = static_cast<int32_t>(std::nearbyint(std::ldexp(b_ratio, p.shift)));
  }
  return p;
}

GlobalAvgPoolParams make_global_avg_pool_params(Profile profile, float in_scale, int32_t in_zp,
                                                float out_scale, int32_t out_zp, int hw) {
  GlobalAvgPoolParams p;
  p.profile = profile;
  p.in_zp = in_zp;
  p.out_zp = out_zp;
  p.out_min = 0;
  p.out_max = 255;
  p.bias = static_cast<int32_t>(-static_cast<int64_t>(in_zp) * hw);
  if (profile == Profile::qnnpack && hw > 1) {
    p.multiplier = in_scale / (out_scale * static_cast<float>(hw));
  } else {
    const float m = in_scale / out_scale / static_cast<float>(hw);
    const float quantize_scale = 1.0f / m;
    p.multiplier = 1.0f / quantize_scale;
  }
  return p;
}

}  // namespace qrt::kernels
