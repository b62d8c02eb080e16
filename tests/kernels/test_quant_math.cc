// Numeric helpers of kernels/ref/quant_math.h. Expected values are worked
// out by hand from NUMERICS.md; the ones marked "PyTorch" were also
// reproduced with PyTorch 1.13.1 (qnnpack engine).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>

#include "kernels/ref/quant_math.h"

namespace k = qrt::kernels;

TEST_CASE("rne rounds half to even") {
  CHECK(k::rne(0.5f) == 0.f);
  CHECK(k::rne(1.5f) == 2.f);
  CHECK(k::rne(2.5f) == 2.f);
  CHECK(k::rne(-0.5f) == 0.f);
  CHECK(k::rne(-1.5f) == -2.f);
  CHECK(k::rne(2.5000002f) == 3.f);
}

TEST_CASE("quantize_value: ties to even, zero point added after rounding") {
  // NUMERICS.md example (PyTorch): 0.5, 1.5, 2.5, -0.5, -1.5 at scale 1, zp 10.
  CHECK(k::quantize_value(0.5f, 1.f, 10, 0, 255) == 10);
  CHECK(k::quantize_value(1.5f, 1.f, 10, 0, 255) == 12);
  CHECK(k::quantize_value(2.5f, 1.f, 10, 0, 255) == 12);
  CHECK(k::quantize_value(-0.5f, 1.f, 10, 0, 255) == 10);
  CHECK(k::quantize_value(-1.5f, 1.f, 10, 0, 255) == 8);
  // With an odd zero point the order shows: rne(11 + 0.5) would be 12 and
  // rne(11 - 0.5) would be 10.
  CHECK(k::quantize_value(0.5f, 1.f, 11, 0, 255) == 11);
  CHECK(k::quantize_value(-0.5f, 1.f, 11, 0, 255) == 11);
}

TEST_CASE("quantize_value multiplies by the reciprocal of the scale") {
  // 0.0015f * f32(1 / 0.001f) = 1.49999988 -> 1, while 0.0015f / 0.001f is
  // exactly 1.5 -> 2 (PyTorch gives 1).
  REQUIRE(0.0015f / 0.001f == 1.5f);
  CHECK(k::quantize_value(0.0015f, 0.001f, 0, 0, 255) == 1);
}

TEST_CASE("rne_add_clamp saturates huge, infinite and NaN values") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(k::rne_add_clamp(inf, 10, 0, 255) == 255);
  CHECK(k::rne_add_clamp(-inf, 10, 0, 255) == 0);
  CHECK(k::rne_add_clamp(nan, 10, 0, 255) == 0);
  CHECK(k::rne_add_clamp(1e30f, 10, 0, 255) == 255);
  CHECK(k::rne_add_clamp(-1e30f, 10, 0, 255) == 0);
  // Right at the edges: 244.5 -> 244 (+10 = 254), 245.5 -> 246 (+10 = 256 -> 255).
  CHECK(k::rne_add_clamp(244.5f, 10, 0, 255) == 254);
  CHECK(k::rne_add_clamp(245.5f, 10, 0, 255) == 255);
  CHECK(k::rne_add_clamp(-10.5f, 10, 0, 255) == 0);
  CHECK(k::rne_add_clamp(-9.5f, 10, 0, 255) == 0);
  CHECK(k::rne_add_clamp(-8.5f, 10, 0, 255) == 2);
  // Fused ReLU: the lower bound is the zero point.
  CHECK(k::rne_add_clamp(-3.f, 10, 10, 255) == 10);
  // The whole int32 range, as used for the qnnpack bias.
  CHECK(k::rne_add_clamp(3e9f, 0, INT32_MIN, INT32_MAX) == INT32_MAX);
  CHECK(k::rne_add_clamp(-3e9f, 0, INT32_MIN, INT32_MAX) == INT32_MIN);
  CHECK(k::rne_add_clamp(2147483520.f, 0, INT32_MIN, INT32_MAX) == 2147483520);
  CHECK(k::rne_add_clamp(-2147483648.f, 0, INT32_MIN, INT32_MAX) == INT32_MIN);
}

