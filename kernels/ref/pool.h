// Reference pooling over NHWC tensors (see Pool2DWindow for the window walk).
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// PyTorch's pooled size along one axis (pooling_output_shape, with the
// padding split into begin and end): span = dilation * (kernel - 1) + 1,
//   floor mode: (in + pad_begin + pad_end - span) / stride + 1
//   ceil mode:  the same quotient rounded up, minus one if that last window
//               would start at or past in + pad_begin (a window must start
//               inside the input or the begin padding).
// Returns 0 when the padded input is shorter than the span. All arguments
// must be positive (pads non-negative) and below 2^31; the arithmetic is
// int64 so it cannot overflow.
int64_t pooled_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                    int64_t pad_end, int64_t dilation, bool ceil_mode);

// Output rows [oy0, oy1) of one image of w (0 <= oy0 < oy1 <= w.out_h) as a
// window of their own, batch 1, so that a pool can be split over threads by
// rows: the band's input starts *in_row rows into the image, at its first
// window's top row (0 while that row is padding). Every pooling kernel gives
// a band's rows the bytes it gives them in the whole window: no window of
// the band starts above its input, and the band keeps the image's bottom
// edge and padding (count_include_pad divisors, QNNPACK's edge clamp). w
// must be a window whose every window starts before the input's end (pads
// below the kernel, pooled_size's rule), so that 0 <= *in_row < w.in_h.
Pool2DWindow pool2d_row_band(const Pool2DWindow& w, int oy0, int oy1, int* in_row);

// Max over the in-bounds taps of each window (padding taps are ignored), as
// PyTorch's generic kernel computes it; quantization params pass through. A
// window with no in-bounds tap (only possible with dilation) gives 0.
void max_pool2d_u8_ref(const Pool2DWindow& shape, const uint8_t* in, uint8_t* out);

// As above; a NaN tap makes the output NaN (PyTorch's float max pool), and
// an empty window gives -inf.
void max_pool2d_f32_ref(const Pool2DWindow& shape, const float* in, float* out);

// QNNPACK's max pooling (PyTorch's qnnpack engine without ceil_mode): its
// indirection buffer clamps every tap row to [0, in_h - 1] (columns
// likewise), so a padding tap reads the nearest edge pixel instead of being
// skipped. Without dilation the edge pixel is a tap of the same window and
// the max is unchanged; with dilation and padding it may not be, and
// PyTorch's result then differs from max_pool2d_u8_ref (verified on 300
// random shapes). No window is empty.
void max_pool2d_u8_qnnpack_ref(const Pool2DWindow& shape, const uint8_t* in, uint8_t* out);

// Quantized average pooling. Per window and channel
//   acc = sum over the in-bounds taps of (q - in_zp)
// (a padding tap contributes nothing, exactly as if it held in_zp), then
//   qnnpack_kernel (QNNPACK's average pooling):
//     multiplier = f32(s_in / f32(s_out * kernel_h * kernel_w)), one for
//     every window: QNNPACK always divides by the full kernel area, so
//     PyTorch's qnnpack engine ignores count_include_pad and
//     divisor_override. (QNNPACK also pads its row count up to the
//     micro-kernel tile with in_zp rows and folds -in_zp * rows into its
//     bias; those rows cancel, so the sum is the one above.)
//   generic (PyTorch's channels-last kernel qavg_pool2d_nhwc):
//     divisor = divisor_override > 0 ? divisor_override
//             : count_include_pad ? the window's area inside the padded input
//             : its in-bounds tap count;
//     m = f32(scale_ratio / float(divisor)) with scale_ratio = f32(s_in / s_out);
//     PyTorch quantizes with scale 1/m, so multiplier = f32(1 / f32(1 / m)).
//   y = clamp(rne(f32(float(acc) * multiplier)) + out_zp, 0, 255).
// in_scale/out_scale must be positive and finite; kernel_area is
// kernel_h * kernel_w (the qnnpack multiplier's divisor).
//
// PyTorch's AVX2 build multiplies the first floor(channels / 8) * 8
// channels by m itself instead of f32(1 / f32(1 / m)); the two agree
// whenever s_in == s_out (always, in PyTorch: its average pools keep the
// input's parameters; checked for every divisor below 5000).
AvgPoolParams make_avg_pool_params(bool qnnpack_kernel, float in_scale, int32_t in_zp,
                                   float out_scale, int32_t out_zp, int64_t kernel_area,
                                   bool count_include_pad, int32_t divisor_override);

