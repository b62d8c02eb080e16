// qrt-convert on sequence models against PyTorch 1.13
// (tests/parity/make_rnn_models.py, data in tests/data/converter/rnn/):
// nn.LSTM (1 and 2 layers, bidirectional, batch_first, initial state in
// and final state out, Linear head), nn.GRU (1 and 2 layers) and an
// nn.TransformerEncoderLayer, converted fp32 and --mode dynamic:
//   - the lowering: one op per direction, CONCATs for bidirectional
//     outputs, state inputs kept as graph inputs, MatMul + bias Add as one
//     dynamic FULLY_CONNECTED, attention's F.linear calls left float;
//   - every quantized weight's scales equal those of PyTorch's packed
//     weights (default_dynamic_qconfig and per_channel_dynamic_qconfig);
//   - end to end: fp32 within 1e-5 relative of PyTorch fp32; dynamic within
//     2% of PyTorch's own int8-vs-fp32 error of PyTorch's int8 outputs;
//   - streaming: 4 chunks of 16 steps with carried state = one 64-step call;
//   - unsupported LSTM/GRU forms are refused naming the node.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "converter/calibration.h"
#include "converter/convert_cli.h"
#include "converter/lower.h"
#include "converter/onnx_import.h"
#include "converter/passes.h"
#include "converter/quantize.h"
#include "npy.h"
#include "qrt/qrt.hpp"
#include "qrt/schema/qrt_generated.h"
#include "support/tool_command.h"
#include "run_cli.h"

