// Reference fully connected layer, including the cases where the fbgemm and
// qnnpack profiles give different bytes for the same float model. Each
// profile-difference case asserts both profiles' bytes, so it fails if
// either profile used the other's formula. Bytes marked "PyTorch" were
// reproduced with PyTorch 1.13.1's qnnpack engine (the local build has no
// FBGEMM; fbgemm bytes are worked out from NUMERICS.md).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

#include "kernels/ref/fully_connected.h"
#include "kernels/ref/quant_math.h"

namespace k = qrt::kernels;

namespace {

// One linear layer quantized for a profile, holding its requant storage.
struct Linear {
  k::FullyConnectedShape shape;
  std::vector<int8_t> w;
  std::vector<float> multiplier, bias_f;
  std::vector<int32_t> bias_q;
  k::Requant rq;

  Linear(k::ConvRequantSpec spec, int batch, int in_features, std::vector<int8_t> weights)
      : w(std::move(weights)) {
    shape.batch = batch;
    shape.in_features = in_features;
    shape.out_features = spec.channels;
    multiplier.resize(spec.channels);
    bias_f.resize(spec.channels);
    bias_q.resize(spec.channels);
    REQUIRE(k::make_conv_requant(spec, multiplier.data(), bias_q.data(), bias_f.data(), &rq));
  }

  std::vector<uint8_t> run(const std::vector<uint8_t>& in, int32_t in_zp) const {
    std::vector<uint8_t> out(static_cast<size_t>(shape.batch) * shape.out_features);
    k::fully_connected_u8s8_ref(shape, in.data(), in_zp, w.data(), rq, out.data());
    return out;
  }
};

k::ConvRequantSpec spec_for(k::Profile profile, float in_scale, const float* w_scales,
                            float out_scale, int32_t out_zp, const float* bias, int channels) {
  k::ConvRequantSpec spec;
  spec.profile = profile;
  spec.in_scale = in_scale;
  spec.w_scales = w_scales;
  spec.out_scale = out_scale;
  spec.out_zp = out_zp;
  spec.bias = bias;
  spec.channels = channels;
  return spec;
}

}  // namespace

TEST_CASE("fully_connected_u8s8: requantization ties round to even (PyTorch)") {
  // acc * 0.5 = 0.5, 1.5, 2.5, 3.5 -> 0, 2, 2, 4 in both profiles.
  const float w_scale = 0.5f;
  for (const k::Profile profile : {k::Profile::fbgemm, k::Profile::qnnpack}) {
    const Linear fc(spec_for(profile, 1.f, &w_scale, 1.f, 0, nullptr, 1), 4, 1, {1});
    CHECK(fc.run({1, 3, 5, 7}, 0) == std::vector<uint8_t>{0, 2, 2, 4});
  }
}

TEST_CASE("profiles differ (a): int32 bias (qnnpack) vs float bias (fbgemm)") {
  // s_in * s_w = 0.125, s_out = 0.03125: multiplier 4 in both profiles.
  // acc = 0 (input at its zero point). bias 0.05 -> 0.05 / 0.125 = 0.4:
  //   qnnpack: bias_q = rne(0.4) = 0, y = 20 + rne(0 * 4) = 20 (PyTorch)
  //   fbgemm:  y = 20 + rne(0.4 * 4 = 1.6) = 22
  const float w_scale = 0.25f;
  const float bias = 0.05f;
  const Linear q(spec_for(k::Profile::qnnpack, 0.5f, &w_scale, 0.03125f, 20, &bias, 1), 1, 1, {3});
  const Linear f(spec_for(k::Profile::fbgemm, 0.5f, &w_scale, 0.03125f, 20, &bias, 1), 1, 1, {3});
  CHECK(q.run({7}, 7) == std::vector<uint8_t>{20});
  CHECK(f.run({7}, 7) == std::vector<uint8_t>{22});
}

