// x86 float32 row kernels (softmax, layer norm) against softmax_f32_ref and
// layer_norm_f32_ref on every tier this machine has: seeded random rows of
// every length up to a few hundred (vector tails), value scales 1e-3..1e3,
// in place or not, rows holding NaN and infinities. softmax must stay within
// 1e-5 relative of the reference (outputs below the normal range may be 0);
// layer norm computes in double like the reference and must stay within 1e-6.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/layer_norm.h"
#include "kernels/ref/softmax.h"
#include "test_x86_common.h"

namespace {

using namespace qrt_x86_test;

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> random_rows(std::mt19937& rng, int rows, int cols) {
  const float scale = log_uniform(rng, 1e-3f, 1e3f);
  const float offset = coin(rng, 0.3) ? log_uniform(rng, 1e-2f, 1e3f) : 0.f;
  std::normal_distribution<float> dist(offset, scale);
  std::vector<float> v(static_cast<size_t>(rows) * cols);
  for (auto& x : v) x = dist(rng);
  if (coin(rng, 0.1)) {
    // NaN, infinities and huge negatives (exp underflow) at random places.
    const float special[] = {std::nanf(""), kInf, -kInf, -1e30f, -100.f};
    for (int i = uniform(rng, 1, 3); i > 0; --i)
      v[uniform(rng, 0, static_cast<int>(v.size()) - 1)] = special[uniform(rng, 0, 4)];
  }
  if (coin(rng, 0.02))
    for (int j = 0; j < cols; ++j) v[j] = -kInf;  // an all -inf row
  return v;
}

// Same NaN-ness, and |got - want| <= rel |want| + abs.
bool close(float got, float want, double rel, double abs) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) == std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(static_cast<double>(got) - want) <= rel * std::fabs(want) + abs;
}

}  // namespace

TEST_CASE("rows_f32 x86: softmax and layer norm vs the references, every tier") {
  for (k::Isa isa : tiers_to_test()) {
    const k::F32RowKernel* kernel = k::select_f32_row_kernel(isa);
    REQUIRE((kernel && kernel->isa == isa));
    int failures = 0;
    const uint32_t seed = 0x50f7 + static_cast<uint32_t>(isa);
    std::mt19937 rng(seed);
    for (int i = 0; i < 4000 && failures < 5; ++i) {
      const bool softmax = i % 2 == 0;
      const int rows = uniform(rng, 1, 6);
      const int cols = coin(rng, 0.8) ? uniform(rng, 1, 70) : uniform(rng, 71, 1100);
      const bool in_place = coin(rng);
      const std::vector<float> in = random_rows(rng, rows, cols);
      std::vector<float> want(in.size()), in_copy = in, separate(in.size(), -7.f);
      const float* src = in_place ? in_copy.data() : in.data();
      float* out = in_place ? in_copy.data() : separate.data();
      double rel = 1e-5, abs = 1e-37;
      if (softmax) {
        k::SoftmaxShape shape;
        shape.outer = rows;
        shape.axis = cols;
        k::softmax_f32_ref(shape, in.data(), want.data());
        kernel->softmax(rows, cols, src, out);
      } else {
        std::vector<float> gamma, beta;
        if (coin(rng, 0.7)) gamma = random_rows(rng, 1, cols);
        if (coin(rng, 0.7)) beta = random_rows(rng, 1, cols);
        const double eps = coin(rng) ? 1e-5 : log_uniform(rng, 1e-12f, 1e-1f);
        k::LayerNormShape shape;
        shape.rows = rows;
        shape.cols = cols;
        const float* g = gamma.empty() ? nullptr : gamma.data();
        const float* b = beta.empty() ? nullptr : beta.data();
        k::layer_norm_f32_ref(shape, eps, in.data(), g, b, want.data());
        kernel->layer_norm(rows, cols, eps, src, g, b, out);
        rel = 1e-6, abs = 1e-30;
      }
      for (size_t e = 0; e < in.size(); ++e) {
        if (close(out[e], want[e], rel, abs)) continue;
        std::printf("%s %s case %d (seed %u): %d x %d%s, element %zu (input %.9g) = %.9g, "
                    "reference %.9g\n",
                    kernel->name, softmax ? "softmax" : "layer_norm", i, seed, rows, cols,
                    in_place ? " in place" : "", e, static_cast<double>(in[e]),
                    static_cast<double>(out[e]), static_cast<double>(want[e]));
        ++failures;
        break;
      }
    }
    CHECK(failures == 0);
  }
}

TEST_CASE("rows_f32: null for the reference tier") {
  CHECK(k::select_f32_row_kernel(k::Isa::ref) == nullptr);
}