namespace qrt::convert {
namespace {

namespace fs = std::filesystem;

std::string data(const std::string& rel) { return std::string(QRT_TEST_DATA_DIR) + "/converter/rnn/" + rel; }

using Arrays = std::map<std::string, tools::NpyArray>;

Arrays npz(const std::string& name) {
  std::vector<std::pair<std::string, tools::NpyArray>> arrays;
  std::string error;
  REQUIRE_MESSAGE(read_npz(data(name), &arrays, &error), error);
  return {arrays.begin(), arrays.end()};
}

std::vector<float> floats(const tools::NpyArray& a) {
  REQUIRE(a.dtype == "f4");
  std::vector<float> f(a.data.size() / 4);
  std::memcpy(f.data(), a.data.data(), a.data.size());
  return f;
}

uint32_t bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}

// Output name -> values, running the .qrt at `path` on inputs by name.
std::map<std::string, std::vector<float>> run_model(const std::string& path,
                                                    const std::map<std::string, std::vector<float>>& inputs) {
  Model model;
  Interpreter it;
  Status st = Model::from_file(path, &model);
  if (st) st = Interpreter::create(model, &it);
  REQUIRE_MESSAGE(st, st.message);
  for (const auto& input : inputs) {
    // Not structured bindings: C++17 lambdas (the doctest macros') cannot
    // capture them.
    const std::string& name = input.first;
    const auto& x = input.second;
    const int k = it.input_index(name);
    REQUIRE_MESSAGE(k >= 0, name);
    st = it.set_input(k, QRT_F32, x.data(), x.size() * 4);
    REQUIRE_MESSAGE(st, st.message);
  }
  st = it.invoke();
  REQUIRE_MESSAGE(st, st.message);
  std::map<std::string, std::vector<float>> out;
  for (int k = 0; k < it.output_count(); ++k) {
    qrt_tensor y;
    REQUIRE(it.output(k, &y));
    REQUIRE(y.dtype == QRT_F32);
    const float* f = static_cast<const float*>(y.data);
    out[y.name] = std::vector<float>(f, f + y.bytes / 4);
  }
  return out;
}

std::map<std::string, std::vector<float>> inputs_of(const std::string& model) {
  std::map<std::string, std::vector<float>> in;
  for (const auto& [name, a] : npz(model + "_in.npz")) in[name] = floats(a);
  return in;
}

using qrt::test::run_cli;

const char* const kModels[] = {"lstm1", "lstm2", "lstm_bi", "lstm_bf", "lstm_stream", "gru1", "gru2", "encoder"};

bool is_rnn(const std::string& model) { return model != "encoder"; }

// lstm_stream's sequence axis is dynamic (the streaming test converts it
// for 16 and 64 steps); the others are static.
std::vector<std::string> shape_args(const std::string& model) {
  return model == "lstm_stream" ? std::vector<std::string>{"--input-shape", "x=64,1,8"} : std::vector<std::string>{};
}

// What qrt-convert --mode dynamic does, short of loading the result.
LowerResult convert_graph(const std::string& model, bool dynamic, bool per_channel) {
  Graph g;
  std::string error;
  ImportOptions import;
  if (model == "lstm_stream") import.input_shapes["x"] = {64, 1, 8};
  REQUIRE_MESSAGE(import_onnx_file(data(model + ".onnx"), import, &g, &error), error);
  REQUIRE_MESSAGE(run_default_passes(g, &error), error);
  if (dynamic) {
    QuantizeConfig config = default_dynamic_qconfig(fb::Profile::Qnnpack);
    if (per_channel) config.weight.kind = ObserverKind::per_channel_min_max;
    REQUIRE_MESSAGE(quantize_dynamic(g, config, &error), error);
  }
  LowerOptions lo;
  lo.dynamic = dynamic;
  LowerResult r;
  REQUIRE_MESSAGE(lower_graph(g, lo, &r, &error), error);
  return r;
}

std::vector<const fb::Operator*> ops_of(const fb::SubGraph* sg, fb::OpCode code) {
  std::vector<const fb::Operator*> out;
  for (const fb::Operator* op : *sg->operators())
    if (op->opcode() == code) out.push_back(op);
  return out;
}

TEST_CASE("ONNX LSTM/GRU lower to one op per direction with ONNX's outputs") {
  SUBCASE("bidirectional: forward and reverse ops, CONCAT for Y only (Y_h, Y_c unused)") {
    const LowerResult r = convert_graph("lstm_bi", false, false);
    const fb::SubGraph* sg = fb::GetModel(r.model.data())->subgraphs()->Get(0);
    const auto lstm = ops_of(sg, fb::OpCode::LSTM);
    REQUIRE(lstm.size() == 2);
    CHECK_FALSE(lstm[0]->options_as_RnnOptions()->reverse());
    CHECK(lstm[1]->options_as_RnnOptions()->reverse());
    for (const fb::Operator* op : lstm) {
      CHECK(op->options_as_RnnOptions()->hidden_size() == 16);
      CHECK(op->outputs()->size() == 1);  // Y only: nothing reads the final states
      const fb::Tensor* w = sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(op->inputs()->Get(1)));
      CHECK(w->dtype() == fb::DType::F32);
      CHECK(w->shape()->Get(0) == 64);
      CHECK(w->shape()->Get(1) == 8);
    }
    CHECK(ops_of(sg, fb::OpCode::CONCAT).size() == 1);
  }
  SUBCASE("2 layers with state in and out: h0/c0 slices per direction, final states concatenated") {
    const LowerResult r = convert_graph("lstm_bf", false, false);
    const fb::SubGraph* sg = fb::GetModel(r.model.data())->subgraphs()->Get(0);
    CHECK(ops_of(sg, fb::OpCode::LSTM).size() == 4);
    for (const fb::Operator* op : ops_of(sg, fb::OpCode::LSTM)) {
      CHECK(op->inputs()->size() == 7);
      CHECK(op->outputs()->size() == 3);
    }
    CHECK(sg->inputs()->size() == 3);
  }
  SUBCASE("one direction: the state graph inputs feed the op directly, zero states are absent") {
    const LowerResult r = convert_graph("lstm_stream", false, false);
    const fb::SubGraph* sg = fb::GetModel(r.model.data())->subgraphs()->Get(0);
    const auto lstm = ops_of(sg, fb::OpCode::LSTM);
    REQUIRE(lstm.size() == 1);
    CHECK(lstm[0]->inputs()->Get(5) == sg->inputs()->Get(1));
    CHECK(lstm[0]->inputs()->Get(6) == sg->inputs()->Get(2));
    CHECK(ops_of(sg, fb::OpCode::SLICE).empty());
    const LowerResult z = convert_graph("lstm1", false, false);
    const fb::SubGraph* zg = fb::GetModel(z.model.data())->subgraphs()->Get(0);
    REQUIRE(ops_of(zg, fb::OpCode::LSTM).size() == 1);
    CHECK(ops_of(zg, fb::OpCode::LSTM)[0]->inputs()->size() == 5);  // X W R Wb Rb
  }
  SUBCASE("GRU keeps linear_before_reset") {
    const LowerResult r = convert_graph("gru2", false, false);
    const fb::SubGraph* sg = fb::GetModel(r.model.data())->subgraphs()->Get(0);
    const auto gru = ops_of(sg, fb::OpCode::GRU);
    REQUIRE(gru.size() == 2);
    for (const fb::Operator* op : gru) CHECK(op->options_as_RnnOptions()->linear_before_reset());
  }
}

