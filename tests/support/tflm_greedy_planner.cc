#include "support/tflm_greedy_planner.h"

#include <algorithm>
#include <cstdint>

namespace qrt::test {

TflmGreedyPlan tflm_greedy_plan(const std::vector<PlanBuffer>& buffers, size_t alignment) {
  const size_t n = buffers.size();
  if (alignment == 0) alignment = 1;
  std::vector<int64_t> size(n);
  for (size_t i = 0; i < n; ++i)
    size[i] = static_cast<int64_t>((buffers[i].size + alignment - 1) / alignment * alignment);

  std::vector<size_t> sequence;
  for (size_t i = 0; i < n; ++i)
    if (buffers[i].offline_offset >= 0) sequence.push_back(i);
  std::vector<size_t> online;
  for (size_t i = n; i-- > 0;)
    if (buffers[i].offline_offset < 0) online.push_back(i);
  std::stable_sort(online.begin(), online.end(),
                   [&](size_t a, size_t b) { return size[a] > size[b]; });
  sequence.insert(sequence.end(), online.begin(), online.end());

  std::vector<int64_t> offset(n, 0);
  std::vector<size_t> by_offset;  // placed buffers; equal offsets in placement order
  int64_t arena = 0;
  for (size_t id : sequence) {
    const PlanBuffer& b = buffers[id];
    int64_t at = b.offline_offset;
    if (at < 0) {
      // `at` is the lowest offset above every overlapping buffer seen so far;
      // the first overlapping buffer that starts far enough above it closes
      // a gap that fits.
      at = 0;
      for (size_t other : by_offset) {
        const PlanBuffer& o = buffers[other];
        if (o.first > b.last || b.first > o.last) continue;
        if (offset[other] - at >= size[id]) break;
        at = std::max(at, offset[other] + size[other]);
      }
    }
    offset[id] = at;
    arena = std::max(arena, at + size[id]);
    auto pos = std::upper_bound(by_offset.begin(), by_offset.end(), at,
                                [&](int64_t value, size_t other) { return value < offset[other]; });
    by_offset.insert(pos, id);
  }

  TflmGreedyPlan plan;
  for (int64_t o : offset) plan.offsets.push_back(static_cast<size_t>(o));
  plan.arena_bytes = static_cast<size_t>(arena);
  return plan;
}

}  // namespace qrt::test
