// The conv_pool family (CONV_2D, TRANSPOSE_CONV_2D, FULLY_CONNECTED, the
// pools, QUANTIZE, DEQUANTIZE, ADD, CLAMP) through the whole runtime against
// PyTorch 1.13 fixtures (tests/parity/fixtures_conv_pool.py), and the checks
// their prepare functions make.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
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

const std::map<std::string, OpCode>& opcodes() {
  static const std::map<std::string, OpCode> m = {
      {"CONV_2D", OpCode::CONV_2D},
      {"TRANSPOSE_CONV_2D", OpCode::TRANSPOSE_CONV_2D},
      {"FULLY_CONNECTED", OpCode::FULLY_CONNECTED},
      {"MAX_POOL_2D", OpCode::MAX_POOL_2D},
      {"AVG_POOL_2D", OpCode::AVG_POOL_2D},
      {"ADAPTIVE_AVG_POOL_2D", OpCode::ADAPTIVE_AVG_POOL_2D},
      {"GLOBAL_AVG_POOL", OpCode::GLOBAL_AVG_POOL},
      {"QUANTIZE", OpCode::QUANTIZE},
      {"DEQUANTIZE", OpCode::DEQUANTIZE},
      {"ADD", OpCode::ADD},
      {"CLAMP", OpCode::CLAMP},
  };
  return m;
}

DType dtype_of(const std::string& name) {
  return name == "u8" ? DType::U8 : name == "s8" ? DType::S8 : DType::F32;
}

qrt::convert::QuantParams quant(float scale, int64_t zp) {
  qrt::convert::QuantParams q;
  q.scale = {scale};
  q.zero_point = {zp};
  return q;
}

std::vector<int32_t> shape_of(const qrt::tools::NpyArray& a) {
  return std::vector<int32_t>(a.shape.begin(), a.shape.end());
}

TensorSpec tensor(std::vector<int32_t> shape, DType dtype, std::vector<uint8_t> data = {},
                  qrt::convert::QuantParams q = {}, bool constant = false) {
  TensorSpec t;
  t.shape = std::move(shape);
  t.dtype = dtype;
  t.data = std::move(data);
  t.quant = std::move(q);
  t.constant = constant;
  return t;
}

TensorSpec absent() {
  TensorSpec t;
  t.absent = true;
  return t;
}

template <class T>
qrt::convert::OpAttrs options(T t) {
  qrt::fb::OpOptionsUnion u;
  u.Set(std::move(t));
  return u;
}

int32_t geti(const Fixture& f, const char* key) { return static_cast<int32_t>(f.i64(key)); }

template <class T>
void fill_conv_options(const Fixture& f, T* o) {
  o->stride_h = geti(f, "stride_h");
  o->stride_w = geti(f, "stride_w");
  o->dilation_h = geti(f, "dilation_h");
  o->dilation_w = geti(f, "dilation_w");
  o->pad_top = geti(f, "pad_top");
  o->pad_left = geti(f, "pad_left");
  o->pad_bottom = geti(f, "pad_bottom");
  o->pad_right = geti(f, "pad_right");
  o->groups = geti(f, "groups");
  o->act_min = f.f32("act_min");
  o->act_max = f.f32("act_max");
}

qrt::fb::Pool2DOptionsT pool_options(const Fixture& f) {
  qrt::fb::Pool2DOptionsT o;
  o.kernel_h = geti(f, "kernel_h");
  o.kernel_w = geti(f, "kernel_w");
  o.stride_h = geti(f, "stride_h");
  o.stride_w = geti(f, "stride_w");
  o.pad_top = geti(f, "pad_top");
  o.pad_left = geti(f, "pad_left");
  o.pad_bottom = geti(f, "pad_bottom");
  o.pad_right = geti(f, "pad_right");
  o.ceil_mode = f.i64("ceil_mode") != 0;
  o.count_include_pad = f.i64("count_include_pad") != 0;
  o.divisor_override = geti(f, "divisor_override");
  o.dilation_h = geti(f, "dilation_h");
  o.dilation_w = geti(f, "dilation_w");
  return o;
}