TEST_CASE("make_conv_requant: qnnpack multiplier and int32 bias") {
  // s_in = 0.02, s_w = 0.003, s_out = 0.1; f32(s_w * s_in) = p;
  // m = f32(p * f32(1 / 0.1)) = 0.0005999999702908099;
  // bias 0.37 -> f32(0.37 * f32(1 / p)) = 6166.6669921875 -> 6167.
  const float w_scale = 0.003f;
  const float bias = 0.37f;
  k::ConvRequantSpec spec;
  spec.profile = k::Profile::qnnpack;
  spec.in_scale = 0.02f;
  spec.w_scales = &w_scale;
  spec.out_scale = 0.1f;
  spec.out_zp = 7;
  spec.bias = &bias;
  spec.channels = 1;
  float m = 0;
  int32_t bias_q = 0;
  k::Requant rq;
  REQUIRE(k::make_conv_requant(spec, &m, &bias_q, nullptr, &rq));
  CHECK(m == 0.0005999999702908099f);
  CHECK(bias_q == 6167);
  CHECK(rq.profile == k::Profile::qnnpack);
  CHECK(rq.multiplier == &m);
  CHECK(rq.bias_q == &bias_q);
  CHECK(rq.bias_f == nullptr);
  CHECK(rq.out_zp == 7);
  CHECK(rq.out_min == 0);
  CHECK(rq.out_max == 255);
}

TEST_CASE("make_conv_requant: fbgemm float bias, per-channel divides") {
  const float w_scales[2] = {0.003f, 0.5f};
  const float bias[2] = {0.37f, -1.25f};
  k::ConvRequantSpec spec;
  spec.profile = k::Profile::fbgemm;
  spec.in_scale = 0.02f;
  spec.w_scales = w_scales;
  spec.per_channel = true;
  spec.out_scale = 0.1f;
  spec.bias = bias;
  spec.channels = 2;
  float m[2] = {};
  float bias_f[2] = {};
  k::Requant rq;
  REQUIRE(k::make_conv_requant(spec, m, nullptr, bias_f, &rq));
  CHECK(m[0] == 0.0005999999702908099f);
  // f32(0.02 * 0.5) = 0.01f; 0.01f / 0.1f = 0.099999994f.
  CHECK(m[1] == 0.099999994f);
  CHECK(bias_f[0] == 6166.6669921875f);
  // -1.25 / 0.01f = -124.99999813735485 -> -125.0f
  CHECK(bias_f[1] == -125.f);
  CHECK(rq.per_channel);
  CHECK(rq.bias_f == bias_f);
  CHECK(rq.bias_q == nullptr);
}

TEST_CASE("make_conv_requant: fbgemm per-tensor bias uses a reciprocal") {
  // s_in * s_w = 61/1024 (exact); bias = 1.5 * 61/1024 (exact). Division
  // gives exactly 1.5; times f32(1/s) it is 1.49999988.
  const float s = 61.f / 1024.f;
  const float bias = 1.5f * s;
  k::ConvRequantSpec spec;
  spec.profile = k::Profile::fbgemm;
  spec.in_scale = 1.f;
  spec.w_scales = &s;
  spec.out_scale = 1.f;
  spec.bias = &bias;
  spec.channels = 1;
  float m = 0, bias_f = 0;
  k::Requant rq;
  REQUIRE(k::make_conv_requant(spec, &m, nullptr, &bias_f, &rq));
  CHECK(bias_f == 1.49999988f);
  spec.per_channel = true;
  REQUIRE(k::make_conv_requant(spec, &m, nullptr, &bias_f, &rq));
  CHECK(bias_f == 1.5f);
}

