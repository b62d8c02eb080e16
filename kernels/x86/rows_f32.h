// The float32 row kernels (softmax, layer norm, sigmoid, tanh, silu, exp) of rows_f32_avx2.cc.
#pragma once

#include "kernels/cpu.h"

namespace qrt::kernels::x86 {

// One AVX2 kernel for every x86 tier, or null for a non-x86 tier.
const F32RowKernel* f32_row_kernel(Isa isa);

}  // namespace qrt::kernels::x86
