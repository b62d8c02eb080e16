// Fast same-shape quantized add (kernels/x86/add_avx2.cc, kernels/arm/add_neon.cc)
// against add_u8_ref, byte for byte, on every tier this machine has, in
// both profiles. Random cases sweep lengths 1..5000 (every vector tail),
// zero points 0..255 (the extremes often), scale ratios 1e-4..10 (plus
// exact ratios that make rounding ties), fused ReLU/ReLU6/clip ranges and
// raw clamp bytes, unaligned pointers, sub-ranges [begin, end) and in-place
// output; bytes outside [begin, end) must stay untouched.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/add.h"
#include "kernels/ref/quant_math.h"

namespace {

namespace k = qrt::kernels;

constexpr uint32_t kSeed = 20240611;
constexpr int kCasesPerProfile = 2000;  // per tier
constexpr uint8_t kCanary = 0xA5;

// Every fast tier this machine has: on x86 that includes avx2 itself, which
// is the kernel every x86 tier runs.
std::vector<k::Isa> fast_tiers() {
  std::vector<k::Isa> out;
  for (k::Isa isa :
       {k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni, k::Isa::neon, k::Isa::neon_dotprod})
    if (k::isa_available(isa)) out.push_back(isa);
  return out;
}

const char* profile_name(k::Profile p) { return p == k::Profile::fbgemm ? "fbgemm" : "qnnpack"; }

int uniform(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

float log_uniform(std::mt19937& rng, float lo, float hi) {
  const double e = std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng);
  return static_cast<float>(std::exp(e));
}

bool coin(std::mt19937& rng, double p = 0.5) { return std::bernoulli_distribution(p)(rng); }

int32_t random_zp(std::mt19937& rng) {
  if (coin(rng, 0.25)) return coin(rng) ? 0 : 255;
  return uniform(rng, 0, 255);
}

// A scale ratio: log-uniform over 1e-4..10, or one of the exact small
// ratios that put results on .5 boundaries (ties) or on integers.
float random_ratio(std::mt19937& rng) {
  static const float kExact[] = {1.f, 0.5f, 0.25f, 2.f, 1.5f, 0.75f, 4.f, 0.125f, 3.f, 8.f};
  if (coin(rng, 0.3)) return kExact[uniform(rng, 0, 9)];
  return log_uniform(rng, 1e-4f, 10.f);
}

struct AddCase {
  k::AddParams p;
  std::string desc;
};

AddCase random_case(std::mt19937& rng, k::Profile profile) {
  for (int attempt = 0;; ++attempt) {
    REQUIRE(attempt < 1000);
    float sa, sb, so;
    const int mode = uniform(rng, 0, 3);
    if (mode == 0) {
      // Independent scales: ratios anywhere in 1e-5..1e5 (qnnpack retries
      // until its limits hold).
      sa = log_uniform(rng, 1e-4f, 10.f);
      sb = log_uniform(rng, 1e-4f, 10.f);
      so = log_uniform(rng, 1e-4f, 10.f);
    } else if (mode == 1) {
      // Identity-like: one scale everywhere, or the inputs sharing one.
      so = log_uniform(rng, 1e-4f, 10.f);
      sa = coin(rng) ? so : so * random_ratio(rng);
      sb = coin(rng) ? sa : so;
    } else {
      so = coin(rng, 0.3) ? std::ldexp(1.f, uniform(rng, -13, 3)) : log_uniform(rng, 1e-4f, 10.f);
      sa = so * random_ratio(rng);
      sb = so * random_ratio(rng);
    }
    if (!k::add_scales_supported(profile, sa, sb, so)) continue;
    const int32_t a_zp = random_zp(rng), b_zp = random_zp(rng), out_zp = random_zp(rng);
    float act_min = -INFINITY, act_max = INFINITY;
    const int act = uniform(rng, 0, 4);
    if (act == 1) act_min = 0.f;                 // ReLU
    if (act == 2) act_min = 0.f, act_max = 6.f;  // ReLU6
    if (act == 3) {                              // a clip around zero
      act_min = -so * static_cast<float>(uniform(rng, 0, 200));
      act_max = so * static_cast<float>(uniform(rng, 0, 200));
    }
    AddCase c;
    c.p = k::make_add_params(profile, sa, a_zp, sb, b_zp, so, out_zp, act_min, act_max);
    if (act == 4) {  // raw clamp bytes, including a single allowed value
      c.p.out_min = uniform(rng, 0, 255);
      c.p.out_max = coin(rng, 0.1) ? c.p.out_min : uniform(rng, c.p.out_min, 255);
    }
    if (c.p.out_min > c.p.out_max) continue;
    char buf[320];
    std::snprintf(buf, sizeof(buf),
                  "%s s_a %.9g zp %d, s_b %.9g zp %d, s_out %.9g zp %d, clamp [%d, %d], "
                  "m_a %d m_b %d shift %d",
                  profile_name(profile), static_cast<double>(sa), a_zp, static_cast<double>(sb),
                  b_zp, static_cast<double>(so), out_zp, c.p.out_min, c.p.out_max, c.p.a_mult,
                  c.p.b_mult, c.p.shift);
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

std::string bytes_at(const uint8_t* v, size_t i) { return std::to_string(static_cast<int>(v[i])); }

// One case on one kernel: output bytes equal add_u8_ref's, the canaries
// around [begin, end) intact. Returns false after reporting a failure.
bool check_case(const k::AddKernel& kernel, const AddCase& c, std::mt19937& rng, size_t n) {
  constexpr size_t kPad = 40;  // room for a misaligned start and canaries after the end
  const size_t off_a = static_cast<size_t>(uniform(rng, 0, 31));
  const size_t off_b = static_cast<size_t>(uniform(rng, 0, 31));
  const size_t off_o = static_cast<size_t>(uniform(rng, 0, 31));
  std::vector<uint8_t> abuf(n + 2 * kPad), bbuf(n + 2 * kPad), obuf(n + 2 * kPad, kCanary);
  uint8_t* a = abuf.data() + off_a;
  uint8_t* b = bbuf.data() + off_b;
  fill_inputs(rng, a, n, c.p.a_zp);
  fill_inputs(rng, b, n, c.p.b_zp);
  if (coin(rng, 0.1)) std::copy(a, a + n, b);  // a + a (x + x is a real pattern)

  std::vector<uint8_t> expected(n);
  k::add_u8_ref(c.p, n, a, b, expected.data());

  // The range the kernel is asked for; elements outside it keep their bytes.
  size_t begin = 0, end = n;
  if (coin(rng, 0.25)) {
    begin = static_cast<size_t>(uniform(rng, 0, static_cast<int>(n)));
    end = static_cast<size_t>(uniform(rng, static_cast<int>(begin), static_cast<int>(n)));
  }
  // In place (out = a or out = b) one time in five.
  const int alias = coin(rng, 0.2) ? uniform(rng, 1, 2) : 0;
  const std::vector<uint8_t> a_in(a, a + n), b_in(b, b + n);
  uint8_t* out = alias == 1 ? a : alias == 2 ? b : obuf.data() + off_o;

  // Run [begin, end) in one call or split at a random point into two.
  if (end > begin && coin(rng, 0.3)) {
    const size_t mid =
        static_cast<size_t>(uniform(rng, static_cast<int>(begin), static_cast<int>(end)));
    kernel.run(c.p, a, b, out, begin, mid);
    kernel.run(c.p, a, b, out, mid, end);
  } else {
    kernel.run(c.p, a, b, out, begin, end);
  }

  // What out must hold now: the reference inside the range, the old bytes
  // (the untouched input when in place, else the canary) outside.
  const uint8_t* old = alias == 1 ? a_in.data() : alias == 2 ? b_in.data() : nullptr;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t want = (i >= begin && i < end) ? expected[i] : old ? old[i] : kCanary;
    if (out[i] != want) {
      FAIL_CHECK(std::string(kernel.name)
                 << " (" << std::string(k::isa_name(kernel.isa)) << "), " << c.desc << ", n " << n
                 << ", range [" << begin << ", " << end << "), alias " << alias << ": byte " << i
                 << " is " << bytes_at(out, i) << ", expected " << static_cast<int>(want) << " (a "
                 << static_cast<int>(a_in[i]) << ", b " << static_cast<int>(b_in[i]) << ")");
      return false;
    }
  }
  if (!alias) {
    for (size_t i = 0; i < off_o; ++i) {
      if (obuf[i] != kCanary) {
        FAIL_CHECK(std::string(kernel.name)
                   << ", " << c.desc << ", n " << n << ": wrote before the output");
        return false;
      }
    }
    for (size_t i = off_o + n; i < obuf.size(); ++i) {
      if (obuf[i] != kCanary) {
        FAIL_CHECK(std::string(kernel.name)
                   << ", " << c.desc << ", n " << n << ": wrote past the output");
        return false;
      }
    }
  }
  return true;
}

void sweep(k::Profile profile) {
  const std::vector<k::Isa> tiers = fast_tiers();
  if (tiers.empty()) MESSAGE("no fast tier on this machine: nothing to compare");
  for (k::Isa isa : tiers) {
    const k::AddKernel* kernel = k::select_add_kernel(isa);
    REQUIRE(kernel != nullptr);
    const std::string tier = k::isa_name(isa);
    CAPTURE(tier);
    // The same seed on every tier: each sees the same cases.
    const uint32_t seed = kSeed + static_cast<uint32_t>(profile);
    CAPTURE(seed);
    std::mt19937 rng(seed);
    int passed = 0;
    for (int i = 0; i < kCasesPerProfile; ++i) {
      CAPTURE(i);
      const AddCase c = random_case(rng, profile);
      const size_t n = random_length(rng, i);
      if (check_case(*kernel, c, rng, n)) ++passed;
    }
    CHECK(passed == kCasesPerProfile);
    const std::string summary = std::string(kernel->name) + " on " + tier + ", " +
                                profile_name(profile) + ": " + std::to_string(passed) + " cases";
    MESSAGE(summary);
  }
}

// Directed cases on every tier, each at lengths that reach the vector body
// (not only the zero-padded tail).
void check_directed(const k::AddParams& p, const std::vector<uint8_t>& a,
                    const std::vector<uint8_t>& b, const char* what) {
  for (k::Isa isa : fast_tiers()) {
    const k::AddKernel* kernel = k::select_add_kernel(isa);
    REQUIRE(kernel != nullptr);
    for (size_t reps : {size_t{1}, size_t{9}, size_t{40}}) {
      std::vector<uint8_t> ra, rb;
      for (size_t r = 0; r < reps; ++r) {
        ra.insert(ra.end(), a.begin(), a.end());
        rb.insert(rb.end(), b.begin(), b.end());
      }
      std::vector<uint8_t> want(ra.size()), got(ra.size());
      k::add_u8_ref(p, ra.size(), ra.data(), rb.data(), want.data());
      kernel->run(p, ra.data(), rb.data(), got.data(), 0, ra.size());
      const std::string label = what, tier = k::isa_name(isa);
      CAPTURE(label);
      CAPTURE(tier);
      CAPTURE(reps);
      CHECK(got == want);
    }
  }
}

std::vector<uint8_t> all_bytes() {
  std::vector<uint8_t> v(256);
  for (int i = 0; i < 256; ++i) v[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  return v;
}

}  // namespace

TEST_CASE("fast add: selection") {
  CHECK(k::select_add_kernel(k::Isa::ref) == nullptr);
  for (k::Isa isa :
       {k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni, k::Isa::neon, k::Isa::neon_dotprod}) {
    const std::string tier = k::isa_name(isa);
    CAPTURE(tier);
    const k::AddKernel* kernel = k::select_add_kernel(isa);
    if (!k::isa_available(isa)) {
      CHECK(kernel == nullptr);
      continue;
    }
    REQUIRE(kernel != nullptr);
    CHECK(kernel->isa == isa);
    const std::string name = kernel->name;
    const bool x86 = isa == k::Isa::avx2 || isa == k::Isa::avxvnni || isa == k::Isa::avx512vnni;
    CHECK(name == (x86 ? "add_u8_x32_avx2" : "add_u8_x16_neon"));
  }
#if defined(__x86_64__)
  // The machines this runs on have AVX2; its path must be what gets tested.
  if (k::isa_available(k::Isa::avx2)) {
    REQUIRE(k::select_add_kernel(k::Isa::avx2) != nullptr);
  } else {
    MESSAGE("no AVX2 on this CPU: the x86 add kernel is not exercised");
  }
#endif
}

TEST_CASE("fast add: qnnpack matches add_u8_ref on every tier (seeded sweep)") {
  sweep(k::Profile::qnnpack);
}

TEST_CASE("fast add: fbgemm matches add_u8_ref on every tier (seeded sweep)") {
  sweep(k::Profile::fbgemm);
}

TEST_CASE("fast add: rounding ties in both profiles") {
  // s_a = 1, b at its zero point, s_out = 2: a / 2 lands on every half;
  // qnnpack rounds them away from zero, fbgemm to even.
  const std::vector<uint8_t> a = all_bytes();
  for (int32_t a_zp : {0, 1, 127, 128, 255}) {
    for (k::Profile profile : {k::Profile::qnnpack, k::Profile::fbgemm}) {
      const k::AddParams p =
          k::make_add_params(profile, 1.f, a_zp, 1.f, 9, 2.f, 128, -INFINITY, INFINITY);
      check_directed(p, a, std::vector<uint8_t>(256, 9), profile_name(profile));
      // Quarter steps: ties from both inputs together.
      const k::AddParams q =
          k::make_add_params(profile, 0.5f, a_zp, 1.5f, 200, 2.f, 100, -INFINITY, INFINITY);
      std::vector<uint8_t> b = all_bytes();
      std::reverse(b.begin(), b.end());
      check_directed(q, a, b, profile_name(profile));
    }
  }
}

TEST_CASE("fast add: fbgemm keeps the fused multiply-add of the dequantize") {
  // fma(0.0005, 67, f32(0.0005 * -37)) + 0.25 = 0.265000015 -> 27, where a
  // separate multiply and add would give 26 (tests/kernels/test_add.cc).
  const k::AddParams f =
      k::make_add_params(k::Profile::fbgemm, 0.0005f, 37, 0.25f, 0, 0.01f, 0, -INFINITY, INFINITY);
  std::vector<uint8_t> want(1);
  const uint8_t a = 67, b = 1;
  k::add_u8_ref(f, 1, &a, &b, want.data());
  REQUIRE(want[0] == 27);
  check_directed(f, {67}, {1}, "fma");
}

TEST_CASE("fast add: qnnpack multipliers and shifts at their limits") {
  const std::vector<uint8_t> a = all_bytes();
  std::vector<uint8_t> b = all_bytes();
  std::reverse(b.begin(), b.end());
  // The largest ratio below 2^8 rounds its multiplier up to 2^22: with
  // |q - zp| = 255 on both inputs |acc| = 2 * 255 * 2^22, just under 2^31.
  const float big = std::nextafter(256.f, 0.f);
  // Ratios 2^-10 and 2^-14: shift 31, the largest allowed.
  const struct {
    float sa, sb;
    const char* what;
  } cases[] = {{big, big, "m = 2^22"},
               {big, 1e-3f, "m_a = 2^22, m_b small"},
               {0x1.0p-10f, 0x1.0p-14f, "shift 31"},
               {0x1.0p-10f, 0x1.0p-10f, "shift 31, equal"}};
  for (const auto& c : cases) {
    const std::string label = c.what;
    CAPTURE(label);
    REQUIRE(k::add_scales_supported(k::Profile::qnnpack, c.sa, c.sb, 1.f));
    for (int32_t zp : {0, 255, 128}) {
      for (int32_t out_zp : {0, 128, 255}) {
        const k::AddParams p = k::make_add_params(k::Profile::qnnpack, c.sa, zp, c.sb, 255 - zp,
                                                  1.f, out_zp, -INFINITY, INFINITY);
        if (c.sa == big) CHECK(p.a_mult == (1 << 22));
        if (c.sa == 0x1.0p-10f) CHECK(p.shift == 31);
        check_directed(p, a, b, c.what);
        check_directed(p, std::vector<uint8_t>(256, 255), std::vector<uint8_t>(256, 255), c.what);
        check_directed(p, std::vector<uint8_t>(256, 0), std::vector<uint8_t>(256, 0), c.what);
      }
    }
  }
  // Unsupported ratios leave the fixed-point fields zero; the kernels fall
  // back to the reference loop rather than shifting by 0.
  const k::AddParams zero =
      k::make_add_params(k::Profile::qnnpack, 1e-6f, 3, 1e-6f, 5, 1.f, 77, -INFINITY, INFINITY);
  REQUIRE(zero.shift == 0);
  check_directed(zero, a, b, "unsupported ratio");
}

TEST_CASE("fast add: fbgemm at extreme scales (overflow, infinities, tiny values)") {
  const std::vector<uint8_t> a = all_bytes();
  std::vector<uint8_t> b = all_bytes();
  std::rotate(b.begin(), b.begin() + 77, b.end());
  // 2^-60 and 2^60 are the ends of the range the ARM kernel runs itself.
  const float scales[] = {1.5e-38f, 1e-30f,     0x1.0p-61f, 0x1.0p-60f, 1e-4f, 1.f,
                          10.f,     0x1.0p+60f, 0x1.0p+61f, 1e30f,      3e38f};
  for (float sa : scales) {
    for (float so : scales) {
      for (int32_t zp : {0, 128, 255}) {
        CAPTURE(sa);
        CAPTURE(so);
        CAPTURE(zp);
        k::AddParams p = k::make_add_params(k::Profile::fbgemm, sa, zp, 1.f, 255 - zp, so, zp,
                                            -INFINITY, INFINITY);
        check_directed(p, a, b, "extreme scales");
        p = k::make_add_params(k::Profile::fbgemm, sa, zp, sa, zp, so, 255 - zp, 0.f, INFINITY);
        check_directed(p, a, b, "extreme scales, ReLU");
      }
    }
  }
}
