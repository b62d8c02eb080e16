// Kernel microbenchmarks (Google Benchmark), per kernel family (1x1 GEMM,
// depthwise, general 3x3 conv, first layer, dynamic linear) and ISA tier (the reference
// kernels for comparison): the MobileNetV2 shapes where the fast paths
// matter. Each reports GMAC/s and, for the fast tiers, the fraction of the
// tier's multiply-accumulate limit (BENCHMARKS.md: 32 / 64 / 128 MAC per
// cycle for avx2 / avxvnni / avx512vnni) at the clock measured at start-up.
// Medians over repetitions; compare ratios within one run, not absolute
// numbers across runs.
//
// Built with -DQRT_BUILD_BENCH=ON (not part of ctest):
//   qrt-microbench --benchmark_filter=gemm1x1   (see --help)
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/quant_math.h"
#if defined(__x86_64__)
#include "kernels/x86/layout.h"
#endif

namespace k = qrt::kernels;

namespace {

double g_ghz = 3.3;

double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// Core clock from a chain of dependent 3-cycle integer multiplies timed in
// thread CPU time (other processes' time slices do not count). Not adds:
// recent Intel cores fold chains of add-immediate at rename. 3.3 GHz if the
// measurement is implausible (or off x86).
double measure_ghz() {
#if defined(__x86_64__)
  constexpr long kIters = 1000000;
  double best = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    uint64_t x = 1;
    const uint64_t y = 3;
    const double t0 = thread_cpu_ns();
    for (long i = 0; i < kIters; ++i) {
      __asm__ volatile(
          ".rept 100\n\t"
          "imul %1, %0\n\t"
          ".endr"
          : "+r"(x)
          : "r"(y));
    }
    const double ghz = 300.0 * kIters / (thread_cpu_ns() - t0);
    if (ghz > best) best = ghz;
  }
  if (best > 0.5 && best < 7) return best;
#endif
  return 3.3;
}

int mac_per_cycle(k::Isa isa) {
  switch (isa) {
    case k::Isa::avx2:
      return 32;
    case k::Isa::avxvnni:
      return 64;
    case k::Isa::avx512vnni:
      return 128;
    default:
      return 0;
  }
}

void report(benchmark::State& state, k::Isa isa, double macs) {
  state.counters["GMAC/s"] =
      benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  const int limit = mac_per_cycle(isa);
  if (limit > 0) {
    state.counters["of_limit"] = benchmark::Counter(macs / (limit * g_ghz * 1e9),
                                                    benchmark::Counter::kIsIterationInvariantRate);
  }
}

