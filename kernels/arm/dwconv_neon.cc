// Depthwise convolution on NEON: dwconv3x3_u8s8_neon, dwconv5x5_u8s8_neon,
// dwconv_u8s8_neon (any kernel), aarch64 and armv7.
//
// 16 channels per step. Each tap's 16 input bytes are widened to int16
// (uxtl) and multiplied by the tap's int16 weights (packed pre-widened)
// with vmlal into four int32x4 accumulators: exact, as |a * w| <= 255 * 128.
// The input zero point is folded into the packed accumulator start. With at
// least 16 channels the last block overlaps the one before it (DwPacked),
// so every load and store is a full vector; fewer channels go through a
// zero-padded copy.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/layout.h"
#include "kernels/arm/requant_neon.h"

namespace qrt::kernels::arm {
namespace {

// One block of 16 channels. load(t) gives tap t's 16 input bytes.
template <bool kFbgemm, class Load>
void block(const uint8_t* blk, int taps, bool fast, const DwPacked* h, Load&& load, uint8_t* out,
           int channels, const NeonRequant& q) {
  const int16_t* w = reinterpret_cast<const int16_t*>(blk);
  const int32_t* init = reinterpret_cast<const int32_t*>(blk + static_cast<size_t>(taps) * 32);
  int32x4_t acc0 = vld1q_s32(init);
  int32x4_t acc1 = vld1q_s32(init + 4);
  int32x4_t acc2 = vld1q_s32(init + 8);
  int32x4_t acc3 = vld1q_s32(init + 12);
#pragma GCC unroll 9
  for (int t = 0; t < taps; ++t) {
    const uint8x16_t x = load(t);
    const int16x8_t x0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(x)));
    const int16x8_t x1 = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(x)));
    const int16x8_t w0 = vld1q_s16(w + t * 16);
    const int16x8_t w1 = vld1q_s16(w + t * 16 + 8);
    acc0 = vmlal_s16(acc0, vget_low_s16(x0), vget_low_s16(w0));
    acc1 = vmlal_s16(acc1, vget_high_s16(x0), vget_high_s16(w0));
    acc2 = vmlal_s16(acc2, vget_low_s16(x1), vget_low_s16(w1));
    acc3 = vmlal_s16(acc3, vget_high_s16(x1), vget_high_s16(w1));
  }
  const float* mult = reinterpret_cast<const float*>(init + 16);
  const float* bias = mult + 16;
  if (!fast) {
    int32_t spill[16];
    vst1q_s32(spill, acc0);
    vst1q_s32(spill + 4, acc1);
    vst1q_s32(spill + 8, acc2);
    vst1q_s32(spill + 12, acc3);
    requant_scalar(spill, 16, 1, channels, mult, bias, h->profile, h->out_zp, h->out_min,
                   h->out_max, out, 0);
    return;
  }
  const uint8x8_t y0 =
      neon_pack8(neon_requant<kFbgemm>(acc0, vld1q_f32(mult), vld1q_f32(bias), q),
                 neon_requant<kFbgemm>(acc1, vld1q_f32(mult + 4), vld1q_f32(bias + 4), q), q);
  const uint8x8_t y1 =
      neon_pack8(neon_requant<kFbgemm>(acc2, vld1q_f32(mult + 8), vld1q_f32(bias + 8), q),
                 neon_requant<kFbgemm>(acc3, vld1q_f32(mult + 12), vld1q_f32(bias + 12), q), q);
  if (channels >= 16) {
    vst1q_u8(out, vcombine_u8(y0, y1));
  } else {
    uint8_t tmp[16];
    vst1q_u8(tmp, vcombine_u8(y0, y1));
    for (int i = 0; i < channels; ++i) out[i] = tmp[i];
  }
}

template <int kTaps, bool kFbgemm>
void run_impl(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  const int taps = kTaps ? kTaps : h->taps;
  const int channels = h->channels;
  const bool fast = h->fast != 0;
  const NeonRequant q = neon_requant_setup(h->out_zp, h->out_min, h->out_max);
  for (int m = m_begin; m < m_end; ++m) {
    const uint8_t* const* ind = args.indirection + static_cast<size_t>(m) * taps;
    uint8_t* out = args.out + static_cast<size_t>(m) * channels;
    if (channels < kDwBlock) {
      block<kFbgemm>(dw_block(h, 0), taps, fast, h, [&](int t) {
        uint8_t tmp[kDwBlock] = {};
        std::memcpy(tmp, ind[t], static_cast<size_t>(channels));
        return vld1q_u8(tmp);
      }, out, channels, q);
      continue;
    }
    for (int b = 0; b < h->blocks; ++b) {
      const int start = dw_block_start(h, b);
      block<kFbgemm>(dw_block(h, b), taps, fast, h, [&](int t) { return vld1q_u8(ind[t] + start); },
                     out + start, kDwBlock, q);
    }
  }
}

template <int kTaps>
void run(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  if (h->profile == static_cast<int32_t>(Profile::fbgemm)) {
    run_impl<kTaps, true>(args, m_begin, m_end);
  } else {
    run_impl<kTaps, false>(args, m_begin, m_end);
  }
}

}  // namespace

const DwTier kDwTierNeon = {&run<9>, &run<25>, &run<0>};

}  // namespace qrt::kernels::arm