TEST_CASE("--mode dynamic on a TransformerEncoderLayer quantizes linear1 and linear2 only, as quantize_dynamic") {
  const LowerResult r = convert_graph("encoder", true, false);
  const fb::SubGraph* sg = fb::GetModel(r.model.data())->subgraphs()->Get(0);
  CHECK(r.dynamic_ops == 2);
  std::vector<std::string> dynamic, float_fc;
  for (const fb::Operator* op : ops_of(sg, fb::OpCode::FULLY_CONNECTED)) {
    const fb::Tensor* w = sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(op->inputs()->Get(1)));
    (w->dtype() == fb::DType::S8 ? dynamic : float_fc).push_back(op->name()->str());
    // A dynamic linear's bias Add is folded into the op, as PyTorch's adds it.
    if (w->dtype() == fb::DType::S8) CHECK(op->inputs()->Get(2) >= 0);
  }
  CHECK(dynamic == std::vector<std::string>{"/layer/linear1/MatMul", "/layer/linear2/MatMul"});
  // in_proj (MatMul + Add) and out_proj (Gemm): F.linear inside MultiheadAttention.
  CHECK(float_fc == std::vector<std::string>{"/layer/self_attn/MatMul", "/layer/self_attn/Gemm"});
  // The ReLU between them is linear1's float output clamp, PyTorch's float F.relu.
  for (const fb::Operator* op : ops_of(sg, fb::OpCode::FULLY_CONNECTED))
    if (op->name()->str() == "/layer/linear1/MatMul") CHECK(op->options_as_FullyConnectedOptions()->act_min() == 0.f);
  int adds = 0;
  for (const fb::Operator* op : *sg->operators()) adds += op->opcode() == fb::OpCode::ADD;
  CHECK(adds == 2);  // the two residual adds (in_proj's float bias Add is its FC's bias)
  Graph g;
  std::string error;
  REQUIRE(import_onnx_file(data("encoder.onnx"), {}, &g, &error));
  REQUIRE(run_default_passes(g, &error));
  CHECK(functional_linears(g) == std::vector<std::string>{"/layer/self_attn/MatMul", "/layer/self_attn/Gemm"});
}

// scales.txt: "MODEL QCONFIG KIND INDEX NAME scale...".
struct Scales {
  std::string kind, name;
  int index = 0;
  std::vector<float> scale;
};

std::vector<Scales> expected_scales(const std::string& model, const std::string& qconfig) {
  std::ifstream in(data("scales.txt"));
  REQUIRE(in.good());
  std::vector<Scales> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string m, q, tok;
    Scales s;
    w >> m >> q >> s.kind >> s.index >> s.name;
    if (m != model || q != qconfig) continue;
    while (w >> tok) s.scale.push_back(std::strtof(tok.c_str(), nullptr));
    out.push_back(s);
  }
  return out;
}

