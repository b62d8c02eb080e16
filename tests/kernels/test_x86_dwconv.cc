// x86 depthwise convolution kernels against conv2d_u8s8_ref with groups ==
// in_c == out_c: seeded random channel counts (below, at and past every
// vector width), 3x3, 5x5 and other kernels, strides, dilations, paddings,
// zero points, scales, both profiles, per-tensor and per-channel, biases and
// clamps, on every tier this machine has. Bytes must be identical.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/conv2d.h"
#include "test_x86_common.h"

namespace {

using namespace qrt_x86_test;

int out_size(int in, int kernel, int stride, int dilation, int pad_before, int pad_after) {
  const int span = (kernel - 1) * dilation + 1;
  const int padded = in + pad_before + pad_after;
  return padded < span ? 0 : (padded - span) / stride + 1;
}

// wide: rows of up to 200 pixels, so that the direct path splits each row
// into several column buffers.
k::Conv2DShape random_dw_shape(std::mt19937& rng, bool wide = false) {
  k::Conv2DShape s;
  s.batch = coin(rng, 0.15) ? 2 : 1;
  const int kind = uniform(rng, 0, 2);
  const int c = kind == 0   ? uniform(rng, 2, 40)
                : kind == 1 ? uniform(rng, 2, 200)
                            : 16 * uniform(rng, 1, 12);
  s.in_c = s.out_c = s.groups = c;
  const int ks = uniform(rng, 0, 9);
  if (ks < 4) {
    s.kernel_h = s.kernel_w = 3;
  } else if (ks < 7) {
    s.kernel_h = s.kernel_w = 5;
  } else {
    s.kernel_h = uniform(rng, 1, 7);
    s.kernel_w = uniform(rng, 1, 7);
  }
  s.stride_h = s.stride_w = coin(rng, 0.1) ? 3 : uniform(rng, 1, 2);
  if (coin(rng, 0.1)) s.stride_w = uniform(rng, 1, 3);
  if (coin(rng, 0.15)) {
    s.dilation_h = uniform(rng, 1, 2);
    s.dilation_w = uniform(rng, 1, 2);
  }
  const bool same = coin(rng, 0.6);
  for (;;) {
    s.pad_top = same ? s.kernel_h / 2 : uniform(rng, 0, s.kernel_h);
    s.pad_left = same ? s.kernel_w / 2 : uniform(rng, 0, s.kernel_w);
    // Up to 8 rows even in sanitizer builds: a 7-tap kernel with dilation 2
    // needs 7 with "same" padding.
    s.in_h = uniform(rng, 1, wide ? 8 : 12 / kSizeScale + 2);
    s.in_w = wide ? uniform(rng, 40, 200 / kSizeScale) : uniform(rng, 1, 12 / kSizeScale + 2);
    s.out_h = out_size(s.in_h, s.kernel_h, s.stride_h, s.dilation_h, s.pad_top,
                       same ? (s.kernel_h - 1) / 2 : uniform(rng, 0, s.kernel_h));
    s.out_w = out_size(s.in_w, s.kernel_w, s.stride_w, s.dilation_w, s.pad_left,
                       same ? (s.kernel_w - 1) / 2 : uniform(rng, 0, s.kernel_w));
    if (s.out_h > 0 && s.out_w > 0) return s;
  }
}

bool run_dw_case(const k::DwConvKernel& kernel, std::mt19937& rng, const k::Conv2DShape& s,
                 uint32_t seed, int index) {
  const int32_t in_zp = coin(rng, 0.2) ? (coin(rng) ? 0 : 255) : uniform(rng, 0, 255);
  const k::Profile profile = coin(rng) ? k::Profile::fbgemm : k::Profile::qnnpack;
  const int taps = s.kernel_h * s.kernel_w;
  RandomRequant rr;
  make_random_requant(rng, profile, s.out_c, taps, &rr);
  const std::vector<uint8_t> in =
      random_activations(rng, static_cast<size_t>(s.batch) * s.in_h * s.in_w * s.in_c, in_zp);
  const std::vector<int8_t> w = random_weights(rng, static_cast<size_t>(s.out_c) * taps);
  const size_t out_size = static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.out_c;
  std::vector<uint8_t> expected(out_size);
  k::conv2d_u8s8_ref(s, in.data(), in_zp, w.data(), rr.rq, expected.data());

  std::vector<uint8_t> packed(kernel.packed_bytes(s));
  k::DwConvPackParams pp;
  pp.shape = s;
  pp.w = w.data();
  pp.in_zp = in_zp;
  pp.rq = &rr.rq;
  kernel.pack(pp, packed.data());
  std::vector<const uint8_t*> indirection(kernel.indirection_entries(s));
  kernel.build_indirection(packed.data(), in.data(), indirection.data());
  std::vector<uint8_t> got(out_size, 0xa5);
  k::DwConvArgs args;
  args.packed = packed.data();
  args.indirection = indirection.data();
  args.out = got.data();
  const int pixels = s.batch * s.out_h * s.out_w;
  int m0 = 0;
  while (m0 < pixels) {
    const int m1 = coin(rng) ? pixels : uniform(rng, m0 + 1, pixels);
    kernel.run(args, m0, m1);
    m0 = m1;
  }
  const long diff = first_difference(expected, got);
  if (diff < 0) return true;
  char buf[768];
  std::snprintf(buf, sizeof(buf),
                "%s seed %u case %d: batch %d in %dx%dx%d out %dx%d kernel %dx%d stride %dx%d "
                "dilation %dx%d pad %d,%d, in_zp %d, %s %s; first difference at byte %ld "
                "(pixel %ld, channel %ld): expected %d got %d",
                kernel.name, seed, index, s.batch, s.in_h, s.in_w, s.in_c, s.out_h, s.out_w,
                s.kernel_h, s.kernel_w, s.stride_h, s.stride_w, s.dilation_h, s.dilation_w,
                s.pad_top, s.pad_left, in_zp, profile_name(profile), rr.desc.c_str(), diff,
                diff / s.out_c, diff % s.out_c, expected[diff], got[diff]);
  FAIL_CHECK(buf);
  return false;
}

}  // namespace

