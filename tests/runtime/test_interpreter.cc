// The interpreter through the public C API: running models, inputs and
// outputs, arenas, offline plans, profiles and the errors a caller sees.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "interpreter.h"
#include "kernels/cpu.h"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/quant_math.h"
#include "model.h"
#include "model_builder.h"
#include "qrt/qrt.h"
#include "schema/format_version.h"
#include "support/test_models.h"

namespace {

using qrt::convert::Conv2DAttrs;
using qrt::convert::ModelBuilder;
using qrt::convert::QuantParams;
using qrt::fb::DType;
using qrt::fb::Profile;
using qrt::test::AlignedBytes;

struct Loaded {
  AlignedBytes bytes;
  qrt_model* model = nullptr;
  qrt_interpreter* it = nullptr;
  qrt_status load = QRT_OK, create = QRT_OK;

  explicit Loaded(const std::vector<uint8_t>& b, const qrt_options* options = nullptr)
      : bytes(b) {
    load = qrt_model_from_buffer(bytes.data(), bytes.size(), &model);
    if (load == QRT_OK) create = qrt_interpreter_create(model, options, &it);
  }
  ~Loaded() {
    qrt_interpreter_free(it);
    qrt_model_free(model);
  }
};

std::vector<float> ramp(size_t n, float lo, float hi) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = lo + (hi - lo) * static_cast<float>((i * 37) % n) / static_cast<float>(n);
  return v;
}

std::vector<uint8_t> run_cnn(const std::vector<uint8_t>& model_bytes, const qrt_options* options,
                             qrt_memory_info* memory = nullptr) {
  Loaded m(model_bytes, options);
  REQUIRE_MESSAGE(m.load == QRT_OK, qrt_last_error());
  REQUIRE_MESSAGE(m.create == QRT_OK, qrt_last_error());
  std::vector<float> image = ramp(8 * 8 * 3, -1.5f, 2.f);
  REQUIRE(qrt_set_input(m.it, 0, QRT_F32, image.data(), image.size() * 4) == QRT_OK);
  REQUIRE_MESSAGE(qrt_invoke(m.it) == QRT_OK, qrt_last_error());
  qrt_tensor out;
  REQUIRE(qrt_output(m.it, 0, &out) == QRT_OK);
  if (memory) qrt_memory(m.it, memory);
  const uint8_t* p = static_cast<const uint8_t*>(out.data);
  return std::vector<uint8_t>(p, p + out.bytes);
}

}  // namespace

TEST_CASE("interpreter runs the test CNNs and exposes inputs and outputs") {
  for (auto bytes : {qrt::test::int8_cnn(Profile::Qnnpack), qrt::test::int8_cnn(Profile::Fbgemm),
                     qrt::test::fp32_cnn()}) {
    Loaded m(bytes);
    REQUIRE_MESSAGE(m.create == QRT_OK, qrt_last_error());
    CHECK(qrt_input_count(m.it) == 1);
    CHECK(qrt_output_count(m.it) == 1);
    CHECK(qrt_input_index(m.it, "image") == 0);
    CHECK(qrt_output_index(m.it, "logits") == 0);
    CHECK(qrt_input_index(m.it, "nope") == -1);
    qrt_tensor in;
    REQUIRE(qrt_input(m.it, 0, &in) == QRT_OK);
    CHECK(std::string(in.name) == "image");
    CHECK(in.dtype == QRT_F32);
    CHECK(in.rank == 4);
    CHECK(in.dims[3] == 3);
    CHECK(in.bytes == 8 * 8 * 3 * 4);
    std::vector<float> image = ramp(8 * 8 * 3, -1.5f, 2.f);
    REQUIRE(qrt_set_input(m.it, 0, QRT_F32, image.data(), image.size() * 4) == QRT_OK);
    REQUIRE(qrt_invoke(m.it) == QRT_OK);
    qrt_tensor out;
    REQUIRE(qrt_output(m.it, 0, &out) == QRT_OK);
    CHECK(out.dtype == QRT_F32);
    CHECK(out.rank == 2);
    CHECK(out.dims[1] == 4);
    const float* logits = static_cast<const float*>(out.data);
    bool all_finite = true, any_nonzero = false;
    for (int i = 0; i < 4; ++i) {
      all_finite = all_finite && std::isfinite(logits[i]);
      any_nonzero = any_nonzero || logits[i] != 0.f;
    }
    CHECK(all_finite);
    CHECK(any_nonzero);
    // A second invoke on the same input gives the same bytes.
    std::vector<uint8_t> first(static_cast<const uint8_t*>(out.data),
                               static_cast<const uint8_t*>(out.data) + out.bytes);
    REQUIRE(qrt_invoke(m.it) == QRT_OK);
    CHECK(std::memcmp(first.data(), out.data, out.bytes) == 0);
  }
}

