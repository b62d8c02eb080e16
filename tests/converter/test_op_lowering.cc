// qrt-convert on single ops and exported op patterns against PyTorch 1.13
// (tests/parity/make_op_models.py, data in tests/data/converter/ops/),
// converted fp32: what each lowers to (decomposed LayerNorm and GELU fused,
// a zero Pad folded into AveragePool or Conv, MatMul + Add one FC) and the
// outputs within 1e-5 of PyTorch's. Unsupported forms fail naming the node.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "converter/calibration.h"
#include "converter/convert_cli.h"
#include "converter/lower.h"
#include "converter/onnx_import.h"
#include "converter/passes.h"
#include "npy.h"
#include "qrt/schema/qrt_generated.h"
#include "support/converted_model.h"
#include "support/tool_command.h"

#include "exported_models.h"

namespace qrt::convert {
namespace {

using test::only_op;
using test::op_counts;

std::string data(const std::string& rel) { return std::string(QRT_TEST_DATA_DIR) + "/converter/ops/" + rel; }

tools::NpyArray array(const std::string& file) { return test::npz_single(data(file)); }

LowerResult convert(const std::string& model) { return test::convert_fp32(data(model + ".onnx")); }

// Converts `model`, checks its outputs against PyTorch's within 1e-5
// (relative above 1) and returns its op counts.
std::map<fb::OpCode, int> check_parity(const std::string& model) {
  INFO("model " << model);
  const LowerResult r = convert(model);
  const std::vector<float> got = test::run_model(r.model, array(model + "_in.npz"));
  const tools::NpyArray want_a = array(model + "_fp32.npz");
  std::vector<float> want(want_a.data.size() / 4);
  std::memcpy(want.data(), want_a.data.data(), want_a.data.size());
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::fabs(double{got[i]} - want[i]) / std::max(1.0, std::fabs(double{want[i]})));
  CHECK(worst <= 1e-5);
  return op_counts(r.model);
}

using fb::OpCode;

TEST_CASE("decomposed LayerNorm and GELU exports fuse into one op each") {
  for (const char* m : {"layernorm_affine", "layernorm_plain"}) {
    auto ops = check_parity(m);
    CHECK(ops[OpCode::LAYER_NORM] == 1);
    CHECK(ops.size() == 1);
  }
  for (const char* m : {"gelu_erf", "gelu_tanh"}) {
    auto ops = check_parity(m);
    CHECK(ops[OpCode::GELU] == 1);
    CHECK(ops.size() == 1);
  }
}

TEST_CASE("ReduceMean/Max/Sum lower with axes as attribute (opset 11) or input (ReduceSum, opset 13)") {
  auto ops = check_parity("reduce13");
  CHECK(ops[OpCode::REDUCE_MEAN] == 1);
  CHECK(ops[OpCode::REDUCE_MAX] == 1);
  CHECK(ops[OpCode::REDUCE_SUM] == 1);
  ops = check_parity("reduce11");
  CHECK(ops[OpCode::REDUCE_MEAN] == 1);
  CHECK(ops[OpCode::GATHER] == 1);
}

TEST_CASE("Pad lowers in constant, reflect and edge modes; a zero Pad folds into AveragePool and Conv") {
  auto ops = check_parity("pad_modes");
  CHECK(ops[OpCode::PAD] == 3);
  ops = check_parity("pad9");
  CHECK(ops[OpCode::PAD] == 1);
  for (const char* m : {"avgpool_pad", "pad_conv"}) {
    ops = check_parity(m);
    CHECK(ops.count(OpCode::PAD) == 0);
  }
}

TEST_CASE("a folded zero Pad becomes the pool's counted padding and the int8 conv's padding") {
  const LowerResult lowered = convert("avgpool_pad");
  const fb::Pool2DOptions* pool = only_op(lowered.model, OpCode::AVG_POOL_2D)->options_as_Pool2DOptions();
  CHECK(pool->count_include_pad());
  CHECK(pool->pad_top() == 1);
  CHECK(pool->pad_right() == 1);
  // --mode static: the conv runs u8 on the unpadded input, padding with its
  // zero point as PyTorch's quantized conv does.
  test::TempDir tmp("qrt-op-lowering");
  const std::string out = tmp.file("pad_conv.qrt");
  const std::vector<std::string> args = {"qrt-convert", data("pad_conv.onnx"), "-o", out, "--mode", "static",
                                         "--calib", data("pad_conv_in.npz")};
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  REQUIRE(qrt_convert_main(static_cast<int>(argv.size()), argv.data()) == 0);
  const std::string bytes = test::slurp_text(out);
  const std::vector<uint8_t> model(bytes.begin(), bytes.end());
  const fb::SubGraph* sg = fb::GetModel(model.data())->subgraphs()->Get(0);
  const fb::Operator* conv = only_op(model, OpCode::CONV_2D);
  CHECK(sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(conv->inputs()->Get(0)))->dtype() == fb::DType::U8);
  const fb::Conv2DOptions* o = conv->options_as_Conv2DOptions();
  CHECK(o->pad_top() == 2);
  CHECK(o->pad_left() == 1);
  CHECK(o->pad_bottom() == 0);
  CHECK(o->pad_right() == 1);
  CHECK(op_counts(model).count(OpCode::PAD) == 0);
}

