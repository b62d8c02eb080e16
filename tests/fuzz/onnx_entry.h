// What the ONNX fuzzer does with one input, shared with the regression test
// that replays saved crashes in the normal build: qrt-convert's fp32 path
// (import, default passes, lowering to a .qrt).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

#include "lower.h"
#include "onnx_import.h"
#include "passes.h"

namespace qrt::fuzz {

// Returns whether the model converted; a refusal's message goes to `why`.
inline bool run_onnx(const uint8_t* data, size_t size, std::string* why = nullptr) {
  convert::Graph graph;
  std::string error;
  bool ok = convert::import_onnx_bytes(data, size, "<fuzz>", {}, &graph, &error) &&
            convert::run_default_passes(graph, &error);
  convert::LowerResult lowered;
  if (ok) ok = convert::lower_graph(graph, {}, &lowered, &error);
  if (!ok && error.empty()) std::abort();  // every refusal says why
  if (why) *why = error;
  return ok;
}

}  // namespace qrt::fuzz
