// QUANTIZE and TRANSPOSE on the fast kernels, through the whole runtime: a
// float image input quantized and moved to NHWC (the order qrt-convert
// emits), s8 quantize, float and multi-axis transposes. Each model runs under
// QRT_ISA=ref and on every tier this machine has, and with 1..4 threads: the
// output bytes must be identical, and every op must name the kernel it ran.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "interpreter.h"
#include "kernels/cpu.h"
#include "model.h"
#include "model_builder.h"
#include "qrt/qrt.h"
#include "support/test_models.h"
#include "support/tier_runs.h"

namespace {

namespace k = qrt::kernels;
using qrt::convert::ModelBuilder;
using qrt::convert::QuantParams;
using qrt::fb::DType;
using Bytes = std::vector<uint8_t>;

QuantParams act(float scale, int zp) { return QuantParams{{scale}, {zp}, 0, false}; }

std::vector<int32_t> permuted(const std::vector<int32_t>& dims, const std::vector<int32_t>& perm) {
  std::vector<int32_t> out;
  for (int32_t p : perm) out.push_back(dims[static_cast<size_t>(p)]);
  return out;
}

int add_transpose(ModelBuilder& b, int in, int out, const std::vector<int32_t>& perm) {
  qrt::fb::TransposeOptionsT t;
  t.perm = perm;
  qrt::fb::OpOptionsUnion u;
  u.Set(std::move(t));
  return b.add_operator(qrt::fb::OpCode::TRANSPOSE, {in}, {out}, u, "transpose");
}

// f32 input -> QUANTIZE (dtype, scale, zp) -> TRANSPOSE perm -> output.
Bytes quantize_transpose_model(const std::vector<int32_t>& dims, DType dtype, float scale, int zp,
                               const std::vector<int32_t>& perm) {
  ModelBuilder b;
  const int x = b.add_tensor("x", dims, DType::F32);
  const int q = b.add_tensor("x:q", dims, dtype, act(scale, zp));
  const int y = b.add_tensor("y", permuted(dims, perm), dtype, act(scale, zp));
  b.add_quantize(x, q, "quantize");
  add_transpose(b, q, y, perm);
  b.set_inputs({x});
  b.set_outputs({y});
  return b.finish();
}

Bytes float_transpose_model(const std::vector<int32_t>& dims, const std::vector<int32_t>& perm) {
  ModelBuilder b;
  const int x = b.add_tensor("x", dims, DType::F32);
  const int y = b.add_tensor("y", permuted(dims, perm), DType::F32);
  add_transpose(b, x, y, perm);
  b.set_inputs({x});
  b.set_outputs({y});
  return b.finish();
}

// Image-like floats with the values a quantizer must get right sprinkled in.
Bytes float_input(size_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.5f);
  std::uniform_int_distribution<int> pick(0, 19);
  std::vector<float> f(n);
  for (float& v : f) {
    switch (pick(rng)) {
      case 0:
        v = (std::round(normal(rng) / scale) + 0.5f) * scale;
        break;  // near a tie
      case 1:
        v = std::numeric_limits<float>::infinity();
        break;
      case 2:
        v = std::nanf("");
        break;
      case 3:
        v = -1e30f;
        break;
      default:
        v = normal(rng);
    }
  }
  Bytes out(n * 4);
  std::memcpy(out.data(), f.data(), out.size());
  return out;
}

size_t count(const std::vector<int32_t>& dims) {
  size_t n = 1;
  for (int32_t d : dims) n *= static_cast<size_t>(d);
  return n;
}

std::string quantize_kernel(k::Isa isa, DType dtype) {
  const k::QuantizeKernel* q = isa == k::Isa::ref ? nullptr : k::select_quantize_kernel(isa);
  if (q) return q->name;
  return dtype == DType::U8 ? "quantize_f32_u8_ref" : "quantize_f32_s8_ref";
}

std::string transpose_kernel(k::Isa isa) {
  const k::TransposeKernel* t = isa == k::Isa::ref ? nullptr : k::select_transpose_kernel(isa);
  return t ? t->name : "transpose_ref";
}

