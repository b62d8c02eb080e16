// The elementwise family (ADD, MUL, SUB, DIV, MAXIMUM, MINIMUM, POW and the
// unary ops) through the whole runtime against PyTorch 1.13 fixtures
// (tests/parity/fixtures_elementwise.py), and the checks their prepare
// functions make.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/op_runner.h"

namespace {

using qrt::fb::DType;
using qrt::fb::OpCode;
using qrt::fb::Profile;
using qrt::test::Fixture;
using qrt::test::OpResult;
using qrt::test::OpSpec;
using qrt::test::TensorSpec;

constexpr float kInf = std::numeric_limits<float>::infinity();

const std::map<std::string, OpCode>& opcodes() {
  static const std::map<std::string, OpCode> m = {
      {"ADD", OpCode::ADD},         {"SUB", OpCode::SUB},
      {"MUL", OpCode::MUL},         {"DIV", OpCode::DIV},
      {"MAXIMUM", OpCode::MAXIMUM}, {"MINIMUM", OpCode::MINIMUM},
      {"POW", OpCode::POW},         {"SIGMOID", OpCode::SIGMOID},
      {"TANH", OpCode::TANH},       {"EXP", OpCode::EXP},
      {"LOG", OpCode::LOG},         {"SQRT", OpCode::SQRT},
      {"NEG", OpCode::NEG},         {"SILU", OpCode::SILU},
      {"GELU", OpCode::GELU},       {"ERF", OpCode::ERF},
      {"HARD_SWISH", OpCode::HARD_SWISH}, {"HARD_SIGMOID", OpCode::HARD_SIGMOID},
      {"LEAKY_RELU", OpCode::LEAKY_RELU},
  };
  return m;
}

bool is_binary(OpCode code) {
  return code == OpCode::ADD || code == OpCode::SUB || code == OpCode::MUL ||
         code == OpCode::DIV || code == OpCode::MAXIMUM || code == OpCode::MINIMUM ||
         code == OpCode::POW;
}

qrt::convert::QuantParams quant(float scale, int64_t zp) {
  qrt::convert::QuantParams q;
  q.scale = {scale};
  q.zero_point = {zp};
  return q;
}

TensorSpec tensor(std::vector<int32_t> shape, DType dtype, std::vector<uint8_t> data = {},
                  qrt::convert::QuantParams q = {}) {
  TensorSpec t;
  t.shape = std::move(shape);
  t.dtype = dtype;
  t.data = std::move(data);
  t.quant = std::move(q);
  return t;
}

std::vector<int32_t> shape_of(const qrt::tools::NpyArray& a) {
  return std::vector<int32_t>(a.shape.begin(), a.shape.end());
}

qrt::convert::OpAttrs binary_attrs(OpCode code, float act_min, float act_max) {
  if (code == OpCode::ADD) {
    qrt::convert::AddAttrs a;
    a.act_min = act_min;
    a.act_max = act_max;
    return a;
  }
  qrt::fb::BinaryOptionsT o;
  o.act_min = act_min;
  o.act_max = act_max;
  qrt::fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

qrt::convert::OpAttrs unary_attrs(OpCode code, float alpha, float beta, bool approximate_tanh) {
  qrt::fb::OpOptionsUnion u;
  if (code == OpCode::HARD_SIGMOID) {
    qrt::fb::HardSigmoidOptionsT o;
    o.alpha = alpha;
    o.beta = beta;
    u.Set(std::move(o));
  } else if (code == OpCode::LEAKY_RELU) {
    qrt::fb::LeakyReluOptionsT o;
    o.alpha = alpha;
    u.Set(std::move(o));
  } else if (code == OpCode::GELU) {
    qrt::fb::GeluOptionsT o;
    o.approximate_tanh = approximate_tanh;
    u.Set(std::move(o));
  } else {
    return std::monostate{};
  }
  return u;
}

// The op a fixture describes, ready for run_op except for the profile.
OpSpec spec_of(const Fixture& f) {
  const OpCode code = opcodes().at(f.str("op"));
  const bool u8 = f.str("dtype") == "u8";
  const DType dtype = u8 ? DType::U8 : DType::F32;
  OpSpec s;
  s.code = code;
  const qrt::tools::NpyArray out = f.array("out");
  if (is_binary(code)) {
    const qrt::tools::NpyArray a = f.array("a"), b = f.array("b");
    s.inputs.push_back(tensor(shape_of(a), dtype, a.data,
                              u8 ? quant(f.f32("a_scale"), f.i64("a_zp")) : qrt::convert::QuantParams{}));
    s.inputs.push_back(tensor(shape_of(b), dtype, b.data,
                              u8 ? quant(f.f32("b_scale"), f.i64("b_zp")) : qrt::convert::QuantParams{}));
    s.attrs = binary_attrs(code, f.f32("act_min"), f.f32("act_max"));
  } else {
    const qrt::tools::NpyArray x = f.array("x");
    s.inputs.push_back(tensor(shape_of(x), dtype, x.data,
                              u8 ? quant(f.f32("in_scale"), f.i64("in_zp")) : qrt::convert::QuantParams{}));
    s.attrs = unary_attrs(code, f.has("alpha") ? f.f32("alpha") : 0.f,
                          f.has("beta") ? f.f32("beta") : 0.f,
                          f.has("approximate_tanh") && f.i64("approximate_tanh") != 0);
  }
  s.outputs.push_back(tensor(shape_of(out), dtype, {},
                             u8 ? quant(f.f32("out_scale"), f.i64("out_zp")) : qrt::convert::QuantParams{}));
  return s;
}

// The fixture tolerance for float32: 1e-5 relative, 1e-6 absolute near
// zero; NaNs and equal infinities match.
bool close(float got, float want) {
  if (std::isnan(want)) return std::isnan(got);
  if (got == want) return true;
  const double d = std::fabs(static_cast<double>(got) - want);
  return d <= std::fmax(1e-5 * std::fabs(want), 1e-6);
}

std::string with_commas(size_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

}  // namespace

TEST_CASE("elementwise fixtures: every case matches PyTorch 1.13") {
  const std::vector<Fixture> fixtures = qrt::test::load_fixtures("elementwise");
  size_t runs = 0, u8_elements = 0, f32_elements = 0;
  std::set<std::string> covered;
  qrt::test::ParityTally tally;
  for (const Fixture& f : fixtures) {
    CAPTURE(f.name);
    const std::string dtype = f.str("dtype"), profile = f.str("profile");
    covered.insert(f.str("op") + "/" + dtype + "/" + profile);
    std::vector<Profile> profiles;
    if (profile != "fbgemm") profiles.push_back(Profile::Qnnpack);
    if (profile == "fbgemm" || (profile == "any" && dtype == "u8")) profiles.push_back(Profile::Fbgemm);
    OpSpec spec = spec_of(f);
    const qrt::tools::NpyArray want = f.array("out");
    for (const Profile p : profiles) {
      CAPTURE(static_cast<int>(p));
      spec.profile = p;
      const OpResult r = qrt::test::run_op(spec);
      REQUIRE_MESSAGE(r.status == QRT_OK, r.error);
      REQUIRE(r.outputs.size() == 1);
      REQUIRE(r.outputs[0].size() == want.data.size());
      ++runs;
      const std::string key = f.str("op") + " " + dtype + " " +
                              (dtype == "f32" ? "any" : p == Profile::Qnnpack ? "qnnpack" : "fbgemm");
      if (dtype == "u8") {
        size_t mismatches = 0;
        for (size_t i = 0; i < want.data.size(); ++i) {
          if (r.outputs[0][i] == want.data[i]) continue;
          if (++mismatches <= 3)
            MESSAGE(f.name << " [" << i << "]: got " << int(r.outputs[0][i]) << ", PyTorch "
                           << int(want.data[i]));
        }
        CHECK(mismatches == 0);
        u8_elements += want.data.size();
        tally.add(key, f.name, want.data.size(), want.data.size() - mismatches,
                  want.data.size() - mismatches);
      } else {
        const std::vector<float> got = qrt::test::values_of<float>(r.outputs[0]);
        const std::vector<float> ref = qrt::test::values_of<float>(want.data);
        size_t far = 0, exact = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
          exact += got[i] == ref[i] || (std::isnan(got[i]) && std::isnan(ref[i]));
          if (close(got[i], ref[i])) continue;
          if (++far <= 3) MESSAGE(f.name << " [" << i << "]: got " << got[i] << ", PyTorch " << ref[i]);
        }
        CHECK(far == 0);
        f32_elements += ref.size();
        tally.add(key, f.name, ref.size(), exact, ref.size() - far);
      }
    }
  }
  // Every op of the family is covered in each dtype and profile it supports.
  std::vector<std::string> required;
  for (const char* op : {"ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "POW", "SIGMOID",
                         "TANH", "EXP", "LOG", "SQRT", "NEG", "SILU", "GELU", "ERF", "HARD_SWISH",
                         "HARD_SIGMOID", "LEAKY_RELU"})
    required.push_back(std::string(op) + "/f32/any");
  for (const char* op : {"ADD", "HARD_SWISH", "HARD_SIGMOID", "SIGMOID", "TANH", "LEAKY_RELU"})
    for (const char* profile : {"qnnpack", "fbgemm"})
      required.push_back(std::string(op) + "/u8/" + profile);
  required.push_back("MUL/u8/any");
  for (const std::string& r : required) {
    CAPTURE(r);
    CHECK(covered.count(r) == 1);
  }
  MESSAGE("elementwise fixtures: " << fixtures.size() << " cases, " << runs << " runs, "
                                   << with_commas(u8_elements) << " u8 elements identical, "
                                   << with_commas(f32_elements)
                                   << " f32 elements within 1e-5 relative");
  MESSAGE(tally.summary("elementwise"));
}

TEST_CASE("elementwise fixtures: each profile's bytes need that profile's formulas") {
  // A u8 fixture of one profile run under the other: where the profiles'
  // formulas differ (NUMERICS.md: add, hardswish; the generic kernels'
  // fused dequantize for leaky_relu) some case must give other bytes.
  auto swapped = qrt::test::run_in_other_profile(qrt::test::load_fixtures("elementwise"), spec_of);
  for (const auto& kv : swapped)
    MESSAGE(kv.first << " fixtures under the other profile: " << kv.second.second << " of "
                     << kv.second.first << " differ");
  for (const std::string key : {"ADD/qnnpack", "ADD/fbgemm", "HARD_SWISH/qnnpack",
                                "HARD_SWISH/fbgemm", "LEAKY_RELU/qnnpack", "LEAKY_RELU/fbgemm"}) {
    CAPTURE(key);
    REQUIRE(swapped.count(key) == 1);
    CHECK(swapped[key].second > 0);
  }
}

namespace {

std::vector<uint8_t> f32_bytes(size_t n, float v = 1.f) {
  return qrt::test::bytes_of(std::vector<float>(n, v));
}

// A binary op on float32 (or uint8 with the given params) of these shapes.
OpSpec binary_spec(OpCode code, std::vector<int32_t> a, std::vector<int32_t> b,
                   std::vector<int32_t> out, DType dtype = DType::F32) {
  auto count = [](const std::vector<int32_t>& s) {
    size_t n = 1;
    for (int32_t d : s) n *= static_cast<size_t>(d);
    return n;
  };
  const bool u8 = dtype == DType::U8;
  auto data = [&](const std::vector<int32_t>& s) {
    return u8 ? std::vector<uint8_t>(count(s), 100) : f32_bytes(count(s));
  };
  OpSpec s;
  s.code = code;
  s.inputs.push_back(tensor(a, dtype, data(a), u8 ? quant(0.05f, 100) : qrt::convert::QuantParams{}));
  s.inputs.push_back(tensor(b, dtype, data(b), u8 ? quant(0.04f, 120) : qrt::convert::QuantParams{}));
  s.outputs.push_back(tensor(out, dtype, {}, u8 ? quant(0.1f, 90) : qrt::convert::QuantParams{}));
  s.attrs = binary_attrs(code, -kInf, kInf);
  return s;
}

OpSpec unary_u8_spec(OpCode code, float out_scale, int64_t out_zp, Profile profile) {
  OpSpec s;
  s.code = code;
  s.profile = profile;
  std::vector<uint8_t> x(256);
  for (int i = 0; i < 256; ++i) x[i] = static_cast<uint8_t>(i);
  s.inputs.push_back(tensor({4, 64}, DType::U8, x, quant(0.05f, 128)));
  s.outputs.push_back(tensor({4, 64}, DType::U8, {}, quant(out_scale, out_zp)));
  s.attrs = unary_attrs(code, 1.f / 6.f, 0.5f, false);
  if (code == OpCode::LEAKY_RELU) s.attrs = unary_attrs(code, 0.01f, 0.f, false);
  return s;
}

void expect_failure(const OpSpec& s, qrt_status status, std::vector<std::string> parts) {
  const OpResult r = qrt::test::run_op(s);
  CAPTURE(r.error);
  CHECK(r.status == status);
  for (const std::string& p : parts) {
    CAPTURE(p);
    CHECK(r.error.find(p) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("elementwise: shapes that do not broadcast are named in the error") {
  expect_failure(binary_spec(OpCode::MUL, {2, 3}, {4}, {2, 3}), QRT_INVALID_MODEL,
                 {"(MUL)", "'in0' shape (2, 3)", "'in1' shape (4,)", "do not broadcast"});
  expect_failure(binary_spec(OpCode::ADD, {1, 4, 4, 8}, {1, 8, 8, 8}, {1, 4, 4, 8}),
                 QRT_INVALID_MODEL, {"(ADD)", "'in1' shape (1, 8, 8, 8)", "do not broadcast"});
  expect_failure(binary_spec(OpCode::POW, {2, 1, 3}, {5, 1}, {2, 5, 4}), QRT_INVALID_MODEL,
                 {"(POW)", "output 'out0' shape (2, 5, 4)", "differs from (2, 5, 3)"});
  // The output must be the broadcast shape exactly, rank included.
  expect_failure(binary_spec(OpCode::SUB, {3}, {3}, {1, 3}), QRT_INVALID_MODEL,
                 {"'out0' shape (1, 3)", "differs from (3,)"});
  // Broadcasting to the output of the larger input works, in either order.
  for (const OpCode code : {OpCode::ADD, OpCode::MUL, OpCode::DIV, OpCode::MAXIMUM}) {
    CAPTURE(static_cast<int>(code));
    CHECK(qrt::test::run_op(binary_spec(code, {3, 1}, {2, 1, 4}, {2, 3, 4})).status == QRT_OK);
    CHECK(qrt::test::run_op(binary_spec(code, {}, {2, 5}, {2, 5})).status == QRT_OK);
  }
}

TEST_CASE("elementwise: dtype mismatches and unsupported dtypes") {
  OpSpec s = binary_spec(OpCode::ADD, {2, 3}, {2, 3}, {2, 3});
  s.inputs[1] = tensor({2, 3}, DType::U8, std::vector<uint8_t>(6, 1), quant(0.1f, 0));
  expect_failure(s, QRT_INVALID_MODEL, {"(ADD)", "input b 'in1' is u8, expected f32"});
  s = binary_spec(OpCode::MUL, {2, 3}, {3}, {2, 3}, DType::U8);
  s.outputs[0] = tensor({2, 3}, DType::F32);
  expect_failure(s, QRT_INVALID_MODEL, {"(MUL)", "output 'out0' is f32, expected u8"});
  // uint8 exists in PyTorch for ADD and MUL only.
  for (const OpCode code : {OpCode::SUB, OpCode::DIV, OpCode::MAXIMUM, OpCode::MINIMUM, OpCode::POW}) {
    CAPTURE(static_cast<int>(code));
    expect_failure(binary_spec(code, {2, 3}, {2, 3}, {2, 3}, DType::U8), QRT_UNSUPPORTED,
                   {"uint8 inputs are not supported"});
  }
  for (const OpCode code : {OpCode::EXP, OpCode::LOG, OpCode::SQRT, OpCode::NEG, OpCode::SILU,
                            OpCode::GELU, OpCode::ERF}) {
    CAPTURE(static_cast<int>(code));
    expect_failure(unary_u8_spec(code, 0.05f, 128, Profile::Qnnpack), QRT_UNSUPPORTED,
                   {"no quantized kernel in PyTorch"});
  }
  OpSpec u = unary_u8_spec(OpCode::SIGMOID, 1.f / 256, 0, Profile::Qnnpack);
  u.outputs[0] = tensor({4, 64}, DType::F32);
  expect_failure(u, QRT_INVALID_MODEL, {"(SIGMOID)", "output 'out0' is f32, expected u8"});
  u = unary_u8_spec(OpCode::TANH, 1.f / 128, 128, Profile::Qnnpack);
  u.outputs[0].shape = {4, 32, 2};
  expect_failure(u, QRT_INVALID_MODEL, {"(TANH)", "shape (4, 64)", "shape (4, 32, 2)"});
}

TEST_CASE("elementwise: quantized output parameters PyTorch fixes") {
  // qnnpack: QNNPACK's sigmoid only produces scale 1/256, zero point 0; the
  // generic kernel (fbgemm profile) takes any output parameters.
  expect_failure(unary_u8_spec(OpCode::SIGMOID, 0.01f, 10, Profile::Qnnpack), QRT_UNSUPPORTED,
                 {"(SIGMOID)", "output scale 1/256 and zero point 0", "qnnpack profile",
                  "'out0' scale 0.01 zero point 10"});
  CHECK(qrt::test::run_op(unary_u8_spec(OpCode::SIGMOID, 0.01f, 10, Profile::Fbgemm)).status ==
        QRT_OK);
  CHECK(qrt::test::run_op(unary_u8_spec(OpCode::SIGMOID, 1.f / 256, 0, Profile::Qnnpack)).status ==
        QRT_OK);
  for (const Profile p : {Profile::Qnnpack, Profile::Fbgemm}) {
    CAPTURE(static_cast<int>(p));
    expect_failure(unary_u8_spec(OpCode::TANH, 1.f / 256, 128, p), QRT_UNSUPPORTED,
                   {"(TANH)", "scale 1/128 and zero point 128"});
    expect_failure(unary_u8_spec(OpCode::HARD_SIGMOID, 1.f / 256, 3, p), QRT_UNSUPPORTED,
                   {"(HARD_SIGMOID)", "scale 1/256 and zero point 0"});
    OpSpec onnx = unary_u8_spec(OpCode::HARD_SIGMOID, 1.f / 256, 0, p);
    onnx.attrs = unary_attrs(OpCode::HARD_SIGMOID, 0.2f, 0.5f, false);
    expect_failure(onnx, QRT_UNSUPPORTED, {"alpha 1/6 and beta 0.5"});
    CHECK(qrt::test::run_op(unary_u8_spec(OpCode::HARD_SWISH, 0.03f, 17, p)).status == QRT_OK);
    CHECK(qrt::test::run_op(unary_u8_spec(OpCode::LEAKY_RELU, 0.03f, 17, p)).status == QRT_OK);
  }
}

TEST_CASE("elementwise: activation range, per-channel parameters and add scale limits") {
  OpSpec s = binary_spec(OpCode::MUL, {2, 3}, {2, 3}, {2, 3});
  s.attrs = binary_attrs(OpCode::MUL, 1.f, 0.f);
  expect_failure(s, QRT_INVALID_MODEL, {"(MUL)", "activation range [1, 0] is empty"});
  s.attrs = binary_attrs(OpCode::MUL, std::nanf(""), 1.f);
  expect_failure(s, QRT_INVALID_MODEL, {"activation range"});

  s = binary_spec(OpCode::MUL, {2, 3}, {3}, {2, 3}, DType::U8);
  s.inputs[1].quant = qrt::convert::QuantParams{{0.1f, 0.2f, 0.3f}, {0, 0, 0}, 0};
  expect_failure(s, QRT_INVALID_MODEL, {"(MUL)", "input b 'in1' needs one scale"});

  // QNNPACK's add refuses input/output scale ratios of 2^8 and above; with
  // unequal shapes PyTorch runs its generic kernel, which has no limit.
  OpSpec add = binary_spec(OpCode::ADD, {2, 3}, {2, 3}, {2, 3}, DType::U8);
  add.inputs[0].quant = quant(300.f, 0);
  add.outputs[0].quant = quant(1.f, 0);
  expect_failure(add, QRT_UNSUPPORTED, {"(ADD)", "scale ratios"});
  add.profile = Profile::Fbgemm;
  CHECK(qrt::test::run_op(add).status == QRT_OK);
  add.profile = Profile::Qnnpack;
  add.inputs[1] = tensor({3}, DType::U8, std::vector<uint8_t>(3, 1), quant(0.04f, 120));
  CHECK(qrt::test::run_op(add).status == QRT_OK);
}

TEST_CASE("elementwise: qnnpack add takes QNNPACK's fixed point only for equal shapes") {
  // s_a = 1, b at its zero point, s_out = 2: a / 2 = 0.5, 1.5, 2.5, 3.5.
  // Equal shapes (QNNPACK, half away from zero): 1, 2, 3, 4; b broadcast
  // from (1,) (PyTorch's generic kernel, half to even): 0, 2, 2, 4.
  OpSpec s;
  s.code = OpCode::ADD;
  s.attrs = binary_attrs(OpCode::ADD, -kInf, kInf);
  s.inputs.push_back(tensor({4}, DType::U8, {1, 3, 5, 7}, quant(1.f, 0)));
  s.inputs.push_back(tensor({4}, DType::U8, {9, 9, 9, 9}, quant(1.f, 9)));
  s.outputs.push_back(tensor({4}, DType::U8, {}, quant(2.f, 0)));
  OpResult r = qrt::test::run_op(s);
  REQUIRE_MESSAGE(r.status == QRT_OK, r.error);
  CHECK(r.outputs[0] == std::vector<uint8_t>{1, 2, 3, 4});
  s.inputs[1] = tensor({1}, DType::U8, {9}, quant(1.f, 9));
  r = qrt::test::run_op(s);
  REQUIRE_MESSAGE(r.status == QRT_OK, r.error);
  CHECK(r.outputs[0] == std::vector<uint8_t>{0, 2, 2, 4});
}

TEST_CASE("elementwise: every op refuses zero-size dimensions before prepare") {
  const auto n = qrt::test::check_zero_dims_refused(
      qrt::test::load_fixtures("elementwise"),
      [](const Fixture& f) { return f.str("op") + f.str("dtype"); },
      spec_of);
  MESSAGE("elementwise: " << n.first << " op/dtype pairs, " << n.second << " zero-size variants refused");
}
