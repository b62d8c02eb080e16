// Reference pooling. Global average pool bytes marked "PyTorch" come from
// adaptive_avg_pool2d(x, 1) on a channels-last quint8 tensor in PyTorch
// 1.13.1: the qnnpack engine (QNNPACK average pooling) for qnnpack, the
// generic channels-last kernel (what the fbgemm engine runs; reached here
// through the onednn engine) for fbgemm.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/ref/pool.h"
#include "kernels/ref/quant_math.h"

namespace k = qrt::kernels;

namespace {

// in[b, pixel, c] = (b * 101 + pixel * 37 + c * 11 + 5) mod 256
std::vector<uint8_t> pattern(int batch, int hw, int channels) {
  std::vector<uint8_t> in;
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i < hw; ++i)
      for (int c = 0; c < channels; ++c) in.push_back(static_cast<uint8_t>((b * 101 + i * 37 + c * 11 + 5) % 256));
  return in;
}

std::vector<uint8_t> gap(k::Profile profile, float scale, int32_t zp, int batch, int hw,
                         int channels, const std::vector<uint8_t>& in) {
  const k::GlobalAvgPoolParams p = k::make_global_avg_pool_params(profile, scale, zp, scale, zp, hw);
  std::vector<uint8_t> out(static_cast<size_t>(batch) * channels);
  k::global_avg_pool_u8_ref(p, batch, hw, channels, in.data(), out.data());
  return out;
}

}  // namespace

TEST_CASE("max_pool2d_u8: 3x3 stride 2 pad 1 ignores padding") {
  // 4x4 image, values 10 * row + col, two channels (second = 255 - first).
  k::Pool2DWindow s;
  s.in_h = s.in_w = 4;
  s.channels = 2;
  s.kernel_h = s.kernel_w = 3;
  s.stride_h = s.stride_w = 2;
  s.pad_top = s.pad_left = 1;
  s.out_h = s.out_w = 2;
  std::vector<uint8_t> in;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      in.push_back(static_cast<uint8_t>(10 * y + x));
      in.push_back(static_cast<uint8_t>(255 - 10 * y - x));
    }
  std::vector<uint8_t> out(8);
  k::max_pool2d_u8_ref(s, in.data(), out.data());
  // Windows: rows {-1,0,1} or {1,2,3}, cols likewise. Channel 0's max is
  // the bottom-right in-bounds tap, channel 1's is 255 minus the top-left.
  CHECK(out == std::vector<uint8_t>{11, 255, 13, 254, 31, 245, 33, 244});
}

TEST_CASE("max_pool2d_f32: padding is not a zero tap, NaN propagates") {
  k::Pool2DWindow s;
  s.in_h = 2;
  s.in_w = 2;
  s.channels = 1;
  s.kernel_h = s.kernel_w = 2;
  s.pad_top = s.pad_left = 1;
  s.out_h = s.out_w = 3;
  const float in[4] = {-4.f, -3.f, -2.f, NAN};
  float out[9];
  k::max_pool2d_f32_ref(s, in, out);
  CHECK(out[0] == -4.f);  // only (0,0) in bounds
  CHECK(out[1] == -3.f);  // (0,0), (0,1)
  CHECK(out[2] == -3.f);
  CHECK(out[3] == -2.f);  // (0,0), (1,0)
  CHECK(std::isnan(out[4]));
  CHECK(std::isnan(out[8]));
}

TEST_CASE("max_pool2d_u8: batch and rectangular kernel") {
  k::Pool2DWindow s;
  s.batch = 2;
  s.in_h = 2;
  s.in_w = 3;
  s.channels = 1;
  s.kernel_h = 2;
  s.kernel_w = 1;
  s.out_h = 1;
  s.out_w = 3;
  const std::vector<uint8_t> in = {1, 9, 3, 4, 2, 6, 7, 7, 0, 8, 1, 5};
  std::vector<uint8_t> out(6);
  k::max_pool2d_u8_ref(s, in.data(), out.data());
  CHECK(out == std::vector<uint8_t>{4, 9, 6, 8, 7, 5});
}

