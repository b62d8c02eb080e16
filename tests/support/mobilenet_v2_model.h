// A real int8 .qrt of the MobileNetV2 shape (tests/support/mobilenet_v2_shape.h)
// with seeded random weights: for planner, profile and robustness tests that
// need a full-size graph, not for accuracy.
#pragma once

#include <cstdint>
#include <vector>

#include "qrt/schema/qrt_generated.h"

namespace qrt::test {

// u8 input "image" [1, 224, 224, 3], u8 output "logits" [1, 1, 1, 1000].
std::vector<uint8_t> mobilenet_v2_int8(fb::Profile profile, uint32_t seed = 1);

}  // namespace qrt::test
