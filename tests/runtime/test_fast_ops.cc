// CONV_2D and FULLY_CONNECTED on the fast int8 kernels, through the whole
// runtime: every model runs once with QRT_ISA=ref and once per tier this
// machine has, and the output bytes must be identical (the kernels are
// bit-exact with the reference, so wiring them in must not move a byte).
// Each run also checks which kernel the op chose, so a silent fallback to
// the reference cannot pass for a fast-path test.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "interpreter.h"
#include "kernels/cpu.h"
#include "model.h"
#include "model_builder.h"
#include "qrt/qrt.h"
#include "support/mobilenet_v2_model.h"
#include "support/test_models.h"
#include "support/tier_runs.h"

namespace {

namespace k = qrt::kernels;
using qrt::convert::Conv2DAttrs;
using qrt::convert::ModelBuilder;
using qrt::convert::QuantParams;
using qrt::fb::DType;
using qrt::fb::Profile;
using qrt::test::AlignedBytes;

using qrt::test::fast_tiers;
using qrt::test::check_tiers;
using qrt::test::first_difference;
using qrt::test::random_u8;
using qrt::test::IsaEnv;
using qrt::test::ops_running;
using qrt::test::run_on_tier;
using Run = qrt::test::TierRun;


std::vector<int8_t> random_s8(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

std::vector<float> random_f32(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

QuantParams act(float scale, int zp) { return QuantParams{{scale}, {zp}, 0, false}; }

// int8 symmetric weights, one scale per output channel or one in all.
QuantParams weight_quant(std::mt19937& rng, int channels, bool per_channel) {
  QuantParams q;
  q.scale = random_f32(rng, per_channel ? static_cast<size_t>(channels) : 1, 0.002f, 0.01f);
  q.zero_point.assign(q.scale.size(), 0);
  q.per_channel = per_channel;
  return q;
}

// An output scale that spreads a depth-`depth` sum of random u8 x s8
// products over the u8 range instead of saturating it: the sum's standard
// deviation is about 74 * 73 * sqrt(depth) accumulator units.
float spread_scale(float in_scale, float w_scale, int depth) {
  return in_scale * w_scale * 74.f * 73.f * std::sqrt(static_cast<float>(depth)) / 40.f;
}

// Enough distinct output values that a wrong requantization could not hide
// in a saturated output.
void check_spread(const std::vector<uint8_t>& out) {
  const std::set<uint8_t> values(out.begin(), out.end());
  CHECK(values.size() >= std::min<size_t>(out.size() / 2, 16));
}

struct ConvCase {
  const char* name;
  int batch, in_h, in_w, in_c, out_c, kernel_h, kernel_w;
  int stride, dilation, pad_before, pad_after, groups;
};

int out_extent(int in, int kernel, int stride, int dilation, int pad_before, int pad_after) {
  return (in + pad_before + pad_after - ((kernel - 1) * dilation + 1)) / stride + 1;
}

k::Conv2DShape shape_of(const ConvCase& c) {
  k::Conv2DShape s;
  s.batch = c.batch;
  s.in_h = c.in_h;
  s.in_w = c.in_w;
  s.in_c = c.in_c;
  s.out_h = out_extent(c.in_h, c.kernel_h, c.stride, c.dilation, c.pad_before, c.pad_after);
  s.out_w = out_extent(c.in_w, c.kernel_w, c.stride, c.dilation, c.pad_before, c.pad_after);
  s.out_c = c.out_c;
  s.kernel_h = c.kernel_h;
  s.kernel_w = c.kernel_w;
  s.stride_h = s.stride_w = c.stride;
  s.dilation_h = s.dilation_w = c.dilation;
  s.pad_top = s.pad_left = c.pad_before;
  s.groups = c.groups;
  return s;
}

// The kernel prepare_conv2d must pick for `s` on `isa`.
std::string expected_conv_kernel(k::Isa isa, const k::Conv2DShape& s) {
  if (isa == k::Isa::ref) return "conv2d_u8s8_ref";
  if (const k::DwConvKernel* dw = k::select_dwconv_kernel(isa, s)) return dw->name;
  const k::ConvKernel* conv = k::select_conv_kernel(isa);
  return conv ? conv->name : "conv2d_u8s8_ref";
}

// One u8 CONV_2D fed from the graph input.
std::vector<uint8_t> conv_model(const ConvCase& c, Profile profile, bool per_channel, bool bias,
                                bool relu, int in_zp, uint32_t seed) {
  std::mt19937 rng(seed);
  const k::Conv2DShape s = shape_of(c);
  ModelBuilder b(profile);
  const float in_scale = 0.02f;
  const int icg = c.in_c / c.groups;
  const QuantParams wq = weight_quant(rng, c.out_c, per_channel);
  const int in = b.add_tensor("in", {c.batch, c.in_h, c.in_w, c.in_c}, DType::U8,
                              act(in_scale, in_zp));
  const int w = b.add_constant_s8(
      "w", {c.out_c, c.kernel_h, c.kernel_w, icg},
      random_s8(rng, static_cast<size_t>(c.out_c) * c.kernel_h * c.kernel_w * icg), wq);
  const int bias_t =
      bias ? b.add_constant_f32("b", {c.out_c}, random_f32(rng, static_cast<size_t>(c.out_c),
                                                            -0.5f, 0.5f))
           : -1;
  const float out_scale = spread_scale(in_scale, 0.006f, c.kernel_h * c.kernel_w * icg);
  const int out = b.add_tensor("out", {c.batch, s.out_h, s.out_w, c.out_c}, DType::U8,
                               act(out_scale, relu ? 0 : 128));
  Conv2DAttrs a;
  a.stride_h = a.stride_w = c.stride;
  a.dilation_h = a.dilation_w = c.dilation;
  a.pad_top = a.pad_left = c.pad_before;
  a.pad_bottom = a.pad_right = c.pad_after;
  a.groups = c.groups;
  if (relu) a.act_min = 0.f;
  b.add_conv2d(in, w, bias_t, out, a, c.name);
  b.set_inputs({in});
  b.set_outputs({out});
  return b.finish();
}

void check_conv_cases(const std::vector<ConvCase>& cases) {
  uint32_t seed = 7;
  for (const ConvCase& c : cases) {
    const k::Conv2DShape s = shape_of(c);
    for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
      for (int variant = 0; variant < 2; ++variant) {
        ++seed;
        // variant 0: per-channel, bias, no clamp, zp 128;
        // variant 1: per-tensor, no bias, ReLU, zp 0 (the padding value).
        const bool per_channel = variant == 0;
        const int in_zp = variant == 0 ? 128 : 0;
        CAPTURE(c.name);
        CAPTURE(static_cast<int>(profile));
        CAPTURE(variant);
        CAPTURE(seed);
        const std::vector<uint8_t> model =
            conv_model(c, profile, per_channel, variant == 0, variant == 1, in_zp, seed);
        std::mt19937 rng(seed);
        const std::vector<std::vector<uint8_t>> inputs = {
            random_u8(rng, static_cast<size_t>(c.batch) * c.in_h * c.in_w * c.in_c)};
        check_tiers(model, inputs, {0}, [&](k::Isa isa) { return expected_conv_kernel(isa, s); });
        if (variant == 0) check_spread(run_on_tier(model, inputs, "ref").outputs[0]);
      }
    }
  }
}

}  // namespace

TEST_CASE("fast ops: CONV_2D regular, grouped and 1x1 match the reference on every tier") {
  check_conv_cases({
      // name, batch, in_h, in_w, in_c, out_c, kh, kw, stride, dilation, pad, pad, groups
      {"3x3 s1 p1 (indirect)", 1, 9, 11, 32, 40, 3, 3, 1, 1, 1, 1, 1},
      {"3x3 s2 p1 batch 2", 2, 10, 9, 24, 17, 3, 3, 2, 1, 1, 1, 1},
      {"3x3 dilation 2", 1, 12, 12, 40, 24, 3, 3, 1, 2, 2, 2, 1},
      {"5x3 s1 asymmetric pad", 1, 8, 10, 12, 33, 5, 3, 1, 1, 2, 0, 1},
      {"grouped 3x3 g4", 1, 9, 9, 16, 24, 3, 3, 1, 1, 1, 1, 4},
      {"grouped 3x3 s2 g2", 1, 11, 8, 12, 36, 3, 3, 2, 1, 1, 0, 2},
      {"channel multiplier 2", 1, 7, 7, 8, 16, 3, 3, 1, 1, 1, 1, 8},
      {"1x1 (gemm)", 1, 7, 5, 40, 72, 1, 1, 1, 1, 0, 0, 1},
      {"1x1 batch 2 (gemm)", 2, 6, 6, 96, 24, 1, 1, 1, 1, 0, 0, 1},
      {"1x1 odd channels (gemm)", 1, 3, 13, 7, 5, 1, 1, 1, 1, 0, 0, 1},
      {"1x1 stride 2", 1, 9, 9, 32, 16, 1, 1, 2, 1, 0, 0, 1},
  });
}

TEST_CASE("fast ops: first-layer 3-channel convolutions match the reference on every tier") {
  check_conv_cases({
      {"rgb 3x3 s2 p1 (direct)", 1, 17, 17, 3, 16, 3, 3, 2, 1, 1, 1, 1},
      {"rgb 3x3 s2 p0,1 (direct)", 1, 16, 15, 3, 32, 3, 3, 2, 1, 0, 1, 1},
      {"rgb 7x7 s2 p3 batch 2", 2, 14, 14, 3, 8, 7, 7, 2, 1, 3, 3, 1},
  });
}

TEST_CASE("fast ops: depthwise CONV_2D matches the reference on every tier") {
  check_conv_cases({
      {"dw 3x3 s1 p1", 1, 9, 10, 40, 40, 3, 3, 1, 1, 1, 1, 40},
      {"dw 3x3 s2 p1", 1, 11, 11, 32, 32, 3, 3, 2, 1, 1, 1, 32},
      {"dw 3x3 s2 p0,1", 2, 8, 8, 24, 24, 3, 3, 2, 1, 0, 1, 24},
      {"dw 5x5 s1 p2", 1, 9, 7, 72, 72, 5, 5, 1, 1, 2, 2, 72},
      {"dw 5x5 s2 p2", 1, 12, 12, 17, 17, 5, 5, 2, 1, 2, 2, 17},
      {"dw 3x3 few channels", 1, 6, 6, 3, 3, 3, 3, 1, 1, 1, 1, 3},
      {"dw 7x7 any taps", 1, 9, 9, 20, 20, 7, 7, 1, 1, 3, 3, 20},
      {"dw 3x3 dilation 2", 1, 9, 9, 16, 16, 3, 3, 1, 2, 2, 2, 16},
  });
}

TEST_CASE("fast ops: FULLY_CONNECTED matches the reference on every tier") {
  struct FcCase {
    std::vector<int32_t> in_shape;
    int out_features;
  };
  const std::vector<FcCase> cases = {
      {{1, 64}, 10}, {{5, 100}, 37}, {{2, 3, 50}, 20}, {{1, 1280}, 1000}, {{3, 7}, 1}};
  uint32_t seed = 100;
  for (const FcCase& c : cases) {
    const int k_depth = c.in_shape.back();
    size_t rows = 1;
    for (size_t i = 0; i + 1 < c.in_shape.size(); ++i) rows *= static_cast<size_t>(c.in_shape[i]);
    std::vector<int32_t> out_shape = c.in_shape;
    out_shape.back() = c.out_features;
    for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
      for (int variant = 0; variant < 2; ++variant) {
        ++seed;
        CAPTURE(k_depth);
        CAPTURE(c.out_features);
        CAPTURE(static_cast<int>(profile));
        CAPTURE(variant);
        CAPTURE(seed);
        std::mt19937 rng(seed);
        ModelBuilder b(profile);
        const float in_scale = 0.03f;
        const int in =
            b.add_tensor("in", c.in_shape, DType::U8, act(in_scale, variant == 0 ? 131 : 0));
        const int w = b.add_constant_s8(
            "w", {c.out_features, k_depth},
            random_s8(rng, static_cast<size_t>(c.out_features) * k_depth),
            weight_quant(rng, c.out_features, variant == 0));
        const int bias =
            variant == 0 ? b.add_constant_f32("b", {c.out_features},
                                              random_f32(rng, static_cast<size_t>(c.out_features),
                                                         -1.f, 1.f))
                         : -1;
        const int out = b.add_tensor("out", out_shape, DType::U8,
                                     act(spread_scale(in_scale, 0.006f, k_depth), 120));
        const float inf = std::numeric_limits<float>::infinity();
        b.add_fully_connected(in, w, bias, out, variant == 1 ? 0.f : -inf, inf, "fc");
        b.set_inputs({in});
        b.set_outputs({out});
        const std::vector<uint8_t> model = b.finish();
        const std::vector<std::vector<uint8_t>> inputs = {
            random_u8(rng, rows * static_cast<size_t>(k_depth))};
        check_tiers(model, inputs, {0}, [](k::Isa isa) -> std::string {
          const k::GemmKernel* g = isa == k::Isa::ref ? nullptr : k::select_gemm_kernel(isa);
          return g ? g->name : "fully_connected_u8s8_ref";
        });
      }
    }
  }
}

