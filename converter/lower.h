// Graph (ONNX semantics, logical NCHW) -> .qrt model (NHWC inside).
//
// Every 4-D activation is laid out NHWC for the runtime; graph inputs and
// outputs keep the exported layout unless asked otherwise, with TRANSPOSE
// ops at the boundary. Values carrying quantization parameters become u8
// tensors; ops with an int8 kernel then run quantized, others run in f32
// with DEQUANTIZE/QUANTIZE inserted around them.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "graph.h"

namespace qrt::convert {

struct LowerOptions {
  fb::Profile profile = fb::Profile::Qnnpack;
  // Keep graph inputs/outputs in the exported (ONNX) layout.
  bool keep_io_layout = true;
  // Calibration: every f32 activation also becomes a graph output, listed
  // in LowerResult::observed.
  bool expose_all = false;
  // Nodes (by name) that must run in f32 even when quantized params exist.
  std::set<std::string> keep_float;
  // Dynamic quantization: a FULLY_CONNECTED whose weights carry params and
  // whose activations do not runs on f32 in/out with int8 weights (the
  // runtime quantizes the input per call) instead of on f32 weights.
  bool dynamic = false;
  std::string producer = "qrt-convert";
};

struct LowerResult {
  std::vector<uint8_t> model;
  // expose_all: (graph value id, output index in the .qrt) pairs; the .qrt
  // output holds the value in its logical (ONNX) layout.
  std::vector<std::pair<int, int>> observed;
  int quantized_ops = 0;
  int float_ops = 0;
  int dynamic_ops = 0;  // counted in neither of the above
};

// Fails with a message naming the node and what is unsupported.
bool lower_graph(const Graph& graph, const LowerOptions& options, LowerResult* result,
                 std::string* error);

}  // namespace qrt::convert
