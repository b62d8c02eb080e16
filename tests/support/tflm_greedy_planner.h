// The yardstick for qrt's memory planner: TensorFlow Lite Micro's
// GreedyMemoryPlanner (tensorflow/lite/micro/memory_planner/
// greedy_memory_planner.cc), written anew from how it behaves.
#pragma once

#include <cstddef>
#include <vector>

#include "memory_planner.h"

namespace qrt::test {

struct TflmGreedyPlan {
  std::vector<size_t> offsets;  // one per buffer
  size_t arena_bytes = 0;
};

// Plans `buffers` the way TFLM does once its allocator has rounded every
// size up to `alignment` (AlignSizeUp before AddBuffer):
//  - buffers with an offline offset go first, at that offset, in index order;
//  - the others follow by size, largest first; equal sizes keep the order of
//    TFLM's sort array, which it fills from the tail, so later buffers first;
//  - each one walks the already placed buffers whose lifetimes overlap its
//    own, in offset order, and takes the first gap at least its size, or the
//    end of the last one.
// Zero-size buffers are planned like any other, as TFLM does; they can
// narrow a gap for later buffers.
TflmGreedyPlan tflm_greedy_plan(const std::vector<PlanBuffer>& buffers, size_t alignment);

}  // namespace qrt::test
