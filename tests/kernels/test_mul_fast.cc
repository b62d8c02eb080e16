// Fast quantized multiply (kernels/x86/mul_avx2.cc, kernels/arm/mul_neon.cc)
// against mul_u8_ref, byte for byte, on every tier this machine has. Each
// random case is one of the three walks MulKernel serves (same shape, b a
// scalar, b a row repeated over outer rows), and its expected bytes come
// from mul_u8_ref on the matching broadcast, sometimes with the operands the
// other way round (the runtime swaps them and their zero points when a is
// the broadcast one). Cases sweep lengths 1..5000 (every vector tail, and
// rows of 1..96 and longer), zero points 0..255 (the extremes often),
// multipliers 1e-6..1e3 plus powers of two that make rounding ties, fused
// ReLU/ReLU6/clip ranges and raw clamp bytes, unaligned pointers, sub-ranges
// [begin, end) that start and end mid-row, and in-place output; bytes
// outside [begin, end) must stay untouched.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/binary.h"
#include "support/random_cases.h"
#include "support/tier_runs.h"

namespace {

namespace k = qrt::kernels;
using qrt::test::fast_tiers;
using qrt::test::coin;
using qrt::test::log_uniform;
using qrt::test::random_zp;
using qrt::test::uniform;

constexpr uint32_t kSeed = 20240917;
constexpr int kCases = 3000;  // per tier
constexpr uint8_t kCanary = 0xA5;


enum class Walk { same, scalar, row };
const char* walk_name(Walk w) {
  return w == Walk::same ? "same shape" : w == Walk::scalar ? "scalar b" : "row b";
}

struct MulCase {
  k::MulParams p;
  std::string desc;
};

MulCase random_case(std::mt19937& rng) {
  for (int attempt = 0;; ++attempt) {
    REQUIRE(attempt < 1000);
    float sa = log_uniform(rng, 1e-3f, 1.f), sb = log_uniform(rng, 1e-3f, 1.f), so = 1.f;
    const int mode = uniform(rng, 0, 3);
    if (mode == 0) {
      // From scales, as make_mul_params derives it: multipliers 1e-6..1e3.
      so = sa * sb / log_uniform(rng, 1e-6f, 1e3f);
    } else if (mode == 1) {
      // Exact powers of two (and 3 * 2^k): products land on .5 and on
      // integers, so round-half-even is what decides.
      sa = std::ldexp(1.f, uniform(rng, -6, 0));
      sb = coin(rng) ? 1.f : 3.f * std::ldexp(1.f, uniform(rng, -4, 0));
      so = std::ldexp(1.f, uniform(rng, -8, 4));
    } else {
      // The SE pattern: b a hard-sigmoid output in 0..1 (scale 1/256 or
      // so), out near a's scale.
      sb = coin(rng) ? 1.f / 256 : log_uniform(rng, 1e-3f, 1e-2f);
      so = sa * log_uniform(rng, 0.3f, 2.f);
    }
    if (!k::mul_scales_supported(sa, sb, so)) continue;
    const int32_t a_zp = random_zp(rng), b_zp = random_zp(rng), out_zp = random_zp(rng);
    float act_min = -INFINITY, act_max = INFINITY;
    const int act = uniform(rng, 0, 4);
    if (act == 1) act_min = 0.f;                 // ReLU
    if (act == 2) act_min = 0.f, act_max = 6.f;  // ReLU6
    if (act == 3) {                              // a clip around zero
      act_min = -so * static_cast<float>(uniform(rng, 0, 200));
      act_max = so * static_cast<float>(uniform(rng, 0, 200));
    }
    MulCase c;
    c.p = k::make_mul_params(sa, a_zp, sb, b_zp, so, out_zp, act_min, act_max);
    if (act == 4) {  // raw clamp bytes, including a single allowed value
      c.p.out_min = uniform(rng, 0, 255);
      c.p.out_max = coin(rng, 0.1) ? c.p.out_min : uniform(rng, c.p.out_min, 255);
    }
    if (c.p.out_min > c.p.out_max) continue;
    char buf[240];
    std::snprintf(buf, sizeof(buf), "a_zp %d, b_zp %d, out_zp %d, multiplier %.9g, clamp [%d, %d]",
                  c.p.a_zp, c.p.b_zp, c.p.out_zp, static_cast<double>(c.p.multiplier), c.p.out_min,
                  c.p.out_max);
    c.desc = buf;
    return c;
  }
}

// uint8 inputs: uniform, piled at 0/255, near the zero point, or constant.
void fill_inputs(std::mt19937& rng, uint8_t* v, size_t n, int zp) {
  const int mode = uniform(rng, 0, 5);
  const int constant = uniform(rng, 0, 255);
  for (size_t i = 0; i < n; ++i) {
    int q;
    switch (mode) {
      case 0:
        q = coin(rng) ? 255 : 0;
        break;
      case 1:
        q = std::clamp(zp + uniform(rng, -6, 6), 0, 255);
        break;
      case 2:
        q = constant;
        break;
      default:
        q = uniform(rng, 0, 255);
        break;
    }
    v[i] = static_cast<uint8_t>(q);
  }
}

size_t random_length(std::mt19937& rng, int index) {
  // The first cases walk every length 1..96: all tails of 16- and 32-wide
  // steps, with zero, one and two full steps before them.
  if (index < 96) return static_cast<size_t>(index + 1);
  const int bucket = uniform(rng, 0, 9);
  if (bucket < 3) return static_cast<size_t>(uniform(rng, 1, 96));
  if (bucket < 6) return static_cast<size_t>(uniform(rng, 97, 600));
  return static_cast<size_t>(uniform(rng, 601, 5000));
}

// The broadcast of a [rows, period] (or [n]) with b [period] (or [1], [n]).
k::BroadcastShape shape_of(Walk w, size_t n, size_t period, bool b_first) {
  int32_t full[2] = {static_cast<int32_t>(n / period), static_cast<int32_t>(period)};
  int full_rank = 2;
  if (w != Walk::row) {
    full[0] = static_cast<int32_t>(n);
    full_rank = 1;
  }
  const int32_t part = static_cast<int32_t>(period);
  int32_t out_dims[2];
  int out_rank = 0;
  k::BroadcastShape s;
  const bool ok = b_first ? k::make_broadcast(&part, 1, full, full_rank, out_dims, &out_rank, &s)
                          : k::make_broadcast(full, full_rank, &part, 1, out_dims, &out_rank, &s);
  REQUIRE(ok);
  return s;
}

// One case on one kernel: output bytes equal mul_u8_ref's, the canaries
// around [begin, end) intact. Returns false after reporting a failure.
bool check_case(const k::MulKernel& kernel, const MulCase& c, std::mt19937& rng, int index) {
  const Walk walk = static_cast<Walk>(uniform(rng, 0, 2));
  size_t n = random_length(rng, index), period = n;
  if (walk == Walk::scalar) period = 1;
  if (walk == Walk::row) {
    // Rows of every length up to 96 (all tails of a row), and longer ones
    // as real channel counts are; n becomes a whole number of rows.
    period = coin(rng, 0.6) ? static_cast<size_t>(uniform(rng, 1, 96))
                            : static_cast<size_t>(uniform(rng, 97, 1000));
    n = std::max<size_t>(1, n / period) * period;
  }
  constexpr size_t kPad = 40;  // room for a misaligned start and canaries after the end
  const size_t off_a = static_cast<size_t>(uniform(rng, 0, 31));
  const size_t off_b = static_cast<size_t>(uniform(rng, 0, 31));
  const size_t off_o = static_cast<size_t>(uniform(rng, 0, 31));
  std::vector<uint8_t> abuf(n + 2 * kPad), bbuf(period + 2 * kPad), obuf(n + 2 * kPad, kCanary);
  uint8_t* a = abuf.data() + off_a;
  uint8_t* b = bbuf.data() + off_b;
  fill_inputs(rng, a, n, c.p.a_zp);
  fill_inputs(rng, b, period, c.p.b_zp);
  if (walk == Walk::same && coin(rng, 0.1)) std::copy(a, a + n, b);  // x * x

  // The reference, sometimes with the operands exchanged (b first, its
  // zero point as a_zp): what the runtime does when a is the broadcast one.
  const bool b_first = coin(rng, 0.3);
  std::vector<uint8_t> expected(n);
  const k::BroadcastShape s = shape_of(walk, n, period, b_first);
  if (b_first) {
    k::MulParams q = c.p;
    std::swap(q.a_zp, q.b_zp);
    k::mul_u8_ref(q, s, b, a, expected.data());
  } else {
    k::mul_u8_ref(c.p, s, a, b, expected.data());
  }

  // The range the kernel is asked for; elements outside it keep their bytes.
  size_t begin = 0, end = n;
  if (coin(rng, 0.25)) {
    begin = static_cast<size_t>(uniform(rng, 0, static_cast<int>(n)));
    end = static_cast<size_t>(uniform(rng, static_cast<int>(begin), static_cast<int>(n)));
  }
  // In place one time in five: out = a, or out = b where b is as long.
  int alias = coin(rng, 0.2) ? uniform(rng, 1, 2) : 0;
  if (alias == 2 && walk != Walk::same) alias = 1;
  const std::vector<uint8_t> a_in(a, a + n), b_in(b, b + period);
  uint8_t* out = alias == 1 ? a : alias == 2 ? b : obuf.data() + off_o;
  // Same shape may pass any period from n up.
  const size_t b_period = walk == Walk::same && coin(rng, 0.2) ? n + 1000 : period;

  // Run [begin, end) in one call or split at a random point into two.
  if (end > begin && coin(rng, 0.3)) {
    const size_t mid =
        static_cast<size_t>(uniform(rng, static_cast<int>(begin), static_cast<int>(end)));
    kernel.run(c.p, a, b, b_period, out, begin, mid);
    kernel.run(c.p, a, b, b_period, out, mid, end);
  } else {
    kernel.run(c.p, a, b, b_period, out, begin, end);
  }

  // What out must hold now: the reference inside the range, the old bytes
  // (the untouched input when in place, else the canary) outside.
  const uint8_t* old = alias == 1 ? a_in.data() : alias == 2 ? b_in.data() : nullptr;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t want = (i >= begin && i < end) ? expected[i] : old ? old[i] : kCanary;
    if (out[i] != want) {
      FAIL_CHECK(std::string(kernel.name)
                 << " (" << std::string(k::isa_name(kernel.isa)) << "), "
                 << std::string(walk_name(walk)) << ", " << c.desc << ", n " << n << ", period "
                 << period << ", range [" << begin << ", " << end << "), alias " << alias
                 << ": byte " << i << " is " << static_cast<int>(out[i]) << ", expected "
                 << static_cast<int>(want) << " (a " << static_cast<int>(a_in[i]) << ", b "
                 << static_cast<int>(b_in[i % period]) << ")");
      return false;
    }
  }
  if (!alias) {
    for (size_t i = 0; i < obuf.size(); ++i) {
      if ((i < off_o || i >= off_o + n) && obuf[i] != kCanary) {
        FAIL_CHECK(std::string(kernel.name)
                   << ", " << c.desc << ", n " << n << ": wrote outside the output, byte " << i);
        return false;
      }
    }
  }
  return true;
}