// The op a fixture describes, ready for run_op except for the profile.
OpSpec spec_of(const Fixture& f) {
  const OpCode code = opcodes().at(f.str("op"));
  const std::string dtype = f.str("dtype");
  const bool quantized = dtype != "f32";
  OpSpec s;
  s.code = code;
  const qrt::tools::NpyArray out = f.array("out");
  auto in_quant = [&] {
    return quantized ? quant(f.f32("in_scale"), f.i64("in_zp")) : qrt::convert::QuantParams{};
  };
  auto out_quant = [&] {
    return quantized ? quant(f.f32("out_scale"), f.i64("out_zp")) : qrt::convert::QuantParams{};
  };
  DType in_dtype = dtype_of(dtype), out_dtype = dtype_of(dtype);
  if (code == OpCode::QUANTIZE) in_dtype = DType::F32;
  if (code == OpCode::DEQUANTIZE) out_dtype = DType::F32;

  if (code == OpCode::ADD) {
    const qrt::tools::NpyArray a = f.array("a"), b = f.array("b");
    s.inputs.push_back(tensor(shape_of(a), DType::U8, a.data, quant(f.f32("a_scale"), f.i64("a_zp"))));
    s.inputs.push_back(tensor(shape_of(b), DType::U8, b.data, quant(f.f32("b_scale"), f.i64("b_zp"))));
    s.outputs.push_back(tensor(shape_of(out), DType::U8, {}, out_quant()));
    qrt::fb::AddOptionsT o;
    o.act_min = f.f32("act_min");
    o.act_max = f.f32("act_max");
    s.attrs = options(o);
    return s;
  }

  const qrt::tools::NpyArray x = f.array("x");
  s.inputs.push_back(tensor(shape_of(x), in_dtype, x.data,
                            code == OpCode::QUANTIZE ? qrt::convert::QuantParams{} : in_quant()));
  const bool has_weights =
      code == OpCode::CONV_2D || code == OpCode::TRANSPOSE_CONV_2D || code == OpCode::FULLY_CONNECTED;
  if (has_weights) {
    const qrt::tools::NpyArray w = f.array("w");
    qrt::convert::QuantParams wq;
    if (quantized) {
      wq.scale = f.f32s("w_scales");
      wq.zero_point.assign(wq.scale.size(), 0);
      wq.per_channel = f.i64("per_channel") != 0;
    }
    s.inputs.push_back(tensor(shape_of(w), quantized ? DType::S8 : DType::F32, w.data, wq, true));
    if (f.i64("bias") != 0) {
      const qrt::tools::NpyArray b = f.array("b");
      s.inputs.push_back(tensor(shape_of(b), DType::F32, b.data, {}, true));
    } else {
      s.inputs.push_back(absent());
    }
  }
  s.outputs.push_back(tensor(shape_of(out), out_dtype, {},
                             code == OpCode::DEQUANTIZE ? qrt::convert::QuantParams{} : out_quant()));

  if (code == OpCode::CONV_2D) {
    qrt::fb::Conv2DOptionsT o;
    fill_conv_options(f, &o);
    s.attrs = options(o);
  } else if (code == OpCode::TRANSPOSE_CONV_2D) {
    qrt::fb::TransposeConv2DOptionsT o;
    fill_conv_options(f, &o);
    s.attrs = options(o);
  } else if (code == OpCode::FULLY_CONNECTED) {
    qrt::fb::FullyConnectedOptionsT o;
    o.act_min = f.f32("act_min");
    o.act_max = f.f32("act_max");
    s.attrs = options(o);
  } else if (code == OpCode::MAX_POOL_2D || code == OpCode::AVG_POOL_2D) {
    s.attrs = options(pool_options(f));
  } else if (code == OpCode::CLAMP) {
    qrt::fb::ClampOptionsT o;
    o.min = f.f32("min");
    o.max = f.f32("max");
    s.attrs = options(o);
  }
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

TEST_CASE("conv_pool fixtures: every case matches PyTorch 1.13") {
  const std::vector<Fixture> fixtures = qrt::test::load_fixtures("conv_pool");
  size_t runs = 0, int_elements = 0, f32_elements = 0, f32_exact = 0;
  std::set<std::string> covered;
  qrt::test::ParityTally tally;
  for (const Fixture& f : fixtures) {
    CAPTURE(f.name);
    const std::string dtype = f.str("dtype"), profile = f.str("profile");
    covered.insert(f.str("op") + "/" + dtype + "/" + profile);
    std::vector<Profile> profiles;
    if (profile != "fbgemm") profiles.push_back(Profile::Qnnpack);
    if (profile != "qnnpack") profiles.push_back(Profile::Fbgemm);
    OpSpec spec = spec_of(f);
    const qrt::tools::NpyArray want = f.array("out");
    const bool float_out = want.dtype == "f4";
    for (const Profile p : profiles) {
      CAPTURE(static_cast<int>(p));
      spec.profile = p;
      const OpResult r = qrt::test::run_op(spec);
      REQUIRE_MESSAGE(r.status == QRT_OK, r.error);
      REQUIRE(r.outputs.size() == 1);
      REQUIRE(r.outputs[0].size() == want.data.size());
      ++runs;
      const std::string key = f.str("op") + " " + (dtype == "u8" ? "u8 " : dtype + " ") +
                              (dtype == "f32" ? "any" : p == Profile::Qnnpack ? "qnnpack" : "fbgemm");
      if (!float_out) {
        size_t mismatches = 0;
        for (size_t i = 0; i < want.data.size(); ++i) {
          if (r.outputs[0][i] == want.data[i]) continue;
          if (++mismatches <= 3)
            MESSAGE(f.name << " [" << i << "]: got " << int(r.outputs[0][i]) << ", PyTorch "
                           << int(want.data[i]));
        }
        CHECK(mismatches == 0);
        int_elements += want.data.size();
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
        f32_exact += exact;
        tally.add(key, f.name, ref.size(), exact, ref.size() - far);
      }
    }
  }
  // Every op of the family is covered in each dtype and profile PyTorch
  // gives a reference for.
  const std::vector<std::string> required = {
      "CONV_2D/u8/qnnpack", "CONV_2D/f32/any", "TRANSPOSE_CONV_2D/u8/qnnpack",
      "TRANSPOSE_CONV_2D/f32/any", "FULLY_CONNECTED/u8/qnnpack", "FULLY_CONNECTED/f32/any",
      "MAX_POOL_2D/u8/any", "MAX_POOL_2D/u8/qnnpack", "MAX_POOL_2D/u8/fbgemm", "MAX_POOL_2D/f32/any", "AVG_POOL_2D/u8/qnnpack",
      "AVG_POOL_2D/u8/fbgemm", "AVG_POOL_2D/f32/any", "ADAPTIVE_AVG_POOL_2D/u8/qnnpack",
      "ADAPTIVE_AVG_POOL_2D/u8/fbgemm", "ADAPTIVE_AVG_POOL_2D/f32/any",
      "GLOBAL_AVG_POOL/u8/qnnpack", "GLOBAL_AVG_POOL/u8/fbgemm", "GLOBAL_AVG_POOL/f32/any",
      "QUANTIZE/u8/any", "QUANTIZE/s8/any", "DEQUANTIZE/u8/any", "DEQUANTIZE/s8/any",
      "ADD/u8/qnnpack", "CLAMP/u8/any", "CLAMP/f32/any"};
  for (const std::string& r : required) {
    CAPTURE(r);
    CHECK(covered.count(r) == 1);
  }
  MESSAGE("conv_pool fixtures: " << fixtures.size() << " cases, " << runs << " runs, "
                                 << with_commas(int_elements) << " u8/s8 elements identical, "
                                 << with_commas(f32_elements) << " f32 elements within 1e-5 ("
                                 << with_commas(f32_exact) << " bit-identical)");
  MESSAGE(tally.summary("conv_pool"));
}

TEST_CASE("conv_pool fixtures: each profile's bytes need that profile's formulas") {
  // A u8 fixture of one profile run under the other: the ops whose formulas
  // differ between the profiles (NUMERICS.md) must give other bytes on at
  // least one case, or the fixtures would not tell the profiles apart.
  auto swapped = qrt::test::run_in_other_profile(qrt::test::load_fixtures("conv_pool"), spec_of);
  // (ADD's profile split is shown by the elementwise family's fixtures.)
  for (const std::string key : {"CONV_2D/qnnpack", "TRANSPOSE_CONV_2D/qnnpack",
                                "FULLY_CONNECTED/qnnpack", "AVG_POOL_2D/qnnpack",
                                "AVG_POOL_2D/fbgemm", "ADAPTIVE_AVG_POOL_2D/qnnpack",
                                "ADAPTIVE_AVG_POOL_2D/fbgemm", "GLOBAL_AVG_POOL/qnnpack",
                                "GLOBAL_AVG_POOL/fbgemm", "MAX_POOL_2D/qnnpack",
                                "MAX_POOL_2D/fbgemm"}) {
    CAPTURE(key);
    REQUIRE(swapped.count(key) == 1);
    MESSAGE(key << " fixtures under the other profile: " << swapped[key].second << " of "
                << swapped[key].first << " differ");
    CHECK(swapped[key].second > 0);
  }
}

namespace {

std::vector<uint8_t> bytes(size_t n, uint8_t v = 100) { return std::vector<uint8_t>(n, v); }

size_t count(const std::vector<int32_t>& shape) {
  size_t n = 1;
  for (int32_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

// A u8 pooling op from `in` to `out` with the given options.
OpSpec pool_spec(OpCode code, std::vector<int32_t> in, std::vector<int32_t> out,
                 qrt::fb::Pool2DOptionsT o, float out_scale = 0.05f) {
  OpSpec s;
  s.code = code;
  s.inputs.push_back(tensor(in, DType::U8, bytes(count(in)), quant(0.05f, 100)));
  s.outputs.push_back(tensor(out, DType::U8, {}, quant(out_scale, 100)));
  if (code != OpCode::ADAPTIVE_AVG_POOL_2D) s.attrs = options(o);
  return s;
}

qrt::fb::Pool2DOptionsT kernel3(int stride, int pad, bool ceil_mode = false) {
  qrt::fb::Pool2DOptionsT o;
  o.kernel_h = o.kernel_w = 3;
  o.stride_h = o.stride_w = stride;
  o.pad_top = o.pad_left = o.pad_bottom = o.pad_right = pad;
  o.ceil_mode = ceil_mode;
  return o;
}

// A u8 transposed conv 4 -> 6 channels, 3x3 kernel, with these options.
OpSpec tconv_spec(std::vector<int32_t> in, std::vector<int32_t> w, std::vector<int32_t> out,
                  qrt::fb::TransposeConv2DOptionsT o, std::vector<float> w_scales = {0.01f}) {
  OpSpec s;
  s.code = OpCode::TRANSPOSE_CONV_2D;
  s.inputs.push_back(tensor(in, DType::U8, bytes(count(in)), quant(0.05f, 100)));
  qrt::convert::QuantParams wq;
  wq.scale = w_scales;
  wq.zero_point.assign(w_scales.size(), 0);
  wq.per_channel = w_scales.size() > 1;
  s.inputs.push_back(tensor(w, DType::S8, bytes(count(w), 3), wq, true));
  s.inputs.push_back(absent());
  s.outputs.push_back(tensor(out, DType::U8, {}, quant(0.1f, 128)));
  s.attrs = options(o);
  return s;
}

qrt::fb::TransposeConv2DOptionsT stride2_pad1() {
  qrt::fb::TransposeConv2DOptionsT o;
  o.stride_h = o.stride_w = 2;
  o.pad_top = o.pad_left = o.pad_bottom = o.pad_right = 1;
  return o;
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

TEST_CASE("conv_pool: pooling output sizes follow ceil_mode and dilation") {
  // 8x8, kernel 3, stride 2: 3x3 (floor) or 4x4 (ceil_mode).
  CHECK(qrt::test::run_op(pool_spec(OpCode::MAX_POOL_2D, {1, 8, 8, 2}, {1, 3, 3, 2}, kernel3(2, 0)))
            .status == QRT_OK);
  expect_failure(pool_spec(OpCode::MAX_POOL_2D, {1, 8, 8, 2}, {1, 4, 4, 2}, kernel3(2, 0)),
                 QRT_INVALID_MODEL, {"(MAX_POOL_2D)", "does not pool to output", "expected (1, 3, 3, 2))"});
  CHECK(qrt::test::run_op(
            pool_spec(OpCode::MAX_POOL_2D, {1, 8, 8, 2}, {1, 4, 4, 2}, kernel3(2, 0, true)))
            .status == QRT_OK);
  expect_failure(pool_spec(OpCode::AVG_POOL_2D, {1, 8, 8, 2}, {1, 3, 3, 2}, kernel3(2, 0, true)),
                 QRT_INVALID_MODEL, {"(AVG_POOL_2D)", "expected (1, 4, 4, 2) with ceil_mode"});
  qrt::fb::Pool2DOptionsT dilated = kernel3(1, 1);
  dilated.dilation_h = 2;
  CHECK(qrt::test::run_op(pool_spec(OpCode::MAX_POOL_2D, {1, 8, 8, 2}, {1, 6, 8, 2}, dilated))
            .status == QRT_OK);
  expect_failure(pool_spec(OpCode::AVG_POOL_2D, {1, 8, 8, 2}, {1, 6, 8, 2}, dilated),
                 QRT_UNSUPPORTED, {"(AVG_POOL_2D)", "dilation 2x1"});
  qrt::fb::Pool2DOptionsT big_pad = kernel3(1, 3);
  expect_failure(pool_spec(OpCode::MAX_POOL_2D, {1, 8, 8, 2}, {1, 12, 12, 2}, big_pad),
                 QRT_INVALID_MODEL, {"each pad must be below the kernel"});
  qrt::fb::Pool2DOptionsT negative = kernel3(1, 1);
  negative.divisor_override = -2;
  expect_failure(pool_spec(OpCode::AVG_POOL_2D, {1, 8, 8, 2}, {1, 8, 8, 2}, negative),
                 QRT_INVALID_MODEL, {"divisor_override -2"});
}

TEST_CASE("conv_pool: average pooling scale limits of QNNPACK") {
  // QNNPACK refuses input/output scale ratios of 2^8 and more; the generic
  // kernel (fbgemm, and qnnpack with ceil_mode) has no limit.
  OpSpec s = pool_spec(OpCode::AVG_POOL_2D, {1, 8, 8, 2}, {1, 3, 3, 2}, kernel3(2, 0), 0.0001f);
  expect_failure(s, QRT_UNSUPPORTED, {"(AVG_POOL_2D)", "outside QNNPACK's [2^-8, 2^8)"});
  s.profile = Profile::Fbgemm;
  CHECK(qrt::test::run_op(s).status == QRT_OK);
  OpSpec a = pool_spec(OpCode::ADAPTIVE_AVG_POOL_2D, {1, 8, 8, 2}, {1, 4, 4, 2}, {}, 0.0001f);
  expect_failure(a, QRT_UNSUPPORTED, {"(ADAPTIVE_AVG_POOL_2D)", "outside QNNPACK's"});
  // 8x8 -> 3x3 does not divide: PyTorch's generic kernel, no limit.
  a = pool_spec(OpCode::ADAPTIVE_AVG_POOL_2D, {1, 8, 8, 2}, {1, 3, 3, 2}, {}, 0.0001f);
  CHECK(qrt::test::run_op(a).status == QRT_OK);
  a = pool_spec(OpCode::ADAPTIVE_AVG_POOL_2D, {1, 8, 8, 2}, {1, 3, 3, 3}, {});
  expect_failure(a, QRT_INVALID_MODEL, {"differ in batch or channels"});
}

TEST_CASE("conv_pool: qnnpack average pooling with ceil_mode takes the generic kernel") {
  // F.avg_pool2d(x, (2, 3), ceil_mode=True) on the qnnpack engine runs
  // PyTorch's generic kernel: s = 0.07, a window sum of 9 over 6 taps gives
  // 2 (QNNPACK's multiplier would give 1). Without ceil_mode: 1.
  qrt::fb::Pool2DOptionsT o;
  o.kernel_h = 2;
  o.kernel_w = 3;
  o.stride_h = 2;
  o.stride_w = 3;
  OpSpec s;
  s.code = OpCode::AVG_POOL_2D;
  s.inputs.push_back(tensor({1, 2, 3, 1}, DType::U8, {7, 7, 7, 6, 6, 6}, quant(0.07f, 5)));
  s.outputs.push_back(tensor({1, 1, 1, 1}, DType::U8, {}, quant(0.07f, 5)));
  for (const bool ceil_mode : {false, true}) {
    CAPTURE(ceil_mode);
    o.ceil_mode = ceil_mode;
    s.attrs = options(o);
    const OpResult r = qrt::test::run_op(s);
    REQUIRE_MESSAGE(r.status == QRT_OK, r.error);
    CHECK(r.outputs[0] == std::vector<uint8_t>{static_cast<uint8_t>(ceil_mode ? 7 : 6)});
  }
}

TEST_CASE("conv_pool: transposed conv shape checks") {
  // 5x5 input, stride 2, pad 1, 3x3 kernel: 9x9 plus output padding 0 or 1.
  const std::vector<int32_t> w = {6, 3, 3, 4};
  CHECK(qrt::test::run_op(tconv_spec({1, 5, 5, 4}, w, {1, 9, 9, 6}, stride2_pad1())).status == QRT_OK);
  CHECK(qrt::test::run_op(tconv_spec({1, 5, 5, 4}, w, {1, 10, 9, 6}, stride2_pad1())).status ==
        QRT_OK);
  expect_failure(tconv_spec({1, 5, 5, 4}, w, {1, 11, 9, 6}, stride2_pad1()), QRT_INVALID_MODEL,
                 {"(TRANSPOSE_CONV_2D)", "output is 11x9", "gives 9x9", "below 2x2"});
  expect_failure(tconv_spec({1, 5, 5, 4}, w, {1, 8, 9, 6}, stride2_pad1()), QRT_INVALID_MODEL,
                 {"output is 8x9"});
  expect_failure(tconv_spec({1, 5, 5, 4}, {4, 3, 3, 6}, {1, 9, 9, 6}, stride2_pad1()),
                 QRT_INVALID_MODEL, {"expected (6, kh, kw, 4) in OHWI layout"});
  qrt::fb::TransposeConv2DOptionsT grouped = stride2_pad1();
  grouped.groups = 2;
  CHECK(qrt::test::run_op(tconv_spec({1, 5, 5, 4}, {6, 3, 3, 2}, {1, 9, 9, 6}, grouped)).status ==
        QRT_OK);
  grouped.groups = 4;
  expect_failure(tconv_spec({1, 5, 5, 4}, {6, 3, 3, 1}, {1, 9, 9, 6}, grouped), QRT_INVALID_MODEL,
                 {"do not split into 4 groups"});
  // Per-channel weights: one scale per output channel.
  CHECK(qrt::test::run_op(tconv_spec({1, 5, 5, 4}, w, {1, 9, 9, 6}, stride2_pad1(),
                                     {0.01f, 0.02f, 0.01f, 0.02f, 0.01f, 0.02f}))
            .status == QRT_OK);
  expect_failure(tconv_spec({1, 5, 5, 4}, w, {1, 9, 9, 6}, stride2_pad1(), {0.01f, 0.02f, 0.01f, 0.02f}),
                 QRT_INVALID_MODEL, {"4 scales for axis 0 of size 6"});
  // The accumulation bound: 3 * 3 * 4096 taps > 32768.
  expect_failure(tconv_spec({1, 1, 1, 4096}, {1, 3, 3, 4096}, {1, 1, 1, 1}, stride2_pad1()),
                 QRT_UNSUPPORTED, {"accumulation depth 36864 exceeds 32768"});
}

TEST_CASE("conv_pool: every op refuses zero-size dimensions before prepare") {
  const auto n = qrt::test::check_zero_dims_refused(
      qrt::test::load_fixtures("conv_pool"),
      [](const Fixture& f) { return f.str("op") + f.str("dtype"); },
      spec_of);
  MESSAGE("conv_pool: " << n.first << " op/dtype pairs, " << n.second << " zero-size variants refused");
}

namespace {

// A u8 CONV_2D (1x1 output) or FULLY_CONNECTED of depth `in_c` per group,
// weights of 1 and an optional float bias, in the given profile.
OpSpec deep_spec(OpCode code, int32_t in_c, int32_t kernel, int32_t groups, float bias,
                 Profile profile) {
  const int32_t out_c = groups;
  const int32_t per_group = in_c / groups;
  OpSpec s;
  s.code = code;
  s.profile = profile;
  qrt::convert::QuantParams wq = quant(0.01f, 0);
  if (code == OpCode::CONV_2D) {
    const std::vector<int32_t> in = {1, kernel, kernel, in_c}, w = {out_c, kernel, kernel, per_group};
    s.inputs.push_back(tensor(in, DType::U8, bytes(count(in)), quant(0.05f, 100)));
    s.inputs.push_back(tensor(w, DType::S8, bytes(count(w), 1), wq, true));
    s.outputs.push_back(tensor({1, 1, 1, out_c}, DType::U8, {}, quant(0.1f, 128)));
    qrt::fb::Conv2DOptionsT o;
    o.groups = groups;
    s.attrs = options(o);
  } else {
    s.inputs.push_back(tensor({1, in_c}, DType::U8, bytes(static_cast<size_t>(in_c)), quant(0.05f, 100)));
    s.inputs.push_back(tensor({out_c, in_c}, DType::S8, bytes(static_cast<size_t>(out_c) * in_c, 1),
                              wq, true));
    s.outputs.push_back(tensor({1, out_c}, DType::U8, {}, quant(0.1f, 128)));
    s.attrs = options(qrt::fb::FullyConnectedOptionsT{});
  }
  if (bias != 0.f) {
    s.inputs.push_back(tensor({out_c}, DType::F32,
                              qrt::test::bytes_of(std::vector<float>(static_cast<size_t>(out_c), bias)),
                              {}, true));
  } else {
    s.inputs.push_back(absent());
  }
  return s;
}

}  // namespace

TEST_CASE("conv_pool: int32 accumulator bounds are checked at prepare") {
  // kernels/ref/quant_math.h: K * 255 * 128 + |bias_q| <= 2^31 - 1 holds for
  // K <= 32768 and |bias_q| <= 2^30; prepare refuses anything deeper.
  for (const Profile p : {Profile::Qnnpack, Profile::Fbgemm}) {
    CAPTURE(static_cast<int>(p));
    CHECK(qrt::test::run_op(deep_spec(OpCode::FULLY_CONNECTED, 32768, 1, 1, 0.f, p)).status == QRT_OK);
    expect_failure(deep_spec(OpCode::FULLY_CONNECTED, 32769, 1, 1, 0.f, p), QRT_UNSUPPORTED,
                   {"(FULLY_CONNECTED)", "accumulation depth 32769 exceeds 32768"});
    CHECK(qrt::test::run_op(deep_spec(OpCode::CONV_2D, 32768, 1, 1, 0.f, p)).status == QRT_OK);
    expect_failure(deep_spec(OpCode::CONV_2D, 32769, 1, 1, 0.f, p), QRT_UNSUPPORTED,
                   {"(CONV_2D)", "accumulation depth 32769 exceeds 32768"});
    // 3x3 taps of 4096 channels: 36864 in one group, 18432 in each of two.
    expect_failure(deep_spec(OpCode::CONV_2D, 4096, 3, 1, 0.f, p), QRT_UNSUPPORTED,
                   {"accumulation depth 36864 exceeds 32768"});
    CHECK(qrt::test::run_op(deep_spec(OpCode::CONV_2D, 4096, 3, 2, 0.f, p)).status == QRT_OK);
  }
  // qnnpack's int32 bias: 1e6 / (0.05 * 0.01) = 2e9 > 2^30. fbgemm keeps it in float.
  expect_failure(deep_spec(OpCode::FULLY_CONNECTED, 16, 1, 1, 1e6f, Profile::Qnnpack),
                 QRT_UNSUPPORTED, {"quantized bias of channel 0", "beyond +-2^30"});
  expect_failure(deep_spec(OpCode::CONV_2D, 16, 1, 1, 1e6f, Profile::Qnnpack), QRT_UNSUPPORTED,
                 {"quantized bias of channel 0", "beyond +-2^30"});
  CHECK(qrt::test::run_op(deep_spec(OpCode::FULLY_CONNECTED, 16, 1, 1, 1e6f, Profile::Fbgemm))
            .status == QRT_OK);
  CHECK(qrt::test::run_op(deep_spec(OpCode::FULLY_CONNECTED, 16, 1, 1, 1e3f, Profile::Qnnpack))
            .status == QRT_OK);
}
