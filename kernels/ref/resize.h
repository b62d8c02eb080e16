// Reference resize (ONNX Resize, PyTorch F.interpolate) of H and W of NHWC
// tensors: nearest neighbour for any element size, bilinear for f32 and u8.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qrt::kernels {

// ONNX coordinate_transformation_mode.
enum class ResizeCoord : uint8_t {
  half_pixel = 0,
  asymmetric = 1,
  align_corners = 2,
  pytorch_half_pixel = 3,
  tf_half_pixel_for_nn = 4,
};

// ONNX nearest_mode.
enum class NearestRound : uint8_t {
  round_prefer_floor = 0,
  round_prefer_ceil = 1,
  floor = 2,
  ceil = 3,
};

// Coordinates follow PyTorch's float32 arithmetic (UpSample.h), which ONNX's
// formulas describe with a division instead:
//   r = align_corners: out > 1 ? f32(in - 1) / f32(out - 1) : 0
//       otherwise:     scale > 0 ? f32(1.0 / double(scale)) : f32(in) / f32(out)
//   x = half_pixel:           f32(f32(r * (d + 0.5)) - 0.5)
//       pytorch_half_pixel:   as half_pixel when out > 1, else 0
//       align_corners, asymmetric: f32(r * d)
//       tf_half_pixel_for_nn: f32(r * (d + 0.5))
// for output index d along the axis. PyTorch's modes are: nearest =
// asymmetric + floor, nearest-exact = tf_half_pixel_for_nn + floor, bilinear
// = half_pixel (align_corners=False) or align_corners.
struct ResizeParams {
  int batch = 1;
  int in_h = 1, in_w = 1, channels = 1;
  int out_h = 1, out_w = 1;
  ResizeCoord coord = ResizeCoord::half_pixel;
  NearestRound nearest = NearestRound::round_prefer_floor;
  float scale_h = 0.f;  // the model's factor (output / input) if > 0
  float scale_w = 0.f;
};

// Nearest: x rounded by p.nearest (round_prefer_*: halves go to the floor
// or the ceiling, other values to the nearest integer), clamped to
// [0, in - 1]. elem_size is 1, 2, 4 or 8. With same_size_copy and equal
// input and output sizes the input is copied whatever the scales, as
// PyTorch's quantized upsampling does (its float kernels do not).
void resize_nearest_ref(const ResizeParams& p, size_t elem_size, bool same_size_copy,
                        const void* in, void* out);

// Bilinear, PyTorch's arithmetic (upsample_bilinear2d): per axis
//   x = max(x, 0); i0 = int(x); i1 = i0 + (i0 < in - 1); l1 = f32(x - i0);
//   l0 = f32(1 - l1)
// (x >= in, only from a scale that does not fit the sizes, reads the last
// element), then
//   y = f32(h0 * f32(w0 * v00 + w1 * v01) + h1 * f32(w0 * v10 + w1 * v11))
// each product and sum rounded to float32.
void resize_bilinear_f32_ref(const ResizeParams& p, const float* in, float* out);

// Quantized bilinear, PyTorch 1.13's quantized upsample_bilinear2d on
// contiguous (NCHW) tensors, whose output keeps the input's params: the raw
// bytes are interpolated as above, then
//   q = clamp(zp + rne(f32(y - zp)), 0, 255)
// (the subtraction rounds: ties in y - zp are not ties in y). Equal input
// and output sizes copy the input. PyTorch's channels-last kernel rounds
// differently (its AVX2 build contracts some products into FMAs); this is
// not it.
void resize_bilinear_u8_ref(const ResizeParams& p, int32_t zero_point, const uint8_t* in,
                            uint8_t* out);

}  // namespace qrt::kernels
