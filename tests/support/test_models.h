// Small models assembled in code, shared by the runtime tests.
#pragma once

#include <cstdint>
#include <vector>

#include "model_builder.h"

namespace qrt::test {

// f32 image [1,8,8,3] -> quantize -> conv3x3+relu -> depthwise3x3/2+relu6 ->
// conv1x1 -> add (residual) -> clamp -> maxpool2x2 -> global avg pool ->
// reshape -> fully connected -> dequantize -> f32 logits [1,4].
std::vector<uint8_t> int8_cnn(fb::Profile profile, uint32_t seed = 1);

// The same graph in f32 end to end.
std::vector<uint8_t> fp32_cnn(uint32_t seed = 1);

// A 16-byte aligned copy of a serialized model (the loader's contract).
class AlignedBytes {
 public:
  explicit AlignedBytes(const std::vector<uint8_t>& bytes);
  AlignedBytes(const uint8_t* data, size_t size);
  ~AlignedBytes();
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  const uint8_t* data() const { return data_; }
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qrt::test
