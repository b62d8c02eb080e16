// Reference transposed conv2d: hand-worked cases, the profiles' bias
// handling, and a seeded sweep against a scatter-style transposed
// convolution (every input pixel adds its kernel footprint to the output),
// which shares no index logic with the kernel's gather.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/ref/quant_math.h"
#include "kernels/ref/transpose_conv2d.h"

namespace k = qrt::kernels;

namespace {

// Requant with multiplier 1, no bias, output zero point zp: y = acc + zp.
struct UnitRequant {
  float one = 1.f;
  k::Requant rq;
  explicit UnitRequant(int32_t zp) {
    rq.multiplier = &one;
    rq.out_zp = zp;
  }
};

// Accumulators by scattering: input pixel (iy, ix) adds
// (in - zp) * w[oc, ky, kx, ic] at (iy * s - pad + ky * d, ix * s - pad + kx * d).
std::vector<int64_t> scatter_acc(const k::Conv2DShape& s, const std::vector<uint8_t>& in,
                                 int32_t in_zp, const std::vector<int8_t>& w) {
  const int icg = s.in_c / s.groups, ocg = s.out_c / s.groups;
  std::vector<int64_t> acc(static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.out_c, 0);
  for (int n = 0; n < s.batch; ++n)
    for (int iy = 0; iy < s.in_h; ++iy)
      for (int ix = 0; ix < s.in_w; ++ix)
        for (int c = 0; c < s.in_c; ++c) {
          const int g = c / icg, i = c % icg;
          const int64_t a = in[((n * s.in_h + iy) * s.in_w + ix) * s.in_c + c] - in_zp;
          for (int ky = 0; ky < s.kernel_h; ++ky)
            for (int kx = 0; kx < s.kernel_w; ++kx) {
              const int oy = iy * s.stride_h - s.pad_top + ky * s.dilation_h;
              const int ox = ix * s.stride_w - s.pad_left + kx * s.dilation_w;
              if (oy < 0 || oy >= s.out_h || ox < 0 || ox >= s.out_w) continue;
              for (int j = 0; j < ocg; ++j) {
                const int oc = g * ocg + j;
                acc[((n * s.out_h + oy) * s.out_w + ox) * s.out_c + oc] +=
                    a * w[((oc * s.kernel_h + ky) * s.kernel_w + kx) * icg + i];
              }
            }
        }
  return acc;
}

// NUMERICS.md's requantization restated from the scales.
uint8_t expected_byte(k::Profile profile, int64_t acc, float s_in, float s_w, bool per_channel,
                      float s_out, int32_t zp, const float* bias, int32_t lo) {
  float v;
  if (profile == k::Profile::qnnpack) {
    const float m = (s_w * s_in) * (1.f / s_out);
    const int64_t bq = bias ? static_cast<int64_t>(std::nearbyint(*bias * (1.f / (s_w * s_in)))) : 0;
    v = static_cast<float>(acc + bq) * m;
  } else {
    const float m = (s_in * s_w) / s_out;
    float f = static_cast<float>(acc);
    if (bias) {
      f += per_channel ? *bias / (s_in * s_w)
                       : *bias * static_cast<float>(1.0 / static_cast<double>(s_in * s_w));
    }
    v = f * m;
  }
  const double y = std::nearbyint(static_cast<double>(v)) + zp;
  return static_cast<uint8_t>(std::min(255.0, std::max(static_cast<double>(lo), y)));
}

}  // namespace

TEST_CASE("conv_pool: transpose_conv2d_u8s8 3x3 stride 2 pad 1 upsamples 2x2 to 3x3") {
  // Input a - zp = 1, 2 / 3, 4; all-ones 3x3 kernel. Output (oy, ox) sums
  // the inputs (iy, ix) with oy = 2 * iy - 1 + ky for some ky in 0..2:
  // rows 0 <- {0}, 1 <- {0, 1}, 2 <- {1}; columns alike.
  k::Conv2DShape s;
  s.in_h = s.in_w = 2;
  s.in_c = s.out_c = 1;
  s.kernel_h = s.kernel_w = 3;
  s.stride_h = s.stride_w = 2;
  s.pad_top = s.pad_left = 1;
  s.out_h = s.out_w = 3;
  const std::vector<uint8_t> in = {11, 12, 13, 14};
  const std::vector<int8_t> w(9, 1);
  UnitRequant u(100);
  std::vector<uint8_t> out(9);
  k::transpose_conv2d_u8s8_ref(s, in.data(), 10, w.data(), u.rq, out.data());
  CHECK(out == std::vector<uint8_t>{101, 103, 102, 104, 110, 106, 103, 107, 104});
}

