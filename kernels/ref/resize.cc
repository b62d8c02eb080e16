#include "kernels/ref/resize.h"

#include <cmath>
#include <cstring>

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {
namespace {

float axis_ratio(int in, int out, ResizeCoord coord, float scale) {
  if (coord == ResizeCoord::align_corners)
    return out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.f;
  if (scale > 0.f) return static_cast<float>(1.0 / static_cast<double>(scale));
  return static_cast<float>(in) / static_cast<float>(out);
}

float source_coord(float r, int d, int out, ResizeCoord coord) {
  const float df = static_cast<float>(d);
  switch (coord) {
    case ResizeCoord::half_pixel: return r * (df + 0.5f) - 0.5f;
    case ResizeCoord::pytorch_half_pixel: return out > 1 ? r * (df + 0.5f) - 0.5f : 0.f;
    case ResizeCoord::align_corners:
    case ResizeCoord::asymmetric: return r * df;
    case ResizeCoord::tf_half_pixel_for_nn: return r * (df + 0.5f);
  }
  return 0.f;
}

int nearest_index(float x, NearestRound mode, int in) {
  float f = std::floor(x);
  switch (mode) {
    case NearestRound::round_prefer_floor:
      if (x - f != 0.5f) f = std::round(x);
      break;
    case NearestRound::round_prefer_ceil:
      f = x - f == 0.5f ? f + 1.f : std::round(x);
      break;
    case NearestRound::floor: break;
    case NearestRound::ceil: f = std::ceil(x); break;
  }
  // Comparing before converting keeps huge and NaN coordinates defined.
  if (!(f > 0.f)) return 0;
  if (f >= static_cast<float>(in - 1)) return in - 1;
  return static_cast<int>(f);
}

// One axis of bilinear interpolation: neighbours i0 and i0 + offset with
// weights l0 and l1 (PyTorch's names h1, h1p, h0lambda, h1lambda).
struct LinearTap {
  int i0 = 0, offset = 0;
  float l0 = 1.f, l1 = 0.f;
};

LinearTap linear_tap(float r, int d, int in, int out, ResizeCoord coord) {
  float x = source_coord(r, d, out, coord);
  if (!(x > 0.f)) x = 0.f;
  LinearTap t;
  if (x >= static_cast<float>(in)) {
    t.i0 = in - 1;
    return t;
  }
  t.i0 = static_cast<int>(x);
  t.offset = t.i0 < in - 1 ? 1 : 0;
  t.l1 = x - static_cast<float>(t.i0);
  t.l0 = 1.f - t.l1;
  return t;
}

template <size_t N>
void nearest_impl(const ResizeParams& p, const uint8_t* in, uint8_t* out) {
  const float rh = axis_ratio(p.in_h, p.out_h, p.coord, p.scale_h);
  const float rw = axis_ratio(p.in_w, p.out_w, p.coord, p.scale_w);
  const size_t pixel = static_cast<size_t>(p.channels) * N;
  for (int n = 0; n < p.batch; ++n) {
    const uint8_t* image = in + static_cast<size_t>(n) * p.in_h * p.in_w * pixel;
    for (int y = 0; y < p.out_h; ++y) {
      const int iy = nearest_index(source_coord(rh, y, p.out_h, p.coord), p.nearest, p.in_h);
      for (int x = 0; x < p.out_w; ++x) {
        const int ix = nearest_index(source_coord(rw, x, p.out_w, p.coord), p.nearest, p.in_w);
        std::memcpy(out, image + (static_cast<size_t>(iy) * p.in_w + ix) * pixel, pixel);
        out += pixel;
      }
    }
  }
}

// Calls f(taps_y, taps_x, pixel offsets of the four neighbours, output
// pixel) for every output pixel; offsets count pixels (times channels for
// elements).
template <class F>
void for_each_bilinear_pixel(const ResizeParams& p, F&& f) {
  const float rh = axis_ratio(p.in_h, p.out_h, p.coord, p.scale_h);
  const float rw = axis_ratio(p.in_w, p.out_w, p.coord, p.scale_w);
  size_t out_pixel = 0;
  for (int n = 0; n < p.batch; ++n) {
    const size_t image = static_cast<size_t>(n) * p.in_h * p.in_w;
    for (int y = 0; y < p.out_h; ++y) {
      const LinearTap ty = linear_tap(rh, y, p.in_h, p.out_h, p.coord);
      const size_t row0 = image + static_cast<size_t>(ty.i0) * p.in_w;
      const size_t row1 = row0 + static_cast<size_t>(ty.offset) * p.in_w;
      for (int x = 0; x < p.out_w; ++x) {
        const LinearTap tx = linear_tap(rw, x, p.in_w, p.out_w, p.coord);
        const size_t c0 = static_cast<size_t>(tx.i0), c1 = c0 + tx.offset;
        f(ty, tx, row0 + c0, row0 + c1, row1 + c0, row1 + c1, out_pixel++);
      }
    }
  }
}

// PyTorch's expression, evaluated in this order with float rounding.
float bilinear(const LinearTap& ty, const LinearTap& tx, float v00, float v01, float v10,
               float v11) {
  const float top = tx.l0 * v00 + tx.l1 * v01;
  const float bottom = tx.l0 * v10 + tx.l1 * v11;
  return ty.l0 * top + ty.l1 * bottom;
}

}  // namespace

void resize_nearest_ref(const ResizeParams& p, size_t elem_size, bool same_size_copy,
                        const void* in, void* out) {
  if (same_size_copy && p.in_h == p.out_h && p.in_w == p.out_w) {
    std::memcpy(out, in,
                static_cast<size_t>(p.batch) * p.in_h * p.in_w * p.channels * elem_size);
    return;
  }
  const auto* i = static_cast<const uint8_t*>(in);
  auto* o = static_cast<uint8_t*>(out);
  switch (elem_size) {
    case 1: return nearest_impl<1>(p, i, o);
    case 2: return nearest_impl<2>(p, i, o);
    case 4: return nearest_impl<4>(p, i, o);
    case 8: return nearest_impl<8>(p, i, o);
    default: return;
  }
}

void resize_bilinear_f32_ref(const ResizeParams& p, const float* in, float* out) {
  const size_t c_size = static_cast<size_t>(p.channels);
  for_each_bilinear_pixel(p, [&](const LinearTap& ty, const LinearTap& tx, size_t p00,
                                 size_t p01, size_t p10, size_t p11, size_t o) {
    const float *a = in + p00 * c_size, *b = in + p01 * c_size;
    const float *c = in + p10 * c_size, *d = in + p11 * c_size;
    float* y = out + o * c_size;
    for (size_t k = 0; k < c_size; ++k) y[k] = bilinear(ty, tx, a[k], b[k], c[k], d[k]);
  });
}

void resize_bilinear_u8_ref(const ResizeParams& p, int32_t zero_point, const uint8_t* in,
                            uint8_t* out) {
  const size_t c_size = static_cast<size_t>(p.channels);
  if (p.in_h == p.out_h && p.in_w == p.out_w) {
    std::memcpy(out, in, static_cast<size_t>(p.batch) * p.in_h * p.in_w * c_size);
    return;
  }
  const float zp = static_cast<float>(zero_point);
  for_each_bilinear_pixel(p, [&](const LinearTap& ty, const LinearTap& tx, size_t p00,
                                 size_t p01, size_t p10, size_t p11, size_t o) {
    const uint8_t *a = in + p00 * c_size, *b = in + p01 * c_size;
    const uint8_t *c = in + p10 * c_size, *d = in + p11 * c_size;
    uint8_t* y = out + o * c_size;
    for (size_t k = 0; k < c_size; ++k) {
      const float v = bilinear(ty, tx, a[k], b[k], c[k], d[k]) - zp;
      y[k] = static_cast<uint8_t>(rne_add_clamp(v, zero_point, 0, 255));
    }
  });
}

}  // namespace qrt::kernels