TEST_CASE("global_avg_pool_u8: hand-worked mean with zero point") {
  // hw 4, zp 2, scale 0.5 in and out: q - zp = 1, 3, 5, 9 -> mean 4.5.
  //   qnnpack: multiplier f32(0.5 / f32(0.5 * 4)) = 0.25 -> 18 * 0.25 = 4.5 -> 4 (+2 = 6)
  //   fbgemm:  m = 0.25, f32(1 / f32(1 / m)) = 0.25 -> same 6
  const std::vector<uint8_t> in = {3, 5, 7, 11};
  CHECK(gap(k::Profile::qnnpack, 0.5f, 2, 1, 4, 1, in) == std::vector<uint8_t>{6});
  CHECK(gap(k::Profile::fbgemm, 0.5f, 2, 1, 4, 1, in) == std::vector<uint8_t>{6});
}

TEST_CASE("global_avg_pool_u8: profiles differ in the multiplier (PyTorch)") {
  // hw 6, scale 0.07, zp 5, sum(q - zp) = 9 -> 9/6 = 1.5:
  //   qnnpack: 9 * 0.166666657 = 1.49999994 -> 1 -> 6
  //   fbgemm:  9 * 0.166666672 = 1.50000000 -> 2 -> 7
  const std::vector<uint8_t> in = {7, 7, 7, 6, 6, 6};
  CHECK(gap(k::Profile::qnnpack, 0.07f, 5, 1, 6, 1, in) == std::vector<uint8_t>{6});
  CHECK(gap(k::Profile::fbgemm, 0.07f, 5, 1, 6, 1, in) == std::vector<uint8_t>{7});
}

TEST_CASE("global_avg_pool_u8: 3x4 image, 8 channels, batch 2 (PyTorch)") {
  // QNNPACK pads these 12 rows to 17 (9 + 8) with zero-point rows; the
  // bytes show that padding does not change the result.
  const std::vector<uint8_t> in = pattern(2, 12, 8);
  CHECK(gap(k::Profile::qnnpack, 0.05f, 3, 2, 12, 8, in) ==
        std::vector<uint8_t>{102, 113, 124, 113, 124, 135, 125, 136, 139, 128, 139, 150, 119,
                             130, 141, 109});
  CHECK(gap(k::Profile::fbgemm, 0.05f, 3, 2, 12, 8, in) ==
        std::vector<uint8_t>{102, 113, 124, 113, 125, 135, 125, 136, 139, 129, 139, 151, 119,
                             130, 141, 109});
}

TEST_CASE("global_avg_pool_u8: more PyTorch shapes, equal in both profiles") {
  // 7x7 x 3 channels (QNNPACK's small-channel kernel), zp 128;
  // 5x5 x 16, zp 77; 2x1 x 9, zp 0.
  for (const k::Profile profile : {k::Profile::qnnpack, k::Profile::fbgemm}) {
    CAPTURE(static_cast<int>(profile));
    CHECK(gap(profile, 0.07f, 128, 1, 49, 3, pattern(1, 49, 3)) ==
          std::vector<uint8_t>{125, 131, 126});
    CHECK(gap(profile, 0.013f, 77, 1, 25, 16, pattern(1, 25, 16)) ==
          std::vector<uint8_t>{111, 122, 133, 113, 124, 135, 116, 127, 138, 138, 129, 140, 141,
                               121, 132, 143});
    CHECK(gap(profile, 0.3f, 0, 1, 2, 9, pattern(1, 2, 9)) ==
          std::vector<uint8_t>{24, 34, 46, 56, 68, 78, 90, 100, 112});
  }
}

TEST_CASE("global_avg_pool_u8: output params differ from input params") {
  // s_in 0.1, zp_in 10, s_out 0.05, zp_out 200, hw 2: q - zp = 20, 21 -> real
  // mean 2.05 -> 41 steps of 0.05 (both profiles), + 200 = 241; a larger mean
  // saturates at 255.
  for (const k::Profile profile : {k::Profile::qnnpack, k::Profile::fbgemm}) {
    const k::GlobalAvgPoolParams p = k::make_global_avg_pool_params(profile, 0.1f, 10, 0.05f, 200, 2);
    const uint8_t in[4] = {30, 100, 31, 110};  // two channels
    uint8_t out[2];
    k::global_avg_pool_u8_ref(p, 1, 2, 2, in, out);
    CHECK(out[0] == 241);
    CHECK(out[1] == 255);
  }
}