TEST_CASE("profiles differ (b): fbgemm per-tensor bias reciprocal vs per-channel division") {
  // s_in * s_w = 61/1024 = s (exact), s_out = s so the multiplier is 1;
  // bias = 1.5 * s (exact), acc = 0.
  //   per-channel: f32(bias / s) = 1.5 -> rne 2 -> 12
  //   per-tensor:  bias * f32(1.0 / s) = 1.49999988 -> 1 -> 11
  const float s = 61.f / 1024.f;
  const float bias = 1.5f * s;
  k::ConvRequantSpec spec = spec_for(k::Profile::fbgemm, 1.f, &s, s, 10, &bias, 1);
  const Linear per_tensor(spec, 1, 1, {5});
  spec.per_channel = true;
  const Linear per_channel(spec, 1, 1, {5});
  REQUIRE(per_tensor.multiplier[0] == 1.f);
  REQUIRE(per_channel.multiplier[0] == 1.f);
  CHECK(per_tensor.run({9}, 9) == std::vector<uint8_t>{11});
  CHECK(per_channel.run({9}, 9) == std::vector<uint8_t>{12});
}

TEST_CASE("profiles differ (c): multiplier by division (fbgemm) vs reciprocal (qnnpack)") {
  // s_in = 1, s_w = 0.0035, s_out = 0.007, no bias, acc = 3:
  //   fbgemm:  m = f32(0.0035 / 0.007) = 0.5 -> 3 * 0.5 = 1.5 -> 2 -> 12
  //   qnnpack: m = f32(0.0035 * f32(1 / 0.007)) = 0.49999997 -> 1.4999999 -> 1 -> 11 (PyTorch)
  const float w_scale = 0.0035f;
  const Linear q(spec_for(k::Profile::qnnpack, 1.f, &w_scale, 0.007f, 10, nullptr, 1), 1, 1, {1});
  const Linear f(spec_for(k::Profile::fbgemm, 1.f, &w_scale, 0.007f, 10, nullptr, 1), 1, 1, {1});
  REQUIRE(f.multiplier[0] == 0.5f);
  REQUIRE(q.multiplier[0] == 0.49999997f);
  CHECK(q.run({13}, 10) == std::vector<uint8_t>{11});
  CHECK(f.run({13}, 10) == std::vector<uint8_t>{12});
}

TEST_CASE("fully_connected_u8s8: saturation and fused ReLU lower bound") {
  const float w_scale = 1.f;
  for (const k::Profile profile : {k::Profile::fbgemm, k::Profile::qnnpack}) {
    k::ConvRequantSpec spec = spec_for(profile, 1.f, &w_scale, 1.f, 100, nullptr, 3);
    const std::vector<int8_t> w = {1, -1, 0, 1, 127, 127};  // 3 outputs x 2 inputs
    const Linear plain(spec, 1, 2, w);
    // a - zp = (-50, 60):
    //   o0 = -50 - 60 = -110 -> 100 - 110 < 0 -> 0
    //   o1 = 0 + 60 = 60 -> 160
    //   o2 = 127 * 10 = 1270 -> 255
    CHECK(plain.run({0, 110}, 50) == std::vector<uint8_t>{0, 160, 255});
    spec.act_min = 0.f;
    const Linear relu(spec, 1, 2, w);
    CHECK(relu.run({0, 110}, 50) == std::vector<uint8_t>{100, 160, 255});
  }
}

TEST_CASE("fully_connected_u8s8: deepest allowed reduction does not overflow") {
  // K = kMaxAccumulationDepth terms of (255 - 0) * -128 plus a bias of -2^30:
  // -1069547520 - 1073741824 = -2143289344, still an int32. Scaled by
  // 1e-8: -21.43 -> -21, + 100 = 79.
  const int depth = k::kMaxAccumulationDepth;
  const std::vector<uint8_t> in(depth, 255);
  const std::vector<int8_t> w(depth, -128);
  const float m = 1e-8f;
  const int32_t bias_q = -k::kMaxAbsQuantizedBias;
  k::Requant rq;
  rq.profile = k::Profile::qnnpack;
  rq.multiplier = &m;
  rq.bias_q = &bias_q;
  rq.out_zp = 100;
  k::FullyConnectedShape shape;
  shape.in_features = depth;
  shape.out_features = 1;
  uint8_t out = 0;
  k::fully_connected_u8s8_ref(shape, in.data(), 0, w.data(), rq, &out);
  CHECK(out == 79);
}