TEST_CASE("the two profiles give different bytes on the same model") {
  // Same weights and params, different arithmetic (NUMERICS.md: int32 vs
  // float bias, reciprocal vs division): if the profile were ignored the
  // outputs would be identical.
  auto conv_model = [](Profile profile) {
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> s8(-127, 127);
    std::uniform_real_distribution<float> real(-1.f, 1.f);
    ModelBuilder b(profile);
    std::vector<int8_t> w(16 * 3 * 3 * 8);
    for (auto& x : w) x = static_cast<int8_t>(s8(rng));
    std::vector<float> bias(16), scales(16);
    for (auto& x : bias) x = real(rng);
    for (auto& x : scales) x = 0.003f + 0.002f * std::fabs(real(rng));
    int in = b.add_tensor("in", {1, 16, 16, 8}, DType::U8, QuantParams{{0.037f}, {119}, 0});
    int wt = b.add_constant_s8("w", {16, 3, 3, 8}, w,
                               QuantParams{scales, std::vector<int64_t>(16, 0), 0});
    int bs = b.add_constant_f32("b", {16}, bias);
    int out = b.add_tensor("out", {1, 16, 16, 16}, DType::U8, QuantParams{{0.061f}, {127}, 0});
    Conv2DAttrs a;
    a.pad_top = a.pad_bottom = a.pad_left = a.pad_right = 1;
    b.add_conv2d(in, wt, bs, out, a, "conv");
    b.set_inputs({in});
    b.set_outputs({out});
    return b.finish();
  };
  auto run = [](const std::vector<uint8_t>& bytes) {
    Loaded m(bytes);
    REQUIRE_MESSAGE(m.create == QRT_OK, qrt_last_error());
    std::vector<uint8_t> input(16 * 16 * 8);
    for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<uint8_t>((i * 97) % 251);
    REQUIRE(qrt_set_input(m.it, 0, QRT_U8, input.data(), input.size()) == QRT_OK);
    REQUIRE(qrt_invoke(m.it) == QRT_OK);
    qrt_tensor out;
    REQUIRE(qrt_output(m.it, 0, &out) == QRT_OK);
    const uint8_t* p = static_cast<const uint8_t*>(out.data);
    return std::vector<uint8_t>(p, p + out.bytes);
  };
  std::vector<uint8_t> q = run(conv_model(Profile::Qnnpack));
  std::vector<uint8_t> f = run(conv_model(Profile::Fbgemm));
  size_t differ = 0;
  for (size_t i = 0; i < q.size(); ++i) differ += q[i] != f[i];
  MESSAGE("profiles differ on " << differ << " of " << q.size() << " output bytes");
  CHECK(differ > 0);
}

