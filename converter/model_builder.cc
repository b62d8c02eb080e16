#include "model_builder.h"

#include <stdexcept>
#include <utility>

#include "schema/format_version.h"

namespace qrt::convert {

namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

struct WrittenOptions {
  fb::OpOptions type = fb::OpOptions::NONE;
  Offset<void> table = 0;
};

WrittenOptions write_options(FlatBufferBuilder&, const std::monostate&) {
  return {};
}

WrittenOptions write_options(FlatBufferBuilder& fbb, const Conv2DAttrs& a) {
  auto t = fb::CreateConv2DOptions(fbb, a.stride_h, a.stride_w, a.dilation_h,
                                   a.dilation_w, a.pad_top, a.pad_left,
                                   a.pad_bottom, a.pad_right, a.groups,
                                   a.act_min, a.act_max);
  return {fb::OpOptions::Conv2DOptions, t.Union()};
}

WrittenOptions write_options(FlatBufferBuilder& fbb,
                             const FullyConnectedAttrs& a) {
  auto t = fb::CreateFullyConnectedOptions(fbb, a.act_min, a.act_max);
  return {fb::OpOptions::FullyConnectedOptions, t.Union()};
}

WrittenOptions write_options(FlatBufferBuilder& fbb, const AddAttrs& a) {
  auto t = fb::CreateAddOptions(fbb, a.act_min, a.act_max);
  return {fb::OpOptions::AddOptions, t.Union()};
}

WrittenOptions write_options(FlatBufferBuilder& fbb, const ClampAttrs& a) {
  auto t = fb::CreateClampOptions(fbb, a.min, a.max);
  return {fb::OpOptions::ClampOptions, t.Union()};
}

WrittenOptions write_options(FlatBufferBuilder& fbb, const Pool2DAttrs& a) {
  auto t = fb::CreatePool2DOptions(fbb, a.kernel_h, a.kernel_w, a.stride_h,
                                   a.stride_w, a.pad_top, a.pad_left,
                                   a.pad_bottom, a.pad_right);
  return {fb::OpOptions::Pool2DOptions, t.Union()};
}

WrittenOptions write_options(FlatBufferBuilder& fbb, const UnknownAttrs& a) {
  const auto start = fbb.StartTable();
  const Offset<void> table(fbb.EndTable(start));
  return {static_cast<fb::OpOptions>(a.type), table};
}

WrittenOptions write_options(FlatBufferBuilder& fbb, const fb::OpOptionsUnion& u) {
  return {u.type, u.Pack(fbb)};
}

Offset<flatbuffers::String> optional_string(FlatBufferBuilder& fbb,
                                            const std::string& s) {
  return s.empty() ? 0 : fbb.CreateString(s);
}

Offset<fb::Buffer> write_buffer(FlatBufferBuilder& fbb,
                                const std::vector<uint8_t>& data) {
  // ForceVectorAlignment puts the first data byte on a 16-byte boundary
  // counted from the end of the buffer; Finish then pads the front so the
  // total size is a multiple of the largest alignment used, which makes the
  // data 16-aligned from the first byte too. It skips empty vectors, so an
  // empty one is aligned as if 16 bytes followed: its data pointer is then
  // aligned as well and no reader needs a special case.
  if (data.empty()) {
    fbb.PreAlign(16, 16);
  } else {
    fbb.ForceVectorAlignment(data.size(), sizeof(uint8_t), 16);
  }
  auto vec = fbb.CreateVector(data.data(), data.size());
  return fb::CreateBuffer(fbb, vec);
}

Offset<fb::Quantization> write_quantization(FlatBufferBuilder& fbb,
                                            const QuantParams& q) {
  if (q.scale.empty() && q.zero_point.empty()) return 0;
  auto scale = fbb.CreateVector(q.scale);
  auto zero_point = fbb.CreateVector(q.zero_point);
  return fb::CreateQuantization(fbb, scale, zero_point, q.axis, q.per_channel);
}

}  // namespace

ModelBuilder::ModelBuilder(fb::Profile profile)
    : profile_(profile), format_version_(kFormatVersion), subgraphs_(1),
      buffers_(1) {}

void ModelBuilder::set_producer(std::string producer) {
  producer_ = std::move(producer);
}

void ModelBuilder::set_description(std::string description) {
  description_ = std::move(description);
}

void ModelBuilder::set_format_version(uint32_t version) {
  format_version_ = version;
}

int ModelBuilder::add_subgraph(std::string name) {
  subgraphs_.emplace_back();
  subgraphs_.back().name = std::move(name);
  return static_cast<int>(subgraphs_.size()) - 1;
}

