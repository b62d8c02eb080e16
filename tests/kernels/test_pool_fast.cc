// Pooling speed paths, byte for byte:
//  (a) the reference max and average pools (kernels/ref/pool.cc), whose
//      channel loops vectorize, against the plain per-element loops they
//      replaced (written out here as oracles: every tap of every element in
//      window order, nothing shared with the kernels but the params);
//  (b) the AVX2 average pool (kernels/x86/pool_avx2.cc) against
//      avg_pool2d_u8_ref on every x86 tier this machine has;
//  (c) every pooling kernel run on bands of output rows
//      (pool2d_row_band, as the runtime splits a pool over threads)
//      against the same kernel on the whole window.
// Random cases sweep kernels 1..7 (and some large ones), strides 1..3,
// dilation 1..2 for max pooling, padding below the kernel, ceil_mode
// shapes, 1..300 channels (odd counts and every tail of the vector steps),
// batch 1..2, zero points 0..255, scale ratios 1e-4..10, count_include_pad
// both ways and divisor_override; the bytes around each output must stay
// untouched.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/pool.h"
#include "support/random_cases.h"

namespace {

namespace k = qrt::kernels;
using qrt::test::coin;
using qrt::test::log_uniform;
using qrt::test::random_zp;
using qrt::test::uniform;

constexpr uint32_t kSeed = 20250301;
constexpr int kCases = 2000;
constexpr uint8_t kCanary = 0x5A;
constexpr size_t kGuard = 32;  // canary bytes on each side of an output


// Channel counts that hit every tail of 32-, 16- and 8-wide steps, odd
// counts, and the small ones.
int random_channels(std::mt19937& rng) {
  switch (uniform(rng, 0, 3)) {
    case 0:
      return uniform(rng, 1, 40);
    case 1:
      return 32 * uniform(rng, 1, 9) + uniform(rng, -1, 1);
    case 2:
      return uniform(rng, 1, 150) * 2 - 1;
    default:
      return 32 * uniform(rng, 0, 8) + uniform(rng, 1, 31);
  }
}

struct Case {
  k::Pool2DWindow s;
  bool ceil_mode = false;
  std::string describe() const {
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "batch %d, in %dx%dx%d, out %dx%d, kernel %dx%d, stride %dx%d, dilation %dx%d, "
                  "pad %d,%d,%d,%d%s",
                  s.batch, s.in_h, s.in_w, s.channels, s.out_h, s.out_w, s.kernel_h, s.kernel_w,
                  s.stride_h, s.stride_w, s.dilation_h, s.dilation_w, s.pad_top, s.pad_left,
                  s.pad_bottom, s.pad_right, ceil_mode ? ", ceil_mode" : "");
    return buf;
  }
};

// One axis: kernel, stride, dilation, padding below the kernel, and an
// input size that pools to 1..~7 outputs. Returns false if it pools to none.
bool random_axis(std::mt19937& rng, bool dilate, bool large, bool ceil_mode, int* in, int* kernel,
                 int* stride, int* dilation, int* pad_begin, int* pad_end, int* out) {
  *kernel = large ? uniform(rng, 9, 24) : uniform(rng, 1, 7);
  *stride = uniform(rng, 1, 3);
  *dilation = dilate ? uniform(rng, 1, 2) : 1;
  *pad_begin = coin(rng, 0.3) ? 0 : uniform(rng, 0, *kernel - 1);
  *pad_end = coin(rng, 0.6) ? *pad_begin : uniform(rng, 0, *kernel - 1);
  const int span = *dilation * (*kernel - 1) + 1;
  *in = span - *pad_begin - *pad_end + uniform(rng, -1, 3 * *stride + 3);
  if (*in < 1) *in = uniform(rng, 1, 3);
  const int64_t o =
      k::pooled_size(*in, *kernel, *stride, *pad_begin, *pad_end, *dilation, ceil_mode);
  *out = static_cast<int>(o);
  return o >= 1;
}