TEST_CASE("Gather (Embedding), Split, Cast, Resize/Upsample and ConvTranspose lower to their runtime ops") {
  CHECK(check_parity("embedding")[OpCode::GATHER] == 1);
  for (const char* m : {"split13", "split11"}) CHECK(check_parity(m)[OpCode::SPLIT] == 1);
  CHECK(check_parity("cast")[OpCode::CAST] == 2);
  for (const char* m : {"resize_nearest", "resize_linear", "resize_corners", "upsample9"})
    CHECK(check_parity(m)[OpCode::RESIZE] == 1);
  for (const char* m : {"conv_transpose", "conv_transpose_sized", "conv_transpose_shape"})
    CHECK(check_parity(m)[OpCode::TRANSPOSE_CONV_2D] == 1);
}

TEST_CASE("reduce, split and pad work on a Conv's NHWC output without transposing it back") {
  auto ops = check_parity("conv_reduce");
  CHECK(ops[OpCode::REDUCE_MEAN] == 1);
  CHECK(ops[OpCode::REDUCE_MAX] == 1);
  CHECK(ops[OpCode::REDUCE_SUM] == 1);
  CHECK(ops[OpCode::TRANSPOSE] == 1);  // the input's, to NHWC
  ops = check_parity("conv_split");
  CHECK(ops[OpCode::SPLIT] == 1);
  CHECK(ops[OpCode::TRANSPOSE] == 2);  // in and out of the model
  ops = check_parity("conv_pad9");
  CHECK(ops[OpCode::PAD] == 1);
  CHECK(ops[OpCode::TRANSPOSE] == 2);
}

TEST_CASE("fp32: MatMul with constant weights + Add of a bias vector is one FULLY_CONNECTED") {
  auto ops = check_parity("linear3d");
  CHECK(ops[OpCode::FULLY_CONNECTED] == 1);
  CHECK(ops.size() == 1);
}

// x [1,2,4,4] -> op -> y, with `extra` constant inputs.
std::string lower_error(const std::string& op, std::map<std::string, Attribute> attrs,
                        const std::vector<Value>& extra, std::vector<int64_t> out_shape) {
  Graph g;
  g.opset = 13;
  Value x;
  x.name = "x";
  x.shape = {1, 2, 4, 4};
  g.inputs = {g.add_value(x)};
  Node n;
  n.name = "the_node";
  n.op = op;
  n.attrs = std::move(attrs);
  n.inputs = {g.inputs[0]};
  for (const Value& v : extra) n.inputs.push_back(v.name.empty() ? -1 : g.add_value(v));
  Value y;
  y.name = "y";
  y.shape = std::move(out_shape);
  n.outputs = {g.add_value(y)};
  g.outputs = n.outputs;
  g.nodes = {n};
  g.link();
  LowerResult r;
  std::string error;
  CHECK_FALSE(lower_graph(g, LowerOptions{}, &r, &error));
  return error;
}

Value i64_constant(const std::string& name, const std::vector<int64_t>& v) {
  Value c;
  c.name = name;
  c.type = ElemType::i64;
  c.shape = {static_cast<int64_t>(v.size())};
  c.is_constant = true;
  c.data.resize(v.size() * 8);
  std::memcpy(c.data.data(), v.data(), c.data.size());
  return c;
}

TEST_CASE("unsupported Pad and Resize forms fail naming the node and the reason") {
  Attribute wrap;
  wrap.kind = Attribute::Kind::s;
  wrap.s = "wrap";
  std::string e = lower_error("Pad", {{"mode", wrap}}, {i64_constant("pads", {0, 0, 1, 1, 0, 0, 1, 1})}, {1, 2, 6, 6});
  CHECK(e.find("the_node") != std::string::npos);
  CHECK(e.find("Pad mode 'wrap' is not supported") != std::string::npos);
  Attribute cubic;
  cubic.kind = Attribute::Kind::s;
  cubic.s = "cubic";
  Value scales;
  scales.name = "scales";
  scales.shape = {4};
  scales.is_constant = true;
  const float s[4] = {1, 1, 2, 2};
  scales.data.assign(reinterpret_cast<const uint8_t*>(s), reinterpret_cast<const uint8_t*>(s) + 16);
  e = lower_error("Resize", {{"mode", cubic}}, {Value{}, scales}, {1, 2, 8, 8});
  CHECK(e.find("the_node") != std::string::npos);
  CHECK(e.find("mode 'cubic' is not supported") != std::string::npos);
}

}  // namespace
}  // namespace qrt::convert
