// PyTorch 1.13's plain ONNX export of nn.MultiheadAttention and
// nn.TransformerEncoderLayer (tests/parity/make_mha_models.py, data in
// tests/data/converter/mha/), with no custom symbolic: chunk(3) of in_proj
// computes its Slice bounds at run time (Shape, Gather, Add, Div, Mul) and
// ONNX's data propagation stops at Div, so the importer folds that shape
// arithmetic and infers again (onnx_import.cc: infer_shapes).
//   - every model imports with the shape plumbing folded away;
//   - qrt-convert fp32 is within 1e-5 relative of PyTorch fp32;
//   - qrt-convert --mode dynamic is within 2% of PyTorch quantize_dynamic's
//     own error (qnnpack engine) of its int8 outputs;
//   - the folding itself on a small graph: ONNX's integer Div truncates
//     toward zero, Shape's start, Slice of a shape, and a division that would
//     trap (INT64_MIN / -1) left unfolded with an error naming the node.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include <onnx/onnx_pb.h>

#include "converter/calibration.h"
#include "converter/convert_cli.h"
#include "converter/onnx_import.h"
#include "npy.h"
#include "qrt/qrt.hpp"
#include "support/tool_command.h"

namespace qrt::convert {
namespace {

using Floats = std::map<std::string, std::vector<float>>;

std::string data(const std::string& rel) { return std::string(QRT_TEST_DATA_DIR) + "/converter/mha/" + rel; }

Floats load(const std::string& file) {
  std::vector<std::pair<std::string, tools::NpyArray>> arrays;
  std::string error;
  REQUIRE_MESSAGE(read_npz(data(file), &arrays, &error), error);
  Floats out;
  for (const auto& [name, a] : arrays) {
    REQUIRE(a.dtype == "f4");
    std::vector<float>& f = out[name];
    f.resize(a.data.size() / 4);
    std::memcpy(f.data(), a.data.data(), a.data.size());
  }
  return out;
}

Floats run(const std::string& path, const Floats& inputs) {
  Model model;
  Interpreter it;
  Status st = Model::from_file(path, &model);
  if (st) st = Interpreter::create(model, &it);
  for (const auto& [name, x] : inputs)
    if (st) st = it.set_input(it.input_index(name), QRT_F32, x.data(), x.size() * 4);
  if (st) st = it.invoke();
  REQUIRE_MESSAGE(st, st.message);
  Floats out;
  for (int k = 0; k < it.output_count(); ++k) {
    qrt_tensor y;
    REQUIRE(it.output(k, &y));
    REQUIRE(y.dtype == QRT_F32);
    const float* f = static_cast<const float*>(y.data);
    out[y.name].assign(f, f + y.bytes / 4);
  }
  return out;
}

// Largest |got - want| over all outputs, and the largest |want|.
std::pair<float, float> max_diff(const Floats& got, const Floats& want) {
  float diff = 0.f, ref = 0.f;
  for (const auto& entry : want) {
    // Not a structured binding: C++17 lambdas (CAPTURE's) cannot capture one.
    const std::string& name = entry.first;
    const std::vector<float>& w = entry.second;
    CAPTURE(name);
    REQUIRE(got.count(name));
    REQUIRE(got.at(name).size() == w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      diff = std::max(diff, std::fabs(got.at(name)[i] - w[i]));
      ref = std::max(ref, std::fabs(w[i]));
    }
  }
  return {diff, ref};
}

int convert_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "qrt-convert");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return qrt_convert_main(static_cast<int>(argv.size()), argv.data());
}

const char* const kModels[] = {"enc_00_relu", "enc_01_gelu", "enc_10_gelu", "enc_11_relu", "enc_dyn", "mha"};

// enc_dyn was exported with a dynamic sequence axis.
ImportOptions import_options(const std::string& model) {
  ImportOptions o;
  if (model == "enc_dyn") o.input_shapes["x"] = {16, 2, 64};
  return o;
}

std::vector<std::string> shape_args(const std::string& model) {
  if (model == "enc_dyn") return {"--input-shape", "x=16,2,64"};
  return {};
}

TEST_CASE("PyTorch's MultiheadAttention export imports with its shape arithmetic folded") {
  for (const std::string model : kModels) {
    CAPTURE(model);
    Graph g;
    std::string error;
    REQUIRE_MESSAGE(import_onnx_file(data(model + ".onnx"), import_options(model), &g, &error), error);
    int slices = 0;
    for (const Node& n : g.nodes) {
      CAPTURE(n.name);
      CHECK(n.op != "Shape");
      CHECK(n.op != "Gather");
      CHECK(n.op != "Concat");
      if (n.op != "Slice") continue;
      // chunk(3) of in_proj's [..., 192] output: q, k and v.
      ++slices;
      const Value& y = g.values[static_cast<size_t>(n.outputs[0])];
      REQUIRE(!y.shape.empty());
      CHECK(y.shape.back() == 64);
    }
    CHECK(slices == 3);
  }
}