Case random_case(std::mt19937& rng, bool dilate) {
  Case c;
  for (;;) {
    c.ceil_mode = coin(rng, 0.3);
    const bool large = coin(rng, 0.02);
    k::Pool2DWindow& s = c.s;
    s = k::Pool2DWindow{};
    if (!random_axis(rng, dilate, large, c.ceil_mode, &s.in_h, &s.kernel_h, &s.stride_h,
                     &s.dilation_h, &s.pad_top, &s.pad_bottom, &s.out_h))
      continue;
    if (!random_axis(rng, dilate, large, c.ceil_mode, &s.in_w, &s.kernel_w, &s.stride_w,
                     &s.dilation_w, &s.pad_left, &s.pad_right, &s.out_w))
      continue;
    s.batch = uniform(rng, 1, 2);
    // Large windows (up to 576 taps: past the 256-pixel uint16 runs of the
    // fast kernel) keep few channels so that the oracles stay quick.
    s.channels = large ? uniform(rng, 1, 70) : random_channels(rng);
    return c;
  }
}

size_t in_size(const k::Pool2DWindow& s) {
  return static_cast<size_t>(s.batch) * s.in_h * s.in_w * s.channels;
}
size_t out_size(const k::Pool2DWindow& s) {
  return static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.channels;
}

// in[n][y][x][c] at this offset.
size_t at(const k::Pool2DWindow& s, int n, int y, int x, int c) {
  return ((static_cast<size_t>(n) * s.in_h + y) * s.in_w + x) * s.channels + c;
}

// Calls f(n, oy, ox, c, o) for every output element, o its offset.
template <class F>
void for_each_output(const k::Pool2DWindow& s, F&& f) {
  size_t o = 0;
  for (int n = 0; n < s.batch; ++n)
    for (int oy = 0; oy < s.out_h; ++oy)
      for (int ox = 0; ox < s.out_w; ++ox)
        for (int c = 0; c < s.channels; ++c) f(n, oy, ox, c, o++);
}

// Every tap of the window in order: f(iy, ix, inside) with the unclamped
// input coordinates.
template <class F>
void for_each_tap(const k::Pool2DWindow& s, int oy, int ox, F&& f) {
  for (int ky = 0; ky < s.kernel_h; ++ky) {
    const int iy = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
    for (int kx = 0; kx < s.kernel_w; ++kx) {
      const int ix = ox * s.stride_w - s.pad_left + kx * s.dilation_w;
      f(iy, ix, iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w);
    }
  }
}

int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

std::vector<uint8_t> oracle_max_u8(const k::Pool2DWindow& s, const std::vector<uint8_t>& in,
                                   bool qnnpack) {
  std::vector<uint8_t> out(out_size(s));
  for_each_output(s, [&](int n, int oy, int ox, int c, size_t o) {
    uint8_t m = 0;
    for_each_tap(s, oy, ox, [&](int iy, int ix, bool inside) {
      if (!inside && !qnnpack) return;
      // QNNPACK's indirection buffer clamps each tap to the nearest edge.
      const uint8_t v = in[at(s, n, clamp_int(iy, 0, s.in_h - 1), clamp_int(ix, 0, s.in_w - 1), c)];
      if (v > m) m = v;
    });
    out[o] = m;
  });
  return out;
}

std::vector<float> oracle_max_f32(const k::Pool2DWindow& s, const std::vector<float>& in) {
  std::vector<float> out(out_size(s));
  for_each_output(s, [&](int n, int oy, int ox, int c, size_t o) {
    float m = -std::numeric_limits<float>::infinity();
    for_each_tap(s, oy, ox, [&](int iy, int ix, bool inside) {
      if (!inside) return;
      const float v = in[at(s, n, iy, ix, c)];
      if (v > m || std::isnan(v)) m = v;
    });
    out[o] = m;
  });
  return out;
}

// PyTorch's divisor, from its definition: the window clipped to the padded
// input when padding counts, else the in-bounds tap count.
int64_t oracle_divisor(const k::Pool2DWindow& s, const k::AvgPoolParams& p, int oy, int ox) {
  if (p.divisor_override > 0) return p.divisor_override;
  const int64_t y0 = int64_t{oy} * s.stride_h - s.pad_top;
  const int64_t x0 = int64_t{ox} * s.stride_w - s.pad_left;
  if (p.count_include_pad) {
    const int64_t y1 = std::min<int64_t>(y0 + s.kernel_h, int64_t{s.in_h} + s.pad_bottom);
    const int64_t x1 = std::min<int64_t>(x0 + s.kernel_w, int64_t{s.in_w} + s.pad_right);
    return (y1 - y0) * (x1 - x0);
  }
  int64_t taps = 0;
  for_each_tap(s, oy, ox, [&](int, int, bool inside) { taps += inside ? 1 : 0; });
  return taps;
}

