// ONNX If through qrt-convert (tests/data/converter/if/make_if.py):
//   - if.onnx, a torch.jit.script-ed `if x.sum() > 0: relu(a(x)) else:
//     sigmoid(b(x)) * 2` at opset 13: the condition is data-dependent, so
//     it becomes an IF op over two subgraphs, each lowered with the normal
//     passes; run on inputs taking each branch, it matches PyTorch 1.13;
//   - flag.onnx, an If on a bool graph input whose branches read an outer
//     input and an outer constant: an IF with a u8 condition, and with
//     --fix-input flag=... the If folds away (no IF, no subgraph);
//   - mismatch.onnx, whose branches give different shapes, is refused;
//   - qrt-inspect lists the subgraphs;
//   - branches stay f32 in dynamic mode (the outer graph is quantized around
//     them as usual).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "converter/calibration.h"
#include "converter/convert_cli.h"
#include "converter/lower.h"
#include "converter/onnx_import.h"
#include "converter/passes.h"
#include "npy.h"
#include "qrt/qrt.hpp"
#include "qrt/schema/qrt_generated.h"
#include "support/converted_model.h"
#include "support/tool_command.h"
#include "run_cli.h"

namespace qrt::convert {
namespace {

std::string data(const std::string& rel) { return std::string(QRT_TEST_DATA_DIR) + "/converter/if/" + rel; }

std::map<std::string, std::vector<float>> reference() {
  std::vector<std::pair<std::string, tools::NpyArray>> arrays;
  std::string error;
  REQUIRE_MESSAGE(read_npz(data("if_io.npz"), &arrays, &error), error);
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, a] : arrays) {
    REQUIRE(a.dtype == "f4");
    std::vector<float> f(a.data.size() / 4);
    std::memcpy(f.data(), a.data.data(), a.data.size());
    out[name] = f;
  }
  return out;
}

using qrt::test::run_cli;

test::NamedArray f32_input(const std::string& name, const std::vector<float>& x) {
  test::NamedArray in{name, {"f4", {static_cast<int64_t>(x.size())}, std::vector<uint8_t>(x.size() * 4)}};
  std::memcpy(in.array.data.data(), x.data(), in.array.data.size());
  return in;
}

std::vector<float> run_model(const std::string& path, const std::vector<test::NamedArray>& inputs) {
  return test::run_model_outputs(test::slurp_bytes(path), inputs)[0];
}

void check_close(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(std::fabs(got[i] - want[i]) <= 1e-5f * (1.f + std::fabs(want[i])));
  }
}

const fb::Model* root(const std::vector<uint8_t>& bytes) { return fb::GetModel(bytes.data()); }

int count_ops(const fb::SubGraph* g, fb::OpCode code) {
  int n = 0;
  if (g->operators())
    for (const fb::Operator* op : *g->operators()) n += op->opcode() == code;
  return n;
}

}  // namespace

TEST_CASE("a data-dependent If from torch.jit.script runs as an IF op and matches PyTorch") {
  test::TempDir dir("qrt-if");
  const auto ref = reference();
  for (const char* mode : {"fp32", "dynamic"}) {
    CAPTURE(mode);
    const std::string out = dir.file(std::string("if_") + mode + ".qrt");
    REQUIRE(run_cli({data("if.onnx"), "-o", out, "--mode", mode, "-q"}) == 0);
    const std::vector<uint8_t> bytes = test::slurp_bytes(out);
    const fb::Model* m = root(bytes);
    REQUIRE(m->subgraphs()->size() == 3);
    const fb::SubGraph* main = m->subgraphs()->Get(0);
    CHECK(count_ops(main, fb::OpCode::IF) == 1);
    // Each branch got the normal passes and lowering: Gemm (+ Relu fused
    // into it) is one f32 FULLY_CONNECTED.
    for (int b : {1, 2}) {
      const fb::SubGraph* body = m->subgraphs()->Get(static_cast<flatbuffers::uoffset_t>(b));
      CHECK(count_ops(body, fb::OpCode::FULLY_CONNECTED) == 1);
      CHECK(count_ops(body, fb::OpCode::CLAMP) == 0);
      for (const fb::Tensor* t : *body->tensors()) CHECK(t->dtype() != fb::DType::S8);
    }
    check_close(run_model(out, {f32_input("x", ref.at("pos"))}), ref.at("pos_out"));
    check_close(run_model(out, {f32_input("x", ref.at("neg"))}), ref.at("neg_out"));
  }
}

