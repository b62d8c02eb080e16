// Kernel tables: the ISA-specific hot loops (in the tier files) joined with
// the ISA-independent packing and drivers (compiled without ISA flags).
#include "kernels/x86/tables.h"

#include "kernels/x86/layout.h"

namespace qrt::kernels::x86 {
namespace {

template <const GemmTier& T>
size_t gemm_packed_bytes_t(int n, int k, const int8_t* w, Profile profile) {
  return gemm_packed_bytes(T.layout, n, k, w, profile);
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
size_t conv_packed_bytes_t(const Conv2DShape& s, const int8_t* w, Profile profile) {
  return conv_packed_bytes(T, s, w, profile);
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
constexpr GemmKernel gemm_kernel(const char* name, Isa isa, int mr, int nr) {
  return GemmKernel{
      name,          isa, mr, nr, &gemm_packed_bytes_t<T>, &gemm_pack_t<T>, &gemm_scratch_t<T>,
      &gemm_run_t<T>};
}

template <const GemmTier& T>
constexpr ConvKernel conv_kernel(const char* name, Isa isa) {
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

template <const DwTier& T>
size_t dw_packed_bytes_t(const Conv2DShape& s) {
  return dw_packed_bytes(T.layout, s);
}

template <const DwTier& T>
void dw_pack_t(const DwConvPackParams& p, void* packed) {
  dw_pack(T.layout, p, packed);
}

template <const DwTier& T>
size_t dw_indirection_entries_t(const Conv2DShape& s) {
  return dw_indirection_entries(T.layout, s);
}

template <const DwTier& T>
constexpr DwConvKernel dw_kernel(const char* name, Isa isa, DwRunFn run) {
  return DwConvKernel{name,
                      isa,
                      T.layout.lanes * 4 * T.layout.nv,
                      &dw_packed_bytes_t<T>,
                      &dw_pack_t<T>,
                      &dw_indirection_entries_t<T>,
                      &dw_build_indirection,
                      run};
}

}  // namespace

const GemmKernel kGemmAvx2 = gemm_kernel<kGemmTierAvx2>("gemm_u8s8_6x16_avx2", Isa::avx2, 6, 16);
const ConvKernel kConvAvx2 = conv_kernel<kGemmTierAvx2>("conv_u8s8_6x16_avx2", Isa::avx2);
const DwConvKernel* dwconv_avx2(int kernel_h, int kernel_w) {
  static const DwConvKernel k3 =
      dw_kernel<kDwTierAvx2>("dwconv3x3_u8s8_avx2", Isa::avx2, kDwTierAvx2.run3x3);
  static const DwConvKernel k5 =
      dw_kernel<kDwTierAvx2>("dwconv5x5_u8s8_avx2", Isa::avx2, kDwTierAvx2.run5x5);
  static const DwConvKernel any =
      dw_kernel<kDwTierAvx2>("dwconv_u8s8_avx2", Isa::avx2, kDwTierAvx2.run_any);
  if (kernel_h == 3 && kernel_w == 3) return &k3;
  if (kernel_h == 5 && kernel_w == 5) return &k5;
  return &any;
}

#if defined(QRT_X86_AVXVNNI)
const GemmKernel kGemmAvxvnni =
    gemm_kernel<kGemmTierAvxvnni>("gemm_u8s8_6x16_avxvnni", Isa::avxvnni, 6, 16);
const ConvKernel kConvAvxvnni =
    conv_kernel<kGemmTierAvxvnni>("conv_u8s8_6x16_avxvnni", Isa::avxvnni);
const DwConvKernel* dwconv_avxvnni(int kernel_h, int kernel_w) {
  static const DwConvKernel k3 =
      dw_kernel<kDwTierAvxvnni>("dwconv3x3_u8s8_avxvnni", Isa::avxvnni, kDwTierAvxvnni.run3x3);
  static const DwConvKernel k5 =
      dw_kernel<kDwTierAvxvnni>("dwconv5x5_u8s8_avxvnni", Isa::avxvnni, kDwTierAvxvnni.run5x5);
  static const DwConvKernel any =
      dw_kernel<kDwTierAvxvnni>("dwconv_u8s8_avxvnni", Isa::avxvnni, kDwTierAvxvnni.run_any);
  if (kernel_h == 3 && kernel_w == 3) return &k3;
  if (kernel_h == 5 && kernel_w == 5) return &k5;
  return &any;
}
#endif

#if defined(QRT_X86_AVX512VNNI)
const GemmKernel kGemmAvx512vnni =
    gemm_kernel<kGemmTierAvx512vnni>("gemm_u8s8_8x32_avx512vnni", Isa::avx512vnni, 8, 32);
const ConvKernel kConvAvx512vnni =
    conv_kernel<kGemmTierAvx512vnni>("conv_u8s8_8x32_avx512vnni", Isa::avx512vnni);
const DwConvKernel* dwconv_avx512vnni(int kernel_h, int kernel_w) {
  static const DwConvKernel k3 = dw_kernel<kDwTierAvx512vnni>(
      "dwconv3x3_u8s8_avx512vnni", Isa::avx512vnni, kDwTierAvx512vnni.run3x3);
  static const DwConvKernel k5 = dw_kernel<kDwTierAvx512vnni>(
      "dwconv5x5_u8s8_avx512vnni", Isa::avx512vnni, kDwTierAvx512vnni.run5x5);
  static const DwConvKernel any = dw_kernel<kDwTierAvx512vnni>(
      "dwconv_u8s8_avx512vnni", Isa::avx512vnni, kDwTierAvx512vnni.run_any);
  if (kernel_h == 3 && kernel_w == 3) return &k3;
  if (kernel_h == 5 && kernel_w == 5) return &k5;
  return &any;
}
#endif

const AddKernel* add_kernel(Isa isa) {
  // One AVX2 kernel for every tier (add_avx2.cc says why), each entry
  // carrying the tier it was selected for.
  static const AddKernel avx2{"add_u8_x32_avx2", Isa::avx2, &add_u8_x32_avx2};
  static const AddKernel avxvnni{"add_u8_x32_avx2", Isa::avxvnni, &add_u8_x32_avx2};
  static const AddKernel avx512vnni{"add_u8_x32_avx2", Isa::avx512vnni, &add_u8_x32_avx2};
  switch (isa) {
    case Isa::avx2: return &avx2;
    case Isa::avxvnni: return &avxvnni;
    case Isa::avx512vnni: return &avx512vnni;
    default: return nullptr;
  }
}

const MulKernel* mul_kernel(Isa isa) {
  // One AVX2 kernel for every tier (mul_avx2.cc says why).
  static const MulKernel avx2{"mul_u8_x32_avx2", Isa::avx2, &mul_u8_x32_avx2};
  static const MulKernel avxvnni{"mul_u8_x32_avx2", Isa::avxvnni, &mul_u8_x32_avx2};
  static const MulKernel avx512vnni{"mul_u8_x32_avx2", Isa::avx512vnni, &mul_u8_x32_avx2};
  switch (isa) {
    case Isa::avx2: return &avx2;
    case Isa::avxvnni: return &avxvnni;
    case Isa::avx512vnni: return &avx512vnni;
    default: return nullptr;
  }
}

const PoolKernel* pool_kernel(Isa isa) {
  // The AVX2 kernels for every tier (pool_avx2.cc says why).
  static const PoolKernel avx2{Isa::avx2, "global_avg_pool_u8_x32_avx2",
                               &global_avg_pool_u8_x32_avx2, "avg_pool2d_u8_x32_avx2",
                               &avg_pool2d_u8_x32_avx2};
  static const PoolKernel avxvnni{Isa::avxvnni, "global_avg_pool_u8_x32_avx2",
                                  &global_avg_pool_u8_x32_avx2, "avg_pool2d_u8_x32_avx2",
                                  &avg_pool2d_u8_x32_avx2};
  static const PoolKernel avx512vnni{Isa::avx512vnni, "global_avg_pool_u8_x32_avx2",
                                     &global_avg_pool_u8_x32_avx2, "avg_pool2d_u8_x32_avx2",
                                     &avg_pool2d_u8_x32_avx2};
  switch (isa) {
    case Isa::avx2: return &avx2;
    case Isa::avxvnni: return &avxvnni;
    case Isa::avx512vnni: return &avx512vnni;
    default: return nullptr;
  }
}

// The entry of `table` (one per x86 tier) for isa, or null.
template <class K>
static const K* tier_entry(Isa isa, const K (&table)[3]) {
  for (const K& k : table)
    if (k.isa == isa) return &k;
  return nullptr;
}

const QuantizeKernel* quantize_kernel(Isa isa) {
  // One AVX2 kernel for every tier (quantize_avx2.cc says why).
  static const QuantizeKernel table[] = {
      {"quantize_f32_x32_avx2", Isa::avx2, &quantize_f32_u8_x32_avx2, &quantize_f32_s8_x32_avx2},
      {"quantize_f32_x32_avx2", Isa::avxvnni, &quantize_f32_u8_x32_avx2, &quantize_f32_s8_x32_avx2},
      {"quantize_f32_x32_avx2", Isa::avx512vnni, &quantize_f32_u8_x32_avx2,
       &quantize_f32_s8_x32_avx2}};
  return tier_entry(isa, table);
}

const TransposeKernel* transpose_kernel(Isa isa) {
  // Bound by loads and stores more than by shuffles: every tier runs AVX2.
  static const TransposeKernel table[] = {
      {"transpose_x32_avx2", Isa::avx2, &interleave_u8_x32_avx2},
      {"transpose_x32_avx2", Isa::avxvnni, &interleave_u8_x32_avx2},
      {"transpose_x32_avx2", Isa::avx512vnni, &interleave_u8_x32_avx2}};
  return tier_entry(isa, table);
}

const LutKernel* lut_kernel(Isa isa) {
  // vpshufb is a 16-byte table on zmm too: every tier runs AVX2.
  static const LutKernel table[] = {{"lut_u8_x32_avx2", Isa::avx2, &lut_u8_x32_avx2},
                                    {"lut_u8_x32_avx2", Isa::avxvnni, &lut_u8_x32_avx2},
                                    {"lut_u8_x32_avx2", Isa::avx512vnni, &lut_u8_x32_avx2}};
  return tier_entry(isa, table);
}

}  // namespace qrt::kernels::x86
