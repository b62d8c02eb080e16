// SOFTMAX, LOG_SOFTMAX, LAYER_NORM, REDUCE_* and MATMUL through the whole
// runtime against PyTorch 1.13 fixtures (tests/parity/fixtures_nn.py), and
// the checks their prepare functions make.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/op_runner.h"

namespace {

using qrt::fb::DType;
using qrt::fb::OpCode;
using qrt::test::Fixture;
using qrt::test::OpSpec;
using qrt::test::TensorSpec;

std::vector<int32_t> shape_of(const qrt::tools::NpyArray& a) {
  return std::vector<int32_t>(a.shape.begin(), a.shape.end());
}

TensorSpec tensor(const qrt::tools::NpyArray& a, DType dtype, bool constant = false) {
  TensorSpec t;
  t.shape = shape_of(a);
  t.dtype = dtype;
  t.data = a.data;
  t.constant = constant;
  return t;
}

TensorSpec output_like(const qrt::tools::NpyArray& a, DType dtype) {
  TensorSpec t;
  t.shape = shape_of(a);
  t.dtype = dtype;
  return t;
}

// Reduce and matmul fixtures name their output shape: a scalar's .npy is
// stored with shape (1,).
TensorSpec output_of_shape(const Fixture& f) {
  TensorSpec t;
  for (int64_t d : f.i64s("out_shape")) t.shape.push_back(static_cast<int32_t>(d));
  return t;
}

qrt::convert::QuantParams quant(float scale, int64_t zp) {
  qrt::convert::QuantParams q;
  q.scale = {scale};
  q.zero_point = {zp};
  return q;
}

// The fixture tolerance: 1e-5 relative, 1e-6 absolute near zero; NaNs and
// equal infinities match.
bool close(float got, float want, double extra = 0.0) {
  if (std::isnan(want)) return std::isnan(got);
  if (got == want) return true;
  const double d = std::fabs(static_cast<double>(got) - want);
  return d <= std::fmax(1e-5 * std::fabs(want), 1e-6) + extra;
}

struct Totals {
  int cases = 0;
  size_t elements = 0;
  size_t off_by_one = 0;  // u8 float-path bytes one step from PyTorch's
};

qrt::convert::OpAttrs softmax_attrs(const Fixture& f) {
  qrt::fb::SoftmaxOptionsT o;
  o.axis = static_cast<int32_t>(f.i64("axis"));
  qrt::fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

qrt::convert::OpAttrs layer_norm_attrs(const Fixture& f) {
  qrt::fb::LayerNormOptionsT o;
  o.axis = static_cast<int32_t>(f.i64("axis"));
  o.epsilon = f.f32("eps");
  qrt::fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

void add_affine(const Fixture& f, OpSpec* spec) {
  for (const char* name : {"gamma", "beta"}) {
    if (f.i64(std::string("has_") + name)) {
      spec->inputs.push_back(tensor(f.array(name), DType::F32, true));
    } else {
      TensorSpec absent;
      absent.absent = true;
      spec->inputs.push_back(absent);
    }
  }
}

// Builds the op a fixture describes; fills the expected output's npy.
OpSpec spec_for(const Fixture& f, int index, const std::string& op) {
  OpSpec spec;
  const qrt::tools::NpyArray want = f.array("expected");
  if (op == "softmax_f32" || op == "log_softmax_f32") {
    spec.code = op == "softmax_f32" ? OpCode::SOFTMAX : OpCode::LOG_SOFTMAX;
    spec.attrs = softmax_attrs(f);
    spec.inputs.push_back(tensor(f.array("x"), DType::F32));
    spec.outputs.push_back(output_like(want, DType::F32));
  } else if (op == "softmax_u8") {
    spec.code = OpCode::SOFTMAX;
    spec.attrs = softmax_attrs(f);
    spec.profile = f.str("profile") == "fbgemm" ? qrt::fb::Profile::Fbgemm
                                                 : qrt::fb::Profile::Qnnpack;
    TensorSpec x = tensor(f.array("x"), DType::U8);
    x.quant = quant(f.f32("in_scale"), f.i64("in_zp"));
    spec.inputs.push_back(x);
    TensorSpec y = output_like(want, DType::U8);
    y.quant = quant(f.f32("out_scale"), f.i64("out_zp"));
    spec.outputs.push_back(y);
  } else if (op == "layer_norm_f32" || op == "layer_norm_u8") {
    const bool q = op == "layer_norm_u8";
    spec.code = OpCode::LAYER_NORM;
    spec.attrs = layer_norm_attrs(f);
    TensorSpec x = tensor(f.array("x"), q ? DType::U8 : DType::F32);
    TensorSpec y = output_like(want, q ? DType::U8 : DType::F32);
    if (q) {
      x.quant = quant(f.f32("in_scale"), f.i64("in_zp"));
      y.quant = quant(f.f32("out_scale"), f.i64("out_zp"));
    }
    spec.inputs.push_back(x);
    add_affine(f, &spec);
    spec.outputs.push_back(y);
  } else if (op == "reduce_f32") {
    const std::string kind = f.str("kind");
    spec.code = kind == "sum" ? OpCode::REDUCE_SUM
                              : kind == "mean" ? OpCode::REDUCE_MEAN : OpCode::REDUCE_MAX;
    qrt::fb::ReduceOptionsT o;
    for (int64_t a : f.i64s("axes")) o.axes.push_back(static_cast<int32_t>(a));
    o.keep_dims = f.i64("keep_dims") != 0;
    qrt::fb::OpOptionsUnion u;
    u.Set(std::move(o));
    spec.attrs = u;
    spec.inputs.push_back(tensor(f.array("x"), DType::F32));
    spec.outputs.push_back(output_of_shape(f));
  } else if (op == "matmul_f32") {
    spec.code = OpCode::MATMUL;
    spec.inputs.push_back(tensor(f.array("a"), DType::F32));
    // Every other case stores b as a constant (a weight); the rest multiply
    // two activations.
    spec.inputs.push_back(tensor(f.array("b"), DType::F32, index % 2 == 1));
    spec.outputs.push_back(output_of_shape(f));
  } else {
    FAIL(f.name << ": unknown op '" << op << "'");
  }
  return spec;
}

// Elements of one run: compared, bit-identical to PyTorch, within tolerance.
struct Counts {
  size_t elements = 0, identical = 0, within = 0;
};

Counts check_f32(const Fixture& f, const std::vector<uint8_t>& bytes, Totals* t) {
  const std::vector<float> got = qrt::test::values_of<float>(bytes);
  const std::vector<float> want = qrt::test::values_of<float>(f.array("expected").data);
  REQUIRE(got.size() == want.size());
  // Where PyTorch's own float32 kernel is further than the tolerance from the
  // exact result, compare with the exact one (float64, rounded) and allow
  // PyTorch's measured deviation on top when comparing with PyTorch.
  const bool has_oracle = f.has("torch_dev");
  const std::vector<float> oracle =
      has_oracle ? qrt::test::values_of<float>(f.array("oracle").data) : std::vector<float>{};
  const double dev = has_oracle ? f.f32("torch_dev") : 0.0;
  Counts c;
  for (size_t i = 0; i < got.size(); ++i) {
    INFO(f.name << " element " << i << ": got " << got[i] << ", PyTorch " << want[i]);
    const bool ok = close(got[i], want[i], dev) && (!has_oracle || close(got[i], oracle[i]));
    CHECK(close(got[i], want[i], dev));
    if (has_oracle) CHECK(close(got[i], oracle[i]));
    c.identical += got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i]));
    c.within += ok;
  }
  c.elements = got.size();
  t->elements += got.size();
  return c;
}

