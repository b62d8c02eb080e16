// --mode dynamic against PyTorch 1.13's quantize_dynamic(model, {nn.Linear},
// dtype=torch.qint8) (tests/parity/make_dynamic_models.py): the docs' single
// Linear on a 4-D input (MatMul + Add in ONNX), and Linear+ReLU+Linear, also
// fused (LinearReLU):
//   - every Linear's weights get PyTorch's scales and int8 values, bit for
//     bit, per tensor (default_dynamic_qconfig, both profiles) and per
//     channel (per_channel_dynamic_qconfig); nothing else is quantized;
//   - the converted model gives PyTorch's float outputs (qnnpack engine)
//     bit for bit; the fbgemm profile runs and stays near the float model;
//   - qrt-convert's dynamic-mode options, refusals and its warning when
//     there is nothing to quantize.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "converter/calibration.h"
#include "converter/convert_cli.h"
#include "converter/lower.h"
#include "converter/passes.h"
#include "converter/quantize.h"
#include "npy.h"
#include "qrt/qrt.hpp"
#include "qrt/schema/qrt_generated.h"
#include "support/converted_model.h"
#include "support/tool_command.h"
#include "run_cli.h"

namespace qrt::convert {
namespace {

namespace fs = std::filesystem;

std::string data(const std::string& rel) { return std::string(QRT_TEST_DATA_DIR) + "/converter/dynamic/" + rel; }

const char* const kModels[] = {"linear", "mlp", "mlp_fused"};

// mlp_fused has mlp's weights and inputs.
std::string input_of(const std::string& model) { return model == "linear" ? "linear_x.npy" : "mlp_x.npy"; }

struct WeightScales {
  std::string weight;  // ONNX initializer name
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
};

// scales.txt lines of `model` for `qconfig` (qnnpack, fbgemm, per_channel),
// in the models' forward order.
std::vector<WeightScales> expected_scales(const std::string& model, const std::string& qconfig) {
  std::ifstream in(data("scales.txt"));
  REQUIRE(in.good());
  std::vector<WeightScales> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string m, q, tok;
    WeightScales s;
    w >> m >> q >> s.weight;
    if (m != model || q != qconfig) continue;
    bool zps = false;
    while (w >> tok) {
      if (tok == "|") zps = true;
      else if (zps) s.zero_point.push_back(std::stoll(tok));
      else s.scale.push_back(std::strtof(tok.c_str(), nullptr));
    }
    out.push_back(s);
  }
  REQUIRE(!out.empty());
  return out;
}

tools::NpyArray npy(const std::string& name) {
  tools::NpyArray a;
  std::string error;
  REQUIRE_MESSAGE(tools::read_npy(data(name), &a, &error), error);
  return a;
}

std::map<std::string, tools::NpyArray> npz(const std::string& name) {
  std::vector<std::pair<std::string, tools::NpyArray>> arrays;
  std::string error;
  REQUIRE_MESSAGE(read_npz(data(name), &arrays, &error), error);
  return {arrays.begin(), arrays.end()};
}

uint32_t bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}

// What qrt-convert --mode dynamic does, short of loading the result into
// the runtime.
LowerResult convert_dynamic(const std::string& model, fb::Profile profile, bool per_channel) {
  Graph g;
  std::string error;
  REQUIRE_MESSAGE(import_onnx_file(data(model + ".onnx"), {}, &g, &error), error);
  REQUIRE_MESSAGE(run_default_passes(g, &error), error);
  QuantizeConfig config = default_dynamic_qconfig(profile);
  if (per_channel) config.weight.kind = ObserverKind::per_channel_min_max;
  REQUIRE_MESSAGE(quantize_dynamic(g, config, &error), error);
  LowerOptions lo;
  lo.profile = profile;
  lo.dynamic = true;
  LowerResult r;
  REQUIRE_MESSAGE(lower_graph(g, lo, &r, &error), error);
  return r;
}

