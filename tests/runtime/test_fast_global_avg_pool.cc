// GLOBAL_AVG_POOL on the fast kernels, through the whole runtime: each model
// runs once with QRT_ISA=ref and once per tier this machine has, and the
// output bytes must be identical. Each run also checks which kernel the pool
// chose, so a silent fallback to the reference cannot pass for a fast-path
// test, and float pools cannot take the u8 kernel.
#include <doctest/doctest.h>

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
std::string u8_pool_kernel(k::Isa isa) {
  const k::PoolKernel* pool = isa == k::Isa::ref ? nullptr : k::select_pool_kernel(isa);
  return pool ? pool->global_avg_name : "global_avg_pool_u8_ref";
}

QuantParams act(float scale, int zp) { return QuantParams{{scale}, {zp}, 0, false}; }

// One GLOBAL_AVG_POOL of a graph input [n, h, w, c] to [n, c] (or
// [n, 1, 1, c]).
std::vector<uint8_t> pool_model(Profile profile, int n, int h, int w, int c, bool keep_dims,
                                float in_scale, int in_zp, float out_scale, int out_zp) {
  ModelBuilder b(profile);
  const int x = b.add_tensor("x", {n, h, w, c}, DType::U8, act(in_scale, in_zp));
  const std::vector<int32_t> out_shape =
      keep_dims ? std::vector<int32_t>{n, 1, 1, c} : std::vector<int32_t>{n, c};
  const int y = b.add_tensor("y", out_shape, DType::U8, act(out_scale, out_zp));
  b.add_global_avg_pool(x, y, "pool");
  b.set_inputs({x});
  b.set_outputs({y});
  return b.finish();
}

}  // namespace

TEST_CASE("fast global average pool: u8 GLOBAL_AVG_POOL matches QRT_ISA=ref on every tier") {
  struct Shape {
    int n, h, w, c;
  };
  const Shape shapes[] = {{1, 7, 7, 1280}, {1, 1, 1, 3},  {1, 14, 14, 33}, {2, 3, 5, 71},
                          {1, 2, 2, 255},  {3, 1, 4, 8},  {1, 13, 11, 7},  {1, 7, 7, 1}};
  struct Quant {
    float in_scale;
    int in_zp;
    float out_scale;
    int out_zp;
  };
  const Quant quants[] = {{0.0235f, 0, 0.0235f, 0},      // ReLU6 activations, PyTorch's pool
                          {0.05f, 128, 0.05f, 128},      // same params, mid zero point
                          {0.1f, 255, 0.01f, 3},         // ratio 10: saturation
                          {0.002f, 17, 0.5f, 250},       // ratio 0.004: near zero
                          {1.f, 100, 2.f, 0}};           // half steps: ties
  uint32_t seed = 700;
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    for (const Shape& s : shapes) {
      for (const Quant& q : quants) {
        ++seed;
        CAPTURE(static_cast<int>(profile));
        CAPTURE(seed);
        CAPTURE(s.c);
        const std::vector<uint8_t> model = pool_model(profile, s.n, s.h, s.w, s.c, seed % 2 == 0,
                                                      q.in_scale, q.in_zp, q.out_scale, q.out_zp);
        std::mt19937 rng(seed);
        const std::vector<std::vector<uint8_t>> inputs = {
            random_u8(rng, static_cast<size_t>(s.n) * s.h * s.w * s.c)};
        check_tiers(model, inputs, {0}, u8_pool_kernel);
      }
    }
  }
}

TEST_CASE("fast global average pool: float GLOBAL_AVG_POOL stays on the reference") {
  ModelBuilder b(Profile::Qnnpack);
  const int x = b.add_tensor("x", {1, 3, 3, 4}, DType::F32);
  const int y = b.add_tensor("y", {1, 4}, DType::F32);
  b.add_global_avg_pool(x, y, "pool");
  b.set_inputs({x});
  b.set_outputs({y});
  const std::vector<uint8_t> model = b.finish();
  std::vector<float> xs(36);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = 0.25f * static_cast<float>(i) - 3.f;
  const auto* p = reinterpret_cast<const uint8_t*>(xs.data());
  check_tiers(model, {std::vector<uint8_t>(p, p + xs.size() * sizeof(float))}, {0},
              [](k::Isa) { return std::string("global_avg_pool_f32_ref"); });
}

TEST_CASE("fast global average pool: MobileNetV2's pool takes the fast kernel and matches") {
  std::mt19937 rng(13);
  const std::vector<std::vector<uint8_t>> inputs = {random_u8(rng, 224 * 224 * 3)};
  const std::vector<uint8_t> mobilenet = qrt::test::mobilenet_v2_int8(Profile::Qnnpack);
  const std::vector<int> pools = ops_running(mobilenet, "global_avg_pool_u8_ref");
  CHECK(pools.size() == 1);
  check_tiers(mobilenet, inputs, pools, u8_pool_kernel);
}
