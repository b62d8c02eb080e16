// Fast u8 global average pool (kernels/x86/pool_avx2.cc) against
// global_avg_pool_u8_ref, byte for byte, on every tier this machine has, in
// both profiles. Random cases sweep sizes 1x1..14x14, batches 1..3, channel
// counts 1..300 (odd ones and every tail of the 32/8-channel steps), zero
// points 0..255 (the extremes often), scale ratios 1e-3..1e3 plus exact
// ratios that make rounding ties, raw clamp bounds, constant images that
// maximise the sums, and unaligned pointers; the bytes around the output
// must stay untouched.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/pool.h"
#include "kernels/ref/quant_math.h"

namespace {

namespace k = qrt::kernels;

constexpr uint32_t kSeed = 20240612;
constexpr int kCasesPerProfile = 1200;  // per tier: 2400 with both profiles
constexpr uint8_t kCanary = 0xA5;

std::vector<k::Isa> fast_tiers() {
  std::vector<k::Isa> out;
  for (k::Isa isa :
       {k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni, k::Isa::neon, k::Isa::neon_dotprod})
    if (k::isa_available(isa)) out.push_back(isa);
  return out;
}

int uniform(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

bool coin(std::mt19937& rng, double p = 0.5) { return std::bernoulli_distribution(p)(rng); }

float log_uniform(std::mt19937& rng, float lo, float hi) {
  const double e = std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng);
  return static_cast<float>(std::exp(e));
}

int32_t random_zp(std::mt19937& rng) {
  if (coin(rng, 0.25)) return coin(rng) ? 0 : 255;
  return uniform(rng, 0, 255);
}

const char* profile_name(k::Profile p) { return p == k::Profile::fbgemm ? "fbgemm" : "qnnpack"; }

// Runs one random case on `kernel`; false (with a message) on a mismatch.
bool run_case(const k::PoolKernel& kernel, std::mt19937& rng, k::Profile profile,
              int index) {
  const int h = uniform(rng, 1, 14);
  const int w = coin(rng, 0.7) ? h : uniform(rng, 1, 14);
  const int hw = h * w;
  const int batch = coin(rng, 0.8) ? 1 : uniform(rng, 2, 3);
  int channels;
  const int mode = uniform(rng, 0, 3);
  if (mode == 0)
    channels = uniform(rng, 1, 40);
  else if (mode == 1)
    channels = 32 * uniform(rng, 1, 8) + uniform(rng, -1, 1);
  else
    channels = uniform(rng, 1, 150) * 2 - 1;  // odd
  const int32_t in_zp = random_zp(rng);
  const int32_t out_zp = random_zp(rng);
  static const float kExact[] = {1.f, 0.5f, 2.f, 0.25f, 4.f, 3.f, 1.5f};
  const float in_scale = log_uniform(rng, 1e-3f, 1.f);
  const float ratio = coin(rng, 0.3) ? kExact[uniform(rng, 0, 6)] : log_uniform(rng, 1e-3f, 1e3f);
  const float out_scale = in_scale / ratio;
  k::GlobalAvgPoolParams p =
      k::make_global_avg_pool_params(profile, in_scale, in_zp, out_scale, out_zp, hw);
  if (coin(rng, 0.2)) {
    // A fused clamp: any bounds in 0..255.
    const int a = uniform(rng, 0, 255), b = uniform(rng, 0, 255);
    p.out_min = a < b ? a : b;
    p.out_max = a < b ? b : a;
  }
  const size_t in_size = static_cast<size_t>(batch) * hw * channels;
  const size_t off = static_cast<size_t>(uniform(rng, 0, 31));
  std::vector<uint8_t> in(in_size + off);
  const int fill = uniform(rng, 0, 5);
  for (size_t i = 0; i < in_size; ++i) {
    uint8_t v;
    if (fill == 0)
      v = 255;  // the largest sums
    else if (fill == 1)
      v = 0;
    else if (fill == 2)
      v = static_cast<uint8_t>(in_zp + uniform(rng, -2, 2));  // near-zero averages: ties
    else
      v = static_cast<uint8_t>(uniform(rng, 0, 255));
    in[off + i] = v;
  }
  const size_t out_size = static_cast<size_t>(batch) * channels;
  std::vector<uint8_t> expected(out_size);
  k::global_avg_pool_u8_ref(p, batch, hw, channels, in.data() + off, expected.data());
  const size_t out_off = static_cast<size_t>(uniform(rng, 0, 31));
  std::vector<uint8_t> got(out_size + out_off + 32, kCanary);
  kernel.global_avg(p, batch, hw, channels, in.data() + off, got.data() + out_off);
  for (size_t i = 0; i < got.size(); ++i) {
    const bool inside = i >= out_off && i < out_off + out_size;
    const int want = inside ? expected[i - out_off] : kCanary;
    if (got[i] == want) continue;
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "%s seed %u case %d: %s, batch %d, %dx%d x %d channels, in_zp %d, out_zp %d, "
                  "in_scale %g, out_scale %g, clamp %d..%d, fill %d: byte %zd (%s) expected %d "
                  "got %d",
                  kernel.global_avg_name, kSeed, index, profile_name(profile), batch, h, w,
                  channels, in_zp, out_zp, static_cast<double>(in_scale),
                  static_cast<double>(out_scale),
                  p.out_min, p.out_max, fill, static_cast<ptrdiff_t>(i) - static_cast<ptrdiff_t>(out_off),
                  inside ? "output" : "outside the output", want, got[i]);
    FAIL_CHECK(buf);
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("fast global average pool matches global_avg_pool_u8_ref on every tier") {
#if defined(__x86_64__)
  for (k::Isa isa : {k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni}) {
    if (!k::isa_available(isa)) continue;
    const k::PoolKernel* kernel = k::select_pool_kernel(isa);
    REQUIRE(kernel != nullptr);
    CHECK(kernel->isa == isa);
  }
#endif
  CHECK(k::select_pool_kernel(k::Isa::ref) == nullptr);
  for (k::Isa isa : fast_tiers()) {
    const k::PoolKernel* kernel = k::select_pool_kernel(isa);
    if (kernel == nullptr) continue;
    CAPTURE(k::isa_name(isa));
    std::mt19937 rng(kSeed);
    int cases = 0, failures = 0;
    for (k::Profile profile : {k::Profile::qnnpack, k::Profile::fbgemm}) {
      for (int i = 0; i < kCasesPerProfile && failures < 5; ++i, ++cases) {
        if (!run_case(*kernel, rng, profile, cases)) ++failures;
      }
    }
    CHECK(failures == 0);
    CHECK(cases == 2 * kCasesPerProfile);
  }
}

TEST_CASE("fast global average pool: MobileNetV2's 7x7x1280 head, every zero point") {
  for (k::Isa isa : fast_tiers()) {
    const k::PoolKernel* kernel = k::select_pool_kernel(isa);
    if (kernel == nullptr) continue;
    CAPTURE(k::isa_name(isa));
    std::mt19937 rng(kSeed + 1);
    const int hw = 49, channels = 1280;
    std::vector<uint8_t> in(static_cast<size_t>(hw) * channels);
    for (uint8_t& v : in) v = static_cast<uint8_t>(uniform(rng, 0, 255));
    std::vector<uint8_t> expected(channels), got(channels);
    for (k::Profile profile : {k::Profile::qnnpack, k::Profile::fbgemm}) {
      for (int zp = 0; zp < 256; zp += 5) {
        CAPTURE(zp);
        const k::GlobalAvgPoolParams p =
            k::make_global_avg_pool_params(profile, 0.0235f, zp, 0.0235f, 255 - zp, hw);
        k::global_avg_pool_u8_ref(p, 1, hw, channels, in.data(), expected.data());
        kernel->global_avg(p, 1, hw, channels, in.data(), got.data());
        CHECK(got == expected);
      }
    }
  }
}