TEST_CASE("conv_pool: transpose_conv2d_u8s8 weights per tap, gaps hold the bias only") {
  // 1x1 kernel, stride 3: only every third output pixel has a source; the
  // others are bias alone (qnnpack: bias_q = rne(0.75 / (0.5 * 1)) = 2 at
  // multiplier 0.5 * 1 / 1 -> 1).
  k::Conv2DShape s;
  s.in_h = 1;
  s.in_w = 2;
  s.in_c = 1;
  s.out_c = 1;
  s.stride_w = 3;
  s.out_h = 1;
  s.out_w = 5;  // (2 - 1) * 3 + 1 = 4, plus output padding 1
  const std::vector<uint8_t> in = {20, 30};
  const std::vector<int8_t> w = {-3};
  const float w_scale = 0.5f, bias = 0.75f;
  k::ConvRequantSpec spec;
  spec.in_scale = 1.f;
  spec.w_scales = &w_scale;
  spec.out_scale = 1.f;
  spec.out_zp = 128;
  spec.bias = &bias;
  spec.channels = 1;
  float m;
  int32_t bias_q;
  k::Requant rq;
  REQUIRE(k::make_conv_requant(spec, &m, &bias_q, nullptr, &rq));
  REQUIRE(bias_q == 2);
  std::vector<uint8_t> out(5);
  k::transpose_conv2d_u8s8_ref(s, in.data(), 10, w.data(), rq, out.data());
  // acc = -30 and -60 at x = 0 and 3: (acc + 2) * 0.5 = -14, -29.
  CHECK(out == std::vector<uint8_t>{114, 129, 129, 99, 129});
}

TEST_CASE("conv_pool: transpose_conv2d_u8s8 profiles differ in the bias") {
  // s_in = s_w = s_out = 1, acc = 1, bias 0.5:
  //   qnnpack quantizes the bias first: rne(0.5) = 0 -> y = 1 + zp;
  //   fbgemm adds it in float: rne(1.5) = 2 -> y = 2 + zp.
  k::Conv2DShape s;
  s.in_h = s.in_w = s.out_h = s.out_w = 1;
  s.in_c = s.out_c = 1;
  const uint8_t in[1] = {11};
  const int8_t w[1] = {1};
  const float one = 1.f, bias = 0.5f;
  for (const k::Profile profile : {k::Profile::qnnpack, k::Profile::fbgemm}) {
    CAPTURE(static_cast<int>(profile));
    k::ConvRequantSpec spec;
    spec.profile = profile;
    spec.in_scale = 1.f;
    spec.w_scales = &one;
    spec.out_scale = 1.f;
    spec.out_zp = 50;
    spec.bias = &bias;
    spec.channels = 1;
    float m, bias_f;
    int32_t bias_q;
    k::Requant rq;
    REQUIRE(k::make_conv_requant(spec, &m, &bias_q, &bias_f, &rq));
    uint8_t out[1];
    k::transpose_conv2d_u8s8_ref(s, in, 10, w, rq, out);
    CHECK(out[0] == (profile == k::Profile::qnnpack ? 51 : 52));
  }
}