TEST_CASE("global_avg_pool_f32") {
  const float in[6] = {1.f, -2.f, 2.f, 4.f, 6.f, 1.f};  // hw 3, channels 2
  float out[2];
  k::global_avg_pool_f32_ref(1, 3, 2, in, out);
  CHECK(out[0] == 3.f);
  CHECK(out[1] == 1.f);
}

namespace {

k::Pool2DWindow window(int in_h, int in_w, int channels, int kh, int kw, int sh, int sw,
                       int pt, int pl, int pb, int pr, bool ceil_mode, int dh = 1, int dw = 1) {
  k::Pool2DWindow s;
  s.in_h = in_h;
  s.in_w = in_w;
  s.channels = channels;
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride_h = sh;
  s.stride_w = sw;
  s.dilation_h = dh;
  s.dilation_w = dw;
  s.pad_top = pt;
  s.pad_left = pl;
  s.pad_bottom = pb;
  s.pad_right = pr;
  s.out_h = static_cast<int>(k::pooled_size(in_h, kh, sh, pt, pb, dh, ceil_mode));
  s.out_w = static_cast<int>(k::pooled_size(in_w, kw, sw, pl, pr, dw, ceil_mode));
  return s;
}

}  // namespace

TEST_CASE("conv_pool: pooled_size follows PyTorch's floor and ceil rules") {
  CHECK(k::pooled_size(7, 3, 2, 1, 1, 1, false) == 4);
  CHECK(k::pooled_size(8, 3, 2, 0, 0, 1, false) == 3);
  CHECK(k::pooled_size(8, 3, 2, 0, 0, 1, true) == 4);  // window at 6 covers 6, 7 (+ overrun)
  // ceil would give 4, but that window would start at 9 = in + pad: dropped.
  CHECK(k::pooled_size(8, 3, 3, 1, 1, 1, true) == 3);
  CHECK(k::pooled_size(8, 2, 3, 0, 0, 1, true) == 3);
  // Dilation 2 spans 5: (6 + 2 - 5) / 2 + 1 = 2 (floor), 3 (ceil).
  CHECK(k::pooled_size(6, 3, 2, 1, 1, 2, false) == 2);
  CHECK(k::pooled_size(6, 3, 2, 1, 1, 2, true) == 3);
  CHECK(k::pooled_size(2, 3, 1, 0, 0, 1, false) == 0);  // too short
  CHECK(k::pooled_size(3, 1, 1, 0, 0, 1, true) == 3);
  // Asymmetric padding: only the begin padding limits the last window.
  CHECK(k::pooled_size(5, 2, 2, 0, 1, 1, false) == 3);
  CHECK(k::pooled_size(5, 2, 2, 1, 0, 1, true) == 3);
}

TEST_CASE("conv_pool: max_pool2d dilation and ceil-mode overrun") {
  // 1x7 row 0..6 (plus a second channel 6..0), kernel 1x3, dilation 2,
  // stride 2, ceil: windows start at 0, 2, 4 -> taps {0,2,4}, {2,4,6},
  // {4,6,(8 outside)}.
  const k::Pool2DWindow s = window(1, 7, 2, 1, 3, 1, 2, 0, 0, 0, 0, true, 1, 2);
  REQUIRE(s.out_w == 2);  // (7 - 5 + 1) / 2 + 1 = 2; a window at 4 would be the third
  const k::Pool2DWindow c = window(1, 8, 2, 1, 3, 1, 2, 0, 0, 0, 0, true, 1, 2);
  REQUIRE(c.out_w == 3);  // (8 - 5 + 1) / 2 + 1 = 3, last window {4, 6, 8 outside}
  std::vector<uint8_t> in;
  for (int x = 0; x < 8; ++x) {
    in.push_back(static_cast<uint8_t>(10 * x));
    in.push_back(static_cast<uint8_t>(70 - 10 * x));
  }
  std::vector<uint8_t> out(6);
  k::max_pool2d_u8_ref(c, in.data(), out.data());
  CHECK(out == std::vector<uint8_t>{40, 70, 60, 50, 60, 30});
  std::vector<float> fin(in.begin(), in.end()), fout(6);
  k::max_pool2d_f32_ref(c, fin.data(), fout.data());
  CHECK(fout == std::vector<float>{40, 70, 60, 50, 60, 30});
}

