// qrt-convert on PyTorch 1.13 export idioms (tests/parity/make_torch_exports.py,
// data in tests/data/converter/torch_exports/): nn.SiLU's Sigmoid + Mul
// fused into one SILU (float in every mode, as PyTorch runs it), F.pad's
// run-time pads chain at opsets 11 and 13 folded to constants, --mode static
// calibrated on int64/int32 token ids, and the size report naming what the
// written model holds.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>

#include "converter/calibration.h"
#include "converter/convert_cli.h"
#include "converter/passes.h"
#include "npy.h"
#include "qrt/schema/qrt_generated.h"
#include "support/converted_model.h"
#include "support/tool_command.h"

#include "exported_models.h"

namespace qrt::convert {
namespace {

using fb::OpCode;
using test::only_op;
using test::op_counts;

std::string data(const std::string& rel) {
  return std::string(QRT_TEST_DATA_DIR) + "/converter/torch_exports/" + rel;
}

tools::NpyArray array(const std::string& file) { return test::npz_single(data(file)); }

std::vector<uint8_t> convert_fp32(const std::string& model) { return test::convert_fp32(data(model + ".onnx")).model; }

// qrt-convert's command line in process; the written model's bytes.
std::vector<uint8_t> convert_cli(const test::TempDir& tmp, const std::string& model,
                                 const std::vector<std::string>& extra) {
  const std::string out = tmp.file(model + ".qrt");
  std::vector<std::string> args = {"qrt-convert", data(model + ".onnx"), "-o", out, "-q"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  REQUIRE(qrt_convert_main(static_cast<int>(argv.size()), argv.data()) == 0);
  const std::string bytes = test::slurp_text(out);
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

// Against PyTorch's fp32 output: the largest |got - want| / |want|, or with
// `of_range` the largest |got - want| / max |want| (for int8 models).
double worst_relative(const std::vector<uint8_t>& model, const std::string& name, bool of_range = false) {
  const std::vector<float> got = test::run_model(model, array(name + "_in.npz"));
  const tools::NpyArray want_a = array(name + "_fp32.npz");
  std::vector<float> want(want_a.data.size() / 4);
  std::memcpy(want.data(), want_a.data.data(), want_a.data.size());
  REQUIRE(got.size() == want.size());
  double range = 0, worst = 0;
  for (float w : want) range = std::max(range, std::fabs(double{w}));
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(double{got[i]} - want[i]), ref = of_range ? range : std::fabs(double{want[i]});
    worst = std::max(worst, ref == 0 ? d : d / ref);
  }
  return worst;
}

fb::DType dtype_of(const std::vector<uint8_t>& model, const fb::Operator* op, bool output) {
  const fb::SubGraph* sg = fb::GetModel(model.data())->subgraphs()->Get(0);
  const auto t = (output ? op->outputs() : op->inputs())->Get(0);
  return sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(t))->dtype();
}

TEST_CASE("nn.SiLU / F.silu exported as Sigmoid + Mul (either order) is one SILU within 1e-6 of PyTorch") {
  for (const std::string m : {"silu_module", "silu_functional", "silu_sigmoid_first", "silu_conv"}) {
    INFO("model " << m);
    const std::vector<uint8_t> model = convert_fp32(m);
    auto ops = op_counts(model);
    CHECK(ops[OpCode::SILU] == 1);
    CHECK(ops.count(OpCode::SIGMOID) == 0);
    CHECK(ops.count(OpCode::MUL) == 0);
    // silu_conv's convolutions sum in another order than PyTorch's.
    CHECK(worst_relative(model, m, m == "silu_conv") <= (m == "silu_conv" ? 1e-5 : 1e-6));
  }
  // The Sigmoid is read again: fusing would lose it.
  const std::vector<uint8_t> shared = convert_fp32("silu_shared");
  auto ops = op_counts(shared);
  CHECK(ops.count(OpCode::SILU) == 0);
  CHECK(ops[OpCode::SIGMOID] == 1);
  CHECK(ops[OpCode::MUL] == 1);
  CHECK(worst_relative(shared, "silu_shared") <= 1e-6);
}

TEST_CASE("nn.Hardswish exported as HardSigmoid + Mul is one HARD_SWISH: float within 1e-6, QDQ on the int8 tensor") {
  for (const std::string m : {"hardswish_module", "hardswish_mul_first"}) {
    INFO("model " << m);
    const std::vector<uint8_t> model = convert_fp32(m);
    auto ops = op_counts(model);
    CHECK(ops[OpCode::HARD_SWISH] == 1);
    CHECK(ops.count(OpCode::HARD_SIGMOID) == 0);
    CHECK(ops.count(OpCode::MUL) == 0);
    CHECK(worst_relative(model, m) <= 1e-6);
  }
  // The HardSigmoid is read again: fusing would lose it.
  const std::vector<uint8_t> shared = convert_fp32("hardswish_shared");
  auto ops = op_counts(shared);
  CHECK(ops.count(OpCode::HARD_SWISH) == 0);
  CHECK(ops[OpCode::HARD_SIGMOID] == 1);
  CHECK(worst_relative(shared, "hardswish_shared") <= 1e-6);

  // PyTorch's quantized::hardswish, exported as DequantizeLinear, HardSigmoid,
  // Mul, QuantizeLinear: one u8 HARD_SWISH (a table), and PyTorch's bytes.
  test::TempDir tmp("qrt-torch-exports");
  const std::vector<uint8_t> qdq = convert_cli(tmp, "hardswish_qdq", {});
  ops = op_counts(qdq);
  CHECK(ops[OpCode::HARD_SWISH] == 1);
  CHECK(ops.count(OpCode::HARD_SIGMOID) == 0);
  CHECK(ops.count(OpCode::MUL) == 0);
  CHECK(ops[OpCode::DEQUANTIZE] == 1);  // the model's float output
  CHECK(dtype_of(qdq, only_op(qdq, OpCode::HARD_SWISH), false) == fb::DType::U8);
  const std::vector<float> got = test::run_model(qdq, array("hardswish_qdq_in.npz"));
  tools::NpyArray want;
  std::string error;
  REQUIRE(tools::read_npy(data("hardswish_qdq_q.npy"), &want, &error));
  float scale = 0;
  int zp = 0;
  REQUIRE(std::sscanf(test::slurp_text(data("hardswish_qdq_qparams.txt")).c_str(), "%g %d", &scale, &zp) == 2);
  REQUIRE(got.size() == want.data.size());
  size_t same = 0;
  for (size_t i = 0; i < got.size(); ++i) same += std::lrint(got[i] / scale) + zp == want.data[i];
  CHECK(same == got.size());
}

TEST_CASE("SILU stays float between DEQUANTIZE and QUANTIZE in --mode static and float in --mode dynamic") {
  test::TempDir tmp("qrt-torch-exports");
  // PyTorch eager has no quantized SiLU: the convs run u8 around a float SiLU.
  const std::vector<uint8_t> st =
      convert_cli(tmp, "silu_conv", {"--mode", "static", "--calib", data("silu_conv_in.npz")});
  auto ops = op_counts(st);
  CHECK(ops[OpCode::SILU] == 1);
  CHECK(ops.count(OpCode::SIGMOID) == 0);
  CHECK(ops.count(OpCode::MUL) == 0);
  CHECK(ops[OpCode::DEQUANTIZE] >= 1);
  CHECK(ops[OpCode::QUANTIZE] >= 1);
  const fb::Operator* silu = only_op(st, OpCode::SILU);
  CHECK(dtype_of(st, silu, false) == fb::DType::F32);
  CHECK(dtype_of(st, silu, true) == fb::DType::F32);
  for (const fb::Operator* op : *fb::GetModel(st.data())->subgraphs()->Get(0)->operators())
    if (op->opcode() == OpCode::CONV_2D) CHECK(dtype_of(st, op, false) == fb::DType::U8);
  CHECK(worst_relative(st, "silu_conv", true) < 0.05);

  const std::vector<uint8_t> dyn = convert_cli(tmp, "silu_linear", {"--mode", "dynamic"});
  ops = op_counts(dyn);
  CHECK(ops[OpCode::SILU] == 1);
  CHECK(ops[OpCode::FULLY_CONNECTED] == 2);
  const fb::Operator* s = only_op(dyn, OpCode::SILU);
  CHECK(dtype_of(dyn, s, false) == fb::DType::F32);
  CHECK(worst_relative(dyn, "silu_linear", true) < 0.05);
}

TEST_CASE("F.pad at opsets 11 and 13: the run-time pads chain folds and the Pad matches PyTorch") {
  for (const char* mode : {"constant", "reflect", "replicate"})
    for (const char* opset : {"11", "13"}) {
      const std::string m = std::string("pad_") + mode + opset;
      INFO("model " << m);
      const std::vector<uint8_t> model = convert_fp32(m);
      auto ops = op_counts(model);
      CHECK(ops[OpCode::PAD] == 1);
      CHECK(ops.size() == 1);
      CHECK(worst_relative(model, m) == 0);
    }
}

// Slice and Transpose of constants against hand-computed ONNX results.
Value ints(const std::string& name, std::vector<int64_t> shape, const std::vector<int64_t>& v) {
  Value c;
  c.name = name;
  c.type = ElemType::i64;
  c.shape = std::move(shape);
  c.is_constant = true;
  c.data.resize(v.size() * 8);
  std::memcpy(c.data.data(), v.data(), c.data.size());
  return c;
}

std::vector<int64_t> fold(const std::string& op, const std::vector<Value>& inputs, std::vector<int64_t> out_shape,
                          std::map<std::string, Attribute> attrs = {}) {
  Graph g;
  Node n;
  n.op = op;
  n.attrs = std::move(attrs);
  for (const Value& v : inputs) n.inputs.push_back(v.name.empty() ? -1 : g.add_value(v));
  Value out;
  out.type = ElemType::i64;
  out.shape = std::move(out_shape);
  if (!fold_node(g, n, &out)) return {-999};
  return std::vector<int64_t>(out.as<int64_t>(), out.as<int64_t>() + out.elements());
}

TEST_CASE("fold_node: Slice on any axes with negative steps and clamping, Transpose with perm") {
  // x = [[0 1 2 3] [4 5 6 7] [8 9 10 11]]
  const Value x = ints("x", {3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  // F.pad's chain: x[::-1] on axis 0 (start -1, end -huge, step -1).
  CHECK(fold("Slice", {x, ints("s", {1}, {-1}), ints("e", {1}, {kMin + 1}), ints("a", {1}, {0}), ints("t", {1}, {-1})},
             {3, 4}) == std::vector<int64_t>{8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3});
  // Two axes, negative axis, steps 2 and -2, ends clamped.
  CHECK(fold("Slice", {x, ints("s", {2}, {0, kMax}), ints("e", {2}, {kMax, 0}), ints("a", {2}, {0, -1}),
                       ints("t", {2}, {2, -2})},
             {2, 2}) == std::vector<int64_t>{3, 1, 11, 9});
  // Axes absent: the leading ones; steps absent: 1.
  CHECK(fold("Slice", {x, ints("s", {2}, {1, -3}), ints("e", {2}, {2, -1})}, {1, 2}) == std::vector<int64_t>{5, 6});
  // Empty result, and a step longer than the axis.
  CHECK(fold("Slice", {x, ints("s", {1}, {2}), ints("e", {1}, {1}), ints("a", {1}, {1})}, {3, 0}).empty());
  CHECK(fold("Slice", {x, ints("s", {1}, {-1}), ints("e", {1}, {kMin}), ints("a", {1}, {1}), ints("t", {1}, {kMin})},
             {3, 1}) == std::vector<int64_t>{3, 7, 11});
  // A repeated axis or a zero step is not a valid Slice.
  CHECK(fold("Slice", {x, ints("s", {2}, {0, 0}), ints("e", {2}, {1, 1}), ints("a", {2}, {1, 1})}, {3, 1}) ==
        std::vector<int64_t>{-999});
  CHECK(fold("Slice", {x, ints("s", {1}, {0}), ints("e", {1}, {1}), ints("a", {1}, {0}), ints("t", {1}, {0})},
             {1, 4}) == std::vector<int64_t>{-999});
  // An output shape that disagrees with the slice is not folded.
  CHECK(fold("Slice", {x, ints("s", {1}, {0}), ints("e", {1}, {2})}, {1, 4}) == std::vector<int64_t>{-999});

  CHECK(fold("Transpose", {x}, {4, 3}) == std::vector<int64_t>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  const Value y = ints("y", {2, 1, 3}, {0, 1, 2, 3, 4, 5});
  Attribute perm;
  perm.kind = Attribute::Kind::ints;
  perm.ints = {2, 0, 1};
  CHECK(fold("Transpose", {y}, {3, 2, 1}, {{"perm", perm}}) == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
  perm.ints = {0, 0, 1};
  CHECK(fold("Transpose", {y}, {2, 2, 1}, {{"perm", perm}}) == std::vector<int64_t>{-999});
}

void save_npy(const std::string& path, const std::string& dtype, std::vector<int64_t> shape, size_t item) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  tools::NpyArray a{dtype, std::move(shape), std::vector<uint8_t>(n * item, 0)};
  std::string error;
  REQUIRE_MESSAGE(tools::write_npy(path, a, &error), error);
}

TEST_CASE("--mode static calibrates models with int64 or int32 inputs on integer .npy files") {
  test::TempDir tmp("qrt-torch-exports");
  for (const std::string m : {"embed_linear", "embed_linear_i32"}) {
    INFO("model " << m);
    const std::vector<uint8_t> model = convert_cli(tmp, m, {"--mode", "static", "--calib", data(m + "_in.npz")});
    auto ops = op_counts(model);
    CHECK(ops[OpCode::GATHER] == 1);
    const fb::Operator* fc = only_op(model, OpCode::FULLY_CONNECTED);
    CHECK(dtype_of(model, fc, false) == fb::DType::U8);
    CHECK(worst_relative(model, m, true) < 0.05);
  }
  // Wrong dtype or shape: refused naming the file and the input.
  const std::vector<CalibInput> ids = {{"x", {1, 6}, "i8"}};
  CalibrationSet set;
  std::string error;
  CHECK_FALSE(open_calibration({data("embed_linear_calib_i32.npy")}, ids, 0, &set, &error));
  CHECK(error.find("embed_linear_calib_i32.npy") != std::string::npos);
  CHECK(error.find("input 'x'") != std::string::npos);
  CHECK(error.find("int32, expected int64") != std::string::npos);
  const std::string floats = tmp.file("floats.npy"), wide = tmp.file("wide.npy");
  save_npy(floats, "f4", {4, 6}, 4);
  save_npy(wide, "i8", {4, 7}, 8);
  CHECK_FALSE(open_calibration({floats}, ids, 0, &set, &error));
  CHECK(error.find("floats.npy: input 'x': dtype is float32, expected int64") != std::string::npos);
  CHECK_FALSE(open_calibration({wide}, ids, 0, &set, &error));
  CHECK(error.find("wide.npy: input 'x': shape") != std::string::npos);
  // Batches carry the ids as they are.
  REQUIRE_MESSAGE(open_calibration({data("embed_linear_calib.npy")}, ids, 3, &set, &error), error);
  REQUIRE(set.batches() == 2);
  CalibBatch b;
  REQUIRE_MESSAGE(read_calibration_batch(set, 1, &b, &error), error);
  CHECK(b.batch == 1);
  CHECK(b.inputs[0].empty());
  std::string read_error;
  tools::NpyArray all;
  REQUIRE(tools::read_npy(data("embed_linear_calib.npy"), &all, &read_error));
  REQUIRE(b.integers[0].size() == 6 * 8);
  CHECK(std::memcmp(b.integers[0].data(), all.data.data() + 3 * 6 * 8, 6 * 8) == 0);
}

// The "size" object of --report-json: {fp32_bytes, model_bytes, model_kind}.
struct Sizes {
  long long fp32 = -1, model = -1;
  std::string kind;
};

Sizes report_sizes(const test::TempDir& tmp, const std::string& onnx, std::vector<std::string> extra) {
  const std::string json = tmp.file("report.json");
  std::vector<std::string> args = {"qrt-convert", onnx, "-o", tmp.file("m.qrt"), "-q", "--report-json", json};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  REQUIRE(qrt_convert_main(static_cast<int>(argv.size()), argv.data()) == 0);
  const std::string text = test::slurp_text(json);
  auto number = [&](const std::string& key) {
    const size_t at = text.find("\"" + key + "\": ");
    return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + key.size() + 4);
  };
  Sizes s{number("fp32_bytes"), number("model_bytes"), ""};
  const std::string key = "\"model_kind\": \"";
  const size_t at = text.find(key);
  if (at != std::string::npos) s.kind = text.substr(at + key.size(), text.find('"', at + key.size()) - at - key.size());
  return s;
}

TEST_CASE("the size report labels the written model by what it holds, in every mode") {
  test::TempDir tmp("qrt-torch-exports");
  // A QDQ model converts to int8 with --mode left at fp32.
  const std::string qdq = data("qdq_linear.onnx");
  Sizes s = report_sizes(tmp, qdq, {});
  CHECK(s.kind == "QDQ int8");
  CHECK(s.fp32 > s.model);
  s = report_sizes(tmp, data("silu_linear.onnx"), {});
  CHECK(s.kind == "fp32");
  CHECK(s.fp32 == s.model);
  const long long fp32 = s.fp32;
  s = report_sizes(tmp, data("silu_linear.onnx"), {"--mode", "dynamic"});
  CHECK(s.kind == "int8 dynamic");
  CHECK(s.fp32 == fp32);
  CHECK(s.model > 0);
  s = report_sizes(tmp, data("embed_linear.onnx"), {"--mode", "static", "--calib", data("embed_linear_calib.npy")});
  CHECK(s.kind == "int8 static");
  CHECK(s.model > 0);
  // --mode dynamic with nothing to quantize writes an fp32 model.
  s = report_sizes(tmp, data("silu_module.onnx"), {"--mode", "dynamic"});
  CHECK(s.kind == "fp32");

  // The printed line says the same.
  const std::vector<std::string> command = {QRT_CONVERT_COMMAND};
  const test::ToolResult r = test::run_tool(command, {qdq, "-o", tmp.file("q.qrt")}, tmp);
  REQUIRE(r.code == 0);
  CHECK(r.out.find(" -> QDQ int8 ") != std::string::npos);
}

}  // namespace
}  // namespace qrt::convert
