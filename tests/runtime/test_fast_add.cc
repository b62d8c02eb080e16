// ADD on the fast kernels, through the whole runtime: each model runs once
// with QRT_ISA=ref and once per tier this machine has, and the output bytes
// must be identical. Each run also checks which kernel every ADD chose, so
// a silent fallback to the reference cannot pass for a fast-path test, and
// broadcasting or float adds cannot silently take the same-shape kernel.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
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


// The fast kernel's name on `isa`, or the reference's.
std::string same_shape_kernel(k::Isa isa) {
  const k::AddKernel* add = isa == k::Isa::ref ? nullptr : k::select_add_kernel(isa);
  return add ? add->name : "add_u8_ref";
}

size_t count(const std::vector<int32_t>& shape) {
  size_t n = 1;
  for (int32_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

QuantParams act(float scale, int zp) { return QuantParams{{scale}, {zp}, 0, false}; }

struct AddQuant {
  float sa;
  int a_zp;
  float sb;
  int b_zp;
  float so;
  int out_zp;
};

// One u8 ADD of two graph inputs.
std::vector<uint8_t> add_model(Profile profile, const std::vector<int32_t>& a_shape,
                               const std::vector<int32_t>& b_shape,
                               const std::vector<int32_t>& out_shape, const AddQuant& q,
                               float act_min, float act_max) {
  ModelBuilder b(profile);
  const int a = b.add_tensor("a", a_shape, DType::U8, act(q.sa, q.a_zp));
  const int bb = b.add_tensor("b", b_shape, DType::U8, act(q.sb, q.b_zp));
  const int out = b.add_tensor("out", out_shape, DType::U8, act(q.so, q.out_zp));
  b.add_add(a, bb, out, act_min, act_max, "add");
  b.set_inputs({a, bb});
  b.set_outputs({out});
  return b.finish();
}

}  // namespace

TEST_CASE("fast add: same-shape u8 ADD matches QRT_ISA=ref on every tier") {
  const std::vector<std::vector<int32_t>> shapes = {
      {1, 56, 56, 24},  // MobileNetV2's largest residual add
      {1, 28, 28, 32}, {1, 7, 7, 160}, {1, 5, 7, 3}, {2, 3, 3, 11}, {1, 1, 1, 1}, {31}, {33},
  };
  const AddQuant quants[] = {
      {0.05f, 128, 0.04f, 120, 0.07f, 125},  // typical residual
      {0.02f, 0, 0.02f, 0, 0.02f, 0},        // one scale: ties never, saturation often
      {1.f, 3, 1.f, 250, 2.f, 128},          // half steps: rounding ties
      {0.3f, 255, 1e-3f, 7, 0.011f, 0},      // ratios 27 and 0.09
      {2e-4f, 17, 1.5f, 200, 0.9f, 255},     // ratios 2.2e-4 and 1.7
  };
  uint32_t seed = 500;
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    for (const std::vector<int32_t>& shape : shapes) {
      for (size_t qi = 0; qi < sizeof(quants) / sizeof(quants[0]); ++qi) {
        for (int act = 0; act < 3; ++act) {
          ++seed;
          CAPTURE(static_cast<int>(profile));
          CAPTURE(count(shape));
          CAPTURE(qi);
          CAPTURE(act);
          CAPTURE(seed);
          const float lo = act == 0 ? -INFINITY : 0.f;
          const float hi = act == 2 ? 6.f : INFINITY;
          const std::vector<uint8_t> model =
              add_model(profile, shape, shape, shape, quants[qi], lo, hi);
          std::mt19937 rng(seed);
          const std::vector<std::vector<uint8_t>> inputs = {random_u8(rng, count(shape)),
                                                            random_u8(rng, count(shape))};
          check_tiers(model, inputs, {0}, same_shape_kernel);
        }
      }
    }
  }
}