TEST_CASE("conv_pool: max_pool2d window with no tap inside (dilation)") {
  // in_h 2, kernel 2, dilation 3, pad_top 1: taps -1 and 2, both outside.
  const k::Pool2DWindow s = window(2, 1, 1, 2, 1, 1, 1, 1, 0, 1, 0, false, 3, 1);
  REQUIRE(s.out_h == 1);
  const uint8_t in[2] = {7, 9};
  uint8_t out[1] = {99};
  k::max_pool2d_u8_ref(s, in, out);
  CHECK(out[0] == 0);
  const float fin[2] = {7.f, 9.f};
  float fout[1] = {0.f};
  k::max_pool2d_f32_ref(s, fin, fout);
  CHECK(fout[0] == -INFINITY);
}

TEST_CASE("conv_pool: avg_pool2d_u8 divisors of the generic kernel and QNNPACK's") {
  // 3x3 image, q - zp = 1..9 (zp 10), kernel 3x3, stride 2, pad 1 -> 2x2
  // windows, each holding 4 in-bounds taps of the 9:
  //   sums 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28.
  const k::Pool2DWindow s = window(3, 3, 1, 3, 3, 2, 2, 1, 1, 1, 1, false);
  REQUIRE(s.out_h == 2);
  std::vector<uint8_t> in;
  for (int v = 1; v <= 9; ++v) in.push_back(static_cast<uint8_t>(10 + v));
  auto run = [&](bool qnnpack_kernel, bool count_include_pad, int32_t divisor_override) {
    const k::AvgPoolParams p = k::make_avg_pool_params(qnnpack_kernel, 1.f, 10, 1.f, 100, 9,
                                                       count_include_pad, divisor_override);
    std::vector<uint8_t> out(4);
    k::avg_pool2d_u8_ref(s, p, in.data(), out.data());
    return out;
  };
  // Padding counted: / 9 -> 1.33, 1.78, 2.67, 3.11.
  CHECK(run(false, true, 0) == std::vector<uint8_t>{101, 102, 103, 103});
  // Padding excluded: / 4 -> 3, 4, 6, 7.
  CHECK(run(false, false, 0) == std::vector<uint8_t>{103, 104, 106, 107});
  // divisor_override 8: 1.5 -> 2 (even), 2, 3, 3.5 -> 4.
  CHECK(run(false, true, 8) == std::vector<uint8_t>{102, 102, 103, 104});
  // QNNPACK always divides by the kernel area (PyTorch's qnnpack engine
  // ignores count_include_pad and divisor_override).
  CHECK(run(true, false, 0) == run(false, true, 0));
  CHECK(run(true, true, 8) == run(false, true, 0));
}

TEST_CASE("conv_pool: avg_pool2d_u8 the profiles' multipliers differ at ties (PyTorch)") {
  // s = 0.07 in and out, kernel 2x3: QNNPACK's f32(0.07 / f32(0.42)) =
  // 0.166666657 puts a window sum of 9 at 1.49999988 -> 1; the generic
  // kernel's f32(1/6) = 0.166666672 gives 1.5 -> 2 (ties to even).
  // F.avg_pool2d(x, (2, 3)) on a channels-last quint8 tensor: qnnpack engine
  // 1 + zp, onednn engine (the generic kernel) 2 + zp.
  const k::Pool2DWindow s = window(2, 3, 1, 2, 3, 2, 3, 0, 0, 0, 0, false);
  const uint8_t in[6] = {7, 7, 7, 6, 6, 6};  // zp 5: 2 + 2 + 2 + 1 + 1 + 1 = 9
  uint8_t out[1];
  k::avg_pool2d_u8_ref(s, k::make_avg_pool_params(true, 0.07f, 5, 0.07f, 5, 6, true, 0), in, out);
  CHECK(out[0] == 6);
  k::avg_pool2d_u8_ref(s, k::make_avg_pool_params(false, 0.07f, 5, 0.07f, 5, 6, true, 0), in, out);
  CHECK(out[0] == 7);
}