std::vector<uint8_t> oracle_avg_u8(const k::Pool2DWindow& s, const k::AvgPoolParams& p,
                                   const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(out_size(s));
  for_each_output(s, [&](int n, int oy, int ox, int c, size_t o) {
    int32_t acc = 0;
    for_each_tap(s, oy, ox, [&](int iy, int ix, bool inside) {
      if (inside) acc += in[at(s, n, iy, ix, c)] - p.in_zp;
    });
    float mult = p.multiplier;
    if (!p.qnnpack_kernel) {
      const float m = p.scale_ratio / static_cast<float>(oracle_divisor(s, p, oy, ox));
      const float quantize_scale = 1.0f / m;
      mult = 1.0f / quantize_scale;
    }
    const float v = static_cast<float>(acc) * mult;
    const double r = std::nearbyint(static_cast<double>(v)) + p.out_zp;
    out[o] = static_cast<uint8_t>(r < 0 ? 0 : r > 255 ? 255 : r);
  });
  return out;
}

// Output buffer with canaries on both sides.
template <class T>
struct Guarded {
  explicit Guarded(size_t n) : bytes(kGuard + n * sizeof(T) + kGuard, kCanary) {}
  T* data() { return reinterpret_cast<T*>(bytes.data() + kGuard); }
  std::vector<uint8_t> bytes;
};

// Compares got (with its canaries) against want byte for byte; reports the
// first difference.
template <class T>
bool same_bytes(const char* what, int index, const Case& c, const std::string& extra,
                const std::vector<T>& want, Guarded<T>& got) {
  const size_t n = want.size() * sizeof(T);
  const uint8_t* w = reinterpret_cast<const uint8_t*>(want.data());
  for (size_t i = 0; i < got.bytes.size(); ++i) {
    const bool inside = i >= kGuard && i < kGuard + n;
    const int expect = inside ? w[i - kGuard] : kCanary;
    if (got.bytes[i] == expect) continue;
    char buf[640];
    std::snprintf(buf, sizeof(buf), "%s, seed %u case %d: %s%s: byte %td (%s) expected %d got %d",
                  what, kSeed, index, c.describe().c_str(), extra.c_str(),
                  static_cast<ptrdiff_t>(i) - static_cast<ptrdiff_t>(kGuard),
                  inside ? "output" : "outside the output", expect, got.bytes[i]);
    FAIL_CHECK(buf);
    return false;
  }
  return true;
}

// Bytes: all 255 (the largest sums), uniform, piled at the ends, or in a
// narrow band (many equal taps).
std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n, int32_t zp) {
  std::vector<uint8_t> v(n);
  const int fill = uniform(rng, 0, 5);
  for (uint8_t& b : v) {
    if (fill == 0)
      b = 255;
    else if (fill == 1)
      b = coin(rng) ? 255 : 0;
    else if (fill == 2)
      b = static_cast<uint8_t>(clamp_int(zp + uniform(rng, -2, 2), 0, 255));
    else
      b = static_cast<uint8_t>(uniform(rng, 0, 255));
  }
  return v;
}

// Floats with NaNs of distinct payloads, signed zeros and infinities, which
// make the float max depend on tap order.
std::vector<float> random_floats(std::mt19937& rng, size_t n) {
  std::vector<float> v(n);
  const double special = coin(rng) ? 0.0 : 0.2;
  for (float& f : v) {
    if (coin(rng, special)) {
      switch (uniform(rng, 0, 4)) {
        case 0: {
          const uint32_t bits = 0x7fc00000u | static_cast<uint32_t>(uniform(rng, 0, 0x3fffff)) |
                                (coin(rng) ? 0x80000000u : 0u);
          std::memcpy(&f, &bits, sizeof(f));
          break;
        }
        case 1:
          f = 0.f;
          break;
        case 2:
          f = -0.f;
          break;
        case 3:
          f = std::numeric_limits<float>::infinity();
          break;
        default:
          f = -std::numeric_limits<float>::infinity();
          break;
      }
    } else {
      f = static_cast<float>(uniform(rng, -8, 8));  // small range: frequent ties
    }
  }
  return v;
}