TEST_CASE("dynamic quantization gives PyTorch's weight scales and int8 weights bit for bit") {
  struct Case {
    const char* qconfig;
    fb::Profile profile;
    bool per_channel;
  };
  int scales = 0, scales_equal = 0, weights = 0, weights_equal = 0;
  for (const std::string model : kModels) {
    const auto wq = npz(model + "_wq.npz");
    for (const Case& c : {Case{"qnnpack", fb::Profile::Qnnpack, false}, Case{"fbgemm", fb::Profile::Fbgemm, false},
                          Case{"per_channel", fb::Profile::Qnnpack, true}}) {
      CAPTURE(model);
      const std::string qconfig = c.qconfig;
      CAPTURE(qconfig);
      const std::vector<WeightScales> want = expected_scales(model, c.qconfig);
      const LowerResult r = convert_dynamic(model, c.profile, c.per_channel);
      CHECK(r.dynamic_ops == static_cast<int>(want.size()));
      CHECK(r.quantized_ops == 0);
      const fb::Model* m = fb::GetModel(r.model.data());
      CHECK(m->profile() == c.profile);
      const fb::SubGraph* sg = m->subgraphs()->Get(0);
      for (size_t k = 0; k < want.size(); ++k) {
        const WeightScales& w = want[k];
        CAPTURE(w.weight);
        const fb::Tensor* t = test::find_tensor(sg, w.weight);
        REQUIRE(t != nullptr);
        CHECK(t->dtype() == fb::DType::S8);
        REQUIRE(t->quantization());
        const auto* s = t->quantization()->scale();
        REQUIRE(s->size() == w.scale.size());
        // As the runtime reads it (interpreter.cc): per channel when flagged or when more than one scale.
        CHECK((t->quantization()->per_channel() || s->size() > 1) == c.per_channel);
        for (size_t i = 0; i < w.scale.size(); ++i) {
          ++scales;
          scales_equal += bits(s->Get(i)) == bits(w.scale[i]);
          CHECK_MESSAGE(bits(s->Get(i)) == bits(w.scale[i]),
                        "channel " << i << ": " << s->Get(i) << ", PyTorch " << w.scale[i]);
        }
        for (int64_t z : *t->quantization()->zero_point()) CHECK(z == 0);
        // fbgemm's qconfig is the same as qnnpack's: the values are too.
        const std::string key = (c.per_channel ? "per_channel" : "qnnpack") + std::to_string(k);
        const tools::NpyArray& ref = wq.at(key);
        const auto* buf = m->buffers()->Get(t->buffer())->data();
        REQUIRE(buf->size() == ref.data.size());
        ++weights;
        weights_equal += std::memcmp(buf->data(), ref.data.data(), ref.data.size()) == 0;
        CHECK(std::memcmp(buf->data(), ref.data.data(), ref.data.size()) == 0);
      }
      // Everything else stays float: the only int8 tensors are the weights.
      size_t int8_tensors = 0;
      for (const fb::Tensor* t : *sg->tensors()) int8_tensors += t->dtype() != fb::DType::F32;
      CHECK(int8_tensors == want.size());
      // The ReLU after the first Linear is its fused clamp.
      if (model != "linear") {
        const fb::Operator* fc1 = sg->operators()->Get(0);
        REQUIRE(fc1->opcode() == fb::OpCode::FULLY_CONNECTED);
        CHECK(fc1->options_as_FullyConnectedOptions()->act_min() == 0.f);
        CHECK(sg->operators()->size() == 2);
      }
    }
  }
  MESSAGE("weight scales equal to PyTorch's: " << scales_equal << " of " << scales
                                                << "; int8 weight tensors equal: " << weights_equal << " of "
                                                << weights);
}

// The model's single output on input x, through the C API.
std::vector<float> run_model(const std::string& path, const tools::NpyArray& x) {
  Model model;
  Interpreter it;
  Status st = Model::from_file(path, &model);
  if (st) st = Interpreter::create(model, &it);
  if (st) st = it.set_input(0, QRT_F32, x.data.data(), x.data.size());
  if (st) st = it.invoke();
  qrt_tensor y;
  if (st) st = it.output(0, &y);
  REQUIRE_MESSAGE(st, st.message);
  REQUIRE(y.dtype == QRT_F32);
  const float* f = static_cast<const float*>(y.data);
  return {f, f + y.bytes / 4};
}

using qrt::test::run_cli;

std::vector<float> floats(const tools::NpyArray& a) {
  REQUIRE(a.dtype == "f4");
  std::vector<float> f(a.data.size() / 4);
  std::memcpy(f.data(), a.data.data(), a.data.size());
  return f;
}

// Distance in representable floats (same-sign values; 0 when equal).
int64_t ulps(float a, float b) {
  auto key = [](float v) {
    const int64_t u = bits(v);
    return u & 0x80000000 ? -(u & 0x7fffffff) : u;
  };
  return std::llabs(key(a) - key(b));
}

TEST_CASE("qrt-convert --mode dynamic reproduces PyTorch's dynamically quantized outputs (qnnpack)") {
  test::TempDir tmp("qrt-dynamic");
  size_t total = 0, exact = 0;
  int64_t worst = 0;
  for (const std::string model : kModels) {
    for (bool per_channel : {false, true}) {
      CAPTURE(model);
      CAPTURE(per_channel);
      const std::string out = tmp.file(model + ".qrt");
      REQUIRE(run_cli({data(model + ".onnx"), "-o", out, "--mode", "dynamic", "--profile", "qnnpack",
                       "--per-channel", per_channel ? "on" : "off", "-q"}) == 0);
      const std::vector<float> y = run_model(out, npy(input_of(model)));
      const std::vector<float> want =
          floats(npy(model + (per_channel ? "_y_qnnpack_per_channel.npy" : "_y_qnnpack.npy")));
      REQUIRE(y.size() == want.size());
      size_t same = 0;
      int64_t far = 0;
      for (size_t i = 0; i < y.size(); ++i) {
        same += bits(y[i]) == bits(want[i]);
        far = std::max(far, ulps(y[i], want[i]));
      }
      CHECK_MESSAGE(same == y.size(), same << " of " << y.size() << " outputs bit-exact, worst " << far << " ulp");
      total += y.size();
      exact += same;
      worst = std::max(worst, far);
    }
  }
  MESSAGE("qnnpack outputs bit-exact with PyTorch: " << exact << " of " << total << " (max " << worst << " ulp)");
}

