#include "kernels/ref/embedding.h"

#include <algorithm>

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {

void quantize_embedding_rows(const float* table, int64_t rows, int64_t cols, uint8_t* q, float* scale_bias) {
  constexpr float kEps = 1.1920928955078125e-07f;  // torch.finfo(torch.float32).eps
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = table + r * cols;
    const auto [lo, hi] = std::minmax_element(x, x + cols);
    float scale = (*hi - *lo) / 255.f;
    if (!(scale > kEps)) scale = 1.f;
    const float zero_point = (-1.f * *lo) / scale;
    const float inv_scale = 1.f / scale;
    uint8_t* row = q + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      const float scaled = x[c] * inv_scale;
      row[c] = static_cast<uint8_t>(rne_add_clamp(scaled + zero_point, 0, 0, 255));
    }
    scale_bias[2 * r] = scale;
    scale_bias[2 * r + 1] = (zero_point * scale) * -1.f;
  }
}

int64_t gather_rows_u8_ref(const GatherParams& p, const uint8_t* table, const float* scale_bias,
                           const void* indices, float* out) {
  const int64_t bad = find_bad_gather_index(p, indices);
  if (bad >= 0) return bad;
  for (int64_t j = 0; j < p.num_indices; ++j) {
    int64_t k = p.indices_i64 ? static_cast<const int64_t*>(indices)[j] : static_cast<const int32_t*>(indices)[j];
    if (k < 0) k += p.axis_size;
    const uint8_t* row = table + k * p.inner;
    const double scale = scale_bias[2 * k];
    const double bias = scale_bias[2 * k + 1];
    for (int64_t c = 0; c < p.inner; ++c) out[c] = static_cast<float>(scale * row[c] + bias);
    out += p.inner;
  }
  return -1;
}

}  // namespace qrt::kernels
