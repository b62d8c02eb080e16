// Reference quantized add: QNNPACK's fixed point with round half away from
// zero vs PyTorch's generic float kernel with round half to even. Bytes
// marked "PyTorch" were reproduced with PyTorch 1.13.1 (qnnpack engine for
// qnnpack; the generic kernel, which the fbgemm engine uses, via the onednn
// engine).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

#include "kernels/ref/add.h"
#include "kernels/ref/quant_math.h"

namespace k = qrt::kernels;

namespace {

std::vector<uint8_t> add(const k::AddParams& p, const std::vector<uint8_t>& a,
                         const std::vector<uint8_t>& b) {
  std::vector<uint8_t> out(a.size());
  k::add_u8_ref(p, a.size(), a.data(), b.data(), out.data());
  return out;
}

}  // namespace

TEST_CASE("profiles differ (d): qnnpack rounds half away from zero, fbgemm half to even") {
  // s_a = 1, b at its zero point, s_out = 2: a / 2 = 0.5, 1.5, 2.5, 3.5 (PyTorch).
  const std::vector<uint8_t> a = {1, 3, 5, 7}, b = {0, 0, 0, 0};
  const k::AddParams q =
      k::make_add_params(k::Profile::qnnpack, 1.f, 0, 1.f, 0, 2.f, 0, -INFINITY, INFINITY);
  const k::AddParams f =
      k::make_add_params(k::Profile::fbgemm, 1.f, 0, 1.f, 0, 2.f, 0, -INFINITY, INFINITY);
  CHECK(add(q, a, b) == std::vector<uint8_t>{1, 2, 3, 4});
  CHECK(add(f, a, b) == std::vector<uint8_t>{0, 2, 2, 4});
}

TEST_CASE("qnnpack add: negative halves round away from zero") {
  // a - a_zp = -1, -3, -5, -7 -> -0.5, -1.5, -2.5, -3.5
  //   qnnpack: -1, -2, -3, -4 (+10);  fbgemm: -0, -2, -2, -4 (+10)
  const std::vector<uint8_t> a = {0, 0, 0, 0}, b = {9, 9, 9, 9};
  for (const int32_t a_zp : {1, 3, 5, 7}) {
    const k::AddParams q =
        k::make_add_params(k::Profile::qnnpack, 1.f, a_zp, 1.f, 9, 2.f, 10, -INFINITY, INFINITY);
    const k::AddParams f =
        k::make_add_params(k::Profile::fbgemm, 1.f, a_zp, 1.f, 9, 2.f, 10, -INFINITY, INFINITY);
    CAPTURE(a_zp);
    CHECK(add(q, a, b)[0] == 10 - (a_zp + 1) / 2);
    const int even = static_cast<int>(std::nearbyint(-a_zp / 2.0));
    CHECK(add(f, a, b)[0] == 10 + even);
  }
}

TEST_CASE("fbgemm add dequantizes with a fused multiply-add (PyTorch)") {
  // s_a = 0.0005, a_zp = 37, a = 67; s_b = 0.25, b = 1; s_out = 0.01.
  // fma(0.0005, 67, f32(0.0005 * -37)) + 0.25 = 0.265000015 -> 27, while
  // f32(0.0005 * (67 - 37)) + 0.25 = 0.264999986 would give 26.
  const k::AddParams f =
      k::make_add_params(k::Profile::fbgemm, 0.0005f, 37, 0.25f, 0, 0.01f, 0, -INFINITY, INFINITY);
  REQUIRE(k::rne((0.0005f * 30.f + 0.25f) * (1.f / 0.01f)) == 26.f);
  CHECK(add(f, {67}, {1}) == std::vector<uint8_t>{27});
  const k::AddParams q = k::make_add_params(k::Profile::qnnpack, 0.0005f, 37, 0.25f, 0, 0.01f, 0,
                                            -INFINITY, INFINITY);
  CHECK(add(q, {67}, {1}) == std::vector<uint8_t>{27});
}

