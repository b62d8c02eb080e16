// The float32 row kernels of rows_f32_neon.cc.
#pragma once

#include "kernels/cpu.h"

namespace qrt::kernels::arm {

// One NEON kernel for both aarch64 tiers, or null (armv7, a non-ARM tier).
const F32RowKernel* f32_row_kernel(Isa isa);

}  // namespace qrt::kernels::arm
