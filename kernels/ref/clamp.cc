#include "kernels/ref/clamp.h"

#include <algorithm>

namespace qrt::kernels {

void clamp_u8_ref(size_t n, const uint8_t* in, uint8_t lo, uint8_t hi, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = std::min(std::max(in[i], lo), hi);
}

void clamp_f32_ref(size_t n, const float* in, float lo, float hi, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = std::min(std::max(in[i], lo), hi);
}

}  // namespace qrt::kernels
