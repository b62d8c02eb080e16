// Assembles a .qrt model in memory and serializes it (schema/qrt.fbs).
//
// Used by qrt-convert to write converted models and by the tests to build
// small graphs in code. The builder records what it is given and checks
// nothing: indices, arities and quantization counts are the runtime
// verifier's job, so tests can also build malformed or "future" files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "qrt/schema/qrt_generated.h"

namespace qrt::convert {

// Affine quantization: real = scale * (q - zero_point). Empty scale and
// zero_point mean "not quantized" and write no Quantization table.
struct QuantParams {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int axis = 0;
  // Per-channel along `axis` even with a single channel.
  bool per_channel = false;
};

// The option structs mirror the schema's option tables and carry the same
// defaults. A fused activation clamps the output to [act_min, act_max] in
// real units: ReLU is [0, inf], ReLU6 is [0, 6].
struct Conv2DAttrs {
  int stride_h = 1;
  int stride_w = 1;
  int dilation_h = 1;
  int dilation_w = 1;
  int pad_top = 0;
  int pad_left = 0;
  int pad_bottom = 0;
  int pad_right = 0;
  int groups = 1;
  float act_min = -std::numeric_limits<float>::infinity();
  float act_max = std::numeric_limits<float>::infinity();
};

struct FullyConnectedAttrs {
  float act_min = -std::numeric_limits<float>::infinity();
  float act_max = std::numeric_limits<float>::infinity();
};

struct AddAttrs {
  float act_min = -std::numeric_limits<float>::infinity();
  float act_max = std::numeric_limits<float>::infinity();
};

struct ClampAttrs {
  float min = -std::numeric_limits<float>::infinity();
  float max = std::numeric_limits<float>::infinity();
};

struct Pool2DAttrs {
  int kernel_h = 0;
  int kernel_w = 0;
  int stride_h = 1;
  int stride_w = 1;
  int pad_top = 0;
  int pad_left = 0;
  int pad_bottom = 0;
  int pad_right = 0;
};

// An options union member this schema may not know: writes an empty table
// tagged `type`, to test how a runtime treats files from a newer converter.
struct UnknownAttrs {
  uint8_t type = 0;
};

// std::monostate writes no options (OpOptions::NONE). Any options table of
// the schema can also be given through flatbuffers' object API, e.g.
// `fb::OpOptionsUnion u; u.Set(fb::SoftmaxOptionsT{...});`.
using OpAttrs = std::variant<std::monostate, Conv2DAttrs, FullyConnectedAttrs,
                             AddAttrs, ClampAttrs, Pool2DAttrs, UnknownAttrs,
                             qrt::fb::OpOptionsUnion>;

class ModelBuilder {
 public:
  explicit ModelBuilder(qrt::fb::Profile profile = qrt::fb::Profile::Qnnpack);

  void set_producer(std::string producer);
  void set_description(std::string description);
  // Defaults to qrt::kFormatVersion (schema/format_version.h).
  void set_format_version(uint32_t version);

  // Subgraph 0 is the main graph and is selected at construction. Tensor,
  // operator, input/output and memory-plan calls apply to the selected one;
  // buffers belong to the whole model.
  int add_subgraph(std::string name = "");
  void select_subgraph(int index);  // throws std::out_of_range
  void set_subgraph_name(std::string name);
  int num_subgraphs() const;
  int num_tensors() const;
  int num_operators() const;

  // Tensors; each returns its index in the selected subgraph.
  int add_tensor(std::string name, std::vector<int32_t> shape,
                 qrt::fb::DType dtype, QuantParams q = {});
  // Copies `bytes` bytes of `data` (host byte order, i.e. little-endian on
  // every supported target) into a new Buffer.
  int add_constant(std::string name, std::vector<int32_t> shape,
                   qrt::fb::DType dtype, const void* data, size_t bytes,
                   QuantParams q = {});
  int add_constant_f32(std::string name, std::vector<int32_t> shape,
                       const std::vector<float>& values, QuantParams q = {});
  int add_constant_s8(std::string name, std::vector<int32_t> shape,
                      const std::vector<int8_t>& values, QuantParams q = {});
  int add_constant_u8(std::string name, std::vector<int32_t> shape,
                      const std::vector<uint8_t>& values, QuantParams q = {});
  int add_constant_i32(std::string name, std::vector<int32_t> shape,
                       const std::vector<int32_t>& values, QuantParams q = {});

