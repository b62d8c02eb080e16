// qrt-convert --mode dynamic --embedding int8 against PyTorch 1.13's
// quantize_dynamic(model, {nn.Embedding: float_qparams_weight_only_qconfig,
// nn.Linear: default_dynamic_qconfig}) (tests/parity/make_embedding_models.py):
// Embedding(1000, 64) + Linear, and Embedding(100, 16, padding_idx=0) +
// Linear with per-row scales over 1e-4..10 and constant rows:
//   - each row's scale and bias are those PyTorch's prepack stores, bit for bit;
//   - the Embedding's output is PyTorch's bit for bit, and so is the Linear's
//     after it (qnnpack profile);
//   - --embedding fp32 (the default) and --keep-float leave the table float;
//     the option belongs to dynamic mode only;
//   - the int8 table's .qrt is about a quarter of the float one.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "converter/calibration.h"
#include "converter/convert_cli.h"
#include "npy.h"
#include "qrt/qrt.hpp"
#include "qrt/schema/qrt_generated.h"
#include "support/converted_model.h"
#include "support/tool_command.h"
#include "run_cli.h"

namespace qrt::convert {
namespace {

namespace fs = std::filesystem;

std::string data(const std::string& rel) { return std::string(QRT_TEST_DATA_DIR) + "/converter/embedding/" + rel; }

tools::NpyArray npy(const std::string& name) {
  tools::NpyArray a;
  std::string error;
  REQUIRE_MESSAGE(tools::read_npy(data(name), &a, &error), error);
  return a;
}

// Float32 bit patterns: outputs compare bit for bit.
std::vector<uint32_t> bits(const tools::NpyArray& a) {
  REQUIRE(a.dtype == "f4");
  std::vector<uint32_t> u(a.data.size() / 4);
  std::memcpy(u.data(), a.data.data(), a.data.size());
  return u;
}
std::vector<uint32_t> bits(const float* f, size_t n) {
  std::vector<uint32_t> u(n);
  std::memcpy(u.data(), f, n * 4);
  return u;
}

// The arrays of an .npz fixture (PyTorch's outputs e and y) as bits.
std::map<std::string, std::vector<uint32_t>> npz_bits(const std::string& name) {
  std::vector<std::pair<std::string, tools::NpyArray>> arrays;
  std::string error;
  REQUIRE_MESSAGE(read_npz(data(name), &arrays, &error), error);
  std::map<std::string, std::vector<uint32_t>> out;
  for (const auto& [key, a] : arrays) out[key] = bits(a);
  return out;
}

using qrt::test::run_cli;

// The model's outputs e and y on the model's indices, through the C API, as bits.
std::vector<std::vector<uint32_t>> run_model(const std::string& path, const tools::NpyArray& x) {
  REQUIRE(x.dtype == "i8");
  std::vector<std::vector<uint32_t>> out;
  for (const std::vector<float>& y : test::run_model_outputs(test::slurp_bytes(path), {{"", x}}))
    out.push_back(bits(y.data(), y.size()));
  REQUIRE(out.size() == 2);
  return out;
}

TEST_CASE("--embedding int8 gives PyTorch's quantized nn.Embedding outputs bit for bit") {
  test::TempDir tmp("qrt-embedding");
  size_t e_total = 0, e_same = 0, y_total = 0, y_same = 0;
  for (const std::string name : {"emb", "pad"}) {
    CAPTURE(name);
    const std::string out = tmp.file(name + ".qrt");
    REQUIRE(run_cli({data(name + ".onnx"), "-o", out, "--mode", "dynamic", "--embedding", "int8", "-q"}) == 0);

    // The rows' scale and bias as PyTorch's prepack stores them.
    const std::vector<uint8_t> bytes = test::slurp_bytes(out);
    const fb::Model* m = fb::GetModel(bytes.data());
    const fb::SubGraph* sg = m->subgraphs()->Get(0);
    const fb::Tensor* sb = test::find_tensor(sg, "emb.weight:scale_bias");
    const fb::Tensor* table = test::find_tensor(sg, "emb.weight:u8");
    REQUIRE(sb != nullptr);
    REQUIRE(table != nullptr);
    CHECK(table->dtype() == fb::DType::U8);
    CHECK(table->quantization() == nullptr);
    CHECK(test::find_tensor(sg, "emb.weight") == nullptr);
    const std::vector<uint32_t> rows = bits(npy(name + "_rows.npy"));
    const auto* buf = m->buffers()->Get(sb->buffer())->data();
    REQUIRE(buf->size() == rows.size() * 4);
    CHECK(bits(reinterpret_cast<const float*>(buf->data()), rows.size()) == rows);
    const fb::Operator* gather = sg->operators()->Get(0);
    CHECK(gather->opcode() == fb::OpCode::GATHER);
    CHECK(gather->inputs()->size() == 3);

    const std::vector<std::vector<uint32_t>> y = run_model(out, npy(name + "_x.npy"));
    auto want = npz_bits(name + "_int8.npz");
    REQUIRE(y.size() == 2);
    const std::vector<uint32_t>& e = y[0];
    const std::vector<uint32_t>& l = y[1];
    const std::vector<uint32_t>& e_want = want["e"];
    const std::vector<uint32_t>& l_want = want["y"];
    REQUIRE(e.size() == e_want.size());
    REQUIRE(l.size() == l_want.size());
    for (size_t i = 0; i < e.size(); ++i) e_same += e[i] == e_want[i];
    for (size_t i = 0; i < l.size(); ++i) y_same += l[i] == l_want[i];
    CHECK(e == e_want);
    CHECK(l == l_want);
    e_total += e.size();
    y_total += l.size();
  }
  MESSAGE("Embedding outputs bit-exact with PyTorch: " << e_same << " of " << e_total << "; Linear after it: " << y_same
                                                       << " of " << y_total);
}

TEST_CASE("--embedding: fp32 by default, --keep-float wins, dynamic mode only; the int8 table's size") {
  test::TempDir tmp("qrt-embedding");
  const std::vector<std::string> command = {QRT_CONVERT_COMMAND};
  const std::string out = tmp.file("m.qrt");
  auto convert = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {data("emb.onnx"), "-o", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_tool(command, args, tmp);
  };
  auto table_dtype = [&]() {
    const std::vector<uint8_t> bytes = test::slurp_bytes(out);
    const fb::SubGraph* sg = fb::GetModel(bytes.data())->subgraphs()->Get(0);
    const fb::Operator* gather = sg->operators()->Get(0);
    REQUIRE(gather->opcode() == fb::OpCode::GATHER);
    return sg->tensors()->Get(gather->inputs()->Get(0))->dtype();
  };
  test::ToolResult r = convert({"--mode", "dynamic"});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("(1 quantized dynamically, 1 float)") != std::string::npos);
  CHECK(table_dtype() == fb::DType::F32);
  const auto fp32_size = fs::file_size(out);

