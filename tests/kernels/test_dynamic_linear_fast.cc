// The fast dynamic linear kernels (kernels/x86/dynamic_linear_*.cc,
// kernels/arm/dynamic_linear_*.cc) against fully_connected_dynamic_ref, bit
// for bit, on every tier this machine has (avx2 always on x86; neon and
// neon_dotprod under qemu). Seeded random cases sweep rows 1..70, k 1..600,
// n 1..300 (every vector and block tail), both profiles, per-tensor and
// per-channel weight scales over 1e-4..10 (and a few tiny or subnormal
// ones, the armv7 flush-to-zero fallback), with and without bias, ReLU, no
// clamp or a random one, extreme weights, and inputs: spread, all equal,
// all positive, all negative, tiny and huge ranges, near rounding ties,
// signed zeros, subnormals, and a NaN or an infinity (all-NaN output).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/choose_qparams.h"
#include "kernels/ref/fully_connected.h"
#include "support/random_cases.h"
#include "support/tier_runs.h"

namespace {

namespace k = qrt::kernels;
using qrt::test::coin;
using qrt::test::fast_tiers;
using qrt::test::log_uniform;
using qrt::test::uniform;

constexpr uint32_t kSeed = 20261126;
constexpr int kCases = 2200;  // each runs on every tier

struct Case {
  k::DynamicLinearParams p;
  int rows = 1;
  std::vector<int8_t> w;
  std::vector<float> scales, bias, in;
  std::string desc;
};

// Mostly small shapes (the reference is slow), every size reachable.
int skewed(std::mt19937& rng, int hi) {
  return std::min(hi, static_cast<int>(log_uniform(rng, 1.f, static_cast<float>(hi) + 1.f)));
}

float random_scale(std::mt19937& rng) {
  if (coin(rng, 0.97)) return log_uniform(rng, 1e-4f, 10.f);
  static const float kOdd[] = {1e-30f, 1e-20f, 1e-41f, 0.f};
  return kOdd[uniform(rng, 0, 3)];
}

// Values whose quantization sits on a rounding edge: x * inv + zp within a
// few ulps of a half integer, picked (when one exists) where fbgemm's single
// rounding fma(x, inv, zp) and a separate multiply and add disagree.
void fill_edges(std::mt19937& rng, k::Profile profile, std::vector<float>* in) {
  const float mag = log_uniform(rng, 1e-3f, 1e3f);
  const float lo = -mag * static_cast<float>(uniform(rng, 0, 100)) / 100.f;
  const float hi = mag * static_cast<float>(uniform(rng, 1, 100)) / 100.f;
  const k::ChosenQParams qp = k::choose_quantization_params(lo, hi, 0, 255, false,
                                                            profile == k::Profile::fbgemm);
  const float scale = static_cast<float>(qp.scale), inv = 1.f / scale;
  const float zp = static_cast<float>(qp.zero_point);
  const int top = profile == k::Profile::fbgemm ? 127 : 255;
  for (float& x : *in) {
    const float h = static_cast<float>(uniform(rng, 0, top - 1)) + 0.5f;
    float v = (h - zp) / inv;
    for (int step = 0; step < 16; ++step) {
      const float t = std::nextafter(v, step % 2 ? lo : hi);
      if (std::nearbyint(std::fma(t, inv, zp)) != std::nearbyint(t * inv + zp)) {
        v = t;
        break;
      }
      if (step == 15) v = t;
    }
    x = std::min(std::max(v, lo), hi);
  }
  (*in)[0] = lo;
  in->back() = hi;
}

void fill_input(std::mt19937& rng, k::Profile profile, std::vector<float>* in, std::string* desc) {
  const float inf = std::numeric_limits<float>::infinity();
  const int kind = uniform(rng, 0, 12);
  const float mag = log_uniform(rng, 1e-3f, 1e3f);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& x : *in) x = u(rng) * mag;
  switch (kind) {
    case 0: {  // all equal
      const float v = coin(rng, 0.3) ? 0.f : u(rng) * mag;
      std::fill(in->begin(), in->end(), v);
      *desc = "all-equal";
      break;
    }
    case 1:
      for (float& x : *in) x = std::fabs(x) + (coin(rng) ? mag : 0.f);
      *desc = "all-positive";
      break;
    case 2:
      for (float& x : *in) x = -std::fabs(x) - (coin(rng) ? mag : 0.f);
      *desc = "all-negative";
      break;
    case 3: {  // tiny range, subnormals included
      const float t = coin(rng) ? 1e-40f : log_uniform(rng, 1e-30f, 1e-5f);
      for (float& x : *in) x = u(rng) * t;
      *desc = "tiny";
      break;
    }
    case 4: {
      const float h = log_uniform(rng, 1e20f, 3e38f);
      for (float& x : *in) x = u(rng) * h;
      *desc = "huge";
      break;
    }
    case 5: {  // around rounding ties of the step (max - min) / 255
      const float lo = -mag * u(rng) * u(rng), step = mag / 255.f;
      for (float& x : *in) x = lo + (static_cast<float>(uniform(rng, 0, 255)) + 0.5f) * step;
      *desc = "ties";
      break;
    }
    case 6:  // signed zeros and a few values
      for (float& x : *in) x = coin(rng, 0.8) ? (coin(rng) ? 0.f : -0.f) : x;
      *desc = "zeros";
      break;
    case 7: {
      const float specials[] = {std::nanf(""), inf, -inf};
      (*in)[uniform(rng, 0, static_cast<int>(in->size()) - 1)] = specials[uniform(rng, 0, 2)];
      *desc = "non-finite";
      break;
    }
    case 8:
    case 9:
      fill_edges(rng, profile, in);
      *desc = "rounding edges";
      break;
    default:
      *desc = "spread";
      break;
  }
}

