// How lowering brings a float NCHW graph input to a quantized NHWC op:
// QUANTIZE in the input's layout first, then TRANSPOSE the bytes (a quarter
// of the data a float transpose would move), never a float TRANSPOSE. The
// bytes must land where they belong: through a 1x1 max pool (which passes
// them on) the output is dequantize(quantize(x)) of each element in place.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "converter/lower.h"
#include "kernels/ref/quantize.h"
#include "qrt/qrt.h"
#include "qrt/schema/qrt_generated.h"
#include "support/test_models.h"

namespace qrt::convert {
namespace {

constexpr int64_t kC = 3, kH = 9, kW = 11, kOut = 4;

constexpr float kScale = 0.0187f;
constexpr int32_t kZp = 114;

// x [1,3,9,11] (f32, quantized params) -> 3x3 Conv, pad 1 -> y [1,4,9,11];
// or -> 1x1 MaxPool -> y [1,3,9,11] with x's params.
Graph input_graph(bool conv) {
  Graph g;
  g.opset = 13;
  Value x;
  x.name = "x";
  x.shape = {1, kC, kH, kW};
  x.quant = QuantParams{{kScale}, {kZp}, 0, false};
  const int xi = g.add_value(x);
  Value w;
  w.name = "w";
  w.shape = {kOut, kC, 3, 3};
  w.is_constant = true;
  w.quant = QuantParams{{0.004f}, {0}, 0, false};
  w.data.resize(w.elements() * 4);
  for (size_t i = 0; i < w.elements(); ++i)
    w.as<float>()[i] = 0.004f * static_cast<float>(static_cast<int>(i * 37 % 61) - 30);
  const int wi = g.add_value(w);
  Value y;
  y.name = "y";
  y.shape = {1, conv ? kOut : kC, kH, kW};
  y.quant = conv ? QuantParams{{0.05f}, {128}, 0, false} : x.quant;
  const int yi = g.add_value(y);
  Node n;
  n.name = conv ? "conv" : "pool";
  n.op = conv ? "Conv" : "MaxPool";
  n.inputs = {xi};
  if (conv) n.inputs.push_back(wi);
  n.outputs = {yi};
  Attribute a;
  a.kind = Attribute::Kind::ints;
  a.ints = conv ? std::vector<int64_t>{1, 1, 1, 1} : std::vector<int64_t>{1, 1};
  n.attrs[conv ? "pads" : "kernel_shape"] = a;
  g.nodes.push_back(n);
  g.inputs = {xi};
  g.outputs = {yi};
  g.link();
  return g;
}

std::vector<uint8_t> lower(bool conv) {
  LowerOptions o;
  LowerResult r;
  std::string error;
  Graph g = input_graph(conv);
  if (!conv) g.remove_dead();  // the unused weight
  REQUIRE_MESSAGE(lower_graph(g, o, &r, &error), error);
  return r.model;
}

std::vector<float> run(const std::vector<uint8_t>& bytes, const std::vector<float>& input) {
  test::AlignedBytes aligned(bytes);
  qrt_model* model = nullptr;
  REQUIRE_MESSAGE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK,
                  qrt_last_error());
  qrt_options o;
  qrt_options_init(&o);
  qrt_interpreter* it = nullptr;
  REQUIRE_MESSAGE(qrt_interpreter_create(model, &o, &it) == QRT_OK, qrt_last_error());
  REQUIRE(qrt_set_input(it, 0, QRT_F32, input.data(), input.size() * 4) == QRT_OK);
  REQUIRE_MESSAGE(qrt_invoke(it) == QRT_OK, qrt_last_error());
  qrt_tensor t;
  REQUIRE(qrt_output(it, 0, &t) == QRT_OK);
  std::vector<float> out(t.bytes / 4);
  std::memcpy(out.data(), t.data, t.bytes);
  qrt_interpreter_free(it);
  qrt_model_free(model);
  return out;
}

}  // namespace

