#include "kernels/ref/quantize.h"

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {

void quantize_f32_u8_ref(size_t n, const float* in, float scale, int32_t zp, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(quantize_value(in[i], scale, zp, 0, 255));
  }
}

void quantize_f32_s8_ref(size_t n, const float* in, float scale, int32_t zp, int8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<int8_t>(quantize_value(in[i], scale, zp, -128, 127));
  }
}

void dequantize_u8_f32_ref(size_t n, const uint8_t* in, float scale, int32_t zp, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = scale * static_cast<float>(in[i] - zp);
}

void dequantize_s8_f32_ref(size_t n, const int8_t* in, float scale, int32_t zp, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = scale * static_cast<float>(in[i] - zp);
}

}  // namespace qrt::kernels