TEST_CASE("a quantized conv through the interpreter equals the reference kernel") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  const int h = 5, w = 6, cin = 3, cout = 4;
  std::vector<int8_t> weights(cout * 3 * 3 * cin);
  for (auto& x : weights) x = static_cast<int8_t>(s8(rng));
  std::vector<float> bias = {0.1f, -0.25f, 0.7f, 0.f};
  std::vector<float> w_scales = {0.01f, 0.02f, 0.015f, 0.005f};
  std::vector<uint8_t> input(h * w * cin);
  for (auto& x : input) x = static_cast<uint8_t>(u8(rng));

  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    ModelBuilder b(profile);
    int in = b.add_tensor("in", {1, h, w, cin}, DType::U8, QuantParams{{0.05f}, {100}, 0});
    int wt = b.add_constant_s8("w", {cout, 3, 3, cin}, weights, QuantParams{w_scales, {0, 0, 0, 0}, 0});
    int bs = b.add_constant_f32("b", {cout}, bias);
    int out = b.add_tensor("out", {1, 3, 3, cout}, DType::U8, QuantParams{{0.1f}, {90}, 0});
    Conv2DAttrs a;
    a.stride_h = 2;
    a.stride_w = 2;
    a.pad_top = a.pad_bottom = a.pad_left = a.pad_right = 1;
    a.act_min = 0.f;
    b.add_conv2d(in, wt, bs, out, a, "conv");
    b.set_inputs({in});
    b.set_outputs({out});
    Loaded m(b.finish());
    REQUIRE_MESSAGE(m.create == QRT_OK, qrt_last_error());
    REQUIRE(qrt_set_input(m.it, 0, QRT_U8, input.data(), input.size()) == QRT_OK);
    REQUIRE(qrt_invoke(m.it) == QRT_OK);
    qrt_tensor got;
    REQUIRE(qrt_output(m.it, 0, &got) == QRT_OK);

    qrt::kernels::ConvRequantSpec spec;
    spec.profile = profile == Profile::Fbgemm ? qrt::kernels::Profile::fbgemm
                                              : qrt::kernels::Profile::qnnpack;
    spec.in_scale = 0.05f;
    spec.w_scales = w_scales.data();
    spec.per_channel = true;
    spec.out_scale = 0.1f;
    spec.out_zp = 90;
    spec.bias = bias.data();
    spec.channels = cout;
    spec.act_min = 0.f;
    std::vector<float> mult(cout), bias_f(cout);
    std::vector<int32_t> bias_q(cout);
    qrt::kernels::Requant rq;
    REQUIRE(qrt::kernels::make_conv_requant(spec, mult.data(), bias_q.data(), bias_f.data(), &rq));
    qrt::kernels::Conv2DShape s;
    s.in_h = h;
    s.in_w = w;
    s.in_c = cin;
    s.out_h = 3;
    s.out_w = 3;
    s.out_c = cout;
    s.kernel_h = s.kernel_w = 3;
    s.stride_h = s.stride_w = 2;
    s.pad_top = s.pad_left = 1;
    std::vector<uint8_t> expected(3 * 3 * cout);
    qrt::kernels::conv2d_u8s8_ref(s, input.data(), 100, weights.data(), rq, expected.data());
    CHECK(std::memcmp(expected.data(), got.data, expected.size()) == 0);
  }
}

