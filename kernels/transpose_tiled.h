// Transpose for every permutation and element size, byte-identical with
// transpose_ref (a transpose only moves elements). After simplify_transpose
// the output's innermost axis is either the input's innermost (rows copied
// whole) or another axis; then the copy is a series of 2-D transposes
// between the output's innermost axis and the input's, done in tiles of one
// cache line per row, or by the tier's byte-plane interleave when u8 output
// rows are 2..4 bytes (NCHW -> NHWC of an RGB image).
#pragma once

#include <cstdint>

#include "kernels/cpu.h"
#include "kernels/ref/layout.h"

namespace qrt::kernels {

// The part of transpose_ref(p, in, out) whose index along output axis 0 is
// in [begin, end), so threads can share one transpose (rank 0: the one
// element when begin < end). kernel may be null: scalar loops only. Any p
// gives transpose_ref's bytes; one from simplify_transpose gives the fast
// loops.
void transpose_tiled(const TransposeParams& p, const void* in, void* out, int64_t begin,
                     int64_t end, const TransposeKernel* kernel);

}  // namespace qrt::kernels
