// CONCAT, SPLIT, TRANSPOSE, SLICE, PAD, RESIZE, GATHER, CAST and RESHAPE
// through the whole runtime: PyTorch 1.13's fixtures (tests/parity/
// fixtures_layout.py) and the checks prepare and eval make.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/op_runner.h"

namespace fb = qrt::fb;
using qrt::test::OpSpec;
using qrt::test::TensorSpec;

namespace {

fb::OpCode opcode(const std::string& name) {
  static const struct {
    const char* name;
    fb::OpCode code;
  } kCodes[] = {{"CONCAT", fb::OpCode::CONCAT},   {"SPLIT", fb::OpCode::SPLIT},
                {"TRANSPOSE", fb::OpCode::TRANSPOSE}, {"SLICE", fb::OpCode::SLICE},
                {"PAD", fb::OpCode::PAD},         {"RESIZE", fb::OpCode::RESIZE},
                {"GATHER", fb::OpCode::GATHER},   {"CAST", fb::OpCode::CAST},
                {"RESHAPE", fb::OpCode::RESHAPE}};
  for (const auto& c : kCodes)
    if (name == c.name) return c.code;
  FAIL("unknown op " << name);
  return fb::OpCode::ADD;
}

fb::DType dtype(const std::string& npy) {
  if (npy == "f4") return fb::DType::F32;
  if (npy == "u1") return fb::DType::U8;
  if (npy == "i1") return fb::DType::S8;
  if (npy == "i4") return fb::DType::I32;
  if (npy == "i8") return fb::DType::I64;
  FAIL("unexpected npy dtype " << npy);
  return fb::DType::F32;
}

std::vector<int32_t> to_i32(const std::vector<int64_t>& v) {
  return std::vector<int32_t>(v.begin(), v.end());
}

TensorSpec tensor(const qrt::test::Fixture& f, const std::string& key) {
  const qrt::tools::NpyArray a = f.array(key);
  TensorSpec t;
  t.shape = to_i32(a.shape);
  t.dtype = dtype(a.dtype);
  t.data = a.data;
  if (f.has(key + "_scale")) {
    t.quant.scale = {f.f32(key + "_scale")};
    t.quant.zero_point = {f.i64(key + "_zp")};
  }
  t.constant = f.has(key + "_constant") && f.i64(key + "_constant") != 0;
  return t;
}

qrt::convert::OpAttrs options(const qrt::test::Fixture& f, fb::OpCode code) {
  fb::OpOptionsUnion u;
  switch (code) {
    case fb::OpCode::CONCAT: {
      fb::ConcatOptionsT o;
      o.axis = static_cast<int32_t>(f.i64("axis"));
      u.Set(std::move(o));
      break;
    }
    case fb::OpCode::SPLIT: {
      fb::SplitOptionsT o;
      o.axis = static_cast<int32_t>(f.i64("axis"));
      u.Set(std::move(o));
      break;
    }
    case fb::OpCode::GATHER: {
      fb::GatherOptionsT o;
      o.axis = static_cast<int32_t>(f.i64("axis"));
      u.Set(std::move(o));
      break;
    }
    case fb::OpCode::TRANSPOSE: {
      fb::TransposeOptionsT o;
      o.perm = to_i32(f.i64s("perm"));
      u.Set(std::move(o));
      break;
    }
    case fb::OpCode::SLICE: {
      fb::SliceOptionsT o;
      o.begin = to_i32(f.i64s("begin"));
      o.step = to_i32(f.i64s("step"));
      u.Set(std::move(o));
      break;
    }
    case fb::OpCode::PAD: {
      fb::PadOptionsT o;
      o.pads = to_i32(f.i64s("pads"));
      o.mode = static_cast<fb::PadMode>(f.i64("mode"));
      o.value = f.f32("value");
      u.Set(std::move(o));
      break;
    }
    case fb::OpCode::RESIZE: {
      fb::ResizeOptionsT o;
      o.mode = static_cast<fb::ResizeMode>(f.i64("mode"));
      o.coordinate_mode = static_cast<fb::CoordinateMode>(f.i64("coordinate_mode"));
      o.nearest_mode = static_cast<fb::NearestMode>(f.i64("nearest_mode"));
      o.scale_h = f.f32("scale_h");
      o.scale_w = f.f32("scale_w");
      u.Set(std::move(o));
      break;
    }
    default:
      return std::monostate{};
  }
  return u;
}

OpSpec fixture_spec(const qrt::test::Fixture& f, fb::Profile profile) {
  OpSpec spec;
  spec.code = opcode(f.str("op"));
  spec.attrs = options(f, spec.code);
  spec.profile = profile;
  for (int64_t i = 0; i < f.i64("num_inputs"); ++i)
    spec.inputs.push_back(tensor(f, "in" + std::to_string(i)));
  for (int64_t i = 0; i < f.i64("num_outputs"); ++i) {
    TensorSpec t = tensor(f, "out" + std::to_string(i));
    t.data.clear();
    spec.outputs.push_back(t);
  }
  return spec;
}

fb::Profile fixture_profile(const qrt::test::Fixture& f) {
  return f.str("profile") == "fbgemm" ? fb::Profile::Fbgemm : fb::Profile::Qnnpack;
}

// 1e-5 relative, 1e-6 absolute near zero.
bool close_f32(float got, float want) {
  if (std::isnan(want)) return std::isnan(got);
  return std::fabs(got - want) <= std::max(1e-6f, 1e-5f * std::fabs(want));
}

// Counts the elements of out that differ from the fixture's.
// identical (optional) receives how many are bit-identical.
size_t count_mismatches(const qrt::test::Fixture& f, const std::string& key,
                        const std::vector<uint8_t>& out, size_t* elements, bool quiet = false,
                        size_t* identical = nullptr) {
  const qrt::tools::NpyArray want = f.array(key);
  REQUIRE_MESSAGE(out.size() == want.data.size(), f.name << " " << key << ": " << out.size()
                                                         << " bytes, want " << want.data.size());
  size_t bad = 0;
  if (want.dtype == "f4") {
    const auto got = qrt::test::values_of<float>(out), exp = qrt::test::values_of<float>(want.data);
    *elements = exp.size();
    if (identical) *identical = 0;
    for (size_t i = 0; i < exp.size(); ++i) {
      if (identical) *identical += got[i] == exp[i] || (std::isnan(got[i]) && std::isnan(exp[i]));
      if (close_f32(got[i], exp[i])) continue;
      if (++bad <= 3 && !quiet)
        MESSAGE(f.name << " " << key << "[" << i << "] = " << got[i] << ", PyTorch " << exp[i]);
    }
    return bad;
  }
  const size_t size = qrt::tools::npy_itemsize(want.dtype);
  *elements = out.size() / size;
  for (size_t i = 0; i < *elements; ++i) {
    if (std::memcmp(&out[i * size], &want.data[i * size], size) == 0) continue;
    if (++bad <= 3 && !quiet)
      MESSAGE(f.name << " " << key << " element " << i << " differs (byte " << int(out[i * size])
                     << ", PyTorch " << int(want.data[i * size]) << ")");
  }
  if (identical) *identical = *elements - bad;
  return bad;
}

qrt::test::OpResult run(const OpSpec& spec) { return qrt::test::run_op(spec); }

TensorSpec f32_tensor(std::vector<int32_t> shape) {
  TensorSpec t;
  t.shape = std::move(shape);
  size_t n = 1;
  for (int32_t d : t.shape) n *= static_cast<size_t>(d);
  t.data.assign(n * 4, 0);
  return t;
}

TensorSpec u8_tensor(std::vector<int32_t> shape, float scale, int64_t zp) {
  TensorSpec t = f32_tensor(std::move(shape));
  t.dtype = fb::DType::U8;
  t.data.resize(t.data.size() / 4);
  t.quant.scale = {scale};
  t.quant.zero_point = {zp};
  return t;
}

template <class T>
qrt::convert::OpAttrs attrs(T o) {
  fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

void check_fails(const OpSpec& spec, qrt_status status, const char* fragment) {
  const qrt::test::OpResult r = run(spec);
  CHECK(r.status == status);
  CHECK_MESSAGE(r.error.find(fragment) != std::string::npos, "message: " << r.error);
}

}  // namespace

TEST_CASE("layout: PyTorch fixtures through the runtime") {
  const std::vector<qrt::test::Fixture> fixtures = qrt::test::load_fixtures("layout");
  size_t cases = 0, elements = 0, quantized_elements = 0, fbgemm_cases = 0;
  qrt::test::ParityTally tally;
  for (const qrt::test::Fixture& f : fixtures) {
    const OpSpec spec = fixture_spec(f, fixture_profile(f));
    const qrt::test::OpResult r = run(spec);
    REQUIRE_MESSAGE(r.status == QRT_OK, f.name << ": " << r.error);
    REQUIRE(r.outputs.size() == spec.outputs.size());
    const bool quantized = !spec.outputs[0].quant.scale.empty();
    const std::string npy = f.array("out0").dtype;
    std::string key = f.str("op") + " ";
    if (quantized)
      key += std::string("u8 ") + (spec.profile == fb::Profile::Fbgemm ? "fbgemm" : "qnnpack");
    else
      key += (npy == "f4" ? "f32" : npy == "u1" ? "uint8" : npy == "i1" ? "int8"
              : npy == "i4" ? "i32" : "i64") + std::string(" any");
    if (f.str("source") != "pytorch") key += " (" + f.str("source") + " reference)";
    size_t case_elements = 0, case_identical = 0, case_bad = 0;
    for (size_t i = 0; i < r.outputs.size(); ++i) {
      size_t n = 0, same = 0;
      const size_t bad =
          count_mismatches(f, "out" + std::to_string(i), r.outputs[i], &n, false, &same);
      CHECK_MESSAGE(bad == 0, f.name << ": " << bad << " of " << n << " elements differ");
      elements += n;
      if (spec.outputs[i].dtype == fb::DType::U8 && !spec.outputs[i].quant.scale.empty())
        quantized_elements += n;
      case_elements += n;
      case_identical += same;
      case_bad += bad;
    }
    tally.add(key, f.name, case_elements, case_identical, case_elements - case_bad);
    ++cases;
    fbgemm_cases += spec.profile == fb::Profile::Fbgemm;
  }
  MESSAGE("layout fixtures: " << cases << " cases (" << fbgemm_cases << " fbgemm profile), "
                              << elements << " elements (" << quantized_elements
                              << " quantized u8) compared");
  MESSAGE(tally.summary("layout"));
  CHECK(cases >= 100);
}

TEST_CASE("layout: channels-last cat fixtures need the fbgemm form") {
  // The same PyTorch bytes under the qnnpack profile (scalar dequantize)
  // must differ somewhere, or the fbgemm fixtures would prove nothing.
  size_t cases = 0, differing = 0;
  for (const qrt::test::Fixture& f : qrt::test::load_fixtures("layout")) {
    if (f.str("op") != "CONCAT" || fixture_profile(f) != fb::Profile::Fbgemm) continue;
    const qrt::test::OpResult r = run(fixture_spec(f, fb::Profile::Qnnpack));
    REQUIRE(r.status == QRT_OK);
    size_t n = 0;
    differing += count_mismatches(f, "out0", r.outputs[0], &n, true) > 0;
    ++cases;
  }
  CHECK(cases >= 5);
  CHECK(differing >= 3);
}

TEST_CASE("layout: CONCAT checks shapes, dtypes and params") {
  OpSpec spec;
  spec.code = fb::OpCode::CONCAT;
  fb::ConcatOptionsT o;
  o.axis = 1;
  spec.attrs = attrs(o);
  spec.inputs = {f32_tensor({2, 3}), f32_tensor({3, 2})};
  spec.outputs = {f32_tensor({2, 5})};
  check_fails(spec, QRT_INVALID_MODEL, "does not match output");
  spec.inputs[1] = f32_tensor({2, 3});
  check_fails(spec, QRT_INVALID_MODEL, "add up to 6 along axis 1");
  spec.outputs[0] = f32_tensor({2, 6});
  CHECK(run(spec).status == QRT_OK);
  o.axis = 2;
  spec.attrs = attrs(o);
  check_fails(spec, QRT_INVALID_MODEL, "axis 2 is outside rank 2");
  o.axis = -1;  // ONNX: counts from the end
  spec.attrs = attrs(o);
  CHECK(run(spec).status == QRT_OK);
  // u8: inputs may differ from the output in params, but must have some.
  spec.inputs = {u8_tensor({2, 3}, 0.1f, 3), u8_tensor({2, 3}, 0.2f, 9)};
  spec.outputs = {u8_tensor({2, 6}, 0.3f, 0)};
  CHECK(run(spec).status == QRT_OK);
  spec.inputs[1].quant = {};
  check_fails(spec, QRT_INVALID_MODEL, "needs one scale and zero point");
  // Other dtypes must share the output's params.
  spec.inputs = {f32_tensor({2, 3}), u8_tensor({2, 3}, 0.1f, 3)};
  spec.outputs = {f32_tensor({2, 6})};
  check_fails(spec, QRT_INVALID_MODEL, "is u8, expected f32");
}

TEST_CASE("layout: CONCAT of many inputs, one of them repeated") {
  // cat([x, x, ..., y]) along axis 0: 9 inputs.
  OpSpec spec;
  spec.code = fb::OpCode::CONCAT;
  fb::ConcatOptionsT o;
  o.axis = 0;
  spec.attrs = attrs(o);
  for (int i = 0; i < 9; ++i) {
    TensorSpec t;
    t.shape = {1, 2};
    t.dtype = fb::DType::I64;
    t.data = qrt::test::bytes_of(std::vector<int64_t>{i, -i});
    spec.inputs.push_back(t);
  }
  TensorSpec out;
  out.shape = {9, 2};
  out.dtype = fb::DType::I64;
  spec.outputs = {out};
  const qrt::test::OpResult r = run(spec);
  REQUIRE(r.status == QRT_OK);
  const auto v = qrt::test::values_of<int64_t>(r.outputs[0]);
  for (int i = 0; i < 9; ++i) {
    CHECK(v[2 * i] == i);
    CHECK(v[2 * i + 1] == -i);
  }
}

TEST_CASE("layout: SPLIT checks the outputs against the input") {
  OpSpec spec;
  spec.code = fb::OpCode::SPLIT;
  fb::SplitOptionsT o;
  o.axis = 0;
  spec.attrs = attrs(o);
  spec.inputs = {u8_tensor({4, 2}, 0.5f, 1)};
  spec.outputs = {u8_tensor({1, 2}, 0.5f, 1), u8_tensor({2, 2}, 0.5f, 1)};
  check_fails(spec, QRT_INVALID_MODEL, "outputs add up to 3 along axis 0");
  spec.outputs.push_back(u8_tensor({1, 2}, 0.25f, 1));
  check_fails(spec, QRT_INVALID_MODEL, "must share one scale and zero point");
  spec.outputs[2] = u8_tensor({1, 2}, 0.5f, 1);
  spec.inputs[0].data = {1, 2, 3, 4, 5, 6, 7, 8};
  const qrt::test::OpResult r = run(spec);
  REQUIRE(r.status == QRT_OK);
  CHECK(r.outputs[0] == std::vector<uint8_t>{1, 2});
  CHECK(r.outputs[1] == std::vector<uint8_t>{3, 4, 5, 6});
  CHECK(r.outputs[2] == std::vector<uint8_t>{7, 8});
}

TEST_CASE("layout: TRANSPOSE needs a permutation that gives the output shape") {
  OpSpec spec;
  spec.code = fb::OpCode::TRANSPOSE;
  fb::TransposeOptionsT o;
  o.perm = {0, 0, 1};
  spec.attrs = attrs(o);
  spec.inputs = {f32_tensor({2, 3, 4})};
  spec.outputs = {f32_tensor({4, 2, 3})};
  check_fails(spec, QRT_INVALID_MODEL, "not a permutation");
  o.perm = {2, 0};
  spec.attrs = attrs(o);
  check_fails(spec, QRT_INVALID_MODEL, "perm has 2 entries");
  o.perm = {2, 1, 0};
  spec.attrs = attrs(o);
  check_fails(spec, QRT_INVALID_MODEL, "permuted does not give output");
  o.perm = {2, 0, 1};
  spec.attrs = attrs(o);
  CHECK(run(spec).status == QRT_OK);
}

TEST_CASE("layout: SLICE rejects reads outside the input") {
  OpSpec spec;
  spec.code = fb::OpCode::SLICE;
  fb::SliceOptionsT o;
  o.begin = {0, 4};
  o.step = {1, -2};
  spec.attrs = attrs(o);
  spec.inputs = {f32_tensor({2, 5})};
  spec.outputs = {f32_tensor({2, 3})};
  CHECK(run(spec).status == QRT_OK);  // columns 4, 2, 0
  spec.outputs = {f32_tensor({2, 4})};
  check_fails(spec, QRT_INVALID_MODEL, "axis 1: 4 elements from 4 in steps of -2 leave [0, 5)");
  o.step = {1, 0};
  spec.attrs = attrs(o);
  spec.outputs = {f32_tensor({2, 1})};
  check_fails(spec, QRT_INVALID_MODEL, "in steps of 0");
  o.begin = {-1, 0};
  o.step = {1, 1};
  spec.attrs = attrs(o);
  check_fails(spec, QRT_INVALID_MODEL, "axis 0");
  o.begin = {0};
  spec.attrs = attrs(o);
  check_fails(spec, QRT_INVALID_MODEL, "begin has 1 and step 2 entries");
}

TEST_CASE("layout: PAD checks pads, modes and the constant") {
  OpSpec spec;
  spec.code = fb::OpCode::PAD;
  fb::PadOptionsT o;
  o.pads = {0, 3, 0, 1};
  o.mode = fb::PadMode::REFLECT;
  spec.attrs = attrs(o);
  spec.inputs = {f32_tensor({2, 3})};
  spec.outputs = {f32_tensor({2, 7})};
  check_fails(spec, QRT_INVALID_MODEL, "must be smaller than its size 3");
  o.mode = fb::PadMode::EDGE;
  spec.attrs = attrs(o);
  CHECK(run(spec).status == QRT_OK);
  spec.outputs = {f32_tensor({2, 6})};
  check_fails(spec, QRT_INVALID_MODEL, "is not output");
  o.pads = {0, 3};
  spec.attrs = attrs(o);
  check_fails(spec, QRT_INVALID_MODEL, "pads has 2 entries, expected 4");
  // A plain integer tensor pads with an integer only.
  o.pads = {1, 0, 0, 0};
  o.mode = fb::PadMode::CONSTANT;
  o.value = 2.5f;
  spec.attrs = attrs(o);
  TensorSpec in, out;
  in.shape = {1, 2};
  in.dtype = out.dtype = fb::DType::I32;
  in.data = qrt::test::bytes_of(std::vector<int32_t>{5, 6});
  out.shape = {2, 2};
  spec.inputs = {in};
  spec.outputs = {out};
  check_fails(spec, QRT_INVALID_MODEL, "pad value 2.5 is not a i32");
  o.value = -3.f;
  spec.attrs = attrs(o);
  const qrt::test::OpResult r = run(spec);
  REQUIRE(r.status == QRT_OK);
  CHECK(qrt::test::values_of<int32_t>(r.outputs[0]) == std::vector<int32_t>{-3, -3, 5, 6});
}

TEST_CASE("layout: PAD of u8 writes quantize(value) with the tensor's params") {
  // scale 0.5, zp 10: value 1.25 -> 2.5 -> 2 (even) -> 12; -100 -> 0.
  OpSpec spec;
  spec.code = fb::OpCode::PAD;
  fb::PadOptionsT o;
  o.pads = {1, 1};
  o.value = 1.25f;
  spec.attrs = attrs(o);
  spec.inputs = {u8_tensor({1}, 0.5f, 10)};
  spec.inputs[0].data = {77};
  spec.outputs = {u8_tensor({3}, 0.5f, 10)};
  qrt::test::OpResult r = run(spec);
  REQUIRE(r.status == QRT_OK);
  CHECK(r.outputs[0] == std::vector<uint8_t>{12, 77, 12});
  o.value = -100.f;
  spec.attrs = attrs(o);
  r = run(spec);
  REQUIRE(r.status == QRT_OK);
  CHECK(r.outputs[0] == std::vector<uint8_t>{0, 77, 0});
  spec.outputs = {u8_tensor({3}, 0.25f, 10)};
  check_fails(spec, QRT_INVALID_MODEL, "must share one scale and zero point");
}

TEST_CASE("layout: RESIZE checks ranks, dtypes and scales") {
  OpSpec spec;
  spec.code = fb::OpCode::RESIZE;
  fb::ResizeOptionsT o;
  o.mode = fb::ResizeMode::BILINEAR;
  spec.attrs = attrs(o);
  spec.inputs = {f32_tensor({1, 2, 2, 3})};
  spec.outputs = {f32_tensor({1, 4, 4, 2})};
  check_fails(spec, QRT_INVALID_MODEL, "differ outside H and W");
  spec.outputs = {f32_tensor({1, 4, 4, 3})};
  CHECK(run(spec).status == QRT_OK);
  o.scale_h = -2.f;
  spec.attrs = attrs(o);
  check_fails(spec, QRT_INVALID_MODEL, "must be finite and >= 0");
  o.scale_h = 2.f;
  o.coordinate_mode = static_cast<fb::CoordinateMode>(9);
  spec.attrs = attrs(o);
  check_fails(spec, QRT_UNSUPPORTED, "coordinate mode 9");
  o.coordinate_mode = fb::CoordinateMode::HALF_PIXEL;
  spec.attrs = attrs(o);
  TensorSpec in, out;
  in.shape = {1, 2, 2, 1};
  out.shape = {1, 4, 4, 1};
  in.dtype = out.dtype = fb::DType::I32;
  in.data = qrt::test::bytes_of(std::vector<int32_t>{1, 2, 3, 4});
  spec.inputs = {in};
  spec.outputs = {out};
  check_fails(spec, QRT_UNSUPPORTED, "bilinear resize of i32");
  o.mode = fb::ResizeMode::NEAREST;
  o.coordinate_mode = fb::CoordinateMode::ASYMMETRIC;
  o.nearest_mode = fb::NearestMode::FLOOR;
  spec.attrs = attrs(o);
  const qrt::test::OpResult r = run(spec);
  REQUIRE(r.status == QRT_OK);
  CHECK(qrt::test::values_of<int32_t>(r.outputs[0]) ==
        std::vector<int32_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  spec.inputs[0].shape = {1, 4, 1};
  check_fails(spec, QRT_INVALID_MODEL, "expected rank 4");
}

TEST_CASE("layout: GATHER checks constant indices at prepare, others at invoke") {
  OpSpec spec;
  spec.code = fb::OpCode::GATHER;
  fb::GatherOptionsT o;
  o.axis = 0;
  spec.attrs = attrs(o);
  TensorSpec data = u8_tensor({3, 2}, 0.1f, 0);
  data.data = {1, 2, 3, 4, 5, 6};
  TensorSpec idx;
  idx.shape = {2};
  idx.dtype = fb::DType::I32;
  idx.data = qrt::test::bytes_of(std::vector<int32_t>{-1, 3});
  spec.inputs = {data, idx};
  spec.outputs = {u8_tensor({2, 2}, 0.1f, 0)};
  check_fails(spec, QRT_RUNTIME, "indices 'in1'[1] = 3 is outside [-3, 3)");
  spec.inputs[1].constant = true;
  check_fails(spec, QRT_INVALID_MODEL, "indices 'in1'[1] = 3 is outside [-3, 3)");
  spec.inputs[1].data = qrt::test::bytes_of(std::vector<int32_t>{-1, 0});
  qrt::test::OpResult r = run(spec);
  REQUIRE(r.status == QRT_OK);
  CHECK(r.outputs[0] == std::vector<uint8_t>{5, 6, 1, 2});
  // A scalar index drops the axis: data (3, 2)[-2] is row 1.
  spec.inputs[1].shape = {};
  spec.inputs[1].data = qrt::test::bytes_of(std::vector<int32_t>{-2});
  spec.outputs = {u8_tensor({2}, 0.1f, 0)};
  r = run(spec);
  REQUIRE(r.status == QRT_OK);
  CHECK(r.outputs[0] == std::vector<uint8_t>{3, 4});
  spec.outputs = {u8_tensor({1, 2}, 0.1f, 0)};
  check_fails(spec, QRT_INVALID_MODEL, "is not output");
  spec.outputs = {u8_tensor({2}, 0.1f, 0)};
  spec.inputs[1].dtype = fb::DType::U8;
  spec.inputs[1].data.resize(1);
  check_fails(spec, QRT_INVALID_MODEL, "expected plain i32 or i64");
}

TEST_CASE("layout: CAST refuses quantized tensors") {
  OpSpec spec;
  spec.code = fb::OpCode::CAST;
  spec.inputs = {u8_tensor({3}, 0.1f, 0)};
  spec.outputs = {f32_tensor({3})};
  check_fails(spec, QRT_INVALID_MODEL, "CAST converts plain numbers");
  spec.inputs[0].quant = {};
  spec.inputs[0].data = {0, 7, 255};
  const qrt::test::OpResult r = run(spec);
  REQUIRE(r.status == QRT_OK);
  CHECK(qrt::test::values_of<float>(r.outputs[0]) == std::vector<float>{0.f, 7.f, 255.f});
  spec.outputs = {f32_tensor({1, 3})};
  check_fails(spec, QRT_INVALID_MODEL, "differs from");
}

TEST_CASE("layout: every op refuses zero-size dimensions before prepare") {
  const auto n = qrt::test::check_zero_dims_refused(
      qrt::test::load_fixtures("layout"),
      [](const qrt::test::Fixture& f) { return f.str("op") + f.array("out0").dtype; },
      [](const qrt::test::Fixture& f) { return fixture_spec(f, fixture_profile(f)); });
  MESSAGE("layout: " << n.first << " op/dtype pairs, " << n.second << " zero-size variants refused");
}