TEST_CASE("fast add: broadcasting u8 ADD stays on the reference and matches") {
  struct Case {
    std::vector<int32_t> a, b, out;
  };
  const Case cases[] = {
      {{1, 4, 5, 8}, {1, 1, 1, 8}, {1, 4, 5, 8}},
      {{1, 1, 1, 8}, {1, 4, 5, 8}, {1, 4, 5, 8}},
      {{2, 3, 1}, {1, 3, 40}, {2, 3, 40}},
  };
  const AddQuant q = {0.05f, 128, 0.04f, 120, 0.07f, 125};
  uint32_t seed = 900;
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    for (const Case& c : cases) {
      ++seed;
      CAPTURE(static_cast<int>(profile));
      CAPTURE(seed);
      const std::vector<uint8_t> model =
          add_model(profile, c.a, c.b, c.out, q, -INFINITY, INFINITY);
      std::mt19937 rng(seed);
      const std::vector<std::vector<uint8_t>> inputs = {random_u8(rng, count(c.a)),
                                                        random_u8(rng, count(c.b))};
      check_tiers(model, inputs, {0}, [](k::Isa) { return std::string("add_u8_broadcast_ref"); });
    }
  }
}

TEST_CASE("fast add: float ADD stays on the reference") {
  ModelBuilder b(Profile::Qnnpack);
  const int x = b.add_tensor("x", {1, 3, 3, 4}, DType::F32);
  const int y = b.add_tensor("y", {1, 3, 3, 4}, DType::F32);
  const int out = b.add_tensor("out", {1, 3, 3, 4}, DType::F32);
  b.add_add(x, y, out, -INFINITY, INFINITY, "add");
  b.set_inputs({x, y});
  b.set_outputs({out});
  const std::vector<uint8_t> model = b.finish();
  std::vector<float> xs(36), ys(36);
  for (size_t i = 0; i < xs.size(); ++i) {
    xs[i] = 0.25f * static_cast<float>(i) - 3.f;
    ys[i] = 1.f - 0.125f * static_cast<float>(i);
  }
  const auto bytes = [](const std::vector<float>& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    return std::vector<uint8_t>(p, p + v.size() * sizeof(float));
  };
  check_tiers(model, {bytes(xs), bytes(ys)}, {0},
              [](k::Isa) { return std::string("add_f32_ref"); });
}

TEST_CASE("fast add: residual adds inside small int8 graphs match on every tier") {
  // int8_cnn: quantize -> convs -> residual add -> ...; the add reads conv
  // outputs from the planned arena.
  std::mt19937 image_rng(3);
  std::vector<float> image(8 * 8 * 3);
  std::uniform_real_distribution<float> d(-1.5f, 2.f);
  for (float& x : image) x = d(image_rng);
  const auto* p = reinterpret_cast<const uint8_t*>(image.data());
  const std::vector<std::vector<uint8_t>> inputs = {
      std::vector<uint8_t>(p, p + image.size() * sizeof(float))};
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    for (uint32_t seed : {1u, 5u, 9u}) {
      CAPTURE(static_cast<int>(profile));
      CAPTURE(seed);
      const std::vector<uint8_t> model = qrt::test::int8_cnn(profile, seed);
      const std::vector<int> adds = ops_running(model, "add_u8_ref");
      REQUIRE(adds.size() == 1);
      check_tiers(model, inputs, adds, same_shape_kernel);
    }
  }
}

TEST_CASE("fast add: MobileNetV2's 10 residual adds take the fast kernel and match") {
  std::mt19937 rng(11);
  const std::vector<std::vector<uint8_t>> inputs = {random_u8(rng, 224 * 224 * 3)};
  const std::vector<uint8_t> mobilenet = qrt::test::mobilenet_v2_int8(Profile::Qnnpack);
  const std::vector<int> adds = ops_running(mobilenet, "add_u8_ref");
  CHECK(adds.size() == 10);
  check_tiers(mobilenet, inputs, adds, same_shape_kernel);
}
