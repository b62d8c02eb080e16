#include "kernels/ref/softmax.h"

#include <cmath>
#include <cstddef>

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {
namespace {

// One slice along the axis: element j is at base + j * stride.
struct Slice {
  size_t base;
  size_t stride;
  int size;
};

template <class F>
void for_each_slice(const SoftmaxShape& s, F&& f) {
  const size_t inner = static_cast<size_t>(s.inner);
  for (size_t o = 0; o < static_cast<size_t>(s.outer); ++o)
    for (size_t i = 0; i < inner; ++i) f(Slice{o * s.axis * inner + i, inner, s.axis});
}

// Largest value of the slice; NaNs are skipped here and poison the sum later.
float slice_max(const float* in, const Slice& sl) {
  float m = -INFINITY;
  for (int j = 0; j < sl.size; ++j) {
    const float v = in[sl.base + j * sl.stride];
    if (v > m) m = v;
  }
  return m;
}

// sum_j exp(x_j - m) in double.
double slice_exp_sum(const float* in, const Slice& sl, double m) {
  double sum = 0.0;
  for (int j = 0; j < sl.size; ++j) sum += std::exp(in[sl.base + j * sl.stride] - m);
  return sum;
}

}  // namespace

void softmax_f32_ref(const SoftmaxShape& shape, const float* in, float* out) {
  for_each_slice(shape, [&](const Slice& sl) {
    const double m = slice_max(in, sl);
    const double sum = slice_exp_sum(in, sl, m);
    for (int j = 0; j < sl.size; ++j) {
      const size_t at = sl.base + j * sl.stride;
      out[at] = static_cast<float>(std::exp(in[at] - m) / sum);
    }
  });
}

void log_softmax_f32_ref(const SoftmaxShape& shape, const float* in, float* out) {
  for_each_slice(shape, [&](const Slice& sl) {
    const double m = slice_max(in, sl);
    const double log_sum = std::log(slice_exp_sum(in, sl, m));
    for (int j = 0; j < sl.size; ++j) {
      const size_t at = sl.base + j * sl.stride;
      out[at] = static_cast<float>((in[at] - m) - log_sum);
    }
  });
}

bool softmax_u8_uses_table(Profile profile, float out_scale, int32_t out_zp) {
  return profile == Profile::qnnpack && out_scale == 0x1.0p-8f && out_zp == 0;
}

SoftmaxU8Params make_softmax_u8_params(Profile profile, float in_scale, int32_t in_zp,
                                       float out_scale, int32_t out_zp, int axis_size,
                                       uint32_t* table) {
  SoftmaxU8Params p;
  p.in_scale = in_scale;
  p.in_zp = in_zp;
  p.out_scale = out_scale;
  p.out_zp = out_zp;
  if (!softmax_u8_uses_table(profile, out_scale, out_zp)) return p;
  const double qscale = std::fmin(static_cast<double>(UINT32_MAX) / axis_size, 8388607.0);
  for (int i = 0; i < 256; ++i) {
    const double scaled = qscale * std::exp(static_cast<double>(i - 255) * in_scale);
    table[i] = static_cast<uint32_t>(std::lrint(scaled));
  }
  p.table = table;
  return p;
}

void softmax_u8_ref(const SoftmaxShape& shape, const SoftmaxU8Params& p, const uint8_t* in,
                    uint8_t* out) {
  for_each_slice(shape, [&](const Slice& sl) {
    uint8_t q_max = 0;
    for (int j = 0; j < sl.size; ++j) {
      const uint8_t q = in[sl.base + j * sl.stride];
      if (q > q_max) q_max = q;
    }
    if (p.table) {
      // Entries are at most qscale <= UINT32_MAX / size, so neither the sum
      // nor t * 256 + sum / 2 (t < 2^23, sum / 2 < 2^31) wraps. sum >=
      // table[255] = qscale >= 2 because size < 2^31.
      const uint32_t* t = p.table + (255 - q_max);
      uint32_t sum = 0;
      for (int j = 0; j < sl.size; ++j) sum += t[in[sl.base + j * sl.stride]];
      for (int j = 0; j < sl.size; ++j) {
        const size_t at = sl.base + j * sl.stride;
        const uint32_t y = ((t[in[at]] << 8) + (sum >> 1)) / sum;
        out[at] = static_cast<uint8_t>(y > 255 ? 255 : y);
      }
      return;
    }
    // Dequantizing is monotonic in q, so the largest byte gives the max.
    const double m = p.in_scale * static_cast<float>(q_max - p.in_zp);
    double sum = 0.0;
    for (int j = 0; j < sl.size; ++j)
      sum += std::exp(p.in_scale * static_cast<float>(in[sl.base + j * sl.stride] - p.in_zp) - m);
    for (int j = 0; j < sl.size; ++j) {
      const size_t at = sl.base + j * sl.stride;
      const float x = p.in_scale * static_cast<float>(in[at] - p.in_zp);
      const float y = static_cast<float>(std::exp(x - m) / sum);
      out[at] = static_cast<uint8_t>(quantize_value(y, p.out_scale, p.out_zp, 0, 255));
    }
  });
}

}  // namespace qrt::kernels