TEST_CASE("conv_pool: avg_pool2d_u8 ceil-mode window clipped to the padded input") {
  // 1x4 row, kernel 1x3, stride 2, pad 0/0/0/0, ceil: windows {0,1,2} and
  // {2,3,(4)}; with padding counted the second divides by its 2 taps inside
  // the (unpadded) input, as PyTorch clips pool_size to in + pad.
  const k::Pool2DWindow s = window(1, 4, 1, 1, 3, 1, 2, 0, 0, 0, 0, true);
  REQUIRE(s.out_w == 2);
  const uint8_t in[4] = {2, 4, 6, 11};  // zp 0
  uint8_t out[2];
  k::avg_pool2d_u8_ref(s, k::make_avg_pool_params(false, 1.f, 0, 1.f, 0, 3, true, 0), in, out);
  CHECK(out[0] == 4);
  CHECK(out[1] == 8);  // (6 + 11) / 2 = 8.5 -> 8
  // One column of right padding: the second window is {2, 3, pad} -> / 3.
  const k::Pool2DWindow p = window(1, 4, 1, 1, 3, 1, 2, 0, 0, 0, 1, true);
  REQUIRE(p.out_w == 2);
  k::avg_pool2d_u8_ref(p, k::make_avg_pool_params(false, 1.f, 0, 1.f, 0, 3, true, 0), in, out);
  CHECK(out[1] == 6);  // 17 / 3 = 5.67
}

TEST_CASE("conv_pool: avg_pool2d_u8 output parameters and saturation") {
  // s_in 0.1, zp_in 10, s_out 0.05, zp_out 200, 1x2 kernel: q - zp = 20, 21
  // -> 2.05 real -> 41 steps + 200 = 241 (both kernels); a larger mean
  // saturates at 255, a negative one at 0.
  const k::Pool2DWindow s = window(1, 2, 3, 1, 2, 1, 1, 0, 0, 0, 0, false);
  const uint8_t in[6] = {30, 100, 0, 31, 110, 0};
  for (const bool qnnpack_kernel : {true, false}) {
    CAPTURE(qnnpack_kernel);
    uint8_t out[3];
    k::avg_pool2d_u8_ref(s, k::make_avg_pool_params(qnnpack_kernel, 0.1f, 10, 0.05f, 200, 2, true, 0),
                         in, out);
    CHECK(out[0] == 241);
    CHECK(out[1] == 255);
    CHECK(out[2] == 180);  // -1 real -> -20 steps
  }
}

TEST_CASE("conv_pool: avg_pool2d_f32 divisors") {
  const k::Pool2DWindow s = window(3, 3, 1, 3, 3, 2, 2, 1, 1, 1, 1, false);
  const float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  float out[4];
  k::avg_pool2d_f32_ref(s, true, 0, in, out);
  CHECK(out[0] == 12.f / 9.f);
  CHECK(out[3] == 28.f / 9.f);
  k::avg_pool2d_f32_ref(s, false, 0, in, out);
  CHECK(out[0] == 3.f);
  CHECK(out[1] == 4.f);
  k::avg_pool2d_f32_ref(s, false, 2, in, out);
  CHECK(out[2] == 12.f);
}

