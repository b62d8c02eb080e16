// Runs one int8 convolution kernel once on a fixed MobileNetV2 shape, for
// instruction counting under an emulator (tests/bench/arm_insn_count.sh).
//
//   qrt-kernel-once gemm|dw TIER [qnnpack|fbgemm] [trained]
//
//   gemm: 1x1 conv 56x56x24 -> 144    dw: depthwise 3x3 56x56x144, pad 1
//   trained: weights like a trained layer's (normal around 0, a few large
//   ones) instead of uniform, as qrt-microbench's "trained_weights" cases;
//   on AVX2 they take the scheduled GEMM (kernels/x86/layout.h).
//
// Packing and indirection happen before the call to run_measured(); the
// counting script counts the instructions executed between entering and
// leaving that function, so they cover the kernel's run phase only.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu.h"

namespace k = qrt::kernels;

namespace {

struct Job {
  const k::ConvKernel* conv = nullptr;
  const k::DwConvKernel* dw = nullptr;
  k::ConvArgs conv_args;
  k::DwConvArgs dw_args;
  int pixels = 0;
  void* scratch = nullptr;
};

// noinline and extern "C": the script finds its entry and return by symbol.
extern "C" __attribute__((noinline)) void run_measured(const Job* job) {
  if (job->conv) {
    job->conv->run(job->conv_args, 0, job->pixels, job->scratch);
  } else {
    job->dw->run(job->dw_args, 0, job->pixels);
  }
  __asm__ __volatile__("" ::: "memory");
}

int usage() {
  std::fprintf(stderr, "usage: qrt-kernel-once gemm|dw TIER [qnnpack|fbgemm] [trained]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const bool trained = argc >= 4 && std::strcmp(argv[argc - 1], "trained") == 0;
  if (trained) --argc;
  if (argc < 3 || argc > 4) return usage();
  const bool gemm = std::strcmp(argv[1], "gemm") == 0;
  if (!gemm && std::strcmp(argv[1], "dw") != 0) return usage();
  k::Isa isa;
  if (!k::parse_isa(argv[2], &isa) || !k::isa_available(isa)) {
    std::fprintf(stderr, "qrt-kernel-once: tier '%s' is unknown or not available here\n", argv[2]);
    return 2;
  }
  k::Profile profile = k::Profile::qnnpack;
  if (argc == 4) {
    if (std::strcmp(argv[3], "fbgemm") == 0) {
      profile = k::Profile::fbgemm;
    } else if (std::strcmp(argv[3], "qnnpack") != 0) {
      return usage();
    }
  }

  k::Conv2DShape s;
  s.in_h = s.in_w = s.out_h = s.out_w = 56;
  if (gemm) {
    s.in_c = 24;
    s.out_c = 144;
  } else {
    s.in_c = s.out_c = s.groups = 144;
    s.kernel_h = s.kernel_w = 3;
    s.pad_top = s.pad_left = 1;
  }
  const int k_depth = s.kernel_h * s.kernel_w * (s.in_c / s.groups);
  std::mt19937 rng(7);
  std::vector<uint8_t> in(static_cast<size_t>(s.in_h) * s.in_w * s.in_c);
  // fbgemm: activations in the profile's calibrated 0..127 (NUMERICS.md).
  const unsigned in_mask = profile == k::Profile::fbgemm ? 127 : 255;
  for (auto& v : in) v = static_cast<uint8_t>(rng() & in_mask);
  std::vector<int8_t> w(static_cast<size_t>(s.out_c) * k_depth);
  std::normal_distribution<float> normal(0.f, 16.f);
  for (auto& v : w) {
    int q = static_cast<int8_t>(rng());
    if (trained) {
      q = rng() % 200 == 0 ? (q < 0 ? q - 100 : q + 100) : static_cast<int>(std::lround(normal(rng)));
      q = q < -128 ? -128 : q > 127 ? 127 : q;
    }
    v = static_cast<int8_t>(q);
  }
  std::vector<float> mult(s.out_c), bias_f(s.out_c);
  std::vector<int32_t> bias_q(s.out_c);
  for (int c = 0; c < s.out_c; ++c) {
    mult[c] = 1e-4f * static_cast<float>(1 + rng() % 50);
    bias_q[c] = static_cast<int32_t>(rng() % 2001) - 1000;
    bias_f[c] = static_cast<float>(bias_q[c]) * 0.01f;
  }
  k::Requant rq;
  rq.profile = profile;
  rq.per_channel = true;
  rq.multiplier = mult.data();
  rq.bias_q = profile == k::Profile::qnnpack ? bias_q.data() : nullptr;
  rq.bias_f = profile == k::Profile::fbgemm ? bias_f.data() : nullptr;
  rq.out_zp = 128;

  const int pixels = s.out_h * s.out_w;
  std::vector<uint8_t> out(static_cast<size_t>(pixels) * s.out_c);
  std::vector<uint8_t> packed, scratch;
  std::vector<const uint8_t*> indirection;
  Job job;
  job.pixels = pixels;
  if (gemm) {
    job.conv = k::select_conv_kernel(isa);
    if (!job.conv) {
      std::fprintf(stderr, "qrt-kernel-once: tier '%s' has no conv kernel\n", argv[2]);
      return 1;
    }
    k::ConvPackParams pp;
    pp.shape = s;
    pp.w = w.data();
    pp.in_zp = 3;
    pp.rq = &rq;
    packed.resize(job.conv->packed_bytes(s, w.data(), profile));
    job.conv->pack(pp, packed.data());
    indirection.resize(job.conv->indirection_entries(s));
    if (!indirection.empty()) job.conv->build_indirection(packed.data(), in.data(), indirection.data());
    scratch.resize(job.conv->scratch_bytes(s));
    job.conv_args = {packed.data(), in.data(), indirection.data(), out.data()};
    job.scratch = scratch.data();
    std::printf("kernel %s, path %s\n", job.conv->name, job.conv->path(s));
  } else {
    job.dw = k::select_dwconv_kernel(isa, s);
    if (!job.dw) {
      std::fprintf(stderr, "qrt-kernel-once: tier '%s' has no depthwise kernel\n", argv[2]);
      return 1;
    }
    k::DwConvPackParams pp;
    pp.shape = s;
    pp.w = w.data();
    pp.in_zp = 3;
    pp.rq = &rq;
    packed.resize(job.dw->packed_bytes(s));
    job.dw->pack(pp, packed.data());
    indirection.resize(job.dw->indirection_entries(s));
    job.dw->build_indirection(packed.data(), in.data(), indirection.data());
    job.dw_args = {packed.data(), indirection.data(), out.data()};
    std::printf("kernel %s\n", job.dw->name);
  }
  run_measured(&job);
  unsigned sum = 0;
  for (uint8_t v : out) sum = sum * 31 + v;
  const long long macs = static_cast<long long>(pixels) * s.out_c * k_depth;
  std::printf("macs %lld\nchecksum %08x\n", macs, sum);
  return 0;
}
