// Convolution through the GEMM tiers (compiled without ISA flags): the
// indirection buffer, the row gathers, and the driver that feeds gathered
// rows to a tier's GEMM. Gathering MR rows at a time (kernel_h * kernel_w *
// in_c / groups bytes each) costs a copy per row, which the GEMM reuses for
// every output channel. The direct path instead copies kernel_h padded input
// rows once per output row and lets the GEMM read every pixel in place.
#include <cstring>

#include "kernels/x86/layout.h"

namespace qrt::kernels::x86 {
namespace {

constexpr size_t kAlign = 64;

// memcpy for the short, variable lengths of a gather without a library
// call: fixed-size pieces, the last one overlapping.
void copy_bytes(uint8_t* dst, const uint8_t* src, size_t n) {
  if (n >= 16) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) std::memcpy(dst + i, src + i, 16);
    if (i < n) std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// One row per output pixel: every tap's in_c / groups channels of group g.
// Taps whose bytes follow each other in memory (the kernel_w taps of an
// interior row when groups == 1) are copied as one run.
void gather_indirect(const ConvPacked* h, const uint8_t* const* indirection, int m, int rows,
                     int group, uint8_t* dst) {
  const Conv2DShape& s = h->shape;
  const int taps = s.kernel_h * s.kernel_w;
  const size_t icg = static_cast<size_t>(s.in_c / s.groups);
  const size_t coff = icg * group;
  for (int r = 0; r < rows; ++r) {
    const uint8_t* const* ptrs = indirection + static_cast<size_t>(m + r) * taps;
    uint8_t* d = dst + static_cast<size_t>(r) * h->k_pad;
    int t = 0;
    while (t < taps) {
      const uint8_t* src = ptrs[t] + coff;
      size_t len = icg;
      for (++t; t < taps && ptrs[t] + coff == src + len; ++t) len += icg;
      copy_bytes(d, src, len);
      d += len;
    }
    std::memset(d, 0, static_cast<size_t>(h->k_pad - h->k));
  }
}

// Direct path (groups == 1, dilation_w == 1): output pixels ox0..ox1-1 of
// one output row read kernel row ky from one padded input row: element
// (ox - ox0) * stride_w * in_c + j of that row is input column
// ox * stride_w - pad_left + j / in_c, or in_zp outside the image (also for
// the seg_k - kernel_w * in_c values past the kernel, which meet zero
// weights). Wide tiers get the values as int16, ready for vpmaddwd. One
// copy per output row replaces a gather per pixel, and the GEMM reads each
// pixel's kernel rows in place.
size_t direct_row_cols(const Conv2DShape& s, int seg_k, int pixels) {
  return static_cast<size_t>(pixels - 1) * s.stride_w +
         (static_cast<size_t>(seg_k) + s.in_c - 1) / s.in_c;
}

size_t direct_row_bytes(const GemmTier& tier, const Conv2DShape& s, int seg_k) {
  const size_t elem = tier.layout.wide ? 2 : 1;
  return round_up(direct_row_cols(s, seg_k, s.out_w) * s.in_c * elem, kAlign);
}

// Where the GEMM's scratch starts: after the rows and the segment pointers.
size_t direct_pointers_end(size_t row_bytes, const Conv2DShape& s) {
  return round_up(row_bytes * s.kernel_h + sizeof(const uint8_t*) * s.kernel_h, kAlign);
}

template <typename T>
void fill_direct_row(const uint8_t* row, const Conv2DShape& s, int ix_begin, size_t cols, int zp,
                     T* dst) {
  const size_t c = static_cast<size_t>(s.in_c);
  const int ix_end = ix_begin + static_cast<int>(cols);
  const int lo = row == nullptr ? ix_end : (ix_begin > 0 ? ix_begin : 0);
  const int hi = row == nullptr ? ix_end : (ix_end < s.in_w ? ix_end : s.in_w);
  size_t i = 0;
  const size_t left = lo > ix_begin ? static_cast<size_t>(lo - ix_begin) * c : 0;
  for (; i < left; ++i) dst[i] = static_cast<T>(zp);
  if (hi > lo) {
    const uint8_t* src = row + static_cast<size_t>(lo) * c;
    const size_t n = static_cast<size_t>(hi - lo) * c;
    if (sizeof(T) == 1) {
      std::memcpy(dst + i, src, n);
    } else {
      for (size_t j = 0; j < n; ++j) dst[i + j] = src[j];
    }
    i += n;
  }
  for (const size_t end = cols * c; i < end; ++i) dst[i] = static_cast<T>(zp);
}

void run_direct(const GemmTier& tier, const ConvPacked* h, const uint8_t* in, uint8_t* out,
                int m_begin, int m_end, void* scratch) {
  const Conv2DShape& s = h->shape;
  const size_t c = static_cast<size_t>(s.in_c);
  // The packed GEMM says whether it takes int16 (layout.h, u8_when_safe).
  const size_t elem = conv_group(h, 0)->kr == 2 ? 2 : 1;
  const size_t row_bytes = direct_row_bytes(tier, s, h->seg_k);
  uint8_t* rows = static_cast<uint8_t*>(scratch);
  // kernel_h segment pointers live after the rows, the GEMM's scratch after
  // them.
  const uint8_t** seg = reinterpret_cast<const uint8_t**>(rows + row_bytes * s.kernel_h);
  for (int ky = 0; ky < s.kernel_h; ++ky) seg[ky] = rows + row_bytes * ky;
  GemmSegRows r;
  r.g = conv_group(h, 0);
  r.scratch = rows + direct_pointers_end(row_bytes, s);
  r.seg = seg;
  r.segs = s.kernel_h;
  r.a_stride = static_cast<size_t>(s.stride_w) * c * elem;
  r.out_stride = static_cast<size_t>(s.out_c);
  const int pixels = s.out_h * s.out_w;
  int m = m_begin;
  while (m < m_end) {
    const int n = m / pixels;
    const int oy = m % pixels / s.out_w;
    const int ox0 = m % s.out_w;
    const int ox1 = m_end - m < s.out_w - ox0 ? ox0 + (m_end - m) : s.out_w;
    const size_t cols = direct_row_cols(s, h->seg_k, ox1 - ox0);
    const int ix_begin = ox0 * s.stride_w - s.pad_left;
    for (int ky = 0; ky < s.kernel_h; ++ky) {
      const int iy = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
      const uint8_t* row =
          iy < 0 || iy >= s.in_h ? nullptr
                                 : in + (static_cast<size_t>(n) * s.in_h + iy) * s.in_w * c;
      if (elem == 2) {
        fill_direct_row(row, s, ix_begin, cols, h->in_zp,
                        reinterpret_cast<int16_t*>(rows + row_bytes * ky));
      } else {
        fill_direct_row(row, s, ix_begin, cols, h->in_zp, rows + row_bytes * ky);
      }
    }
    r.rows = ox1 - ox0;
    r.out = out + static_cast<size_t>(m) * s.out_c;
    tier.seg_rows(r);
    m += ox1 - ox0;
  }
}

size_t gather_bytes(const GemmTier& tier, int k_pad) {
  return round_up(static_cast<size_t>(tier.mr) * k_pad, kAlign);
}

int conv_k_pad(const GemmTier& tier, const Conv2DShape& s) {
  const int k = s.kernel_h * s.kernel_w * (s.in_c / s.groups);
  return static_cast<int>(round_up(static_cast<size_t>(k), gemm_k_align(tier.layout)));
}

}  // namespace

void build_indirection(const Conv2DShape& s, const uint8_t* in, const uint8_t* zero,
                       const uint8_t** indirection) {
  const size_t c = static_cast<size_t>(s.in_c);
  const uint8_t** p = indirection;
  for (int n = 0; n < s.batch; ++n) {
    for (int oy = 0; oy < s.out_h; ++oy) {
      for (int ox = 0; ox < s.out_w; ++ox) {
        for (int ky = 0; ky < s.kernel_h; ++ky) {
          const int iy = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
          for (int kx = 0; kx < s.kernel_w; ++kx) {
            const int ix = ox * s.stride_w - s.pad_left + kx * s.dilation_w;
            const bool inside = iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w;
            *p++ = inside ? in + ((static_cast<size_t>(n) * s.in_h + iy) * s.in_w + ix) * c : zero;
          }
        }
      }
    }
  }
}

size_t conv_indirection_entries(const Conv2DShape& s) {
  if (conv_path(s) != kConvIndirect) return 0;
  return static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.kernel_h * s.kernel_w;
}

void conv_build_indirection(const void* packed, const uint8_t* in, const uint8_t** indirection) {
  const ConvPacked* h = static_cast<const ConvPacked*>(packed);
  if (h->path == kConvIndirect) build_indirection(h->shape, in, conv_zero(h), indirection);
}

size_t conv_scratch_bytes(const GemmTier& tier, const Conv2DShape& s) {
  if (conv_path(s) == kConvDirect) {
    const int seg_k = static_cast<int>(
        round_up(static_cast<size_t>(s.kernel_w) * s.in_c, gemm_k_align(tier.layout)));
    return direct_pointers_end(direct_row_bytes(tier, s, seg_k), s) +
           tier.scratch_bytes(s.kernel_h * seg_k);
  }
  const int k_pad = conv_k_pad(tier, s);
  const size_t gemm = tier.scratch_bytes(k_pad);
  if (conv_path(s) == kConvGemm) return gemm;
  return gather_bytes(tier, k_pad) + gemm;
}

void conv_run(const GemmTier& tier, const ConvArgs& args, int m_begin, int m_end, void* scratch) {
  const ConvPacked* h = static_cast<const ConvPacked*>(args.packed);
  const Conv2DShape& s = h->shape;
  const size_t out_c = static_cast<size_t>(s.out_c);
  if (h->path == kConvGemm) {
    GemmRows r;
    r.g = conv_group(h, 0);
    r.a = args.in + static_cast<size_t>(m_begin) * s.in_c;
    r.a_stride = static_cast<size_t>(s.in_c);
    r.rows = m_end - m_begin;
    r.a_padded = false;
    r.out = args.out + static_cast<size_t>(m_begin) * out_c;
    r.out_stride = out_c;
    r.scratch = scratch;
    if (r.rows > 0) tier.rows(r);
    return;
  }
  if (h->path == kConvDirect) {
    run_direct(tier, h, args.in, args.out, m_begin, m_end, scratch);
    return;
  }
  uint8_t* rows_buf = static_cast<uint8_t*>(scratch);
  void* gemm_scratch = rows_buf + gather_bytes(tier, h->k_pad);
  const int ocg = s.out_c / s.groups;
  for (int m = m_begin; m < m_end; m += tier.mr) {
    const int rows = m_end - m < tier.mr ? m_end - m : tier.mr;
    for (int g = 0; g < s.groups; ++g) {
      gather_indirect(h, args.indirection, m, rows, g, rows_buf);
      GemmRows r;
      r.g = conv_group(h, g);
      r.a = rows_buf;
      r.a_stride = static_cast<size_t>(h->k_pad);
      r.rows = rows;
      r.a_padded = true;
      r.out = args.out + static_cast<size_t>(m) * out_c + static_cast<size_t>(g) * ocg;
      r.out_stride = out_c;
      r.scratch = gemm_scratch;
      tier.rows(r);
    }
  }
}

}  // namespace qrt::kernels::x86
