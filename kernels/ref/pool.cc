#include "kernels/ref/pool.h"

#include <cmath>
#include <cstddef>

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {
namespace {

// The in-bounds taps [first, last) along one axis of the window starting at
// `start` (taps start + k * dilation, k < kernel) over an input of size n:
// first is the first tap index k inside, last one past the last.
struct TapRange {
  int first, last;
};

TapRange taps_inside(int start, int kernel, int dilation, int n) {
  TapRange r{0, kernel};
  // Skip taps before the input: the smallest k with start + k * d >= 0.
  if (start < 0) r.first = (-start + dilation - 1) / dilation;
  // Keep taps before the end: k * d < n - start.
  const int64_t room = int64_t{n} - start;
  if (room <= 0) {
    r.last = 0;
  } else {
    const int64_t fit = (room - 1) / dilation + 1;
    if (fit < r.last) r.last = static_cast<int>(fit);
  }
  if (r.last < r.first) r.last = r.first;
  return r;
}

// Visits every in-bounds tap of output pixel (n, oy, ox) as f(pixel_index),
// where pixel_index counts NHWC pixels (multiply by channels for an offset).
template <class F>
void for_each_window_pixel(const Pool2DWindow& s, int n, int oy, int ox, F&& f) {
  const int y0 = oy * s.stride_h - s.pad_top;
  const int x0 = ox * s.stride_w - s.pad_left;
  const TapRange ry = taps_inside(y0, s.kernel_h, s.dilation_h, s.in_h);
  const TapRange rx = taps_inside(x0, s.kernel_w, s.dilation_w, s.in_w);
  for (int ky = ry.first; ky < ry.last; ++ky) {
    const int iy = y0 + ky * s.dilation_h;
    for (int kx = rx.first; kx < rx.last; ++kx) {
      const int ix = x0 + kx * s.dilation_w;
      f((static_cast<size_t>(n) * s.in_h + iy) * s.in_w + ix);
    }
  }
}

size_t out_pixel(const Pool2DWindow& s, int n, int oy, int ox) {
  return (static_cast<size_t>(n) * s.out_h + oy) * s.out_w + ox;
}

// The channel loops below run over contiguous NHWC channels through
// __restrict pointers so that GCC vectorizes them (kernels/CMakeLists.txt
// gives this file the flags for it). Max and integer sums are exact in any
// order; the float max is not (NaN payloads, -0 against +0), so each element
// still takes its taps in window order.

// PyTorch's float max step: a NaN tap wins, and later taps replace it only
// if they are NaN too (v > NaN is false).
inline float max_step(float acc, float v) { return v > acc || std::isnan(v) ? v : acc; }
inline uint8_t max_step(uint8_t acc, uint8_t v) { return v > acc ? v : acc; }

// out = max over taps a, b, c in that order, starting from out unless
// `fresh`. Three taps per pass (a 3x3 window's row) keep out's loads and
// stores a third of a tap-by-tap walk's; a pass with fewer taps repeats its
// last one, which max_step ignores.
template <class T>
void max3_into(bool fresh, T* __restrict out, const T* __restrict a, const T* __restrict b,
               const T* __restrict c, size_t n) {
  if (fresh) {
    for (size_t i = 0; i < n; ++i) out[i] = max_step(max_step(a[i], b[i]), c[i]);
  } else {
    for (size_t i = 0; i < n; ++i)
      out[i] = max_step(max_step(max_step(out[i], a[i]), b[i]), c[i]);
  }
}

// Max pooling of one output pixel over the taps `visit` gives (it calls its
// argument with each tap's pixel index), in order. Starting from the first
// tap equals starting from the identity (0 for u8, -inf for f32: v > -inf
// unless v is -inf or NaN, and both give v); an empty window gets `empty`.
template <class T, class Visit>
void max_pixel(const T* in, size_t c_size, T empty, T* out, Visit&& visit) {
  const T* taps[3];
  int pending = 0;
  bool fresh = true;
  visit([&](size_t pixel) {
    taps[pending++] = in + pixel * c_size;
    if (pending == 3) {
      max3_into(fresh, out, taps[0], taps[1], taps[2], c_size);
      fresh = false;
      pending = 0;
    }
  });
  if (pending > 0) {
    max3_into(fresh, out, taps[0], taps[pending - 1], taps[pending - 1], c_size);
  } else if (fresh) {
    for (size_t c = 0; c < c_size; ++c) out[c] = empty;
  }
}

void add_into(int32_t* __restrict acc, const uint8_t* __restrict in, size_t n) {
  for (size_t c = 0; c < n; ++c) acc[c] += in[c];
}

// Channels per block of int32 window sums in avg_pool2d_u8_ref (1 KiB of stack).
constexpr size_t kAvgBlock = 256;

// PyTorch's average pooling divisor for the window at (y0, x0) (dilation 1):
// the window clipped to the padded input [-pad, in + pad_end) when counting
// padding, else clipped to the input.
int64_t avg_divisor(const Pool2DWindow& s, int y0, int x0, bool count_include_pad,
                    int32_t divisor_override) {
  if (divisor_override > 0) return divisor_override;
  int64_t y1 = int64_t{y0} + s.kernel_h, x1 = int64_t{x0} + s.kernel_w;
  if (count_include_pad) {
    const int64_t y_end = int64_t{s.in_h} + s.pad_bottom, x_end = int64_t{s.in_w} + s.pad_right;
    return ((y1 < y_end ? y1 : y_end) - y0) * ((x1 < x_end ? x1 : x_end) - x0);
  }
  const int64_t ya = y0 < 0 ? 0 : y0, xa = x0 < 0 ? 0 : x0;
  if (y1 > s.in_h) y1 = s.in_h;
  if (x1 > s.in_w) x1 = s.in_w;
  return (y1 - ya) * (x1 - xa);
}

// f32(1 / f32(1 / m)): PyTorch's generic kernels quantize with scale 1/m.
float generic_multiplier(float scale_ratio, int64_t divisor) {
  const float m = scale_ratio / static_cast<float>(divisor);
  const float quantize_scale = 1.0f / m;
  return 1.0f / quantize_scale;
}

uint8_t requantize_mean(int32_t acc, float multiplier, int32_t out_zp) {
  return static_cast<uint8_t>(
      rne_add_clamp(static_cast<float>(acc) * multiplier, out_zp, 0, 255));
}

// Adaptive window bounds. Quantized: PyTorch's quantized kernel computes
// them in float; float: its float kernel in integers.
int adaptive_start_f32(int o, int in, int out) {
  return static_cast<int>(std::floor(static_cast<float>(int64_t{o} * in) / static_cast<float>(out)));
}
int adaptive_end_f32(int o, int in, int out) {
  return static_cast<int>(
      std::ceil(static_cast<float>((int64_t{o} + 1) * in) / static_cast<float>(out)));
}
int adaptive_start(int o, int in, int out) {
  return static_cast<int>(int64_t{o} * in / out);
}
int adaptive_end(int o, int in, int out) {
  return static_cast<int>(((int64_t{o} + 1) * in + out - 1) / out);
}

}  // namespace

int64_t adaptive_window_taps(int in, int out) {
  int64_t taps = 0;
  for (int o = 0; o < out; ++o) taps += adaptive_end(o, in, out) - adaptive_start(o, in, out);
  return taps;
}

int64_t pooled_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                    int64_t pad_end, int64_t dilation, bool ceil_mode) {
  const int64_t span = dilation * (kernel - 1) + 1;
  const int64_t room = in + pad_begin + pad_end - span;
  if (room < 0) return 0;
  int64_t out = (ceil_mode ? room + stride - 1 : room) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

Pool2DWindow pool2d_row_band(const Pool2DWindow& w, int oy0, int oy1, int* in_row) {
  const int64_t top = int64_t{oy0} * w.stride_h - w.pad_top;
  const int first = top > 0 ? static_cast<int>(top) : 0;
  Pool2DWindow band = w;
  band.batch = 1;
  band.out_h = oy1 - oy0;
  band.in_h = w.in_h - first;
  band.pad_top = static_cast<int>(first - top);
  *in_row = first;
  return band;
}

void max_pool2d_u8_ref(const Pool2DWindow& shape, const uint8_t* in, uint8_t* out) {
  const size_t c_size = static_cast<size_t>(shape.channels);
  for (int n = 0; n < shape.batch; ++n) {
    for (int oy = 0; oy < shape.out_h; ++oy) {
      for (int ox = 0; ox < shape.out_w; ++ox) {
        max_pixel<uint8_t>(in, c_size, 0, out + out_pixel(shape, n, oy, ox) * c_size,
                           [&](auto&& tap) { for_each_window_pixel(shape, n, oy, ox, tap); });
      }
    }
  }
}

namespace {

// The rows (or columns) QNNPACK's edge-clamped taps read along one axis:
// the in-bounds taps, plus 0 when a tap lies before the input and n - 1 when
// one lies past it. Visiting these instead of every tap keeps the work
// proportional to the input, not to the kernel (a huge padded window would
// otherwise loop kernel_h * kernel_w times per output pixel). Indexed rather
// than visited so that the window walk stays one plain loop nest.
struct ClampedTaps {
  ClampedTaps(int start, int kernel, int dilation, int n)
      : start(start), dilation(dilation), last_row(n - 1),
        before(start < 0 ? 1 : 0),
        inside(taps_inside(start, kernel, dilation, n)),
        count(before + inside.last - inside.first +
              (int64_t{start} + int64_t{kernel - 1} * dilation >= n ? 1 : 0)) {}
  // The k-th row read, k < count.
  int at(int k) const {
    if (k < before) return 0;
    k += inside.first - before;
    return k < inside.last ? start + k * dilation : last_row;
  }
  int start, dilation, last_row, before;
  TapRange inside;
  int count;
};

}  // namespace

void max_pool2d_u8_qnnpack_ref(const Pool2DWindow& shape, const uint8_t* in, uint8_t* out) {
  const size_t c_size = static_cast<size_t>(shape.channels);
  for (int n = 0; n < shape.batch; ++n) {
    for (int oy = 0; oy < shape.out_h; ++oy) {
      const ClampedTaps rows(oy * shape.stride_h - shape.pad_top, shape.kernel_h,
                             shape.dilation_h, shape.in_h);
      for (int ox = 0; ox < shape.out_w; ++ox) {
        const ClampedTaps cols(ox * shape.stride_w - shape.pad_left, shape.kernel_w,
                               shape.dilation_w, shape.in_w);
        const auto window = [&](auto&& tap) {
          for (int ky = 0; ky < rows.count; ++ky) {
            const size_t row = static_cast<size_t>(n) * shape.in_h + rows.at(ky);
            for (int kx = 0; kx < cols.count; ++kx) tap(row * shape.in_w + cols.at(kx));
          }
        };
        max_pixel<uint8_t>(in, c_size, 0, out + out_pixel(shape, n, oy, ox) * c_size, window);
      }
    }
  }
}

void max_pool2d_f32_ref(const Pool2DWindow& shape, const float* in, float* out) {
  const size_t c_size = static_cast<size_t>(shape.channels);
  for (int n = 0; n < shape.batch; ++n) {
    for (int oy = 0; oy < shape.out_h; ++oy) {
      for (int ox = 0; ox < shape.out_w; ++ox) {
        max_pixel<float>(in, c_size, -INFINITY, out + out_pixel(shape, n, oy, ox) * c_size,
                         [&](auto&& tap) { for_each_window_pixel(shape, n, oy, ox, tap); });
      }
    }
  }
}

int64_t avg_pool_divisor(const Pool2DWindow& shape, const AvgPoolParams& p, int oy, int ox) {
  return avg_divisor(shape, oy * shape.stride_h - shape.pad_top,
                     ox * shape.stride_w - shape.pad_left, p.count_include_pad,
                     p.divisor_override);
}

float avg_pool_generic_multiplier(float scale_ratio, int64_t divisor) {
  return generic_multiplier(scale_ratio, divisor);
}

float avg_pool_multiplier(const Pool2DWindow& shape, const AvgPoolParams& p, int oy, int ox) {
  if (p.qnnpack_kernel) return p.multiplier;
  return generic_multiplier(p.scale_ratio, avg_pool_divisor(shape, p, oy, ox));
}

AvgPoolParams make_avg_pool_params(bool qnnpack_kernel, float in_scale, int32_t in_zp,
                                   float out_scale, int32_t out_zp, int64_t kernel_area,
                                   bool count_include_pad, int32_t divisor_override) {
  AvgPoolParams p;
  p.qnnpack_kernel = qnnpack_kernel;
  p.in_zp = in_zp;
  p.out_zp = out_zp;
  p.count_include_pad = count_include_pad;
  p.divisor_override = divisor_override;
  p.scale_ratio = in_scale / out_scale;
  p.multiplier = in_scale / (out_scale * static_cast<float>(kernel_area));
  return p;
}

void avg_pool2d_u8_ref(const Pool2DWindow& shape, const AvgPoolParams& p, const uint8_t* in,
                       uint8_t* out) {
  const size_t c_size = static_cast<size_t>(shape.channels);
  for (int n = 0; n < shape.batch; ++n) {
    for (int oy = 0; oy < shape.out_h; ++oy) {
      for (int ox = 0; ox < shape.out_w; ++ox) {
        int32_t taps = 0;
        for_each_window_pixel(shape, n, oy, ox, [&](size_t) { ++taps; });
        const float multiplier = avg_pool_multiplier(shape, p, oy, ox);
        uint8_t* o = out + out_pixel(shape, n, oy, ox) * c_size;
        // Window sums of a block of channels at a time, then their requantization.
        for (size_t c0 = 0; c0 < c_size; c0 += kAvgBlock) {
          const size_t len = c_size - c0 < kAvgBlock ? c_size - c0 : kAvgBlock;
          int32_t acc[kAvgBlock];
          for (size_t c = 0; c < len; ++c) acc[c] = -p.in_zp * taps;
          for_each_window_pixel(shape, n, oy, ox, [&](size_t pixel) {
            add_into(acc, in + pixel * c_size + c0, len);
          });
          for (size_t c = 0; c < len; ++c)
            o[c0 + c] = requantize_mean(acc[c], multiplier, p.out_zp);
        }
      }
    }
  }
}

void avg_pool2d_f32_ref(const Pool2DWindow& shape, bool count_include_pad,
                        int32_t divisor_override, const float* in, float* out) {
  const size_t c_size = static_cast<size_t>(shape.channels);
  for (int n = 0; n < shape.batch; ++n) {
    for (int oy = 0; oy < shape.out_h; ++oy) {
      for (int ox = 0; ox < shape.out_w; ++ox) {
        const int y0 = oy * shape.stride_h - shape.pad_top;
        const int x0 = ox * shape.stride_w - shape.pad_left;
        const float divisor = static_cast<float>(
            avg_divisor(shape, y0, x0, count_include_pad, divisor_override));
        float* o = out + out_pixel(shape, n, oy, ox) * c_size;
        for (size_t c = 0; c < c_size; ++c) {
          float sum = 0.f;
          for_each_window_pixel(shape, n, oy, ox, [&](size_t pixel) { sum += in[pixel * c_size + c]; });
          o[c] = sum / divisor;
        }
      }
    }
  }
}

void adaptive_avg_pool2d_u8_ref(const AdaptivePool2DShape& shape, const AvgPoolParams& p,
                                const uint8_t* in, uint8_t* out) {
  const size_t c_size = static_cast<size_t>(shape.channels);
  for (int n = 0; n < shape.batch; ++n) {
    const uint8_t* image = in + static_cast<size_t>(n) * shape.in_h * shape.in_w * c_size;
    for (int oy = 0; oy < shape.out_h; ++oy) {
      const int y0 = adaptive_start_f32(oy, shape.in_h, shape.out_h);
      const int y1 = adaptive_end_f32(oy, shape.in_h, shape.out_h);
      for (int ox = 0; ox < shape.out_w; ++ox) {
        const int x0 = adaptive_start_f32(ox, shape.in_w, shape.out_w);
        const int x1 = adaptive_end_f32(ox, shape.in_w, shape.out_w);
        const int32_t area = (y1 - y0) * (x1 - x0);
        const float multiplier =
            p.qnnpack_kernel ? p.multiplier : generic_multiplier(p.scale_ratio, area);
        uint8_t* o = out + ((static_cast<size_t>(n) * shape.out_h + oy) * shape.out_w + ox) * c_size;
        for (size_t c = 0; c < c_size; ++c) {
          int32_t acc = -p.in_zp * area;
          for (int iy = y0; iy < y1; ++iy)
            for (int ix = x0; ix < x1; ++ix)
              acc += image[(static_cast<size_t>(iy) * shape.in_w + ix) * c_size + c];
          o[c] = requantize_mean(acc, multiplier, p.out_zp);
        }
      }
    }
  }
}

void adaptive_avg_pool2d_f32_ref(const AdaptivePool2DShape& shape, const float* in, float* out) {
  const size_t c_size = static_cast<size_t>(shape.channels);
  for (int n = 0; n < shape.batch; ++n) {
    const float* image = in + static_cast<size_t>(n) * shape.in_h * shape.in_w * c_size;
    for (int oy = 0; oy < shape.out_h; ++oy) {
      const int y0 = adaptive_start(oy, shape.in_h, shape.out_h);
      const int y1 = adaptive_end(oy, shape.in_h, shape.out_h);
      for (int ox = 0; ox < shape.out_w; ++ox) {
        const int x0 = adaptive_start(ox, shape.in_w, shape.out_w);
        const int x1 = adaptive_end(ox, shape.in_w, shape.out_w);
        const float area = static_cast<float>((y1 - y0) * (x1 - x0));
        float* o = out + ((static_cast<size_t>(n) * shape.out_h + oy) * shape.out_w + ox) * c_size;
        for (size_t c = 0; c < c_size; ++c) {
          float sum = 0.f;
          for (int iy = y0; iy < y1; ++iy)
            for (int ix = x0; ix < x1; ++ix)
              sum += image[(static_cast<size_t>(iy) * shape.in_w + ix) * c_size + c];
          o[c] = sum / area;
        }
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
