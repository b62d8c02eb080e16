// ONNX (opset 9-17) -> converter Graph. Initializers and Constant nodes
// become constant values; shapes come from ONNX shape inference after the
// caller's --input-shape overrides, and must end up static.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph.h"

namespace qrt::convert {

struct ImportOptions {
  // --input-shape name=1,3,224,224: replaces the input's (dynamic) shape.
  std::map<std::string, std::vector<int64_t>> input_shapes;
  // --fix-input name=value: the input becomes a constant filled with value.
  std::map<std::string, double> fixed_inputs;
};

constexpr int64_t kMinOpset = 9;
constexpr int64_t kMaxOpset = 17;

// Errors name the file (or "<buffer>"), and the input/node at fault.
bool import_onnx_file(const std::string& path, const ImportOptions& options, Graph* graph,
                      std::string* error);
bool import_onnx_bytes(const void* data, size_t size, const std::string& label,
                       const ImportOptions& options, Graph* graph, std::string* error);

}  // namespace qrt::convert
