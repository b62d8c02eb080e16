// --mode static against PyTorch 1.13 eager mode on a small CNN (Conv+BN+ReLU,
// MaxPool, Conv+BN -> ReLU6, residual add_relu, AdaptiveAvgPool2d, Linear;
// tests/parity/make_converter_models.py):
//   - fed the float tensors PyTorch's observers saw, the plan observes the
//     same tensors and every scale and zero point is PyTorch's, bit for bit
//     (qnnpack and fbgemm presets);
//   - the int8 model built from those qparams gives PyTorch's quantized
//     bytes (qnnpack engine) for every tensor on held-out inputs;
//   - calibrating with the runtime's own fp32 kernels, scales stay within a
//     few float32 ulps (the kernels do not round like PyTorch's oneDNN ones);
//   - qrt-convert's command line, and its errors on bad calibration data.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

#include "converter/calibrate.h"
#include "converter/convert_cli.h"
#include "converter/lower.h"
#include "converter/quantize.h"
#include "npy.h"
#include "qrt/qrt.h"
#include "run_cli.h"

namespace qrt::convert {
namespace {

namespace fs = std::filesystem;

std::string data(const std::string& rel) { return std::string(QRT_TEST_DATA_DIR) + "/converter/" + rel; }
std::string onnx_path() { return data("small_cnn.onnx"); }

struct Expected {
  std::map<std::string, QuantParams> act, weight;
  std::map<std::string, std::string> heldout;  // value name -> key in the heldout .npz
};

Expected load_expected(const std::string& profile) {
  Expected e;
  std::ifstream in(data("small_cnn_" + profile + ".txt"));
  REQUIRE(in.good());
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string kind, name, tok;
    w >> kind >> name;
    if (kind == "heldout") {
      w >> e.heldout[name];
      continue;
    }
    QuantParams q;
    bool zps = false;
    while (w >> tok) {
      if (tok == "|") zps = true;
      else if (zps) q.zero_point.push_back(std::stoll(tok));
      else q.scale.push_back(std::strtof(tok.c_str(), nullptr));
    }
    (kind == "act" ? e.act : e.weight)[name] = q;
  }
  REQUIRE(!e.act.empty());
  return e;
}

QuantizeConfig config_for(const std::string& profile) {
  QuantizeConfig c = default_qconfig(profile == "fbgemm" ? fb::Profile::Fbgemm : fb::Profile::Qnnpack);
  c.activation.histogram_range = HistogramRange::torch113;  // the oracle is 1.13
  return c;
}

int32_t ulps(float a, float b) {
  int32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x - y;
}

// Every scale and zero point of `want` in `got`, within `max_ulps`.
void check_table(const QuantTable& got, const std::map<std::string, QuantParams>& want, int max_ulps) {
  for (const auto& entry : want) {
    // Not structured bindings: C++17 lambdas (the doctest macros') cannot
    // capture them.
    const std::string& name = entry.first;
    const QuantParams& q = entry.second;
    CAPTURE(name);
    auto it = got.find(name);
    REQUIRE_MESSAGE(it != got.end(), "no qparams for '" << name << "'");
    REQUIRE(it->second.scale.size() == q.scale.size());
    for (size_t c = 0; c < q.scale.size(); ++c) {
      CAPTURE(c);
      CHECK_MESSAGE(std::abs(ulps(it->second.scale[c], q.scale[c])) <= max_ulps,
                    "scale " << it->second.scale[c] << ", PyTorch " << q.scale[c]);
    }
    CHECK(it->second.zero_point == q.zero_point);
  }
}

std::map<std::string, tools::NpyArray> npz_map(const std::string& path) {
  std::vector<std::pair<std::string, tools::NpyArray>> arrays;
  std::string error;
  REQUIRE_MESSAGE(read_npz(path, &arrays, &error), error);
  std::map<std::string, tools::NpyArray> m;
  for (auto& kv : arrays) m[kv.first] = std::move(kv.second);
  return m;
}

// The plan, and the qparams it gets when every observer is fed exactly what
// PyTorch's corresponding observer was fed.
QuantTable table_from_pytorch_activations(const std::string& profile, QuantPlan* plan) {
  const QuantizeConfig config = config_for(profile);
  Graph g;
  std::string error;
  REQUIRE_MESSAGE(onnx_graph_factory(onnx_path(), {})(0, &g, &error), error);
  REQUIRE_MESSAGE(plan_static_quantization(g, config, plan, &error), error);

  std::map<std::string, std::string> key_of;  // value name -> npz key
  std::ifstream in(data("small_cnn_observed/observed.txt"));
  std::string key, name;
  while (in >> key >> name) key_of[name] = key;
  // The placement check: the plan observes exactly the tensors PyTorch does.
  std::set<std::string> observed(plan->observed.begin(), plan->observed.end()), torch;
  for (const auto& kv : key_of) torch.insert(kv.first);
  CHECK(observed == torch);

  std::vector<Observer> obs(plan->observed.size());
  for (Observer& o : obs) REQUIRE(make_observer(config.activation, &o, &error));
  for (int b = 0; b < 4; ++b) {
    char file[64];
    std::snprintf(file, sizeof(file), "small_cnn_observed/batch_%02d.npz", b);
    auto arrays = npz_map(data(file));
    for (size_t i = 0; i < plan->observed.size(); ++i) {
      const tools::NpyArray& a = arrays.at(key_of.at(plan->observed[i]));
      REQUIRE(a.dtype == "f4");
      REQUIRE_MESSAGE(observe(obs[i], reinterpret_cast<const float*>(a.data.data()), a.shape, &error), error);
    }
  }
  QuantTable table;
  for (size_t i = 0; i < obs.size(); ++i) table[plan->observed[i]] = calculate_qparams(obs[i]);
  REQUIRE_MESSAGE(observe_weights(g, *plan, config, &table, &error), error);
  resolve_aliases(*plan, &table);
  return table;
}

TEST_CASE("static quantization places observers and computes qparams as PyTorch eager mode") {
  for (const char* profile : {"qnnpack", "fbgemm"}) {
    CAPTURE(profile);
    const Expected e = load_expected(profile);
    QuantPlan plan;
    const QuantTable table = table_from_pytorch_activations(profile, &plan);
    check_table(table, e.act, 0);
    check_table(table, e.weight, 0);
    CHECK(table.size() == e.act.size() + e.weight.size());
    CHECK(plan.float_nodes.empty());
    if (std::string(profile) == "fbgemm") {
      const QuantParams& w = table.at("conv2.weight");
      CHECK(w.scale.size() == 8);  // per channel
      const QuantParams& a = table.at("x");
      CHECK(a.zero_point[0] <= 127);  // reduce_range: 0..127
    }
  }
}

struct Model {
  std::vector<uint8_t> bytes;
  qrt_model* model = nullptr;
  qrt_interpreter* it = nullptr;
  ~Model() {
    qrt_interpreter_free(it);
    qrt_model_free(model);
  }
  void load(std::vector<uint8_t> b) {
    bytes = std::move(b);
    REQUIRE(reinterpret_cast<uintptr_t>(bytes.data()) % 16 == 0);
    REQUIRE_MESSAGE(qrt_model_from_buffer(bytes.data(), bytes.size(), &model) == QRT_OK, qrt_last_error());
    qrt_options o;
    qrt_options_init(&o);
    REQUIRE_MESSAGE(qrt_interpreter_create(model, &o, &it) == QRT_OK, qrt_last_error());
  }
  void run(const tools::NpyArray& x) {
    REQUIRE(qrt_set_input(it, 0, QRT_F32, x.data.data(), x.data.size()) == QRT_OK);
    REQUIRE_MESSAGE(qrt_invoke(it) == QRT_OK, qrt_last_error());
  }
};

tools::NpyArray heldout_input() {
  tools::NpyArray x;
  std::string error;
  REQUIRE_MESSAGE(tools::read_npy(data("small_cnn_heldout.npy"), &x, &error), error);
  return x;
}

TEST_CASE("the int8 model reproduces PyTorch's quantized tensors byte for byte (qnnpack)") {
  const Expected e = load_expected("qnnpack");
  QuantPlan plan;
  const QuantTable table = table_from_pytorch_activations("qnnpack", &plan);
  Graph g;
  std::string error;
  REQUIRE(onnx_graph_factory(onnx_path(), {})(0, &g, &error));
  REQUIRE_MESSAGE(apply_quantization(g, table, &error), error);
  // Every quantized tensor PyTorch recorded becomes an output (dequantized),
  // in graph order, so the first mismatch names the op at fault.
  g.outputs.clear();
  for (const Value& v : g.values)
    if (e.heldout.count(v.name) && v.producer >= 0) g.outputs.push_back(g.find_value(v.name));
  std::sort(g.outputs.begin(), g.outputs.end(), [&](int a, int b) {
    return g.values[static_cast<size_t>(a)].producer < g.values[static_cast<size_t>(b)].producer;
  });
  // All but the input and the conv output the fused ReLU6 clamps in place.
  REQUIRE(g.outputs.size() == e.heldout.size() - 2);
  LowerOptions lo;
  lo.profile = fb::Profile::Qnnpack;
  lo.keep_float.insert(plan.float_nodes.begin(), plan.float_nodes.end());
  LowerResult lowered;
  REQUIRE_MESSAGE(lower_graph(g, lo, &lowered, &error), error);
  CHECK(lowered.float_ops == 0);
  Model m;
  m.load(std::move(lowered.model));
  m.run(heldout_input());
  const auto want = npz_map(data("small_cnn_qnnpack_heldout.npz"));
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    const Value& v = g.values[static_cast<size_t>(g.outputs[k])];
    CAPTURE(v.name);
    qrt_tensor t;
    REQUIRE(qrt_output(m.it, static_cast<int32_t>(k), &t) == QRT_OK);
    const tools::NpyArray& ref = want.at(e.heldout.at(v.name));
    REQUIRE(ref.dtype == "u1");
    REQUIRE(t.bytes == ref.data.size() * 4);
    const float s = v.quant.scale[0];
    const int64_t zp = v.quant.zero_point[0];
    const float* y = static_cast<const float*>(t.data);
    size_t differ = 0, first = 0;
    for (size_t i = 0; i < ref.data.size(); ++i) {
      // The output is s * (q - zp); dividing back recovers q exactly.
      const int64_t q = zp + std::lrint(y[i] / s);
      if (q != ref.data[i] && differ++ == 0) first = i;
    }
    CHECK_MESSAGE(differ == 0, differ << " of " << ref.data.size() << " bytes differ, first at " << first
                                      << ": " << zp + std::lrint(y[first] / s) << " vs PyTorch "
                                      << int(ref.data[first]));
  }
}

