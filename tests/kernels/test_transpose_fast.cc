// Fast transpose (kernels/transpose_tiled.cc with the tiers' byte-plane
// interleave, kernels/x86/transpose_avx2.cc, kernels/arm/transpose_neon.cc)
// against transpose_ref, byte for byte. Random cases sweep ranks 0..6,
// sizes 1..40 per axis (size-1 axes included), every permutation kind, all
// element sizes, and NCHW -> NHWC with 1..5 channels and every vector tail;
// each runs whole and split into random output-axis-0 ranges (how threads
// share it), with no tier kernel and with each tier's. simplify_transpose
// must keep transpose_ref's bytes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/layout.h"
#include "kernels/transpose_tiled.h"
#include "support/random_cases.h"
#include "support/tier_runs.h"

namespace {

namespace k = qrt::kernels;
using qrt::test::uniform;

constexpr uint32_t kSeed = 20250302;
constexpr int kCases = 2500;
constexpr uint8_t kCanary = 0x5A;
constexpr size_t kGuard = 32;

// Null (scalar loops only), then every fast tier's kernel.
std::vector<const k::TransposeKernel*> kernels_to_test() {
  std::vector<const k::TransposeKernel*> out = {nullptr};
  for (k::Isa isa : qrt::test::fast_tiers()) {
    const k::TransposeKernel* t = k::select_transpose_kernel(isa);
    REQUIRE(t != nullptr);
    CHECK(t->isa == isa);
    out.push_back(t);
  }
  return out;
}

size_t elements(const k::TransposeParams& p) {
  size_t n = 1;
  for (int a = 0; a < p.rank; ++a) n *= static_cast<size_t>(p.in_dims[a]);
  return n;
}

std::string describe(const k::TransposeParams& p) {
  std::string s = "dims";
  for (int a = 0; a < p.rank; ++a) s += " " + std::to_string(p.in_dims[a]);
  s += " perm";
  for (int a = 0; a < p.rank; ++a) s += " " + std::to_string(p.perm[a]);
  return s + " elem " + std::to_string(p.elem_size);
}

k::TransposeParams random_params(std::mt19937& rng) {
  k::TransposeParams p;
  static const size_t kSizes[] = {1, 2, 4, 8};
  const int kind = uniform(rng, 0, 9);
  if (kind < 4) {
    // NCHW -> NHWC (perm 0 2 3 1), the model input's transpose.
    p.rank = 4;
    const int32_t dims[4] = {uniform(rng, 1, 3) == 3 ? 2 : 1, uniform(rng, 1, 5),
                             uniform(rng, 1, 40), uniform(rng, 1, 70)};
    const int32_t perm[4] = {0, 2, 3, 1};
    for (int a = 0; a < 4; ++a) p.in_dims[a] = dims[a], p.perm[a] = perm[a];
    p.elem_size = kind < 3 ? 1 : kSizes[uniform(rng, 0, 3)];
    return p;
  }
  p.rank = uniform(rng, 0, 6);
  p.elem_size = kSizes[uniform(rng, 0, 3)];
  std::iota(p.perm, p.perm + p.rank, 0);
  std::shuffle(p.perm, p.perm + p.rank, rng);
  // Keep the tensor below ~40k elements.
  size_t n = 1;
  for (int a = 0; a < p.rank; ++a) {
    const int32_t cap = static_cast<int32_t>(std::max<size_t>(1, std::min<size_t>(40, 40000 / n)));
    p.in_dims[a] = uniform(rng, 0, 4) == 0 ? 1 : uniform(rng, 1, cap);
    n *= static_cast<size_t>(p.in_dims[a]);
  }
  return p;
}

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(uniform(rng, 0, 255));
  return v;
}

}  // namespace

TEST_CASE("fast transpose: simplify_transpose keeps transpose_ref's bytes") {
  std::mt19937 rng(kSeed);
  for (int c = 0; c < kCases; ++c) {
    const k::TransposeParams p = random_params(rng);
    CAPTURE(c);
    CAPTURE(describe(p));
    const k::TransposeParams s = k::simplify_transpose(p);
    CAPTURE(describe(s));
    REQUIRE(elements(s) == elements(p));
    for (int a = 0; a < s.rank; ++a) CHECK(s.in_dims[a] > 1);
    for (int k = 1; k < s.rank; ++k) CHECK(s.perm[k] != s.perm[k - 1] + 1);
    const size_t bytes = elements(p) * p.elem_size;
    const std::vector<uint8_t> in = random_bytes(rng, bytes);
    std::vector<uint8_t> want(bytes), got(bytes);
    k::transpose_ref(p, in.data(), want.data());
    k::transpose_ref(s, in.data(), got.data());
    REQUIRE(got == want);
  }
}