// Average pooling with the params above; dilation must be 1 (PyTorch has no
// dilated average pooling). Accumulator bound: a window sums at most
// kernel_h * kernel_w bytes, so kernel_h * kernel_w < 2^23 keeps acc exact in
// int32; prepare checks it.
void avg_pool2d_u8_ref(const Pool2DWindow& shape, const AvgPoolParams& p, const uint8_t* in,
                       uint8_t* out);

// The per-window pieces of avg_pool2d_u8_ref, for the fast kernels: the
// generic divisor of output pixel (oy, ox), the generic multiplier
// f32(1 / f32(1 / f32(scale_ratio / float(divisor)))) for a divisor, and
// the multiplier the pixel's window is requantized with (p.multiplier with
// the qnnpack kernel, else the generic one of its divisor).
int64_t avg_pool_divisor(const Pool2DWindow& shape, const AvgPoolParams& p, int oy, int ox);
float avg_pool_generic_multiplier(float scale_ratio, int64_t divisor);
float avg_pool_multiplier(const Pool2DWindow& shape, const AvgPoolParams& p, int oy, int ox);

// Float average pooling, PyTorch's avg_pool2d: the sum of the in-bounds taps
// (in window order) divided by the divisor defined above. Dilation must be 1.
void avg_pool2d_f32_ref(const Pool2DWindow& shape, bool count_include_pad,
                        int32_t divisor_override, const float* in, float* out);

// Adaptive average pooling. Output row o covers input rows
// [floor(o * in / out), ceil((o + 1) * in / out)) (columns likewise), the
// quantized path computing the bounds in float as PyTorch's quantized kernel
// does: floor(f32(f32(o * in) / out)); both forms agree while o * in < 2^24.
// Quantized: acc as above over the window, then
//   qnnpack_kernel: the fixed multiplier (PyTorch's qnnpack engine runs
//     QNNPACK average pooling with kernel = stride = in / out when both sizes
//     divide and the pooling is not the identity; every window then has the
//     same area);
//   generic: m = f32(scale_ratio / float(window area)), multiplier
//     f32(1 / f32(1 / m)) as for avg_pool2d (count_include_pad and
//     divisor_override are not used).
// Accumulator bound: in_h * in_w < 2^23 (prepare checks).
void adaptive_avg_pool2d_u8_ref(const AdaptivePool2DShape& shape, const AvgPoolParams& p,
                                const uint8_t* in, uint8_t* out);

// The window lengths of adaptive pooling from `in` to `out` along one
// dimension, summed: the taps per channel are the product of the two
// dimensions' sums. Up to in + out; an output larger than its input in one
// dimension and much smaller in the other costs far more than either tensor.
int64_t adaptive_window_taps(int in, int out);

// Float adaptive average pooling: window sum / window area, integer bounds
// floor(o * in / out) and ceil((o + 1) * in / out).
void adaptive_avg_pool2d_f32_ref(const AdaptivePool2DShape& shape, const float* in, float* out);

// Global average pool, in [batch, hw, channels] -> out [batch, channels],
// with params from make_global_avg_pool_params():
//   acc = bias + sum_i in[b, i, c]                  (bias = -in_zp * hw)
//   out = clamp(rne(f32(float(acc) * multiplier)) + out_zp, out_min, out_max)
// This is exact for both profiles; they differ only in the multiplier (see
// make_global_avg_pool_params).
void global_avg_pool_u8_ref(const GlobalAvgPoolParams& p, int batch, int hw, int channels,
                            const uint8_t* in, uint8_t* out);

// out = f32(sum_i in[b, i, c]) / hw, summed in pixel order.
void global_avg_pool_f32_ref(int batch, int hw, int channels, const float* in, float* out);

}  // namespace qrt::kernels