TEST_CASE("qrt-convert --mode dynamic --profile fbgemm converts and runs near the float model") {
  test::TempDir tmp("qrt-dynamic");
  for (const std::string model : kModels) {
    CAPTURE(model);
    const std::string out = tmp.file("fb.qrt"), report = tmp.file("fb.json");
    REQUIRE(run_cli({data(model + ".onnx"), "-o", out, "--mode", "dynamic", "--profile", "fbgemm",
                     "--report-json", report, "-q"}) == 0);
    const std::string json = test::slurp_text(report);
    CHECK(json.find("\"mode\": \"dynamic\"") != std::string::npos);
    CHECK(json.find(std::string("\"dynamic\": ") + (model == "linear" ? "1" : "2")) !=
          std::string::npos);
    const std::vector<float> y = run_model(out, npy(input_of(model)));
    const std::vector<float> fp32 = floats(npy(model + "_y_fp32.npy"));
    const std::vector<float> qnnpack = floats(npy(model + "_y_qnnpack.npy"));
    REQUIRE(y.size() == fp32.size());
    // fbgemm quantizes activations to 7 bits (reduce_range): about twice
    // qnnpack's error against the float model, never an order more.
    float err = 0.f, qnnpack_err = 0.f;
    for (size_t i = 0; i < y.size(); ++i) {
      err = std::max(err, std::fabs(y[i] - fp32[i]));
      qnnpack_err = std::max(qnnpack_err, std::fabs(qnnpack[i] - fp32[i]));
    }
    CHECK(err <= 4.f * qnnpack_err);
    MESSAGE(model << ": fbgemm profile max |y - fp32| " << err << ", PyTorch qnnpack's " << qnnpack_err);
  }
}

TEST_CASE("qrt-convert --mode dynamic options and refusals") {
  test::TempDir tmp("qrt-dynamic");
  const std::vector<std::string> command = {QRT_CONVERT_COMMAND};
  const std::string out = tmp.file("m.qrt");
  auto convert = [&](const std::string& model, std::vector<std::string> extra) {
    std::vector<std::string> args = {data(model + ".onnx"), "-o", out, "--mode", "dynamic"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_tool(command, args, tmp);
  };
  SUBCASE("static-only options are usage errors") {
    for (std::vector<std::string> extra :
         {std::vector<std::string>{"--calib", data("mlp_x.npy")}, {"--calib-batch", "2"}, {"--observer", "minmax"},
          {"--percentile", "99.9"}, {"--reduce-range", "on"}, {"--histogram-compat", "torch1.13"}}) {
      CAPTURE(extra[0]);
      const test::ToolResult r = convert("mlp", extra);
      CHECK(r.code == 2);
      CHECK(r.err.find(extra[0] + " applies to --mode static only") != std::string::npos);
      CHECK(r.err.find("no calibration") != std::string::npos);
      CHECK_FALSE(fs::exists(out));
    }
  }
  SUBCASE("fp32 mode refuses the weight options, naming both modes") {
    const test::ToolResult r = test::run_tool(command, {data("mlp.onnx"), "-o", out, "--per-channel", "on"}, tmp);
    CHECK(r.code == 2);
    CHECK(r.err.find("--per-channel applies to --mode static or dynamic only") != std::string::npos);
  }
  SUBCASE("the report counts the ops quantized dynamically") {
    const test::ToolResult r = convert("linear", {"--profile", "qnnpack"});
    CHECK(r.code == 0);
    // MatMul + bias Add -> one FULLY_CONNECTED with int8 weights and the bias.
    CHECK(r.out.find("1 ops (1 quantized dynamically, 0 float)") != std::string::npos);
    CHECK(r.err.empty());
  }
  SUBCASE("--keep-float keeps a Linear in float") {
    const test::ToolResult r = convert("mlp", {"--keep-float", "/fc2/Gemm,/relu/Relu", "--per-channel", "on"});
    CHECK(r.code == 0);
    CHECK(r.out.find("(1 quantized dynamically, 1 float)") != std::string::npos);
    const test::ToolResult bad = convert("mlp", {"--keep-float", "/no/Gemm"});
    CHECK(bad.code == 1);
    CHECK(bad.err.find("'/no/Gemm'") != std::string::npos);
  }
  SUBCASE("a model without Linear converts with a warning") {
    const test::ToolResult r = convert("conv", {});
    CHECK(r.code == 0);
    CHECK(r.out.find("(0 quantized dynamically, 1 float)") != std::string::npos);
    CHECK(r.err.find("warning: --mode dynamic quantized nothing") != std::string::npos);
    CHECK(fs::exists(out));
    CHECK(convert("conv", {"-q"}).err.empty());
  }
}

}  // namespace
}  // namespace qrt::convert