k::AvgPoolParams random_avg_params(std::mt19937& rng, const Case& c) {
  const bool qnnpack = coin(rng);
  const float in_scale = log_uniform(rng, 1e-3f, 1.f);
  static const float kExact[] = {1.f, 0.5f, 2.f, 0.25f, 4.f, 3.f};
  const float ratio = coin(rng, 0.3) ? kExact[uniform(rng, 0, 5)] : log_uniform(rng, 1e-4f, 10.f);
  const int32_t override_div = coin(rng, 0.2) ? uniform(rng, 1, 100) : 0;
  return k::make_avg_pool_params(qnnpack, in_scale, random_zp(rng), in_scale / ratio,
                                 random_zp(rng), int64_t{c.s.kernel_h} * c.s.kernel_w, coin(rng),
                                 override_div);
}

std::string describe_avg(const k::AvgPoolParams& p) {
  char buf[200];
  std::snprintf(buf, sizeof(buf),
                ", %s, in_zp %d, out_zp %d, scale ratio %g, multiplier %g, "
                "count_include_pad %d, divisor_override %d",
                p.qnnpack_kernel ? "qnnpack" : "generic", p.in_zp, p.out_zp,
                static_cast<double>(p.scale_ratio), static_cast<double>(p.multiplier),
                p.count_include_pad ? 1 : 0, p.divisor_override);
  return buf;
}

// run(band, band_in, band_out) over every image of s cut into bands of 1..3
// output rows, as the runtime splits a pool over threads.
template <class T, class Run>
void run_in_bands(std::mt19937& rng, const k::Pool2DWindow& s, const T* in, T* out,
                  const Run& run) {
  const size_t in_row = static_cast<size_t>(s.in_w) * s.channels;
  const size_t out_row = static_cast<size_t>(s.out_w) * s.channels;
  for (int n = 0; n < s.batch; ++n) {
    for (int oy0 = 0; oy0 < s.out_h;) {
      const int oy1 = std::min(s.out_h, oy0 + uniform(rng, 1, 3));
      int first = -1;
      const k::Pool2DWindow band = k::pool2d_row_band(s, oy0, oy1, &first);
      REQUIRE(first >= 0);
      REQUIRE(first + band.in_h == s.in_h);
      run(band, in + (static_cast<size_t>(n) * s.in_h + first) * in_row,
          out + (static_cast<size_t>(n) * s.out_h + oy0) * out_row);
      oy0 = oy1;
    }
  }
}

std::vector<k::Isa> x86_tiers() {
  std::vector<k::Isa> out;
  for (k::Isa isa : {k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni})
    if (k::isa_available(isa)) out.push_back(isa);
  return out;
}

}  // namespace

TEST_CASE("pool fast: max pools match a tap-by-tap oracle") {
  std::mt19937 rng(kSeed);
  int failures = 0, cases = 0;
  for (int i = 0; i < kCases && failures < 5; ++i, ++cases) {
    const Case c = random_case(rng, true);
    const std::vector<uint8_t> in = random_bytes(rng, in_size(c.s), 0);
    {
      Guarded<uint8_t> got(out_size(c.s));
      k::max_pool2d_u8_ref(c.s, in.data(), got.data());
      if (!same_bytes("max_pool2d_u8_ref", i, c, "", oracle_max_u8(c.s, in, false), got))
        ++failures;
    }
    // QNNPACK never sees ceil_mode (PyTorch routes it to the generic kernel).
    if (!c.ceil_mode) {
      Guarded<uint8_t> got(out_size(c.s));
      k::max_pool2d_u8_qnnpack_ref(c.s, in.data(), got.data());
      if (!same_bytes("max_pool2d_u8_qnnpack_ref", i, c, "", oracle_max_u8(c.s, in, true), got))
        ++failures;
    }
    const std::vector<float> fin = random_floats(rng, in_size(c.s));
    Guarded<float> got(out_size(c.s));
    k::max_pool2d_f32_ref(c.s, fin.data(), got.data());
    if (!same_bytes("max_pool2d_f32_ref", i, c, "", oracle_max_f32(c.s, fin), got)) ++failures;
  }
  CHECK(failures == 0);
  CHECK(cases == kCases);
}