TEST_CASE("make_conv_requant: fused activation bounds in real units") {
  const float w_scale = 1.f;
  k::ConvRequantSpec spec;
  spec.in_scale = 1.f;
  spec.w_scales = &w_scale;
  spec.out_scale = 0.05f;
  spec.out_zp = 10;
  spec.channels = 1;
  float m = 0;
  k::Requant rq;
  for (const k::Profile profile : {k::Profile::fbgemm, k::Profile::qnnpack}) {
    spec.profile = profile;
    spec.act_min = 0.f;  // ReLU: quantize(0) = out_zp
    spec.act_max = INFINITY;
    REQUIRE(k::make_conv_requant(spec, &m, nullptr, nullptr, &rq));
    CHECK(rq.out_min == 10);
    CHECK(rq.out_max == 255);
    spec.act_max = 6.f;  // ReLU6: 10 + rne(6 * 20) = 130
    REQUIRE(k::make_conv_requant(spec, &m, nullptr, nullptr, &rq));
    CHECK(rq.out_max == 130);
    spec.act_min = -1.f;  // 10 - 20 < 0 -> 0
    spec.act_max = 100.f;  // 10 + 2000 -> 255
    REQUIRE(k::make_conv_requant(spec, &m, nullptr, nullptr, &rq));
    CHECK(rq.out_min == 0);
    CHECK(rq.out_max == 255);
    spec.act_min = -INFINITY;
    spec.act_max = INFINITY;
    REQUIRE(k::make_conv_requant(spec, &m, nullptr, nullptr, &rq));
    CHECK(rq.out_min == 0);
    CHECK(rq.out_max == 255);
  }
}

