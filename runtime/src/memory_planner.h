// Arena memory planning: one byte offset per buffer (activation or scratch)
// from buffer lifetimes in operator order. Runs at prepare time, never in
// invoke; depends on nothing but the standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qrt {

struct PlanBuffer {
  size_t size;                  // bytes
  int first;                    // first operator index that uses it (graph inputs: 0)
  int last;                     // last operator index that uses it (graph outputs: last op)
  int64_t offline_offset = -1;  // fixed offset from an offline plan, or -1
};

// offsets[i] belongs to buffers[i]. Buffers i and j may share bytes only
// when their lifetimes [first, last] are disjoint.
struct MemoryPlan {
  std::vector<size_t> offsets;
  size_t arena_bytes = 0;
};

// Offsets are multiples of `alignment` and sizes are rounded up to it
// (`alignment` is meant to be a power of two; 0 is treated as 1).
//
// Buffers with offline_offset >= 0 and a non-zero size are placed exactly
// there; the caller validates them first with check_memory_plan() on the
// fixed subset. Every other buffer is placed around them. Zero-size buffers
// get offset 0 and never conflict.
//
// A lifetime with last < first is read as [first, first] (check_memory_plan
// rejects it). If the sizes cannot be added up in size_t the plan comes back empty
// (offsets.size() != buffers.size()): the caller must reject the model.
//
// Several greedy placements (orders by size, lifetime, peak live bytes...;
// first fit and best fit) are tried and the smallest arena wins, the first
// one on ties, so the result is deterministic. The first is TFLite Micro's
// greedy by size, so the arena is never larger than TFLM's plan of the same
// non-empty buffers (offline offsets being aligned). Large dense problems
// try fewer candidates to bound the planning time.
MemoryPlan plan_memory(const std::vector<PlanBuffer>& buffers, size_t alignment);

// Max over operators i of the sum of aligned sizes of the buffers live at i.
// No plan can use fewer bytes. Saturates at SIZE_MAX.
size_t memory_lower_bound(const std::vector<PlanBuffer>& buffers, size_t alignment);

// Checks an externally given plan: one offset per buffer, every non-empty
// buffer aligned and addressable, and no two non-empty buffers with
// overlapping lifetimes overlapping in memory. On failure returns false and,
// if `why` is not null, a reason naming the buffer indices.
bool check_memory_plan(const std::vector<PlanBuffer>& buffers, const std::vector<size_t>& offsets,
                       size_t alignment, std::string* why);

}  // namespace qrt