TEST_CASE("conv_pool: transpose_conv2d_u8s8 seeded sweep against a scatter convolution") {
  const uint32_t seed = 20240613;
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto unif = [&](float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); };
  int checked = 0;
  for (int iter = 0; iter < 300; ++iter) {
    CAPTURE(seed);
    CAPTURE(iter);
    k::Conv2DShape s;
    s.groups = uni(0, 2) == 0 ? uni(2, 3) : 1;
    const int icg = uni(1, 4), ocg = uni(1, 3);
    s.in_c = icg * s.groups;
    s.out_c = ocg * s.groups;
    s.batch = uni(1, 2);
    s.in_h = uni(1, 5);
    s.in_w = uni(1, 5);
    s.kernel_h = uni(1, 4);
    s.kernel_w = uni(1, 4);
    s.stride_h = uni(1, 3);
    s.stride_w = uni(1, 3);
    s.dilation_h = uni(1, 2);
    s.dilation_w = uni(1, 2);
    const int span_h = (s.kernel_h - 1) * s.dilation_h + 1;
    const int span_w = (s.kernel_w - 1) * s.dilation_w + 1;
    s.pad_top = uni(0, span_h - 1);
    s.pad_left = uni(0, span_w - 1);
    const int pad_bottom = uni(0, span_h - 1), pad_right = uni(0, span_w - 1);
    s.out_h = (s.in_h - 1) * s.stride_h + span_h - s.pad_top - pad_bottom +
              uni(0, std::max(s.stride_h, s.dilation_h) - 1);
    s.out_w = (s.in_w - 1) * s.stride_w + span_w - s.pad_left - pad_right +
              uni(0, std::max(s.stride_w, s.dilation_w) - 1);
    if (s.out_h < 1 || s.out_w < 1) continue;
    CAPTURE(s.groups);
    CAPTURE(s.kernel_h);
    CAPTURE(s.stride_h);
    CAPTURE(s.dilation_h);
    CAPTURE(s.pad_top);

    std::vector<uint8_t> in(static_cast<size_t>(s.batch) * s.in_h * s.in_w * s.in_c);
    for (auto& v : in) v = static_cast<uint8_t>(uni(0, 255));
    std::vector<int8_t> w(static_cast<size_t>(s.out_c) * s.kernel_h * s.kernel_w * icg);
    for (auto& v : w) v = static_cast<int8_t>(uni(-128, 127));
    const int32_t in_zp = uni(0, 255);
    const bool per_channel = uni(0, 1) == 1;
    std::vector<float> w_scales(per_channel ? s.out_c : 1);
    for (auto& v : w_scales) v = unif(0.001f, 0.05f);
    std::vector<float> bias(s.out_c);
    for (auto& v : bias) v = unif(-2.f, 2.f);
    const bool has_bias = uni(0, 4) != 0;
    const bool relu = uni(0, 2) == 0;

    k::ConvRequantSpec spec;
    spec.profile = uni(0, 1) ? k::Profile::qnnpack : k::Profile::fbgemm;
    spec.in_scale = unif(0.005f, 0.1f);
    spec.w_scales = w_scales.data();
    spec.per_channel = per_channel;
    spec.out_scale = unif(0.01f, 0.5f);
    spec.out_zp = uni(0, 255);
    spec.bias = has_bias ? bias.data() : nullptr;
    spec.channels = s.out_c;
    if (relu) spec.act_min = 0.f;
    std::vector<float> multiplier(s.out_c), bias_f(s.out_c);
    std::vector<int32_t> bias_q(s.out_c);
    k::Requant rq;
    REQUIRE(k::make_conv_requant(spec, multiplier.data(), bias_q.data(), bias_f.data(), &rq));

    std::vector<uint8_t> out(static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.out_c);
    k::transpose_conv2d_u8s8_ref(s, in.data(), in_zp, w.data(), rq, out.data());
    const std::vector<int64_t> acc = scatter_acc(s, in, in_zp, w);
    int mismatches = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const int oc = static_cast<int>(i % s.out_c);
      const uint8_t want = expected_byte(
          spec.profile, acc[i], spec.in_scale, w_scales[per_channel ? oc : 0], per_channel,
          spec.out_scale, spec.out_zp, has_bias ? &bias[oc] : nullptr, relu ? spec.out_zp : 0);
      mismatches += out[i] != want;
    }
    CHECK(mismatches == 0);
    ++checked;
  }
  CHECK(checked > 250);
}

TEST_CASE("conv_pool: transpose_conv2d_f32 matches a double-precision scatter and clamps") {
  const uint32_t seed = 11;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  k::Conv2DShape s;
  s.batch = 2;
  s.in_h = 3;
  s.in_w = 4;
  s.in_c = 4;
  s.out_c = 6;
  s.groups = 2;
  s.kernel_h = 3;
  s.kernel_w = 2;
  s.stride_h = 2;
  s.stride_w = 1;
  s.dilation_w = 2;
  s.pad_top = 1;
  s.pad_left = 1;
  s.out_h = (3 - 1) * 2 + 3 - 2 + 1;  // output padding 1
  s.out_w = (4 - 1) * 1 + 3 - 2;
  std::vector<float> in(s.batch * s.in_h * s.in_w * s.in_c), w(s.out_c * 3 * 2 * 2), bias(6);
  for (auto& v : in) v = dist(rng);
  for (auto& v : w) v = dist(rng);
  for (auto& v : bias) v = dist(rng);
  std::vector<double> want(static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.out_c);
  for (size_t i = 0; i < want.size(); ++i) want[i] = bias[i % s.out_c];
  for (int n = 0; n < s.batch; ++n)
    for (int iy = 0; iy < s.in_h; ++iy)
      for (int ix = 0; ix < s.in_w; ++ix)
        for (int c = 0; c < s.in_c; ++c)
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 2; ++kx) {
              const int oy = iy * 2 - 1 + ky, ox = ix - 1 + kx * 2;
              if (oy < 0 || oy >= s.out_h || ox < 0 || ox >= s.out_w) continue;
              const int g = c / 2;
              for (int j = 0; j < 3; ++j) {
                const int oc = g * 3 + j;
                want[((n * s.out_h + oy) * s.out_w + ox) * s.out_c + oc] +=
                    static_cast<double>(in[((n * s.in_h + iy) * s.in_w + ix) * 4 + c]) *
                    w[((oc * 3 + ky) * 2 + kx) * 2 + c % 2];
              }
            }
  std::vector<float> out(want.size());
  k::transpose_conv2d_f32_ref(s, in.data(), w.data(), bias.data(), -INFINITY, INFINITY, out.data());
  for (size_t i = 0; i < out.size(); ++i) {
    CAPTURE(i);
    CHECK(out[i] == doctest::Approx(want[i]).epsilon(1e-5));
  }
  k::transpose_conv2d_f32_ref(s, in.data(), w.data(), nullptr, 0.f, 0.25f, out.data());
  CHECK(*std::min_element(out.begin(), out.end()) == 0.f);
  CHECK(*std::max_element(out.begin(), out.end()) == 0.25f);
}