Counts check_u8(const Fixture& f, const std::vector<uint8_t>& got, Totals* t) {
  const std::vector<uint8_t> want = f.array("expected").data;
  REQUIRE(got.size() == want.size());
  const bool exact = !f.has("exact") || f.i64("exact") != 0;
  Counts c;
  for (size_t i = 0; i < got.size(); ++i) {
    INFO(f.name << " byte " << i << ": got " << int{got[i]} << ", PyTorch " << int{want[i]});
    const int d = int{got[i]} - int{want[i]};
    if (exact) {
      CHECK(d == 0);
    } else {
      CHECK((d >= -1 && d <= 1));
      if (d != 0) ++t->off_by_one;
    }
    c.identical += d == 0;
    c.within += d == 0 || (!exact && d >= -1 && d <= 1);
  }
  c.elements = got.size();
  t->elements += got.size();
  return c;
}

}  // namespace

TEST_CASE("nn: PyTorch fixtures through the runtime") {
  const std::vector<Fixture> fixtures = qrt::test::load_fixtures("nn");
  Totals f32, u8_exact, u8_float;
  qrt::test::ParityTally tally;
  auto tally_add = [&](const std::string& key, const Fixture& f, const Counts& c) {
    tally.add(key, f.name, c.elements, c.identical, c.within);
  };
  int index = 0;
  for (const Fixture& f : fixtures) {
    const std::string op = f.str("op");
    const bool quantized = op == "softmax_u8" || op == "layer_norm_u8";
    CAPTURE(f.name);
    const OpSpec spec = spec_for(f, index++, op);
    const qrt::test::OpResult r = qrt::test::run_op(spec);
    REQUIRE_MESSAGE(r.status == QRT_OK, f.name << ": " << r.error);
    REQUIRE(r.outputs.size() == 1);
    const std::string name = op == "reduce_f32" ? "reduce_" + f.str("kind") + "_f32" : op;
    const std::string profile = spec.profile == qrt::fb::Profile::Fbgemm ? " fbgemm" : " qnnpack";
    if (!quantized) {
      tally_add(name + " any", f, check_f32(f, r.outputs[0], &f32));
      ++f32.cases;
    } else if (!f.has("exact") || f.i64("exact") != 0) {
      tally_add(name + profile, f, check_u8(f, r.outputs[0], &u8_exact));
      ++u8_exact.cases;
      if (op == "layer_norm_u8") {
        // One PyTorch kernel serves both engines (the fixtures were checked
        // to be identical on qnnpack and onednn): the fbgemm profile too.
        OpSpec fb_spec = spec;
        fb_spec.profile = qrt::fb::Profile::Fbgemm;
        const qrt::test::OpResult rf = qrt::test::run_op(fb_spec);
        REQUIRE_MESSAGE(rf.status == QRT_OK, f.name << ": " << rf.error);
        tally_add(name + " fbgemm", f, check_u8(f, rf.outputs[0], &u8_exact));
      }
    } else {
      tally_add(name + profile + " (float path, +-1 allowed)", f,
                check_u8(f, r.outputs[0], &u8_float));
      ++u8_float.cases;
    }
  }
  MESSAGE("nn fixtures: f32 " << f32.cases << " cases, " << f32.elements
                              << " elements within 1e-5 rel / 1e-6 abs; u8 " << u8_exact.cases
                              << " cases, " << u8_exact.elements
                              << " bytes (layer norm in both profiles), all identical; u8 float-path softmax "
                              << u8_float.cases << " cases, " << u8_float.elements
                              << " bytes, " << u8_float.off_by_one << " off by one");
  MESSAGE(tally.summary("nn"));
  CHECK(f32.cases > 0);
  CHECK(u8_exact.cases > 0);
}

