// GATHER's int8 table form (a u8 table [V, D], scale_bias f32 [V, 2], f32
// output) through the whole runtime: the rows it returns, the indices it
// refuses, and the models prepare refuses.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ref/embedding.h"
#include "support/op_runner.h"

namespace fb = qrt::fb;
using qrt::test::OpSpec;
using qrt::test::TensorSpec;

namespace {

qrt::convert::OpAttrs gather_axis(int32_t axis) {
  fb::GatherOptionsT o;
  o.axis = axis;
  fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

// Table rows 0..3 of 3 floats each, quantized as the converter does.
OpSpec table_spec(std::vector<int64_t> indices, std::vector<int32_t> index_shape) {
  const std::vector<float> table = {-1.f, 0.f, 2.f, 0.5f, 0.5f, 0.5f, 3.f, 4.f, 10.f, 0.f, -0.25f, 0.125f};
  std::vector<uint8_t> q(table.size());
  std::vector<float> sb(8);
  qrt::kernels::quantize_embedding_rows(table.data(), 4, 3, q.data(), sb.data());
  OpSpec spec;
  spec.code = fb::OpCode::GATHER;
  spec.attrs = gather_axis(0);
  TensorSpec data, idx, scale_bias, out;
  data.shape = {4, 3};
  data.dtype = fb::DType::U8;
  data.data = q;
  data.constant = true;
  idx.shape = std::move(index_shape);
  idx.dtype = fb::DType::I64;
  idx.data = qrt::test::bytes_of(indices);
  scale_bias.shape = {4, 2};
  scale_bias.data = qrt::test::bytes_of(sb);
  scale_bias.constant = true;
  out.shape = idx.shape;
  out.shape.push_back(3);
  spec.inputs = {data, idx, scale_bias};
  spec.outputs = {out};
  return spec;
}

void check_fails(const OpSpec& spec, qrt_status status, const char* fragment) {
  const qrt::test::OpResult r = qrt::test::run_op(spec);
  CHECK(r.status == status);
  CHECK_MESSAGE(r.error.find(fragment) != std::string::npos, "message: " << r.error);
}

TEST_CASE("GATHER int8 table: rows dequantized as they are gathered") {
  OpSpec spec = table_spec({3, -3, 1, 2}, {2, 2});
  const qrt::test::OpResult r = qrt::test::run_op(spec);
  REQUIRE_MESSAGE(r.status == QRT_OK, r.error);
  const std::vector<float> y = qrt::test::values_of<float>(r.outputs[0]);
  REQUIRE(y.size() == 12);
  // Each row's min and max come back exactly (q = 0 and 255); the constant
  // row 1 entirely.
  CHECK(y[1] == -0.25f);
  CHECK(y[2] == 0.125f);
  CHECK(y[3] == 0.5f);
  CHECK(y[5] == 0.5f);
  CHECK(y[6] == 0.5f);
  CHECK(y[8] == 0.5f);
  CHECK(y[9] == 3.f);
  CHECK(y[11] == 10.f);
}

TEST_CASE("GATHER int8 table: an index out of range fails, naming the tensor") {
  OpSpec spec = table_spec({0, 4}, {2});
  check_fails(spec, QRT_RUNTIME, "indices 'in1'[1] = 4 is outside [-4, 4)");
  spec.inputs[1].constant = true;
  check_fails(spec, QRT_INVALID_MODEL, "indices 'in1'[1] = 4 is outside [-4, 4)");
  spec = table_spec({-5}, {1});
  check_fails(spec, QRT_RUNTIME, "indices 'in1'[0] = -5 is outside [-4, 4)");
}

TEST_CASE("GATHER int8 table: prepare refuses what is not a u8 table with per-row scale and bias") {
  OpSpec spec = table_spec({0}, {1});
  spec.inputs[2].shape = {4, 3};
  spec.inputs[2].data.resize(4 * 3 * 4);
  check_fails(spec, QRT_INVALID_MODEL, "scale_bias 'in2' (4, 3) is not a constant f32 [4, 2]");
  spec = table_spec({0}, {1});
  spec.inputs[2].constant = false;
  check_fails(spec, QRT_INVALID_MODEL, "is not a constant f32 [4, 2]");
  spec = table_spec({0}, {1});
  spec.inputs[0].quant.scale = {0.1f};
  spec.inputs[0].quant.zero_point = {0};
  check_fails(spec, QRT_INVALID_MODEL, "must carry no quantization params");
  spec = table_spec({0}, {1});
  spec.outputs[0].dtype = fb::DType::U8;
  spec.outputs[0].quant = spec.inputs[0].quant;
  check_fails(spec, QRT_INVALID_MODEL, "output 'out0' is u8, expected f32");
  spec = table_spec({0}, {1});
  spec.attrs = gather_axis(1);
  check_fails(spec, QRT_INVALID_MODEL, "gathered on axis 0, not 1");
}

}  // namespace
