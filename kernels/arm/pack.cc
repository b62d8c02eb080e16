// Prepare-time packing for the ARM kernels, and the scalar requantization
// they fall back on for parameters the vector path cannot take exactly.
#include <cmath>
#include <cstring>

#include "kernels/arm/layout.h"
#include "kernels/ref/quant_math.h"

namespace qrt::kernels::arm {
namespace {

constexpr size_t kAlign = 64;

size_t header_bytes(size_t bytes) { return round_up(bytes, kAlign); }

// The accumulator start: bias_q - (a_zp - a_offset) * sum(w) for qnnpack
// (QNNPACK seeds its accumulators with the bias), -(a_zp - a_offset) *
// sum(w) for fbgemm (its bias is a float added after the int32 sum).
// Computed mod 2^32, like the int32 sum it seeds:
//   sum_k (a - a_offset) * w + init = sum_k (a - a_zp) * w + bias_q (mod 2^32).
int32_t accumulator_start(const Requant& rq, int32_t a_zp, int a_offset, const int8_t* w,
                          size_t k, int c) {
  int64_t sum = 0;
  for (size_t i = 0; i < k; ++i) sum += w[i];
  uint32_t init = static_cast<uint32_t>(-static_cast<int64_t>(a_zp - a_offset) * sum);
  if (rq.profile == Profile::qnnpack && rq.bias_q) init += static_cast<uint32_t>(rq.bias_q[c]);
  return static_cast<int32_t>(init);
}

float multiplier_of(const Requant& rq, int c) { return rq.multiplier[rq.per_channel ? c : 0]; }

float float_bias_of(const Requant& rq, int c) {
  return rq.profile == Profile::fbgemm && rq.bias_f ? rq.bias_f[c] : 0.f;
}

// See GemmPacked::fast.
bool fast_params(const Requant& rq, int first, int count) {
  for (int c = first; c < first + count; ++c) {
    if (!std::isnormal(multiplier_of(rq, c))) return false;
    const float b = float_bias_of(rq, c);
    if (b != 0.f && !std::isnormal(b)) return false;
  }
  return true;
}

struct GemmSizes {
  int panels, k_pad;
  size_t params, panel_bytes, init, mult, bias, w, total;
};

GemmSizes gemm_sizes(const GemmLayout& layout, int n, int k) {
  GemmSizes s;
  s.panels = (n + layout.nr - 1) / layout.nr;
  s.k_pad = static_cast<int>(round_up(static_cast<size_t>(k), kGemmKAlign));
  const size_t n_pad = static_cast<size_t>(s.panels) * layout.nr;
  s.params = round_up(n_pad * 4, kAlign);
  s.panel_bytes = static_cast<size_t>(s.k_pad) * layout.nr;
  s.init = header_bytes(sizeof(GemmPacked));
  s.mult = s.init + s.params;
  s.bias = s.mult + s.params;
  s.w = s.bias + s.params;
  s.total = round_up(s.w + s.panel_bytes * s.panels, kAlign);
  return s;
}

Requant group_view(const Requant& rq, int first_channel) {
  Requant v = rq;
  if (rq.per_channel) v.multiplier += first_channel;
  if (rq.bias_q) v.bias_q += first_channel;
  if (rq.bias_f) v.bias_f += first_channel;
  return v;
}

}  // namespace

void requant_scalar(const int32_t* acc, int acc_stride, int rows, int cols, const float* mult,
                    const float* bias, int32_t profile, int32_t out_zp, int32_t out_min,
                    int32_t out_max, uint8_t* out, size_t out_stride) {
  const bool fbgemm = profile == static_cast<int32_t>(Profile::fbgemm);
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; ++j) {
      // The same steps as kernels::requantize; for qnnpack acc already
      // holds bias_q.
      float v = static_cast<float>(acc[r * acc_stride + j]);
      if (fbgemm) v += bias[j];
      v *= mult[j];
      out[r * out_stride + j] = static_cast<uint8_t>(rne_add_clamp(v, out_zp, out_min, out_max));
    }
  }
}

size_t gemm_packed_bytes(const GemmLayout& layout, int n, int k) {
  return gemm_sizes(layout, n, k).total;
}