TEST_CASE("fast transpose: the NCHW -> NHWC of an RGB image is a 2-D transpose of 3 rows") {
  k::TransposeParams p;
  p.rank = 4;
  const int32_t dims[4] = {1, 3, 224, 224}, perm[4] = {0, 2, 3, 1};
  for (int a = 0; a < 4; ++a) p.in_dims[a] = dims[a], p.perm[a] = perm[a];
  const k::TransposeParams s = k::simplify_transpose(p);
  REQUIRE(s.rank == 2);
  CHECK(s.in_dims[0] == 3);
  CHECK(s.in_dims[1] == 224 * 224);
  CHECK(s.perm[0] == 1);
  CHECK(s.perm[1] == 0);
}

TEST_CASE("fast transpose: transpose_tiled matches transpose_ref, whole and in pieces") {
  const std::vector<const k::TransposeKernel*> kernels = kernels_to_test();
  std::mt19937 rng(kSeed + 1);
  for (int c = 0; c < kCases; ++c) {
    const k::TransposeParams p = random_params(rng);
    const bool simplify = uniform(rng, 0, 3) != 0;
    const k::TransposeParams run = simplify ? k::simplify_transpose(p) : p;
    const size_t bytes = elements(p) * p.elem_size;
    const std::vector<uint8_t> in = random_bytes(rng, bytes);
    std::vector<uint8_t> want(bytes);
    k::transpose_ref(p, in.data(), want.data());
    const int64_t units = run.rank > 0 ? run.in_dims[run.perm[0]] : 1;
    // Cut points along output axis 0; none = one call over everything.
    std::vector<int64_t> cuts = {0, units};
    for (int i = uniform(rng, 0, 3); i > 0; --i)
      cuts.push_back(uniform(rng, 0, static_cast<int>(units)));
    std::sort(cuts.begin(), cuts.end());
    for (const k::TransposeKernel* kernel : kernels) {
      std::vector<uint8_t> got(bytes + 2 * kGuard, kCanary);
      for (size_t i = 0; i + 1 < cuts.size(); ++i)
        k::transpose_tiled(run, in.data(), got.data() + kGuard, cuts[i], cuts[i + 1], kernel);
      const bool same = std::equal(want.begin(), want.end(), got.begin() + kGuard);
      bool canaries = true;
      for (size_t i = 0; i < kGuard; ++i)
        canaries = canaries && got[i] == kCanary && got[kGuard + bytes + i] == kCanary;
      if (!same || !canaries) {
        char msg[512];
        std::snprintf(msg, sizeof(msg), "case %d (seed %u), kernel %s, %s%s, %zu pieces: %s", c,
                      kSeed + 1, kernel ? k::isa_name(kernel->isa) : "none", describe(p).c_str(),
                      simplify ? " (simplified)" : "", cuts.size() - 1,
                      same ? "canaries overwritten" : "bytes differ");
        FAIL(msg);
      }
    }
  }
}

TEST_CASE("fast transpose: interleave_u8 of 2, 3 and 4 planes, every tail") {
  std::mt19937 rng(kSeed + 2);
  for (const k::TransposeKernel* kernel : kernels_to_test()) {
    if (!kernel) continue;
    CAPTURE(k::isa_name(kernel->isa));
    for (int planes = 2; planes <= 4; ++planes) {
      for (size_t n = 0; n <= 130; ++n) {
        CAPTURE(planes);
        CAPTURE(n);
        const size_t stride = n + static_cast<size_t>(uniform(rng, 0, 9));
        const std::vector<uint8_t> in = random_bytes(rng, stride * static_cast<size_t>(planes));
        std::vector<uint8_t> got(n * static_cast<size_t>(planes) + kGuard, kCanary);
        kernel->interleave_u8(planes, n, in.data(), stride, got.data());
        bool ok = true;
        for (size_t j = 0; j < n; ++j)
          for (int c = 0; c < planes; ++c)
            ok = ok && got[j * static_cast<size_t>(planes) + static_cast<size_t>(c)] ==
                           in[static_cast<size_t>(c) * stride + j];
        for (size_t i = 0; i < kGuard; ++i)
          ok = ok && got[n * static_cast<size_t>(planes) + i] == kCanary;
        REQUIRE(ok);
      }
    }
  }
}