TEST_CASE("--mode dynamic gives each LSTM/GRU/Linear weight the scales of PyTorch's packed weight") {
  int scales = 0, equal = 0, tensors = 0;
  for (const std::string model : kModels) {
    for (const bool per_channel : {false, true}) {
      CAPTURE(model);
      CAPTURE(per_channel);
      const std::vector<Scales> want = expected_scales(model, per_channel ? "per_channel" : "qnnpack");
      REQUIRE(!want.empty());
      const LowerResult r = convert_graph(model, true, per_channel);
      const fb::SubGraph* sg = fb::GetModel(r.model.data())->subgraphs()->Get(0);
      const auto rnn = ops_of(sg, is_rnn(model) && model.find("gru") == 0 ? fb::OpCode::GRU : fb::OpCode::LSTM);
      std::vector<const fb::Tensor*> linear;
      for (const fb::Operator* op : ops_of(sg, fb::OpCode::FULLY_CONNECTED)) {
        const fb::Tensor* w = sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(op->inputs()->Get(1)));
        if (w->dtype() == fb::DType::S8) linear.push_back(w);
      }
      size_t int8 = 0;
      for (const fb::Tensor* t : *sg->tensors()) int8 += t->dtype() == fb::DType::S8;
      CHECK(int8 == want.size());
      for (const Scales& s : want) {
        CAPTURE(s.kind);
        CAPTURE(s.index);
        CAPTURE(s.name);
        const fb::Tensor* t = nullptr;
        if (s.kind == "rnn") {
          REQUIRE(static_cast<size_t>(s.index) < rnn.size());
          const int k = s.name == "W" ? 1 : 2;
          t = sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(rnn[static_cast<size_t>(s.index)]->inputs()->Get(k)));
        } else {
          REQUIRE(static_cast<size_t>(s.index) < linear.size());
          t = linear[static_cast<size_t>(s.index)];
        }
        REQUIRE(t->dtype() == fb::DType::S8);
        const auto* q = t->quantization()->scale();
        REQUIRE(q->size() == s.scale.size());
        ++tensors;
        for (size_t i = 0; i < s.scale.size(); ++i) {
          ++scales;
          equal += bits(q->Get(static_cast<flatbuffers::uoffset_t>(i))) == bits(s.scale[i]);
          CHECK_MESSAGE(bits(q->Get(static_cast<flatbuffers::uoffset_t>(i))) == bits(s.scale[i]), "scale " << i);
        }
      }
    }
  }
  MESSAGE("dynamic weight scales equal to PyTorch's packed weights': " << equal << " of " << scales << " in "
                                                                       << tensors << " weight tensors");
}

// Largest |a - b| over all outputs and the largest |b|.
struct Diff {
  float max_abs = 0.f, max_ref = 0.f;
};

Diff diff(const std::map<std::string, std::vector<float>>& got, const Arrays& want) {
  Diff d;
  for (const auto& entry : want) {
    const std::string& name = entry.first;
    const auto& a = entry.second;
    CAPTURE(name);
    REQUIRE(got.count(name));
    const std::vector<float> w = floats(a);
    const std::vector<float>& y = got.at(name);
    REQUIRE(y.size() == w.size());
    for (size_t i = 0; i < y.size(); ++i) {
      d.max_abs = std::max(d.max_abs, std::fabs(y[i] - w[i]));
      d.max_ref = std::max(d.max_ref, std::fabs(w[i]));
    }
  }
  return d;
}

TEST_CASE("converted sequence models match PyTorch end to end") {
  test::TempDir tmp("qrt-rnn");
  for (const std::string model : kModels) {
    CAPTURE(model);
    const auto in = inputs_of(model);
    const std::string fp32 = tmp.file(model + ".qrt");
    std::vector<std::string> args = {data(model + ".onnx"), "-o", fp32, "-q"};
    const std::vector<std::string> shape = shape_args(model);
    args.insert(args.end(), shape.begin(), shape.end());
    REQUIRE(run_cli(args) == 0);
    const Diff f = diff(run_model(fp32, in), npz(model + "_fp32.npz"));
    CHECK(f.max_abs <= 1e-5f * f.max_ref);
    for (const std::string qconfig : {"qnnpack", "per_channel"}) {
      CAPTURE(qconfig);
      const std::string dyn = tmp.file(model + "_" + qconfig + ".qrt");
      std::vector<std::string> dargs = {data(model + ".onnx"), "-o", dyn, "--mode", "dynamic", "--per-channel",
                                        qconfig == "per_channel" ? "on" : "off", "-q"};
      dargs.insert(dargs.end(), shape.begin(), shape.end());
      REQUIRE(run_cli(dargs) == 0);
      const Arrays torch_int8 = npz(model + "_" + qconfig + ".npz");
      const Diff q = diff(run_model(dyn, in), torch_int8);
      // PyTorch's own int8 error against its fp32 outputs.
      std::map<std::string, std::vector<float>> int8;
      for (const auto& [name, a] : torch_int8) int8[name] = floats(a);
      const Diff quant_error = diff(int8, npz(model + "_fp32.npz"));
      CHECK(q.max_abs <= 0.02f * quant_error.max_abs);
      MESSAGE(model << " " << qconfig << ": fp32 max |qrt - torch| " << f.max_abs << " (largest |y| " << f.max_ref
                    << "); dynamic max |qrt - torch int8| " << q.max_abs << " = "
                    << 100.f * q.max_abs / quant_error.max_abs << "% of max |torch int8 - torch fp32| "
                    << quant_error.max_abs);
    }
  }
}

