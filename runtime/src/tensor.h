// The runtime's view of a tensor: shape and type from the model, data in the
// arena (activations) or in the model's own bytes (constants, zero-copy).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qrt/qrt.h"
#include "qrt/schema/qrt_generated.h"

namespace qrt {

constexpr int kMaxRank = QRT_MAX_RANK;

using fb::DType;

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

struct Tensor {
  const char* name = "";
  DType dtype = DType::F32;
  int32_t rank = 0;
  int32_t dims[kMaxRank] = {};
  size_t elements = 0;
  size_t bytes = 0;
  uint8_t* data = nullptr;
  bool is_constant = false;

  // Quantization (num_scales == 0 when not quantized). The arrays point into
  // the model; `scale`/`zero_point` repeat entry 0 for per-tensor use.
  int32_t num_scales = 0;
  int32_t axis = 0;
  bool per_channel = false;  // per slice along axis, even with one slice
  const float* scales = nullptr;
  const int64_t* zero_points = nullptr;
  float scale = 0.f;
  int32_t zero_point = 0;

  int32_t dim(int i) const { return dims[i]; }
  bool quantized() const { return num_scales > 0; }
  bool per_tensor() const { return num_scales == 1; }
  template <class T> T* as() const { return reinterpret_cast<T*>(data); }
};

// "(1, 224, 224, 3)" into buf; returns buf.
const char* format_shape(const Tensor& t, char* buf, size_t size);

}  // namespace qrt
