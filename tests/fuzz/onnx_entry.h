// What the ONNX fuzzer does with one input, shared with the regression test
// that replays saved crashes in the normal build: qrt-convert's fp32 path
// (import, default passes, lowering to a .qrt, and the runtime's load and
// prepare of the result, which qrt-convert also does before it writes).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lower.h"
#include "onnx_import.h"
#include "passes.h"
#include "qrt/qrt.h"

namespace qrt::fuzz {

// Returns whether the model converted; a refusal's message goes to `why`.
inline bool run_onnx(const uint8_t* data, size_t size, std::string* why = nullptr) {
  convert::Graph graph;
  std::string error;
  bool ok = convert::import_onnx_bytes(data, size, "<fuzz>", {}, &graph, &error) &&
            convert::run_default_passes(graph, &error);
  convert::LowerResult lowered;
  if (ok) ok = convert::lower_graph(graph, {}, &lowered, &error);
  if (ok) {
    void* copy = nullptr;
    if (posix_memalign(&copy, 16, lowered.model.size()) != 0) std::abort();
    std::memcpy(copy, lowered.model.data(), lowered.model.size());
    qrt_model* model = nullptr;
    qrt_interpreter* it = nullptr;
    qrt_options options;
    qrt_options_init(&options);
    options.max_arena_bytes = size_t{64} << 20;
    if (qrt_model_from_buffer(copy, lowered.model.size(), &model) != QRT_OK ||
        qrt_interpreter_create(model, &options, &it) != QRT_OK) {
      ok = false;
      error = std::string("the runtime refuses the converted model: ") + qrt_last_error();
    }
    qrt_interpreter_free(it);
    qrt_model_free(model);
    std::free(copy);
  }
  if (!ok && error.empty()) std::abort();  // every refusal says why
  if (why) *why = error;
  return ok;
}

}  // namespace qrt::fuzz