TEST_CASE("fast ops: whole int8 graphs match the reference on every tier") {
  // Convs fed by other ops' arena outputs (not only graph inputs), whose
  // indirection buffers point into the planned arena.
  std::mt19937 image_rng(3);
  const std::vector<float> image = random_f32(image_rng, 8 * 8 * 3, -1.5f, 2.f);
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    CAPTURE(static_cast<int>(profile));
    const std::vector<uint8_t> model = qrt::test::int8_cnn(profile, 5);
    const auto* p = reinterpret_cast<const uint8_t*>(image.data());
    const std::vector<std::vector<uint8_t>> inputs = {
        std::vector<uint8_t>(p, p + image.size() * sizeof(float))};
    // Op 1 is conv1 (after QUANTIZE).
    check_tiers(model, inputs, {1}, [](k::Isa isa) -> std::string {
      const k::ConvKernel* conv = isa == k::Isa::ref ? nullptr : k::select_conv_kernel(isa);
      return conv ? conv->name : "conv2d_u8s8_ref";
    });
  }
  std::mt19937 rng(11);
  const std::vector<std::vector<uint8_t>> inputs = {random_u8(rng, 224 * 224 * 3)};
  const std::vector<uint8_t> mobilenet = qrt::test::mobilenet_v2_int8(Profile::Qnnpack);
  check_tiers(mobilenet, inputs, {0}, [](k::Isa isa) -> std::string {
    const k::ConvKernel* conv = isa == k::Isa::ref ? nullptr : k::select_conv_kernel(isa);
    return conv ? conv->name : "conv2d_u8s8_ref";
  });
}

