#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "model_builder.h"
#include "qrt/schema/qrt_generated.h"
#include "schema/format_version.h"

namespace {

namespace fb = qrt::fb;
using qrt::convert::AddAttrs;
using qrt::convert::ClampAttrs;
using qrt::convert::Conv2DAttrs;
using qrt::convert::ModelBuilder;
using qrt::convert::Pool2DAttrs;
using qrt::convert::QuantParams;
using qrt::convert::UnknownAttrs;

constexpr float kInf = std::numeric_limits<float>::infinity();

const fb::Model* verified_model(const std::vector<uint8_t>& bytes) {
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  REQUIRE(fb::VerifyModelBuffer(verifier));
  REQUIRE(fb::ModelBufferHasIdentifier(bytes.data()));
  return fb::GetModel(bytes.data());
}

template <typename T>
std::vector<T> to_vector(const flatbuffers::Vector<T>* v) {
  REQUIRE(v != nullptr);
  return std::vector<T>(v->begin(), v->end());
}

size_t offset_in(const std::vector<uint8_t>& bytes, const uint8_t* p) {
  return static_cast<size_t>(p - bytes.data());
}

}  // namespace

TEST_SUITE("model_builder") {

TEST_CASE("a small quantized graph round-trips") {
  ModelBuilder b(fb::Profile::Fbgemm);
  b.set_producer("qrt-convert test");
  b.set_description("conv-pool-gap-fc");

  const QuantParams act{{0.5f}, {3}};
  const int in = b.add_tensor("in", {1, 8, 8, 3}, fb::DType::F32);
  const int in_q = b.add_tensor("in_q", {1, 8, 8, 3}, fb::DType::U8, act);
  const std::vector<int8_t> w(4 * 3 * 3 * 3, -7);
  const int weights =
      b.add_constant_s8("conv.w", {4, 3, 3, 3}, w,
                        {{0.1f, 0.2f, 0.3f, 0.4f}, {0, 0, 0, 0}, 0});
  const int bias = b.add_constant_f32("conv.b", {4}, {1.f, -2.f, 3.5f, 0.f});
  const int conv_out = b.add_tensor("conv", {1, 4, 4, 4}, fb::DType::U8,
                                    {{0.25f}, {0}});
  const int pool_out = b.add_tensor("pool", {1, 2, 2, 4}, fb::DType::U8,
                                    {{0.25f}, {0}});
  const int gap_out = b.add_tensor("gap", {1, 1, 1, 4}, fb::DType::U8,
                                   {{0.25f}, {0}});
  const int flat = b.add_tensor("flat", {1, 4}, fb::DType::U8, {{0.25f}, {0}});
  const int fc_w = b.add_constant_s8("fc.w", {2, 4}, {1, 2, 3, 4, 5, 6, 7, 8},
                                     {{0.05f}, {0}});
  const int fc_out = b.add_tensor("fc", {1, 2}, fb::DType::U8, {{0.125f}, {7}});
  const int sum = b.add_tensor("sum", {1, 2}, fb::DType::U8, {{0.25f}, {9}});
  const int clamped = b.add_tensor("clamped", {1, 2}, fb::DType::U8,
                                   {{0.25f}, {9}});
  const int out = b.add_tensor("out", {1, 2}, fb::DType::F32);

  Conv2DAttrs conv;
  conv.stride_h = 2;
  conv.stride_w = 3;
  conv.dilation_w = 2;
  conv.pad_top = 1;
  conv.pad_left = 2;
  conv.pad_bottom = 3;
  conv.pad_right = 4;
  conv.act_min = 0.f;
  conv.act_max = 6.f;
  Pool2DAttrs pool;
  pool.kernel_h = 2;
  pool.kernel_w = 3;
  pool.stride_h = 2;
  pool.pad_right = 1;

  CHECK(b.add_quantize(in, in_q, "quant") == 0);
  CHECK(b.add_conv2d(in_q, weights, bias, conv_out, conv, "conv") == 1);
  CHECK(b.add_max_pool2d(conv_out, pool_out, pool) == 2);
  CHECK(b.add_global_avg_pool(pool_out, gap_out) == 3);
  CHECK(b.add_reshape(gap_out, flat) == 4);
  CHECK(b.add_fully_connected(flat, fc_w, -1, fc_out, 0.f) == 5);
  CHECK(b.add_add(fc_out, fc_out, sum, -1.f, 2.f) == 6);
  CHECK(b.add_clamp(sum, clamped, -0.5f, 0.5f) == 7);
  CHECK(b.add_dequantize(clamped, out) == 8);
  b.set_inputs({in});
  b.set_outputs({out});
  CHECK(b.num_tensors() == 13);
  CHECK(b.num_operators() == 9);
  CHECK(b.num_buffers() == 4);

  const std::vector<uint8_t> bytes = b.finish();
  const fb::Model* m = verified_model(bytes);

  CHECK(m->format_version() == qrt::kFormatVersion);
  CHECK(m->profile() == fb::Profile::Fbgemm);
  REQUIRE(m->producer() != nullptr);
  CHECK(m->producer()->str() == "qrt-convert test");
  REQUIRE(m->description() != nullptr);
  CHECK(m->description()->str() == "conv-pool-gap-fc");

  REQUIRE(m->subgraphs() != nullptr);
  REQUIRE(m->subgraphs()->size() == 1);
  const fb::SubGraph* g = m->subgraphs()->Get(0);
  CHECK(g->name() == nullptr);
  CHECK(to_vector(g->inputs()) == std::vector<int32_t>{in});
  CHECK(to_vector(g->outputs()) == std::vector<int32_t>{out});
  CHECK(g->memory_plan() == nullptr);

  const auto* tensors = g->tensors();
  REQUIRE(tensors != nullptr);
  REQUIRE(tensors->size() == 13);

  const fb::Tensor* t_in = tensors->Get(in);
  CHECK(t_in->name()->str() == "in");
  CHECK(t_in->dtype() == fb::DType::F32);
  CHECK(t_in->buffer() == 0);
  CHECK(t_in->quantization() == nullptr);
  CHECK(to_vector(t_in->shape()) == std::vector<int32_t>{1, 8, 8, 3});

  const fb::Tensor* t_inq = tensors->Get(in_q);
  CHECK(t_inq->dtype() == fb::DType::U8);
  REQUIRE(t_inq->quantization() != nullptr);
  CHECK(to_vector(t_inq->quantization()->scale()) == std::vector<float>{0.5f});
  CHECK(to_vector(t_inq->quantization()->zero_point()) ==
        std::vector<int64_t>{3});

  const fb::Tensor* t_w = tensors->Get(weights);
  CHECK(t_w->name()->str() == "conv.w");
  CHECK(t_w->dtype() == fb::DType::S8);
  CHECK(to_vector(t_w->shape()) == std::vector<int32_t>{4, 3, 3, 3});
  REQUIRE(t_w->quantization() != nullptr);
  CHECK(to_vector(t_w->quantization()->scale()) ==
        std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f});
  CHECK(to_vector(t_w->quantization()->zero_point()) ==
        std::vector<int64_t>{0, 0, 0, 0});
  CHECK(t_w->quantization()->axis() == 0);

  // Constants own distinct, non-sentinel buffers holding the given bytes.
  const auto* buffers = m->buffers();
  REQUIRE(buffers != nullptr);
  REQUIRE(buffers->size() == 4);
  const auto* sentinel = buffers->Get(0)->data();
  CHECK((sentinel == nullptr || sentinel->size() == 0));
  CHECK(t_w->buffer() == 1);
  CHECK(tensors->Get(bias)->buffer() == 2);
  CHECK(tensors->Get(fc_w)->buffer() == 3);
  const auto* w_data = buffers->Get(t_w->buffer())->data();
  REQUIRE(w_data != nullptr);
  REQUIRE(w_data->size() == w.size());
  CHECK(std::memcmp(w_data->data(), w.data(), w.size()) == 0);
  const auto* b_data = buffers->Get(tensors->Get(bias)->buffer())->data();
  REQUIRE(b_data != nullptr);
  REQUIRE(b_data->size() == 4 * sizeof(float));
  float bias_back[4];
  std::memcpy(bias_back, b_data->data(), sizeof(bias_back));
  CHECK(bias_back[0] == 1.f);
  CHECK(bias_back[1] == -2.f);
  CHECK(bias_back[2] == 3.5f);
  CHECK(bias_back[3] == 0.f);

  const auto* ops = g->operators();
  REQUIRE(ops != nullptr);
  REQUIRE(ops->size() == 9);
  const fb::OpCode codes[] = {
      fb::OpCode::QUANTIZE,    fb::OpCode::CONV_2D,
      fb::OpCode::MAX_POOL_2D, fb::OpCode::GLOBAL_AVG_POOL,
      fb::OpCode::RESHAPE,     fb::OpCode::FULLY_CONNECTED,
      fb::OpCode::ADD,         fb::OpCode::CLAMP,
      fb::OpCode::DEQUANTIZE};
  for (unsigned i = 0; i < ops->size(); ++i) {
    CAPTURE(i);
    CHECK(ops->Get(i)->opcode() == codes[i]);
  }

  CHECK(ops->Get(0)->name()->str() == "quant");
  CHECK(ops->Get(0)->options_type() == fb::OpOptions::NONE);
  CHECK(to_vector(ops->Get(0)->inputs()) == std::vector<int32_t>{in});
  CHECK(to_vector(ops->Get(0)->outputs()) == std::vector<int32_t>{in_q});

  const fb::Operator* op_conv = ops->Get(1);
  CHECK(op_conv->name()->str() == "conv");
  CHECK(to_vector(op_conv->inputs()) ==
        std::vector<int32_t>{in_q, weights, bias});
  CHECK(to_vector(op_conv->outputs()) == std::vector<int32_t>{conv_out});
  const fb::Conv2DOptions* co = op_conv->options_as_Conv2DOptions();
  REQUIRE(co != nullptr);
  CHECK(co->stride_h() == 2);
  CHECK(co->stride_w() == 3);
  CHECK(co->dilation_h() == 1);
  CHECK(co->dilation_w() == 2);
  CHECK(co->pad_top() == 1);
  CHECK(co->pad_left() == 2);
  CHECK(co->pad_bottom() == 3);
  CHECK(co->pad_right() == 4);
  CHECK(co->groups() == 1);
  CHECK(co->act_min() == 0.f);
  CHECK(co->act_max() == 6.f);

  const fb::Pool2DOptions* po = ops->Get(2)->options_as_Pool2DOptions();
  REQUIRE(po != nullptr);
  CHECK(po->kernel_h() == 2);
  CHECK(po->kernel_w() == 3);
  CHECK(po->stride_h() == 2);
  CHECK(po->stride_w() == 1);
  CHECK(po->pad_top() == 0);
  CHECK(po->pad_right() == 1);

  CHECK(ops->Get(3)->options_type() == fb::OpOptions::NONE);
  CHECK(ops->Get(3)->name() == nullptr);
  CHECK(ops->Get(4)->options_type() == fb::OpOptions::NONE);

  const fb::Operator* op_fc = ops->Get(5);
  CHECK(to_vector(op_fc->inputs()) == std::vector<int32_t>{flat, fc_w, -1});
  const fb::FullyConnectedOptions* fo =
      op_fc->options_as_FullyConnectedOptions();
  REQUIRE(fo != nullptr);
  CHECK(fo->act_min() == 0.f);
  CHECK(fo->act_max() == kInf);

  const fb::AddOptions* ao = ops->Get(6)->options_as_AddOptions();
  REQUIRE(ao != nullptr);
  CHECK(to_vector(ops->Get(6)->inputs()) ==
        std::vector<int32_t>{fc_out, fc_out});
  CHECK(ao->act_min() == -1.f);
  CHECK(ao->act_max() == 2.f);

  const fb::ClampOptions* clo = ops->Get(7)->options_as_ClampOptions();
  REQUIRE(clo != nullptr);
  CHECK(clo->min() == -0.5f);
  CHECK(clo->max() == 0.5f);

  CHECK(ops->Get(8)->options_type() == fb::OpOptions::NONE);
  CHECK(to_vector(ops->Get(8)->outputs()) == std::vector<int32_t>{out});
}