TEST_CASE("set_input refuses every bad call with a message and writes nothing") {
  Loaded m(qrt::test::int8_cnn(Profile::Qnnpack));
  REQUIRE(m.create == QRT_OK);
  qrt_tensor in;
  REQUIRE(qrt_input(m.it, 0, &in) == QRT_OK);
  REQUIRE(in.dtype == QRT_F32);
  // A valid set first: the refused calls below must leave exactly these bytes.
  const std::vector<float> good = ramp(in.bytes / 4, -1.f, 1.f);
  REQUIRE(qrt_set_input(m.it, 0, QRT_F32, good.data(), in.bytes) == QRT_OK);
  const std::vector<uint8_t> before(static_cast<uint8_t*>(in.data),
                                    static_cast<uint8_t*>(in.data) + in.bytes);
  std::vector<uint8_t> junk(in.bytes * 2, 0xAB);
  struct Case {
    const char* what;
    qrt_interpreter* it;
    int32_t index;
    qrt_dtype dtype;
    const void* data;
    size_t bytes;
    std::vector<std::string> message;  // every part must appear
  };
  const std::string name = "'" + std::string(in.name) + "'";
  const std::string size = std::to_string(in.bytes);
  const std::vector<Case> cases = {
      {"u8 data for an f32 input", m.it, 0, QRT_U8, junk.data(), in.bytes, {name, "f32", "u8"}},
      {"s8 data", m.it, 0, QRT_S8, junk.data(), in.bytes, {name, "s8"}},
      {"i32 data of the right size", m.it, 0, QRT_I32, junk.data(), in.bytes, {name, "i32"}},
      {"i64 data", m.it, 0, QRT_I64, junk.data(), in.bytes, {name, "i64"}},
      // 7: not an enumerator, but inside qrt_dtype's value range (0..7), so
      // forming it is defined behaviour (77 was not: UBSan).
      {"a dtype qrt does not know", m.it, 0, static_cast<qrt_dtype>(7), junk.data(), in.bytes,
       {name, "unknown"}},
      {"one element more", m.it, 0, QRT_F32, junk.data(), in.bytes + 4, {name, size, "bytes"}},
      {"one byte less", m.it, 0, QRT_F32, junk.data(), in.bytes - 1, {name, size}},
      {"zero bytes", m.it, 0, QRT_F32, junk.data(), 0, {name, size}},
      {"SIZE_MAX bytes", m.it, 0, QRT_F32, junk.data(), SIZE_MAX, {name, size}},
      {"index 1 of a one-input model", m.it, 1, QRT_F32, junk.data(), in.bytes,
       {"index 1 out of range", "1 inputs"}},
      {"index -1", m.it, -1, QRT_F32, junk.data(), in.bytes, {"index -1"}},
      {"index INT32_MAX", m.it, std::numeric_limits<int32_t>::max(), QRT_F32, junk.data(),
       in.bytes, {"out of range"}},
      {"null data", m.it, 0, QRT_F32, nullptr, in.bytes, {"qrt_set_input", "null"}},
      {"null interpreter", nullptr, 0, QRT_F32, junk.data(), in.bytes, {"qrt_set_input", "null"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CHECK(qrt_set_input(c.it, c.index, c.dtype, c.data, c.bytes) == QRT_INVALID_ARGUMENT);
    const std::string message = qrt_last_error();
    CAPTURE(message);
    for (const std::string& part : c.message) CHECK(message.find(part) != std::string::npos);
    REQUIRE(std::memcmp(before.data(), in.data, in.bytes) == 0);
  }
  // The arena past the input is untouched too: the model still gives the
  // output of the good input.
  REQUIRE(qrt_invoke(m.it) == QRT_OK);
  qrt_tensor out;
  REQUIRE(qrt_output(m.it, 0, &out) == QRT_OK);
  const std::vector<uint8_t> got(static_cast<uint8_t*>(out.data),
                                 static_cast<uint8_t*>(out.data) + out.bytes);
  Loaded fresh(qrt::test::int8_cnn(Profile::Qnnpack));
  REQUIRE(qrt_set_input(fresh.it, 0, QRT_F32, good.data(), in.bytes) == QRT_OK);
  REQUIRE(qrt_invoke(fresh.it) == QRT_OK);
  qrt_tensor fresh_out;
  REQUIRE(qrt_output(fresh.it, 0, &fresh_out) == QRT_OK);
  CHECK(std::memcmp(fresh_out.data, got.data(), got.size()) == 0);

  // The tensor views refuse bad indexes the same way.
  qrt_tensor t;
  CHECK(qrt_input(m.it, 1, &t) == QRT_INVALID_ARGUMENT);
  CHECK(std::string(qrt_last_error()).find("index 1 out of range") != std::string::npos);
  CHECK(qrt_output(m.it, -1, &t) == QRT_INVALID_ARGUMENT);
  CHECK(qrt_input(m.it, 0, nullptr) == QRT_INVALID_ARGUMENT);
  CHECK(qrt_input_index(m.it, "no such input") == -1);
  CHECK(qrt_input_index(m.it, nullptr) == -1);
  CHECK(qrt_invoke(nullptr) == QRT_INVALID_ARGUMENT);
}

TEST_CASE("a caller arena is used, and one too small is refused with the size needed") {
  std::vector<uint8_t> bytes = qrt::test::int8_cnn(Profile::Qnnpack);
  AlignedBytes aligned(bytes);
  qrt_model* model = nullptr;
  REQUIRE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK);
  size_t needed = 0;
  REQUIRE(qrt_required_arena_bytes(model, &needed) == QRT_OK);
  CHECK(needed > 0);

  std::vector<uint8_t> reference = run_cnn(bytes, nullptr);
  alignas(64) static uint8_t arena[1 << 16];
  REQUIRE(needed <= sizeof(arena));
  qrt_options options;
  qrt_options_init(&options);
  options.arena = arena;
  options.arena_bytes = needed - 1;
  qrt_interpreter* it = nullptr;
  CHECK(qrt_interpreter_create(model, &options, &it) == QRT_ARENA_TOO_SMALL);
  CHECK(it == nullptr);
  CHECK(std::string(qrt_last_error()).find(std::to_string(needed)) != std::string::npos);

  options.arena_bytes = needed;
  std::memset(arena, 0xCD, sizeof(arena));
  qrt_memory_info memory;
  std::vector<uint8_t> got = run_cnn(bytes, &options, &memory);
  CHECK(got == reference);
  CHECK(memory.total_bytes == needed);
  CHECK(memory.arena_bytes >= memory.lower_bound_bytes);
  // Nothing is written past what the model said it needs.
  CHECK(arena[needed] == 0xCD);
  CHECK(arena[sizeof(arena) - 1] == 0xCD);

  options.max_arena_bytes = needed - 1;
  options.arena = nullptr;
  CHECK(qrt_interpreter_create(model, &options, &it) == QRT_OUT_OF_MEMORY);
  CHECK(std::string(qrt_last_error()).find("limit") != std::string::npos);
  qrt_model_free(model);
}

namespace {

// x -> clamp -> y, both of `shape` and `dtype`.
std::vector<uint8_t> clamp_model(const std::vector<int32_t>& shape, DType dtype) {
  ModelBuilder b(Profile::Qnnpack);
  const QuantParams q = dtype == DType::U8 ? QuantParams{{0.1f}, {0}, 0} : QuantParams{};
  const int x = b.add_tensor("x", shape, dtype, q);
  const int y = b.add_tensor("y", shape, dtype, q);
  b.add_clamp(x, y, 0.f, 1.f, "clamp");
  b.set_inputs({x});
  b.set_outputs({y});
  return b.finish();
}

std::string load_error(const std::vector<uint8_t>& model) {
  Loaded m(model);
  CHECK(m.load == QRT_INVALID_MODEL);
  return qrt_last_error();
}

}  // namespace

TEST_CASE("resource limits: shapes whose byte size overflows or passes 2 GiB are refused at load") {
  const int32_t big = std::numeric_limits<int32_t>::max();
  // (2^31 - 1)^8 overflows 64 bits many times over; 2^16 to the 4th wraps a
  // 64-bit product to exactly 0; 2^29 f32 elements are 2^31 bytes, one past
  // the largest tensor (kernels index with int).
  for (const auto& shape : std::vector<std::vector<int32_t>>{
           {big, big, big, big, big, big, big, big}, {65536, 65536, 65536, 65536}, {1, 1 << 29}}) {
    CAPTURE(shape.size());
    const std::string message = load_error(clamp_model(shape, DType::F32));
    CHECK(message.find("'x'") != std::string::npos);
    CHECK(message.find("2 GiB") != std::string::npos);
  }
  // Just below the limit is a valid model: it loads and plans (not run).
  AlignedBytes below(clamp_model({1, (1 << 29) - 1}, DType::F32));
  qrt_model* model = nullptr;
  REQUIRE(qrt_model_from_buffer(below.data(), below.size(), &model) == QRT_OK);
  size_t needed = 0;
  const qrt_status planned = qrt_required_arena_bytes(model, &needed);
  qrt_model_free(model);
  if (sizeof(size_t) >= 8) {
    CHECK(planned == QRT_OK);
    CHECK(needed >= 2 * (size_t{(1u << 31) - 4}));
  } else {
    // Two tensors of almost 2 GiB do not fit a 32-bit address space.
    CHECK(planned == QRT_OUT_OF_MEMORY);
    CHECK(std::string(qrt_last_error()).find("address space") != std::string::npos);
  }
}

TEST_CASE("resource limits: a model above max_arena_bytes is refused before any allocation") {
  // 48 graph outputs of 1 GiB each, all live at the end: a 49 GiB arena
  // (more than a 32-bit size_t holds). Were the limit checked after the
  // allocation, the allocation would fail first (or, under ASan, abort), and
  // the message would not name the limit.
  ModelBuilder b(Profile::Qnnpack);
  const std::vector<int32_t> shape = {1, 32768, 32768, 1};
  const QuantParams q{{0.1f}, {0}, 0};
  const int x = b.add_tensor("x", shape, DType::U8, q);
  std::vector<int32_t> outputs;
  for (int i = 0; i < 48; ++i) {
    outputs.push_back(b.add_tensor("y" + std::to_string(i), shape, DType::U8, q));
    b.add_clamp(x, outputs.back(), 0.f, 1.f, "clamp" + std::to_string(i));
  }
  b.set_inputs({x});
  b.set_outputs(outputs);
  const std::vector<uint8_t> bytes = b.finish();
  CHECK(bytes.size() < 64 * 1024);
  qrt_options options;
  qrt_options_init(&options);
  options.max_arena_bytes = size_t{1} << 30;
  Loaded m(bytes, &options);
  REQUIRE(m.load == QRT_OK);
  CHECK(m.create == QRT_OUT_OF_MEMORY);
  CHECK(m.it == nullptr);
  const std::string message = qrt_last_error();
  CAPTURE(message);
  if (sizeof(size_t) >= 8) {
    CHECK(message.find("above the limit of 1073741824 bytes") != std::string::npos);
    size_t needed = 0;
    CHECK(qrt_required_arena_bytes(m.model, &needed) == QRT_OK);
    CHECK(needed >= 49 * (size_t{1} << 30));
    CHECK(message.find(std::to_string(needed)) != std::string::npos);
  } else {
    CHECK(message.find("address space") != std::string::npos);
  }
}

TEST_CASE("resource limits: persistent data counts against max_arena_bytes") {
  // A 3x3 conv over 32 channels: the fast tiers gather it through an
  // indirection buffer of 9 pointers per output pixel, made at prepare and
  // kept (persistent), here larger than all activations together.
  ModelBuilder b(Profile::Qnnpack);
  const int h = 512, w = 512, cin = 32, cout = 8;
  const int in = b.add_tensor("in", {1, h, w, cin}, DType::U8, QuantParams{{0.05f}, {100}, 0});
  const int wt = b.add_constant_s8("w", {cout, 3, 3, cin},
                                   std::vector<int8_t>(static_cast<size_t>(cout) * 9 * cin, 3),
                                   QuantParams{{0.01f}, {0}, 0});
  const int out = b.add_tensor("out", {1, h, w, cout}, DType::U8, QuantParams{{0.5f}, {90}, 0});
  Conv2DAttrs a;
  a.pad_top = a.pad_bottom = a.pad_left = a.pad_right = 1;
  b.add_conv2d(in, wt, -1, out, a, "conv");
  b.set_inputs({in});
  b.set_outputs({out});
  const std::vector<uint8_t> bytes = b.finish();

  AlignedBytes aligned(bytes);
  qrt::Model model;
  qrt::Error error;
  REQUIRE(qrt::load_model_from_buffer(aligned.data(), aligned.size(), &model, &error) == QRT_OK);
  qrt::Interpreter planned;
  REQUIRE_MESSAGE(planned.prepare(model, qrt::InterpreterOptions{}, true, &error) == QRT_OK,
                  error.message);
  const qrt::MemoryInfo need = planned.memory();
  CAPTURE(need.arena_bytes);
  CAPTURE(need.persistent_bytes);
  CHECK(need.total_bytes >= need.arena_bytes + need.persistent_bytes);
  // With 8-byte pointers the indirection buffer outweighs the activations;
  // with 4-byte ones (armv7) it is a little smaller than them.
  if (qrt::kernels::best_isa() != qrt::kernels::Isa::ref && !std::getenv("QRT_ISA") &&
      sizeof(void*) == 8)
    CHECK(need.persistent_bytes > need.arena_bytes);

  // One byte short, and short by half the persistent part (still above all
  // the activations).
  for (size_t limit : {need.total_bytes - 1, need.total_bytes - need.persistent_bytes / 2}) {
    CAPTURE(limit);
    qrt::InterpreterOptions options;
    options.max_arena_bytes = limit;
    qrt::Interpreter it;
    CHECK(it.prepare(model, options, false, &error) == QRT_OUT_OF_MEMORY);
    const std::string message = error.message;
    CHECK(message.find(std::to_string(need.persistent_bytes) + " persistent") != std::string::npos);
    CHECK(message.find("limit of " + std::to_string(limit)) != std::string::npos);
  }
  qrt::InterpreterOptions exact;
  exact.max_arena_bytes = need.total_bytes;
  qrt::Interpreter it;
  CHECK_MESSAGE(it.prepare(model, exact, false, &error) == QRT_OK, error.message);
}

TEST_CASE("an offline memory plan is used when valid and replaced when not") {
  auto build = [](const std::vector<int64_t>* offsets) {
    ModelBuilder b(Profile::Qnnpack);
    int x = b.add_tensor("x", {1, 64}, DType::F32);
    int y = b.add_tensor("y", {1, 64}, DType::F32);
    int z = b.add_tensor("z", {1, 64}, DType::F32);
    int o = b.add_tensor("o", {1, 64}, DType::F32);
    b.add_clamp(x, y, -1.f, 1.f, "c1");
    b.add_clamp(y, z, -0.5f, 0.5f, "c2");
    b.add_add(z, y, o, -std::numeric_limits<float>::infinity(),
              std::numeric_limits<float>::infinity(), "sum");
    b.set_inputs({x});
    b.set_outputs({o});
    if (offsets) b.set_memory_plan(*offsets);
    return b.finish();
  };
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = static_cast<float>(i - 32) / 16.f;
  auto run = [&](const std::vector<uint8_t>& bytes, size_t* arena) {
    Loaded m(bytes);
    REQUIRE_MESSAGE(m.create == QRT_OK, qrt_last_error());
    REQUIRE(qrt_set_input(m.it, 0, QRT_F32, x.data(), 256) == QRT_OK);
    REQUIRE(qrt_invoke(m.it) == QRT_OK);
    qrt_memory_info mem;
    qrt_memory(m.it, &mem);
    *arena = mem.arena_bytes;
    qrt_tensor out;
    qrt_output(m.it, 0, &out);
    const float* p = static_cast<const float*>(out.data);
    return std::vector<float>(p, p + 64);
  };
  size_t online_arena = 0, offline_arena = 0, bad_arena = 0;
  std::vector<float> online = run(build(nullptr), &online_arena);
  // Disjoint offsets far apart: valid, and visibly larger than the online plan.
  std::vector<int64_t> spread = {0, 1024, 2048, 4096};
  std::vector<float> offline = run(build(&spread), &offline_arena);
  // Everything at offset 0: overlapping lifetimes, so the runtime replans.
  std::vector<int64_t> clash = {0, 0, 0, 0};
  std::vector<float> replanned = run(build(&clash), &bad_arena);
  CHECK(online == offline);
  CHECK(online == replanned);
  CHECK(offline_arena >= 4096 + 256);
  CHECK(bad_arena == online_arena);
  for (int i = 0; i < 64; ++i) {
    float y = std::fmin(std::fmax(x[i], -1.f), 1.f);
    CHECK(online[i] == std::fmin(std::fmax(y, -0.5f), 0.5f) + y);
  }
}

TEST_CASE("a model from a newer format version is refused, saying so") {
  ModelBuilder b;
  int x = b.add_tensor("x", {4}, DType::F32);
  int y = b.add_tensor("y", {4}, DType::F32);
  b.add_clamp(x, y, 0.f, 1.f);
  b.set_inputs({x});
  b.set_outputs({y});
  b.set_format_version(qrt::kFormatVersion + 1);
  Loaded m(b.finish());
  CHECK(m.load == QRT_VERSION);
  std::string msg = qrt_last_error();
  CHECK(msg.find("newer") != std::string::npos);
  CHECK(msg.find(std::to_string(qrt::kFormatVersion + 1)) != std::string::npos);
}

TEST_CASE("load errors name the culprit") {
  SUBCASE("not a qrt file") {
    std::vector<uint8_t> junk(64, 'x');
    Loaded m(junk);
    CHECK(m.load == QRT_INVALID_MODEL);
    CHECK(std::string(qrt_last_error()).find("not a .qrt model") != std::string::npos);
  }
  SUBCASE("operator reads a tensor that does not exist") {
    ModelBuilder b;
    int x = b.add_tensor("x", {4}, DType::F32);
    int y = b.add_tensor("y", {4}, DType::F32);
    b.add_operator(qrt::fb::OpCode::CLAMP, {x + 7}, {y}, qrt::convert::ClampAttrs{}, "the_clamp");
    b.set_inputs({x});
    b.set_outputs({y});
    Loaded m(b.finish());
    CHECK(m.load == QRT_INVALID_MODEL);
    std::string msg = qrt_last_error();
    CHECK(msg.find("the_clamp") != std::string::npos);
    CHECK(msg.find("out of range") != std::string::npos);
  }
  SUBCASE("unknown opcode") {
    ModelBuilder b;
    int x = b.add_tensor("x", {4}, DType::F32);
    int y = b.add_tensor("y", {4}, DType::F32);
    b.add_operator(static_cast<qrt::fb::OpCode>(999), {x}, {y}, {}, "future_op");
    b.set_inputs({x});
    b.set_outputs({y});
    Loaded m(b.finish());
    CHECK(m.load == QRT_UNSUPPORTED);
    CHECK(std::string(qrt_last_error()).find("future_op") != std::string::npos);
  }
  SUBCASE("shape mismatch found at prepare") {
    ModelBuilder b;
    int x = b.add_tensor("x", {4}, DType::F32);
    int y = b.add_tensor("y", {5}, DType::F32);
    b.add_clamp(x, y, 0.f, 1.f, "relu");
    b.set_inputs({x});
    b.set_outputs({y});
    Loaded m(b.finish());
    CHECK(m.load == QRT_OK);
    CHECK(m.create == QRT_INVALID_MODEL);
    std::string msg = qrt_last_error();
    CHECK(msg.find("relu") != std::string::npos);
    CHECK(msg.find("(5,)") != std::string::npos);
  }
  SUBCASE("unaligned buffer") {
    std::vector<uint8_t> bytes = qrt::test::fp32_cnn();
    std::vector<uint8_t> shifted(bytes.size() + 16);
    uint8_t* p = shifted.data();
    while (reinterpret_cast<uintptr_t>(p) % 16 != 1) ++p;
    std::memcpy(p, bytes.data(), bytes.size());
    qrt_model* model = nullptr;
    CHECK(qrt_model_from_buffer(p, bytes.size(), &model) == QRT_INVALID_ARGUMENT);
    CHECK(model == nullptr);
    CHECK(std::string(qrt_last_error()).find("aligned") != std::string::npos);
  }
}

TEST_CASE("models load from files, and a missing file is named") {
  std::vector<uint8_t> bytes = qrt::test::int8_cnn(Profile::Qnnpack);
  char path[] = "/tmp/qrt-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  FILE* f = fdopen(fd, "wb");
  REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  std::fclose(f);
  qrt_model* model = nullptr;
  REQUIRE_MESSAGE(qrt_model_from_file(path, &model) == QRT_OK, qrt_last_error());
  qrt_interpreter* it = nullptr;
  REQUIRE(qrt_interpreter_create(model, nullptr, &it) == QRT_OK);
  CHECK(qrt_invoke(it) == QRT_OK);
  qrt_interpreter_free(it);
  qrt_model_free(model);
  std::remove(path);

  CHECK(qrt_model_from_file("/nonexistent/model.qrt", &model) == QRT_IO);
  CHECK(std::string(qrt_last_error()).find("/nonexistent/model.qrt") != std::string::npos);
  CHECK(qrt_model_from_file("/tmp", &model) == QRT_IO);
}

TEST_CASE("per-operator profiles name each op and count MACs") {
  qrt_options options;
  qrt_options_init(&options);
  options.profile_ops = 1;
  Loaded m(qrt::test::int8_cnn(Profile::Qnnpack), &options);
  REQUIRE(m.create == QRT_OK);
  REQUIRE(qrt_invoke(m.it) == QRT_OK);
  REQUIRE(qrt_op_count(m.it) == 11);
  qrt_op_profile p;
  REQUIRE(qrt_op_profile_at(m.it, 1, &p) == QRT_OK);
  CHECK(std::string(p.kind) == "CONV_2D");
  CHECK(std::string(p.name) == "conv1");
  CHECK(p.macs == 8u * 8 * 8 * 3 * 3 * 3);
  CHECK(qrt_op_profile_at(m.it, 11, &p) == QRT_INVALID_ARGUMENT);
}

TEST_CASE("an adaptive pool's MAC count is its taps, not its input size (fuzz finding)") {
  // 424 bytes that pool (1, 5, 65544, 4) to (1, 63489, 3, 4): tiny tensors,
  // 10^10 taps. The loader fuzzer skips invoke above a MAC budget, so the
  // count has to be honest.
  const std::string path =
      std::string(QRT_TEST_DATA_DIR) + "/fuzz/model/adaptive_pool_widen_narrow_timeout.qrt";
  qrt_model* model = nullptr;
  REQUIRE_MESSAGE(qrt_model_from_file(path.c_str(), &model) == QRT_OK, qrt_last_error());
  qrt_interpreter* it = nullptr;
  REQUIRE_MESSAGE(qrt_interpreter_create(model, nullptr, &it) == QRT_OK, qrt_last_error());
  qrt_op_profile p;
  REQUIRE(qrt_op_profile_at(it, 0, &p) == QRT_OK);
  CHECK(std::string(p.kind) == "ADAPTIVE_AVG_POOL_2D");
  CHECK(p.macs == uint64_t{4} * (63489 + 4) * 65544);
  qrt_interpreter_free(it);
  qrt_model_free(model);
}