TEST_CASE("fast ops: float CONV_2D stays on the reference, float FULLY_CONNECTED runs gemm_f32") {
  const std::vector<uint8_t> model = qrt::test::fp32_cnn(2);
  std::mt19937 rng(4);
  const std::vector<float> image = random_f32(rng, 8 * 8 * 3, -1.f, 1.f);
  const auto* p = reinterpret_cast<const uint8_t*>(image.data());
  const std::vector<std::vector<uint8_t>> inputs = {
      std::vector<uint8_t>(p, p + image.size() * sizeof(float))};
  const Run ref = run_on_tier(model, inputs, "ref");
  const size_t count = ref.outputs[0].size() / sizeof(float);
  std::vector<float> want(count), got(count);
  std::memcpy(want.data(), ref.outputs[0].data(), count * sizeof(float));
  float scale = 0.f;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  for (k::Isa isa : fast_tiers()) {
    const Run r = run_on_tier(model, inputs, k::isa_name(isa));
    CHECK(r.kernels[0] == std::string("conv2d_f32_ref"));
    const k::F32GemmKernel* f32 = k::select_f32_gemm_kernel(isa);
    CHECK(r.kernels.back() == std::string(f32 ? f32->name : "fully_connected_f32_ref"));
    // fp32 sums agree to their summation order, not bit for bit.
    REQUIRE(r.outputs[0].size() == count * sizeof(float));
    std::memcpy(got.data(), r.outputs[0].data(), count * sizeof(float));
    for (size_t i = 0; i < count; ++i) CHECK(std::fabs(got[i] - want[i]) <= 1e-5f * scale);
  }
}

