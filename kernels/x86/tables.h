// The x86 kernel tables that kernels/cpu.cc selects from.
#pragma once

#include "kernels/cpu.h"

namespace qrt::kernels::x86 {

extern const GemmKernel kGemmAvx2;
extern const GemmKernel kGemmAvxvnni;
extern const GemmKernel kGemmAvx512vnni;

extern const ConvKernel kConvAvx2;
extern const ConvKernel kConvAvxvnni;
extern const ConvKernel kConvAvx512vnni;

// The tier's kernel for a depthwise conv of this kernel size.
const DwConvKernel* dwconv_avx2(int kernel_h, int kernel_w);
const DwConvKernel* dwconv_avxvnni(int kernel_h, int kernel_w);
const DwConvKernel* dwconv_avx512vnni(int kernel_h, int kernel_w);

}  // namespace qrt::kernels::x86