TEST_CASE("add: fused ReLU lower bound and saturation") {
  for (const k::Profile profile : {k::Profile::fbgemm, k::Profile::qnnpack}) {
    CAPTURE(static_cast<int>(profile));
    // s = 1 everywhere, zero points 100: y = a + b - 100.
    const k::AddParams plain =
        k::make_add_params(profile, 1.f, 100, 1.f, 100, 1.f, 100, -INFINITY, INFINITY);
    const k::AddParams relu =
        k::make_add_params(profile, 1.f, 100, 1.f, 100, 1.f, 100, 0.f, INFINITY);
    const std::vector<uint8_t> a = {90, 0, 200, 255, 100};
    const std::vector<uint8_t> b = {95, 10, 200, 255, 101};
    CHECK(add(plain, a, b) == std::vector<uint8_t>{85, 0, 255, 255, 101});
    CHECK(add(relu, a, b) == std::vector<uint8_t>{100, 100, 255, 255, 101});
  }
}

TEST_CASE("qnnpack add: seeded sweep against the exact rational value") {
  // y = rhaz((m_a (a - a_zp) + m_b (b - b_zp)) / 2^shift) + out_zp, with
  // rhaz = std::round; the sum is exact in double.
  const uint32_t seed = 31337;
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto unif = [&](float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); };
  for (int iter = 0; iter < 200; ++iter) {
    CAPTURE(seed);
    CAPTURE(iter);
    const float sa = unif(0.01f, 0.2f), sb = unif(0.01f, 0.2f), so = unif(0.02f, 0.4f);
    const int32_t a_zp = uni(0, 255), b_zp = uni(0, 255), out_zp = uni(0, 255);
    REQUIRE(k::add_scales_supported(k::Profile::qnnpack, sa, sb, so));
    const k::AddParams p =
        k::make_add_params(k::Profile::qnnpack, sa, a_zp, sb, b_zp, so, out_zp, -INFINITY, INFINITY);
    std::vector<uint8_t> a(64), b(64);
    for (auto& v : a) v = static_cast<uint8_t>(uni(0, 255));
    for (auto& v : b) v = static_cast<uint8_t>(uni(0, 255));
    const std::vector<uint8_t> out = add(p, a, b);
    int mismatches = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double acc = double(p.a_mult) * (a[i] - a_zp) + double(p.b_mult) * (b[i] - b_zp);
      const double y = std::round(std::ldexp(acc, -p.shift)) + out_zp;
      mismatches += out[i] != static_cast<uint8_t>(std::fmin(255.0, std::fmax(0.0, y)));
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("fbgemm add: seeded sweep stays within half a step of the real sum") {
  const uint32_t seed = 4242;
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto unif = [&](float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); };
  for (int iter = 0; iter < 200; ++iter) {
    CAPTURE(seed);
    CAPTURE(iter);
    const float sa = unif(0.01f, 0.2f), sb = unif(0.01f, 0.2f), so = unif(0.02f, 0.4f);
    const int32_t a_zp = uni(0, 255), b_zp = uni(0, 255), out_zp = uni(0, 255);
    const k::AddParams p =
        k::make_add_params(k::Profile::fbgemm, sa, a_zp, sb, b_zp, so, out_zp, -INFINITY, INFINITY);
    std::vector<uint8_t> a(64), b(64);
    for (auto& v : a) v = static_cast<uint8_t>(uni(0, 255));
    for (auto& v : b) v = static_cast<uint8_t>(uni(0, 255));
    const std::vector<uint8_t> out = add(p, a, b);
    int far = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double real = (double(sa) * (a[i] - a_zp) + double(sb) * (b[i] - b_zp)) / so + out_zp;
      const double clamped = std::fmin(255.0, std::fmax(0.0, real));
      far += std::fabs(out[i] - clamped) > 0.5 + 1e-4;
    }
    CHECK(far == 0);
  }
}

TEST_CASE("add_f32: sum and clamp") {
  const float a[4] = {1.f, -2.f, 3.5f, NAN};
  const float b[4] = {0.5f, 1.f, 4.f, 0.f};
  float out[4];
  k::add_f32_ref(4, a, b, -INFINITY, INFINITY, out);
  CHECK(out[0] == 1.5f);
  CHECK(out[1] == -1.f);
  CHECK(out[2] == 7.5f);
  CHECK(std::isnan(out[3]));
  k::add_f32_ref(4, a, b, 0.f, 6.f, out);
  CHECK(out[0] == 1.5f);
  CHECK(out[1] == 0.f);
  CHECK(out[2] == 6.f);
}
