// ARM GEMM kernels (1x1 conv / FullyConnected) against
// fully_connected_u8s8_ref: seeded random shapes, strides, zero points,
// scales, both profiles, per-tensor and per-channel, biases and clamps, on
// every tier this machine has (2000 cases per profile and tier). Bytes must
// be identical.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/fully_connected.h"
#include "test_arm_common.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif
#include <cstdlib>

namespace {

using namespace qrt_arm_test;

struct GemmCase {
  int m, n, k;
  size_t a_stride, out_stride;
  int32_t a_zp;
  k::Profile profile;
};

// Runs one case; returns false (after reporting) on a mismatch.
bool run_gemm_case(const k::GemmKernel& kernel, std::mt19937& rng, const GemmCase& c,
                   uint32_t seed, int index) {
  RandomRequant rr;
  make_random_requant(rng, c.profile, c.n, c.k, &rr);
  const std::vector<uint8_t> a_dense =
      random_activations(rng, static_cast<size_t>(c.m) * c.k, c.a_zp);
  const std::vector<int8_t> w = random_weights(rng, static_cast<size_t>(c.n) * c.k);

  k::FullyConnectedShape shape;
  shape.batch = c.m;
  shape.in_features = c.k;
  shape.out_features = c.n;
  std::vector<uint8_t> expected(static_cast<size_t>(c.m) * c.n);
  k::fully_connected_u8s8_ref(shape, a_dense.data(), c.a_zp, w.data(), rr.rq, expected.data());

  // Exactly sized buffers so ASan sees any read or write past the last row.
  std::vector<uint8_t> a((c.m - 1) * c.a_stride + c.k, 0x5a);
  for (int i = 0; i < c.m; ++i) {
    std::copy_n(a_dense.begin() + static_cast<long>(i) * c.k, c.k, a.begin() + i * c.a_stride);
  }
  std::vector<uint8_t> packed(kernel.packed_bytes(c.n, c.k, w.data(), rr.rq.profile));
  k::GemmPackParams pp;
  pp.n = c.n;
  pp.k = c.k;
  pp.w = w.data();
  pp.a_zp = c.a_zp;
  pp.rq = &rr.rq;
  kernel.pack(pp, packed.data());
  std::vector<uint8_t> scratch(kernel.scratch_bytes(c.k));
  constexpr uint8_t kSentinel = 0xa5;
  std::vector<uint8_t> out((c.m - 1) * c.out_stride + c.n, kSentinel);
  k::GemmArgs args;
  args.packed = packed.data();
  args.a = a.data();
  args.a_stride = c.a_stride;
  args.out = out.data();
  args.out_stride = c.out_stride;
  // Split the rows as a thread pool would.
  int m0 = 0;
  while (m0 < c.m) {
    const int m1 = coin(rng) ? c.m : uniform(rng, m0 + 1, c.m);
    kernel.run(args, m0, m1, scratch.data());
    m0 = m1;
  }

  std::vector<uint8_t> got(static_cast<size_t>(c.m) * c.n);
  bool gaps_untouched = true;
  for (int i = 0; i < c.m; ++i) {
    for (int j = 0; j < c.n; ++j) got[i * c.n + j] = out[i * c.out_stride + j];
    if (i + 1 < c.m) {
      for (size_t j = c.n; j < c.out_stride; ++j) {
        gaps_untouched = gaps_untouched && out[i * c.out_stride + j] == kSentinel;
      }
    }
  }
  const long diff = first_difference(expected, got);
  if (diff < 0 && gaps_untouched) return true;
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "%s seed %u case %d: m %d n %d k %d a_stride %zu out_stride %zu a_zp %d %s %s; "
                "first difference at [%ld][%ld]: expected %d got %d; stride gaps untouched %d",
                kernel.name, seed, index, c.m, c.n, c.k, c.a_stride, c.out_stride, c.a_zp,
                profile_name(c.profile), rr.desc.c_str(), diff < 0 ? -1 : diff / c.n,
                diff < 0 ? -1 : diff % c.n, diff < 0 ? -1 : expected[diff],
                diff < 0 ? -1 : got[diff], gaps_untouched);
  FAIL_CHECK(buf);
  return false;
}

