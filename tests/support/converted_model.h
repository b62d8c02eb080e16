// Reading and running converted .qrt models in converter tests.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "npy.h"
#include "qrt/schema/qrt_generated.h"

namespace qrt::test {

std::map<fb::OpCode, int> op_counts(const std::vector<uint8_t>& model);

// The subgraph's tensor named `name`, or null.
const fb::Tensor* find_tensor(const fb::SubGraph* sg, const std::string& name);

// The model's one operator of kind `code` (doctest REQUIREs there is exactly one).
const fb::Operator* only_op(const std::vector<uint8_t>& model, fb::OpCode code);

// A model input by name; an empty name means input 0. Arrays of dtype f4, i8,
// i4, u1 or b1 feed float32, int64, int32 and uint8 inputs.
struct NamedArray {
  std::string name;
  tools::NpyArray array;
};

// Every output (each float32) of the model run on `inputs`.
std::vector<std::vector<float>> run_model_outputs(const std::vector<uint8_t>& model,
                                                  const std::vector<NamedArray>& inputs);

// Output 0 of the model run on input 0 = x.
std::vector<float> run_model(const std::vector<uint8_t>& model, const tools::NpyArray& x);

}  // namespace qrt::test
