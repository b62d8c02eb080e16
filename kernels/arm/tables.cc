// Kernel tables: the tier-specific hot loops joined with the shared packing
// and drivers. QRT_ARM_DOTPROD is defined when gemm_neondot.cc is built.
#include "kernels/arm/tables.h"

#include "kernels/arm/layout.h"

namespace qrt::kernels::arm {
namespace {

template <const GemmTier& T>
size_t gemm_packed_bytes_t(int n, int k, const int8_t*, Profile) {
  return gemm_packed_bytes(T.layout, n, k);
}

template <const GemmTier& T>
void gemm_pack_t(const GemmPackParams& p, void* packed) {
  gemm_pack(T.layout, p, packed);
}

template <const GemmTier& T>
size_t gemm_scratch_t(int k) {
  return T.scratch_bytes(k);
}

template <const GemmTier& T>
void gemm_run_t(const GemmArgs& args, int m_begin, int m_end, void* scratch) {
  if (m_end <= m_begin) return;
  GemmRows r;
  r.g = static_cast<const GemmPacked*>(args.packed);
  r.a = args.a + static_cast<size_t>(m_begin) * args.a_stride;
  r.a_stride = args.a_stride;
  r.rows = m_end - m_begin;
  r.a_padded = false;
  r.out = args.out + static_cast<size_t>(m_begin) * args.out_stride;
  r.out_stride = args.out_stride;
  r.scratch = scratch;
  T.rows(r);
}

template <const GemmTier& T>
size_t conv_packed_bytes_t(const Conv2DShape& s, const int8_t*, Profile) {
  return conv_packed_bytes(T, s);
}

template <const GemmTier& T>
void conv_pack_t(const ConvPackParams& p, void* packed) {
  conv_pack(T, p, packed);
}

template <const GemmTier& T>
size_t conv_scratch_t(const Conv2DShape& s) {
  return conv_scratch_bytes(T, s);
}

template <const GemmTier& T>
void conv_run_t(const ConvArgs& args, int m_begin, int m_end, void* scratch) {
  conv_run(T, args, m_begin, m_end, scratch);
}

template <const GemmTier& T>
constexpr GemmKernel make_gemm(const char* name, Isa isa) {
  return GemmKernel{name,          isa, T.mr, T.layout.nr, &gemm_packed_bytes_t<T>, &gemm_pack_t<T>,
                    &gemm_scratch_t<T>, &gemm_run_t<T>};
}

template <const GemmTier& T>
constexpr ConvKernel make_conv(const char* name, Isa isa) {
  return ConvKernel{name,
                    isa,
                    &conv_path_name,
                    &conv_packed_bytes_t<T>,
                    &conv_pack_t<T>,
                    &conv_indirection_entries,
                    &conv_build_indirection,
                    &conv_scratch_t<T>,
                    &conv_run_t<T>};
}

constexpr DwConvKernel make_dw(const char* name, Isa isa, DwRunFn run) {
  return DwConvKernel{name,           isa,          kDwBlock, &dw_packed_bytes,
                      &dw_pack,       &dw_indirection_entries, &dw_build_indirection, run};
}

#if defined(__aarch64__)
const GemmKernel kGemmNeon = make_gemm<kGemmTierNeon>("gemm_u8s8_8x8_neon", Isa::neon);
const ConvKernel kConvNeon = make_conv<kGemmTierNeon>("conv_u8s8_8x8_neon", Isa::neon);
#else
const GemmKernel kGemmNeon = make_gemm<kGemmTierNeon>("gemm_u8s8_4x8_neon", Isa::neon);
const ConvKernel kConvNeon = make_conv<kGemmTierNeon>("conv_u8s8_4x8_neon", Isa::neon);
#endif
#if defined(QRT_ARM_DOTPROD)
const GemmKernel kGemmNeonDot =
    make_gemm<kGemmTierNeonDot>("gemm_u8s8_8x8_neondot", Isa::neon_dotprod);
const ConvKernel kConvNeonDot =
    make_conv<kGemmTierNeonDot>("conv_u8s8_8x8_neondot", Isa::neon_dotprod);
#endif

// Depthwise has no dot-product variant (its taps come from different
// pixels, so there is no 4-long contiguous reduction to feed sdot); the
// dotprod tier uses the NEON kernels under its own name.
const DwConvKernel kDw3x3Neon = make_dw("dwconv3x3_u8s8_neon", Isa::neon, kDwTierNeon.run3x3);
const DwConvKernel kDw5x5Neon = make_dw("dwconv5x5_u8s8_neon", Isa::neon, kDwTierNeon.run5x5);
const DwConvKernel kDwAnyNeon = make_dw("dwconv_u8s8_neon", Isa::neon, kDwTierNeon.run_any);
const DwConvKernel kDw3x3NeonDot =
    make_dw("dwconv3x3_u8s8_neon", Isa::neon_dotprod, kDwTierNeon.run3x3);
const DwConvKernel kDw5x5NeonDot =
    make_dw("dwconv5x5_u8s8_neon", Isa::neon_dotprod, kDwTierNeon.run5x5);
const DwConvKernel kDwAnyNeonDot =
    make_dw("dwconv_u8s8_neon", Isa::neon_dotprod, kDwTierNeon.run_any);

}  // namespace

const GemmKernel* gemm_kernel(Isa isa) {
  switch (isa) {
    case Isa::neon: return &kGemmNeon;
#if defined(QRT_ARM_DOTPROD)
    case Isa::neon_dotprod: return &kGemmNeonDot;
#endif
    default: return nullptr;
  }
}

const ConvKernel* conv_kernel(Isa isa) {
  switch (isa) {
    case Isa::neon: return &kConvNeon;
#if defined(QRT_ARM_DOTPROD)
    case Isa::neon_dotprod: return &kConvNeonDot;
#endif
    default: return nullptr;
  }
}

const DwConvKernel* dwconv_kernel(Isa isa, int kernel_h, int kernel_w) {
  const bool dot = isa == Isa::neon_dotprod;
  if (isa != Isa::neon && !dot) return nullptr;
  if (kernel_h == 3 && kernel_w == 3) return dot ? &kDw3x3NeonDot : &kDw3x3Neon;
  if (kernel_h == 5 && kernel_w == 5) return dot ? &kDw5x5NeonDot : &kDw5x5Neon;
  return dot ? &kDwAnyNeonDot : &kDwAnyNeon;
}

const AddKernel* add_kernel(Isa isa) {
  // The dot product has nothing to offer an add; the dotprod tier runs the
  // NEON kernel under its own tier.
  static const AddKernel neon{"add_u8_x16_neon", Isa::neon, &add_u8_x16_neon};
  static const AddKernel neon_dotprod{"add_u8_x16_neon", Isa::neon_dotprod, &add_u8_x16_neon};
  switch (isa) {
    case Isa::neon: return &neon;
    case Isa::neon_dotprod: return &neon_dotprod;
    default: return nullptr;
  }
}

const MulKernel* mul_kernel(Isa isa) {
  // Nor to a multiply: the dotprod tier runs the NEON kernel under its own tier.
  static const MulKernel neon{"mul_u8_x16_neon", Isa::neon, &mul_u8_x16_neon};
  static const MulKernel neon_dotprod{"mul_u8_x16_neon", Isa::neon_dotprod, &mul_u8_x16_neon};
  switch (isa) {
    case Isa::neon: return &neon;
    case Isa::neon_dotprod: return &neon_dotprod;
    default: return nullptr;
  }
}

// Quantize and transpose have no use for the dot product: the dotprod tier
// runs the NEON kernels under its own tier.
const QuantizeKernel* quantize_kernel(Isa isa) {
  static const QuantizeKernel table[] = {
      {"quantize_f32_x16_neon", Isa::neon, &quantize_f32_u8_x16_neon, &quantize_f32_s8_x16_neon},
      {"quantize_f32_x16_neon", Isa::neon_dotprod, &quantize_f32_u8_x16_neon,
       &quantize_f32_s8_x16_neon}};
  return isa == Isa::neon ? &table[0] : isa == Isa::neon_dotprod ? &table[1] : nullptr;
}

const TransposeKernel* transpose_kernel(Isa isa) {
  static const TransposeKernel table[] = {
      {"transpose_x16_neon", Isa::neon, &interleave_u8_x16_neon},
      {"transpose_x16_neon", Isa::neon_dotprod, &interleave_u8_x16_neon}};
  return isa == Isa::neon ? &table[0] : isa == Isa::neon_dotprod ? &table[1] : nullptr;
}

const LutKernel* lut_kernel(Isa isa) {
#if defined(__aarch64__)
  static const LutKernel table[] = {{"lut_u8_x16_neon", Isa::neon, &lut_u8_x16_neon},
                                    {"lut_u8_x16_neon", Isa::neon_dotprod, &lut_u8_x16_neon}};
  return isa == Isa::neon ? &table[0] : isa == Isa::neon_dotprod ? &table[1] : nullptr;
#else
  (void)isa;
  return nullptr;
#endif
}

}  // namespace qrt::kernels::arm
