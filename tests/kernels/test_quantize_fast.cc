// Fast float -> u8/s8 quantize (kernels/x86/quantize_avx2.cc,
// kernels/arm/quantize_neon.cc) against quantize_f32_u8_ref /
// quantize_f32_s8_ref, byte for byte, on every tier this machine has (avx2
// always on x86). Random cases sweep lengths 0..300 and a few long ones
// (every vector tail), scales log-uniform over 1e-4..10 plus powers of two
// (whose reciprocals are exact, so x = (k + 1/2) * scale lands on a rounding
// tie), zero points over the whole type range and beyond it (the reference
// fallback), and values: plain, ties, saturating, huge, subnormal, signed
// zeros, infinities and NaN. Pointers are unaligned at random; bytes around
// the output must stay untouched.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/quantize.h"
#include "support/random_cases.h"
#include "support/tier_runs.h"

namespace {

namespace k = qrt::kernels;
using qrt::test::coin;
using qrt::test::fast_tiers;
using qrt::test::log_uniform;
using qrt::test::uniform;

constexpr uint32_t kSeed = 20250301;
constexpr int kCases = 2500;  // per tier and type
constexpr uint8_t kCanary = 0xA5;
constexpr size_t kGuard = 16;

float random_scale(std::mt19937& rng) {
  const int kind = uniform(rng, 0, 19);
  if (kind < 12) return log_uniform(rng, 1e-4f, 10.f);
  if (kind < 18) return std::ldexp(1.f, uniform(rng, -13, 3));  // exact reciprocal
  // Degenerate scales the op never sees, but the kernels must still match.
  static const float kOdd[] = {1e-30f, 3e37f, 1e38f, 1.2e-38f,
                               1e-41f, 0.f,   -0.5f, std::numeric_limits<float>::infinity()};
  return kOdd[uniform(rng, 0, 7)];
}

// A value in steps of the scale around the zero point, or a special one.
float random_value(std::mt19937& rng, float scale, int32_t zp, bool is_signed) {
  const float inf = std::numeric_limits<float>::infinity();
  const int kind = uniform(rng, 0, 99);
  // An integer number of steps from the zero point, around qmin..qmax.
  const int32_t qmin = is_signed ? -128 : 0;
  const float steps = static_cast<float>(uniform(rng, qmin - 20, qmin + 275) - zp);
  if (kind < 45) {  // anywhere in (and a little beyond) the representable range
    const float u = std::uniform_real_distribution<float>(-300.f, 300.f)(rng);
    return u * scale;
  }
  if (kind < 70) return (steps + 0.5f) * scale;  // ties when the scale is 2^k
  if (kind < 80) return steps * scale;
  if (kind < 85) return std::nextafter((steps + 0.5f) * scale, coin(rng) ? inf : -inf);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float max = std::numeric_limits<float>::max();
  const float tiny =
      std::numeric_limits<float>::denorm_min() * static_cast<float>(uniform(rng, 1, 1000));
  // 3e9 leaves int32 after scaling; 2^16 steps is the AVX2 cap, 32767.5 the
  // int16 packs' edge.
  const float special[] = {inf, -inf, nan, -nan, max, -max, 1e30f, -1e30f, 3e9f, -3e9f, 0.f, -0.f,
                           tiny, -tiny, 65536.f * scale, 32767.5f * scale, -2147483648.f * scale,
                           static_cast<float>(uniform(rng, -40000, 40000)) * scale};
  return special[uniform(rng, 0, 17)];
}

size_t random_length(std::mt19937& rng) {
  if (coin(rng, 0.05)) return static_cast<size_t>(uniform(rng, 1000, 5000));
  return static_cast<size_t>(uniform(rng, 0, 300));
}

int32_t random_zp(std::mt19937& rng, bool is_signed) {
  const int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
  const int kind = uniform(rng, 0, 19);
  if (kind < 3) return lo;
  if (kind < 6) return hi;
  if (kind == 6) return coin(rng) ? lo - uniform(rng, 1, 70000) : hi + uniform(rng, 1, 70000);
  return uniform(rng, lo, hi);
}

template <class T>
void check_tier(k::Isa isa, bool is_signed) {
  const k::QuantizeKernel* fast = k::select_quantize_kernel(isa);
  REQUIRE(fast != nullptr);
  CHECK(fast->isa == isa);
  const uint32_t seed = kSeed + static_cast<uint32_t>(isa) * 2 + is_signed;
  std::mt19937 rng(seed);
  for (int c = 0; c < kCases; ++c) {
    const size_t n = random_length(rng);
    const float scale = random_scale(rng);
    const int32_t zp = random_zp(rng, is_signed);
    const size_t in_off = static_cast<size_t>(uniform(rng, 0, 7));
    const size_t out_off = static_cast<size_t>(uniform(rng, 0, 31));
    std::vector<float> in(n + in_off);
    for (size_t i = 0; i < n; ++i) in[in_off + i] = random_value(rng, scale, zp, is_signed);
    std::vector<T> want(n);
    std::vector<T> got(n + out_off + kGuard);
    std::memset(got.data(), kCanary, got.size());
    if (is_signed) {
      k::quantize_f32_s8_ref(n, in.data() + in_off, scale, zp,
                             reinterpret_cast<int8_t*>(want.data()));
      fast->s8(n, in.data() + in_off, scale, zp, reinterpret_cast<int8_t*>(got.data() + out_off));
    } else {
      k::quantize_f32_u8_ref(n, in.data() + in_off, scale, zp,
                             reinterpret_cast<uint8_t*>(want.data()));
      fast->u8(n, in.data() + in_off, scale, zp, reinterpret_cast<uint8_t*>(got.data() + out_off));
    }
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; ++i)
      if (got[out_off + i] != want[i]) bad = i;
    bool canaries = true;
    for (size_t i = 0; i < out_off; ++i)
      canaries = canaries && static_cast<uint8_t>(got[i]) == kCanary;
    for (size_t i = 0; i < kGuard; ++i)
      canaries = canaries && static_cast<uint8_t>(got[out_off + n + i]) == kCanary;
    if (bad != n || !canaries) {
      char msg[256];
      std::snprintf(msg, sizeof(msg),
                    "%s %s case %d (seed %u): n %zu scale %.9g zp %d; element %zu x %.9g: got %d "
                    "want %d; canaries %s",
                    k::isa_name(isa), is_signed ? "s8" : "u8", c, seed, n,
                    static_cast<double>(scale), zp, bad,
                    bad < n ? static_cast<double>(in[in_off + bad]) : 0.0,
                    bad < n ? static_cast<int>(got[out_off + bad]) : 0,
                    bad < n ? static_cast<int>(want[bad]) : 0, canaries ? "intact" : "overwritten");
      FAIL(msg);
    }
  }
}

}  // namespace