TEST_CASE("fully_connected_u8s8: seeded sweep against a row/column-offset computation") {
  // acc = sum a*w - in_zp * sum w (FBGEMM's decomposition), then
  // NUMERICS.md's requantization restated from the scales.
  const uint32_t seed = 99;
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto unif = [&](float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); };
  for (int iter = 0; iter < 200; ++iter) {
    CAPTURE(seed);
    CAPTURE(iter);
    const int batch = uni(1, 3), in_f = uni(1, 40), out_f = uni(1, 9);
    const int32_t in_zp = uni(0, 255), out_zp = uni(0, 255);
    const k::Profile profile = uni(0, 1) ? k::Profile::qnnpack : k::Profile::fbgemm;
    const bool per_channel = uni(0, 1) == 1, has_bias = uni(0, 3) != 0, relu = uni(0, 1) == 1;
    std::vector<uint8_t> in(batch * in_f);
    for (auto& v : in) v = static_cast<uint8_t>(uni(0, 255));
    std::vector<int8_t> w(out_f * in_f);
    for (auto& v : w) v = static_cast<int8_t>(uni(-128, 127));
    std::vector<float> w_scales(per_channel ? out_f : 1), bias(out_f);
    for (auto& v : w_scales) v = unif(0.001f, 0.05f);
    for (auto& v : bias) v = unif(-3.f, 3.f);
    const float in_scale = unif(0.005f, 0.1f), out_scale = unif(0.02f, 0.6f);
    k::ConvRequantSpec spec = spec_for(profile, in_scale, w_scales.data(), out_scale, out_zp,
                                       has_bias ? bias.data() : nullptr, out_f);
    spec.per_channel = per_channel;
    if (relu) spec.act_min = 0.f;
    const Linear fc(spec, batch, in_f, w);
    const std::vector<uint8_t> out = fc.run(in, in_zp);
    int mismatches = 0;
    for (int b = 0; b < batch; ++b) {
      for (int o = 0; o < out_f; ++o) {
        int64_t sum_aw = 0, sum_w = 0;
        for (int i = 0; i < in_f; ++i) {
          sum_aw += in[b * in_f + i] * w[o * in_f + i];
          sum_w += w[o * in_f + i];
        }
        const int64_t acc = sum_aw - in_zp * sum_w;
        const float sw = w_scales[per_channel ? o : 0];
        float v;
        if (profile == k::Profile::qnnpack) {
          const int64_t bq =
              has_bias ? static_cast<int64_t>(std::nearbyint(bias[o] * (1.f / (sw * in_scale)))) : 0;
          v = static_cast<float>(acc + bq) * ((sw * in_scale) * (1.f / out_scale));
        } else {
          float x = static_cast<float>(acc);
          if (has_bias) {
            x += per_channel ? bias[o] / (in_scale * sw)
                             : bias[o] * static_cast<float>(1.0 / double(in_scale * sw));
          }
          v = x * ((in_scale * sw) / out_scale);
        }
        const double y = std::nearbyint(static_cast<double>(v)) + out_zp;
        const double want = std::min(255.0, std::max(relu ? double(out_zp) : 0.0, y));
        mismatches += out[b * out_f + o] != static_cast<uint8_t>(want);
      }
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("fully_connected_f32: bias, products and clamp") {
  // in [[1, 2], [-3, 0.5]], w [[0.5, -1], [2, 4]], bias [0.25, -1]
  //   row 0: 0.25 + 0.5 - 2 = -1.25;   -1 + 2 + 8 = 9
  //   row 1: 0.25 - 1.5 - 0.5 = -1.75; -1 - 6 + 2 = -5
  k::FullyConnectedShape shape;
  shape.batch = 2;
  shape.in_features = 2;
  shape.out_features = 2;
  const float in[4] = {1.f, 2.f, -3.f, 0.5f};
  const float w[4] = {0.5f, -1.f, 2.f, 4.f};
  const float bias[2] = {0.25f, -1.f};
  float out[4];
  k::fully_connected_f32_ref(shape, in, w, bias, -INFINITY, INFINITY, out);
  CHECK(std::vector<float>(out, out + 4) == std::vector<float>{-1.25f, 9.f, -1.75f, -5.f});
  k::fully_connected_f32_ref(shape, in, w, nullptr, 0.f, 6.f, out);
  CHECK(std::vector<float>(out, out + 4) == std::vector<float>{0.f, 6.f, 0.f, 0.f});
}
