// Shared pieces of the x86 kernel differential tests (test_x86_gemm.cc,
// test_x86_conv.cc, test_x86_dwconv.cc): random quantization parameters,
// the list of tiers to test, and byte comparison with a readable report.
#pragma once

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
#include "kernels/params.h"
#include "kernels/ref/quant_math.h"

namespace qrt_x86_test {

namespace k = qrt::kernels;

// Tiers the x86 fast paths exist for; each test runs every one this machine
// has (avx2 included where VNNI exists).
inline std::vector<k::Isa> tiers_to_test() {
  std::vector<k::Isa> out;
  for (k::Isa isa : {k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni}) {
    if (k::isa_available(isa)) out.push_back(isa);
  }
  return out;
}

// Sanitizer builds run fewer-sized cases (never fewer cases).
#if defined(__SANITIZE_ADDRESS__)
constexpr int kSizeScale = 2;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int kSizeScale = 2;
#else
constexpr int kSizeScale = 1;
#endif
#else
constexpr int kSizeScale = 1;
#endif

inline int uniform(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

inline float log_uniform(std::mt19937& rng, float lo, float hi) {
  const double e = std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng);
  return static_cast<float>(std::exp(e));
}

inline bool coin(std::mt19937& rng, double p = 0.5) { return std::bernoulli_distribution(p)(rng); }

// uint8 activations: uniform, or piled at the ends (the saturation cases of
// vpmaddubsw), or in a narrow band around the zero point.
inline std::vector<uint8_t> random_activations(std::mt19937& rng, size_t n, int zp) {
  std::vector<uint8_t> v(n);
  const int mode = uniform(rng, 0, 5);
  for (auto& x : v) {
    int q;
    switch (mode) {
      case 0:
        q = uniform(rng, 0, 1) ? 255 : 0;
        break;
      case 1:
        q = uniform(rng, 240, 255);
        break;
      case 2:
        q = std::clamp(zp + uniform(rng, -8, 8), 0, 255);
        break;
      default:
        q = uniform(rng, 0, 255);
        break;
    }
    x = static_cast<uint8_t>(q);
  }
  return v;
}

inline std::vector<int8_t> random_weights(std::mt19937& rng, size_t n) {
  std::vector<int8_t> v(n);
  const int mode = uniform(rng, 0, 5);
  for (auto& x : v) {
    int q;
    switch (mode) {
      case 0:
        q = uniform(rng, 0, 1) ? 127 : -128;
        break;
      case 1:
        q = -128;
        break;
      default:
        q = uniform(rng, -128, 127);
        break;
    }
    x = static_cast<int8_t>(q);
  }
  return v;
}

// Requantization parameters for `channels` outputs of a conv/linear with
// reduction depth k, owning its arrays.
struct RandomRequant {
  std::vector<float> multiplier, bias_f, w_scales, bias;
  std::vector<int32_t> bias_q;
  k::Requant rq;
  std::string desc;
};

// Mostly realistic layers built by make_conv_requant from scales in
// 1e-4..10 (output scale either tied to the accumulator's spread so outputs
// use the whole range, or free, so multipliers span many decades); sometimes
// raw arrays with extreme multipliers and NaN/inf float biases to exercise
// the clamp and NaN handling.
inline void make_random_requant(std::mt19937& rng, k::Profile profile, int channels, int depth,
                                RandomRequant* r) {
  r->multiplier.assign(channels, 0.f);
  r->bias_f.assign(channels, 0.f);
  r->bias_q.assign(channels, 0);
  r->w_scales.assign(channels, 0.f);
  r->bias.assign(channels, 0.f);
  const bool per_channel = coin(rng);
  const bool with_bias = coin(rng, 0.7);
  const int32_t out_zp = coin(rng, 0.2) ? (coin(rng) ? 0 : 255) : uniform(rng, 0, 255);
  char buf[256];

  if (coin(rng, 0.04)) {
    // Raw parameters, beyond what make_conv_requant accepts.
    r->rq = k::Requant{};
    r->rq.profile = profile;
    r->rq.per_channel = per_channel;
    const float extremes[] = {3e38f, 1e30f, 1e-30f, 1.f, 1e10f};
    for (int c = 0; c < channels; ++c) {
      r->multiplier[c] = extremes[uniform(rng, 0, 4)];
      const int pick = uniform(rng, 0, 5);
      r->bias_f[c] = pick == 0   ? std::numeric_limits<float>::quiet_NaN()
                     : pick == 1 ? std::numeric_limits<float>::infinity()
                     : pick == 2 ? -std::numeric_limits<float>::infinity()
                                 : static_cast<float>(uniform(rng, -100000, 100000));
      r->bias_q[c] = uniform(rng, -(1 << 30), 1 << 30);
    }
    r->rq.multiplier = r->multiplier.data();
    if (with_bias) {
      r->rq.bias_f = r->bias_f.data();
      r->rq.bias_q = r->bias_q.data();
    }
    r->rq.out_zp = out_zp;
    r->rq.out_min = uniform(rng, 0, 255);
    r->rq.out_max = uniform(rng, r->rq.out_min, 255);
    std::snprintf(buf, sizeof(buf), "raw requant: %s, bias %d, zp %d, clamp [%d, %d]",
                  per_channel ? "per-channel" : "per-tensor", with_bias, out_zp, r->rq.out_min,
                  r->rq.out_max);
    r->desc = buf;
    return;
  }

  for (int attempt = 0;; ++attempt) {
    const float in_scale = log_uniform(rng, 1e-4f, 10.f);
    const int num_scales = per_channel ? channels : 1;
    for (int i = 0; i < num_scales; ++i) r->w_scales[i] = log_uniform(rng, 1e-4f, 10.f);
    const float acc_spread = 64.f * std::sqrt(static_cast<float>(std::max(depth, 1)));
    float out_scale;
    if (coin(rng, 0.7)) {
      out_scale = in_scale * r->w_scales[0] * acc_spread / 128.f * log_uniform(rng, 0.25f, 4.f);
    } else {
      out_scale = log_uniform(rng, 1e-4f, 10.f);
    }
    for (int c = 0; c < channels; ++c) {
      const float unit = in_scale * r->w_scales[per_channel ? c : 0];
      const float scale = coin(rng, 0.1) ? 1e6f : acc_spread;
      r->bias[c] = static_cast<float>(std::normal_distribution<double>(0, 1)(rng)) * unit * scale;
    }
    k::ConvRequantSpec spec;
    spec.profile = profile;
    spec.in_scale = in_scale;
    spec.w_scales = r->w_scales.data();
    spec.per_channel = per_channel;
    spec.out_scale = out_scale;
    spec.out_zp = out_zp;
    spec.bias = with_bias ? r->bias.data() : nullptr;
    spec.channels = channels;
    const int act = uniform(rng, 0, 3);
    if (act == 1) spec.act_min = 0.f;                      // ReLU
    if (act == 2) spec.act_min = 0.f, spec.act_max = 6.f;  // ReLU6
    if (act == 3)
      spec.act_min = -3.f * out_scale * uniform(rng, 0, 60),
      spec.act_max = 3.f * out_scale * uniform(rng, 1, 60);  // random clip
    if (k::make_conv_requant(spec, r->multiplier.data(), r->bias_q.data(), r->bias_f.data(),
                             &r->rq)) {
      std::snprintf(buf, sizeof(buf),
                    "%s, s_in %g, s_w[0] %g, s_out %g, m[0] %g, bias %d, zp %d, clamp [%d, %d]",
                    per_channel ? "per-channel" : "per-tensor", in_scale, r->w_scales[0], out_scale,
                    r->multiplier[0], with_bias, out_zp, r->rq.out_min, r->rq.out_max);
      r->desc = buf;
      return;
    }
    REQUIRE(attempt < 100);
  }
}

inline const char* profile_name(k::Profile p) {
  return p == k::Profile::fbgemm ? "fbgemm" : "qnnpack";
}

// Index of the first differing byte, or -1.
inline long first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return static_cast<long>(i);
  }
  return -1;
}

}  // namespace qrt_x86_test