namespace {

TensorSpec f32_tensor(std::vector<int32_t> shape) {
  TensorSpec t;
  t.shape = std::move(shape);
  size_t n = 1;
  for (int32_t d : t.shape) n *= static_cast<size_t>(d);
  t.data = qrt::test::bytes_of(std::vector<float>(n, 0.5f));
  return t;
}

TensorSpec u8_tensor(std::vector<int32_t> shape, float scale, int64_t zp) {
  TensorSpec t;
  t.shape = std::move(shape);
  t.dtype = DType::U8;
  t.quant = quant(scale, zp);
  size_t n = 1;
  for (int32_t d : t.shape) n *= static_cast<size_t>(d);
  t.data.assign(n, 100);
  return t;
}

qrt::convert::OpAttrs reduce_attrs(std::vector<int32_t> axes, bool keep) {
  qrt::fb::ReduceOptionsT o;
  o.axes = std::move(axes);
  o.keep_dims = keep;
  qrt::fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

qrt::convert::OpAttrs softmax_axis(int32_t axis) {
  qrt::fb::SoftmaxOptionsT o;
  o.axis = axis;
  qrt::fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

qrt::convert::OpAttrs layer_norm_options(int32_t axis, float eps) {
  qrt::fb::LayerNormOptionsT o;
  o.axis = axis;
  o.epsilon = eps;
  qrt::fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

// Runs spec and expects prepare to fail with `status` and a message
// containing `words`.
void expect_failure(const OpSpec& spec, qrt_status status, const std::string& words) {
  const qrt::test::OpResult r = qrt::test::run_op(spec);
  CHECK(r.status == status);
  INFO("error: " << r.error);
  CHECK(r.error.find(words) != std::string::npos);
}

}  // namespace

TEST_CASE("nn: softmax prepare checks") {
  OpSpec spec;
  spec.code = OpCode::SOFTMAX;
  spec.inputs = {f32_tensor({2, 3})};
  spec.outputs = {f32_tensor({2, 3})};
  for (const int32_t bad : {2, -3}) {
    spec.attrs = softmax_axis(bad);
    expect_failure(spec, QRT_INVALID_MODEL, "out of range");
  }
  spec.attrs = softmax_axis(-2);
  CHECK(qrt::test::run_op(spec).status == QRT_OK);
  spec.outputs = {f32_tensor({3, 2})};
  expect_failure(spec, QRT_INVALID_MODEL, "differs");
  // u8 LOG_SOFTMAX has no PyTorch kernel; u8 SOFTMAX does.
  spec.inputs = {u8_tensor({2, 3}, 0.1f, 100)};
  spec.outputs = {u8_tensor({2, 3}, 1.f / 256, 0)};
  CHECK(qrt::test::run_op(spec).status == QRT_OK);
  spec.code = OpCode::LOG_SOFTMAX;
  expect_failure(spec, QRT_UNSUPPORTED, "log_softmax");
}

TEST_CASE("nn: softmax of a scalar is 1") {
  OpSpec spec;
  spec.code = OpCode::SOFTMAX;
  spec.attrs = softmax_axis(0);
  spec.inputs = {f32_tensor({})};
  spec.outputs = {f32_tensor({})};
  const qrt::test::OpResult r = qrt::test::run_op(spec);
  REQUIRE_MESSAGE(r.status == QRT_OK, r.error);
  CHECK(qrt::test::values_of<float>(r.outputs[0]) == std::vector<float>{1.f});
}

TEST_CASE("nn: layer norm prepare checks") {
  OpSpec spec;
  spec.code = OpCode::LAYER_NORM;
  spec.attrs = layer_norm_options(1, 1e-5f);
  spec.inputs = {f32_tensor({2, 3, 4}), f32_tensor({3, 4}), f32_tensor({3, 4})};
  spec.outputs = {f32_tensor({2, 3, 4})};
  CHECK(qrt::test::run_op(spec).status == QRT_OK);
  spec.inputs[1] = f32_tensor({4});
  expect_failure(spec, QRT_INVALID_MODEL, "gamma");
  spec.inputs[1] = f32_tensor({3, 4});
  spec.inputs[2] = f32_tensor({12});
  expect_failure(spec, QRT_INVALID_MODEL, "beta");
  spec.inputs[2] = f32_tensor({3, 4});
  spec.attrs = layer_norm_options(3, 1e-5f);
  expect_failure(spec, QRT_INVALID_MODEL, "out of range");
  spec.attrs = layer_norm_options(1, -1.f);
  expect_failure(spec, QRT_INVALID_MODEL, "epsilon");
  spec.attrs = layer_norm_options(1, NAN);
  expect_failure(spec, QRT_INVALID_MODEL, "epsilon");
  // Quantized: gamma and beta stay float32.
  spec.attrs = layer_norm_options(-1, 1e-5f);
  spec.inputs = {u8_tensor({2, 4}, 0.1f, 100), f32_tensor({4}), f32_tensor({4})};
  spec.outputs = {u8_tensor({2, 4}, 0.05f, 128)};
  CHECK(qrt::test::run_op(spec).status == QRT_OK);
  spec.inputs[1] = u8_tensor({4}, 0.1f, 0);
  expect_failure(spec, QRT_INVALID_MODEL, "gamma");
}

TEST_CASE("nn: reduce prepare checks") {
  OpSpec spec;
  spec.code = OpCode::REDUCE_MEAN;
  spec.inputs = {f32_tensor({2, 3, 4})};
  spec.attrs = reduce_attrs({-1, 0}, true);
  spec.outputs = {f32_tensor({1, 3, 1})};
  CHECK(qrt::test::run_op(spec).status == QRT_OK);
  spec.outputs = {f32_tensor({3})};
  expect_failure(spec, QRT_INVALID_MODEL, "does not reduce");
  spec.attrs = reduce_attrs({-1, 0}, false);
  CHECK(qrt::test::run_op(spec).status == QRT_OK);
  spec.attrs = reduce_attrs({2, -1}, false);
  expect_failure(spec, QRT_INVALID_MODEL, "twice");
  spec.attrs = reduce_attrs({3}, false);
  expect_failure(spec, QRT_INVALID_MODEL, "out of range");
  // No axes: all of them (ONNX); without keep_dims the output is a scalar.
  spec.attrs = reduce_attrs({}, false);
  spec.outputs = {f32_tensor({})};
  const qrt::test::OpResult r = qrt::test::run_op(spec);
  REQUIRE_MESSAGE(r.status == QRT_OK, r.error);
  CHECK(qrt::test::values_of<float>(r.outputs[0]) == std::vector<float>{0.5f});
  spec.inputs = {u8_tensor({2, 3, 4}, 0.1f, 0)};
  expect_failure(spec, QRT_UNSUPPORTED, "u8");
}

TEST_CASE("nn: matmul prepare checks") {
  OpSpec spec;
  spec.code = OpCode::MATMUL;
  spec.inputs = {f32_tensor({2, 1, 3, 4}), f32_tensor({5, 4, 2})};
  spec.outputs = {f32_tensor({2, 5, 3, 2})};
  const qrt::test::OpResult r = qrt::test::run_op(spec);
  REQUIRE_MESSAGE(r.status == QRT_OK, r.error);
  // 0.5 * 0.5 summed over k = 4.
  CHECK(qrt::test::values_of<float>(r.outputs[0]) == std::vector<float>(60, 1.f));
  spec.outputs = {f32_tensor({2, 5, 3, 3})};
  expect_failure(spec, QRT_INVALID_MODEL, "do not multiply");
  spec.inputs[1] = f32_tensor({5, 3, 2});
  spec.outputs = {f32_tensor({2, 5, 3, 2})};
  expect_failure(spec, QRT_INVALID_MODEL, "do not multiply");
  spec.inputs = {f32_tensor({2, 3, 4}), f32_tensor({3, 4, 2})};
  spec.outputs = {f32_tensor({3, 3, 2})};
  expect_failure(spec, QRT_INVALID_MODEL, "do not multiply");
}

TEST_CASE("nn: every op refuses zero-size dimensions before prepare") {
  const auto n = qrt::test::check_zero_dims_refused(
      qrt::test::load_fixtures("nn"),
      [](const Fixture& f) { return f.str("op") + (f.has("kind") ? f.str("kind") : ""); },
      [](const Fixture& f) { return spec_for(f, 0, f.str("op")); });
  MESSAGE("nn: " << n.first << " op/dtype pairs, " << n.second << " zero-size variants refused");
}
