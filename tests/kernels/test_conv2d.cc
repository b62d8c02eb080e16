// Reference conv2d: hand-worked cases, a PyTorch 1.13.1 fixture, and a
// seeded sweep against a naive convolution over an explicitly
// zero-point-padded image (so the kernel's bounds logic is not reused).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

#include "kernels/ref/conv2d.h"
#include "kernels/ref/quant_math.h"

namespace k = qrt::kernels;

namespace {

// Requant with multiplier 1, no bias, output zero point zp: y = acc + zp.
struct UnitRequant {
  float one = 1.f;
  k::Requant rq;
  explicit UnitRequant(int32_t zp, k::Profile profile = k::Profile::qnnpack) {
    rq.profile = profile;
    rq.multiplier = &one;
    rq.out_zp = zp;
  }
};

k::Conv2DShape shape_3x3_image(int kernel, int pad, int stride_h, int stride_w, int dilation) {
  k::Conv2DShape s;
  s.in_h = s.in_w = 3;
  s.in_c = s.out_c = 1;
  s.kernel_h = s.kernel_w = kernel;
  s.stride_h = stride_h;
  s.stride_w = stride_w;
  s.dilation_h = s.dilation_w = dilation;
  s.pad_top = s.pad_left = pad;
  const int span = (kernel - 1) * dilation + 1;
  s.out_h = (3 + 2 * pad - span) / stride_h + 1;
  s.out_w = (3 + 2 * pad - span) / stride_w + 1;
  return s;
}

// The image 1..9 (row major) above an input zero point of 100.
std::vector<uint8_t> image_1_to_9() {
  std::vector<uint8_t> in;
  for (int v = 1; v <= 9; ++v) in.push_back(static_cast<uint8_t>(100 + v));
  return in;
}

// Accumulators of a grouped, dilated, strided conv computed the slow way on
// an image padded with in_zp on every side far enough for every window.
std::vector<int64_t> naive_acc(const k::Conv2DShape& s, const std::vector<uint8_t>& in,
                               int32_t in_zp, const std::vector<int8_t>& w) {
  const int ph = std::max(s.pad_top + s.in_h,
                          (s.out_h - 1) * s.stride_h + (s.kernel_h - 1) * s.dilation_h + 1);
  const int pw = std::max(s.pad_left + s.in_w,
                          (s.out_w - 1) * s.stride_w + (s.kernel_w - 1) * s.dilation_w + 1);
  std::vector<int32_t> padded(static_cast<size_t>(s.batch) * ph * pw * s.in_c, in_zp);
  for (int n = 0; n < s.batch; ++n)
    for (int y = 0; y < s.in_h; ++y)
      for (int x = 0; x < s.in_w; ++x)
        for (int c = 0; c < s.in_c; ++c)
          padded[((n * ph + y + s.pad_top) * pw + x + s.pad_left) * s.in_c + c] =
              in[((n * s.in_h + y) * s.in_w + x) * s.in_c + c];
  const int icg = s.in_c / s.groups;
  const int ocg = s.out_c / s.groups;
  std::vector<int64_t> acc(static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.out_c, 0);
  for (int n = 0; n < s.batch; ++n)
    for (int g = 0; g < s.groups; ++g)
      for (int j = 0; j < ocg; ++j) {
        const int oc = g * ocg + j;
        for (int oy = 0; oy < s.out_h; ++oy)
          for (int ox = 0; ox < s.out_w; ++ox) {
            int64_t sum = 0;
            for (int ky = 0; ky < s.kernel_h; ++ky)
              for (int kx = 0; kx < s.kernel_w; ++kx)
                for (int i = 0; i < icg; ++i) {
                  const int y = oy * s.stride_h + ky * s.dilation_h;
                  const int x = ox * s.stride_w + kx * s.dilation_w;
                  const int32_t a = padded[((n * ph + y) * pw + x) * s.in_c + g * icg + i];
                  const int32_t wv = w[((oc * s.kernel_h + ky) * s.kernel_w + kx) * icg + i];
                  sum += (a - in_zp) * wv;
                }
            acc[((n * s.out_h + oy) * s.out_w + ox) * s.out_c + oc] = sum;
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

TEST_CASE("conv2d_u8s8: 3x3 ones kernel with padding treats padded taps as the zero point") {
  // Window sums of the 1..9 image; a padded tap read as 0 instead of in_zp
  // would subtract 100 per tap.
  const k::Conv2DShape s = shape_3x3_image(3, 1, 1, 1, 1);
  const std::vector<int8_t> w(9, 1);
  UnitRequant u(3);
  std::vector<uint8_t> out(9);
  k::conv2d_u8s8_ref(s, image_1_to_9().data(), 100, w.data(), u.rq, out.data());
  CHECK(out == std::vector<uint8_t>{15, 24, 19, 30, 48, 36, 27, 42, 31});
}

TEST_CASE("conv2d_u8s8: stride (2, 1)") {
  const k::Conv2DShape s = shape_3x3_image(3, 1, 2, 1, 1);
  REQUIRE(s.out_h == 2);
  REQUIRE(s.out_w == 3);
  const std::vector<int8_t> w(9, 1);
  UnitRequant u(3);
  std::vector<uint8_t> out(6);
  k::conv2d_u8s8_ref(s, image_1_to_9().data(), 100, w.data(), u.rq, out.data());
  CHECK(out == std::vector<uint8_t>{15, 24, 19, 27, 42, 31});
}

TEST_CASE("conv2d_u8s8: dilation 2") {
  // Pad 2, dilation 2: corners see 1, 3, 7, 9 (20), edges see two pixels
  // (2 + 8 or 4 + 6 = 10), the centre only 5.
  const k::Conv2DShape s = shape_3x3_image(3, 2, 1, 1, 2);
  REQUIRE(s.out_h == 3);
  const std::vector<int8_t> w(9, 1);
  UnitRequant u(3);
  std::vector<uint8_t> out(9);
  k::conv2d_u8s8_ref(s, image_1_to_9().data(), 100, w.data(), u.rq, out.data());
  CHECK(out == std::vector<uint8_t>{23, 13, 23, 13, 8, 13, 23, 13, 23});
}

TEST_CASE("conv2d_u8s8: groups read only their own input channels") {
  // One pixel, in_c 4 in 2 groups, 1x1 kernel. a - zp = 1, 2, 3, 4.
  // oc0 (group 0): 1*1 + 2*(-1) = -1; oc1 (group 1): 3*2 + 4*3 = 18.
  k::Conv2DShape s;
  s.in_h = s.in_w = s.out_h = s.out_w = 1;
  s.in_c = 4;
  s.out_c = 2;
  s.groups = 2;
  const std::vector<uint8_t> in = {51, 52, 53, 54};
  const std::vector<int8_t> w = {1, -1, 2, 3};
  UnitRequant u(3);
  std::vector<uint8_t> out(2);
  k::conv2d_u8s8_ref(s, in.data(), 50, w.data(), u.rq, out.data());
  CHECK(out == std::vector<uint8_t>{2, 21});
}

TEST_CASE("conv2d_u8s8: saturation and fused ReLU") {
  k::Conv2DShape s;
  s.in_h = s.in_w = s.out_h = s.out_w = 1;
  s.in_c = 1;
  s.out_c = 3;
  const std::vector<uint8_t> in = {255};
  const std::vector<int8_t> w = {127, -128, -1};  // acc = 255*127, -255*128, -255
  UnitRequant u(40);
  std::vector<uint8_t> out(3);
  k::conv2d_u8s8_ref(s, in.data(), 0, w.data(), u.rq, out.data());
  CHECK(out == std::vector<uint8_t>{255, 0, 0});
  u.rq.out_min = 40;  // ReLU: never below the output zero point
  k::conv2d_u8s8_ref(s, in.data(), 0, w.data(), u.rq, out.data());
  CHECK(out == std::vector<uint8_t>{255, 40, 40});
}

TEST_CASE("conv2d_u8s8: depthwise, stride (2, 1), per-channel, bias (PyTorch 1.13.1 qnnpack)") {
  // torch.ops.quantized.conv2d, groups 2, channel multiplier 2, 3x3, pad 1,
  // input scale 0.04 zp 131, weight scales {0.011, 0.007, 0.013, 0.005},
  // bias {0.5, -0.25, 1, 0}, output scale 0.3 zp 120.
  k::Conv2DShape s;
  s.in_h = s.in_w = 4;
  s.in_c = 2;
  s.out_c = 4;
  s.groups = 2;
  s.kernel_h = s.kernel_w = 3;
  s.stride_h = 2;
  s.pad_top = s.pad_left = 1;
  s.out_h = 2;
  s.out_w = 4;
  std::vector<uint8_t> in(32);
  for (int i = 0; i < 32; ++i) in[i] = static_cast<uint8_t>((i * 53 + 17) % 256);
  std::vector<int8_t> w(36);
  for (int i = 0; i < 36; ++i) w[i] = static_cast<int8_t>((i * 29 + 3) % 256 - 128);
  const float w_scales[4] = {0.011f, 0.007f, 0.013f, 0.005f};
  const float bias[4] = {0.5f, -0.25f, 1.f, 0.f};
  k::ConvRequantSpec spec;
  spec.profile = k::Profile::qnnpack;
  spec.in_scale = 0.04f;
  spec.w_scales = w_scales;
  spec.per_channel = true;
  spec.out_scale = 0.3f;
  spec.out_zp = 120;
  spec.bias = bias;
  spec.channels = 4;
  float m[4];
  int32_t bias_q[4];
  k::Requant rq;
  REQUIRE(k::make_conv_requant(spec, m, bias_q, nullptr, &rq));
  std::vector<uint8_t> out(32);
  k::conv2d_u8s8_ref(s, in.data(), 131, w.data(), rq, out.data());
  const std::vector<uint8_t> pytorch = {114, 114, 133, 124, 125, 121, 138, 126, 132, 126, 109,
                                        114, 131, 126, 122, 119, 110, 111, 102, 111, 126, 122,
                                        75,  101, 124, 121, 127, 121, 107, 110, 112, 116};
  CHECK(out == pytorch);
}

TEST_CASE("conv2d_u8s8: seeded sweep against a naive convolution") {
  const uint32_t seed = 20240611;
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto unif = [&](float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); };
  for (int iter = 0; iter < 300; ++iter) {
    CAPTURE(seed);
    CAPTURE(iter);
    k::Conv2DShape s;
    const int kind = uni(0, 3);  // 0,1: dense, 2: grouped, 3: depthwise
    s.groups = kind < 2 ? 1 : kind == 2 ? uni(2, 3) : uni(1, 6);
    const int icg = kind == 3 ? 1 : uni(1, 5);
    const int ocg = kind == 3 ? uni(1, 2) : uni(1, 4);
    s.in_c = icg * s.groups;
    s.out_c = ocg * s.groups;
    s.batch = uni(1, 2);
    s.kernel_h = uni(1, 4);
    s.kernel_w = uni(1, 4);
    s.stride_h = uni(1, 3);
    s.stride_w = uni(1, 3);
    s.dilation_h = uni(1, 2);
    s.dilation_w = uni(1, 2);
    const int span_h = (s.kernel_h - 1) * s.dilation_h + 1;
    const int span_w = (s.kernel_w - 1) * s.dilation_w + 1;
    s.pad_top = uni(0, span_h / 2);
    s.pad_left = uni(0, span_w / 2);
    s.in_h = uni(std::max(1, span_h - 2 * s.pad_top), span_h + 5);
    s.in_w = uni(std::max(1, span_w - 2 * s.pad_left), span_w + 5);
    // Bottom/right padding equal to top/left, as PyTorch pads.
    s.out_h = (s.in_h + 2 * s.pad_top - span_h) / s.stride_h + 1;
    s.out_w = (s.in_w + 2 * s.pad_left - span_w) / s.stride_w + 1;
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
    k::conv2d_u8s8_ref(s, in.data(), in_zp, w.data(), rq, out.data());
    const std::vector<int64_t> acc = naive_acc(s, in, in_zp, w);
    int mismatches = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const int oc = static_cast<int>(i % s.out_c);
      const uint8_t want = expected_byte(
          spec.profile, acc[i], spec.in_scale, w_scales[per_channel ? oc : 0], per_channel,
          spec.out_scale, spec.out_zp, has_bias ? &bias[oc] : nullptr, relu ? spec.out_zp : 0);
      mismatches += out[i] != want;
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("conv2d_f32: matches a double-precision naive conv and clamps") {
  const uint32_t seed = 7;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  k::Conv2DShape s;
  s.batch = 2;
  s.in_h = 5;
  s.in_w = 4;
  s.in_c = 4;
  s.out_c = 6;
  s.groups = 2;
  s.kernel_h = 3;
  s.kernel_w = 2;
  s.stride_h = 2;
  s.dilation_w = 2;
  s.pad_top = 1;
  s.pad_left = 1;
  s.out_h = (5 + 2 - 3) / 2 + 1;
  s.out_w = (4 + 2 - 3) / 1 + 1;
  std::vector<float> in(s.batch * s.in_h * s.in_w * s.in_c), w(s.out_c * 3 * 2 * 2), bias(6);
  for (auto& v : in) v = dist(rng);
  for (auto& v : w) v = dist(rng);
  for (auto& v : bias) v = dist(rng);
  std::vector<float> out(s.batch * s.out_h * s.out_w * s.out_c);
  k::conv2d_f32_ref(s, in.data(), w.data(), bias.data(), -INFINITY, INFINITY, out.data());
  int checked = 0;
  for (int n = 0; n < s.batch; ++n)
    for (int oy = 0; oy < s.out_h; ++oy)
      for (int ox = 0; ox < s.out_w; ++ox)
        for (int oc = 0; oc < s.out_c; ++oc) {
          const int g = oc / 3;
          double sum = bias[oc];
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 2; ++kx) {
              const int y = oy * 2 - 1 + ky;
              const int x = ox - 1 + kx * 2;
              if (y < 0 || y >= s.in_h || x < 0 || x >= s.in_w) continue;
              for (int i = 0; i < 2; ++i)
                sum += static_cast<double>(in[((n * s.in_h + y) * s.in_w + x) * 4 + g * 2 + i]) *
                       w[((oc * 3 + ky) * 2 + kx) * 2 + i];
            }
          const float got = out[((n * s.out_h + oy) * s.out_w + ox) * s.out_c + oc];
          CHECK(got == doctest::Approx(sum).epsilon(1e-5));
          ++checked;
        }
  CHECK(checked == 2 * 3 * 4 * 6);
  k::conv2d_f32_ref(s, in.data(), w.data(), bias.data(), 0.f, 0.25f, out.data());
  CHECK(*std::min_element(out.begin(), out.end()) == 0.f);
  CHECK(*std::max_element(out.begin(), out.end()) == 0.25f);
}

TEST_CASE("conv_pool: conv2d_u8s8 asymmetric padding (bottom/right implied by the output size)") {
  // ONNX pads and F.pad-ed inputs: pad_bottom/pad_right differ from
  // pad_top/pad_left; the kernel only sees the larger (or smaller) output.
  const uint32_t seed = 20240614;
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int checked = 0;
  for (int iter = 0; iter < 100; ++iter) {
    CAPTURE(seed);
    CAPTURE(iter);
    k::Conv2DShape s;
    s.groups = uni(1, 2);
    s.in_c = s.groups * uni(1, 3);
    s.out_c = s.groups * uni(1, 3);
    s.kernel_h = uni(1, 4);
    s.kernel_w = uni(1, 4);
    s.stride_h = uni(1, 2);
    s.stride_w = uni(1, 2);
    s.dilation_h = uni(1, 2);
    const int span_h = (s.kernel_h - 1) * s.dilation_h + 1, span_w = s.kernel_w;
    s.pad_top = uni(0, span_h - 1);
    s.pad_left = uni(0, span_w - 1);
    const int pad_bottom = uni(0, span_h - 1), pad_right = uni(0, span_w - 1);
    s.in_h = uni(1, 6);
    s.in_w = uni(1, 6);
    const int room_h = s.in_h + s.pad_top + pad_bottom - span_h;
    const int room_w = s.in_w + s.pad_left + pad_right - span_w;
    if (room_h < 0 || room_w < 0) continue;
    s.out_h = room_h / s.stride_h + 1;
    s.out_w = room_w / s.stride_w + 1;
    std::vector<uint8_t> in(static_cast<size_t>(s.in_h) * s.in_w * s.in_c);
    for (auto& v : in) v = static_cast<uint8_t>(uni(0, 255));
    std::vector<int8_t> w(static_cast<size_t>(s.out_c) * s.kernel_h * s.kernel_w * (s.in_c / s.groups));
    for (auto& v : w) v = static_cast<int8_t>(uni(-128, 127));
    const int32_t in_zp = uni(0, 255);
    // multiplier 2^-8 keeps every accumulator inside the output range.
    float m = 1.f / 256.f;
    k::Requant rq;
    rq.multiplier = &m;
    rq.out_zp = 128;
    std::vector<uint8_t> out(static_cast<size_t>(s.out_h) * s.out_w * s.out_c);
    k::conv2d_u8s8_ref(s, in.data(), in_zp, w.data(), rq, out.data());
    const std::vector<int64_t> acc = naive_acc(s, in, in_zp, w);
    int mismatches = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const double y = std::nearbyint(static_cast<double>(static_cast<float>(acc[i]) * m)) + 128;
      mismatches += out[i] != static_cast<uint8_t>(std::min(255.0, std::max(0.0, y)));
    }
    CHECK(mismatches == 0);
    ++checked;
  }
  CHECK(checked > 50);
}
