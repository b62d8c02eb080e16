// Packed-buffer layouts shared by the ARM kernels and their prepare-time
// packing code, and the internal entry points between them.
//
// gemm_neondot.cc is compiled with -march=armv8.2-a+dotprod. This header
// therefore holds only plain structs, declarations and `static inline`
// helpers (internal linkage): an ordinary inline function compiled in that
// file could otherwise be the copy the linker keeps for a baseline caller.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu.h"
#include "kernels/params.h"

namespace qrt::kernels::arm {

static inline size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

// Every GEMM tier reads rows of A in steps of 8 bytes, so k is padded to 8.
constexpr int kGemmKAlign = 8;

// ---------------------------------------------------------------------------
// GEMM

// Weight layout of a GEMM tier: panels of nr = 8 columns, k split into
// groups of kr values that one instruction consumes per column: kr = 1 for
// vmlal (one k step, 8 columns = 8 bytes), kr = 4 for sdot (4 k steps per
// 32-bit lane). Panel p, k group g, column j, element i holds
// w[p * nr + j][g * kr + i] (zero past n or k).
//
// a_offset: the sdot tier multiplies signed bytes, so it feeds a - 128
// (a XOR 0x80) instead of a; the packed accumulator start adds
// 128 * sum_k w back: sum (a - 128) w + 128 sum w = sum a w.
struct GemmLayout {
  int nr;
  int kr;
  int a_offset;
};

// Header of a packed GEMM buffer, followed (at 64-byte aligned offsets) by
//   init[n_pad] int32   accumulator start per column
//   mult[n_pad] float   requantization multiplier per column
//   bias[n_pad] float   fbgemm float bias per column (0 when none)
//   weights, panel after panel
// with n_pad = panels * nr. Padding columns are all zero.
//
// fast: every multiplier is a normal float and every float bias is finite
// and normal or zero. Then v = f32(f32(acc + bias) * m) is never NaN and
// never needs a subnormal (armv7 NEON flushes those to zero), and the
// vector requantization is exact. Otherwise the kernels requantize with the
// scalar reference formula (requant_scalar).
struct GemmPacked {
  int32_t n, k, k_pad, panels;
  int32_t nr, kr;
  int32_t profile;  // Profile
  int32_t out_zp, out_min, out_max;
  int32_t fast;
  int32_t reserved;
  uint64_t init_offset, mult_offset, bias_offset, w_offset;
  uint64_t panel_bytes;
  uint64_t total_bytes;
};

static inline const int32_t* gemm_init(const GemmPacked* g) {
  return reinterpret_cast<const int32_t*>(reinterpret_cast<const uint8_t*>(g) + g->init_offset);
}
static inline const float* gemm_mult(const GemmPacked* g) {
  return reinterpret_cast<const float*>(reinterpret_cast<const uint8_t*>(g) + g->mult_offset);
}
static inline const float* gemm_bias(const GemmPacked* g) {
  return reinterpret_cast<const float*>(reinterpret_cast<const uint8_t*>(g) + g->bias_offset);
}
static inline const int8_t* gemm_weights(const GemmPacked* g) {
  return reinterpret_cast<const int8_t*>(g) + g->w_offset;
}

size_t gemm_packed_bytes(const GemmLayout& layout, int n, int k);
void gemm_pack(const GemmLayout& layout, const GemmPackParams& p, void* packed);

// A block of rows for a tier's GEMM. Row r of A is a + r * a_stride with k
// bytes, or k_pad bytes zero-padded past k when a_padded.
struct GemmRows {
  const GemmPacked* g;
  const uint8_t* a;
  size_t a_stride;
  int rows;
  bool a_padded;
  uint8_t* out;
  size_t out_stride;
  void* scratch;  // GemmTier::scratch_bytes(k)
};
using GemmRowsFn = void (*)(const GemmRows& r);

struct GemmTier {
  GemmLayout layout;
  int mr;
  GemmRowsFn rows;
  size_t (*scratch_bytes)(int k);
};

extern const GemmTier kGemmTierNeon;
extern const GemmTier kGemmTierNeonDot;

// The requantization of a rows x cols block of accumulators (row stride
// acc_stride) with the scalar reference formula, for packed parameters
// that are not `fast`. mult and bias point at the block's first column.
void requant_scalar(const int32_t* acc, int acc_stride, int rows, int cols, const float* mult,
                    const float* bias, int32_t profile, int32_t out_zp, int32_t out_min,
                    int32_t out_max, uint8_t* out, size_t out_stride);

// ---------------------------------------------------------------------------
// Convolution through the GEMM tiers

enum ConvPath : int32_t { kConvGemm = 0, kConvDirect = 1, kConvIndirect = 2 };

// Header of a packed conv: one GemmPacked per group (group_bytes apart) and
// a row of in_zp for padding taps.
struct ConvPacked {
  Conv2DShape shape;
  int32_t path;
  int32_t k;      // kernel_h * kernel_w * in_c / groups
  int32_t k_pad;  // gathered row length
  int32_t in_zp;
  uint64_t gemm_offset, group_bytes;
  uint64_t zero_offset;
};

static inline const GemmPacked* conv_group(const ConvPacked* c, int g) {
  return reinterpret_cast<const GemmPacked*>(reinterpret_cast<const uint8_t*>(c) + c->gemm_offset +
                                             c->group_bytes * static_cast<uint64_t>(g));
}
static inline const uint8_t* conv_zero(const ConvPacked* c) {
  return reinterpret_cast<const uint8_t*>(c) + c->zero_offset;
}

ConvPath conv_path(const Conv2DShape& s);
const char* conv_path_name(const Conv2DShape& s);
size_t conv_packed_bytes(const GemmTier& tier, const Conv2DShape& s);
void conv_pack(const GemmTier& tier, const ConvPackParams& p, void* packed);
size_t conv_indirection_entries(const Conv2DShape& s);
void conv_build_indirection(const void* packed, const uint8_t* in, const uint8_t** indirection);
size_t conv_scratch_bytes(const GemmTier& tier, const Conv2DShape& s);
void conv_run(const GemmTier& tier, const ConvArgs& args, int m_begin, int m_end, void* scratch);

// Per output pixel, kernel_h * kernel_w pointers (tap order ky, kx) to the
// input pixel's first channel, or to zero for a tap in the padding.
void build_indirection(const Conv2DShape& s, const uint8_t* in, const uint8_t* zero,
                       const uint8_t** indirection);

// ---------------------------------------------------------------------------
// Depthwise

// Channels per block of the depthwise kernels.
constexpr int kDwBlock = 16;

// Header of a packed depthwise conv, followed by `blocks` blocks of
// block_bytes: per tap 16 int16 weights (channel order), then init (int32),
// mult and bias (float), 16 each; then a row of in_zp for padding taps.
// With at least 16 channels the last block starts at C - 16 (overlapping
// the one before it), so every block is a full vector of real channels.
struct DwPacked {
  Conv2DShape shape;
  int32_t channels, taps, blocks;
  int32_t profile, out_zp, out_min, out_max;
  int32_t fast;  // as GemmPacked::fast
  uint64_t block_bytes;
  uint64_t blocks_offset, zero_offset;
};

static inline const uint8_t* dw_block(const DwPacked* d, int b) {
  return reinterpret_cast<const uint8_t*>(d) + d->blocks_offset +
         d->block_bytes * static_cast<uint64_t>(b);
}
static inline const uint8_t* dw_zero(const DwPacked* d) {
  return reinterpret_cast<const uint8_t*>(d) + d->zero_offset;
}
static inline int dw_block_start(const DwPacked* d, int b) {
  const int start = b * kDwBlock;
  if (d->channels >= kDwBlock && start > d->channels - kDwBlock) return d->channels - kDwBlock;
  return start;
}

size_t dw_packed_bytes(const Conv2DShape& s);
void dw_pack(const DwConvPackParams& p, void* packed);
void dw_build_indirection(const void* packed, const uint8_t* in, const uint8_t** indirection);
size_t dw_indirection_entries(const Conv2DShape& s);

using DwRunFn = void (*)(const DwConvArgs& a, int m_begin, int m_end);

// Depthwise runs unrolled for 3x3 and 5x5 kernels and for any tap count.
struct DwTier {
  DwRunFn run3x3, run5x5, run_any;
};

extern const DwTier kDwTierNeon;

}  // namespace qrt::kernels::arm