TEST_CASE("--mode dynamic --profile fbgemm: sequence models run near the float model") {
  test::TempDir tmp("qrt-rnn");
  for (const std::string model : {"lstm_bi", "gru2", "encoder"}) {
    CAPTURE(model);
    const std::string out = tmp.file(model + ".qrt");
    REQUIRE(run_cli({data(model + ".onnx"), "-o", out, "--mode", "dynamic", "--profile", "fbgemm", "-q"}) == 0);
    const Diff err = diff(run_model(out, inputs_of(model)), npz(model + "_fp32.npz"));
    std::map<std::string, std::vector<float>> torch_int8;
    for (const auto& [name, a] : npz(model + "_qnnpack.npz")) torch_int8[name] = floats(a);
    const Diff qnnpack_err = diff(torch_int8, npz(model + "_fp32.npz"));
    // 7-bit activations (reduce_range): about twice qnnpack's error, never an order more.
    CHECK(err.max_abs <= 4.f * qnnpack_err.max_abs);
    MESSAGE(model << ": fbgemm profile max |y - fp32| " << err.max_abs << ", PyTorch qnnpack's " << qnnpack_err.max_abs);
  }
}

TEST_CASE("ONNX-only forms: layout=1, bidirectional with state inputs, GRU with linear_before_reset=0") {
  test::TempDir tmp("qrt-rnn");
  for (const std::string model : {"onnx_lstm_0", "onnx_lstm_1", "onnx_gru_0", "onnx_gru_1"}) {
    CAPTURE(model);
    const std::string out = tmp.file(model + ".qrt");
    REQUIRE(run_cli({data(model + ".onnx"), "-o", out, "-q"}) == 0);
    const Diff d = diff(run_model(out, inputs_of(model)), npz(model + "_fp32.npz"));
    CHECK(d.max_abs <= 1e-5f * d.max_ref);
    MESSAGE(model << ": max |qrt - float64 ONNX reference| " << d.max_abs << " (largest |y| " << d.max_ref << ")");
  }
}

TEST_CASE("an LSTM fed 4 chunks of 16 steps with carried state equals one 64-step call") {
  test::TempDir tmp("qrt-rnn");
  const std::string whole = tmp.file("whole.qrt"), chunk = tmp.file("chunk.qrt");
  REQUIRE(run_cli({data("lstm_stream.onnx"), "-o", whole, "--input-shape", "x=64,1,8", "-q"}) == 0);
  REQUIRE(run_cli({data("lstm_stream.onnx"), "-o", chunk, "--input-shape", "x=16,1,8", "-q"}) == 0);
  auto in = inputs_of("lstm_stream");
  const auto want = run_model(whole, in);
  const std::vector<float> x = in.at("x");
  const size_t step = x.size() / 64;
  std::vector<float> y;
  for (int c = 0; c < 4; ++c) {
    in["x"].assign(x.begin() + static_cast<long>(c * 16 * step), x.begin() + static_cast<long>((c + 1) * 16 * step));
    const auto out = run_model(chunk, in);
    y.insert(y.end(), out.at("y").begin(), out.at("y").end());
    in["h0"] = out.at("hn");
    in["c0"] = out.at("cn");
  }
  CHECK(y == want.at("y"));
  CHECK(in["h0"] == want.at("hn"));
  CHECK(in["c0"] == want.at("cn"));
  MESSAGE("streaming: " << y.size() << " outputs and final h, c of 4 chunks of 16 steps equal to one 64-step call");
}

// lstm1.onnx with its LSTM node edited by `edit`, written to `path`.
void write_edited(const std::string& path, const std::function<void(onnx::NodeProto*, onnx::GraphProto*)>& edit) {
  onnx::ModelProto m;
  std::ifstream in(data("lstm1.onnx"), std::ios::binary);
  REQUIRE(m.ParseFromIstream(&in));
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.op_type() == "LSTM") edit(&n, m.mutable_graph());
  std::ofstream out(path, std::ios::binary);
  REQUIRE(m.SerializeToOstream(&out));
}