TEST_CASE("defaults match the schema") {
  ModelBuilder b;
  const int x = b.add_tensor("", {}, fb::DType::U8);
  const int y = b.add_tensor("y", {2}, fb::DType::U8);
  b.add_conv2d(x, x, -1, y);
  b.add_fully_connected(x, x, -1, y);
  b.add_add(x, x, y);
  b.add_max_pool2d(x, y, Pool2DAttrs{});

  const std::vector<uint8_t> bytes = b.finish();
  const fb::Model* m = verified_model(bytes);
  CHECK(m->format_version() == qrt::kFormatVersion);
  CHECK(m->profile() == fb::Profile::Qnnpack);
  CHECK(m->producer() == nullptr);
  CHECK(m->description() == nullptr);
  REQUIRE(m->buffers() != nullptr);
  CHECK(m->buffers()->size() == 1);

  const fb::SubGraph* g = m->subgraphs()->Get(0);
  const fb::Tensor* tx = g->tensors()->Get(x);
  CHECK(tx->name() == nullptr);
  REQUIRE(tx->shape() != nullptr);
  CHECK(tx->shape()->size() == 0);
  CHECK(tx->buffer() == 0);
  CHECK(tx->quantization() == nullptr);
  REQUIRE(g->inputs() != nullptr);
  CHECK(g->inputs()->size() == 0);

  const fb::Conv2DOptions* co =
      g->operators()->Get(0)->options_as_Conv2DOptions();
  REQUIRE(co != nullptr);
  CHECK(co->stride_h() == 1);
  CHECK(co->stride_w() == 1);
  CHECK(co->dilation_h() == 1);
  CHECK(co->dilation_w() == 1);
  CHECK(co->pad_top() == 0);
  CHECK(co->pad_bottom() == 0);
  CHECK(co->groups() == 1);
  CHECK(co->act_min() == -kInf);
  CHECK(co->act_max() == kInf);
  CHECK(to_vector(g->operators()->Get(0)->inputs()) ==
        std::vector<int32_t>{x, x, -1});

  const fb::FullyConnectedOptions* fo =
      g->operators()->Get(1)->options_as_FullyConnectedOptions();
  REQUIRE(fo != nullptr);
  CHECK(fo->act_min() == -kInf);
  CHECK(fo->act_max() == kInf);
  const fb::AddOptions* ao = g->operators()->Get(2)->options_as_AddOptions();
  REQUIRE(ao != nullptr);
  CHECK(ao->act_min() == -kInf);
  CHECK(ao->act_max() == kInf);
  const fb::Pool2DOptions* po =
      g->operators()->Get(3)->options_as_Pool2DOptions();
  REQUIRE(po != nullptr);
  CHECK(po->stride_h() == 1);
  CHECK(po->stride_w() == 1);
  CHECK(po->kernel_h() == 0);
}

