// Convolution through the ARM GEMM tiers: the indirection buffer, the row
// gathers, and the driver that feeds gathered rows to a tier's GEMM (the
// same scheme as kernels/x86/conv.cc, over the ARM packed layouts).
// Gathering MR rows at a time (kernel_h * kernel_w * in_c / groups bytes
// each) costs a copy per row, which the GEMM reuses for every output
// channel.
#include <cstring>

#include "kernels/arm/layout.h"

namespace qrt::kernels::arm {
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

// groups == 1, dilation_w == 1: kernel row ky of pixel (n, oy, ox) is the
// kernel_w * in_c bytes at input (n, iy, ox * stride_w - pad_left), with
// in_zp where the row leaves the image.
void gather_direct(const ConvPacked* h, const uint8_t* in, int m, int rows, uint8_t* dst) {
  const Conv2DShape& s = h->shape;
  const size_t c = static_cast<size_t>(s.in_c);
  const size_t row_len = c * s.kernel_w;
  const int pixels = s.out_h * s.out_w;
  for (int r = 0; r < rows; ++r) {
    const int n = (m + r) / pixels;
    const int oy = (m + r) % pixels / s.out_w;
    const int ox = (m + r) % s.out_w;
    const int ix0 = ox * s.stride_w - s.pad_left;
    uint8_t* d = dst + static_cast<size_t>(r) * h->k_pad;
    for (int ky = 0; ky < s.kernel_h; ++ky, d += row_len) {
      const int iy = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
      if (iy < 0 || iy >= s.in_h) {
        std::memset(d, h->in_zp, row_len);
        continue;
      }
      const uint8_t* row = in + (static_cast<size_t>(n) * s.in_h + iy) * s.in_w * c;
      if (ix0 >= 0 && ix0 + s.kernel_w <= s.in_w) {
        copy_bytes(d, row + ix0 * c, row_len);
        continue;
      }
      for (int kx = 0; kx < s.kernel_w; ++kx) {
        const int ix = ix0 + kx;
        if (ix < 0 || ix >= s.in_w) {
          std::memset(d + kx * c, h->in_zp, c);
        } else {
          copy_bytes(d + kx * c, row + ix * c, c);
        }
      }
    }
    std::memset(d, 0, static_cast<size_t>(h->k_pad - h->k));
  }
}

size_t gather_bytes(const GemmTier& tier, int k_pad) {
  return round_up(static_cast<size_t>(tier.mr) * k_pad, kAlign);
}

int conv_k_pad(const Conv2DShape& s) {
  const int k = s.kernel_h * s.kernel_w * (s.in_c / s.groups);
  return static_cast<int>(round_up(static_cast<size_t>(k), kGemmKAlign));
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
  const int k_pad = conv_k_pad(s);
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
  uint8_t* rows_buf = static_cast<uint8_t*>(scratch);
  void* gemm_scratch = rows_buf + gather_bytes(tier, h->k_pad);
  const int ocg = s.out_c / s.groups;
  for (int m = m_begin; m < m_end; m += tier.mr) {
    const int rows = m_end - m < tier.mr ? m_end - m : tier.mr;
    for (int g = 0; g < s.groups; ++g) {
      if (h->path == kConvDirect) {
        gather_direct(h, args.in, m, rows, rows_buf);
      } else {
        gather_indirect(h, args.indirection, m, rows, g, rows_buf);
      }
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

}  // namespace qrt::kernels::arm