Case random_case(std::mt19937& rng) {
  Case c;
  const int n = skewed(rng, 300), kk = skewed(rng, 600);
  c.rows = skewed(rng, 70);
  k::DynamicLinearParams& p = c.p;
  p.profile = coin(rng) ? k::Profile::qnnpack : k::Profile::fbgemm;
  p.shape.in_features = kk;
  p.shape.out_features = n;
  c.w.resize(static_cast<size_t>(n) * kk);
  const int wmode = uniform(rng, 0, 5);
  for (int8_t& x : c.w) {
    const int v = wmode == 0 ? (coin(rng) ? 127 : -128) : wmode == 1 ? -128 : uniform(rng, -128, 127);
    x = static_cast<int8_t>(v);
  }
  p.per_channel = coin(rng);
  c.scales.resize(p.per_channel ? n : 1);
  for (float& s : c.scales) s = random_scale(rng);
  if (coin(rng, 0.7)) {
    c.bias.resize(n);
    const float bmag = log_uniform(rng, 1e-3f, 1e2f);
    for (float& b : c.bias) {
      const int kind = uniform(rng, 0, 19);
      b = kind == 0 ? -0.f : kind == 1 ? 0.f : kind == 2 ? 1e-40f : bmag * (uniform(rng, -1000, 1000) / 1000.f);
    }
  }
  const int clamp = uniform(rng, 0, 2);
  if (clamp == 1) p.act_min = 0.f;
  if (clamp == 2) {
    p.act_min = -log_uniform(rng, 1e-3f, 10.f);
    p.act_max = log_uniform(rng, 1e-3f, 10.f);
  }
  p.w = c.w.data();
  p.w_scales = c.scales.data();
  p.bias = c.bias.empty() ? nullptr : c.bias.data();
  c.in.resize(static_cast<size_t>(c.rows) * kk);
  std::string kind;
  fill_input(rng, p.profile, &c.in, &kind);
  char buf[200];
  std::snprintf(buf, sizeof(buf), "%s rows %d k %d n %d %s %s bias %d clamp %d w mode %d input %s",
                p.profile == k::Profile::qnnpack ? "qnnpack" : "fbgemm", c.rows, kk, n,
                p.per_channel ? "per-channel" : "per-tensor", c.scales[0] < 1e-4f ? "odd-scale" : "",
                p.bias != nullptr, clamp, wmode, kind.c_str());
  c.desc = buf;
  return c;
}

std::vector<float> run_ref(const Case& c) {
  k::DynamicLinearParams p = c.p;
  p.shape.batch = c.rows;
  std::vector<uint8_t> scratch(c.in.size());
  std::vector<float> out(static_cast<size_t>(c.rows) * p.shape.out_features);
  k::fully_connected_dynamic_ref(p, c.in.data(), scratch.data(), out.data());
  return out;
}