TEST_CASE("every constant's data is 16-byte aligned from the first byte") {
  // Odd sizes and names of varying length between constants shift the
  // write position, so alignment cannot hold by accident.
  ModelBuilder b;
  std::vector<std::vector<uint8_t>> expected;
  for (int i = 0; i < 40; ++i) {
    std::vector<uint8_t> data(static_cast<size_t>(i * 7 % 37));
    for (size_t k = 0; k < data.size(); ++k) {
      data[k] = static_cast<uint8_t>(i * 31 + static_cast<int>(k));
    }
    const std::string name(static_cast<size_t>(i % 5), 'n');
    b.add_constant(name, {static_cast<int32_t>(data.size())}, fb::DType::U8,
                   data.data(), data.size());
    b.add_tensor(name + "act", {i}, fb::DType::F32, {{0.5f}, {1}});
    expected.push_back(data);
  }
  const int64_t i64[3] = {1, -2, 3};
  b.add_constant("i64", {3}, fb::DType::I64, i64, sizeof(i64));
  expected.emplace_back(reinterpret_cast<const uint8_t*>(i64),
                        reinterpret_cast<const uint8_t*>(i64) + sizeof(i64));
  b.add_subgraph("body");
  b.select_subgraph(1);
  b.add_constant_i32("in_body", {2}, {-5, 6});
  const int32_t body[2] = {-5, 6};
  expected.emplace_back(reinterpret_cast<const uint8_t*>(body),
                        reinterpret_cast<const uint8_t*>(body) + sizeof(body));

  const std::vector<uint8_t> bytes = b.finish();
  const fb::Model* m = verified_model(bytes);
  const auto* buffers = m->buffers();
  REQUIRE(buffers != nullptr);
  REQUIRE(buffers->size() == expected.size() + 1);
  for (unsigned i = 1; i < buffers->size(); ++i) {
    CAPTURE(i);
    const auto* data = buffers->Get(i)->data();
    REQUIRE(data != nullptr);
    CHECK(offset_in(bytes, data->data()) % 16 == 0);
    const std::vector<uint8_t>& want = expected[i - 1];
    REQUIRE(data->size() == want.size());
    CHECK(std::equal(data->begin(), data->end(), want.begin()));
  }
  // Tensors point at their own buffers in order, across subgraphs.
  const auto* main_tensors = m->subgraphs()->Get(0)->tensors();
  for (unsigned i = 0; i < 40; ++i) {
    CHECK(main_tensors->Get(2 * i)->buffer() == i + 1);
    CHECK(main_tensors->Get(2 * i + 1)->buffer() == 0);
  }
  CHECK(m->subgraphs()->Get(1)->tensors()->Get(0)->buffer() ==
        buffers->size() - 1);
}