  // Buffers, for sharing one buffer between tensors (or referring to a bad
  // index on purpose). add_buffer returns the new buffer's index (>= 1);
  // null data with nonzero bytes throws std::invalid_argument.
  uint32_t add_buffer(const void* data, size_t bytes);
  int add_tensor_with_buffer(std::string name, std::vector<int32_t> shape,
                             qrt::fb::DType dtype, uint32_t buffer,
                             QuantParams q = {});
  int num_buffers() const;  // including the sentinel

  // Operators, appended in execution order; each returns its index in the
  // selected subgraph. An absent optional input (bias) is -1.
  int add_conv2d(int input, int weights, int bias, int output,
                 const Conv2DAttrs& attrs = {}, std::string name = "");
  int add_fully_connected(
      int input, int weights, int bias, int output,
      float act_min = -std::numeric_limits<float>::infinity(),
      float act_max = std::numeric_limits<float>::infinity(),
      std::string name = "");
  int add_add(int a, int b, int output,
              float act_min = -std::numeric_limits<float>::infinity(),
              float act_max = std::numeric_limits<float>::infinity(),
              std::string name = "");
  int add_clamp(int input, int output, float min, float max,
                std::string name = "");
  int add_max_pool2d(int input, int output, const Pool2DAttrs& attrs,
                     std::string name = "");
  int add_global_avg_pool(int input, int output, std::string name = "");
  int add_reshape(int input, int output, std::string name = "");
  int add_quantize(int input, int output, std::string name = "");
  int add_dequantize(int input, int output, std::string name = "");
  // Any opcode (including values this schema does not define) with any
  // options; the helpers above go through here.
  int add_operator(qrt::fb::OpCode code, std::vector<int32_t> inputs,
                   std::vector<int32_t> outputs, OpAttrs attrs = {},
                   std::string name = "");

  void set_inputs(std::vector<int32_t> inputs);
  void set_outputs(std::vector<int32_t> outputs);
  // Offline arena offsets, one per tensor (-1 = left to the runtime). Without
  // this call the subgraph has no MemoryPlan.
  void set_memory_plan(std::vector<int64_t> offsets);

  // The serialized model with file identifier "QRT1". Every constant's data
  // starts at an offset from the first byte that is a multiple of 16. The
  // builder is unchanged, so finish() may be called again after more edits.
  // Throws std::length_error past 1 GiB of constants (flatbuffers offsets
  // are 32-bit).
  std::vector<uint8_t> finish() const;

 private:
  struct TensorDef {
    std::string name;
    std::vector<int32_t> shape;
    qrt::fb::DType dtype;
    uint32_t buffer;
    QuantParams quant;
  };
  struct OperatorDef {
    qrt::fb::OpCode code;
    std::vector<int32_t> inputs;
    std::vector<int32_t> outputs;
    OpAttrs attrs;
    std::string name;
  };
  struct SubGraphDef {
    std::string name;
    std::vector<TensorDef> tensors;
    std::vector<int32_t> inputs;
    std::vector<int32_t> outputs;
    std::vector<OperatorDef> operators;
    bool has_memory_plan = false;
    std::vector<int64_t> memory_plan;
  };

  SubGraphDef& current() { return subgraphs_[selected_]; }
  const SubGraphDef& current() const { return subgraphs_[selected_]; }

  qrt::fb::Profile profile_;
  uint32_t format_version_;
  std::string producer_;
  std::string description_;
  std::vector<SubGraphDef> subgraphs_;
  size_t selected_ = 0;
  // buffers_[0] is the empty sentinel that tensors without data point to.
  std::vector<std::vector<uint8_t>> buffers_;
};

}  // namespace qrt::convert
