// The ARM kernel tables that kernels/cpu.cc selects from.
#pragma once

#include "kernels/cpu.h"

namespace qrt::kernels::arm {

// The tier's kernels, or null for a tier this build has no kernel for
// (neon_dotprod on armv7 or without compiler support).
const GemmKernel* gemm_kernel(Isa isa);
const ConvKernel* conv_kernel(Isa isa);
// The tier's kernel for a depthwise conv of this kernel size.
const DwConvKernel* dwconv_kernel(Isa isa, int kernel_h, int kernel_w);

}  // namespace qrt::kernels::arm