TEST_CASE("pool fast: avg_pool2d_u8_ref matches a per-element oracle") {
  std::mt19937 rng(kSeed + 1);
  int failures = 0, cases = 0;
  for (int i = 0; i < kCases && failures < 5; ++i, ++cases) {
    const Case c = random_case(rng, false);
    const k::AvgPoolParams p = random_avg_params(rng, c);
    const std::vector<uint8_t> in = random_bytes(rng, in_size(c.s), p.in_zp);
    Guarded<uint8_t> got(out_size(c.s));
    k::avg_pool2d_u8_ref(c.s, p, in.data(), got.data());
    if (!same_bytes("avg_pool2d_u8_ref", i, c, describe_avg(p), oracle_avg_u8(c.s, p, in), got))
      ++failures;
  }
  CHECK(failures == 0);
  CHECK(cases == kCases);
}

TEST_CASE("pool fast: the fast average pool matches avg_pool2d_u8_ref on every tier") {
#if defined(__x86_64__)
  const std::vector<k::Isa> tiers = x86_tiers();
  REQUIRE(!tiers.empty());  // every x86-64 machine qrt supports has AVX2
#else
  const std::vector<k::Isa> tiers;
#endif
  CHECK(k::select_pool_kernel(k::Isa::ref) == nullptr);
  for (k::Isa isa : tiers) {
    const k::PoolKernel* kernel = k::select_pool_kernel(isa);
    REQUIRE(kernel != nullptr);
    CHECK(kernel->isa == isa);
    CAPTURE(k::isa_name(isa));
    std::mt19937 rng(kSeed + 2);
    int failures = 0, cases = 0;
    for (int i = 0; i < kCases && failures < 5; ++i, ++cases) {
      const Case c = random_case(rng, false);
      const k::AvgPoolParams p = random_avg_params(rng, c);
      const std::vector<uint8_t> in = random_bytes(rng, in_size(c.s), p.in_zp);
      std::vector<uint8_t> want(out_size(c.s));
      k::avg_pool2d_u8_ref(c.s, p, in.data(), want.data());
      Guarded<uint8_t> got(out_size(c.s));
      kernel->avg(c.s, p, in.data(), got.data());
      if (!same_bytes(kernel->avg_name, i, c, describe_avg(p), want, got)) ++failures;
    }
    CHECK(failures == 0);
    CHECK(cases == kCases);
  }
}

TEST_CASE("pool fast: every pool cut into bands of output rows gives the whole window's bytes") {
  std::vector<const k::PoolKernel*> fast;
#if defined(__x86_64__)
  for (k::Isa isa : x86_tiers()) fast.push_back(k::select_pool_kernel(isa));
#endif
  std::mt19937 rng(kSeed + 5);
  int failures = 0, cases = 0;
  for (int i = 0; i < kCases && failures < 5; ++i, ++cases) {
    const Case c = random_case(rng, coin(rng));
    const size_t n_in = in_size(c.s), n_out = out_size(c.s);
    const std::vector<uint8_t> in = random_bytes(rng, n_in, 0);
    const std::vector<float> fin = random_floats(rng, n_in);
    // kernel(window, in, out) once on the whole window, once on bands.
    const auto check = [&](const char* what, const std::string& extra, const auto* src,
                           auto kernel) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(src)>>;
      std::vector<T> want(n_out);
      kernel(c.s, src, want.data());
      Guarded<T> got(n_out);
      run_in_bands(rng, c.s, src, got.data(), kernel);
      if (!same_bytes(what, i, c, extra, want, got)) ++failures;
    };
    check("max_pool2d_u8_ref", "", in.data(), k::max_pool2d_u8_ref);
    // QNNPACK never sees ceil_mode (PyTorch routes it to the generic kernel).
    if (!c.ceil_mode)
      check("max_pool2d_u8_qnnpack_ref", "", in.data(), k::max_pool2d_u8_qnnpack_ref);
    check("max_pool2d_f32_ref", "", fin.data(), k::max_pool2d_f32_ref);
    if (c.s.dilation_h != 1 || c.s.dilation_w != 1) continue;  // no dilated average pools
    const k::AvgPoolParams p = random_avg_params(rng, c);
    check("avg_pool2d_u8_ref", describe_avg(p), in.data(),
          [&p](const k::Pool2DWindow& w, const uint8_t* src, uint8_t* out) {
            k::avg_pool2d_u8_ref(w, p, src, out);
          });
    check("avg_pool2d_f32_ref", describe_avg(p), fin.data(),
          [&p](const k::Pool2DWindow& w, const float* src, float* out) {
            k::avg_pool2d_f32_ref(w, p.count_include_pad, p.divisor_override, src, out);
          });
    for (const k::PoolKernel* kernel : fast) {
      check(kernel->avg_name, describe_avg(p), in.data(),
            [&p, kernel](const k::Pool2DWindow& w, const uint8_t* src, uint8_t* out) {
              kernel->avg(w, p, src, out);
            });
    }
  }
  CHECK(failures == 0);
  CHECK(cases == kCases);
}