TEST_CASE("PyTorch's MultiheadAttention export converts fp32 and --mode dynamic and matches PyTorch") {
  test::TempDir tmp("qrt-mha");
  for (const std::string model : kModels) {
    CAPTURE(model);
    const Floats in = load(model + "_in.npz");
    const Floats fp32 = load(model + "_fp32.npz");
    const Floats int8 = load(model + "_qnnpack.npz");
    const std::vector<std::string> shape = shape_args(model);
    std::vector<std::string> args = {data(model + ".onnx"), "-o", tmp.file(model + ".qrt"), "-q"};
    args.insert(args.end(), shape.begin(), shape.end());
    REQUIRE(convert_cli(args) == 0);
    const auto [f_diff, f_ref] = max_diff(run(tmp.file(model + ".qrt"), in), fp32);
    CHECK(f_diff <= 1e-5f * f_ref);

    args[2] = tmp.file(model + "_dyn.qrt");
    args.insert(args.end(), {"--mode", "dynamic"});
    REQUIRE(convert_cli(args) == 0);
    const float q_diff = max_diff(run(args[2], in), int8).first;
    const float torch_error = max_diff(int8, fp32).first;
    // quantize_dynamic leaves the bare MultiheadAttention float (its
    // projections are not nn.Linear modules), and so does qrt.
    if (model == "mha")
      CHECK(q_diff <= 1e-5f * f_ref);
    else
      CHECK(q_diff <= 0.02f * torch_error);
    MESSAGE(model << ": fp32 max |qrt - torch| " << f_diff << " (largest |y| " << f_ref
                  << "); dynamic max |qrt - torch int8| " << q_diff << ", max |torch int8 - torch fp32| "
                  << torch_error);
  }
}

// Small ONNX graphs built by hand for the folding's corner cases.
struct OnnxBuilder {
  onnx::ModelProto model;
  onnx::GraphProto* g = model.mutable_graph();

  OnnxBuilder() {
    model.set_ir_version(8);
    model.add_opset_import()->set_version(17);
    onnx::ValueInfoProto* x = g->add_input();
    x->set_name("x");
    auto* t = x->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : {7, 5}) t->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void constant(const std::string& name, int64_t v) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(1);
    t->add_int64_data(v);
  }
  onnx::NodeProto* node(const std::string& op, std::vector<std::string> in, const std::string& out) {
    onnx::NodeProto* n = g->add_node();
    n->set_name(out);
    n->set_op_type(op);
    for (const std::string& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  bool import(Graph* graph, std::string* error) {
    g->add_output()->set_name("y");
    const std::string bytes = model.SerializeAsString();
    return import_onnx_bytes(bytes.data(), bytes.size(), "<test>", {}, graph, error);
  }
};

TEST_CASE("ONNX import folds shape arithmetic: Div truncates toward zero, Shape start, Slices of a shape") {
  OnnxBuilder b;
  for (auto [name, v] : std::map<std::string, int64_t>{{"zero", 0}, {"one", 1}, {"two", 2}, {"minus1", -1},
                                                        {"minus2", -2}, {"minus4", -4}})
    b.constant(name, v);
  onnx::NodeProto* last_dim = b.node("Shape", {"x"}, "last_dim");  // [5]
  onnx::AttributeProto* start = last_dim->add_attribute();
  start->set_name("start");
  start->set_type(onnx::AttributeProto::INT);
  start->set_i(-1);
  b.node("Shape", {"x"}, "shape");                       // [7, 5]
  b.node("Slice", {"shape", "zero", "one"}, "rows");     // [7]
  b.node("Sub", {"zero", "rows"}, "neg_rows");           // [-7]
  b.node("Div", {"neg_rows", "two"}, "row_end");         // [-3]; floor would give -4
  b.node("Slice", {"shape", "minus1", "minus2", "zero", "minus1"}, "last");  // [5], backwards
  b.node("Add", {"last_dim", "last"}, "ten");            // [10]
  b.node("Div", {"ten", "minus4"}, "col_end");           // [-2]; floor would give -3
  b.node("Slice", {"x", "zero", "row_end", "zero"}, "top");
  b.node("Slice", {"top", "zero", "col_end", "one"}, "y");
  Graph g;
  std::string error;
  REQUIRE_MESSAGE(b.import(&g, &error), error);
  REQUIRE(g.outputs.size() == 1);
  CHECK(g.values[static_cast<size_t>(g.outputs[0])].shape == std::vector<int64_t>{4, 3});
  CHECK(g.nodes.size() == 2);  // the two Slices of x
}

TEST_CASE("ONNX import leaves INT64_MIN / -1 unfolded and names the node without a shape") {
  OnnxBuilder b;
  b.constant("zero", 0);
  b.constant("min", std::numeric_limits<int64_t>::min());
  b.constant("minus1", -1);
  b.node("Div", {"min", "minus1"}, "end");
  b.node("Slice", {"x", "zero", "end", "zero"}, "y");
  Graph g;
  std::string error;
  CHECK_FALSE(b.import(&g, &error));
  CHECK_MESSAGE(error.find("node 'y' (Slice)") != std::string::npos, error);
}

}  // namespace
}  // namespace qrt::convert
