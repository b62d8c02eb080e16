// ARM general convolution kernels (GEMM, direct-gather and indirection
// paths) against conv2d_u8s8_ref: seeded random shapes (kernel sizes,
// strides, dilations, paddings, groups, odd channel counts), zero points,
// scales, both profiles, per-tensor and per-channel, biases and clamps, on
// every tier this machine has (2000 cases per profile and tier). Bytes must
// be identical.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/conv2d.h"
#include "test_arm_common.h"

namespace {

using namespace qrt_arm_test;

std::string describe(const k::Conv2DShape& s) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "batch %d in %dx%dx%d out %dx%dx%d kernel %dx%d stride %dx%d dilation %dx%d "
                "pad %d,%d groups %d",
                s.batch, s.in_h, s.in_w, s.in_c, s.out_h, s.out_w, s.out_c, s.kernel_h,
                s.kernel_w, s.stride_h, s.stride_w, s.dilation_h, s.dilation_w, s.pad_top,
                s.pad_left, s.groups);
  return buf;
}

// Output size for a padding of pad_before + pad_after; 0 if the kernel does
// not fit.
int out_size(int in, int kernel, int stride, int dilation, int pad_before, int pad_after) {
  const int span = (kernel - 1) * dilation + 1;
  const int padded = in + pad_before + pad_after;
  return padded < span ? 0 : (padded - span) / stride + 1;
}

k::Conv2DShape random_conv_shape(std::mt19937& rng) {
  k::Conv2DShape s;
  const int kind = uniform(rng, 0, 9);
  s.batch = coin(rng, 0.15) ? 2 : 1;
  if (kind <= 2) {
    // 1x1 stride 1 unpadded: the GEMM path.
    s.in_h = uniform(rng, 1, 9);
    s.in_w = uniform(rng, 1, 9);
    s.in_c = uniform(rng, 1, 80);
    s.out_c = uniform(rng, 1, 80);
    s.out_h = s.in_h;
    s.out_w = s.in_w;
    return s;
  }
  if (kind <= 4) {
    // First layers: RGB(A) or grey images, 3x3 stride 2 or 7x7 stride 2.
    s.in_c = coin(rng, 0.7) ? 3 : uniform(rng, 1, 4);
    s.kernel_h = s.kernel_w = coin(rng, 0.7) ? 3 : uniform(rng, 1, 7);
    s.stride_h = s.stride_w = coin(rng, 0.7) ? 2 : uniform(rng, 1, 3);
    s.pad_top = s.pad_left = uniform(rng, 0, s.kernel_h / 2);
    s.in_h = uniform(rng, s.kernel_h, 14 / kSizeScale + s.kernel_h);
    s.in_w = uniform(rng, s.kernel_w, 14 / kSizeScale + s.kernel_w);
    s.out_c = uniform(rng, 1, 48);
    s.out_h = out_size(s.in_h, s.kernel_h, s.stride_h, 1, s.pad_top, uniform(rng, 0, 2));
    s.out_w = out_size(s.in_w, s.kernel_w, s.stride_w, 1, s.pad_left, uniform(rng, 0, 2));
    return s;
  }
  // General: any kernel, stride, dilation, padding and groups.
  s.groups = coin(rng, 0.5) ? 1 : uniform(rng, 2, 4);
  const int icg = uniform(rng, 1, kind == 9 ? 40 : 12);
  const int ocg = uniform(rng, 1, 24);
  if (coin(rng, 0.1)) {
    s.groups = uniform(rng, 2, 16);  // depthwise through the generic path
    s.in_c = s.out_c = s.groups;
  } else {
    s.in_c = icg * s.groups;
    s.out_c = ocg * s.groups;
  }
  s.kernel_h = uniform(rng, 1, 5);
  s.kernel_w = uniform(rng, 1, 5);
  s.stride_h = uniform(rng, 1, 3);
  s.stride_w = uniform(rng, 1, 3);
  if (coin(rng, 0.25)) {
    s.dilation_h = uniform(rng, 1, 3);
    s.dilation_w = uniform(rng, 1, 3);
  }
  s.pad_top = uniform(rng, 0, s.kernel_h);
  s.pad_left = uniform(rng, 0, s.kernel_w);
  for (;;) {
    s.in_h = uniform(rng, 1, 10 / kSizeScale + 2);
    s.in_w = uniform(rng, 1, 10 / kSizeScale + 2);
    s.out_h = out_size(s.in_h, s.kernel_h, s.stride_h, s.dilation_h, s.pad_top,
                       uniform(rng, 0, s.kernel_h));
    s.out_w = out_size(s.in_w, s.kernel_w, s.stride_w, s.dilation_w, s.pad_left,
                       uniform(rng, 0, s.kernel_w));
    if (s.out_h > 0 && s.out_w > 0) return s;
  }
}