TEST_CASE("subgraphs, shared buffers and memory plan") {
  ModelBuilder b;
  CHECK(b.num_subgraphs() == 1);
  const int a = b.add_tensor("a", {4}, fb::DType::F32);
  const int c = b.add_tensor("c", {4}, fb::DType::F32);
  b.add_clamp(a, c, 0.f, kInf);
  b.set_inputs({a});
  b.set_outputs({c});
  b.set_memory_plan({0, 16});
  b.set_subgraph_name("main");

  const uint8_t shared[5] = {9, 8, 7, 6, 5};
  const uint32_t buf = b.add_buffer(shared, sizeof(shared));
  CHECK(buf == 1);
  b.add_tensor_with_buffer("s0", {5}, fb::DType::U8, buf, {{1.f}, {0}});

  CHECK(b.add_subgraph("body") == 1);
  CHECK(b.num_subgraphs() == 2);
  b.select_subgraph(1);
  CHECK(b.num_tensors() == 0);
  const int s1 = b.add_tensor_with_buffer("s1", {5}, fb::DType::U8, buf);
  const int o = b.add_tensor("o", {5}, fb::DType::U8);
  b.add_reshape(s1, o);
  b.set_outputs({o});
  b.select_subgraph(0);
  CHECK(b.num_tensors() == 3);
  CHECK_THROWS_AS(b.select_subgraph(2), std::out_of_range);
  CHECK_THROWS_AS(b.select_subgraph(-1), std::out_of_range);
  CHECK_THROWS_AS(b.add_buffer(nullptr, 3), std::invalid_argument);

  const std::vector<uint8_t> bytes = b.finish();
  const fb::Model* m = verified_model(bytes);
  REQUIRE(m->subgraphs()->size() == 2);
  CHECK(m->buffers()->size() == 2);

  const fb::SubGraph* g0 = m->subgraphs()->Get(0);
  CHECK(g0->name()->str() == "main");
  REQUIRE(g0->memory_plan() != nullptr);
  CHECK(to_vector(g0->memory_plan()->offsets()) ==
        std::vector<int64_t>{0, 16});
  CHECK(g0->tensors()->size() == 3);
  CHECK(g0->tensors()->Get(2)->buffer() == buf);
  const fb::ClampOptions* clo =
      g0->operators()->Get(0)->options_as_ClampOptions();
  REQUIRE(clo != nullptr);
  CHECK(clo->min() == 0.f);
  CHECK(clo->max() == kInf);

  const fb::SubGraph* g1 = m->subgraphs()->Get(1);
  CHECK(g1->name()->str() == "body");
  CHECK(g1->memory_plan() == nullptr);
  REQUIRE(g1->tensors()->size() == 2);
  CHECK(g1->tensors()->Get(s1)->name()->str() == "s1");
  CHECK(g1->tensors()->Get(s1)->buffer() == buf);
  CHECK(g1->operators()->size() == 1);
  CHECK(g1->operators()->Get(0)->opcode() == fb::OpCode::RESHAPE);
  CHECK(to_vector(g1->outputs()) == std::vector<int32_t>{o});
  CHECK(g1->inputs()->size() == 0);
}