void gemm_pack(const GemmLayout& layout, const GemmPackParams& p, void* packed) {
  const GemmSizes s = gemm_sizes(layout, p.n, p.k);
  uint8_t* base = static_cast<uint8_t*>(packed);
  std::memset(base, 0, s.total);
  GemmPacked* h = reinterpret_cast<GemmPacked*>(base);
  h->n = p.n;
  h->k = p.k;
  h->k_pad = s.k_pad;
  h->panels = s.panels;
  h->nr = layout.nr;
  h->kr = layout.kr;
  h->profile = static_cast<int32_t>(p.rq->profile);
  h->out_zp = p.rq->out_zp;
  h->out_min = p.rq->out_min;
  h->out_max = p.rq->out_max;
  h->fast = fast_params(*p.rq, 0, p.n) ? 1 : 0;
  h->init_offset = s.init;
  h->mult_offset = s.mult;
  h->bias_offset = s.bias;
  h->w_offset = s.w;
  h->panel_bytes = s.panel_bytes;
  h->total_bytes = s.total;

  const size_t k = static_cast<size_t>(p.k);
  int32_t* init = reinterpret_cast<int32_t*>(base + s.init);
  float* mult = reinterpret_cast<float*>(base + s.mult);
  float* bias = reinterpret_cast<float*>(base + s.bias);
  for (int c = 0; c < p.n; ++c) {
    init[c] = accumulator_start(*p.rq, p.a_zp, layout.a_offset, p.w + c * k, k, c);
    mult[c] = multiplier_of(*p.rq, c);
    bias[c] = float_bias_of(*p.rq, c);
  }

  const int groups = s.k_pad / layout.kr;
  for (int panel = 0; panel < s.panels; ++panel) {
    uint8_t* dst = base + s.w + s.panel_bytes * panel;
    for (int g = 0; g < groups; ++g) {
      for (int j = 0; j < layout.nr; ++j) {
        const int c = panel * layout.nr + j;
        for (int i = 0; i < layout.kr; ++i) {
          const int kk = g * layout.kr + i;
          const int8_t v = (c < p.n && kk < p.k) ? p.w[c * k + kk] : 0;
          dst[(static_cast<size_t>(g) * layout.nr + j) * layout.kr + i] = static_cast<uint8_t>(v);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------

namespace {

struct ConvSizes {
  int k;
  size_t gemm, group, zero, total;
};

ConvSizes conv_sizes(const GemmTier& tier, const Conv2DShape& s) {
  ConvSizes z;
  z.k = s.kernel_h * s.kernel_w * (s.in_c / s.groups);
  z.gemm = header_bytes(sizeof(ConvPacked));
  z.group = gemm_packed_bytes(tier.layout, s.out_c / s.groups, z.k);
  z.zero = z.gemm + z.group * s.groups;
  z.total = z.zero + round_up(static_cast<size_t>(s.in_c), kAlign);
  return z;
}

}  // namespace

ConvPath conv_path(const Conv2DShape& s) {
  if (s.groups == 1 && s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
      s.pad_top == 0 && s.pad_left == 0 && s.out_h == s.in_h && s.out_w == s.in_w) {
    return kConvGemm;
  }
  // A whole kernel row is in_c * kernel_w contiguous bytes: cheaper to copy
  // straight from the image than through kernel_w pointers, and there is no
  // indirection buffer to store (the first layer has the most output pixels).
  if (s.groups == 1 && s.dilation_w == 1 && s.in_c * s.kernel_w <= 64) return kConvDirect;
  return kConvIndirect;
}

const char* conv_path_name(const Conv2DShape& s) {
  switch (conv_path(s)) {
    case kConvGemm: return "gemm";
    case kConvDirect: return "direct";
    case kConvIndirect: return "indirect";
  }
  return "";
}

size_t conv_packed_bytes(const GemmTier& tier, const Conv2DShape& s) {
  return conv_sizes(tier, s).total;
}

void conv_pack(const GemmTier& tier, const ConvPackParams& p, void* packed) {
  const Conv2DShape& s = p.shape;
  const ConvSizes z = conv_sizes(tier, s);
  uint8_t* base = static_cast<uint8_t*>(packed);
  ConvPacked* h = reinterpret_cast<ConvPacked*>(base);
  std::memset(base, 0, z.gemm);
  h->shape = s;
  h->path = conv_path(s);
  h->k = z.k;
  h->k_pad = static_cast<int32_t>(round_up(static_cast<size_t>(z.k), kGemmKAlign));
  h->in_zp = p.in_zp;
  h->gemm_offset = z.gemm;
  h->group_bytes = z.group;
  h->zero_offset = z.zero;
  const int ocg = s.out_c / s.groups;
  for (int g = 0; g < s.groups; ++g) {
    const Requant view = group_view(*p.rq, g * ocg);
    GemmPackParams gp;
    gp.n = ocg;
    gp.k = z.k;
    gp.w = p.w + static_cast<size_t>(g) * ocg * z.k;
    gp.a_zp = p.in_zp;
    gp.rq = &view;
    gemm_pack(tier.layout, gp, base + z.gemm + z.group * g);
  }
  std::memset(base + z.zero, p.in_zp, z.total - z.zero);
}

// ---------------------------------------------------------------------------

namespace {

struct DwSizes {
  int taps, blocks;
  size_t block_bytes, blocks_offset, zero, total;
};

DwSizes dw_sizes(const Conv2DShape& s) {
  DwSizes z;
  z.taps = s.kernel_h * s.kernel_w;
  z.blocks = (s.out_c + kDwBlock - 1) / kDwBlock;
  z.block_bytes = static_cast<size_t>(z.taps) * kDwBlock * 2 + 3 * kDwBlock * 4;
  z.blocks_offset = header_bytes(sizeof(DwPacked));
  z.zero = z.blocks_offset + z.block_bytes * z.blocks;
  z.total = z.zero + round_up(static_cast<size_t>(s.out_c), kAlign);
  return z;
}

}  // namespace

size_t dw_packed_bytes(const Conv2DShape& s) { return dw_sizes(s).total; }

void dw_pack(const DwConvPackParams& p, void* packed) {
  const Conv2DShape& s = p.shape;
  const DwSizes z = dw_sizes(s);
  uint8_t* base = static_cast<uint8_t*>(packed);
  std::memset(base, 0, z.zero);
  DwPacked* h = reinterpret_cast<DwPacked*>(base);
  h->shape = s;
  h->channels = s.out_c;
  h->taps = z.taps;
  h->blocks = z.blocks;
  h->profile = static_cast<int32_t>(p.rq->profile);
  h->out_zp = p.rq->out_zp;
  h->out_min = p.rq->out_min;
  h->out_max = p.rq->out_max;
  h->fast = fast_params(*p.rq, 0, s.out_c) ? 1 : 0;
  h->block_bytes = z.block_bytes;
  h->blocks_offset = z.blocks_offset;
  h->zero_offset = z.zero;

  const size_t taps = static_cast<size_t>(z.taps);
  for (int b = 0; b < z.blocks; ++b) {
    uint8_t* block = base + z.blocks_offset + z.block_bytes * b;
    uint8_t* params = block + taps * kDwBlock * 2;
    const int start = dw_block_start(h, b);
    for (int i = 0; i < kDwBlock; ++i) {
      const int c = start + i;
      if (c >= s.out_c) break;
      const int8_t* wc = p.w + c * taps;
      for (size_t t = 0; t < taps; ++t) {
        const int16_t w16 = wc[t];
        std::memcpy(block + (t * kDwBlock + i) * 2, &w16, 2);
      }
      const int32_t init = accumulator_start(*p.rq, p.in_zp, 0, wc, taps, c);
      const float m = multiplier_of(*p.rq, c);
      const float bias = float_bias_of(*p.rq, c);
      std::memcpy(params + i * 4, &init, 4);
      std::memcpy(params + (kDwBlock + i) * 4, &m, 4);
      std::memcpy(params + (2 * kDwBlock + i) * 4, &bias, 4);
    }
  }
  std::memset(base + z.zero, p.in_zp, z.total - z.zero);
}

size_t dw_indirection_entries(const Conv2DShape& s) {
  return static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.kernel_h * s.kernel_w;
}

void dw_build_indirection(const void* packed, const uint8_t* in, const uint8_t** indirection) {
  const DwPacked* h = static_cast<const DwPacked*>(packed);
  build_indirection(h->shape, in, dw_zero(h), indirection);
}

}  // namespace qrt::kernels::arm
