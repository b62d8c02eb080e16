// Reference quantize / dequantize and clamp kernels.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/ref/clamp.h"
#include "kernels/ref/quantize.h"

namespace k = qrt::kernels;

TEST_CASE("quantize_f32_u8: ties to even, then the zero point (PyTorch)") {
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f};
  std::vector<uint8_t> q(x.size());
  k::quantize_f32_u8_ref(x.size(), x.data(), 1.f, 10, q.data());
  CHECK(q == std::vector<uint8_t>{10, 12, 12, 10, 8});
  // Odd zero point: rounding zp + x instead would give 12, 13, 14, 11, 9.
  k::quantize_f32_u8_ref(x.size(), x.data(), 1.f, 11, q.data());
  CHECK(q == std::vector<uint8_t>{11, 13, 13, 11, 9});
}

TEST_CASE("quantize_f32_u8: reciprocal of the scale, saturation, infinities, NaN") {
  const float inf = std::numeric_limits<float>::infinity();
  // 0.0015 * f32(1/0.001) = 1.49999988 -> 1 (division would give 1.5 -> 2; PyTorch: 1).
  const std::vector<float> x = {0.0015f, 1.f, -1.f, 0.3f, -0.3f, inf, -inf, NAN, 1e20f};
  std::vector<uint8_t> q(x.size());
  k::quantize_f32_u8_ref(x.size(), x.data(), 0.001f, 0, q.data());
  CHECK(q == std::vector<uint8_t>{1, 255, 0, 255, 0, 255, 0, 0, 255});
  k::quantize_f32_u8_ref(x.size(), x.data(), 0.01f, 128, q.data());
  // 1 / 0.01 = 100 steps; 0.3 -> 30 steps.
  CHECK(q == std::vector<uint8_t>{128, 228, 28, 158, 98, 255, 0, 0, 255});
}

TEST_CASE("quantize_f32_s8: signed range") {
  const std::vector<float> x = {0.f, 1.27f, 1.28f, -1.28f, -1.29f, 0.025f, -0.025f, NAN};
  std::vector<int8_t> q(x.size());
  k::quantize_f32_s8_ref(x.size(), x.data(), 0.01f, 0, q.data());
  // f32(0.025f * f32(1 / 0.01f)) is exactly 2.5, a tie -> 2 (even).
  CHECK(q == std::vector<int8_t>{0, 127, 127, -128, -128, 2, -2, -128});
  k::quantize_f32_s8_ref(x.size(), x.data(), 0.01f, -5, q.data());
  CHECK(q == std::vector<int8_t>{-5, 122, 123, -128, -128, -3, -7, -128});
}

TEST_CASE("dequantize: scale * (q - zp), rounded once") {
  // s = 0.0005, zp = 3: f32(s * (q - zp)) is the correctly rounded product;
  // f32(s*q) - f32(s*zp) would round twice and differ for q = 1, 2, 4, 5.
  const float s = 0.0005f;
  const std::vector<uint8_t> q = {0, 1, 2, 3, 4, 5, 255};
  std::vector<float> x(q.size());
  k::dequantize_u8_f32_ref(q.size(), q.data(), s, 3, x.data());
  for (size_t i = 0; i < q.size(); ++i) {
    CAPTURE(i);
    CHECK(x[i] == static_cast<float>(static_cast<double>(s) * (q[i] - 3)));
  }
  REQUIRE(s * 1.f - s * 3.f != x[1]);
  CHECK(x[3] == 0.f);
  const std::vector<int8_t> qs = {-128, -1, 0, 127};
  std::vector<float> xs(qs.size());
  k::dequantize_s8_f32_ref(qs.size(), qs.data(), 0.5f, -1, xs.data());
  CHECK(xs == std::vector<float>{-63.5f, 0.f, 0.5f, 64.f});
}

TEST_CASE("quantize then dequantize round-trips representable values") {
  std::vector<float> x;
  for (int i = 0; i < 256; ++i) x.push_back(0.25f * static_cast<float>(i - 40));
  std::vector<uint8_t> q(x.size());
  std::vector<float> back(x.size());
  k::quantize_f32_u8_ref(x.size(), x.data(), 0.25f, 40, q.data());
  k::dequantize_u8_f32_ref(q.size(), q.data(), 0.25f, 40, back.data());
  CHECK(back == x);
}

TEST_CASE("clamp_u8: relu and relu6 bounds, in place") {
  std::vector<uint8_t> v = {0, 9, 10, 11, 129, 130, 131, 255};
  k::clamp_u8_ref(v.size(), v.data(), 10, 130, v.data());
  CHECK(v == std::vector<uint8_t>{10, 10, 10, 11, 129, 130, 130, 130});
  const std::vector<uint8_t> in = {0, 200};
  std::vector<uint8_t> out(2);
  k::clamp_u8_ref(2, in.data(), 0, 255, out.data());
  CHECK(out == in);
}

TEST_CASE("clamp_f32: bounds, infinities, NaN, in place") {
  const float inf = std::numeric_limits<float>::infinity();
  float v[6] = {-1.f, 0.f, 3.f, 7.f, inf, NAN};
  k::clamp_f32_ref(6, v, 0.f, 6.f, v);
  CHECK(v[0] == 0.f);
  CHECK(v[1] == 0.f);
  CHECK(v[2] == 3.f);
  CHECK(v[3] == 6.f);
  CHECK(v[4] == 6.f);
  CHECK(std::isnan(v[5]));
  float w[2] = {-inf, 5.f};
  k::clamp_f32_ref(2, w, -inf, inf, w);
  CHECK(w[0] == -inf);
  CHECK(w[1] == 5.f);
}

TEST_CASE("conv_pool: quantize saturates huge values (PyTorch) and beyond int64 (ARM PyTorch)") {
  // x86 PyTorch 1.13 (torch.quantize_per_tensor, scale 1): 3e9, 1e15 and
  // 1e18 give 255 / 127, their negatives 0 / -128, for any zero point.
  const std::vector<float> x = {3e9f, -3e9f, 1e15f, -1e15f, 1e18f, -1e30f, 255.4f, 255.5f};
  std::vector<uint8_t> q(x.size());
  k::quantize_f32_u8_ref(x.size(), x.data(), 1.f, 200, q.data());
  CHECK(q == std::vector<uint8_t>{255, 0, 255, 0, 255, 0, 255, 255});
  std::vector<int8_t> qs(x.size());
  k::quantize_f32_s8_ref(x.size(), x.data(), 1.f, 100, qs.data());
  CHECK(qs == std::vector<int8_t>{127, -128, 127, -128, 127, -128, 127, 127});
  // From 2^63 steps up (and +inf) x86 PyTorch's scalar int64 conversion
  // overflows and it returns 0 / -128; ARM PyTorch's vector path and qrt
  // saturate.
  const std::vector<float> over = {1e19f, 1e30f, INFINITY};
  k::quantize_f32_u8_ref(over.size(), over.data(), 1.f, 0, q.data());
  CHECK(q[0] == 255);
  CHECK(q[1] == 255);
  CHECK(q[2] == 255);
}