TEST_CASE("fast quantize: f32 -> u8 matches quantize_f32_u8_ref on every tier") {
  const std::vector<k::Isa> tiers = fast_tiers();
#if defined(__x86_64__)
  REQUIRE(k::isa_available(k::Isa::avx2));  // the tier every x86 machine must test
#endif
  for (k::Isa isa : tiers) {
    CAPTURE(k::isa_name(isa));
    check_tier<uint8_t>(isa, false);
  }
}

TEST_CASE("fast quantize: f32 -> s8 matches quantize_f32_s8_ref on every tier") {
  for (k::Isa isa : fast_tiers()) {
    CAPTURE(k::isa_name(isa));
    check_tier<int8_t>(isa, true);
  }
}

TEST_CASE("fast quantize: ties, saturation and NaN, spelled out") {
  const float inf = std::numeric_limits<float>::infinity();
  // scale 1/4: x * 4 = 0.5, 1.5, 2.5, -0.5, -1.5 are ties (to even), then the
  // zero point; 0.0015 / 0.001 shows the reciprocal multiply (1.4999999 -> 1).
  std::vector<float> x = {0.125f, 0.375f, 0.625f, -0.125f, -0.375f, inf, -inf, NAN, 1e20f, -1e20f};
  while (x.size() < 40)
    x.push_back(static_cast<float>(x.size()) * 0.125f - 2.5f);  // a full vector and a tail
  for (k::Isa isa : fast_tiers()) {
    CAPTURE(k::isa_name(isa));
    const k::QuantizeKernel* fast = k::select_quantize_kernel(isa);
    REQUIRE(fast);
    for (int32_t zp : {0, 10, 11, 128, 255}) {
      CAPTURE(zp);
      std::vector<uint8_t> want(x.size()), got(x.size());
      k::quantize_f32_u8_ref(x.size(), x.data(), 0.25f, zp, want.data());
      fast->u8(x.size(), x.data(), 0.25f, zp, got.data());
      CHECK(got == want);
      CHECK(got[7] == 0);  // NaN -> qmin
    }
    const float y[] = {0.0015f};
    uint8_t q = 0;
    fast->u8(1, y, 0.001f, 0, &q);
    CHECK(q == 1);
    std::vector<int8_t> want(x.size()), got(x.size());
    k::quantize_f32_s8_ref(x.size(), x.data(), 0.25f, -5, want.data());
    fast->s8(x.size(), x.data(), 0.25f, -5, got.data());
    CHECK(got == want);
    CHECK(got[7] == -128);
  }
}