TEST_CASE("x86 depthwise kernels match conv2d_u8s8_ref") {
  k::Conv2DShape probe;
  probe.in_c = probe.out_c = probe.groups = 8;
  probe.kernel_h = probe.kernel_w = 3;
#if defined(__x86_64__)
  for (k::Isa isa : tiers_to_test()) CHECK(k::select_dwconv_kernel(isa, probe) != nullptr);
#endif
  k::Conv2DShape not_depthwise = probe;
  not_depthwise.out_c = 16;
  CHECK(k::select_dwconv_kernel(k::best_isa(), not_depthwise) == nullptr);

  const uint32_t seed = 20240503;
  int total = 0;
  for (k::Isa isa : tiers_to_test()) {
    std::mt19937 rng(seed);
    constexpr int kCases = 2400;
    std::map<std::string, int> per_kernel;
    int failures = 0;
    for (int i = 0; i < kCases && failures < 5; ++i) {
      const k::Conv2DShape s = random_dw_shape(rng);
      const k::DwConvKernel* kernel = k::select_dwconv_kernel(isa, s);
      REQUIRE(kernel != nullptr);
      REQUIRE(kernel->isa == isa);
      ++per_kernel[kernel->name];
      if (!run_dw_case(*kernel, rng, s, seed, i)) ++failures;
    }
    CHECK(failures == 0);
    std::string counts;
    for (const auto& [name, n] : per_kernel) {
      counts += " " + name + " " + std::to_string(n);
      CHECK(n >= 300);
    }
    MESSAGE(std::string(k::isa_name(isa))
            << ": " << kCases << " random cases," << counts << ", seed " << seed);
    total += kCases;
  }
  MESSAGE("x86 depthwise: " << total << " cases over " << tiers_to_test().size() << " tiers");
}

TEST_CASE("x86 depthwise kernels match conv2d_u8s8_ref on wide rows") {
  const uint32_t seed = 20261126;
  for (k::Isa isa : tiers_to_test()) {
    std::mt19937 rng(seed);
    constexpr int kCases = 400;
    int failures = 0;
    int direct = 0;
    for (int i = 0; i < kCases && failures < 5; ++i) {
      const k::Conv2DShape s = random_dw_shape(rng, true);
      const k::DwConvKernel* kernel = k::select_dwconv_kernel(isa, s);
      REQUIRE(kernel != nullptr);
      // The direct (row) path needs one indirection entry, the input.
      if (kernel->indirection_entries(s) == 1) ++direct;
      if (!run_dw_case(*kernel, rng, s, seed, i)) ++failures;
    }
    CHECK(failures == 0);
    // Strides 2 and 3 go through the indirection buffer on every tier.
    CHECK(direct >= kCases / 8);
    MESSAGE(std::string(k::isa_name(isa))
            << ": " << kCases << " wide-row cases, " << direct << " direct, seed " << seed);
  }
}
