// Writes the loader fuzzer's seed corpus into OUT_DIR: the tests' small CNNs,
// qrt-convert's output for the test ONNX models (fp32 and static), and one
// small model per operator the others lack, in f32 and u8, so the mutator
// starts from every op's prepare and kernel.
//   qrt-fuzz-seeds OUT_DIR TEST_DATA_DIR
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "convert_cli.h"
#include "model_builder.h"
#include "support/test_models.h"

namespace {

using qrt::convert::ModelBuilder;
using qrt::convert::OpAttrs;
using qrt::convert::QuantParams;
using qrt::fb::DType;
using qrt::fb::OpCode;
namespace fb = qrt::fb;

bool write(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

template <class T>
OpAttrs options(T table) {
  fb::OpOptionsUnion u;
  u.Set(std::move(table));
  return u;
}

struct OpSeed {
  const char* name;
  OpCode code;
  OpAttrs attrs;
  std::vector<std::vector<int32_t>> inputs;  // graph inputs
  std::vector<std::vector<int32_t>> outputs;
};

std::vector<OpSeed> op_seeds() {
  const std::vector<int32_t> x = {1, 4, 4, 4};
  std::vector<OpSeed> s;
  for (OpCode c : {OpCode::MUL, OpCode::SUB, OpCode::DIV, OpCode::MAXIMUM, OpCode::MINIMUM,
                   OpCode::POW})
    s.push_back({fb::EnumNameOpCode(c), c, options(fb::BinaryOptionsT{}), {x, {1, 1, 1, 4}}, {x}});
  for (OpCode c : {OpCode::SIGMOID, OpCode::TANH, OpCode::EXP, OpCode::LOG, OpCode::SQRT,
                   OpCode::NEG, OpCode::SILU, OpCode::ERF, OpCode::HARD_SWISH, OpCode::CAST})
    s.push_back({fb::EnumNameOpCode(c), c, {}, {x}, {x}});
  s.push_back({"GELU", OpCode::GELU, options(fb::GeluOptionsT{}), {x}, {x}});
  s.push_back({"HARD_SIGMOID", OpCode::HARD_SIGMOID, options(fb::HardSigmoidOptionsT{}), {x}, {x}});
  s.push_back({"LEAKY_RELU", OpCode::LEAKY_RELU, options(fb::LeakyReluOptionsT{}), {x}, {x}});
  fb::Pool2DOptionsT pool;
  pool.kernel_h = pool.kernel_w = 3;
  pool.stride_h = pool.stride_w = 2;
  pool.pad_top = pool.pad_left = pool.pad_bottom = pool.pad_right = 1;
  s.push_back({"AVG_POOL_2D", OpCode::AVG_POOL_2D, options(pool), {x}, {{1, 2, 2, 4}}});
  s.push_back({"ADAPTIVE_AVG_POOL_2D", OpCode::ADAPTIVE_AVG_POOL_2D, {}, {{1, 5, 7, 4}}, {{1, 2, 3, 4}}});
  s.push_back({"SOFTMAX", OpCode::SOFTMAX, options(fb::SoftmaxOptionsT{}), {x}, {x}});
  s.push_back({"LOG_SOFTMAX", OpCode::LOG_SOFTMAX, options(fb::SoftmaxOptionsT{}), {x}, {x}});
  s.push_back({"LAYER_NORM", OpCode::LAYER_NORM, options(fb::LayerNormOptionsT{}), {x}, {x}});
  fb::ReduceOptionsT reduce;
  reduce.axes = {1, 2};
  for (OpCode c : {OpCode::REDUCE_MEAN, OpCode::REDUCE_MAX, OpCode::REDUCE_SUM})
    s.push_back({fb::EnumNameOpCode(c), c, options(reduce), {x}, {{1, 1, 1, 4}}});
  s.push_back({"MATMUL", OpCode::MATMUL, {}, {{2, 3, 4}, {2, 4, 5}}, {{2, 3, 5}}});
  fb::ConcatOptionsT concat;
  concat.axis = 3;
  s.push_back({"CONCAT", OpCode::CONCAT, options(concat), {x, {1, 4, 4, 2}}, {{1, 4, 4, 6}}});
  fb::SplitOptionsT split;
  split.axis = 3;
  s.push_back({"SPLIT", OpCode::SPLIT, options(split), {x}, {{1, 4, 4, 1}, {1, 4, 4, 3}}});
  fb::TransposeOptionsT transpose;
  transpose.perm = {0, 3, 1, 2};
  s.push_back({"TRANSPOSE", OpCode::TRANSPOSE, options(transpose), {{1, 2, 3, 4}}, {{1, 4, 2, 3}}});
  fb::SliceOptionsT slice;
  slice.begin = {0, 3, 0, 1};
  slice.step = {1, -1, 2, 1};
  s.push_back({"SLICE", OpCode::SLICE, options(slice), {x}, {{1, 3, 2, 3}}});
  for (fb::PadMode mode : {fb::PadMode::CONSTANT, fb::PadMode::REFLECT, fb::PadMode::EDGE}) {
    fb::PadOptionsT pad;
    pad.pads = {0, 1, 2, 0, 0, 2, 1, 0};
    pad.mode = mode;
    pad.value = 0.5f;
    s.push_back({"PAD", OpCode::PAD, options(pad), {x}, {{1, 7, 7, 4}}});
  }
  for (fb::ResizeMode mode : {fb::ResizeMode::NEAREST, fb::ResizeMode::BILINEAR}) {
    fb::ResizeOptionsT resize;
    resize.mode = mode;
    s.push_back({"RESIZE", OpCode::RESIZE, options(resize), {x}, {{1, 8, 6, 4}}});
  }
  return s;
}

// One operator on graph inputs: all f32, or all u8 with the same params.
std::vector<uint8_t> op_model(const OpSeed& seed, bool quantized) {
  ModelBuilder b(quantized ? fb::Profile::Fbgemm : fb::Profile::Qnnpack);
  const DType dt = quantized ? DType::U8 : DType::F32;
  const QuantParams q = quantized ? QuantParams{{0.05f}, {128}, 0} : QuantParams{};
  std::vector<int32_t> ins, outs;
  for (size_t i = 0; i < seed.inputs.size(); ++i)
    ins.push_back(b.add_tensor("in" + std::to_string(i), seed.inputs[i], dt, q));
  for (size_t i = 0; i < seed.outputs.size(); ++i)
    outs.push_back(b.add_tensor("out" + std::to_string(i), seed.outputs[i],
                                seed.code == OpCode::CAST ? DType::I32 : dt, q));
  b.add_operator(seed.code, ins, outs, seed.attrs, seed.name);
  b.set_inputs(ins);
  b.set_outputs(outs);
  return b.finish();
}

// A gather on constant indices and a transposed conv: their second input is
// a constant, unlike the ops above.
std::vector<uint8_t> gather_model() {
  ModelBuilder b;
  int x = b.add_tensor("x", {5, 3}, DType::F32);
  int idx = b.add_constant_i32("idx", {2}, {4, -1});
  int y = b.add_tensor("y", {2, 3}, DType::F32);
  b.add_operator(OpCode::GATHER, {x, idx}, {y}, options(fb::GatherOptionsT{}), "gather");
  b.set_inputs({x});
  b.set_outputs({y});
  return b.finish();
}

std::vector<uint8_t> transpose_conv_model(bool quantized) {
  ModelBuilder b(fb::Profile::Qnnpack);
  const DType dt = quantized ? DType::U8 : DType::F32;
  const QuantParams q = quantized ? QuantParams{{0.05f}, {128}, 0} : QuantParams{};
  int x = b.add_tensor("x", {1, 3, 3, 2}, dt, q);
  std::vector<int8_t> w8(4 * 3 * 3 * 2);
  for (size_t i = 0; i < w8.size(); ++i) w8[i] = static_cast<int8_t>(i * 37 % 255 - 127);
  std::vector<float> wf(w8.begin(), w8.end());
  for (float& v : wf) v /= 256.f;
  int w = quantized ? b.add_constant_s8("w", {4, 3, 3, 2}, w8, QuantParams{{0.01f}, {0}, 0})
                    : b.add_constant_f32("w", {4, 3, 3, 2}, wf);
  int bias = b.add_constant_f32("b", {4}, {0.1f, -0.2f, 0.3f, 0.f});
  int y = b.add_tensor("y", {1, 6, 6, 4}, dt, q);
  fb::TransposeConv2DOptionsT o;
  o.stride_h = o.stride_w = 2;
  o.pad_top = o.pad_left = 1;
  b.add_operator(OpCode::TRANSPOSE_CONV_2D, {x, w, bias}, {y}, options(o), "deconv");
  b.set_inputs({x});
  b.set_outputs({y});
  return b.finish();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: qrt-fuzz-seeds OUT_DIR TEST_DATA_DIR\n");
    return 2;
  }
  const std::string out = argv[1], data = argv[2];
  bool ok = write(out + "/int8_cnn_fbgemm.qrt", qrt::test::int8_cnn(fb::Profile::Fbgemm)) &&
            write(out + "/int8_cnn_qnnpack.qrt", qrt::test::int8_cnn(fb::Profile::Qnnpack)) &&
            write(out + "/fp32_cnn.qrt", qrt::test::fp32_cnn()) &&
            write(out + "/gather.qrt", gather_model()) &&
            write(out + "/transpose_conv_f32.qrt", transpose_conv_model(false)) &&
            write(out + "/transpose_conv_u8.qrt", transpose_conv_model(true));
  int n = 0;
  for (const OpSeed& s : op_seeds())
    for (bool quantized : {false, true})
      ok = ok && write(out + "/op" + std::to_string(n++) + "_" + s.name + ".qrt", op_model(s, quantized));

  const std::string cnn = data + "/converter/small_cnn.onnx";
  const std::string digits = data + "/digits/digits_fp32.onnx";
  const std::vector<std::vector<std::string>> conversions = {
      {cnn, "-o", out + "/small_cnn_fp32.qrt"},
      {cnn, "-o", out + "/small_cnn_qnnpack.qrt", "--mode", "static", "--calib",
       data + "/converter/small_cnn_calib"},
      {digits, "-o", out + "/digits_fbgemm.qrt", "--input-shape", "image=1,1,8,8", "--mode",
       "static", "--profile", "fbgemm", "--calib", data + "/digits/one_image.npy", "--nhwc-io"},
      // An IF with its two branch subgraphs (data-dependent ONNX If).
      {data + "/converter/if/if.onnx", "-o", out + "/if_fp32.qrt"},
  };
  for (const auto& args : conversions) {
    std::vector<const char*> argv_c = {"qrt-convert", "-q"};
    for (const std::string& a : args) argv_c.push_back(a.c_str());
    ok = ok && qrt::convert::qrt_convert_main(static_cast<int>(argv_c.size()), argv_c.data()) == 0;
  }
  if (!ok) std::fprintf(stderr, "qrt-fuzz-seeds: could not write the seeds to %s\n", out.c_str());
  return ok ? 0 : 1;
}