TEST_CASE("make_conv_requant rejects unusable scales") {
  float w_scales[2] = {0.5f, 0.25f};
  k::ConvRequantSpec spec;
  spec.in_scale = 0.1f;
  spec.w_scales = w_scales;
  spec.per_channel = true;
  spec.out_scale = 0.2f;
  spec.channels = 2;
  float m[2];
  k::Requant rq;
  REQUIRE(k::make_conv_requant(spec, m, nullptr, nullptr, &rq));
  w_scales[1] = 0.f;
  CHECK_FALSE(k::make_conv_requant(spec, m, nullptr, nullptr, &rq));
  w_scales[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(k::make_conv_requant(spec, m, nullptr, nullptr, &rq));
  w_scales[1] = 0.25f;
  spec.out_scale = 0.f;
  CHECK_FALSE(k::make_conv_requant(spec, m, nullptr, nullptr, &rq));
  spec.out_scale = 1e38f;  // multiplier underflows to a subnormal
  CHECK_FALSE(k::make_conv_requant(spec, m, nullptr, nullptr, &rq));
  spec.out_scale = 0.2f;
  spec.out_zp = 256;
  CHECK_FALSE(k::make_conv_requant(spec, m, nullptr, nullptr, &rq));
  spec.out_zp = 0;
  const float bias[2] = {1.f, 2.f};
  spec.bias = bias;
  spec.profile = k::Profile::qnnpack;
  CHECK_FALSE(k::make_conv_requant(spec, m, nullptr, nullptr, &rq));  // nowhere to put bias_q
}

TEST_CASE("requantize follows each profile's formula") {
  // m = 0.5: 0.5, 1.5, 2.5, 3.5 round to even (PyTorch: 0, 2, 2, 4).
  const float m = 0.5f;
  k::Requant rq;
  rq.multiplier = &m;
  for (const k::Profile profile : {k::Profile::fbgemm, k::Profile::qnnpack}) {
    rq.profile = profile;
    CHECK(k::requantize(1, rq, 0) == 0);
    CHECK(k::requantize(3, rq, 0) == 2);
    CHECK(k::requantize(5, rq, 0) == 2);
    CHECK(k::requantize(7, rq, 0) == 4);
    CHECK(k::requantize(-3, rq, 0) == 0);
    CHECK(k::requantize(600, rq, 0) == 255);
  }
  // fbgemm adds the float bias before scaling: (1 + 0.25) * 2 = 2.5 -> 2,
  // (1 + 0.26) * 2 = 2.52 -> 3.
  const float two = 2.f;
  const float bias_f[2] = {0.25f, 0.26f};
  rq.profile = k::Profile::fbgemm;
  rq.multiplier = &two;
  rq.bias_f = bias_f;
  CHECK(k::requantize(1, rq, 0) == 2);
  CHECK(k::requantize(1, rq, 1) == 3);
  // qnnpack adds the int32 bias before converting; out_zp after rounding.
  const int32_t bias_q[1] = {-4};
  rq.profile = k::Profile::qnnpack;
  rq.multiplier = &m;
  rq.bias_q = bias_q;
  rq.out_zp = 11;
  CHECK(k::requantize(9, rq, 0) == 13);   // (9 - 4) * 0.5 = 2.5 -> 2, + 11
  CHECK(k::requantize(-30, rq, 0) == 0);  // -17 + 11 < 0
  rq.out_min = 11;                        // fused ReLU
  CHECK(k::requantize(-30, rq, 0) == 11);
}

TEST_CASE("requantize adds the bias before scaling") {
  // (-258 + 8) * 0.002f = -0.500000022 -> f32 -0.5 -> 0; scaling the two
  // terms separately would give -0.50000006 -> -1.
  const float m = 0.002f;
  const int32_t bias_q = 8;
  const float bias_f = 8.f;
  REQUIRE(k::rne(-258.f * m + 8.f * m) == -1.f);
  k::Requant rq;
  rq.multiplier = &m;
  rq.out_zp = 10;
  rq.profile = k::Profile::qnnpack;
  rq.bias_q = &bias_q;
  CHECK(k::requantize(-258, rq, 0) == 10);
  rq.profile = k::Profile::fbgemm;
  rq.bias_q = nullptr;
  rq.bias_f = &bias_f;
  CHECK(k::requantize(-258, rq, 0) == 10);
}

TEST_CASE("requantize picks the per-channel multiplier only when per_channel") {
  const float m[2] = {1.f, 3.f};
  k::Requant rq;
  rq.multiplier = m;
  CHECK(k::requantize(10, rq, 1) == 10);
  rq.per_channel = true;
  CHECK(k::requantize(10, rq, 1) == 30);
}

TEST_CASE("accumulator bound") {
  // 65793 * 255 * 128 = 2147483520 = INT32_MAX - 127.
  CHECK(k::accumulator_fits_int32(65793, 127));
  CHECK_FALSE(k::accumulator_fits_int32(65793, 128));
  CHECK_FALSE(k::accumulator_fits_int32(65794, 0));
  CHECK(k::accumulator_fits_int32(k::kMaxAccumulationDepth, k::kMaxAbsQuantizedBias));
  // The worst sum at the advertised limits really is representable.
  const int64_t worst = int64_t{k::kMaxAccumulationDepth} * 255 * -128 - k::kMaxAbsQuantizedBias;
  CHECK(worst >= INT32_MIN);
  CHECK(-worst <= INT32_MAX);
}

TEST_CASE("make_add_params: qnnpack fixed point") {
  // a/out = 0.5, b/out = 0.25: exponent -1 -> shift 22, multipliers 2^21, 2^20.
  k::AddParams p = k::make_add_params(k::Profile::qnnpack, 1.f, 3, 0.5f, 4, 2.f, 5, -INFINITY,
                                      INFINITY);
  CHECK(p.shift == 22);
  CHECK(p.a_mult == 1 << 21);
  CHECK(p.b_mult == 1 << 20);
  CHECK(p.a_zp == 3);
  CHECK(p.b_zp == 4);
  CHECK(p.out_zp == 5);
  CHECK(p.out_min == 0);
  CHECK(p.out_max == 255);
  // 0.1f / 0.25f = 0.4000000059604645, 0.3f / 0.25f = 1.2000000476837158:
  // exponent 0 -> shift 21; 0.4.. * 2^21 = 838860.8125 -> 838861,
  // 1.2.. * 2^21 = 2516582.5 -> 2516582 (tie to even, as lrintf).
  p = k::make_add_params(k::Profile::qnnpack, 0.1f, 0, 0.3f, 0, 0.25f, 0, 0.f, INFINITY);
  CHECK(p.shift == 21);
  CHECK(p.a_mult == 838861);
  CHECK(p.b_mult == 2516582);
  CHECK(p.out_min == 0);
}

TEST_CASE("make_add_params: fbgemm keeps the scales") {
  const k::AddParams p =
      k::make_add_params(k::Profile::fbgemm, 0.1f, 3, 0.3f, 4, 0.25f, 9, 0.f, INFINITY);
  CHECK(p.a_scale == 0.1f);
  CHECK(p.b_scale == 0.3f);
  CHECK(p.out_inv_scale == 4.f);
  CHECK(p.out_zp == 9);
  CHECK(p.out_min == 9);  // ReLU
  CHECK(p.out_max == 255);
}

TEST_CASE("add_scales_supported follows QNNPACK's limits") {
  CHECK(k::add_scales_supported(k::Profile::qnnpack, 1.f, 1.f, 2.f));
  CHECK_FALSE(k::add_scales_supported(k::Profile::qnnpack, 256.f, 1.f, 1.f));  // ratio 2^8
  CHECK(k::add_scales_supported(k::Profile::qnnpack, 255.f, 1.f, 1.f));
  CHECK_FALSE(k::add_scales_supported(k::Profile::qnnpack, 1.f, 0x1.0p-15f, 1.f));
  CHECK(k::add_scales_supported(k::Profile::qnnpack, 1.f, 0x1.0p-14f, 1.f));
  CHECK_FALSE(k::add_scales_supported(k::Profile::qnnpack, 0x1.0p-11f, 0x1.0p-11f, 1.f));
  CHECK(k::add_scales_supported(k::Profile::fbgemm, 256.f, 1.f, 1.f));
  CHECK_FALSE(k::add_scales_supported(k::Profile::fbgemm, 0.f, 1.f, 1.f));
  CHECK_FALSE(k::add_scales_supported(k::Profile::fbgemm, 1.f, INFINITY, 1.f));
}

TEST_CASE("make_global_avg_pool_params") {
  // qnnpack: f32(s_in / f32(s_out * hw)); 0.07f / f32(0.07f * 6) = 0.166666657.
  k::GlobalAvgPoolParams q =
      k::make_global_avg_pool_params(k::Profile::qnnpack, 0.07f, 5, 0.07f, 5, 6);
  CHECK(q.bias == -30);
  CHECK(q.multiplier == 0.166666657f);
  CHECK(q.out_zp == 5);
  // fbgemm: m = f32(f32(0.07f / 0.07f) / 6) = 0.166666672, then f32(1 / f32(1 / m)).
  k::GlobalAvgPoolParams f =
      k::make_global_avg_pool_params(k::Profile::fbgemm, 0.07f, 5, 0.07f, 5, 6);
  CHECK(f.bias == -30);
  CHECK(f.multiplier == 0.166666672f);
  // hw == 1 leaves QNNPACK (PyTorch routes the identity to the generic
  // kernel). With s_in / s_out = 0.1f / 4.1f = 0.0243902449 the generic
  // f32(1 / f32(1 / m)) is 0.024390243, so the two formulas disagree here.
  q = k::make_global_avg_pool_params(k::Profile::qnnpack, 0.1f, 0, 4.1f, 0, 1);
  f = k::make_global_avg_pool_params(k::Profile::fbgemm, 0.1f, 0, 4.1f, 0, 1);
  CHECK(f.multiplier == 0.024390243f);
  CHECK(q.multiplier == 0.024390243f);
  CHECK(q.bias == 0);
}
