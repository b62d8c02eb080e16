// The IF op: a data-dependent branch between two bodies (model subgraphs),
// built with ModelBuilder. Covers both branches on every condition dtype,
// nesting, the main graph's values living across the IF, the memory plan
// (the two bodies share bytes), and the verifier refusing bad bodies.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "model_builder.h"
#include "qrt/qrt.hpp"
#include "qrt/schema/qrt_generated.h"

namespace {

using qrt::convert::ModelBuilder;
using qrt::fb::DType;
using qrt::fb::OpCode;

constexpr float kInf = std::numeric_limits<float>::infinity();

qrt::fb::OpOptionsUnion if_options(int then_g, int else_g) {
  qrt::fb::IfOptionsT o;
  o.then_subgraph = then_g;
  o.else_subgraph = else_g;
  qrt::fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

// Body: y = relu(x) (then) or y = x + x (else), over f32[n].
void add_body(ModelBuilder& b, bool relu, int n, int out_n = -1) {
  const int x = b.add_tensor("x", {n}, DType::F32);
  const int y = b.add_tensor("y", {out_n < 0 ? n : out_n}, DType::F32);
  if (relu)
    b.add_clamp(x, y, 0.f, kInf, "relu");
  else
    b.add_add(x, x, y, -kInf, kInf, "twice");
  b.set_inputs({x});
  b.set_outputs({y});
}

// The selected graph's inputs: a u8 condition named `cond` and x f32[n];
// its output y f32[n]. Returns {cond, x, y}.
struct Io {
  int c, x, y;
};
Io cond_x_y(ModelBuilder& b, const char* cond, int n) {
  const Io io{b.add_tensor(cond, {1}, DType::U8), b.add_tensor("x", {n}, DType::F32),
              b.add_tensor("y", {n}, DType::F32)};
  b.set_inputs({io.c, io.x});
  b.set_outputs({io.y});
  return io;
}

struct Spec {
  DType cond = DType::U8;
  int cond_elements = 1;
  int then_g = 1, else_g = 2;
  int else_out = -1;  // else body's output size; -1 = same as the IF's
};

// main: c, x -> IF(c, x) = t; z = t + x (x must survive the IF).
std::vector<uint8_t> if_model(const Spec& s = {}) {
  const int n = 8;
  ModelBuilder b(qrt::fb::Profile::Fbgemm);
  const int c = b.add_tensor("c", {s.cond_elements}, s.cond);
  const int x = b.add_tensor("x", {n}, DType::F32);
  const int t = b.add_tensor("t", {n}, DType::F32);
  const int z = b.add_tensor("z", {n}, DType::F32);
  b.add_operator(OpCode::IF, {c, x}, {t}, if_options(s.then_g, s.else_g), "branch");
  b.add_add(t, x, z, -kInf, kInf, "after");
  b.set_inputs({c, x});
  b.set_outputs({z});
  b.select_subgraph(b.add_subgraph("then"));
  add_body(b, true, n);
  b.select_subgraph(b.add_subgraph("else"));
  add_body(b, false, n, s.else_out);
  return b.finish();
}

// A copy 16-byte aligned, as the runtime wants a model buffer.
struct Aligned {
  explicit Aligned(const std::vector<uint8_t>& bytes)
      : storage((bytes.size() + 31) / 16 + 1), size(bytes.size()) {
    if (!bytes.empty()) std::memcpy(storage.data(), bytes.data(), bytes.size());
  }
  struct alignas(16) Block { uint8_t b[16]; };
  std::vector<Block> storage;
  size_t size;
  const void* data() const { return storage.data(); }
};

// Creates an interpreter; the status of the first failing step.
qrt::Status open(const Aligned& bytes, qrt::Model* model, qrt::Interpreter* it) {
  qrt::Status s = qrt::Model::from_buffer(bytes.data(), bytes.size, model);
  if (s) s = qrt::Interpreter::create(*model, it);
  return s;
}

std::vector<float> run(qrt::Interpreter& it, const void* cond, size_t cond_bytes, qrt_dtype dtype,
                       const std::vector<float>& x) {
  qrt::Status s = it.set_input(0, dtype, cond, cond_bytes);
  REQUIRE_MESSAGE(s, s.message);
  s = it.set_input(1, QRT_F32, x.data(), x.size() * 4);
  REQUIRE_MESSAGE(s, s.message);
  s = it.invoke();
  REQUIRE_MESSAGE(s, s.message);
  qrt_tensor out;
  REQUIRE(it.output(0, &out));
  std::vector<float> y(out.bytes / 4);
  std::memcpy(y.data(), out.data, out.bytes);
  return y;
}

std::vector<float> expected(bool then, const std::vector<float>& x) {
  std::vector<float> z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = (then ? (x[i] > 0.f ? x[i] : 0.f) : x[i] + x[i]) + x[i];
  return z;
}

const std::vector<float> kX = {-3.f, -1.5f, -0.f, 0.25f, 1.f, 2.5f, -7.f, 9.f};

}  // namespace

TEST_CASE("IF runs the branch its condition picks, for every condition dtype") {
  struct Case {
    DType fb;
    qrt_dtype api;
    size_t bytes;
    std::function<void(void*, int)> set;
  };
  const Case cases[] = {
      {DType::U8, QRT_U8, 1, [](void* p, int v) { *static_cast<uint8_t*>(p) = static_cast<uint8_t>(v); }},
      {DType::I32, QRT_I32, 4, [](void* p, int v) { *static_cast<int32_t*>(p) = v; }},
      {DType::I64, QRT_I64, 8, [](void* p, int v) { *static_cast<int64_t*>(p) = v; }},
      {DType::F32, QRT_F32, 4, [](void* p, int v) { *static_cast<float*>(p) = static_cast<float>(v); }},
  };
  for (const Case& c : cases) {
    Spec spec;
    spec.cond = c.fb;
    Aligned bytes(if_model(spec));
    qrt::Model model;
    qrt::Interpreter it;
    qrt::Status s = open(bytes, &model, &it);
    REQUIRE_MESSAGE(s, s.message);
    for (int v : {1, 0, -2, 0, 7}) {
      CAPTURE(static_cast<int>(c.fb));
      CAPTURE(v);
      alignas(8) uint8_t cond[8] = {};
      c.set(cond, v);
      CHECK(run(it, cond, c.bytes, c.api, kX) == expected(v != 0, kX));
    }
  }
}

TEST_CASE("IF bodies share arena bytes and the main graph's values live across them") {
  Aligned bytes(if_model());
  qrt::Model model;
  qrt::Interpreter it;
  qrt::Status s = open(bytes, &model, &it);
  REQUIRE_MESSAGE(s, s.message);
  // c, x, t, z in main (x live until "after"); one body's x and y at a time:
  // 6 tensors of 64 bytes at most (8 f32 each, 64-byte aligned), not 8.
  const qrt_memory_info m = it.memory();
  CHECK(m.arena_bytes <= 6 * 64);
  CHECK(m.lower_bound_bytes <= m.arena_bytes);
  uint8_t one = 1, zero = 0;
  CHECK(run(it, &one, 1, QRT_U8, kX) == expected(true, kX));
  CHECK(run(it, &zero, 1, QRT_U8, kX) == expected(false, kX));
}

TEST_CASE("IF nests: a body may hold an IF of its own") {
  const int n = 8;
  ModelBuilder b;
  // main: c ? (d ? relu(x) : 2x) : relu(x)
  const Io outer = cond_x_y(b, "c", n);
  const int d = b.add_tensor("d", {1}, DType::U8);
  b.set_inputs({outer.c, d, outer.x});
  b.add_operator(OpCode::IF, {outer.c, d, outer.x}, {outer.y}, if_options(1, 2), "outer");
  b.select_subgraph(b.add_subgraph("outer_then"));
  const Io inner = cond_x_y(b, "d", n);
  b.add_operator(OpCode::IF, {inner.c, inner.x}, {inner.y}, if_options(3, 4), "inner");
  b.select_subgraph(b.add_subgraph("outer_else"));
  const Io relu = cond_x_y(b, "d", n);
  b.add_clamp(relu.x, relu.y, 0.f, kInf, "relu");
  b.select_subgraph(b.add_subgraph("inner_then"));
  add_body(b, true, n);
  b.select_subgraph(b.add_subgraph("inner_else"));
  add_body(b, false, n);
  Aligned bytes(b.finish());
  qrt::Model model;
  qrt::Interpreter it;
  qrt::Status s = open(bytes, &model, &it);
  REQUIRE_MESSAGE(s, s.message);
  for (int cv : {0, 1})
    for (int dv : {0, 1}) {
      uint8_t cu = static_cast<uint8_t>(cv), du = static_cast<uint8_t>(dv);
      REQUIRE(it.set_input(0, QRT_U8, &cu, 1));
      REQUIRE(it.set_input(1, QRT_U8, &du, 1));
      REQUIRE(it.set_input(2, QRT_F32, kX.data(), kX.size() * 4));
      s = it.invoke();
      REQUIRE_MESSAGE(s, s.message);
      qrt_tensor out;
      REQUIRE(it.output(0, &out));
      for (size_t i = 0; i < kX.size(); ++i) {
        const float relu = kX[i] > 0.f ? kX[i] : 0.f;
        const float want = cv && !dv ? kX[i] + kX[i] : relu;
        CHECK(static_cast<const float*>(out.data)[i] == want);
      }
    }
}

TEST_CASE("an IF body may give its input back as its output") {
  ModelBuilder b;
  const Io main = cond_x_y(b, "c", 4);
  b.add_operator(OpCode::IF, {main.c, main.x}, {main.y}, if_options(1, 2), "pick");
  b.select_subgraph(b.add_subgraph("same"));
  const int x = b.add_tensor("x", {4}, DType::F32);
  b.set_inputs({x});
  b.set_outputs({x});
  b.select_subgraph(b.add_subgraph("relu"));
  add_body(b, true, 4);
  Aligned bytes(b.finish());
  qrt::Model model;
  qrt::Interpreter it;
  qrt::Status s = open(bytes, &model, &it);
  REQUIRE_MESSAGE(s, s.message);
  const std::vector<float> x4 = {-1.f, 2.f, -3.f, 4.f};
  for (uint8_t c : {1, 0}) {
    REQUIRE(it.set_input(0, QRT_U8, &c, 1));
    REQUIRE(it.set_input(1, QRT_F32, x4.data(), 16));
    REQUIRE(it.invoke());
    qrt_tensor out;
    REQUIRE(it.output(0, &out));
    const float* y = static_cast<const float*>(out.data);
    for (size_t i = 0; i < 4; ++i) CHECK(y[i] == (c ? x4[i] : std::max(x4[i], 0.f)));
  }
}

TEST_CASE("the verifier refuses bad IF bodies with a message naming them") {
  struct Bad {
    const char* what;
    Spec spec;
    const char* message;
  };
  Spec self;
  self.then_g = 0;
  Spec out_of_range;
  out_of_range.else_g = 9;
  Spec negative;
  negative.then_g = -1;
  Spec twice;
  twice.else_g = 1;
  Spec shape;
  shape.else_out = 5;
  Spec two_elements;
  two_elements.cond_elements = 2;
  Spec quantized_free_s8;
  quantized_free_s8.cond = DType::S8;
  const Bad cases[] = {
      {"self-recursion", self, "then_subgraph 0 must name a later subgraph"},
      {"index out of range", out_of_range, "else_subgraph 9 must name a later subgraph"},
      {"negative index", negative, "then_subgraph -1 must name a later subgraph"},
      {"one body for both branches", twice, "subgraph 1 is already the body"},
      {"mismatched branch signature", shape, "differs from body subgraph 2"},
      {"two-element condition", two_elements, "has 2 elements, expected 1"},
      {"s8 condition", quantized_free_s8, "expected u8 (a bool), i32, i64 or f32"},
  };
  for (const Bad& c : cases) {
    CAPTURE(c.what);
    Aligned bytes(if_model(c.spec));
    qrt::Model model;
    qrt::Interpreter it;
    qrt::Status s = open(bytes, &model, &it);
    CHECK(!s);
    CHECK_MESSAGE(std::string(s.message).find(c.message) != std::string::npos, s.message);
  }
}

TEST_CASE("the verifier refuses a body that calls itself or an earlier subgraph") {
  for (int target : {1, 0}) {
    CAPTURE(target);
    ModelBuilder b;
    // The bodies read the condition too, to pass it on.
    const Io main = cond_x_y(b, "c", 4);
    b.add_operator(OpCode::IF, {main.c, main.c, main.x}, {main.y}, if_options(1, 2), "outer");
    b.select_subgraph(b.add_subgraph("loops"));
    const Io loops = cond_x_y(b, "c", 4);
    b.add_operator(OpCode::IF, {loops.c, loops.x}, {loops.y}, if_options(target, 2), "again");
    b.select_subgraph(b.add_subgraph("else"));
    const Io relu = cond_x_y(b, "c", 4);
    b.add_clamp(relu.x, relu.y, 0.f, kInf, "relu");
    Aligned bytes(b.finish());
    qrt::Model model;
    qrt::Interpreter it;
    qrt::Status s = open(bytes, &model, &it);
    CHECK(!s);
    const std::string want = "then_subgraph " + std::to_string(target) + " must name a later subgraph";
    CHECK_MESSAGE(std::string(s.message).find(want) != std::string::npos, s.message);
  }
}

TEST_CASE("corrupt IF models fail cleanly or run: every truncation, 3000 seeded byte edits") {
  const std::vector<uint8_t> good = if_model();
  auto attempt = [](const std::vector<uint8_t>& variant) {
    Aligned bytes(variant);
    qrt::Model model;
    qrt::Interpreter it;
    if (!open(bytes, &model, &it)) return;
    // Loaded and prepared: invoke on both branches must not crash (ASan).
    for (uint8_t cond : {1, 0}) {
      for (int k = 0; k < it.input_count(); ++k) {
        qrt_tensor t;
        REQUIRE(it.input(k, &t));
        std::memset(t.data, 0, t.bytes);
        if (k == 0 && t.bytes) std::memcpy(t.data, &cond, 1);
      }
      (void)it.invoke();
    }
  };
  for (size_t n = 0; n < good.size(); n += 4)
    attempt(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(n)));
  uint32_t seed = 0x1F0Bu;
  auto next = [&seed]() {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  for (int i = 0; i < 3000; ++i) {
    CAPTURE(i);
    std::vector<uint8_t> variant = good;
    const int edits = 1 + static_cast<int>(next() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = next() % variant.size();
      // Small values hit indices, counts and enum tags; others are noise.
      variant[at] = next() % 2 ? static_cast<uint8_t>(next() % 4) : static_cast<uint8_t>(next());
    }
    attempt(variant);
  }
}