void ModelBuilder::select_subgraph(int index) {
  if (index < 0 || static_cast<size_t>(index) >= subgraphs_.size()) {
    throw std::out_of_range("ModelBuilder::select_subgraph: no subgraph " +
                            std::to_string(index));
  }
  selected_ = static_cast<size_t>(index);
}

void ModelBuilder::set_subgraph_name(std::string name) {
  current().name = std::move(name);
}

int ModelBuilder::num_subgraphs() const {
  return static_cast<int>(subgraphs_.size());
}

int ModelBuilder::num_tensors() const {
  return static_cast<int>(current().tensors.size());
}

int ModelBuilder::num_operators() const {
  return static_cast<int>(current().operators.size());
}

int ModelBuilder::add_tensor(std::string name, std::vector<int32_t> shape,
                             fb::DType dtype, QuantParams q) {
  return add_tensor_with_buffer(std::move(name), std::move(shape), dtype, 0,
                                std::move(q));
}

int ModelBuilder::add_constant(std::string name, std::vector<int32_t> shape,
                               fb::DType dtype, const void* data, size_t bytes,
                               QuantParams q) {
  const uint32_t buffer = add_buffer(data, bytes);
  return add_tensor_with_buffer(std::move(name), std::move(shape), dtype,
                                buffer, std::move(q));
}

int ModelBuilder::add_constant_f32(std::string name, std::vector<int32_t> shape,
                                   const std::vector<float>& values,
                                   QuantParams q) {
  return add_constant(std::move(name), std::move(shape), fb::DType::F32,
                      values.data(), values.size() * sizeof(float),
                      std::move(q));
}

int ModelBuilder::add_constant_s8(std::string name, std::vector<int32_t> shape,
                                  const std::vector<int8_t>& values,
                                  QuantParams q) {
  return add_constant(std::move(name), std::move(shape), fb::DType::S8,
                      values.data(), values.size(), std::move(q));
}

int ModelBuilder::add_constant_u8(std::string name, std::vector<int32_t> shape,
                                  const std::vector<uint8_t>& values,
                                  QuantParams q) {
  return add_constant(std::move(name), std::move(shape), fb::DType::U8,
                      values.data(), values.size(), std::move(q));
}

int ModelBuilder::add_constant_i32(std::string name, std::vector<int32_t> shape,
                                   const std::vector<int32_t>& values,
                                   QuantParams q) {
  return add_constant(std::move(name), std::move(shape), fb::DType::I32,
                      values.data(), values.size() * sizeof(int32_t),
                      std::move(q));
}

uint32_t ModelBuilder::add_buffer(const void* data, size_t bytes) {
  if (data == nullptr && bytes != 0) {
    throw std::invalid_argument("ModelBuilder::add_buffer: null data");
  }
  const auto* p = static_cast<const uint8_t*>(data);
  buffers_.emplace_back(p, p + bytes);
  return static_cast<uint32_t>(buffers_.size() - 1);
}

int ModelBuilder::add_tensor_with_buffer(std::string name,
                                         std::vector<int32_t> shape,
                                         fb::DType dtype, uint32_t buffer,
                                         QuantParams q) {
  auto& tensors = current().tensors;
  tensors.push_back(
      {std::move(name), std::move(shape), dtype, buffer, std::move(q)});
  return static_cast<int>(tensors.size()) - 1;
}

int ModelBuilder::num_buffers() const {
  return static_cast<int>(buffers_.size());
}

int ModelBuilder::add_conv2d(int input, int weights, int bias, int output,
                             const Conv2DAttrs& attrs, std::string name) {
  return add_operator(fb::OpCode::CONV_2D, {input, weights, bias}, {output},
                      attrs, std::move(name));
}

int ModelBuilder::add_fully_connected(int input, int weights, int bias,
                                      int output, float act_min, float act_max,
                                      std::string name) {
  return add_operator(fb::OpCode::FULLY_CONNECTED, {input, weights, bias},
                      {output}, FullyConnectedAttrs{act_min, act_max},
                      std::move(name));
}

int ModelBuilder::add_add(int a, int b, int output, float act_min,
                          float act_max, std::string name) {
  return add_operator(fb::OpCode::ADD, {a, b}, {output},
                      AddAttrs{act_min, act_max}, std::move(name));
}

int ModelBuilder::add_clamp(int input, int output, float min, float max,
                            std::string name) {
  return add_operator(fb::OpCode::CLAMP, {input}, {output},
                      ClampAttrs{min, max}, std::move(name));
}

int ModelBuilder::add_max_pool2d(int input, int output,
                                 const Pool2DAttrs& attrs, std::string name) {
  return add_operator(fb::OpCode::MAX_POOL_2D, {input}, {output}, attrs,
                      std::move(name));
}