// Reference, then every tier: same bytes; ops[i] must run expected(isa)[i].
void check_model(const Bytes& model, const Bytes& input,
                 const std::function<std::vector<std::string>(k::Isa)>& expected) {
  const qrt::test::TierRun ref = qrt::test::run_on_tier(model, {input}, "ref");
  CHECK(ref.kernels == expected(k::Isa::ref));
  for (k::Isa isa : qrt::test::fast_tiers()) {
    CAPTURE(k::isa_name(isa));
    const qrt::test::TierRun r = qrt::test::run_on_tier(model, {input}, k::isa_name(isa));
    CHECK(r.kernels == expected(isa));
    REQUIRE(r.outputs.size() == 1);
    CHECK_MESSAGE(
        r.outputs[0] == ref.outputs[0],
        "first difference at byte " << qrt::test::first_difference(r.outputs[0], ref.outputs[0]));
  }
}

// The model with 2..4 threads (more than the cores, on purpose) gives the
// one-thread bytes.
void check_threads(const Bytes& model, const Bytes& input) {
  Bytes expected;
  for (int32_t threads = 1; threads <= 4; ++threads) {
    CAPTURE(threads);
    qrt::test::AlignedBytes aligned(model);
    qrt::Model m;
    qrt::Error error;
    REQUIRE(qrt::load_model_from_buffer(aligned.data(), aligned.size(), &m, &error) == QRT_OK);
    qrt::InterpreterOptions options;
    options.threads = threads;
    options.cap_threads_to_cores = false;
    qrt::Interpreter it;
    REQUIRE_MESSAGE(it.prepare(m, options, false, &error) == QRT_OK, error.message);
    REQUIRE(it.input(0).bytes == input.size());
    std::memcpy(it.input(0).data, input.data(), input.size());
    REQUIRE_MESSAGE(it.invoke(&error) == QRT_OK, error.message);
    const qrt::Tensor& t = it.output(0);
    const Bytes got(t.data, t.data + t.bytes);
    if (threads == 1)
      expected = got;
    else
      CHECK(got == expected);
  }
}

}  // namespace

TEST_CASE("fast quantize/transpose: float image -> u8/s8 NHWC matches QRT_ISA=ref on every tier") {
  struct Case {
    std::vector<int32_t> dims;
    DType dtype;
    float scale;
    int zp;
  };
  const Case cases[] = {
      {{1, 3, 224, 224}, DType::U8, 0.0187f, 114},  // MobileNetV2's input
      {{1, 3, 17, 23}, DType::U8, 0.25f, 0},        // ties, odd tail
      {{2, 4, 9, 7}, DType::U8, 1e-4f, 255},
      {{1, 2, 5, 33}, DType::U8, 7.5f, 3},
      {{1, 1, 6, 6}, DType::U8, 0.5f, 128},
      {{1, 5, 11, 13}, DType::U8, 0.03f, 77},  // generic tiles, no interleave
      {{1, 3, 31, 33}, DType::S8, 0.02f, -3},
      {{1, 3, 224, 224}, DType::S8, 0.0187f, 0},
  };
  uint32_t seed = 900;
  for (const Case& c : cases) {
    CAPTURE(count(c.dims));
    CAPTURE(c.scale);
    CAPTURE(c.zp);
    const std::vector<int32_t> perm = {0, 2, 3, 1};
    const Bytes model = quantize_transpose_model(c.dims, c.dtype, c.scale, c.zp, perm);
    const Bytes input = float_input(count(c.dims), c.scale, ++seed);
    check_model(model, input, [&](k::Isa isa) {
      return std::vector<std::string>{quantize_kernel(isa, c.dtype), transpose_kernel(isa)};
    });
    check_threads(model, input);
  }
}

TEST_CASE("fast quantize/transpose: float and multi-axis transposes match QRT_ISA=ref") {
  struct Case {
    std::vector<int32_t> dims;
    std::vector<int32_t> perm;
  };
  const Case cases[] = {
      {{1, 3, 224, 224}, {0, 2, 3, 1}},  // a float model's input
      {{1, 56, 56, 24}, {0, 3, 1, 2}},   // NHWC -> NCHW output
      {{2, 3, 5, 7, 11}, {4, 2, 0, 3, 1}}, {{64, 129}, {1, 0}},
      {{1, 1, 1, 1}, {3, 2, 1, 0}},        {{300}, {0}},
  };
  uint32_t seed = 950;
  for (const Case& c : cases) {
    CAPTURE(count(c.dims));
    const Bytes model = float_transpose_model(c.dims, c.perm);
    const Bytes input = float_input(count(c.dims), 0.1f, ++seed);
    check_model(model, input,
                [&](k::Isa isa) { return std::vector<std::string>{transpose_kernel(isa)}; });
    check_threads(model, input);
  }
}