TEST_CASE("conv_pool: adaptive_avg_pool2d windows and multipliers") {
  // 1x7 -> 1x3: windows [0, 3), [2, 5), [4, 7) (floor(7/3) = 2, ceil(14/3) = 5).
  k::AdaptivePool2DShape s;
  s.in_h = 1;
  s.in_w = 7;
  s.channels = 1;
  s.out_h = 1;
  s.out_w = 3;
  const uint8_t in[7] = {1, 2, 3, 4, 5, 6, 8};
  uint8_t out[3];
  k::adaptive_avg_pool2d_u8_ref(s, k::make_avg_pool_params(false, 1.f, 0, 1.f, 0, 1, true, 0), in,
                                out);
  CHECK(out[0] == 2);
  CHECK(out[1] == 4);
  CHECK(out[2] == 6);  // 19 / 3 = 6.33
  float fin[7], fout[3];
  for (int i = 0; i < 7; ++i) fin[i] = in[i];
  k::adaptive_avg_pool2d_f32_ref(s, fin, fout);
  CHECK(fout[2] == 19.f / 3.f);
  // Upsampling 2 -> 3: windows [0, 1), [0, 2), [1, 2).
  s.in_w = 2;
  const uint8_t up[2] = {10, 21};
  k::adaptive_avg_pool2d_u8_ref(s, k::make_avg_pool_params(false, 1.f, 0, 1.f, 0, 1, true, 0), up,
                                out);
  CHECK(out[0] == 10);
  CHECK(out[1] == 16);  // 15.5 -> 16 (even)
  CHECK(out[2] == 21);
  // The taps per dimension are the window lengths summed: 3 + 3 + 3 and 1 + 2 + 1.
  CHECK(k::adaptive_window_taps(7, 3) == 9);
  CHECK(k::adaptive_window_taps(2, 3) == 4);
  CHECK(k::adaptive_window_taps(65544, 3) == 65544);
  CHECK(k::adaptive_window_taps(5, 63489) == 63489 + 4);
}

TEST_CASE("conv_pool: adaptive_avg_pool2d_u8 QNNPACK's fixed multiplier (PyTorch)") {
  // 2x6 -> 1x2 divides into 2x3 windows: with s = 0.07 QNNPACK's multiplier
  // rounds a sum of 9 down (1) and the generic kernel up (2), as
  // F.adaptive_avg_pool2d shows on the qnnpack and onednn engines.
  k::AdaptivePool2DShape s;
  s.in_h = 2;
  s.in_w = 6;
  s.channels = 1;
  s.out_h = 1;
  s.out_w = 2;
  const uint8_t in[12] = {7, 7, 7, 5, 5, 5, 6, 6, 6, 5, 5, 8};  // zp 5: sums 9 and 3
  uint8_t out[2];
  k::adaptive_avg_pool2d_u8_ref(s, k::make_avg_pool_params(true, 0.07f, 5, 0.07f, 5, 6, true, 0),
                                in, out);
  CHECK(out[0] == 6);
  CHECK(out[1] == 5);
  k::adaptive_avg_pool2d_u8_ref(s, k::make_avg_pool_params(false, 0.07f, 5, 0.07f, 5, 6, true, 0),
                                in, out);
  CHECK(out[0] == 7);
  CHECK(out[1] == 5);
}

TEST_CASE("conv_pool: max_pool2d_u8_qnnpack clamps padding taps to the edge (PyTorch)") {
  // 1x5 row, kernel 1x2, dilation 3, pad 1 on both sides: windows start at
  // -1, 0, 1, 2 with taps {-1, 2}, {0, 3}, {1, 4}, {2, 5}. QNNPACK reads tap
  // -1 as pixel 0 and tap 5 as pixel 4, so the first window also sees 90
  // and the last 40 (as F.max_pool2d on the qnnpack engine does); the
  // generic kernel and float max pool skip them (20, 20).
  const k::Pool2DWindow s = window(1, 5, 1, 1, 2, 1, 1, 0, 1, 0, 1, false, 1, 3);
  REQUIRE(s.out_w == 4);
  const uint8_t in[5] = {90, 10, 20, 30, 40};
  uint8_t out[4];
  k::max_pool2d_u8_qnnpack_ref(s, in, out);
  CHECK(std::vector<uint8_t>(out, out + 4) == std::vector<uint8_t>{90, 90, 40, 40});
  k::max_pool2d_u8_ref(s, in, out);
  CHECK(std::vector<uint8_t>(out, out + 4) == std::vector<uint8_t>{20, 90, 40, 20});
  // Without dilation the clamped tap is one of the window's own: equal.
  const k::Pool2DWindow d1 = window(1, 5, 1, 1, 3, 1, 2, 0, 1, 0, 1, false);
  uint8_t a[3], b[3];
  k::max_pool2d_u8_qnnpack_ref(d1, in, a);
  k::max_pool2d_u8_ref(d1, in, b);
  CHECK(std::vector<uint8_t>(a, a + 3) == std::vector<uint8_t>(b, b + 3));
}