#if defined(__x86_64__)
// Peak loops: 12 independent accumulators of the tier's multiply-accumulate
// sequence, to see what this machine delivers right now (a shared or
// throttled core shows up here first). MACs per call are returned.
__attribute__((target("avx2"))) double peak_avx2_maddubs(long iters) {
  // vpmaddubsw + vpmaddwd + vpaddd: 32 MAC per sequence (BENCHMARKS.md).
  for (long i = 0; i < iters; ++i) {
    __asm__ volatile(
        ".rept 3\n\t"
        "vpmaddubsw %%ymm15, %%ymm14, %%ymm4\n\t"
        "vpmaddubsw %%ymm15, %%ymm14, %%ymm5\n\t"
        "vpmaddubsw %%ymm15, %%ymm14, %%ymm6\n\t"
        "vpmaddubsw %%ymm15, %%ymm14, %%ymm7\n\t"
        "vpmaddwd %%ymm13, %%ymm4, %%ymm4\n\t"
        "vpmaddwd %%ymm13, %%ymm5, %%ymm5\n\t"
        "vpmaddwd %%ymm13, %%ymm6, %%ymm6\n\t"
        "vpmaddwd %%ymm13, %%ymm7, %%ymm7\n\t"
        "vpaddd %%ymm4, %%ymm0, %%ymm0\n\t"
        "vpaddd %%ymm5, %%ymm1, %%ymm1\n\t"
        "vpaddd %%ymm6, %%ymm2, %%ymm2\n\t"
        "vpaddd %%ymm7, %%ymm3, %%ymm3\n\t"
        ".endr" ::
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
  }
  return 12.0 * 32 * iters;
}

__attribute__((target("avx2"))) double peak_avx2_maddwd(long iters) {
  // vpmaddwd + vpaddd on int16 (the exact full-range sequence the avx2
  // kernels use): 16 MAC per pair.
  for (long i = 0; i < iters; ++i) {
    __asm__ volatile(
        ".rept 2\n\t"
        "vpmaddwd %%ymm15, %%ymm14, %%ymm6\n\t"
        "vpmaddwd %%ymm15, %%ymm14, %%ymm7\n\t"
        "vpmaddwd %%ymm15, %%ymm14, %%ymm8\n\t"
        "vpmaddwd %%ymm15, %%ymm14, %%ymm9\n\t"
        "vpmaddwd %%ymm15, %%ymm14, %%ymm10\n\t"
        "vpmaddwd %%ymm15, %%ymm14, %%ymm11\n\t"
        "vpaddd %%ymm6, %%ymm0, %%ymm0\n\t"
        "vpaddd %%ymm7, %%ymm1, %%ymm1\n\t"
        "vpaddd %%ymm8, %%ymm2, %%ymm2\n\t"
        "vpaddd %%ymm9, %%ymm3, %%ymm3\n\t"
        "vpaddd %%ymm10, %%ymm4, %%ymm4\n\t"
        "vpaddd %%ymm11, %%ymm5, %%ymm5\n\t"
        ".endr" ::
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
              "xmm10", "xmm11");
  }
  return 12.0 * 16 * iters;
}

__attribute__((target("avx2,avxvnni"))) double peak_avxvnni(long iters) {
  for (long i = 0; i < iters; ++i) {
    __asm__ volatile(
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm0\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm1\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm2\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm3\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm4\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm5\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm6\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm7\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm8\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm9\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm10\n\t"
        "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm11\n\t" ::
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
              "xmm10", "xmm11");
  }
  return 12.0 * 32 * iters;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) double peak_avx512vnni(long iters) {
  for (long i = 0; i < iters; ++i) {
    __asm__ volatile(
        "vpdpbusd %%zmm31, %%zmm30, %%zmm16\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm17\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm18\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm19\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm20\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm21\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm22\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm23\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm24\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm25\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm26\n\t"
        "vpdpbusd %%zmm31, %%zmm30, %%zmm27\n\t" ::
            : "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
              "xmm25", "xmm26", "xmm27");
  }
  return 12.0 * 64 * iters;
}

void bm_peak(benchmark::State& state, k::Isa isa, double (*loop)(long)) {
  double macs = 0;
  for (auto _ : state) macs = loop(10000);
  report(state, isa, macs);
}
#endif

// A layer's parameters: random weights and activations, requantization
// from plausible scales. Activations span the profile's range: 0..255 for
// qnnpack, 0..127 for fbgemm (NUMERICS.md: calibrated with reduce_range).
// Packed weights at a 64-byte boundary, where the runtime's persistent arena
// puts them (runtime/src/op.h). At a std::vector's 16 bytes, some 32-byte
// weight loads would split cache lines, and a kernel's speed would depend on
// where the heap happened to place the buffer (up to a fifth, measured).
class PackedBuffer {
 public:
  explicit PackedBuffer(size_t bytes) : storage_(bytes + 63) {}
  uint8_t* data() {
    const auto p = reinterpret_cast<uintptr_t>(storage_.data());
    return reinterpret_cast<uint8_t*>((p + 63) & ~static_cast<uintptr_t>(63));
  }

 private:
  std::vector<uint8_t> storage_;
};

struct Layer {
  std::vector<int8_t> w;
  std::vector<uint8_t> in;
  std::vector<float> multiplier, bias_f, w_scales, bias;
  std::vector<int32_t> bias_q;
  k::Requant rq;

  // trained: weights like a trained layer's (normal around 0 and a few
  // large ones) instead of uniform over -128..127; on AVX2 a qnnpack GEMM
  // of them packs as u8 with a step schedule (kernels/x86/layout.h).
  Layer(k::Profile profile, bool per_channel, int channels, size_t weights, size_t inputs,
        bool trained = false) {
    std::mt19937 rng(1);
    w.resize(weights);
    std::normal_distribution<float> normal(0.f, 16.f);
    std::bernoulli_distribution outlier(0.005);
    for (auto& v : w) {
      int q = std::uniform_int_distribution<int>(-128, 127)(rng);
      if (trained) {
        q = outlier(rng) ? (q < 0 ? q - 100 : q + 100) : static_cast<int>(std::lround(normal(rng)));
        q = q < -128 ? -128 : q > 127 ? 127 : q;
      }
      v = static_cast<int8_t>(q);
    }
    in.resize(inputs);
    const int in_max = profile == k::Profile::fbgemm ? 127 : 255;
    for (auto& v : in) v = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, in_max)(rng));
    multiplier.resize(channels);
    bias_f.resize(channels);
    bias_q.resize(channels);
    w_scales.resize(channels);
    bias.resize(channels);
    for (int c = 0; c < channels; ++c) {
      w_scales[c] = 0.01f + 0.0001f * c;
      bias[c] = 0.1f * (c % 7) - 0.3f;
    }
    k::ConvRequantSpec spec;
    spec.profile = profile;
    spec.in_scale = 0.02f;
    spec.w_scales = w_scales.data();
    spec.per_channel = per_channel;
    spec.out_scale = 0.5f;
    spec.out_zp = 3;
    spec.bias = bias.data();
    spec.channels = channels;
    spec.act_min = 0.f;
    k::make_conv_requant(spec, multiplier.data(), bias_q.data(), bias_f.data(), &rq);
  }
};