bool run_conv_case(const k::ConvKernel& kernel, std::mt19937& rng, const k::Conv2DShape& s,
                   uint32_t seed, int index) {
  const int32_t in_zp = coin(rng, 0.2) ? (coin(rng) ? 0 : 255) : uniform(rng, 0, 255);
  // Alternate profiles so each gets exactly half of the cases.
  const k::Profile profile = index % 2 ? k::Profile::fbgemm : k::Profile::qnnpack;
  const int depth = s.kernel_h * s.kernel_w * s.in_c / s.groups;
  RandomRequant rr;
  make_random_requant(rng, profile, s.out_c, depth, &rr);
  const std::vector<uint8_t> in =
      random_activations(rng, static_cast<size_t>(s.batch) * s.in_h * s.in_w * s.in_c, in_zp);
  const std::vector<int8_t> w = random_weights(rng, static_cast<size_t>(s.out_c) * depth);
  const size_t out_size = static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.out_c;
  std::vector<uint8_t> expected(out_size);
  k::conv2d_u8s8_ref(s, in.data(), in_zp, w.data(), rr.rq, expected.data());

  std::vector<uint8_t> packed(kernel.packed_bytes(s, w.data(), profile));
  k::ConvPackParams pp;
  pp.shape = s;
  pp.w = w.data();
  pp.in_zp = in_zp;
  pp.rq = &rr.rq;
  kernel.pack(pp, packed.data());
  std::vector<const uint8_t*> indirection(kernel.indirection_entries(s));
  kernel.build_indirection(packed.data(), in.data(), indirection.data());
  std::vector<uint8_t> scratch(kernel.scratch_bytes(s));
  std::vector<uint8_t> got(out_size, 0xa5);
  k::ConvArgs args;
  args.packed = packed.data();
  args.in = in.data();
  args.indirection = indirection.empty() ? nullptr : indirection.data();
  args.out = got.data();
  const int pixels = s.batch * s.out_h * s.out_w;
  int m0 = 0;
  while (m0 < pixels) {
    const int m1 = coin(rng) ? pixels : uniform(rng, m0 + 1, pixels);
    kernel.run(args, m0, m1, scratch.data());
    m0 = m1;
  }
  const long diff = first_difference(expected, got);
  if (diff < 0) return true;
  char buf[768];
  std::snprintf(buf, sizeof(buf),
                "%s (%s path) seed %u case %d: %s, in_zp %d, %s %s; first difference at byte "
                "%ld (pixel %ld, channel %ld): expected %d got %d",
                kernel.name, kernel.path(s), seed, index, describe(s).c_str(), in_zp,
                profile_name(profile), rr.desc.c_str(), diff, diff / s.out_c, diff % s.out_c,
                expected[diff], got[diff]);
  FAIL_CHECK(buf);
  return false;
}

}  // namespace

TEST_CASE("arm conv kernels match conv2d_u8s8_ref") {
#if defined(__aarch64__) || defined(__ARM_NEON)
  for (k::Isa isa : arm_tiers()) CHECK(k::select_conv_kernel(isa) != nullptr);
#endif
  const uint32_t seed = 20240602;
  int total = 0;
  for (k::Isa isa : arm_tiers()) {
    const k::ConvKernel* kernel = k::select_conv_kernel(isa);
    if (kernel == nullptr) continue;
    CHECK(kernel->isa == isa);
    std::mt19937 rng(seed);
    constexpr int kCases = 4000;  // 2000 per profile
    std::map<std::string, int> per_path;
    int failures = 0;
    for (int i = 0; i < kCases && failures < 5; ++i) {
      const k::Conv2DShape s = random_conv_shape(rng);
      ++per_path[kernel->path(s)];
      if (!run_conv_case(*kernel, rng, s, seed, i)) ++failures;
    }
    CHECK(failures == 0);
    // Every path must have been exercised in earnest.
    for (const char* path : {"gemm", "direct", "indirect"}) CHECK(per_path[path] >= 300);
    MESSAGE(std::string(kernel->name) << ": " << kCases << " random cases (gemm "
                                      << per_path["gemm"] << ", direct " << per_path["direct"]
                                      << ", indirect " << per_path["indirect"]
                                      << "), half per profile, seed "
                                      << seed);
    total += kCases;
  }
  MESSAGE("arm conv: " << total << " cases over " << arm_tiers().size() << " tiers");
}

TEST_CASE("arm conv: the MobileNetV2 first layer and a padded 1x1") {
  // 3x3 stride 2 pad 1 over a 3-channel image (K = 27, padded for the
  // microkernels), and a 1x1 conv with padding, which must not take the
  // GEMM path.
  const uint32_t seed = 11;
  for (k::Isa isa : arm_tiers()) {
    const k::ConvKernel* kernel = k::select_conv_kernel(isa);
    if (kernel == nullptr) continue;
    std::mt19937 rng(seed);
    k::Conv2DShape first;
    first.in_h = first.in_w = 32;
    first.in_c = 3;
    first.out_h = first.out_w = 16;
    first.out_c = 32;
    first.kernel_h = first.kernel_w = 3;
    first.stride_h = first.stride_w = 2;
    first.pad_top = first.pad_left = 1;
    CHECK(std::string(kernel->path(first)) == "direct");
    CHECK(kernel->indirection_entries(first) == 0);
    CHECK(run_conv_case(*kernel, rng, first, seed, 0));

    k::Conv2DShape padded;
    padded.in_h = padded.in_w = 5;
    padded.in_c = 70;
    padded.out_h = padded.out_w = 7;
    padded.out_c = 33;
    padded.pad_top = padded.pad_left = 1;
    CHECK(std::string(kernel->path(padded)) == "indirect");
    CHECK(run_conv_case(*kernel, rng, padded, seed, 1));
  }
}