TEST_CASE("an If on a bool input: outer values pass into the branches; --fix-input folds it") {
  test::TempDir dir("qrt-if");
  const std::vector<float> x = {-1.5f, 0.f, 2.f, 3.25f, -0.5f, 1.f};
  const float bias[3] = {0.5f, -1.f, 2.f};
  std::vector<float> then_y(6), else_y(6);
  for (size_t i = 0; i < 6; ++i) {
    then_y[i] = (x[i] > 0.f ? x[i] : 0.f) + bias[i % 3];
    else_y[i] = -x[i];
  }
  const std::string out = dir.file("flag.qrt");
  REQUIRE(run_cli({data("flag.onnx"), "-o", out, "-q"}) == 0);
  {
    const std::vector<uint8_t> bytes = test::slurp_bytes(out);
    REQUIRE(root(bytes)->subgraphs()->size() == 3);
    CHECK(count_ops(root(bytes)->subgraphs()->Get(0), fb::OpCode::IF) == 1);
  }
  for (uint8_t flag : {1, 0}) {
    CAPTURE(static_cast<int>(flag));
    const std::vector<float> y = run_model(out, {f32_input("x", x), test::NamedArray{"flag", {"b1", {}, {flag}}}});
    CHECK(y == (flag ? then_y : else_y));
  }
  for (int flag : {1, 0}) {
    CAPTURE(flag);
    const std::string fixed = dir.file("fixed" + std::to_string(flag) + ".qrt");
    REQUIRE(run_cli({data("flag.onnx"), "-o", fixed, "--fix-input", "flag=" + std::to_string(flag), "-q"}) == 0);
    const std::vector<uint8_t> bytes = test::slurp_bytes(fixed);
    REQUIRE(root(bytes)->subgraphs()->size() == 1);
    CHECK(count_ops(root(bytes)->subgraphs()->Get(0), fb::OpCode::IF) == 0);
    CHECK(run_model(fixed, {f32_input("x", x)}) == (flag ? then_y : else_y));
  }
}

TEST_CASE("branches giving different shapes are refused at convert time") {
  Graph g;
  std::string error;
  REQUIRE_MESSAGE(import_onnx_file(data("mismatch.onnx"), {}, &g, &error), error);
  REQUIRE_MESSAGE(run_default_passes(g, &error), error);
  LowerResult r;
  CHECK_FALSE(lower_graph(g, LowerOptions{}, &r, &error));
  CHECK(error ==
        "node 'pick' (If): else_branch output 0 'e_out' is float32[3,2], the If's is float32[2,3]: "
        "both branches must give the If's static shapes and types");
}

TEST_CASE("qrt-inspect lists IF bodies") {
  test::TempDir dir("qrt-if");
  const std::string out = dir.file("flag.qrt");
  REQUIRE(run_cli({data("flag.onnx"), "-o", out, "-q"}) == 0);
  // qrt-inspect sits beside qrt-convert in the build tree.
  std::vector<std::string> command = {QRT_CONVERT_COMMAND};
  std::string& tool = command.back();
  tool.replace(tool.rfind("qrt-convert"), std::string("qrt-convert").size(), "qrt-inspect");
  test::ToolResult r = test::run_tool(command, {out}, dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("[then subgraph 1, else subgraph 2]") != std::string::npos);
  CHECK(r.out.find("subgraph 1 'pick:then_branch' (an IF body), inputs: x; outputs: t_out") !=
        std::string::npos);
  CHECK(r.out.find("subgraph 2 'pick:else_branch'") != std::string::npos);
  r = test::run_tool(command, {"--json", out}, dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("\"then_subgraph\": 1, \"else_subgraph\": 2") != std::string::npos);
  CHECK(r.out.find("\"subgraphs\": [") != std::string::npos);
}

}  // namespace qrt::convert
