#include "kernels/cpu.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#if defined(QRT_X86_KERNELS)
#include "kernels/x86/gemm_f32.h"
#include "kernels/x86/rows_f32.h"
#include "kernels/x86/tables.h"
#endif

#if defined(QRT_ARM_KERNELS)
#include "kernels/arm/rows_f32.h"
#include "kernels/arm/tables.h"
#endif

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace qrt::kernels {
namespace {

struct IsaName {
  Isa isa;
  const char* name;
};

constexpr IsaName kIsaNames[] = {
    {Isa::ref, "ref"},           {Isa::avx2, "avx2"}, {Isa::avxvnni, "avxvnni"},
    {Isa::avx512vnni, "avx512vnni"}, {Isa::neon, "neon"}, {Isa::neon_dotprod, "neon_dotprod"},
};

struct CpuFeatures {
  bool avx2 = false;        // AVX2 + FMA, ymm state enabled by the OS
  bool avxvnni = false;     // and AVX-VNNI (VEX vpdpbusd)
  bool avx512vnni = false;  // AVX-512 F/BW/VL/VNNI, zmm and opmask state enabled
  bool neon = false;
  bool neon_dotprod = false;
};

#if defined(__x86_64__) || defined(__i386__)

// XCR0: which register states the OS saves on a context switch. CPUID alone
// says what the silicon can do, not whether the kernel lets a process use it.
uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return f;
  const unsigned max_leaf = eax;
  if (max_leaf < 7) return f;
  __cpuid(1, eax, ebx, ecx, edx);
  const bool fma = ecx & (1u << 12);
  const bool osxsave = ecx & (1u << 27);
  const bool avx = ecx & (1u << 28);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;     // SSE and AVX state
  const bool zmm_state = (xcr0 & 0xe6) == 0xe6;   // plus opmask, ZMM_Hi256, Hi16_ZMM
  if (!ymm_state) return f;

  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const unsigned max_subleaf = eax;
  const bool avx2 = ebx & (1u << 5);
  const bool avx512f = ebx & (1u << 16);
  const bool avx512bw = ebx & (1u << 30);
  const bool avx512vl = ebx & (1u << 31);
  const bool avx512vnni = ecx & (1u << 11);
  bool avxvnni = false;
  if (max_subleaf >= 1) {
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    avxvnni = eax & (1u << 4);
  }
  f.avx2 = avx2 && fma;
  f.avxvnni = f.avx2 && avxvnni;
  f.avx512vnni = f.avx2 && zmm_state && avx512f && avx512bw && avx512vl && avx512vnni;
  return f;
}

#else

// NEON is decided at build time (DESIGN.md): it is the baseline of every
// ARM target qrt builds for. The ARMv8.2 dot product is optional even on
// new cores (Cortex-A72 in the Pi 4 lacks it, A76 in the Pi 5 has it), so
// aarch64 Linux/Android asks the kernel: AT_HWCAP bit 20 is HWCAP_ASIMDDP.
CpuFeatures detect() {
  CpuFeatures f;
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
  f.neon = true;
#endif
#if defined(__ARM_FEATURE_DOTPROD)
  f.neon_dotprod = true;
#elif defined(__aarch64__) && defined(__linux__)
  f.neon_dotprod = f.neon && (getauxval(AT_HWCAP) & (1ul << 20)) != 0;
#endif
  return f;
}

#endif

const CpuFeatures& features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace

bool isa_available(Isa isa) {
  const CpuFeatures& f = features();
  switch (isa) {
    case Isa::ref: return true;
    case Isa::avx2: return f.avx2;
    case Isa::avxvnni: return f.avxvnni;
    case Isa::avx512vnni: return f.avx512vnni;
    case Isa::neon: return f.neon;
    case Isa::neon_dotprod: return f.neon_dotprod;
  }
  return false;
}

Isa best_isa() {
  for (Isa isa : {Isa::avx512vnni, Isa::avxvnni, Isa::avx2, Isa::neon_dotprod, Isa::neon}) {
    if (isa_available(isa)) return isa;
  }
  return Isa::ref;
}

const char* isa_name(Isa isa) {
  for (const IsaName& n : kIsaNames) {
    if (n.isa == isa) return n.name;
  }
  return "unknown";
}

bool parse_isa(const char* name, Isa* isa) {
  if (name == nullptr) return false;
  for (const IsaName& n : kIsaNames) {
    if (std::strcmp(n.name, name) == 0) {
      if (isa) *isa = n.isa;
      return true;
    }
  }
  return false;
}

Isa selected_isa(std::string* error) {
  if (error) error->clear();
  const char* env = std::getenv("QRT_ISA");
  if (env == nullptr || env[0] == '\0') return best_isa();
  Isa isa = Isa::ref;
  const bool known = parse_isa(env, &isa);
  if (known && isa_available(isa)) return isa;
  if (error) {
    char text[160];
    if (!known)
      std::snprintf(text, sizeof text,
                    "QRT_ISA=%.40s is not one of ref, avx2, avxvnni, avx512vnni, neon, "
                    "neon_dotprod",
                    env);
    else
      std::snprintf(text, sizeof text, "QRT_ISA=%s but this CPU does not support it (best: %s)",
                    env, isa_name(best_isa()));
    *error = text;
  }
  return Isa::ref;
}

bool is_depthwise(const Conv2DShape& s) {
  return s.groups > 1 && s.groups == s.in_c && s.groups == s.out_c;
}

#if defined(QRT_X86_KERNELS)

const GemmKernel* select_gemm_kernel(Isa isa) {
  if (!isa_available(isa)) return nullptr;
  switch (isa) {
    case Isa::avx2: return &x86::kGemmAvx2;
#if defined(QRT_X86_AVXVNNI)
    case Isa::avxvnni: return &x86::kGemmAvxvnni;
#endif
#if defined(QRT_X86_AVX512VNNI)
    case Isa::avx512vnni: return &x86::kGemmAvx512vnni;
#endif
    default: return nullptr;
  }
}

const ConvKernel* select_conv_kernel(Isa isa) {
  if (!isa_available(isa)) return nullptr;
  switch (isa) {
    case Isa::avx2: return &x86::kConvAvx2;
#if defined(QRT_X86_AVXVNNI)
    case Isa::avxvnni: return &x86::kConvAvxvnni;
#endif
#if defined(QRT_X86_AVX512VNNI)
    case Isa::avx512vnni: return &x86::kConvAvx512vnni;
#endif
    default: return nullptr;
  }
}

const DwConvKernel* select_dwconv_kernel(Isa isa, const Conv2DShape& s) {
  if (!isa_available(isa) || !is_depthwise(s)) return nullptr;
  switch (isa) {
    case Isa::avx2: return x86::dwconv_avx2(s.kernel_h, s.kernel_w);
#if defined(QRT_X86_AVXVNNI)
    case Isa::avxvnni: return x86::dwconv_avxvnni(s.kernel_h, s.kernel_w);
#endif
#if defined(QRT_X86_AVX512VNNI)
    case Isa::avx512vnni: return x86::dwconv_avx512vnni(s.kernel_h, s.kernel_w);
#endif
    default: return nullptr;
  }
}

const AddKernel* select_add_kernel(Isa isa) {
  return isa_available(isa) ? x86::add_kernel(isa) : nullptr;
}

const MulKernel* select_mul_kernel(Isa isa) {
  return isa_available(isa) ? x86::mul_kernel(isa) : nullptr;
}

const PoolKernel* select_pool_kernel(Isa isa) {
  return isa_available(isa) ? x86::pool_kernel(isa) : nullptr;
}

const F32GemmKernel* select_f32_gemm_kernel(Isa isa) {
  if (!isa_available(isa)) return nullptr;
  switch (isa) {
    case Isa::avx2: return &x86::kF32GemmAvx2;
    case Isa::avxvnni: return &x86::kF32GemmAvxvnni;
#if defined(QRT_X86_AVX512VNNI)
    case Isa::avx512vnni: return &x86::kF32GemmAvx512;
#endif
    default: return nullptr;
  }
}

const F32RowKernel* select_f32_row_kernel(Isa isa) {
  return isa_available(isa) ? x86::f32_row_kernel(isa) : nullptr;
}

#elif defined(QRT_ARM_KERNELS)

const GemmKernel* select_gemm_kernel(Isa isa) {
  return isa_available(isa) ? arm::gemm_kernel(isa) : nullptr;
}

const ConvKernel* select_conv_kernel(Isa isa) {
  return isa_available(isa) ? arm::conv_kernel(isa) : nullptr;
}

const DwConvKernel* select_dwconv_kernel(Isa isa, const Conv2DShape& s) {
  if (!isa_available(isa) || !is_depthwise(s)) return nullptr;
  return arm::dwconv_kernel(isa, s.kernel_h, s.kernel_w);
}

const AddKernel* select_add_kernel(Isa isa) {
  return isa_available(isa) ? arm::add_kernel(isa) : nullptr;
}

const MulKernel* select_mul_kernel(Isa isa) {
  return isa_available(isa) ? arm::mul_kernel(isa) : nullptr;
}

const PoolKernel* select_pool_kernel(Isa) { return nullptr; }

const F32GemmKernel* select_f32_gemm_kernel(Isa isa) {
  return isa_available(isa) ? arm::f32_gemm_kernel(isa) : nullptr;
}

const F32RowKernel* select_f32_row_kernel(Isa isa) {
  return isa_available(isa) ? arm::f32_row_kernel(isa) : nullptr;
}

#else

const GemmKernel* select_gemm_kernel(Isa) { return nullptr; }
const ConvKernel* select_conv_kernel(Isa) { return nullptr; }
const DwConvKernel* select_dwconv_kernel(Isa, const Conv2DShape&) { return nullptr; }
const AddKernel* select_add_kernel(Isa) { return nullptr; }
const MulKernel* select_mul_kernel(Isa) { return nullptr; }
const PoolKernel* select_pool_kernel(Isa) { return nullptr; }
const F32GemmKernel* select_f32_gemm_kernel(Isa) { return nullptr; }
const F32RowKernel* select_f32_row_kernel(Isa) { return nullptr; }

#endif

// Quantize and transpose: both architectures' tables name them alike.
#if defined(QRT_X86_KERNELS) || defined(QRT_ARM_KERNELS)

#if defined(QRT_X86_KERNELS)
namespace tables = x86;
#else
namespace tables = arm;
#endif

const QuantizeKernel* select_quantize_kernel(Isa isa) {
  return isa_available(isa) ? tables::quantize_kernel(isa) : nullptr;
}

const TransposeKernel* select_transpose_kernel(Isa isa) {
  return isa_available(isa) ? tables::transpose_kernel(isa) : nullptr;
}

const LutKernel* select_lut_kernel(Isa isa) {
  return isa_available(isa) ? tables::lut_kernel(isa) : nullptr;
}

#else

const QuantizeKernel* select_quantize_kernel(Isa) { return nullptr; }
const TransposeKernel* select_transpose_kernel(Isa) { return nullptr; }
const LutKernel* select_lut_kernel(Isa) { return nullptr; }

#endif

}  // namespace qrt::kernels