GraphFactory small_cnn_factory() { return onnx_graph_factory(onnx_path(), {}); }

TEST_CASE("calibrating with the runtime's fp32 kernels stays within float rounding of PyTorch") {
  for (const char* profile : {"qnnpack", "fbgemm"}) {
    CAPTURE(profile);
    const Expected e = load_expected(profile);
    StaticQuantization sq;
    std::string error;
    REQUIRE_MESSAGE(quantize_static(small_cnn_factory(), config_for(profile), {data("small_cnn_calib")}, 0,
                                    false, &sq, &error),
                    error);
    CHECK(sq.data.batches() == 4);
    // Weights and the input do not go through any fp32 kernel: exact.
    check_table(sq.table, e.weight, 0);
    check_table(sq.table, {{"x", e.act.at("x")}}, 0);
    // Activations: the observed min/max differ by float32 rounding of the
    // runtime's conv/gemm sums, which moves a scale by an ulp or two.
    check_table(sq.table, e.act, 4);
  }
}

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("qrt-static-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

using qrt::test::run_cli;

void save(const std::string& path, const std::string& dtype, std::vector<int64_t> shape,
          const std::vector<uint8_t>& bytes) {
  tools::NpyArray a{dtype, std::move(shape), bytes};
  std::string error;
  REQUIRE_MESSAGE(tools::write_npy(path, a, &error), error);
}

std::vector<uint8_t> floats(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TEST_CASE("qrt-convert --mode static end to end") {
  TempDir tmp;
  const std::string out = tmp / "small.qrt", report = tmp / "report.json";
  REQUIRE(run_cli({onnx_path(), "-o", out, "--mode", "static", "--profile", "qnnpack", "--calib",
                   data("small_cnn_calib"), "--histogram-compat", "torch1.13", "--report-json", report,
                   "-q"}) == 0);
  REQUIRE(fs::exists(out));
  std::ifstream r(report);
  std::stringstream text;
  text << r.rdbuf();
  CHECK(text.str().find("\"sqnr_db\"") != std::string::npos);
  CHECK(text.str().find("\"fp32_bytes\"") != std::string::npos);

  std::ifstream f(out, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Model m;
  m.load(bytes);
  m.run(heldout_input());
  qrt_tensor y;
  REQUIRE(qrt_output(m.it, 0, &y) == QRT_OK);
  REQUIRE(y.dtype == QRT_F32);
  // Against PyTorch's int8 logits: the qparams differ by float rounding
  // only, so the dequantized outputs agree to a couple of quantization steps.
  const Expected e = load_expected("qnnpack");
  const auto want = npz_map(data("small_cnn_qnnpack_heldout.npz")).at(e.heldout.at("logits"));
  const QuantParams& q = e.act.at("logits");
  const float* yf = static_cast<const float*>(y.data);
  REQUIRE(y.bytes == want.data.size() * 4);
  for (size_t i = 0; i < want.data.size(); ++i) {
    const float ref = q.scale[0] * static_cast<float>(want.data[i] - q.zero_point[0]);
    CHECK(std::fabs(yf[i] - ref) <= 2.5f * q.scale[0]);
  }

  SUBCASE("every preset and observer converts") {
    for (std::vector<std::string> extra :
         {std::vector<std::string>{"--profile", "fbgemm"}, {"--observer", "minmax"},
          {"--observer", "moving-average", "--per-channel", "on"}, {"--observer", "percentile"},
          {"--reduce-range", "on", "--calib-batch", "3"}}) {
      std::vector<std::string> args = {onnx_path(), "-o", tmp / "v.qrt", "--mode", "static", "--calib",
                                       data("small_cnn_calib"), "-q"};
      args.insert(args.end(), extra.begin(), extra.end());
      CAPTURE(extra[1]);
      CHECK(run_cli(args) == 0);
    }
  }
  SUBCASE("--keep-float runs a node in float between DEQUANTIZE and QUANTIZE") {
    CHECK(run_cli({onnx_path(), "-o", tmp / "k.qrt", "--mode", "static", "--calib", data("small_cnn_calib"),
                   "--keep-float", "/conv3/Conv", "--report-json", tmp / "k.json", "-q"}) == 0);
    std::ifstream k(tmp / "k.json");
    std::stringstream t;
    t << k.rdbuf();
    CHECK(t.str().find("\"float\": 1,") != std::string::npos);
    CHECK(run_cli({onnx_path(), "-o", tmp / "k2.qrt", "--mode", "static", "--calib", data("small_cnn_calib"),
                   "--keep-float", "no_such_node", "-q"}) == 1);
    CHECK_FALSE(fs::exists(tmp / "k2.qrt"));
  }
}

TEST_CASE("qrt-convert refuses bad calibration data: exit 1 and no output") {
  TempDir tmp;
  const std::string out = tmp / "bad.qrt";
  auto convert_with = [&](const std::string& calib) {
    return run_cli({onnx_path(), "-o", out, "--mode", "static", "--calib", calib, "-q"});
  };
  const std::vector<float> sample(3 * 12 * 12, 0.5f);
  SUBCASE("wrong shape") {
    save(tmp / "wrong.npy", "f4", {2, 3, 10, 12}, floats(std::vector<float>(2 * 3 * 10 * 12, 0.f)));
    CHECK(convert_with(tmp / "wrong.npy") == 1);
  }
  SUBCASE("wrong dtype") {
    save(tmp / "f64.npy", "f8", {1, 3, 12, 12}, std::vector<uint8_t>(3 * 12 * 12 * 8, 0));
    CHECK(convert_with(tmp / "f64.npy") == 1);
  }
  SUBCASE("empty calibration folder") {
    fs::create_directories(tmp / "empty");
    CHECK(convert_with(tmp / "empty") == 1);
  }
  SUBCASE("no samples") {
    save(tmp / "none.npy", "f4", {0, 3, 12, 12}, {});
    CHECK(convert_with(tmp / "none.npy") == 1);
  }
  SUBCASE("NaN in the data") {
    std::vector<float> v = sample;
    v[77] = std::nanf("");
    save(tmp / "nan.npy", "f4", {3, 12, 12}, floats(v));
    CHECK(convert_with(tmp / "nan.npy") == 1);
  }
  SUBCASE("missing file") { CHECK(convert_with(tmp / "nope.npy") == 1); }
  SUBCASE("static mode without --calib is a usage error") {
    CHECK(run_cli({onnx_path(), "-o", out, "--mode", "static"}) == 2);
  }
  CHECK_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace qrt::convert
