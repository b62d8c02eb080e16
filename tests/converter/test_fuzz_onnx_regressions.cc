// Every input the ONNX fuzzer crashed on (tests/data/fuzz/onnx/), replayed
// through the harness's own entry point (tests/fuzz/onnx_entry.h).
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "fuzz/onnx_entry.h"
#include "fuzz/saved_inputs.h"

// Each saved input is a broken model (a Constant without a value, a MaxPool
// with stride 0, a Conv whose weights are not 4-D, a Conv without
// kernel_shape whose weight has a higher rank than its input, which read
// past a vector inside libonnx, a float Cast to int64 out of range, undefined
// behaviour in constant folding): it must be refused with a message naming
// the node or tensor at fault, not crash inside the converter or libonnx.
TEST_CASE("fuzz regressions: ONNX import refuses every saved crash input") {
  const auto saved = qrt::fuzz::saved_inputs("onnx");
  CHECK(saved.size() >= 6);
  for (const auto& [file, bytes] : saved) {
    const std::string name = "tests/data/fuzz/onnx/" + file;
    INFO(name);
    std::string why;
    CHECK_FALSE(qrt::fuzz::run_onnx(bytes.data(), bytes.size(), &why));
    CHECK((why.find("node '") != std::string::npos || why.find("tensor '") != std::string::npos));
    MESSAGE(name << ": " << why);
  }
}

namespace {

std::string convert_fp32(const onnx::ModelProto& model, std::vector<uint8_t>* qrt_bytes) {
  std::string bytes;
  REQUIRE(model.SerializeToString(&bytes));
  qrt::convert::Graph graph;
  std::string error;
  qrt::convert::LowerResult lowered;
  if (qrt::convert::import_onnx_bytes(bytes.data(), bytes.size(), "<test>", {}, &graph, &error) &&
      qrt::convert::run_default_passes(graph, &error) &&
      qrt::convert::lower_graph(graph, {}, &lowered, &error))
    *qrt_bytes = lowered.model;
  return error;
}

void drop_conv_kernel_shapes(onnx::GraphProto* g) {
  for (auto& node : *g->mutable_node()) {
    if (node.op_type() != "Conv") continue;
    auto* attrs = node.mutable_attribute();
    for (int i = attrs->size() - 1; i >= 0; --i)
      if (attrs->Get(i).name() == "kernel_shape") attrs->DeleteSubrange(i, 1);
  }
}

}  // namespace

// The importer writes kernel_shape out from the weight before libonnx sees
// the graph (onnx_import.cc: add_kernel_shapes); ONNX makes it optional.
TEST_CASE("ONNX import: a Conv without kernel_shape takes it from its weight") {
  std::ifstream in(std::string(QRT_TEST_DATA_DIR) + "/converter/small_cnn.onnx", std::ios::binary);
  onnx::ModelProto model;
  REQUIRE(model.ParseFromIstream(&in));
  std::vector<uint8_t> with, without;
  REQUIRE(convert_fp32(model, &with).empty());

  onnx::ModelProto bare = model;
  drop_conv_kernel_shapes(bare.mutable_graph());
  CHECK(convert_fp32(bare, &without).empty());
  CHECK(with == without);

  // A weight whose shape only inference could tell (here it goes through a
  // Relu) is refused by name instead of being handed to libonnx.
  onnx::ModelProto computed = bare;
  onnx::GraphProto* g = computed.mutable_graph();
  REQUIRE(g->node(0).op_type() == "Conv");
  const std::string conv = g->node(0).name();
  onnx::NodeProto relu;
  relu.set_name("weight_relu");
  relu.set_op_type("Relu");
  relu.add_input(g->node(0).input(1));
  relu.add_output("relu_weight");
  g->mutable_node(0)->set_input(1, "relu_weight");
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  *nodes.Add() = relu;
  for (const auto& n : g->node()) *nodes.Add() = n;
  g->mutable_node()->Swap(&nodes);
  std::vector<uint8_t> unused;
  const std::string why = convert_fp32(computed, &unused);
  CHECK(why.find("node '" + conv + "' (Conv)") != std::string::npos);
  CHECK(why.find("kernel_shape") != std::string::npos);
}