  r = convert({"--mode", "dynamic", "--embedding", "int8"});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("(2 quantized dynamically, 0 float)") != std::string::npos);
  CHECK(table_dtype() == fb::DType::U8);
  const auto int8_size = fs::file_size(out);
  // 1000 x 64 floats become 1000 x 64 bytes and 1000 x 2 floats.
  CHECK(int8_size * 3 < fp32_size);
  MESSAGE("emb.onnx (Embedding(1000, 64) + Linear(64, 8)) as .qrt, dynamic: fp32 table " << fp32_size
                                                                                          << " bytes, int8 table "
                                                                                          << int8_size << " bytes");

  r = convert({"--mode", "dynamic", "--embedding", "int8", "--keep-float", "/emb/Gather"});
  REQUIRE(r.code == 0);
  CHECK(table_dtype() == fb::DType::F32);

  r = convert({"--mode", "dynamic", "--embedding", "int4"});
  CHECK(r.code == 2);
  CHECK(r.err.find("--embedding: expected int8 or fp32") != std::string::npos);
  r = convert({"--embedding", "int8"});
  CHECK(r.code == 2);
  CHECK(r.err.find("--embedding applies to --mode dynamic only") != std::string::npos);

  r = test::run_tool(command, {"--help"}, tmp);
  CHECK(r.out.find("--embedding int8|fp32") != std::string::npos);
}

}  // namespace
}  // namespace qrt::convert