std::vector<float> run_kernel(const k::DynamicLinearKernel& kernel, const Case& c) {
  const int n = c.p.shape.out_features, kk = c.p.shape.in_features;
  std::vector<uint64_t> packed(kernel.packed_bytes(n, kk) / 8 + 1);
  kernel.pack(c.p, packed.data());
  std::vector<uint8_t> scratch(kernel.scratch_bytes(c.rows, kk) + 1);
  std::vector<float> out(static_cast<size_t>(c.rows) * n + 1, 1234.5f);
  kernel.run(packed.data(), c.rows, c.in.data(), out.data(), scratch.data());
  CHECK(out.back() == 1234.5f);  // nothing past the last row
  out.pop_back();
  // Run again: packed is read-only and the scratch holds nothing between calls.
  std::vector<float> again(out.size());
  kernel.run(packed.data(), c.rows, c.in.data(), again.data(), scratch.data());
  CHECK(std::memcmp(out.data(), again.data(), out.size() * sizeof(float)) == 0);
  return out;
}

std::vector<const k::DynamicLinearKernel*> fast_kernels() {
  std::vector<const k::DynamicLinearKernel*> out;
  for (k::Isa isa : fast_tiers()) {
    const k::DynamicLinearKernel* kernel = k::select_dynamic_linear_kernel(isa);
    REQUIRE(kernel != nullptr);
    CHECK(kernel->isa == isa);  // every tier has its own kernel
    out.push_back(kernel);
  }
#if defined(__x86_64__)
  REQUIRE(k::isa_available(k::Isa::avx2));
  CHECK(std::find(out.begin(), out.end(), k::select_dynamic_linear_kernel(k::Isa::avx2)) !=
        out.end());
#endif
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b, size_t* at) {
  for (size_t i = 0; i < a.size(); ++i) {
    uint32_t x, y;
    std::memcpy(&x, &a[i], 4);
    std::memcpy(&y, &b[i], 4);
    if (x != y) {
      *at = i;
      return false;
    }
  }
  return true;
}

void check_case(const Case& c, const std::vector<const k::DynamicLinearKernel*>& kernels) {
  const std::vector<float> want = run_ref(c);
  for (const k::DynamicLinearKernel* kernel : kernels) {
    const std::vector<float> got = run_kernel(*kernel, c);
    size_t at = 0;
    if (!same_bits(want, got, &at)) {
      FAIL_CHECK(std::string(kernel->name) << ": " << c.desc << ": output " << at << " (row "
                              << at / c.p.shape.out_features << ", column "
                              << at % c.p.shape.out_features << ") is " << got[at] << ", ref "
                              << want[at]);
    }
  }
}

}  // namespace

TEST_CASE("dynamic linear: every fast tier matches fully_connected_dynamic_ref bit for bit") {
  const auto kernels = fast_kernels();
  if (kernels.empty()) return;
  std::mt19937 rng(kSeed);
  for (int i = 0; i < kCases; ++i) {
    const Case c = random_case(rng);
    CAPTURE(kSeed);
    CAPTURE(i);
    check_case(c, kernels);
  }
}

TEST_CASE("dynamic linear: the GEMV and GEMM shapes of an LSTM, and the deepest k") {
  const auto kernels = fast_kernels();
  if (kernels.empty()) return;
  std::mt19937 rng(kSeed + 1);
  struct Shape {
    int rows, k, n;
  };
  // The last shape has the deepest k the accumulator bound allows (kMaxAccumulationDepth).
  for (const Shape s : {Shape{1, 512, 2048}, Shape{64, 256, 2048}, Shape{1, 512, 40},
                        Shape{2, 32768, 5}}) {
    for (const k::Profile profile : {k::Profile::qnnpack, k::Profile::fbgemm}) {
      Case c = random_case(rng);
      c.rows = s.rows;
      c.p.profile = profile;
      c.p.shape.in_features = s.k;
      c.p.shape.out_features = s.n;
      c.w.assign(static_cast<size_t>(s.n) * s.k, -128);
      if (s.k < 32768) {
        for (int8_t& x : c.w) x = static_cast<int8_t>(uniform(rng, -128, 127));
      }
      c.scales.assign(c.p.per_channel ? s.n : 1, 0.01f);
      c.bias.assign(s.n, 0.5f);
      c.p.w = c.w.data();
      c.p.w_scales = c.scales.data();
      c.p.bias = c.bias.data();
      c.in.resize(static_cast<size_t>(s.rows) * s.k);
      for (float& x : c.in) x = coin(rng) ? -3.f : 5.f;
      c.desc = "shape " + std::to_string(s.rows) + "x" + std::to_string(s.k) + "x" +
               std::to_string(s.n);
      CAPTURE(c.desc);
      check_case(c, kernels);
    }
  }
}
