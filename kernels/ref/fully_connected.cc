#include "kernels/ref/fully_connected.h"

#include <algorithm>
#include <cstddef>

#include "kernels/ref/choose_qparams.h"
#include "kernels/ref/quant_math.h"

namespace qrt::kernels {

void fully_connected_u8s8_ref(const FullyConnectedShape& shape, const uint8_t* in, int32_t in_zp,
                              const int8_t* w, const Requant& rq, uint8_t* out) {
  const size_t k_size = static_cast<size_t>(shape.in_features);
  for (int b = 0; b < shape.batch; ++b) {
    const uint8_t* row = in + b * k_size;
    for (int o = 0; o < shape.out_features; ++o) {
      const int8_t* w_row = w + o * k_size;
      // int64 then truncate: the same bits as a wrapping int32 sum.
      int64_t acc = 0;
      for (size_t k = 0; k < k_size; ++k) {
        acc += (static_cast<int32_t>(row[k]) - in_zp) * static_cast<int32_t>(w_row[k]);
      }
      const int32_t acc32 = static_cast<int32_t>(static_cast<uint32_t>(acc));
      out[static_cast<size_t>(b) * shape.out_features + o] = requantize(acc32, rq, o);
    }
  }
}

void fully_connected_f32_ref(const FullyConnectedShape& shape, const float* in, const float* w,
                             const float* bias, float act_min, float act_max, float* out) {
  const size_t k_size = static_cast<size_t>(shape.in_features);
  for (int b = 0; b < shape.batch; ++b) {
    const float* row = in + b * k_size;
    for (int o = 0; o < shape.out_features; ++o) {
      const float* w_row = w + o * k_size;
      float acc = bias ? bias[o] : 0.f;
      for (size_t k = 0; k < k_size; ++k) acc += row[k] * w_row[k];
      out[static_cast<size_t>(b) * shape.out_features + o] =
          std::min(std::max(acc, act_min), act_max);
    }
  }
}

void fully_connected_dynamic_ref(const DynamicLinearParams& p, const float* in, uint8_t* scratch,
                                 float* out) {
  const size_t k_size = static_cast<size_t>(p.shape.in_features);
  const size_t n_out = static_cast<size_t>(p.shape.out_features);
  const size_t n_in = static_cast<size_t>(p.shape.batch) * k_size;
  const size_t n_total = static_cast<size_t>(p.shape.batch) * n_out;
  // PyTorch takes 0, 0 for an empty input.
  float lo = n_in ? in[0] : 0.f, hi = lo;
  bool finite = true;
  for (size_t i = 0; i < n_in; ++i) {
    lo = std::min(lo, in[i]);
    hi = std::max(hi, in[i]);
    finite &= std::isfinite(in[i]);
  }
  if (!finite) {
    std::fill(out, out + n_total, NAN);
    return;
  }
  const bool qnnpack = p.profile == Profile::qnnpack;
  const ChosenQParams qp = choose_quantization_params(lo, hi, 0, 255, false, !qnnpack);
  const float scale = static_cast<float>(qp.scale);
  const float inv = 1.f / scale;
  const int32_t zp = qp.zero_point;
  for (size_t i = 0; i < n_in; ++i) {
    // qnnpack rounds x * inv, then adds zp (quantize_value); fbgemm rounds
    // once after adding it, and clamps to the uint8 limits even over 0..127
    // (x <= max keeps q <= 127 there anyway).
    const float t = qnnpack ? in[i] * inv : std::fma(in[i], inv, static_cast<float>(zp));
    scratch[i] = static_cast<uint8_t>(rne_add_clamp(t, qnnpack ? zp : 0, 0, 255));
  }
  for (int b = 0; b < p.shape.batch; ++b) {
    const uint8_t* row = scratch + b * k_size;
    for (size_t o = 0; o < n_out; ++o) {
      const int8_t* w_row = p.w + o * k_size;
      int32_t acc = 0;
      for (size_t k = 0; k < k_size; ++k) acc += (row[k] - zp) * w_row[k];
      const float dq = p.w_scales[p.per_channel ? o : 0] * scale;
      float v = static_cast<float>(acc) * dq;
      if (p.bias || qnnpack) v += p.bias ? p.bias[o] : 0.f;
      out[b * n_out + o] = std::min(std::max(v, p.act_min), p.act_max);
    }
  }
}

}  // namespace qrt::kernels