TEST_CASE("fast ops: QRT_ISA naming an unknown or missing tier fails prepare") {
  const std::vector<uint8_t> bytes = qrt::test::int8_cnn(Profile::Qnnpack);
  AlignedBytes aligned(bytes);
  qrt_model* model = nullptr;
  REQUIRE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK);
  std::vector<std::string> bad = {"bogus"};
  for (k::Isa isa : {k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni, k::Isa::neon,
                     k::Isa::neon_dotprod})
    if (!k::isa_available(isa)) bad.push_back(k::isa_name(isa));
  for (const std::string& value : bad) {
    CAPTURE(value);
    IsaEnv env(value.c_str());
    qrt_interpreter* it = nullptr;
    CHECK(qrt_interpreter_create(model, nullptr, &it) == QRT_INVALID_ARGUMENT);
    CHECK(it == nullptr);
    const std::string message = qrt_last_error();
    CAPTURE(message);
    CHECK(message.find("QRT_ISA=" + value) != std::string::npos);
    size_t arena = 0;
    CHECK(qrt_required_arena_bytes(model, &arena) == QRT_INVALID_ARGUMENT);
  }
  {
    // An empty QRT_ISA means unset: the best tier.
    IsaEnv env("");
    qrt_interpreter* it = nullptr;
    CHECK(qrt_interpreter_create(model, nullptr, &it) == QRT_OK);
    qrt_interpreter_free(it);
  }
  qrt_model_free(model);
}