TEST_CASE("pool fast: Inception-v3's 35x35x288 average pool on every tier, every zero point") {
  // 3x3 stride 1 pad 1 with count_include_pad, as torchvision's quantized
  // Inception-v3 runs it, in both kernels.
  k::Pool2DWindow s;
  s.in_h = s.in_w = s.out_h = s.out_w = 35;
  s.channels = 288;
  s.kernel_h = s.kernel_w = 3;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  std::mt19937 rng(kSeed + 3);
  std::vector<uint8_t> in(in_size(s));
  for (uint8_t& v : in) v = static_cast<uint8_t>(uniform(rng, 0, 255));
  std::vector<uint8_t> want(out_size(s)), got(out_size(s));
  for (k::Isa isa : x86_tiers()) {
    const k::PoolKernel* kernel = k::select_pool_kernel(isa);
    REQUIRE(kernel != nullptr);
    CAPTURE(k::isa_name(isa));
    for (bool qnnpack : {false, true}) {
      for (int zp = 0; zp < 256; zp += 15) {
        CAPTURE(qnnpack);
        CAPTURE(zp);
        const k::AvgPoolParams p =
            k::make_avg_pool_params(qnnpack, 0.0213f, zp, 0.0213f, 255 - zp, 9, true, 0);
        k::avg_pool2d_u8_ref(s, p, in.data(), want.data());
        kernel->avg(s, p, in.data(), got.data());
        CHECK(got == want);
      }
    }
  }
}

TEST_CASE("pool fast: windows of up to 576 taps of 255 keep their sums exact") {
  // The fast kernel sums bytes in uint16 runs of 256 pixels; 576 taps of 255
  // overflow any longer run. Channels 32 + 8 + 3 reach every block width.
  for (int kernel : {16, 17, 24}) {
    k::Pool2DWindow s;
    s.in_h = s.in_w = kernel + 2;
    s.channels = 43;
    s.kernel_h = s.kernel_w = kernel;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
    s.out_h = s.out_w = 5;
    const std::vector<uint8_t> in(in_size(s), 255);
    for (bool qnnpack : {false, true}) {
      CAPTURE(kernel);
      CAPTURE(qnnpack);
      const k::AvgPoolParams p =
          k::make_avg_pool_params(qnnpack, 0.5f, 0, 1.f, 0, int64_t{kernel} * kernel, true, 0);
      std::vector<uint8_t> want(out_size(s));
      k::avg_pool2d_u8_ref(s, p, in.data(), want.data());
      CHECK(want == oracle_avg_u8(s, p, in));
      for (k::Isa isa : x86_tiers()) {
        CAPTURE(k::isa_name(isa));
        std::vector<uint8_t> got(out_size(s));
        k::select_pool_kernel(isa)->avg(s, p, in.data(), got.data());
        CHECK(got == want);
      }
    }
  }
}