TEST_CASE("lower: a float NCHW input is quantized, then its bytes transposed to NHWC") {
  const std::vector<uint8_t> bytes = lower(true);
  const fb::SubGraph* g = fb::GetModel(bytes.data())->subgraphs()->Get(0);
  const auto* ops = g->operators();
  const auto* tensors = g->tensors();
  REQUIRE(ops->size() >= 3);
  using Index = flatbuffers::uoffset_t;
  auto op_in = [&](Index i) {
    return tensors->Get(static_cast<Index>(ops->Get(i)->inputs()->Get(0)));
  };
  auto op_out = [&](Index i) {
    return tensors->Get(static_cast<Index>(ops->Get(i)->outputs()->Get(0)));
  };
  CHECK(ops->Get(0)->opcode() == fb::OpCode::QUANTIZE);
  CHECK(op_in(0)->dtype() == fb::DType::F32);
  CHECK(op_out(0)->dtype() == fb::DType::U8);
  CHECK(std::vector<int32_t>(op_out(0)->shape()->begin(), op_out(0)->shape()->end()) ==
        std::vector<int32_t>{1, kC, kH, kW});
  CHECK(ops->Get(1)->opcode() == fb::OpCode::TRANSPOSE);
  CHECK(op_in(1)->dtype() == fb::DType::U8);
  CHECK(std::vector<int32_t>(op_out(1)->shape()->begin(), op_out(1)->shape()->end()) ==
        std::vector<int32_t>{1, kH, kW, kC});
  CHECK(ops->Get(2)->opcode() == fb::OpCode::CONV_2D);
  for (Index i = 0; i < ops->size(); ++i) {
    if (ops->Get(i)->opcode() != fb::OpCode::TRANSPOSE) continue;
    CAPTURE(i);
    CHECK(op_in(i)->dtype() == fb::DType::U8);  // no float transposes
  }
}

TEST_CASE("lower: the quantized input's bytes reach the NHWC op in their places") {
  const std::vector<uint8_t> bytes = lower(false);
  const fb::SubGraph* g = fb::GetModel(bytes.data())->subgraphs()->Get(0);
  REQUIRE(g->operators()->size() >= 3);
  CHECK(g->operators()->Get(0)->opcode() == fb::OpCode::QUANTIZE);
  CHECK(g->operators()->Get(1)->opcode() == fb::OpCode::TRANSPOSE);
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0.f, 1.5f);
  std::vector<float> x(static_cast<size_t>(kC * kH * kW));
  for (float& v : x) v = d(rng);
  std::vector<uint8_t> q(x.size());
  std::vector<float> want(x.size());
  kernels::quantize_f32_u8_ref(x.size(), x.data(), kScale, kZp, q.data());
  kernels::dequantize_u8_f32_ref(q.size(), q.data(), kScale, kZp, want.data());
  CHECK(run(bytes, x) == want);
}

TEST_CASE("lower: a node whose declared output is not 4-D like its NHWC input is refused, naming both") {
  // ONNX shape inference keeps a model's declared shapes when they clash.
  for (const char* op : {"Conv", "MaxPool", "Relu"}) {
    CAPTURE(op);
    const bool relu = std::string(op) == "Relu";
    Graph g = input_graph(std::string(op) == "Conv");
    if (!relu) g.remove_dead();
    if (relu) {
      Value z;
      z.name = "z";
      z.shape = {1, kOut * kH * kW};
      const int zi = g.add_value(z);
      Node n;
      n.name = "act";
      n.op = "Relu";
      n.inputs = {g.outputs[0]};
      n.outputs = {zi};
      g.nodes.push_back(n);
      g.outputs = {zi};
      g.link();
    } else {
      Value& y = g.values[static_cast<size_t>(g.outputs[0])];
      y.shape = {y.shape[0], y.shape[1], kH * kW};
    }
    LowerResult r;
    std::string error;
    CHECK_FALSE(lower_graph(g, LowerOptions{}, &r, &error));
    CHECK(error.find(relu ? "node 'act' (Relu)" : std::string("(") + op + ")") != std::string::npos);
    CHECK(error.find(relu ? "'z' is declared 2-D" : "'y' is declared 3-D") != std::string::npos);
    CHECK(r.model.empty());
  }
}

}  // namespace qrt::convert