// Directed cases on every tier: every (a, b) byte pair, as a same-shape
// walk and as a row walk (a [256, 256] of rows of one byte, b the row
// 0..255), and as a scalar walk per b byte.
void check_all_pairs(const k::MulParams& p, const char* what) {
  std::vector<uint8_t> a(65536), b(65536), row(256);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<uint8_t>(i >> 8);
    b[i] = static_cast<uint8_t>(i);
  }
  for (size_t j = 0; j < row.size(); ++j) row[j] = static_cast<uint8_t>(j);
  std::vector<uint8_t> want(a.size());
  int32_t dims[1] = {65536}, out_dims[2];
  int out_rank = 0;
  k::BroadcastShape same;
  REQUIRE(k::make_broadcast(dims, 1, dims, 1, out_dims, &out_rank, &same));
  k::mul_u8_ref(p, same, a.data(), b.data(), want.data());
  for (k::Isa isa : fast_tiers()) {
    const k::MulKernel* kernel = k::select_mul_kernel(isa);
    REQUIRE(kernel != nullptr);
    const std::string label = what, tier = k::isa_name(isa);
    CAPTURE(label);
    CAPTURE(tier);
    CAPTURE(p.a_zp);
    CAPTURE(p.b_zp);
    CAPTURE(p.out_zp);
    CAPTURE(p.multiplier);
    CAPTURE(p.out_min);
    CAPTURE(p.out_max);
    std::vector<uint8_t> got(a.size());
    kernel->run(p, a.data(), b.data(), a.size(), got.data(), 0, a.size());
    CHECK(got == want);
    got.assign(a.size(), 0);
    kernel->run(p, a.data(), row.data(), row.size(), got.data(), 0, a.size());
    CHECK(got == want);
    // Scalar b: b = 7 over all of a's bytes, against the same-shape reference.
    for (size_t i = 0; i < 256; ++i) {
      const uint8_t bv = static_cast<uint8_t>(i);
      std::vector<uint8_t> got1(256);
      kernel->run(p, row.data(), &bv, 1, got1.data(), 0, 256);
      for (size_t j = 0; j < 256; ++j) {
        // want[j * 256 + i] is a = j, b = i.
        if (got1[j] != want[j * 256 + i]) {
          FAIL_CHECK("scalar b " << i << ", a " << j << ": " << static_cast<int>(got1[j])
                                 << ", expected " << static_cast<int>(want[j * 256 + i]));
          return;
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("fast mul: selection") {
  CHECK(k::select_mul_kernel(k::Isa::ref) == nullptr);
  for (k::Isa isa :
       {k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni, k::Isa::neon, k::Isa::neon_dotprod}) {
    const std::string tier = k::isa_name(isa);
    CAPTURE(tier);
    const k::MulKernel* kernel = k::select_mul_kernel(isa);
    if (!k::isa_available(isa)) {
      CHECK(kernel == nullptr);
      continue;
    }
    REQUIRE(kernel != nullptr);
    CHECK(kernel->isa == isa);
    const std::string name = kernel->name;
    const bool x86 = isa == k::Isa::avx2 || isa == k::Isa::avxvnni || isa == k::Isa::avx512vnni;
    CHECK(name == (x86 ? "mul_u8_x32_avx2" : "mul_u8_x16_neon"));
  }
#if defined(__x86_64__)
  if (!k::isa_available(k::Isa::avx2)) MESSAGE("no AVX2 on this CPU: the x86 mul is not exercised");
#endif
}

TEST_CASE("fast mul: matches mul_u8_ref on every tier (seeded sweep)") {
  const std::vector<k::Isa> tiers = fast_tiers();
  if (tiers.empty()) MESSAGE("no fast tier on this machine: nothing to compare");
  for (k::Isa isa : tiers) {
    const k::MulKernel* kernel = k::select_mul_kernel(isa);
    REQUIRE(kernel != nullptr);
    const std::string tier = k::isa_name(isa);
    CAPTURE(tier);
    // The same seed on every tier: each sees the same cases.
    const uint32_t seed = kSeed;
    CAPTURE(seed);
    std::mt19937 rng(seed);
    int passed = 0;
    for (int i = 0; i < kCases; ++i) {
      CAPTURE(i);
      const MulCase c = random_case(rng);
      if (check_case(*kernel, c, rng, i)) ++passed;
    }
    CHECK(passed == kCases);
    const std::string summary =
        std::string(kernel->name) + " on " + tier + ": " + std::to_string(passed) + " cases";
    MESSAGE(summary);
  }
}

TEST_CASE("fast mul: every byte pair, rounding ties and clamps") {
  // Multipliers 2^-k put (a - a_zp)(b - b_zp) * m on every half; 1 and 3
  // reach far past the clamp; 1e-6 and 1e3 are the ends of the sweep.
  for (float m : {0.5f, 0.25f, 0x1.0p-7f, 0x1.0p-12f, 1.f, 3.f, 1.f / 3, 1e-6f, 1e3f}) {
    for (int32_t zp : {0, 1, 128, 255}) {
      k::MulParams p = k::make_mul_params(1.f, zp, 1.f, 255 - zp, 1.f, 128, -INFINITY, INFINITY);
      p.multiplier = m;
      check_all_pairs(p, "plain");
      p.out_zp = zp;
      p.out_min = zp;  // ReLU
      check_all_pairs(p, "relu");
      p.out_min = 3;
      p.out_max = 3;
      check_all_pairs(p, "one allowed byte");
    }
  }
}

TEST_CASE("fast mul: extreme multipliers and params the vector code does not take") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Overflow to infinity, the NaN of 0 * inf, subnormals, zero and negative:
  // none comes from make_mul_params, but the kernels promise mul_u8_ref's
  // bytes for any params.
  for (float m : {std::numeric_limits<float>::max(), 1e30f, 65536.f, 1e-40f, 1e-30f, 0.f, -0.5f,
                  -1e3f, inf, -inf, nan}) {
    for (int32_t zp : {0, 128, 255}) {
      k::MulParams p = k::make_mul_params(1.f, zp, 1.f, 128, 1.f, 255 - zp, -INFINITY, INFINITY);
      p.multiplier = m;
      check_all_pairs(p, "extreme multiplier");
      p.out_min = 10;
      p.out_max = 200;
      check_all_pairs(p, "extreme multiplier, clamp");
    }
  }
  // Zero points and clamps outside bytes, and an empty clamp: the scalar
  // fallback, still mul_u8_ref's bytes.
  k::MulParams p = k::make_mul_params(0.1f, 3, 0.2f, 5, 0.05f, 7, -INFINITY, INFINITY);
  p.a_zp = 300;
  check_all_pairs(p, "a_zp 300");
  p.a_zp = -4;
  p.out_zp = 256;
  check_all_pairs(p, "a_zp -4, out_zp 256");
  p.out_zp = 7;
  p.out_min = 200;
  p.out_max = 100;
  check_all_pairs(p, "out_min > out_max");
}