TEST_CASE("qrt-convert refuses unsupported LSTM forms naming the node, leaving no output") {
  test::TempDir tmp("qrt-rnn");
  const std::vector<std::string> command = {QRT_CONVERT_COMMAND};
  struct Case {
    const char* what;
    std::function<void(onnx::NodeProto*, onnx::GraphProto*)> edit;
    const char* message;
  };
  auto attr_f = [](onnx::NodeProto* n, const char* name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  };
  auto attr_i = [](onnx::NodeProto* n, const char* name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  };
  // A constant int32 initializer named `name` holding `values`.
  auto lens = [](onnx::GraphProto* g, const char* name, std::vector<int32_t> values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT32);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int32_t v : values) t->add_int32_data(v);
  };
  const std::vector<Case> cases = {
      {"clip", [&](onnx::NodeProto* n, onnx::GraphProto*) { attr_f(n, "clip", 3.f); }, "clip is not supported"},
      {"input_forget", [&](onnx::NodeProto* n, onnx::GraphProto*) { attr_i(n, "input_forget", 1); },
       "input_forget=1 is not supported"},
      {"activations",
       [&](onnx::NodeProto* n, onnx::GraphProto*) {
         auto* a = n->add_attribute();
         a->set_name("activations");
         a->set_type(onnx::AttributeProto::STRINGS);
         for (const char* s : {"Sigmoid", "Relu", "Tanh"}) a->add_strings(s);
       },
       "activations Sigmoid,Relu,Tanh are not supported"},
      {"peepholes",
       [&](onnx::NodeProto* n, onnx::GraphProto* g) {
         auto* t = g->add_initializer();
         t->set_name("P");
         t->set_data_type(onnx::TensorProto::FLOAT);
         t->add_dims(1);
         t->add_dims(48);
         for (int i = 0; i < 48; ++i) t->add_float_data(0.f);
         while (n->input_size() < 8) n->add_input("");
         n->set_input(7, "P");
       },
       "peephole weights"},
      {"sequence_lens",
       [&](onnx::NodeProto* n, onnx::GraphProto* g) {
         lens(g, "lens", {40});
         n->set_input(4, "lens");
       },
       "sequence_lens must be a constant equal to the sequence length (64)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const std::string in = tmp.file(std::string(c.what) + ".onnx"), out = tmp.file("out.qrt");
    write_edited(in, c.edit);
    const test::ToolResult r = test::run_tool(command, {in, "-o", out}, tmp);
    CHECK(r.code == 1);
    CHECK(r.err.find("node '/rnn/LSTM' (LSTM)") != std::string::npos);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(out));
  }
  // A constant sequence_lens that is the full length everywhere is accepted.
  const std::string full = tmp.file("full.onnx"), out = tmp.file("full.qrt");
  write_edited(full, [&](onnx::NodeProto* n, onnx::GraphProto* g) {
    lens(g, "lens", {64});
    n->set_input(4, "lens");
  });
  CHECK(test::run_tool(command, {full, "-o", out, "-q"}, tmp).code == 0);
  CHECK(fs::exists(out));
}

TEST_CASE("--keep-float takes globs over node names") {
  test::TempDir tmp("qrt-rnn");
  const std::vector<std::string> command = {QRT_CONVERT_COMMAND};
  const std::string out = tmp.file("m.qrt");
  const test::ToolResult r = test::run_tool(
      command, {data("encoder.onnx"), "-o", out, "--mode", "dynamic", "--keep-float", "*/linear2/*"}, tmp);
  CHECK(r.code == 0);
  CHECK(r.out.find("1 quantized dynamically") != std::string::npos);
  CHECK(r.out.find("F.linear inside a module") != std::string::npos);
  const test::ToolResult bad =
      test::run_tool(command, {data("encoder.onnx"), "-o", out, "--mode", "dynamic", "--keep-float", "*/nope/*"}, tmp);
  CHECK(bad.code == 1);
  CHECK(bad.err.find("'*/nope/*' matches no node") != std::string::npos);
}

}  // namespace
}  // namespace qrt::convert
