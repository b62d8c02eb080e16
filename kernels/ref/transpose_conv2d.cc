#include "kernels/ref/transpose_conv2d.h"

#include <algorithm>
#include <cstddef>

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {
namespace {

// The input row (or column) that output position o reads through tap k, or
// -1 when none does: o = i * stride - pad + k * dilation.
int source_index(int o, int k, int stride, int pad, int dilation, int in_size) {
  const int64_t t = int64_t{o} + pad - int64_t{k} * dilation;
  if (t < 0 || t % stride != 0) return -1;
  const int64_t i = t / stride;
  return i < in_size ? static_cast<int>(i) : -1;
}

// Visits every tap reaching output pixel (n, oy, ox) for output channel oc
// as f(input_index, weight_index); shared by both flavours.
template <class F>
void for_each_source(const Conv2DShape& s, int n, int oy, int ox, int oc, F&& f) {
  const int in_per_group = s.in_c / s.groups;
  const int group = oc / (s.out_c / s.groups);
  for (int ky = 0; ky < s.kernel_h; ++ky) {
    const int iy = source_index(oy, ky, s.stride_h, s.pad_top, s.dilation_h, s.in_h);
    if (iy < 0) continue;
    for (int kx = 0; kx < s.kernel_w; ++kx) {
      const int ix = source_index(ox, kx, s.stride_w, s.pad_left, s.dilation_w, s.in_w);
      if (ix < 0) continue;
      const size_t in_base =
          ((static_cast<size_t>(n) * s.in_h + iy) * s.in_w + ix) * s.in_c +
          static_cast<size_t>(group) * in_per_group;
      const size_t w_base =
          ((static_cast<size_t>(oc) * s.kernel_h + ky) * s.kernel_w + kx) * in_per_group;
      for (int ic = 0; ic < in_per_group; ++ic) f(in_base + ic, w_base + ic);
    }
  }
}

size_t out_index(const Conv2DShape& s, int n, int oy, int ox, int oc) {
  return ((static_cast<size_t>(n) * s.out_h + oy) * s.out_w + ox) * s.out_c + oc;
}

}  // namespace

void transpose_conv2d_u8s8_ref(const Conv2DShape& shape, const uint8_t* in, int32_t in_zp,
                               const int8_t* w, const Requant& rq, uint8_t* out) {
  for (int n = 0; n < shape.batch; ++n) {
    for (int oy = 0; oy < shape.out_h; ++oy) {
      for (int ox = 0; ox < shape.out_w; ++ox) {
        for (int oc = 0; oc < shape.out_c; ++oc) {
          // int64 then truncate: the same bits as a wrapping int32 sum.
          int64_t acc = 0;
          for_each_source(shape, n, oy, ox, oc, [&](size_t i, size_t k) {
            acc += (static_cast<int32_t>(in[i]) - in_zp) * static_cast<int32_t>(w[k]);
          });
          const int32_t acc32 = static_cast<int32_t>(static_cast<uint32_t>(acc));
          out[out_index(shape, n, oy, ox, oc)] = requantize(acc32, rq, oc);
        }
      }
    }
  }
}

void transpose_conv2d_f32_ref(const Conv2DShape& shape, const float* in, const float* w,
                              const float* bias, float act_min, float act_max, float* out) {
  for (int n = 0; n < shape.batch; ++n) {
    for (int oy = 0; oy < shape.out_h; ++oy) {
      for (int ox = 0; ox < shape.out_w; ++ox) {
        for (int oc = 0; oc < shape.out_c; ++oc) {
          float acc = bias ? bias[oc] : 0.f;
          for_each_source(shape, n, oy, ox, oc, [&](size_t i, size_t k) { acc += in[i] * w[k]; });
          out[out_index(shape, n, oy, ox, oc)] = std::min(std::max(acc, act_min), act_max);
        }
      }
    }
  }
}

}  // namespace qrt::kernels