GemmCase random_gemm_case(std::mt19937& rng) {
  GemmCase c;
  const int size = uniform(rng, 0, 9);
  c.m = uniform(rng, 1, size < 8 ? 20 : 40);
  c.n = uniform(rng, 1, size < 8 ? 72 : 160);
  c.k = size < 6 ? uniform(rng, 1, 64) : size < 9 ? uniform(rng, 1, 400) : uniform(rng, 1, 2500);
  if (kSizeScale > 1) {
    c.m = (c.m + 1) / 2;
    c.k = (c.k + 1) / 2;
  }
  c.a_stride = c.k + (coin(rng) ? 0 : uniform(rng, 1, 40));
  c.out_stride = c.n + (coin(rng) ? 0 : uniform(rng, 1, 40));
  c.a_zp = coin(rng, 0.2) ? (coin(rng) ? 0 : 255) : uniform(rng, 0, 255);
  c.profile = coin(rng) ? k::Profile::fbgemm : k::Profile::qnnpack;
  return c;
}

}  // namespace

TEST_CASE("arm gemm kernels match fully_connected_u8s8_ref") {
#if defined(__aarch64__) || defined(__ARM_NEON)
  // On ARM every tier the CPU has must have a kernel.
  for (k::Isa isa : arm_tiers()) CHECK(k::select_gemm_kernel(isa) != nullptr);
  CHECK(k::select_gemm_kernel(k::Isa::ref) == nullptr);
#endif
  const uint32_t seed = 20240601;
  int total = 0;
  for (k::Isa isa : arm_tiers()) {
    const k::GemmKernel* kernel = k::select_gemm_kernel(isa);
    if (kernel == nullptr) continue;
    CHECK(kernel->isa == isa);
    std::mt19937 rng(seed);
    constexpr int kCases = 4000;  // 2000 per profile
    int failures = 0;
    for (int i = 0; i < kCases && failures < 5; ++i) {
      GemmCase c = random_gemm_case(rng);
      c.profile = i % 2 ? k::Profile::fbgemm : k::Profile::qnnpack;
      if (!run_gemm_case(*kernel, rng, c, seed, i)) ++failures;
    }
    CHECK(failures == 0);
    MESSAGE(std::string(kernel->name) << ": " << kCases
                                      << " random cases (half per profile), seed " << seed);
    total += kCases;
  }
  MESSAGE("arm gemm: " << total << " cases over " << arm_tiers().size() << " tiers");
}

TEST_CASE("arm gemm kernels at the deepest accumulation and extreme inputs") {
  // K = kMaxAccumulationDepth with every product at 255 * -128 (or the zero
  // point making every term -255 * 127): the int32 sum and the a_zp * sum(w)
  // correction must wrap exactly as the reference.
  const uint32_t seed = 7;
  for (k::Isa isa : arm_tiers()) {
    const k::GemmKernel* kernel = k::select_gemm_kernel(isa);
    if (kernel == nullptr) continue;
    std::mt19937 rng(seed);
    for (int variant = 0; variant < 4; ++variant) {
      GemmCase c;
      c.m = 3;
      c.n = 17;
      c.k = variant < 2 ? qrt::kernels::kMaxAccumulationDepth : 32767;
      c.a_stride = c.k;
      c.out_stride = c.n;
      c.a_zp = variant % 2 ? 255 : 0;
      c.profile = variant % 2 ? k::Profile::qnnpack : k::Profile::fbgemm;
      CHECK(run_gemm_case(*kernel, rng, c, seed, variant));
    }
  }
}

TEST_CASE("arm tiers follow AT_HWCAP, and QRT_ISA forces a tier") {
#if defined(__aarch64__) && defined(__linux__)
  // glibc's own HWCAP_ASIMDDP, checked against cpu.cc's constant.
  const bool dot = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  CHECK(k::isa_available(k::Isa::neon));
  CHECK(k::isa_available(k::Isa::neon_dotprod) == dot);
  CHECK(k::best_isa() == (dot ? k::Isa::neon_dotprod : k::Isa::neon));
  MESSAGE("AT_HWCAP dot product: " << dot);
#elif defined(__ARM_NEON)
  CHECK(k::isa_available(k::Isa::neon));
  CHECK(k::best_isa() != k::Isa::ref);
#endif
  const char* saved = std::getenv("QRT_ISA");
  const std::string saved_value = saved ? saved : "";
  for (k::Isa isa : {k::Isa::neon, k::Isa::neon_dotprod}) {
    setenv("QRT_ISA", k::isa_name(isa), 1);
    std::string error;
    const k::Isa got = k::selected_isa(&error);
    if (k::isa_available(isa)) {
      CHECK(got == isa);
      CHECK(error.empty());
      CHECK(k::select_gemm_kernel(got) != nullptr);
    } else {
      CHECK(got == k::Isa::ref);
      CHECK(!error.empty());
    }
  }
  if (saved) {
    setenv("QRT_ISA", saved_value.c_str(), 1);
  } else {
    unsetenv("QRT_ISA");
  }
}
