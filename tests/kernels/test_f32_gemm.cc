// Float32 GEMM kernels, x86 and aarch64 NEON (FULLY_CONNECTED f32 with
// packed weights, MATMUL f32 reading b in place) against a double-precision
// reference, on every tier this machine has: seeded random shapes with
// tails, strides, sub-ranges of rows and columns, biases and clamps. fp32
// sums differ from the reference kernels in summation order only, so each
// output must lie within 1e-5 * (|bias| + sum_k |a b|) of the exact value
// (the error scale of any float summation order); nothing outside the
// requested range may change.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/fully_connected.h"
#include "kernels/ref/matmul.h"
#include "support/op_runner.h"
#include "support/tier_runs.h"
#include "test_x86_common.h"

namespace {

using namespace qrt_x86_test;

constexpr float kSentinel = -1234.5f;
constexpr double kRelTol = 1e-5;

struct F32Case {
  int m, n, k;
  bool packed, bias;
  size_t a_stride, b_stride, out_stride;
  int m_begin, m_end, n_begin, n_end;
  float act_min, act_max;
};

std::vector<float> random_floats(std::mt19937& rng, size_t n) {
  const float scale = log_uniform(rng, 1e-3f, 1e3f);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Runs one case; returns false (after reporting) on a mismatch. Every row
// has its own a_stride gap and every buffer its exact size, so ASan sees a
// read past a row's k floats or b's last column.
bool run_case(const k::F32GemmKernel& kernel, std::mt19937& rng, const F32Case& c, uint32_t seed,
              int index, double* worst) {
  const std::vector<float> a_dense = random_floats(rng, static_cast<size_t>(c.m) * c.k);
  const std::vector<float> w = random_floats(rng, static_cast<size_t>(c.n) * c.k);  // [n][k]
  const std::vector<float> bias = random_floats(rng, static_cast<size_t>(c.n));
  std::vector<float> a((c.m - 1) * c.a_stride + c.k, std::nanf(""));
  for (int i = 0; i < c.m; ++i)
    for (int kk = 0; kk < c.k; ++kk) a[i * c.a_stride + kk] = a_dense[i * c.k + kk];

  k::F32GemmArgs g;
  g.n = c.n;
  g.k = c.k;
  g.a = a.data();
  g.a_stride = c.a_stride;
  g.bias = c.bias ? bias.data() : nullptr;
  g.act_min = c.act_min;
  g.act_max = c.act_max;
  std::vector<float> packed, b;
  if (c.packed) {
    packed.resize(kernel.packed_bytes(c.n, c.k) / sizeof(float));
    kernel.pack(c.n, c.k, w.data(), packed.data());
    g.packed = packed.data();
  } else {
    b.assign((c.k - 1) * c.b_stride + c.n, std::nanf(""));
    for (int kk = 0; kk < c.k; ++kk)
      for (int j = 0; j < c.n; ++j) b[kk * c.b_stride + j] = w[j * c.k + kk];
    g.b = b.data();
    g.b_stride = c.b_stride;
  }
  std::vector<float> out((c.m - 1) * c.out_stride + c.n, kSentinel);
  g.out = out.data();
  g.out_stride = c.out_stride;
  kernel.run(g, c.m_begin, c.m_end, c.n_begin, c.n_end);

  for (int i = 0; i < c.m; ++i) {
    for (int j = 0; j < c.n; ++j) {
      const float got = out[i * c.out_stride + j];
      const bool inside = i >= c.m_begin && i < c.m_end && j >= c.n_begin && j < c.n_end;
      double exact = c.bias ? bias[j] : 0.0, scale = std::fabs(exact);
      for (int kk = 0; kk < c.k; ++kk) {
        const double p = static_cast<double>(a_dense[i * c.k + kk]) * w[j * c.k + kk];
        exact += p;
        scale += std::fabs(p);
      }
      exact = std::min(std::max(exact, static_cast<double>(c.act_min)),
                       static_cast<double>(c.act_max));
      const double err = inside ? std::fabs(got - exact) : 0.0;
      if (scale > 0) *worst = std::max(*worst, err / scale);
      const bool ok = inside ? err <= kRelTol * scale : got == kSentinel;
      if (!ok) {
        std::printf(
            "%s case %d (seed %u): m %d n %d k %d %s bias %d strides a %zu b %zu out %zu rows "
            "[%d,%d) cols [%d,%d) clamp [%g,%g]: out[%d][%d] = %.9g, expected %.9g (scale %g)\n",
            kernel.name, index, seed, c.m, c.n, c.k, c.packed ? "packed" : "in place", c.bias,
            c.a_stride, c.b_stride, c.out_stride, c.m_begin, c.m_end, c.n_begin, c.n_end,
            static_cast<double>(c.act_min), static_cast<double>(c.act_max), i, j,
            static_cast<double>(got), exact, scale);
        return false;
      }
    }
  }
  return true;
}

F32Case random_case(std::mt19937& rng, const k::F32GemmKernel& kernel) {
  F32Case c;
  c.m = coin(rng, 0.2) ? uniform(rng, 1, 70) : uniform(rng, 1, 2 * kernel.mr + 1);
  c.n = coin(rng, 0.2) ? uniform(rng, 1, 300) : uniform(rng, 1, 4 * kernel.nr + 3);
  c.k = coin(rng, 0.1) ? uniform(rng, 200, 600) : uniform(rng, 1, 80);
  c.packed = coin(rng);
  c.bias = coin(rng, 0.7);
  c.a_stride = c.k + (coin(rng) ? 0 : uniform(rng, 1, 9));
  c.b_stride = c.n + (coin(rng) ? 0 : uniform(rng, 1, 9));
  c.out_stride = c.n + (coin(rng) ? 0 : uniform(rng, 1, 9));
  c.m_begin = 0, c.m_end = c.m, c.n_begin = 0, c.n_end = c.n;
  if (coin(rng, 0.3)) {
    c.m_begin = uniform(rng, 0, c.m - 1);
    c.m_end = uniform(rng, c.m_begin + 1, c.m);
  }
  if (coin(rng, 0.3)) {
    // Packed weights start a range on a tile's columns; b read in place anywhere.
    const int step = c.packed ? kernel.nr : 1;
    c.n_begin = uniform(rng, 0, (c.n - 1) / step) * step;
    c.n_end = uniform(rng, c.n_begin + 1, c.n);
  }
  c.act_min = -std::numeric_limits<float>::infinity();
  c.act_max = std::numeric_limits<float>::infinity();
  if (coin(rng, 0.3)) c.act_min = 0.f;
  if (coin(rng, 0.2)) c.act_max = log_uniform(rng, 1e-2f, 1e4f);
  return c;
}

// Every fast tier has a float GEMM except on armv7, whose NEON flushes
// subnormals to zero (kernels/arm/gemm_f32_neon.cc).
std::vector<k::Isa> f32_tiers() {
#if defined(__arm__)
  return {};
#else
  return qrt::test::fast_tiers();
#endif
}

}  // namespace

TEST_CASE("gemm_f32: FC packed and MatMul in place vs exact sums, every tier") {
  const auto tiers = f32_tiers();
  if (tiers.empty()) return;
  for (k::Isa isa : tiers) {
    const k::F32GemmKernel* kernel = k::select_f32_gemm_kernel(isa);
    REQUIRE(kernel != nullptr);
    CHECK(kernel->isa == isa);
    const uint32_t seed = 0xf32a + static_cast<uint32_t>(isa);
    std::mt19937 rng(seed);
    double worst = 0;
    int failures = 0;
    for (int i = 0; i < 2500 && failures < 5; ++i)
      failures += !run_case(*kernel, rng, random_case(rng, *kernel), seed, i, &worst);
    CHECK(failures == 0);
    MESSAGE(std::string(kernel->name) << ": largest error / sum|a b| = " << worst);
  }
}

TEST_CASE("gemm_f32: NaN and infinity propagate as in the reference") {
  const auto tiers = f32_tiers();
  for (k::Isa isa : tiers) {
    const k::F32GemmKernel& kernel = *k::select_f32_gemm_kernel(isa);
    const int m = 3, n = 37, kd = 5;
    std::vector<float> a(m * kd, 1.f), w(n * kd, 0.5f), bias(n, 0.f);
    a[1 * kd + 2] = std::nanf("");
    w[4 * kd + 1] = std::numeric_limits<float>::infinity();
    std::vector<float> packed(kernel.packed_bytes(n, kd) / sizeof(float));
    kernel.pack(n, kd, w.data(), packed.data());
    k::F32GemmArgs g;
    g.n = n, g.k = kd, g.a = a.data(), g.a_stride = kd, g.packed = packed.data();
    g.bias = bias.data(), g.act_min = 0.f, g.act_max = 6.f;
    std::vector<float> got(m * n), want(m * n);
    g.out = got.data(), g.out_stride = n;
    kernel.run(g, 0, m, 0, n);
    k::FullyConnectedShape shape;
    shape.batch = m, shape.in_features = kd, shape.out_features = n;
    k::fully_connected_f32_ref(shape, a.data(), w.data(), bias.data(), 0.f, 6.f, want.data());
    for (int i = 0; i < m * n; ++i) {
      INFO(kernel.name << " element " << i);
      CHECK(std::isnan(got[i]) == std::isnan(want[i]));
      if (!std::isnan(want[i])) CHECK(got[i] == want[i]);
    }
  }
}

TEST_CASE("gemm_f32: subnormal products and sums are not flushed to zero") {
  // Column j sums (j + 1) 2^-70 * 2^-70 + 0 (plus 2^-149 in column 3):
  // exact subnormals, so fused or not every sum equals the reference's.
  // (armv7 NEON would flush them; it keeps the reference.)
  const float tiny = std::ldexp(1.f, -70);
  const int n = 9, kd = 2;
  const std::vector<float> a = {tiny, tiny};
  std::vector<float> w(n * kd, 0.f), bias(n, 0.f);
  for (int j = 0; j < n; ++j) w[j * kd] = tiny * static_cast<float>(j + 1);
  bias[3] = std::ldexp(1.f, -149);
  for (k::Isa isa : f32_tiers()) {
    const k::F32GemmKernel& kernel = *k::select_f32_gemm_kernel(isa);
    std::vector<float> packed(kernel.packed_bytes(n, kd) / sizeof(float));
    kernel.pack(n, kd, w.data(), packed.data());
    k::F32GemmArgs g;
    g.n = n, g.k = kd, g.a = a.data(), g.a_stride = kd, g.packed = packed.data();
    g.bias = bias.data();
    std::vector<float> got(n), want(n);
    g.out = got.data(), g.out_stride = n;
    kernel.run(g, 0, 1, 0, n);
    k::FullyConnectedShape shape;
    shape.batch = 1, shape.in_features = kd, shape.out_features = n;
    const float inf = std::numeric_limits<float>::infinity();
    k::fully_connected_f32_ref(shape, a.data(), w.data(), bias.data(), -inf, inf, want.data());
    for (int j = 0; j < n; ++j) {
      INFO(kernel.name << " column " << j);
      CHECK(want[j] != 0.f);
      CHECK(got[j] == want[j]);
    }
  }
}

TEST_CASE("gemm_f32: null for the reference tier, and for NEON on armv7") {
  CHECK(k::select_f32_gemm_kernel(k::Isa::ref) == nullptr);
#if defined(__arm__)
  CHECK(k::select_f32_gemm_kernel(k::Isa::neon) == nullptr);
#endif
}

TEST_CASE("gemm_f32: MATMUL op, broadcast batches of whole and partial row tiles") {
  // a [2, 1, 19, 37] x b [3, 37, 45]: six products, each of several row tiles
  // and a column tail, the batch items split into (matrix, row tile) chunks.
  const std::vector<int32_t> a_dims = {2, 1, 19, 37}, b_dims = {3, 37, 45};
  k::MatMulShape shape;
  int out_rank = 0;
  int32_t out_dims[k::kNnMaxRank] = {};
  REQUIRE(k::make_matmul_shape(4, a_dims.data(), 3, b_dims.data(), &shape, &out_rank, out_dims));
  std::mt19937 rng(0x3a7);
  const std::vector<float> a = random_floats(rng, 2 * 19 * 37), b = random_floats(rng, 3 * 37 * 45);
  std::vector<float> want(2 * 3 * 19 * 45);
  k::matmul_f32_ref(shape, a.data(), b.data(), want.data());
  float scale = 0.f;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  for (k::Isa isa : f32_tiers()) {
    for (const bool constant_b : {false, true}) {
      qrt::test::IsaEnv env(k::isa_name(isa));
      qrt::test::OpSpec spec;
      spec.code = qrt::fb::OpCode::MATMUL;
      spec.inputs.resize(2);
      spec.inputs[0].shape = a_dims;
      spec.inputs[0].data = qrt::test::bytes_of(a);
      spec.inputs[1].shape = b_dims;
      spec.inputs[1].data = qrt::test::bytes_of(b);
      spec.inputs[1].constant = constant_b;
      spec.outputs.resize(1);
      spec.outputs[0].shape = {2, 3, 19, 45};
      const qrt::test::OpResult r = qrt::test::run_op(spec);
      REQUIRE_MESSAGE(r.status == QRT_OK, r.error);
      const std::vector<float> got = qrt::test::values_of<float>(r.outputs[0]);
      REQUIRE(got.size() == want.size());
      int bad = 0;
      for (size_t i = 0; i < got.size(); ++i)
        bad += !(std::fabs(got[i] - want[i]) <= 1e-5f * scale);
      INFO(k::isa_name(isa) << (constant_b ? ", constant b" : ", activation b"));
      CHECK(bad == 0);
    }
  }
}
