// A loaded, verified model: the file's bytes (borrowed, mapped or read) and
// the flatbuffer root over them. Immutable once loaded, so it can be shared by
// interpreters on several threads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "error.h"
#include "qrt/schema/qrt_generated.h"

namespace qrt {

// How deep IF bodies may nest (the interpreter walks them recursively).
constexpr int32_t kMaxSubgraphNesting = 16;

struct Model {
  const uint8_t* bytes = nullptr;
  size_t size = 0;
  const fb::Model* root = nullptr;

  // Ownership of `bytes` when loaded from a file.
  void* mapping = nullptr;
  size_t mapping_size = 0;
  uint8_t* owned = nullptr;

  Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model();
};

// Zero-copy: `data` must be 16-byte aligned and outlive the model.
qrt_status load_model_from_buffer(const void* data, size_t size, Model* model, Error* error);
qrt_status load_model_from_file(const char* path, Model* model, Error* error);

// Flatbuffers verification, then the semantic checks: every index, buffer
// range, shape, dtype, quantization parameter count, option and arity.
qrt_status verify_model(const uint8_t* data, size_t size, Error* error);

}  // namespace qrt
