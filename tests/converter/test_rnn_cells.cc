// --mode dynamic on nn.LSTMCell, GRUCell and RNNCell (tanh, relu) against
// PyTorch 1.13's quantize_dynamic with its default module set, qnnpack engine
// (tests/parity/make_cell_models.py). torch.onnx.export writes a cell as a
// Gemm on x and a Gemm on h plus float gate math; PyTorch's dynamic cells run
// those two linears dynamically quantized, which is our dynamic
// FULLY_CONNECTED. Each cell alone and stepped from a zero state with a
// Linear head:
//   - fp32 conversion matches PyTorch's float model within 1e-5 relative;
//   - the cells' weights (and the head's) get PyTorch's packed weight scales,
//     per tensor and per row (--per-channel on);
//   - outputs stay within 2% of PyTorch's own quantization error of PyTorch's
//     dynamically quantized outputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "converter/calibration.h"
#include "converter/convert_cli.h"
#include "npy.h"
#include "qrt/qrt.hpp"
#include "qrt/schema/qrt_generated.h"
#include "support/tool_command.h"

namespace qrt::convert {
namespace {

std::string cells(const std::string& rel) { return std::string(QRT_TEST_DATA_DIR) + "/converter/cells/" + rel; }

const char* const kCells[] = {"lstm", "gru", "rnn_tanh", "rnn_relu"};

std::vector<std::pair<std::string, tools::NpyArray>> load_npz(const std::string& name) {
  std::vector<std::pair<std::string, tools::NpyArray>> arrays;
  std::string error;
  REQUIRE_MESSAGE(read_npz(cells(name), &arrays, &error), error);
  return arrays;
}

std::vector<float> floats(const tools::NpyArray& a) {
  REQUIRE(a.dtype == "f4");
  const auto* f = reinterpret_cast<const float*>(a.data.data());
  return {f, f + a.data.size() / 4};
}

// scales.txt: weight initializer -> PyTorch's scales, for `model` and `qconfig`.
std::map<std::string, std::vector<float>> pytorch_scales(const std::string& model, const std::string& qconfig) {
  std::ifstream in(cells("scales.txt"));
  REQUIRE(in.good());
  std::map<std::string, std::vector<float>> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string m, q, weight, tok;
    w >> m >> q >> weight;
    if (m != model || q != qconfig) continue;
    while (w >> tok) out[weight].push_back(std::strtof(tok.c_str(), nullptr));
  }
  REQUIRE(!out.empty());
  return out;
}

// qrt-convert MODEL.onnx --mode MODE [--per-channel on]: the .qrt's bytes.
std::vector<uint8_t> convert(const std::string& model, const std::string& mode, bool per_channel,
                             test::TempDir& tmp) {
  const std::string onnx = cells(model + ".onnx"), out = tmp.file(model + ".qrt");
  std::vector<const char*> argv = {"qrt-convert", onnx.c_str(), "-o", out.c_str(), "--mode", mode.c_str(), "-q"};
  if (per_channel) argv.insert(argv.end(), {"--per-channel", "on"});
  REQUIRE(qrt_convert_main(static_cast<int>(argv.size()), argv.data()) == 0);
  std::ifstream in(out, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// All outputs of the model on the inputs of <model>_in.npz, in graph order.
std::vector<std::vector<float>> run(const std::vector<uint8_t>& qrt, const std::string& model) {
  // from_buffer wants 16-byte aligned data.
  std::vector<std::max_align_t> copy(qrt.size() / sizeof(std::max_align_t) + 1);
  std::memcpy(copy.data(), qrt.data(), qrt.size());
  Model m;
  Interpreter it;
  Status st = Model::from_buffer(copy.data(), qrt.size(), &m);
  if (st) st = Interpreter::create(m, &it);
  const auto in = load_npz(model + "_in.npz");
  for (size_t i = 0; st && i < in.size(); ++i)
    st = it.set_input(static_cast<int>(i), QRT_F32, in[i].second.data.data(), in[i].second.data.size());
  if (st) st = it.invoke();
  std::vector<std::vector<float>> ys;
  for (int i = 0; st && i < it.output_count(); ++i) {
    qrt_tensor y;
    st = it.output(i, &y);
    const float* f = static_cast<const float*>(y.data);
    if (st) ys.emplace_back(f, f + y.bytes / 4);
  }
  REQUIRE_MESSAGE(st, st.message);
  return ys;
}

uint32_t bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}

TEST_CASE("fp32 conversion of the RNN cells matches PyTorch's float models") {
  test::TempDir tmp("qrt-cells");
  for (const std::string kind : kCells)
    for (const std::string shape : {"_cell", "_zero", "_steps"}) {
      const std::string model = kind + shape;
      CAPTURE(model);
      const auto ys = run(convert(model, "fp32", false, tmp), model);
      const auto want = load_npz(model + "_fp32.npz");
      REQUIRE(ys.size() == want.size());
      for (size_t o = 0; o < ys.size(); ++o) {
        const std::vector<float> w = floats(want[o].second);
        REQUIRE(ys[o].size() == w.size());
        float rel = 0.f;
        for (size_t i = 0; i < w.size(); ++i)
          rel = std::max(rel, std::fabs(ys[o][i] - w[i]) / std::max(std::fabs(w[i]), 1e-3f));
        CHECK(rel <= 1e-5f);
      }
    }
}

TEST_CASE("--mode dynamic quantizes the RNN cells' linears like quantize_dynamic") {
  test::TempDir tmp("qrt-cells");
  for (const std::string kind : kCells)
    for (const std::string shape : {"_cell", "_zero", "_steps"})
      for (bool per_channel : {false, true}) {
        const std::string model = kind + shape;
        CAPTURE(model);
        CAPTURE(per_channel);
        const std::vector<uint8_t> qrt = convert(model, "dynamic", per_channel, tmp);
        const fb::SubGraph* sg = fb::GetModel(qrt.data())->subgraphs()->Get(0);
        // Alone: the x and h Gemms, the h Gemm also on a constant zero state
        // (hx=None), as PyTorch runs it (giving the bias). Stepped 4 times:
        // both Gemms of every step and the head. Nothing else has int8 weights.
        std::vector<std::string> dynamic;
        for (const fb::Operator* op : *sg->operators())
          if (op->opcode() == fb::OpCode::FULLY_CONNECTED &&
              sg->tensors()->Get(op->inputs()->Get(1))->dtype() == fb::DType::S8)
            dynamic.push_back(op->name()->str());
        CHECK(dynamic.size() == (shape == "_steps" ? 9u : 2u));
        if (!per_channel) {
          std::string names;
          for (const std::string& n : dynamic) names += " " + n;
          MESSAGE(model << " quantized:" << names);
        }
        const auto want = pytorch_scales(model, per_channel ? "per_channel" : "qnnpack");
        // Each FULLY_CONNECTED holds its own copy of a shared weight.
        std::set<std::string> int8;
        for (const fb::Tensor* t : *sg->tensors()) {
          if (t->dtype() != fb::DType::S8) continue;
          const std::string name = t->name()->str();
          int8.insert(name);
          CAPTURE(name);
          REQUIRE(want.count(name));
          const auto* s = t->quantization()->scale();
          REQUIRE(s->size() == want.at(name).size());
          for (size_t i = 0; i < s->size(); ++i) CHECK(bits(s->Get(i)) == bits(want.at(name)[i]));
        }
        CHECK(int8.size() == want.size());

        const auto ys = run(qrt, model);
        const auto fp32 = load_npz(model + "_fp32.npz");
        const auto pt = load_npz(model + (per_channel ? "_per_channel.npz" : "_qnnpack.npz"));
        REQUIRE(ys.size() == pt.size());
        float diff = 0.f, pt_err = 0.f;
        for (size_t o = 0; o < ys.size(); ++o) {
          const std::vector<float> q = floats(pt[o].second), f = floats(fp32[o].second);
          REQUIRE(ys[o].size() == q.size());
          for (size_t i = 0; i < q.size(); ++i) {
            diff = std::max(diff, std::fabs(ys[o][i] - q[i]));
            pt_err = std::max(pt_err, std::fabs(q[i] - f[i]));
          }
        }
        CHECK(diff <= 0.02f * pt_err);
        MESSAGE(model << std::string(per_channel ? " per-channel" : " per-tensor") << ": max |qrt - PyTorch int8| " << diff
                      << ", max |PyTorch int8 - fp32| " << pt_err);
      }
}

}  // namespace
}  // namespace qrt::convert
