#include "kernels/ref/pool.h"

#include <cmath>
#include <cstddef>

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {
namespace {

// Visits every in-bounds tap of output pixel (n, oy, ox) as f(pixel_index),
// where pixel_index counts NHWC pixels (multiply by channels for an offset).
template <class F>
void for_each_window_pixel(const Pool2DShape& s, int n, int oy, int ox, F&& f) {
  for (int ky = 0; ky < s.kernel_h; ++ky) {
    const int iy = oy * s.stride_h - s.pad_top + ky;
    if (iy < 0 || iy >= s.in_h) continue;
    for (int kx = 0; kx < s.kernel_w; ++kx) {
      const int ix = ox * s.stride_w - s.pad_left + kx;
      if (ix < 0 || ix >= s.in_w) continue;
      f((static_cast<size_t>(n) * s.in_h + iy) * s.in_w + ix);
    }
  }
}

size_t out_pixel(const Pool2DShape& s, int n, int oy, int ox) {
  return (static_cast<size_t>(n) * s.out_h + oy) * s.out_w + ox;
}

}  // namespace

void max_pool2d_u8_ref(const Pool2DShape& shape, const uint8_t* in, uint8_t* out) {
  const size_t c_size = static_cast<size_t>(shape.channels);
  for (int n = 0; n < shape.batch; ++n) {
    for (int oy = 0; oy < shape.out_h; ++oy) {
      for (int ox = 0; ox < shape.out_w; ++ox) {
        uint8_t* o = out + out_pixel(shape, n, oy, ox) * c_size;
        for (size_t c = 0; c < c_size; ++c) o[c] = 0;
        for_each_window_pixel(shape, n, oy, ox, [&](size_t pixel) {
          const uint8_t* i = in + pixel * c_size;
          for (size_t c = 0; c < c_size; ++c) o[c] = i[c] > o[c] ? i[c] : o[c];
        });
      }
    }
  }
}

void max_pool2d_f32_ref(const Pool2DShape& shape, const float* in, float* out) {
  const size_t c_size = static_cast<size_t>(shape.channels);
  for (int n = 0; n < shape.batch; ++n) {
    for (int oy = 0; oy < shape.out_h; ++oy) {
      for (int ox = 0; ox < shape.out_w; ++ox) {
        float* o = out + out_pixel(shape, n, oy, ox) * c_size;
        for (size_t c = 0; c < c_size; ++c) o[c] = -INFINITY;
        for_each_window_pixel(shape, n, oy, ox, [&](size_t pixel) {
          const float* i = in + pixel * c_size;
          for (size_t c = 0; c < c_size; ++c) {
            if (i[c] > o[c] || std::isnan(i[c])) o[c] = i[c];
          }
        });
      }
    }
  }
}

void global_avg_pool_u8_ref(const GlobalAvgPoolParams& p, int batch, int hw, int channels,
                            const uint8_t* in, uint8_t* out) {
  const size_t c_size = static_cast<size_t>(channels);
  for (int b = 0; b < batch; ++b) {
    const uint8_t* image = in + static_cast<size_t>(b) * hw * c_size;
    for (size_t c = 0; c < c_size; ++c) {
      int32_t acc = p.bias;
      for (int i = 0; i < hw; ++i) acc += image[i * c_size + c];
      const float scaled = static_cast<float>(acc) * p.multiplier;
      out[b * c_size + c] =
          static_cast<uint8_t>(rne_add_clamp(scaled, p.out_zp, p.out_min, p.out_max));
    }
  }
}

void global_avg_pool_f32_ref(int batch, int hw, int channels, const float* in, float* out) {
  const size_t c_size = static_cast<size_t>(channels);
  for (int b = 0; b < batch; ++b) {
    const float* image = in + static_cast<size_t>(b) * hw * c_size;
    for (size_t c = 0; c < c_size; ++c) {
      float sum = 0.f;
      for (int i = 0; i < hw; ++i) sum += image[i * c_size + c];
      out[b * c_size + c] = sum / static_cast<float>(hw);
    }
  }
}

}  // namespace qrt::kernels