TEST_CASE("conv_pool: max_pool2d_u8_qnnpack equals a tap-by-tap clamp on a seeded sweep") {
  // QNNPACK's rule stated tap by tap: every tap clamped to the nearest edge.
  const uint32_t seed = 20250117;
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int runs = 0;
  for (int trial = 0; runs < 2000 && trial < 20000; ++trial) {
    const int kh = uni(1, 5), kw = uni(1, 5), dh = uni(1, 4), dw = uni(1, 4);
    const int pt = uni(0, kh - 1), pb = uni(0, kh - 1), pl = uni(0, kw - 1), pr = uni(0, kw - 1);
    const k::Pool2DWindow s = window(uni(1, 9), uni(1, 9), uni(1, 3), kh, kw, uni(1, 3), uni(1, 3),
                                     pt, pl, pb, pr, uni(0, 1) == 1, dh, dw);
    if (s.out_h < 1 || s.out_w < 1) continue;
    std::vector<uint8_t> in(static_cast<size_t>(s.in_h) * s.in_w * s.channels);
    for (uint8_t& v : in) v = static_cast<uint8_t>(uni(0, 255));
    std::vector<uint8_t> want(static_cast<size_t>(s.out_h) * s.out_w * s.channels, 0);
    auto clamp = [](int v, int n) { return v < 0 ? 0 : v >= n ? n - 1 : v; };
    for (int oy = 0; oy < s.out_h; ++oy)
      for (int ox = 0; ox < s.out_w; ++ox)
        for (int ky = 0; ky < kh; ++ky)
          for (int kx = 0; kx < kw; ++kx)
            for (int c = 0; c < s.channels; ++c) {
              const int iy = clamp(oy * s.stride_h - pt + ky * dh, s.in_h);
              const int ix = clamp(ox * s.stride_w - pl + kx * dw, s.in_w);
              uint8_t& w = want[(static_cast<size_t>(oy) * s.out_w + ox) * s.channels + c];
              w = std::max(w, in[(static_cast<size_t>(iy) * s.in_w + ix) * s.channels + c]);
            }
    std::vector<uint8_t> got(want.size());
    k::max_pool2d_u8_qnnpack_ref(s, in.data(), got.data());
    INFO("seed " << seed << ", trial " << trial);
    REQUIRE(got == want);
    ++runs;
  }
  CHECK(runs == 2000);
}

TEST_CASE("conv_pool: max pools with a huge padded window stay proportional to the input") {
  // Kernel 2^30 - 1 around a 2x3 image, padded so that the first window's
  // taps end on the last row and column: it covers the whole image and
  // 2^60 taps, which a tap-by-tap walk would never finish.
  const int kernel = (1 << 30) - 1;
  const k::Pool2DWindow s = window(2, 3, 2, kernel, kernel, 1, 1, kernel - 2, kernel - 3,
                                   kernel - 2, kernel - 3, false);
  REQUIRE(s.out_h >= 1);
  REQUIRE(s.out_w >= 1);
  // Only the first output pixel matters here (the kernels walk out_h x out_w).
  k::Pool2DWindow one = s;
  one.out_h = one.out_w = 1;
  const uint8_t in[12] = {1, 200, 7, 3, 250, 9, 4, 5, 6, 100, 8, 2};
  uint8_t out[2];
  k::max_pool2d_u8_qnnpack_ref(one, in, out);
  CHECK(out[0] == 250);
  CHECK(out[1] == 200);
  k::max_pool2d_u8_ref(one, in, out);
  CHECK(out[0] == 250);
  CHECK(out[1] == 200);
  const float fin[2] = {-3.f, 5.f};
  k::Pool2DWindow f = one;
  f.in_h = 1;
  f.in_w = 1;
  f.channels = 2;
  float fout[2];
  k::max_pool2d_f32_ref(f, fin, fout);
  CHECK(fout[0] == -3.f);
  CHECK(fout[1] == 5.f);
}