k::Conv2DShape conv_shape(int hw, int in_c, int out_c, int kernel, int stride, int groups) {
  k::Conv2DShape s;
  s.in_h = s.in_w = hw;
  s.in_c = in_c;
  s.out_c = out_c;
  s.kernel_h = s.kernel_w = kernel;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = kernel / 2;
  s.out_h = s.out_w = (hw + 2 * (kernel / 2) - kernel) / stride + 1;
  s.groups = groups;
  return s;
}

// The reference kernel on a layer, for comparison with the fast tiers.
void bm_ref(benchmark::State& state, const k::Conv2DShape& s, const Layer& layer, double macs) {
  std::vector<uint8_t> out(static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.out_c);
  for (auto _ : state) {
    k::conv2d_u8s8_ref(s, layer.in.data(), 5, layer.w.data(), layer.rq, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel("conv2d_u8s8_ref");
  report(state, k::Isa::ref, macs);
}

// A 1x1 conv (hw x hw x k -> n, MobileNetV2's shapes) as a GEMM; the ref
// tier runs conv2d_u8s8_ref.
void bm_gemm1x1(benchmark::State& state, k::Isa isa, k::Profile profile, bool per_channel, int hw,
                int kk, int n, bool trained) {
  const int m = hw * hw;
  Layer layer(profile, per_channel, n, static_cast<size_t>(n) * kk, static_cast<size_t>(m) * kk,
              trained);
  std::vector<uint8_t> out(static_cast<size_t>(m) * n);
  const double macs = static_cast<double>(m) * n * kk;
  if (isa == k::Isa::ref) return bm_ref(state, conv_shape(hw, kk, n, 1, 1, 1), layer, macs);
  const k::GemmKernel* kernel = k::select_gemm_kernel(isa);
  if (kernel == nullptr) {
    state.SkipWithError("tier not available");
    return;
  }
  PackedBuffer packed(kernel->packed_bytes(n, kk, layer.w.data(), layer.rq.profile));
  k::GemmPackParams pp;
  pp.n = n;
  pp.k = kk;
  pp.w = layer.w.data();
  pp.a_zp = 5;
  pp.rq = &layer.rq;
  kernel->pack(pp, packed.data());
  std::vector<uint8_t> scratch(kernel->scratch_bytes(kk));
  k::GemmArgs args;
  args.packed = packed.data();
  args.a = layer.in.data();
  args.a_stride = kk;
  args.out = out.data();
  args.out_stride = n;
  for (auto _ : state) {
    kernel->run(args, 0, m, scratch.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  std::string label = kernel->name;
#if defined(__x86_64__)
  if (isa == k::Isa::avx2) {
    const auto* g = reinterpret_cast<const k::x86::GemmPacked*>(packed.data());
    label += g->scheduled ? " u8 scheduled" : g->kr == 2 ? " int16" : " u8";
    if (g->scheduled) {
      // Steps per block of the tile's columns against the dense k groups,
      // and how many of them run as fused pairs (kernels/x86/layout.h).
      const int blocks = k::x86::gemm_sched_blocks(g);
      label += ": " + std::to_string(k::x86::gemm_sched(g)[blocks]) + " steps for " +
               std::to_string(static_cast<size_t>(blocks) * (g->k_pad / 4)) + " dense, " +
               std::to_string(2 * k::x86::gemm_fused_pairs(g)) + " in fused pairs";
    }
  }
#endif
  state.SetLabel(label);
  report(state, isa, macs);
}

// A depthwise layer (MobileNetV2's 3x3 shapes, stride 1 or 2, "same"
// padding): hw x hw x channels input.
void bm_dwconv(benchmark::State& state, k::Isa isa, k::Profile profile, bool per_channel, int hw,
               int channels, int kernel, int stride) {
  const k::Conv2DShape s = conv_shape(hw, channels, channels, kernel, stride, channels);
  const size_t in_size = static_cast<size_t>(s.in_h) * s.in_w * s.in_c;
  const size_t out_size = static_cast<size_t>(s.out_h) * s.out_w * s.out_c;
  const int taps = kernel * kernel;
  Layer layer(profile, per_channel, s.out_c, static_cast<size_t>(s.out_c) * taps, in_size);
  std::vector<uint8_t> out(out_size);
  const double macs = static_cast<double>(out_size) * taps;
  if (isa == k::Isa::ref) return bm_ref(state, s, layer, macs);
  const k::DwConvKernel* kernel_fn = k::select_dwconv_kernel(isa, s);
  if (kernel_fn == nullptr) {
    state.SkipWithError("tier not available");
    return;
  }
  PackedBuffer packed(kernel_fn->packed_bytes(s));
  k::DwConvPackParams pp;
  pp.shape = s;
  pp.w = layer.w.data();
  pp.in_zp = 5;
  pp.rq = &layer.rq;
  kernel_fn->pack(pp, packed.data());
  std::vector<const uint8_t*> indirection(kernel_fn->indirection_entries(s));
  kernel_fn->build_indirection(packed.data(), layer.in.data(), indirection.data());
  k::DwConvArgs args;
  args.packed = packed.data();
  args.indirection = indirection.data();
  args.out = out.data();
  const int pixels = s.out_h * s.out_w;
  for (auto _ : state) {
    kernel_fn->run(args, 0, pixels);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(kernel_fn->name);
  report(state, isa, macs);
}

// A conv through the ConvKernel family: the first layer (224x224x3 -> 32,
// 3x3 stride 2) and a grouped 3x3 conv on the indirection path.
void bm_conv(benchmark::State& state, k::Isa isa, k::Conv2DShape s) {
  const size_t in_size = static_cast<size_t>(s.in_h) * s.in_w * s.in_c;
  const size_t out_size = static_cast<size_t>(s.out_h) * s.out_w * s.out_c;
  const int depth = s.kernel_h * s.kernel_w * s.in_c / s.groups;
  Layer layer(k::Profile::qnnpack, false, s.out_c, static_cast<size_t>(s.out_c) * depth, in_size);
  if (isa == k::Isa::ref) return bm_ref(state, s, layer, static_cast<double>(out_size) * depth);
  const k::ConvKernel* kernel = k::select_conv_kernel(isa);
  if (kernel == nullptr) {
    state.SkipWithError("tier not available");
    return;
  }
  PackedBuffer packed(kernel->packed_bytes(s, layer.w.data(), layer.rq.profile));
  k::ConvPackParams pp;
  pp.shape = s;
  pp.w = layer.w.data();
  pp.in_zp = 5;
  pp.rq = &layer.rq;
  kernel->pack(pp, packed.data());
  std::vector<const uint8_t*> indirection(kernel->indirection_entries(s));
  kernel->build_indirection(packed.data(), layer.in.data(), indirection.data());
  std::vector<uint8_t> scratch(kernel->scratch_bytes(s));
  std::vector<uint8_t> out(out_size);
  k::ConvArgs args;
  args.packed = packed.data();
  args.in = layer.in.data();
  args.indirection = indirection.empty() ? nullptr : indirection.data();
  args.out = out.data();
  for (auto _ : state) {
    kernel->run(args, 0, s.out_h * s.out_w, scratch.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(kernel->name) + " " + kernel->path(s));
  report(state, isa, static_cast<double>(out_size) * depth);
}

// A dynamically quantized linear, float rows in and out with the input
// quantized per call: an LSTM's per-step GEMV (1 x 512 -> 2048), its
// whole-sequence input projection (64 x 256 -> 2048) and a small head
// (1 x 512 -> 40). The ref tier runs fully_connected_dynamic_ref.
void bm_dynamic_linear(benchmark::State& state, k::Isa isa, k::Profile profile, int rows, int kk,
                       int n) {
  const k::DynamicLinearKernel* kernel = k::select_dynamic_linear_kernel(isa);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> wd(-128, 127);
  std::normal_distribution<float> xd;
  std::vector<int8_t> w(static_cast<size_t>(n) * kk);
  for (int8_t& x : w) x = static_cast<int8_t>(wd(rng));
  std::vector<float> in(static_cast<size_t>(rows) * kk), bias(n, 0.25f);
  for (float& x : in) x = xd(rng);
  std::vector<float> out(static_cast<size_t>(rows) * n);
  const float w_scale = 0.01f;
  k::DynamicLinearParams p;
  p.profile = profile;
  p.shape.in_features = kk;
  p.shape.out_features = n;
  p.w = w.data();
  p.w_scales = &w_scale;
  p.bias = bias.data();
  PackedBuffer packed(kernel->packed_bytes(n, kk));
  std::vector<uint8_t> scratch(kernel->scratch_bytes(rows, kk));
  kernel->pack(p, packed.data());
  for (auto _ : state) {
    kernel->run(packed.data(), rows, in.data(), out.data(), scratch.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(kernel->name);
  report(state, isa, static_cast<double>(rows) * n * kk);
}

void register_all() {
  const k::Isa tiers[] = {k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni};
  const k::Isa all_tiers[] = {k::Isa::ref, k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni};
  const auto add = [](benchmark::internal::Benchmark* b) {
    return b->Unit(benchmark::kMicrosecond)->Repetitions(15)->DisplayAggregatesOnly(true);
  };
#if defined(__x86_64__)
  if (k::isa_available(k::Isa::avx2)) {
    add(benchmark::RegisterBenchmark("peak/avx2_maddubsw_maddwd_add", bm_peak, k::Isa::avx2,
                                     peak_avx2_maddubs));
    add(benchmark::RegisterBenchmark("peak/avx2_maddwd_add", bm_peak, k::Isa::avx2,
                                     peak_avx2_maddwd));
  }
  if (k::isa_available(k::Isa::avxvnni)) {
    add(benchmark::RegisterBenchmark("peak/avxvnni", bm_peak, k::Isa::avxvnni, peak_avxvnni));
  }
  if (k::isa_available(k::Isa::avx512vnni)) {
    add(benchmark::RegisterBenchmark("peak/avx512vnni", bm_peak, k::Isa::avx512vnni,
                                     peak_avx512vnni));
  }
#endif
  // 1x1 convs: 56x56x24 -> 144 (the acceptance shape) in both profiles and
  // on the reference; a few more of MobileNetV2's (short and long k).
  struct GemmCase {
    int hw, k, n;
  };
  const GemmCase gemm_main = {56, 24, 144};
  const GemmCase gemm_more[] = {{112, 16, 96}, {112, 32, 16}, {56, 144, 24}, {7, 960, 320}};
  const auto gemm_name = [](const GemmCase& c) {
    return "gemm1x1_" + std::to_string(c.hw) + "x" + std::to_string(c.hw) + "x" +
           std::to_string(c.k) + "_" + std::to_string(c.n);
  };
  for (k::Isa isa : all_tiers) {
    if (!k::isa_available(isa)) continue;
    const std::string tier = k::isa_name(isa);
    const GemmCase& c = gemm_main;
    add(benchmark::RegisterBenchmark((gemm_name(c) + "/qnnpack_per_tensor/" + tier).c_str(),
                                     bm_gemm1x1, isa, k::Profile::qnnpack, false, c.hw, c.k, c.n,
                                     false));
    add(benchmark::RegisterBenchmark(
        (gemm_name(c) + "/qnnpack_per_tensor_trained_weights/" + tier).c_str(), bm_gemm1x1, isa,
        k::Profile::qnnpack, false, c.hw, c.k, c.n, true));
    add(benchmark::RegisterBenchmark((gemm_name(c) + "/fbgemm_per_channel/" + tier).c_str(),
                                     bm_gemm1x1, isa, k::Profile::fbgemm, true, c.hw, c.k, c.n,
                                     false));
    add(benchmark::RegisterBenchmark(
        (gemm_name(c) + "/fbgemm_per_channel_trained_weights/" + tier).c_str(), bm_gemm1x1, isa,
        k::Profile::fbgemm, true, c.hw, c.k, c.n, true));
  }
  for (k::Isa isa : tiers) {
    if (!k::isa_available(isa)) continue;
    const std::string tier = k::isa_name(isa);
    for (const GemmCase& c : gemm_more) {
      add(benchmark::RegisterBenchmark(
          (gemm_name(c) + "/qnnpack_per_tensor_trained_weights/" + tier).c_str(), bm_gemm1x1, isa,
          k::Profile::qnnpack, false, c.hw, c.k, c.n, true));
    }
  }
  // MobileNetV2's depthwise layers (input hw x hw x channels, stride), the
  // 56x56x144 one in both profiles; one 5x5 for the unrolled 5x5 kernels.
  struct DwCase {
    int hw, channels, kernel, stride;
  };
  const DwCase dw_cases[] = {{112, 32, 3, 1}, {112, 96, 3, 2}, {56, 144, 3, 1}, {56, 144, 3, 2},
                             {28, 192, 3, 1}, {28, 192, 3, 2}, {14, 384, 3, 1}, {14, 576, 3, 1},
                             {14, 576, 3, 2}, {7, 960, 3, 1},  {28, 120, 5, 1}};
  const auto dw_name = [](const DwCase& c) {
    return "dwconv" + std::to_string(c.kernel) + "x" + std::to_string(c.kernel) +
           (c.stride == 2 ? "s2_" : "_") + std::to_string(c.hw) + "x" + std::to_string(c.hw) +
           "x" + std::to_string(c.channels);
  };
  const DwCase ref_case = dw_cases[2];
  add(benchmark::RegisterBenchmark((dw_name(ref_case) + "/qnnpack_per_tensor/ref").c_str(),
                                   bm_dwconv, k::Isa::ref, k::Profile::qnnpack, false, ref_case.hw,
                                   ref_case.channels, ref_case.kernel, ref_case.stride));
  for (k::Isa isa : tiers) {
    if (!k::isa_available(isa)) continue;
    const std::string tier = k::isa_name(isa);
    for (const DwCase& c : dw_cases) {
      add(benchmark::RegisterBenchmark((dw_name(c) + "/qnnpack_per_tensor/" + tier).c_str(),
                                       bm_dwconv, isa, k::Profile::qnnpack, false, c.hw,
                                       c.channels, c.kernel, c.stride));
    }
    add(benchmark::RegisterBenchmark((dw_name(ref_case) + "/fbgemm_per_channel/" + tier).c_str(),
                                     bm_dwconv, isa, k::Profile::fbgemm, true, ref_case.hw,
                                     ref_case.channels, ref_case.kernel, ref_case.stride));
  }
  struct DynCase {
    int rows, k, n;
  };
  for (k::Isa isa : all_tiers) {
    if (!k::isa_available(isa)) continue;
    const std::string tier = k::isa_name(isa);
    for (const DynCase& c : {DynCase{1, 512, 2048}, DynCase{64, 256, 2048}, DynCase{1, 512, 40}}) {
      const std::string name = "dynamic_linear_" + std::to_string(c.rows) + "x" +
                               std::to_string(c.k) + "_" + std::to_string(c.n);
      add(benchmark::RegisterBenchmark((name + "/qnnpack/" + tier).c_str(), bm_dynamic_linear,
                                       isa, k::Profile::qnnpack, c.rows, c.k, c.n));
      add(benchmark::RegisterBenchmark((name + "/fbgemm/" + tier).c_str(), bm_dynamic_linear, isa,
                                       k::Profile::fbgemm, c.rows, c.k, c.n));
    }
  }
  for (k::Isa isa : all_tiers) {
    if (!k::isa_available(isa)) continue;
    const std::string tier = k::isa_name(isa);
    add(benchmark::RegisterBenchmark(("conv3x3s2_224x224x3_32/" + tier).c_str(), bm_conv, isa,
                                     conv_shape(224, 3, 32, 3, 2, 1)));
    add(benchmark::RegisterBenchmark(("conv3x3_28x28x64_64_groups2/" + tier).c_str(), bm_conv, isa,
                                     conv_shape(28, 64, 64, 3, 1, 2)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  g_ghz = measure_ghz();
  char ghz[32];
  std::snprintf(ghz, sizeof(ghz), "%.2f", g_ghz);
  benchmark::AddCustomContext("core_ghz_measured", ghz);
  benchmark::AddCustomContext("best_isa", k::isa_name(k::best_isa()));
  benchmark::AddCustomContext("mac_per_cycle_limits", "avx2 32, avxvnni 64, avx512vnni 128");
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
