// u8 MUL on the fast kernels, through the whole runtime: each model runs
// once with QRT_ISA=ref and once per tier this machine has, and the output
// bytes must be identical. Each run also checks which kernel the MUL chose,
// so a silent fallback to the reference cannot pass for a fast-path test,
// and broadcasts the kernel does not walk cannot take it. The three walks
// (same shape, a scalar operand, a repeated row) are each tried with the
// broadcast operand first and second, since the runtime swaps the operands
// and their zero points for the latter.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "interpreter.h"
#include "kernels/cpu.h"
#include "model.h"
#include "model_builder.h"
#include "qrt/schema/qrt_generated.h"
#include "support/test_models.h"
#include "support/tier_runs.h"

namespace {

namespace k = qrt::kernels;
using qrt::convert::ModelBuilder;
using qrt::convert::QuantParams;
using qrt::fb::DType;
using qrt::fb::Profile;
using qrt::test::AlignedBytes;
using qrt::test::check_tiers;
using qrt::test::fast_tiers;
using qrt::test::random_u8;

// The fast kernel's name on `isa`, or the reference's.
std::string fast_kernel(k::Isa isa) {
  const k::MulKernel* mul = isa == k::Isa::ref ? nullptr : k::select_mul_kernel(isa);
  return mul ? mul->name : "mul_u8_ref";
}

size_t count(const std::vector<int32_t>& shape) {
  size_t n = 1;
  for (int32_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

QuantParams act(float scale, int zp) { return QuantParams{{scale}, {zp}, 0, false}; }

struct MulQuant {
  float sa;
  int a_zp;
  float sb;
  int b_zp;
  float so;
  int out_zp;
};

// One u8 MUL of two graph inputs.
std::vector<uint8_t> mul_model(Profile profile, const std::vector<int32_t>& a_shape,
                               const std::vector<int32_t>& b_shape,
                               const std::vector<int32_t>& out_shape, const MulQuant& q,
                               float act_min, float act_max) {
  ModelBuilder b(profile);
  const int a = b.add_tensor("a", a_shape, DType::U8, act(q.sa, q.a_zp));
  const int bb = b.add_tensor("b", b_shape, DType::U8, act(q.sb, q.b_zp));
  const int out = b.add_tensor("out", out_shape, DType::U8, act(q.so, q.out_zp));
  qrt::fb::BinaryOptionsT o;
  o.act_min = act_min;
  o.act_max = act_max;
  qrt::fb::OpOptionsUnion u;
  u.Set(o);
  b.add_operator(qrt::fb::OpCode::MUL, {a, bb}, {out}, u, "mul");
  b.set_inputs({a, bb});
  b.set_outputs({out});
  return b.finish();
}

// The output of one invoke on `threads` threads under QRT_ISA=isa.
std::vector<uint8_t> run_threads(const std::vector<uint8_t>& bytes,
                                 const std::vector<std::vector<uint8_t>>& inputs, const char* isa,
                                 int32_t threads, std::string* kernel) {
  qrt::test::IsaEnv env(isa);
  AlignedBytes aligned(bytes);
  qrt::Model model;
  qrt::Error error;
  REQUIRE_MESSAGE(
      qrt::load_model_from_buffer(aligned.data(), aligned.size(), &model, &error) == QRT_OK,
      error.message);
  qrt::Interpreter it;
  qrt::InterpreterOptions options;
  options.threads = threads;
  options.cap_threads_to_cores = false;
  REQUIRE_MESSAGE(it.prepare(model, options, false, &error) == QRT_OK, error.message);
  for (int32_t i = 0; i < it.input_count(); ++i) {
    REQUIRE(it.input(i).bytes == inputs[static_cast<size_t>(i)].size());
    std::memcpy(it.input(i).data, inputs[static_cast<size_t>(i)].data(), it.input(i).bytes);
  }
  REQUIRE_MESSAGE(it.invoke(&error) == QRT_OK, error.message);
  *kernel = it.op(0).kernel;
  const qrt::Tensor& t = it.output(0);
  return std::vector<uint8_t>(t.data, t.data + t.bytes);
}

struct Shapes {
  std::vector<int32_t> a, b, out;
};

const MulQuant kQuants[] = {
    {0.05f, 128, 1.f / 256, 0, 0.05f, 128},  // SE: features times a hard-sigmoid scale
    {0.02f, 0, 0.02f, 0, 0.02f, 0},          // one scale: products saturate often
    {0.5f, 3, 0.5f, 250, 0.5f, 128},         // m = 0.5: rounding ties
    {0.3f, 255, 1e-3f, 7, 2e-5f, 0},         // m = 15: far past the clamp
    {2e-4f, 17, 1.5f, 200, 90.f, 255},       // m = 3.3e-6
};

void check_shapes(const std::vector<Shapes>& shapes, bool fast, uint32_t seed) {
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    for (const Shapes& s : shapes) {
      for (size_t qi = 0; qi < sizeof(kQuants) / sizeof(kQuants[0]); ++qi) {
        for (int act = 0; act < 3; ++act) {
          ++seed;
          CAPTURE(static_cast<int>(profile));
          CAPTURE(count(s.a));
          CAPTURE(count(s.b));
          CAPTURE(qi);
          CAPTURE(act);
          CAPTURE(seed);
          const float lo = act == 0 ? -INFINITY : 0.f;
          const float hi = act == 2 ? 6.f : INFINITY;
          const std::vector<uint8_t> model =
              mul_model(profile, s.a, s.b, s.out, kQuants[qi], lo, hi);
          std::mt19937 rng(seed);
          const std::vector<std::vector<uint8_t>> inputs = {random_u8(rng, count(s.a)),
                                                            random_u8(rng, count(s.b))};
          const std::function<std::string(k::Isa)> expected =
              fast ? std::function<std::string(k::Isa)>(fast_kernel)
                   : [](k::Isa) { return std::string("mul_u8_ref"); };
          check_tiers(model, inputs, {0}, expected);
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("fast mul: same-shape u8 MUL matches QRT_ISA=ref on every tier") {
  check_shapes({{{1, 28, 28, 120}, {1, 28, 28, 120}, {1, 28, 28, 120}},
                {{1, 5, 7, 3}, {1, 5, 7, 3}, {1, 5, 7, 3}},
                {{31}, {31}, {31}},
                {{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}}},
               true, 100);
}

TEST_CASE("fast mul: u8 MUL by a scalar matches QRT_ISA=ref on every tier") {
  check_shapes({{{1, 14, 14, 40}, {1}, {1, 14, 14, 40}},
                {{1, 1, 1, 1}, {1, 7, 7, 33}, {1, 7, 7, 33}},
                {{2, 3, 5}, {}, {2, 3, 5}},
                {{}, {45}, {45}}},
               true, 300);
}

TEST_CASE("fast mul: u8 MUL by a repeated row (squeeze-excitation) matches on every tier") {
  check_shapes({{{1, 28, 28, 120}, {1, 1, 1, 120}, {1, 28, 28, 120}},  // MobileNetV3's SE
                {{1, 1, 1, 72}, {1, 14, 14, 72}, {1, 14, 14, 72}},
                {{1, 7, 7, 960}, {960}, {1, 7, 7, 960}},
                {{2, 3, 40}, {1, 3, 40}, {2, 3, 40}},  // row of 120 over a batch of 2
                {{1, 5, 5, 7}, {1, 1, 1, 7}, {1, 5, 5, 7}},
                {{1, 1, 20}, {9, 4, 20}, {9, 4, 20}}},
               true, 500);
}

TEST_CASE("fast mul: other u8 broadcasts stay on the reference and match") {
  check_shapes({{{1, 4, 5, 8}, {1, 4, 5, 1}, {1, 4, 5, 8}},  // a column per pixel
                {{2, 1, 8}, {1, 3, 8}, {2, 3, 8}},           // both broadcast
                {{1, 1, 1, 8}, {1, 4, 5, 1}, {1, 4, 5, 8}}},
               false, 700);
}

TEST_CASE("fast mul: split over threads, the bytes of one thread on the reference") {
  const std::vector<Shapes> shapes = {
      {{1, 28, 28, 120}, {1, 1, 1, 120}, {1, 28, 28, 120}},
      {{1, 1, 1, 120}, {1, 28, 28, 120}, {1, 28, 28, 120}},
      {{1, 56, 56, 16}, {1, 56, 56, 16}, {1, 56, 56, 16}},
      {{1, 40, 40, 24}, {1}, {1, 40, 40, 24}},
  };
  std::mt19937 rng(900);
  for (const Shapes& s : shapes) {
    CAPTURE(count(s.out));
    const std::vector<uint8_t> model =
        mul_model(Profile::Qnnpack, s.a, s.b, s.out, kQuants[0], 0.f, INFINITY);
    const std::vector<std::vector<uint8_t>> inputs = {random_u8(rng, count(s.a)),
                                                      random_u8(rng, count(s.b))};
    std::string kernel;
    const std::vector<uint8_t> want = run_threads(model, inputs, "ref", 1, &kernel);
    CHECK(kernel == "mul_u8_ref");
    for (k::Isa isa : fast_tiers()) {
      for (int32_t threads : {2, 3}) {
        const std::string tier = k::isa_name(isa);
        CAPTURE(tier);
        CAPTURE(threads);
        CHECK(run_threads(model, inputs, tier.c_str(), threads, &kernel) == want);
        CHECK(kernel == fast_kernel(isa));
      }
    }
  }
}
