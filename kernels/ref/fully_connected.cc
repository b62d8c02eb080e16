#include "kernels/ref/fully_connected.h"

#include <algorithm>
#include <cstddef>

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

}  // namespace qrt::kernels
