// Where static quantization observes, on small hand-built graphs: the eager
// placement rules of quantize.h, one rule per case.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "converter/calibrate.h"
#include "converter/quantize.h"
#include "npy.h"

namespace qrt::convert {
namespace {

struct Builder {
  Graph g;

  int value(const std::string& name, std::vector<int64_t> shape, bool constant = false) {
    Value v;
    v.name = name;
    v.shape = std::move(shape);
    if (constant) {
      v.is_constant = true;
      v.data.assign(v.elements() * 4, 0);
      for (size_t i = 0; i < v.elements(); ++i) v.as<float>()[i] = 0.01f * static_cast<float>(i % 17) - 0.05f;
    }
    return g.add_value(std::move(v));
  }
  int input(const std::string& name, std::vector<int64_t> shape) {
    const int v = value(name, std::move(shape));
    g.inputs.push_back(v);
    return v;
  }
  int node(const std::string& op, std::vector<int> inputs, const std::string& out, std::vector<int64_t> shape) {
    Node n;
    n.name = op + "_" + out;
    n.op = op;
    n.inputs = std::move(inputs);
    n.outputs = {value(out, std::move(shape))};
    g.nodes.push_back(std::move(n));
    g.link();
    return g.nodes.back().outputs[0];
  }
  int conv(int x, const std::string& out, int64_t cin = 4) {
    const int w = value(out + ".w", {4, cin, 1, 1}, true);
    return node("Conv", {x, w}, out, {1, 4, 8, 8});
  }
  void output(int v) { g.outputs.push_back(v); }

