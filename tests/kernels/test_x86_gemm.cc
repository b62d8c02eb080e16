// x86 GEMM kernels (1x1 conv / FullyConnected) against
// fully_connected_u8s8_ref: seeded random shapes, strides, zero points,
// scales, both profiles, per-tensor and per-channel, biases and clamps, on
// every tier this machine has. Bytes must be identical.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/fully_connected.h"
#include "test_x86_common.h"
#include "test_x86_u8_range.h"

namespace {

using namespace qrt_x86_test;

struct GemmCase {
  int m, n, k;
  size_t a_stride, out_stride;
  int32_t a_zp;
  k::Profile profile;
};

// Cases whose AVX2 pack took the scheduled u8 layout, and those of them
// with fused pairs of steps.
int g_scheduled = 0;
int g_fused = 0;
// fbgemm cases packed with a schedule whose activations have a byte above
// 127: its fused pairs then run on split rows.
int g_fbgemm_split = 0;

// Runs one case; returns false (after reporting) on a mismatch.
bool run_gemm_case(const k::GemmKernel& kernel, std::mt19937& rng, const GemmCase& c, uint32_t seed,
                   int index) {
  RandomRequant rr;
  make_random_requant(rng, c.profile, c.n, c.k, &rr);
  std::vector<uint8_t> a_dense = random_activations(rng, static_cast<size_t>(c.m) * c.k, c.a_zp);
  std::vector<int8_t> w = random_weights(rng, static_cast<size_t>(c.n) * c.k);
  maybe_fbgemm_range(rng, &a_dense);
  maybe_pair_safe(rng, &w);

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
  if (kernel.isa == k::Isa::avx2 && gemm_scheduled(packed.data())) ++g_scheduled;
  const auto* g = reinterpret_cast<const qrt::kernels::x86::GemmPacked*>(packed.data());
  if (kernel.isa == k::Isa::avx2 && qrt::kernels::x86::gemm_fused_pairs(g) > 0) {
    ++g_fused;
    const bool above_127 =
        std::any_of(a_dense.begin(), a_dense.end(), [](uint8_t v) { return v > 127; });
    if (c.profile == k::Profile::fbgemm && above_127) ++g_fbgemm_split;
  }
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
  // packed_bytes reserves what pack writes, no more (the AVX2 tier's u8
  // layouts take half the bytes of its int16 one).
  const bool exact_size = g->total_bytes == packed.size();
  const long diff = first_difference(expected, got);
  if (diff < 0 && gaps_untouched && exact_size) return true;
  char what[128] = "every byte matches";
  if (diff >= 0) {
    std::snprintf(what, sizeof(what), "first difference at [%ld][%ld]: expected %d got %d",
                  diff / c.n, diff % c.n, expected[diff], got[diff]);
  }
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "%s seed %u case %d: m %d n %d k %d a_stride %zu out_stride %zu a_zp %d %s %s; "
                "%s; stride gaps untouched %d; packed %llu of %zu bytes reserved",
                kernel.name, seed, index, c.m, c.n, c.k, c.a_stride, c.out_stride, c.a_zp,
                profile_name(c.profile), rr.desc.c_str(), what, gaps_untouched,
                static_cast<unsigned long long>(g->total_bytes), packed.size());
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

TEST_CASE("x86 gemm kernels match fully_connected_u8s8_ref") {
#if defined(__x86_64__)
  // On x86-64 every tier the CPU has must have a kernel.
  for (k::Isa isa : tiers_to_test()) CHECK(k::select_gemm_kernel(isa) != nullptr);
  CHECK(k::select_gemm_kernel(k::Isa::ref) == nullptr);
#endif
  const uint32_t seed = 20240501;
  int total = 0;
  for (k::Isa isa : tiers_to_test()) {
    const k::GemmKernel* kernel = k::select_gemm_kernel(isa);
    if (kernel == nullptr) continue;
    CHECK(kernel->isa == isa);
    std::mt19937 rng(seed);
    constexpr int kCases = 2200;
    int failures = 0;
    for (int i = 0; i < kCases && failures < 5; ++i) {
      if (!run_gemm_case(*kernel, rng, random_gemm_case(rng), seed, i)) ++failures;
    }
    CHECK(failures == 0);
    MESSAGE(std::string(kernel->name) << ": " << kCases << " random cases, seed " << seed);
    if (isa == k::Isa::avx2) {
      // The scheduled layout and its fused pairs must be exercised, not
      // only possible.
      CHECK(g_scheduled >= 100);
      CHECK(g_fused >= 100);
      CHECK(g_fbgemm_split >= 50);
      MESSAGE(std::string(kernel->name) << ": " << g_scheduled
                                        << " cases packed with a step schedule, " << g_fused
                                        << " of them with fused pairs (" << g_fbgemm_split
                                        << " fbgemm on split rows)");
    }
    total += kCases;
  }
  MESSAGE("x86 gemm: " << total << " cases over " << tiers_to_test().size() << " tiers");
}

TEST_CASE("x86 gemm kernels at the deepest accumulation and extreme inputs") {
  // K = kMaxAccumulationDepth with every product at 255 * -128 (or the zero
  // point making every term -255 * 127): the int32 sum and the a_zp * sum(w)
  // correction must wrap exactly as the reference.
  const uint32_t seed = 7;
  for (k::Isa isa : tiers_to_test()) {
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

TEST_CASE("x86 gemm: the AVX2 schedule fuses two steps exactly when every lane allows it") {
  // One block of 16 columns, k = 8: two k groups, each one step. Their int16
  // lanes (k 0-1, 2-3 of group 0; 4-5, 6-7 of group 1) fuse when, per column
  // and lane, the positive weights of both steps sum to at most 128, and the
  // negative ones too (qnnpack: activations up to 255). The packer settles
  // most pairs from each step's largest lane sum; the rest lane by lane.
  if (!k::isa_available(k::Isa::avx2)) return;
  const k::GemmKernel* kernel = k::select_gemm_kernel(k::Isa::avx2);
  REQUIRE(kernel != nullptr);
  constexpr int kN = 16, kK = 8, kM = 9;
  struct Case {
    const char* what;
    // {column, k, weight} set on zero weights.
    std::vector<std::array<int, 3>> set;
    bool fused;
  };
  const std::vector<Case> cases = {
      {"small weights: fused by the largest lane sums", {}, true},
      {"large sums in different lanes: fused lane by lane",
       {{0, 0, 60}, {0, 1, 60}, {0, 6, 60}, {0, 7, 60}},
       true},
      {"large sums in one lane: not fused",
       {{0, 0, 60}, {0, 1, 60}, {0, 4, 60}, {0, 5, 60}},
       false},
      {"-128 and -1 in one lane: not fused", {{5, 2, -128}, {5, 6, -1}}, false},
      {"-128 and -1 in different lanes: fused lane by lane", {{5, 2, -128}, {5, 4, -1}}, true},
      {"-128 and -1 in different columns: fused lane by lane", {{5, 2, -128}, {6, 6, -1}}, true},
  };
  std::mt19937 rng(11);
  for (const Case& c : cases) {
    CAPTURE(c.what);
    std::vector<int8_t> w(kN * kK, 0);
    if (c.set.empty()) {
      for (auto& v : w) v = static_cast<int8_t>(uniform(rng, -10, 10));
    }
    for (const auto& [col, kk, v] : c.set) w[col * kK + kk] = static_cast<int8_t>(v);
    RandomRequant rr;
    make_random_requant(rng, k::Profile::qnnpack, kN, kK, &rr);
    const int32_t a_zp = uniform(rng, 0, 255);
    std::vector<uint8_t> packed(kernel->packed_bytes(kN, kK, w.data(), rr.rq.profile));
    k::GemmPackParams pp;
    pp.n = kN;
    pp.k = kK;
    pp.w = w.data();
    pp.a_zp = a_zp;
    pp.rq = &rr.rq;
    kernel->pack(pp, packed.data());
    const auto* g = reinterpret_cast<const qrt::kernels::x86::GemmPacked*>(packed.data());
    CHECK((qrt::kernels::x86::gemm_fused_pairs(g) == 1) == c.fused);

    std::vector<uint8_t> a = random_activations(rng, kM * kK, a_zp);
    k::FullyConnectedShape shape;
    shape.batch = kM;
    shape.in_features = kK;
    shape.out_features = kN;
    std::vector<uint8_t> expected(kM * kN), got(kM * kN);
    k::fully_connected_u8s8_ref(shape, a.data(), a_zp, w.data(), rr.rq, expected.data());
    std::vector<uint8_t> scratch(kernel->scratch_bytes(kK));
    k::GemmArgs args;
    args.packed = packed.data();
    args.a = a.data();
    args.a_stride = kK;
    args.out = got.data();
    args.out_stride = kN;
    kernel->run(args, 0, kM, scratch.data());
    CHECK(first_difference(expected, got) < 0);
  }
}
