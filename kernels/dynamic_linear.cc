// select_dynamic_linear_kernel: the reference table, and the tiers' fast
// kernels where they exist; the packing and per-call skeleton they share
// (dynamic_linear.h).
#include "kernels/dynamic_linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include "kernels/cpu.h"
#include "kernels/ref/choose_qparams.h"
#include "kernels/ref/fully_connected.h"

namespace qrt::kernels {

namespace {

// The reference keeps the caller's params (the weights stay where the model
// holds them) and runs fully_connected_dynamic_ref on each call's rows.
size_t ref_packed_bytes(int, int) { return sizeof(DynamicLinearParams); }

void ref_pack(const DynamicLinearParams& p, void* packed) {
  *static_cast<DynamicLinearParams*>(packed) = p;
}

size_t ref_scratch_bytes(int rows, int k) {
  return static_cast<size_t>(rows) * static_cast<size_t>(k);
}

void ref_run(const void* packed, int rows, const float* in, float* out, void* scratch) {
  DynamicLinearParams p = *static_cast<const DynamicLinearParams*>(packed);
  p.shape.batch = rows;
  fully_connected_dynamic_ref(p, in, static_cast<uint8_t*>(scratch), out);
}

constexpr DynamicLinearKernel kRef = {"dynamic_linear_ref", Isa::ref, ref_packed_bytes, ref_pack,
                                      ref_scratch_bytes, ref_run};

}  // namespace

namespace dynlin {
namespace {

size_t align64(size_t x) { return (x + 63) / 64 * 64; }

struct Sizes {
  int k_pad, blocks;
  size_t n_pad, block_stride, rowsum, scale, bias, w, total;
};

Sizes sizes(const Layout& l, int n, int k) {
  Sizes s;
  const int block_cols = l.panels * l.nr;
  s.k_pad = (k + 3) / 4 * 4;
  s.blocks = (n + block_cols - 1) / block_cols;
  s.n_pad = static_cast<size_t>(s.blocks) * block_cols;
  s.block_stride = align64(static_cast<size_t>(s.k_pad) * block_cols);
  const size_t col_bytes = align64(s.n_pad * 4);
  s.rowsum = align64(sizeof(Packed));
  s.scale = s.rowsum + col_bytes;
  s.bias = s.scale + col_bytes;
  s.w = s.bias + col_bytes;
  // 64 bytes of slack: pack aligns the arrays to the buffer's address.
  s.total = s.w + static_cast<size_t>(s.blocks) * s.block_stride + 64;
  return s;
}

// armv7's flushed operands stay out of reach when every scale is zero,
// non-finite or at least 2^-60 (the activation scale is at least 6.1e-5,
// so w_scale * scale and every nonzero f32(acc) * that are normal, and so
// is their sum with a normal bias), and bias and bounds are never subnormal.
bool ftz_safe(const DynamicLinearParams& p) {
  const int n = p.shape.out_features;
  for (int c = 0; c < (p.per_channel ? n : 1); ++c) {
    const float s = std::fabs(p.w_scales[c]);
    if (s != 0.f && s < 0x1p-60f) return false;
  }
  for (int c = 0; p.bias && c < n; ++c) {
    if (std::fpclassify(p.bias[c]) == FP_SUBNORMAL) return false;
  }
  return std::fpclassify(p.act_min) != FP_SUBNORMAL && std::fpclassify(p.act_max) != FP_SUBNORMAL;
}

}  // namespace

size_t packed_bytes(const Layout& l, int n, int k) { return sizes(l, n, k).total; }

void pack(const Layout& l, const DynamicLinearParams& p, void* packed) {
  const int n = p.shape.out_features, k = p.shape.in_features;
  const Sizes s = sizes(l, n, k);
  std::memset(packed, 0, s.total);
  Packed* h = new (packed) Packed{};
  h->src = p;
  h->n = n;
  h->k = k;
  h->k_pad = s.k_pad;
  h->blocks = s.blocks;
  h->nr = l.nr;
  h->panels = l.panels;
  h->add_bias = p.bias != nullptr || p.profile == Profile::qnnpack;
  h->ftz_safe = ftz_safe(p);
  // Vector loads that straddle cache lines halve the GEMV's speed; the
  // runtime's arena is 64-byte aligned, but a caller's buffer may not be.
  const size_t shift = (64 - reinterpret_cast<uintptr_t>(packed) % 64) % 64;
  h->rowsum_offset = s.rowsum + shift;
  h->scale_offset = s.scale + shift;
  h->bias_offset = s.bias + shift;
  h->w_offset = s.w + shift;
  h->block_stride = s.block_stride;
  uint8_t* base = static_cast<uint8_t*>(packed) + shift;
  int32_t* sums = reinterpret_cast<int32_t*>(base + s.rowsum);
  float* scales = reinterpret_cast<float*>(base + s.scale);
  float* bias = reinterpret_cast<float*>(base + s.bias);
  const int block_cols = l.panels * l.nr;
  for (int c = 0; c < n; ++c) {
    const int8_t* row = p.w + static_cast<size_t>(c) * k;
    int32_t sum = 0;
    for (int i = 0; i < k; ++i) sum += row[i];
    sums[c] = sum;
    scales[c] = p.w_scales[p.per_channel ? c : 0];
    bias[c] = p.bias ? p.bias[c] : 0.f;
    const int b = c / block_cols, j = c % block_cols / l.nr, col = c % l.nr;
    const int np = l.panels;
    int8_t* w = reinterpret_cast<int8_t*>(base + s.w + b * s.block_stride);
    for (int i = 0; i < k; ++i) {
      w[(static_cast<size_t>(i / 4) * np + j) * l.nr * 4 + col * 4 + i % 4] = row[i];
    }
  }
}

size_t scratch_bytes(int rows, int k) {
  return static_cast<size_t>(rows) * static_cast<size_t>((k + 3) / 4 * 4);
}

Range scan_scalar(const float* in, size_t n) {
  Range r{in[0], in[0], true};
  for (size_t i = 0; i < n; ++i) {
    r.lo = std::min(r.lo, in[i]);
    r.hi = std::max(r.hi, in[i]);
    r.finite &= std::isfinite(in[i]);
  }
  return r;
}

void run(const TierOps& ops, const void* packed, int rows, const float* in, float* out,
         void* scratch) {
  const Packed* p = static_cast<const Packed*>(packed);
  const size_t n_in = static_cast<size_t>(rows) * p->k;
  // PyTorch takes 0, 0 for an empty input.
  const Range r = n_in ? ops.scan(in, n_in) : Range{0.f, 0.f, true};
  if (!r.finite) {
    std::fill(out, out + static_cast<size_t>(rows) * p->n, NAN);
    return;
  }
  const bool qnnpack = p->src.profile == Profile::qnnpack;
  const ChosenQParams qp = choose_quantization_params(r.lo, r.hi, 0, 255, false, !qnnpack);
  Quant q;
  q.scale = static_cast<float>(qp.scale);
  q.inv = 1.f / q.scale;
  q.zp = qp.zero_point;
  q.qnnpack = qnnpack;
#if defined(__ARM_NEON) && !defined(__aarch64__)
  // A subnormal reciprocal would be flushed (quantize_neon.cc's bound).
  if (!p->ftz_safe || !(q.inv >= 0x1p-126f && q.inv < 0x1p125f)) {
    DynamicLinearParams s = p->src;
    s.shape.batch = rows;
    fully_connected_dynamic_ref(s, in, static_cast<uint8_t*>(scratch), out);
    return;
  }
#endif
  uint8_t* a = static_cast<uint8_t*>(scratch);
  for (int i = 0; i < rows; ++i) {
    ops.quantize(in + static_cast<size_t>(i) * p->k, p->k, p->k_pad, q, ops.flip,
                 a + static_cast<size_t>(i) * p->k_pad);
  }
  ops.gemm(p, q, rows, a, out);
}

}  // namespace dynlin

const DynamicLinearKernel* select_dynamic_linear_kernel(Isa isa) {
  if (!isa_available(isa)) return &kRef;
  switch (isa) {
#if defined(QRT_X86_KERNELS)
    case Isa::avx2: return &dynlin::kAvx2;
#if defined(QRT_X86_AVXVNNI)
    case Isa::avxvnni: return &dynlin::kAvxvnni;
#endif
#if defined(QRT_X86_AVX512VNNI)
    case Isa::avx512vnni: return &dynlin::kAvx512vnni;
#endif
#endif
#if defined(QRT_ARM_KERNELS)
    case Isa::neon: return &dynlin::kNeon;
#if defined(QRT_ARM_DOTPROD)
    case Isa::neon_dotprod: return &dynlin::kNeondot;
#endif
#endif
    default: return &kRef;
  }
}

}  // namespace qrt::kernels