  QuantPlan plan(const QuantizeConfig& c = default_qconfig(fb::Profile::Qnnpack)) {
    QuantPlan p;
    std::string error;
    REQUIRE_MESSAGE(plan_static_quantization(g, c, &p, &error), error);
    return p;
  }
};

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

using Names = std::vector<std::string>;

TEST_CASE("plan: a fused ConvReLU is observed after the ReLU; pooling and flatten keep it") {
  Builder b;
  const int x = b.input("x", {1, 4, 8, 8});
  const int c = b.conv(x, "c");
  const int r = b.node("Relu", {c}, "r", {1, 4, 8, 8});
  const int mp = b.node("MaxPool", {r}, "mp", {1, 4, 4, 4});
  const int gp = b.node("GlobalAveragePool", {mp}, "gp", {1, 4, 1, 1});
  const int f = b.node("Flatten", {gp}, "f", {1, 4});
  const int w = b.value("fc.w", {3, 4}, true);
  const int fc = b.node("Gemm", {f, w}, "fc", {1, 3});
  b.g.nodes.back().attrs["transB"].kind = Attribute::Kind::i;
  b.g.nodes.back().attrs["transB"].i = 1;
  b.output(fc);
  const QuantPlan p = b.plan();
  CHECK(p.observed == Names{"x", "r", "fc"});
  CHECK(p.aliases == std::vector<std::pair<std::string, std::string>>{{"mp", "r"}, {"gp", "mp"}, {"f", "gp"}});
  REQUIRE(p.weights.size() == 2);
  CHECK(p.weights[0].name == "c.w");
  CHECK(p.weights[1].axis == 0);
  CHECK(p.float_nodes.empty());
}

TEST_CASE("plan: ReLU6 (Clip) keeps the conv's observer; add_relu observes after the ReLU") {
  Builder b;
  const int x = b.input("x", {1, 4, 8, 8});
  const int c1 = b.conv(x, "c1");
  const int six = b.value("six", {}, true);
  b.g.values[static_cast<size_t>(six)].as<float>()[0] = 6.f;
  const int zero = b.value("zero", {}, true);
  b.g.values[static_cast<size_t>(zero)].as<float>()[0] = 0.f;
  const int clip = b.node("Clip", {c1, zero, six}, "clip", {1, 4, 8, 8});
  const int c2 = b.conv(clip, "c2");
  const int add = b.node("Add", {c2, clip}, "add", {1, 4, 8, 8});
  const int r = b.node("Relu", {add}, "r", {1, 4, 8, 8});
  b.output(r);
  const QuantPlan p = b.plan();
  CHECK(p.observed == Names{"x", "c1", "c2", "r"});
  CHECK(p.aliases == std::vector<std::pair<std::string, std::string>>{{"clip", "c1"}});
}

TEST_CASE("plan: a chunk (Split or Slice) of a quantized tensor keeps its params, as PyTorch's views do") {
  // ShuffleNetV2's x.chunk(2, dim=1): one half goes on to a conv, the other
  // straight into the cat; neither half gets an observer of its own.
  Builder b;
  const int x = b.input("x", {1, 8, 8, 8});
  const int c = b.conv(x, "c", 8);
  b.g.values[static_cast<size_t>(c)].shape = {1, 8, 8, 8};
  const int split = b.node("Split", {c}, "h1", {1, 4, 8, 8});
  b.g.nodes.back().outputs.push_back(b.value("h2", {1, 4, 8, 8}));
  b.g.link();
  const int h2 = b.g.nodes.back().outputs[1];
  const int c2 = b.conv(h2, "c2");
  const int cat = b.node("Concat", {split, c2}, "cat", {1, 8, 8, 8});
  const int s = b.node("Slice", {cat}, "s", {1, 4, 8, 8});
  const int c3 = b.conv(s, "c3");
  b.output(c3);
  const QuantPlan p = b.plan();
  CHECK(p.observed == Names{"x", "c", "c2", "cat", "c3"});
  CHECK(p.aliases ==
        std::vector<std::pair<std::string, std::string>>{{"h1", "c"}, {"h2", "c"}, {"s", "cat"}});
  CHECK(p.float_nodes.empty());
}

TEST_CASE("plan: a squeeze-excitation Mul broadcasts quantized; a broadcasting Add stays float") {
  Builder b;
  const int x = b.input("x", {1, 4, 8, 8});
  const int c = b.conv(x, "c");
  const int gp = b.node("GlobalAveragePool", {c}, "gp", {1, 4, 1, 1});
  const int se = b.node("Sigmoid", {gp}, "se", {1, 4, 1, 1});
  const int mul = b.node("Mul", {se, c}, "mul", {1, 4, 8, 8});
  const int add = b.node("Add", {mul, gp}, "add", {1, 4, 8, 8});
  b.output(add);
  const QuantPlan p = b.plan();
  CHECK(has(p.quantized_nodes, "Mul_mul"));
  CHECK(p.observed == Names{"x", "c", "mul"});
  CHECK(p.float_nodes == Names{"Add_add"});
}

TEST_CASE("plan: float ops are dequantized, and their outputs re-quantized where a quantized op reads them") {
  Builder b;
  const int x = b.input("x", {1, 4, 8, 8});
  const int c1 = b.conv(x, "c1");
  const int sm = b.node("Softmax", {c1}, "sm", {1, 4, 8, 8});
  const int mp = b.node("MaxPool", {sm}, "mp", {1, 4, 4, 4});
  const int c2 = b.conv(mp, "c2");
  const int sm2 = b.node("Softmax", {c2}, "sm2", {1, 4, 4, 4});
  const int f = b.node("Flatten", {sm2}, "f", {1, 64});
  b.output(f);
  const QuantPlan p = b.plan();
  // The softmax output is quantized as it is made (a QuantStub), so the max
  // pool runs quantized; the last softmax feeds nothing quantized.
  CHECK(p.observed == Names{"x", "c1", "sm", "c2"});
  CHECK(p.float_nodes == Names{"Softmax_sm", "Softmax_sm2", "Flatten_f"});
  CHECK(has(p.quantized_nodes, "MaxPool_mp"));
}

TEST_CASE("plan: sigmoid and tanh take fixed params; a float-only graph observes nothing") {
  Builder b;
  const int x = b.input("x", {1, 4, 8, 8});
  const int c1 = b.conv(x, "c1");
  const int s = b.node("Sigmoid", {c1}, "s", {1, 4, 8, 8});
  const int t = b.node("Tanh", {s}, "t", {1, 4, 8, 8});
  b.output(t);
  const QuantPlan p = b.plan();
  CHECK(p.observed == Names{"x", "c1"});
  QuantTable table;
  resolve_aliases(p, &table);
  CHECK(table.at("s").scale == std::vector<float>{1.f / 256});
  CHECK(table.at("s").zero_point == std::vector<int64_t>{0});
  CHECK(table.at("t").scale == std::vector<float>{2.f / 256});
  CHECK(table.at("t").zero_point == std::vector<int64_t>{128});

  Builder f;
  const int y = f.input("y", {1, 4});
  f.output(f.node("Softmax", {y}, "sm", {1, 4}));
  const QuantPlan pf = f.plan();
  CHECK(pf.observed.empty());
  CHECK(pf.quantized_nodes.empty());
}

TEST_CASE("plan: --keep-float") {
  Builder b;
  const int x = b.input("x", {1, 4, 8, 8});
  const int c1 = b.conv(x, "c1");
  const int r = b.node("Relu", {c1}, "r", {1, 4, 8, 8});
  const int c2 = b.conv(r, "c2");
  const int c3 = b.conv(c2, "c3");
  b.output(c3);
  QuantizeConfig config = default_qconfig(fb::Profile::Fbgemm);
  config.keep_float = {"Conv_c2"};
  const QuantPlan p = b.plan(config);
  // c2 runs in float: its input is dequantized, its output quantized again.
  CHECK(p.observed == Names{"x", "r", "c2", "c3"});
  CHECK(p.float_nodes == Names{"Conv_c2"});
  CHECK(p.weights.size() == 2);
  config.keep_float = {"nope"};
  QuantPlan bad;
  std::string error;
  CHECK_FALSE(plan_static_quantization(b.g, config, &bad, &error));
  CHECK(error.find("'nope'") != std::string::npos);
}

TEST_CASE("a graph with fixed-param and float ops calibrates, lowers and runs") {
  Builder b;
  const int x = b.input("x", {1, 4, 8, 8});
  const int c1 = b.conv(x, "c1");
  const int s = b.node("Sigmoid", {c1}, "s", {1, 4, 8, 8});
  const int c2 = b.conv(s, "c2");
  const int sm = b.node("Softmax", {c2}, "sm", {1, 4, 8, 8});
  const int c3 = b.conv(sm, "c3");
  b.output(c3);
  b.g.opset = 13;
  const Graph planned = b.g;
  GraphFactory factory = [&](int64_t batch, Graph* g, std::string* error) {
    if (batch > 1) {
      *error = "batch 1 only";
      return false;
    }
    *g = planned;
    return true;
  };
  const auto dir = std::filesystem::temp_directory_path() / ("qrt-plan-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const uint32_t seed = 99;
  CAPTURE(seed);
  uint32_t state = seed;
  std::vector<float> sample(4 * 8 * 8);
  for (int k = 0; k < 3; ++k) {
    for (float& v : sample) {
      state = state * 1664525u + 1013904223u;
      v = static_cast<float>(state >> 8) / 16777216.f * 4.f - 2.f;
    }
    tools::NpyArray a{"f4", {4, 8, 8}, std::vector<uint8_t>(sample.size() * 4)};
    std::memcpy(a.data.data(), sample.data(), a.data.size());
    std::string error;
    REQUIRE(tools::write_npy((dir / ("s" + std::to_string(k) + ".npy")).string(), a, &error));
  }
  for (fb::Profile profile : {fb::Profile::Qnnpack, fb::Profile::Fbgemm}) {
    StaticQuantization sq;
    std::string error;
    REQUIRE_MESSAGE(quantize_static(factory, default_qconfig(profile), {dir.string()}, 0, false, &sq, &error),
                    error);
    CHECK(sq.data.batches() == 3);
    CHECK(sq.float_nodes == std::set<std::string>{"Softmax_sm"});
    CHECK(sq.table.at("s").scale[0] == 1.f / 256);
    std::vector<LayerError> layers;
    auto apply = [&](Graph& g, std::string* e) { return apply_quantization(g, sq.table, e); };
    REQUIRE_MESSAGE(measure_sqnr(factory, apply, sq.float_nodes, profile, sq.data, false, &layers, &error), error);
    REQUIRE(layers.size() == 6);  // x, c1, s, c2, sm (re-quantized), c3
    for (const LayerError& l : layers) {
      CAPTURE(l.name);
      CHECK(l.sqnr_db > 15.0);
    }
    CHECK(layers.front().sqnr_db <= layers.back().sqnr_db);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("presets are PyTorch's default qconfigs") {
  const QuantizeConfig q = default_qconfig(fb::Profile::Qnnpack);
  CHECK(q.activation.kind == ObserverKind::histogram);
  CHECK_FALSE(q.activation.reduce_range);
  CHECK(q.weight.kind == ObserverKind::min_max);
  CHECK(q.weight.qint8);
  CHECK(q.weight.scheme == QScheme::symmetric);
  const QuantizeConfig f = default_qconfig(fb::Profile::Fbgemm);
  CHECK(f.activation.reduce_range);
  CHECK(f.weight.kind == ObserverKind::per_channel_min_max);
  CHECK(f.activation.histogram_range == HistogramRange::exact);
}

}  // namespace
}  // namespace qrt::convert
