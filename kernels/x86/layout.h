// Packed-buffer layouts shared by the x86 kernels and their prepare-time
// packing code, and the internal entry points between them.
//
// Files here are compiled with different -m flags. This header therefore
// holds only plain structs, declarations and `static inline` helpers
// (internal linkage): an ordinary inline function compiled in an AVX-512 file
// could otherwise be the copy the linker keeps for a baseline caller.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu.h"
#include "kernels/params.h"

namespace qrt::kernels::x86 {

static inline size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

// ---------------------------------------------------------------------------
// GEMM

// Weight layout of a GEMM tier: panels of nr columns (one vector of int32
// accumulators), k split into groups of kr values that share a 32-bit lane:
// kr = 4 for u8 x s8 vpdpbusd, kr = 2 with weights widened to int16 for
// vpmaddwd. Panel p, k group g, column j, element i holds
// w[p * nr + j][g * kr + i] (zero past n or k).
//
// With interleave, each full group of 4 panels (4 * nr columns, all < n)
// holds its columns in the order the epilogue's packs leave them: panel i
// of the group, lane e holds column 16 * (e / 4) + 4 * i + e % 4 of the
// group. packssdw / packuswb of the group's four accumulator vectors of one
// row then give that row's 4 * nr output bytes in order, with no permute.
// init, mult and bias follow the panel order. Only GEMMs with k_pad <=
// kInterleaveMaxK are interleaved: the grouped tiles pay off where the
// requantization costs as much as the products, and with a long k their
// wider tiles would stream more weights per row.
//
// With u8_when_safe (AVX2, whose vpmaddubsw adds pairs of u8 x s8 products
// in saturating int16), a GEMM is packed as u8 x s8 groups of kr = 4 instead
// of int16 when vpmaddubsw can be exact on it: in the fbgemm profile, whose
// activations are calibrated to 0..127 (2 * 127 * 128 fits; rows with a
// larger value take an exact fallback), and whenever no adjacent pair of
// weights can reach the int16 bounds with activations up to 255
// (weight_pairs_safe). The packed header's kr says which.
//
// In the qnnpack profile, activations span 0..255, and trained weights have
// a few large values that make some pairs unsafe. Such a GEMM is packed u8
// with a step schedule, unless that would cost more steps than
// sched_max_steps allows (then int16): columns go in blocks of
// kSchedPanels panels (the tile's), and each block runs its own list of
// steps over k groups of 4. A group whose pairs are safe for all the
// block's columns is one step; any other is two, with the same activations:
// its even weights, then its odd ones (the others zero), so that each pair
// holds one product, at most 255 * 128.
//
// Two steps fuse when their int16 pair sums can be added in int16 exactly
// (per column and lane, the four weights' positive ones and negative ones
// each sum to at most 128 for activations up to 255, 258 for the fbgemm
// profile's 0..127): one vpmaddwd then widens both. Any other u8 GEMM takes
// a schedule too when enough of its steps fuse; a fbgemm one still splits
// rows with a byte above 127, as its pairs are exact for 0..127 only.
// The schedule, after sched_offset, as uint32:
//   start[blocks + 1]  block b's steps are start[b] .. start[b + 1] - 1
//   fused[blocks]      block b's first 2 * fused[b] steps are pairs
//   group[start[blocks]]  each step's k group
// Pairs, then single steps, each list in k order. When k is read in
// segments (the direct conv path), a pair's steps lie in one segment. Per
// step the block's panels hold 4 * nr bytes each, one after the other, from
// block b's start at w + 4 * nr * kSchedPanels * start[b] (only the last
// block can have a single panel).
constexpr int kInterleaveMaxK = 64;
constexpr int kSchedPanels = 2;
struct GemmLayout {
  int nr;
  int kr;
  bool wide;  // int16 elements
  bool interleave = false;
  bool u8_when_safe = false;
};

// The alignment of k for a tier's packed GEMMs, whichever element type.
static inline int gemm_k_align(const GemmLayout& l) { return l.u8_when_safe ? 4 : l.kr; }

// Header of a packed GEMM buffer, followed (at 64-byte aligned offsets) by
//   init[n_pad] int32   accumulator start per column
//   mult[n_pad] float   requantization multiplier per column
//   bias[n_pad] float   fbgemm float bias per column (0 when none)
//   weights, panel after panel
// with n_pad = panels * nr. Padding columns are all zero.
struct GemmPacked {
  int32_t n, k, k_pad, panels;
  int32_t nr, kr;
  int32_t profile;  // Profile
  int32_t out_zp, out_min, out_max;
  int32_t needs_cap;  // see requant_needs_cap
  int32_t groups;     // interleaved groups of 4 panels (the first 4 * groups)
  int32_t pairs_safe;  // u8 steps exact for any activations (rows need no check)
  int32_t scheduled;   // u8 with a step schedule at sched_offset
  uint64_t init_offset, mult_offset, bias_offset, sched_offset, w_offset;
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
static inline const uint8_t* gemm_weights(const GemmPacked* g) {
  return reinterpret_cast<const uint8_t*>(g) + g->w_offset;
}
// start[blocks + 1], fused[blocks], group[start[blocks]] (see above).
static inline const uint32_t* gemm_sched(const GemmPacked* g) {
  return reinterpret_cast<const uint32_t*>(reinterpret_cast<const uint8_t*>(g) + g->sched_offset);
}
// A schedule's blocks of kSchedPanels panels.
static inline int gemm_sched_blocks(const GemmPacked* g) {
  return (g->panels + kSchedPanels - 1) / kSchedPanels;
}
// How many fused pairs a GEMM runs (0 unless scheduled).
static inline size_t gemm_fused_pairs(const GemmPacked* g) {
  if (!g->scheduled) return 0;
  const int blocks = gemm_sched_blocks(g);
  const uint32_t* fused = gemm_sched(g) + blocks + 1;
  size_t pairs = 0;
  for (int b = 0; b < blocks; ++b) pairs += fused[b];
  return pairs;
}

// Whether v = f32(f32(float(acc) + bias) * m) can leave the int32 range or
// be NaN for some int32 acc and some of the columns [0, n): then the
// requantization must cap v before cvtps2dq (requant_avx2.h). Otherwise
// |v| < 2^30 for every acc, because
//   |v| <= (2^31 + |bias|) * |m| * (1 + 2^-24)^2,
// and the kernels skip the cap.
bool requant_needs_cap(const Requant& rq, int n);

// What gemm_pack writes for these weights in this profile: with
// u8_when_safe, the u8 or int16 layout it chooses for them.
size_t gemm_packed_bytes(const GemmLayout& layout, int n, int k, const int8_t* w,
                         Profile profile);
void gemm_pack(const GemmLayout& layout, const GemmPackParams& p, void* packed);

// Whether vpmaddubsw's int16 pair sums a0 * w[c][k] + a1 * w[c][k + 1]
// (k even) stay within int16 for all activations 0..255: each pair's
// positive weights and its negative weights sum to at most 128 in magnitude.
bool weight_pairs_safe(const int8_t* w, int n, int k);

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

// Rows whose k_pad values lie in segs segments of k_pad / segs each (the
// direct conv path: one segment per kernel row, read in place from padded
// image rows). Row r's segment s starts at seg[s] + r * a_stride bytes and
// holds the packed GEMM's A elements (int16 when its kr is 2, else u8).
struct GemmSegRows {
  const GemmPacked* g;
  const uint8_t* const* seg;
  int segs;
  size_t a_stride;  // bytes
  int rows;
  uint8_t* out;
  size_t out_stride;
  void* scratch;  // GemmTier::scratch_bytes(k_pad)
};
using GemmSegRowsFn = void (*)(const GemmSegRows& r);

// What the ISA-independent drivers need to know about a GEMM tier.
struct GemmTier {
  GemmLayout layout;
  int mr;
  GemmRowsFn rows;
  size_t (*scratch_bytes)(int k);
  GemmSegRowsFn seg_rows;
};

// Defined by the tier's own file (constant-initialized, no code runs).
extern const GemmTier kGemmTierAvx2;
extern const GemmTier kGemmTierAvxvnni;
extern const GemmTier kGemmTierAvx512vnni;

// ---------------------------------------------------------------------------
// Convolution through the GEMM tiers

enum ConvPath : int32_t { kConvGemm = 0, kConvDirect = 1, kConvIndirect = 2 };

// Header of a packed conv: one GemmPacked per group (group_bytes apart) and
// a row of in_zp for padding taps.
//
// The direct path packs each kernel row's kernel_w * in_c weights padded to
// seg_k (a multiple of kr), so that k_pad = kernel_h * seg_k and a pixel's
// kernel row is read in place, seg_k elements, from a copy of the input row
// padded with in_zp (the seg_k - kernel_w * in_c extra values meet zero
// weights).
struct ConvPacked {
  Conv2DShape shape;
  int32_t path;
  int32_t k;      // kernel_h * kernel_w * in_c / groups
  int32_t k_pad;  // gathered row length (direct: kernel_h * seg_k)
  int32_t seg_k;  // direct path: padded length of one kernel row
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
size_t conv_packed_bytes(const GemmTier& tier, const Conv2DShape& s, const int8_t* w,
                         Profile profile);
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

// Channel layout of a depthwise tier. A block of vc = lanes * 4 * nv
// channels is held in nv vectors; vector i, 128-bit lane L, 32-bit element d
// holds channel L * 4 * nv + 4 * i + d of the block: the order in which
// unpacking tg taps' inputs per lane leaves them. Each element packs tg
// consecutive taps' weights (int8 for tg = 4, int16 for tg = 2).
struct DwLayout {
  int lanes;
  int nv;
  int tg;
  bool overlap_tail;  // the last full-width block ends at channel C (needs C >= vc)
  bool narrow_tail;   // the last block has as few 16-channel lanes as hold C % vc
  bool direct;        // the tier has row kernels (dw_direct)
};

// The direct (row) path: instead of kernel_h * kernel_w pointers per output
// pixel, the kernel reads the NHWC input itself, one output row segment at a
// time. It interleaves each input column's rows once (tg rows per 32-bit
// element, padding rows and columns as in_zp) into a column buffer of
// kDwDirectColumnBytes on its stack, and every output pixel of the segment
// takes its kernel_w columns from there: the unpacks, which dominate
// per-tap indirection, are shared by the kernel_w / stride_w output pixels
// that read a column (3x3 with unit stride along the row on four-tap tiers
// keeps the last three columns in registers instead: dwconv_direct.h). The
// indirection buffer shrinks to one entry, the input.
//
// A column holds the input rows at row_offset[0..slots) from the first
// kernel row of output row oy (slot q = group q / tg, element q % tg;
// -1: unused, read as in_zp). With out_rows = 2 it serves output rows oy and
// oy + 1 at once, when the second row's taps fit the same number of row
// groups (3x3 stride 1 on four-tap tiers: rows 0..3): the interleaving, the
// costly part, is then shared by both rows, each with its own weights.
// Weight set j (output row oy + j), group (j * kernel_w + kx) * row_groups + r,
// element e holds the tap (ky, kx) with j * stride_h + ky * dilation_h ==
// row_offset[r * tg + e], zero if none.
constexpr int kDwDirectMaxRowGroups = 4;
constexpr int kDwDirectSlots = 4 * kDwDirectMaxRowGroups;
constexpr size_t kDwDirectColumnBytes = 16384;
bool dw_direct(const DwLayout& layout, const Conv2DShape& s);
size_t dw_indirection_entries(const DwLayout& layout, const Conv2DShape& s);

// Header of a packed depthwise conv, followed by `blocks` blocks of
// block_bytes: tap groups x nv weight vectors, then init, mult and bias as
// nv vectors each (int32/float per channel in layout order), and a row of
// in_zp for padding taps. With narrow_tail the last block's vectors are
// 16 * tail_lanes bytes wide.
struct DwPacked {
  Conv2DShape shape;
  int32_t channels, taps, tap_groups, blocks, vc;
  int32_t profile, out_zp, out_min, out_max;
  int32_t needs_cap;   // see requant_needs_cap
  int32_t overlap;     // block starts are min(b * vc, C - vc)
  int32_t tail_lanes;  // 128-bit lanes of the last block
  int32_t direct;      // dw_direct: indirection[0] is the input
  int32_t row_groups;  // direct: tap groups per kernel column
  int32_t out_rows;    // direct: output rows per column buffer (1 or 2)
  int32_t span;        // direct: output pixels per column buffer
  int32_t row_offset[kDwDirectSlots];  // direct
  uint64_t vector_bytes, block_bytes;
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
  const int start = b * d->vc;
  if (d->overlap && start > d->channels - d->vc) return d->channels - d->vc;
  return start;
}

size_t dw_packed_bytes(const DwLayout& layout, const Conv2DShape& s);
void dw_pack(const DwLayout& layout, const DwConvPackParams& p, void* packed);
void dw_build_indirection(const void* packed, const uint8_t* in, const uint8_t** indirection);

using DwRunFn = void (*)(const DwConvArgs& a, int m_begin, int m_end);

// A depthwise tier: its layout and runs unrolled for 3x3 and 5x5 kernels
// and for any tap count.
struct DwTier {
  DwLayout layout;
  DwRunFn run3x3, run5x5, run_any;
};

extern const DwTier kDwTierAvx2;
extern const DwTier kDwTierAvxvnni;
extern const DwTier kDwTierAvx512vnni;

}  // namespace qrt::kernels::x86
