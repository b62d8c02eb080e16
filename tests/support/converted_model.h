// Reading and running converted .qrt models in converter tests.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "npy.h"
#include "qrt/schema/qrt_generated.h"

namespace qrt::test {

std::map<fb::OpCode, int> op_counts(const std::vector<uint8_t>& model);

// The model's one operator of kind `code` (doctest REQUIREs there is exactly one).
const fb::Operator* only_op(const std::vector<uint8_t>& model, fb::OpCode code);

// Output 0 (float32) of the model run on input 0 = x (float32, int64 or int32).
std::vector<float> run_model(const std::vector<uint8_t>& model, const tools::NpyArray& x);

}  // namespace qrt::test