TEST_CASE("future and malformed content is written as given") {
  ModelBuilder b;
  b.set_format_version(qrt::kFormatVersion + 1);
  const int x = b.add_tensor("x", {1}, fb::DType::U8, {{1.f, 2.f}, {0}, 3});
  const int y = b.add_tensor_with_buffer("y", {1}, fb::DType::U8, 99);
  const auto future_code = static_cast<fb::OpCode>(200);
  b.add_operator(future_code, {x, 42}, {y}, UnknownAttrs{77}, "future");
  b.add_operator(fb::OpCode::CONV_2D, {x}, {}, ClampAttrs{1.f, 2.f});
  b.add_operator(fb::OpCode::ADD, {}, {y}, AddAttrs{});
  b.set_memory_plan({5});

  const std::vector<uint8_t> bytes = b.finish();
  const fb::Model* m = verified_model(bytes);
  CHECK(m->format_version() == qrt::kFormatVersion + 1);
  const fb::SubGraph* g = m->subgraphs()->Get(0);
  const fb::Quantization* q = g->tensors()->Get(x)->quantization();
  REQUIRE(q != nullptr);
  CHECK(q->scale()->size() == 2);
  CHECK(q->zero_point()->size() == 1);
  CHECK(q->axis() == 3);
  CHECK(g->tensors()->Get(y)->buffer() == 99);

  const fb::Operator* f = g->operators()->Get(0);
  CHECK(f->opcode() == future_code);
  CHECK(static_cast<int>(f->options_type()) == 77);
  CHECK(f->options() != nullptr);
  CHECK(to_vector(f->inputs()) == std::vector<int32_t>{x, 42});
  CHECK(f->name()->str() == "future");

  const fb::Operator* bad = g->operators()->Get(1);
  CHECK(bad->opcode() == fb::OpCode::CONV_2D);
  CHECK(bad->options_as_Conv2DOptions() == nullptr);
  REQUIRE(bad->options_as_ClampOptions() != nullptr);
  CHECK(bad->options_as_ClampOptions()->max() == 2.f);
  REQUIRE(bad->outputs() != nullptr);
  CHECK(bad->outputs()->size() == 0);
  CHECK(g->operators()->Get(2)->inputs()->size() == 0);
  CHECK(g->memory_plan()->offsets()->size() == 1);
}

TEST_CASE("finish is repeatable and reflects later edits") {
  ModelBuilder b;
  b.add_constant_u8("k", {3}, {1, 2, 3}, {{0.5f}, {128}});
  const std::vector<uint8_t> first = b.finish();
  CHECK(b.finish() == first);
  b.set_producer("p");
  const std::vector<uint8_t> second = b.finish();
  CHECK(second != first);
  CHECK(verified_model(second)->producer()->str() == "p");
  CHECK(verified_model(first)->producer() == nullptr);
}

TEST_CASE("the flatbuffers verifier rejects a truncated model") {
  ModelBuilder b;
  b.add_constant_f32("w", {64}, std::vector<float>(64, 1.f));
  std::vector<uint8_t> bytes = b.finish();
  verified_model(bytes);
  bytes.resize(bytes.size() / 2);
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  CHECK_FALSE(fb::VerifyModelBuffer(verifier));
}

}  // TEST_SUITE