int ModelBuilder::add_global_avg_pool(int input, int output, std::string name) {
  return add_operator(fb::OpCode::GLOBAL_AVG_POOL, {input}, {output}, {},
                      std::move(name));
}

int ModelBuilder::add_reshape(int input, int output, std::string name) {
  return add_operator(fb::OpCode::RESHAPE, {input}, {output}, {},
                      std::move(name));
}

int ModelBuilder::add_quantize(int input, int output, std::string name) {
  return add_operator(fb::OpCode::QUANTIZE, {input}, {output}, {},
                      std::move(name));
}

int ModelBuilder::add_dequantize(int input, int output, std::string name) {
  return add_operator(fb::OpCode::DEQUANTIZE, {input}, {output}, {},
                      std::move(name));
}

int ModelBuilder::add_operator(fb::OpCode code, std::vector<int32_t> inputs,
                               std::vector<int32_t> outputs, OpAttrs attrs,
                               std::string name) {
  auto& ops = current().operators;
  ops.push_back({code, std::move(inputs), std::move(outputs), std::move(attrs),
                 std::move(name)});
  return static_cast<int>(ops.size()) - 1;
}

void ModelBuilder::set_inputs(std::vector<int32_t> inputs) {
  current().inputs = std::move(inputs);
}

void ModelBuilder::set_outputs(std::vector<int32_t> outputs) {
  current().outputs = std::move(outputs);
}

void ModelBuilder::set_memory_plan(std::vector<int64_t> offsets) {
  current().has_memory_plan = true;
  current().memory_plan = std::move(offsets);
}

std::vector<uint8_t> ModelBuilder::finish() const {
  size_t data_bytes = 0;
  for (const auto& b : buffers_) data_bytes += b.size() + 32;
  // flatbuffers offsets are signed 32-bit; the builder would abort instead.
  if (data_bytes >= FLATBUFFERS_MAX_BUFFER_SIZE / 2) {
    throw std::length_error("ModelBuilder::finish: constants exceed 1 GiB");
  }
  FlatBufferBuilder fbb(data_bytes + 4096);

  // Constants first: flatbuffers writes back to front, so the bulk data ends
  // up at the tail of the file, after the small tables.
  std::vector<Offset<fb::Buffer>> buffers;
  buffers.reserve(buffers_.size());
  buffers.push_back(fb::CreateBuffer(fbb));
  for (size_t i = 1; i < buffers_.size(); ++i) {
    buffers.push_back(write_buffer(fbb, buffers_[i]));
  }
  auto buffers_vec = fbb.CreateVector(buffers);

  std::vector<Offset<fb::SubGraph>> subgraphs;
  for (const auto& sg : subgraphs_) {
    std::vector<Offset<fb::Tensor>> tensors;
    for (const auto& t : sg.tensors) {
      auto name = optional_string(fbb, t.name);
      auto shape = fbb.CreateVector(t.shape);
      auto quant = write_quantization(fbb, t.quant);
      tensors.push_back(
          fb::CreateTensor(fbb, name, shape, t.dtype, t.buffer, quant));
    }
    std::vector<Offset<fb::Operator>> ops;
    for (const auto& op : sg.operators) {
      auto inputs = fbb.CreateVector(op.inputs);
      auto outputs = fbb.CreateVector(op.outputs);
      const WrittenOptions options = std::visit(
          [&fbb](const auto& a) { return write_options(fbb, a); }, op.attrs);
      auto name = optional_string(fbb, op.name);
      ops.push_back(fb::CreateOperator(fbb, op.code, inputs, outputs,
                                       options.type, options.table, name));
    }
    Offset<fb::MemoryPlan> plan = 0;
    if (sg.has_memory_plan) {
      plan = fb::CreateMemoryPlan(fbb, fbb.CreateVector(sg.memory_plan));
    }
    auto name = optional_string(fbb, sg.name);
    auto tensors_vec = fbb.CreateVector(tensors);
    auto inputs = fbb.CreateVector(sg.inputs);
    auto outputs = fbb.CreateVector(sg.outputs);
    auto ops_vec = fbb.CreateVector(ops);
    subgraphs.push_back(fb::CreateSubGraph(fbb, name, tensors_vec, inputs,
                                           outputs, ops_vec, plan));
  }
  auto subgraphs_vec = fbb.CreateVector(subgraphs);

  auto producer = optional_string(fbb, producer_);
  auto description = optional_string(fbb, description_);
  auto model = fb::CreateModel(fbb, format_version_, profile_, producer,
                               description, subgraphs_vec, buffers_vec);
  fb::FinishModelBuffer(fbb, model);
  const uint8_t* begin = fbb.GetBufferPointer();
  return std::vector<uint8_t>(begin, begin + fbb.GetSize());
}

}  // namespace qrt::convert
