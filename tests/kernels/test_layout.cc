// Reference layout kernels (transpose, slice, pad, concat, split, gather,
// resize, cast) on hand-worked cases; tests/runtime/test_ops_layout.cc runs
// them against PyTorch's fixtures.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/ref/cast.h"
#include "kernels/ref/layout.h"
#include "kernels/ref/resize.h"
#include "kernels/ref/unary.h"

namespace k = qrt::kernels;

namespace {

std::vector<int> iota(int n, int start = 0) {
  std::vector<int> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + i;
  return v;
}

k::PadParams pad1d(int n, int before, int after, k::PadMode mode) {
  k::PadParams p;
  p.rank = 1;
  p.in_dims[0] = n;
  p.before[0] = before;
  p.after[0] = after;
  p.mode = mode;
  p.elem_size = 4;
  return p;
}

std::vector<int> pad(const k::PadParams& p, const std::vector<int>& in, int out_size) {
  std::vector<int> out(static_cast<size_t>(out_size), -99);
  k::pad_ref(p, in.data(), out.data());
  return out;
}

k::ResizeParams resize1d(int in_w, int out_w, k::ResizeCoord coord, k::NearestRound round,
                         float scale_w = 0.f) {
  k::ResizeParams p;
  p.in_w = in_w;
  p.out_w = out_w;
  p.coord = coord;
  p.nearest = round;
  p.scale_w = scale_w;
  return p;
}

// Nearest indices along W of a 1 x 1 x in_w x 1 tensor holding 0..in_w-1.
std::vector<int> nearest_w(const k::ResizeParams& p) {
  const std::vector<int> in = iota(p.in_w);
  std::vector<int> out(static_cast<size_t>(p.out_w));
  k::resize_nearest_ref(p, sizeof(int), false, in.data(), out.data());
  return out;
}

}  // namespace

TEST_CASE("layout: transpose 2-D, 3-D and every element size") {
  k::TransposeParams p;
  p.rank = 2;
  p.in_dims[0] = 2;
  p.in_dims[1] = 3;
  p.perm[0] = 1;
  p.perm[1] = 0;
  p.elem_size = 1;
  const uint8_t a[6] = {1, 2, 3, 4, 5, 6};
  uint8_t b[6];
  k::transpose_ref(p, a, b);
  CHECK(std::vector<uint8_t>(b, b + 6) == std::vector<uint8_t>{1, 4, 2, 5, 3, 6});

  // in [2, 3, 4], perm (2, 0, 1): out[i][j][k] = in[j][k][i].
  p.rank = 3;
  p.in_dims[0] = 2;
  p.in_dims[1] = 3;
  p.in_dims[2] = 4;
  p.perm[0] = 2;
  p.perm[1] = 0;
  p.perm[2] = 1;
  for (size_t size : {1, 2, 4, 8}) {
    p.elem_size = size;
    std::vector<uint8_t> in(24 * size), out(24 * size);
    for (size_t e = 0; e < 24; ++e)
      for (size_t byte = 0; byte < size; ++byte) in[e * size + byte] = static_cast<uint8_t>(e * 7 + byte);
    k::transpose_ref(p, in.data(), out.data());
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 2; ++j)
        for (int kk = 0; kk < 3; ++kk) {
          const size_t o = static_cast<size_t>((i * 2 + j) * 3 + kk), src = static_cast<size_t>((j * 3 + kk) * 4 + i);
          CHECK_MESSAGE(std::memcmp(&out[o * size], &in[src * size], size) == 0,
                        "elem_size " << size << " out " << o);
        }
  }
}

TEST_CASE("layout: transpose of rank 0 copies the element") {
  k::TransposeParams p;
  p.elem_size = 4;
  const float a = 2.5f;
  float b = 0.f;
  k::transpose_ref(p, &a, &b);
  CHECK(b == 2.5f);
}

TEST_CASE("layout: slice with positive and negative steps") {
  // in [3, 5] = 0..14; rows 2, 0 (begin 2 step -2), cols 1, 4 (begin 1 step 3).
  k::SliceParams p;
  p.rank = 2;
  p.in_dims[0] = 3;
  p.in_dims[1] = 5;
  p.out_dims[0] = 2;
  p.out_dims[1] = 2;
  p.begin[0] = 2;
  p.step[0] = -2;
  p.begin[1] = 1;
  p.step[1] = 3;
  p.elem_size = 4;
  const std::vector<int> in = iota(15);
  std::vector<int> out(4);
  k::slice_ref(p, in.data(), out.data());
  CHECK(out == std::vector<int>{11, 14, 1, 4});
  // Reversal of a whole axis.
  p.out_dims[0] = 3;
  p.step[0] = -1;
  p.out_dims[1] = 1;
  p.begin[1] = 4;
  p.step[1] = 1;
  out.assign(3, 0);
  k::slice_ref(p, in.data(), out.data());
  CHECK(out == std::vector<int>{14, 9, 4});
}

TEST_CASE("layout: pad modes in one dimension") {
  const std::vector<int> in = {1, 2, 3};
  k::PadParams p = pad1d(3, 2, 2, k::PadMode::reflect);
  CHECK(pad(p, in, 7) == std::vector<int>{3, 2, 1, 2, 3, 2, 1});
  p.mode = k::PadMode::edge;
  CHECK(pad(p, in, 7) == std::vector<int>{1, 1, 1, 2, 3, 3, 3});
  p.mode = k::PadMode::constant;
  const int value = -7;
  std::memcpy(p.value, &value, sizeof(value));
  CHECK(pad(p, in, 7) == std::vector<int>{-7, -7, 1, 2, 3, -7, -7});
}

TEST_CASE("layout: negative pads crop, also beside a positive pad") {
  const std::vector<int> in = {1, 2, 3, 4};
  k::PadParams p = pad1d(4, -1, 2, k::PadMode::reflect);
  // np.pad(reflect, (0, 2)) = 1 2 3 4 3 2, then drop the first.
  CHECK(pad(p, in, 5) == std::vector<int>{2, 3, 4, 3, 2});
  p = pad1d(4, 2, -3, k::PadMode::edge);
  CHECK(pad(p, in, 3) == std::vector<int>{1, 1, 1});
  p = pad1d(4, -2, -1, k::PadMode::constant);
  CHECK(pad(p, in, 1) == std::vector<int>{3});
}

TEST_CASE("layout: pad 2-D corners mix the modes of both axes") {
  // in [2, 2] = {1, 2; 3, 4}, one row and column each side.
  k::PadParams p;
  p.rank = 2;
  p.in_dims[0] = p.in_dims[1] = 2;
  p.before[0] = p.before[1] = p.after[0] = p.after[1] = 1;
  p.elem_size = 1;
  p.mode = k::PadMode::edge;
  const uint8_t in[4] = {1, 2, 3, 4};
  uint8_t out[16];
  k::pad_ref(p, in, out);
  CHECK(std::vector<uint8_t>(out, out + 16) ==
        std::vector<uint8_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  p.mode = k::PadMode::reflect;
  k::pad_ref(p, in, out);
  CHECK(std::vector<uint8_t>(out, out + 16) ==
        std::vector<uint8_t>{4, 3, 4, 3, 2, 1, 2, 1, 4, 3, 4, 3, 2, 1, 2, 1});
  p.mode = k::PadMode::constant;
  p.value[0] = 9;
  k::pad_ref(p, in, out);
  CHECK(std::vector<uint8_t>(out, out + 16) ==
        std::vector<uint8_t>{9, 9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9, 9, 9, 9});
}

TEST_CASE("layout: concat and split are inverse byte moves") {
  // [2, 1, 3] and [2, 2, 3] along axis 1 -> [2, 3, 3].
  const std::vector<int> a = iota(6), b = iota(12, 100);
  k::ConcatPart parts[2];
  parts[0].data = a.data();
  parts[0].axis_size = 1;
  parts[1].data = b.data();
  parts[1].axis_size = 2;
  k::ConcatParams p;
  p.outer = 2;
  p.inner = 3;
  p.elem_size = 4;
  p.num_inputs = 2;
  p.inputs = parts;
  std::vector<int> out(18);
  k::concat_ref(p, out.data());
  CHECK(out == std::vector<int>{0, 1, 2, 100, 101, 102, 103, 104, 105,
                                3, 4, 5, 106, 107, 108, 109, 110, 111});

  std::vector<int> a2(6), b2(12);
  k::SplitPart outs[2];
  outs[0].data = a2.data();
  outs[0].axis_size = 1;
  outs[1].data = b2.data();
  outs[1].axis_size = 2;
  k::SplitParams s;
  s.outer = 2;
  s.inner = 3;
  s.elem_size = 4;
  s.num_outputs = 2;
  s.outputs = outs;
  k::split_ref(s, out.data());
  CHECK(a2 == a);
  CHECK(b2 == b);
}

TEST_CASE("layout: u8 concat copies equal params and requantizes others") {
  // Input 0 has the output's params (copied, even 0 and 255); input 1 has
  // scale 0.2, zp 10 against the output's 0.1, zp 128: q -> 128 + 2 (q - 10),
  // clamped; x * f32(1 / 0.1) lands on exact even multiples here.
  const uint8_t a[3] = {0, 77, 255};
  const uint8_t b[4] = {10, 11, 9, 200};
  k::ConcatPart parts[2];
  parts[0].data = a;
  parts[0].axis_size = 3;
  parts[0].scale = 0.1f;
  parts[0].zero_point = 128;
  parts[1].data = b;
  parts[1].axis_size = 4;
  parts[1].scale = 0.2f;
  parts[1].zero_point = 10;
  k::ConcatParams p;
  p.num_inputs = 2;
  p.inputs = parts;
  uint8_t out[7];
  k::concat_u8_ref(p, 0.1f, 128, k::CatDequant::scalar, out);
  CHECK(std::vector<uint8_t>(out, out + 7) == std::vector<uint8_t>{0, 77, 255, 128, 130, 126, 255});
}

TEST_CASE("layout: u8 concat ties round to even") {
  // scale 0.5 into scale 1: q - zp = 1, 3, 5, -1, -3 -> 0.5, 1.5, 2.5, -0.5, -1.5
  // -> 0, 2, 2, -0, -2, plus zp 50.
  const uint8_t a[5] = {21, 23, 25, 19, 17};
  k::ConcatPart part;
  part.data = a;
  part.axis_size = 5;
  part.scale = 0.5f;
  part.zero_point = 20;
  k::ConcatParams p;
  p.num_inputs = 1;
  p.inputs = &part;
  uint8_t out[5];
  k::concat_u8_ref(p, 1.0f, 50, k::CatDequant::scalar, out);
  CHECK(std::vector<uint8_t>(out, out + 5) == std::vector<uint8_t>{50, 52, 52, 50, 48});
}

TEST_CASE("layout: u8 concat, PyTorch's AVX2 channels-last form differs from the scalar one") {
  // s = 0.05f, zp 5, q 6, output scale 0.1f:
  //   scalar: f32(0.05f * 1) = 0.0500000007; * f32(1 / 0.1f) = 10 -> 0.5 -> 0
  //   fma:    f32(0.05f * -5) = -0.25; fma(0.05f, 6, -0.25) = 0.0500000045;
  //           * 10 -> 0.50000006 -> 1
  // With 9 channels per pixel the first 8 take the fma form, the 9th the
  // scalar one (qcat_nhwc_kernel's 8-wide vector loop and scalar tail).
  const std::vector<uint8_t> in(18, 6);  // two pixels of 9 channels
  k::ConcatPart part;
  part.data = in.data();
  part.axis_size = 9;
  part.scale = 0.05f;
  part.zero_point = 5;
  k::ConcatParams p;
  p.outer = 2;
  p.num_inputs = 1;
  p.inputs = &part;
  std::vector<uint8_t> fbgemm(18), qnnpack(18);
  k::concat_u8_ref(p, 0.1f, 100, k::CatDequant::avx2_channels_last, fbgemm.data());
  k::concat_u8_ref(p, 0.1f, 100, k::CatDequant::scalar, qnnpack.data());
  std::vector<uint8_t> pixel(8, 101);
  pixel.push_back(100);
  std::vector<uint8_t> expected = pixel;
  expected.insert(expected.end(), pixel.begin(), pixel.end());
  CHECK(fbgemm == expected);
  CHECK(qnnpack == std::vector<uint8_t>(18, 100));
}

TEST_CASE("layout: u8 concat by table equals concat_u8_ref") {
  // Random shapes, params and both dequantize forms. Some inputs carry the
  // output's params (copied, no table); scales span 1e-4..10, zero points
  // 0..255, and ties (scale ratios that are powers of two) come up often.
  std::mt19937 rng(20261127);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> log_scale(-4.f, 1.f);
  for (int c = 0; c < 2000; ++c) {
    const int inputs = 1 + static_cast<int>(rng() % 4);
    const float out_scale = std::pow(10.f, log_scale(rng));
    const int32_t out_zp = byte(rng);
    k::ConcatParams p;
    p.outer = 1 + static_cast<int64_t>(rng() % 5);
    p.inner = rng() % 2 ? 1 : 1 + static_cast<int64_t>(rng() % 4);
    p.num_inputs = inputs;
    std::vector<k::ConcatPart> parts(static_cast<size_t>(inputs));
    std::vector<std::vector<uint8_t>> data(parts.size());
    std::vector<std::vector<uint8_t>> luts(parts.size());
    int64_t total = 0;
    for (size_t t = 0; t < parts.size(); ++t) {
      k::ConcatPart& part = parts[t];
      part.axis_size = 1 + static_cast<int64_t>(rng() % 40);
      const int kind = static_cast<int>(rng() % 4);
      part.scale = kind == 0   ? out_scale
                   : kind == 1 ? out_scale * 0.5f
                               : std::pow(10.f, log_scale(rng));
      part.zero_point = kind == 0 ? out_zp : byte(rng);
      data[t].resize(static_cast<size_t>(p.outer * part.axis_size * p.inner));
      for (auto& v : data[t]) v = static_cast<uint8_t>(byte(rng));
      part.data = data[t].data();
      if (part.scale != out_scale || part.zero_point != out_zp) {
        luts[t].resize(k::kCatLutBytes);
        k::make_cat_u8_lut(part.scale, part.zero_point, out_scale, out_zp, luts[t].data());
        part.lut = luts[t].data();
      }
      total += part.axis_size;
    }
    p.inputs = parts.data();
    const size_t n = static_cast<size_t>(p.outer * total * p.inner);
    for (k::CatDequant form : {k::CatDequant::scalar, k::CatDequant::avx2_channels_last}) {
      std::vector<uint8_t> want(n), got(n);
      k::concat_u8_ref(p, out_scale, out_zp, form, want.data());
      k::concat_u8_lut(p, form, k::lut_u8_ref, got.data(), 0, p.outer);
      REQUIRE_MESSAGE(got == want, "case " << c << " form " << static_cast<int>(form));
      // The outer rows in random ranges, as threads take them.
      std::vector<uint8_t> ranged(n);
      for (int64_t begin = 0; begin < p.outer;) {
        const int64_t end = std::min(p.outer, begin + 1 + static_cast<int64_t>(rng() % 3));
        k::concat_u8_lut(p, form, k::lut_u8_ref, ranged.data(), begin, end);
        begin = end;
      }
      REQUIRE_MESSAGE(ranged == want, "case " << c << " form " << static_cast<int>(form)
                                              << ", outer rows in ranges");
    }
  }
}

TEST_CASE("layout: gather wraps negative indices and rejects out-of-range ones") {
  // data [2, 3, 2] = 0..11, axis 1, indices {-1, 0, 2, -3}.
  const std::vector<int> data = iota(12);
  const int64_t idx[4] = {-1, 0, 2, -3};
  k::GatherParams p;
  p.outer = 2;
  p.axis_size = 3;
  p.inner = 2;
  p.num_indices = 4;
  p.elem_size = 4;
  p.indices_i64 = true;
  std::vector<int> out(16, -1);
  CHECK(k::gather_ref(p, data.data(), idx, out.data()) == -1);
  CHECK(out == std::vector<int>{4, 5, 0, 1, 4, 5, 0, 1, 10, 11, 6, 7, 10, 11, 6, 7});

  const int32_t bad[3] = {1, -4, 3};
  p.indices_i64 = false;
  p.num_indices = 3;
  CHECK(k::find_bad_gather_index(p, bad) == 1);
  std::vector<int> untouched(12, -1);
  CHECK(k::gather_ref(p, data.data(), bad, untouched.data()) == 1);
  CHECK(untouched == std::vector<int>(12, -1));
  const int32_t past_end[1] = {3};
  p.num_indices = 1;
  CHECK(k::find_bad_gather_index(p, past_end) == 0);
}

TEST_CASE("layout: resize nearest, ONNX coordinate and rounding modes") {
  using C = k::ResizeCoord;
  using R = k::NearestRound;
  // 4 -> 8 (r = 0.5). half_pixel: x = 0.5 d - 0.25 = -0.25, 0.25, 0.75,
  // 1.25, 1.75, 2.25, 2.75, 3.25.
  CHECK(nearest_w(resize1d(4, 8, C::half_pixel, R::round_prefer_floor)) ==
        std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3});
  CHECK(nearest_w(resize1d(4, 8, C::half_pixel, R::ceil)) == std::vector<int>{0, 1, 1, 2, 2, 3, 3, 3});
  // asymmetric: x = 0.5 d = 0, .5, 1, 1.5, ...: halves decide.
  CHECK(nearest_w(resize1d(4, 8, C::asymmetric, R::round_prefer_floor)) ==
        std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3});
  CHECK(nearest_w(resize1d(4, 8, C::asymmetric, R::round_prefer_ceil)) ==
        std::vector<int>{0, 1, 1, 2, 2, 3, 3, 3});
  // align_corners 4 -> 7: r = 0.5 exactly, x = 0, .5, 1, ..., 3.
  CHECK(nearest_w(resize1d(4, 7, C::align_corners, R::round_prefer_floor)) ==
        std::vector<int>{0, 0, 1, 1, 2, 2, 3});
  // tf_half_pixel_for_nn 4 -> 2 (r = 2): x = 1, 3.
  CHECK(nearest_w(resize1d(4, 2, C::tf_half_pixel_for_nn, R::floor)) == std::vector<int>{1, 3});
  // pytorch_half_pixel to one element: x = 0 (half_pixel would give 1.5).
  CHECK(nearest_w(resize1d(4, 1, C::pytorch_half_pixel, R::round_prefer_ceil)) == std::vector<int>{0});
  CHECK(nearest_w(resize1d(4, 1, C::half_pixel, R::round_prefer_ceil)) == std::vector<int>{2});
}

TEST_CASE("layout: resize nearest takes the model's scale for coordinates") {
  using C = k::ResizeCoord;
  using R = k::NearestRound;
  // PyTorch's nearest, 5 -> 10 with scale_factor 2.5 (sizes alone say 2):
  // floor(d * f32(1 / 2.5)) = floor(0.4 d).
  CHECK(nearest_w(resize1d(5, 10, C::asymmetric, R::floor, 2.5f)) ==
        std::vector<int>{0, 0, 0, 1, 1, 2, 2, 2, 3, 3});
  CHECK(nearest_w(resize1d(5, 10, C::asymmetric, R::floor)) ==
        std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4});
}

TEST_CASE("layout: resize clamps coordinates from scales that do not fit the sizes") {
  using C = k::ResizeCoord;
  // Scale 0.01 maps output 3 to x = 300 (nearest) and far past the end
  // (bilinear); a huge factor maps everything to 0.
  CHECK(nearest_w(resize1d(4, 5, C::asymmetric, k::NearestRound::floor, 0.01f)) ==
        std::vector<int>{0, 3, 3, 3, 3});
  k::ResizeParams p = resize1d(4, 5, C::half_pixel, k::NearestRound::floor, 0.01f);
  const float in[4] = {1.f, 2.f, 3.f, 4.f};
  float out[5];
  k::resize_bilinear_f32_ref(p, in, out);
  CHECK(out[4] == 4.f);
  p.scale_w = 1e30f;
  k::resize_bilinear_f32_ref(p, in, out);
  CHECK(out[4] == 1.f);
  CHECK(nearest_w(resize1d(4, 3, C::asymmetric, k::NearestRound::floor, 1e30f)) ==
        std::vector<int>{0, 0, 0});
}

TEST_CASE("layout: resize bilinear f32, align_corners and half_pixel") {
  // 1 x 3 row {0, 10, 20} to 5: align_corners r = 0.5 -> 0, 5, 10, 15, 20.
  k::ResizeParams p = resize1d(3, 5, k::ResizeCoord::align_corners, k::NearestRound::floor);
  const float in[3] = {0.f, 10.f, 20.f};
  float out[5];
  k::resize_bilinear_f32_ref(p, in, out);
  CHECK(std::vector<float>(out, out + 5) == std::vector<float>{0.f, 5.f, 10.f, 15.f, 20.f});
  // half_pixel 3 -> 6 (r = 0.5): x = -0.25 (-> 0), 0.25, 0.75, 1.25, 1.75, 2.25
  // -> 0, 2.5, 7.5, 12.5, 17.5, 20 (the last tap has no right neighbour).
  p = resize1d(3, 6, k::ResizeCoord::half_pixel, k::NearestRound::floor);
  float out6[6];
  k::resize_bilinear_f32_ref(p, in, out6);
  CHECK(std::vector<float>(out6, out6 + 6) == std::vector<float>{0.f, 2.5f, 7.5f, 12.5f, 17.5f, 20.f});
}

TEST_CASE("layout: resize bilinear u8 interpolates bytes, rounds y - zp to even") {
  // Row {10, 13}, zp 200, 2 -> 4 half_pixel: x = -0.25 (0), 0.25, 0.75, 1.25.
  // y = 10, 10.75, 12.25, 13; y - zp = -190, -189.25, -187.75, -187 -> rne
  // -> +200 = 10, 11, 12, 13. A tie: row {10, 11} at x = 0.5 (align_corners
  // 2 -> 3) gives 10.5 - 200 = -189.5 -> -190 (even) -> 10.
  k::ResizeParams p = resize1d(2, 4, k::ResizeCoord::half_pixel, k::NearestRound::floor);
  const uint8_t in[2] = {10, 13};
  uint8_t out[4];
  k::resize_bilinear_u8_ref(p, 200, in, out);
  CHECK(std::vector<uint8_t>(out, out + 4) == std::vector<uint8_t>{10, 11, 12, 13});
  p = resize1d(2, 3, k::ResizeCoord::align_corners, k::NearestRound::floor);
  const uint8_t tie[2] = {10, 11};
  uint8_t out3[3];
  k::resize_bilinear_u8_ref(p, 200, tie, out3);
  CHECK(std::vector<uint8_t>(out3, out3 + 3) == std::vector<uint8_t>{10, 10, 11});
  k::resize_bilinear_u8_ref(p, 199, tie, out3);  // -188.5 -> -188 -> 11
  CHECK(out3[1] == 11);
}

TEST_CASE("layout: resize u8 with equal sizes copies whatever the scale") {
  // Scale 1.25 on 3 -> 3 would map x = 0.8 d; PyTorch's quantized kernels copy.
  k::ResizeParams p = resize1d(3, 3, k::ResizeCoord::asymmetric, k::NearestRound::floor, 1.25f);
  const uint8_t in[3] = {7, 8, 9};
  uint8_t out[3];
  k::resize_nearest_ref(p, 1, true, in, out);
  CHECK(std::vector<uint8_t>(out, out + 3) == std::vector<uint8_t>{7, 8, 9});
  k::resize_nearest_ref(p, 1, false, in, out);
  CHECK(std::vector<uint8_t>(out, out + 3) == std::vector<uint8_t>{7, 7, 8});
  p.coord = k::ResizeCoord::half_pixel;
  k::resize_bilinear_u8_ref(p, 0, in, out);
  CHECK(std::vector<uint8_t>(out, out + 3) == std::vector<uint8_t>{7, 8, 9});
}

TEST_CASE("layout: resize NHWC keeps channels and batches apart") {
  // 2 images of 1 x 2 pixels x 2 channels, nearest 2x in W.
  k::ResizeParams p;
  p.batch = 2;
  p.in_w = 2;
  p.channels = 2;
  p.out_w = 4;
  p.coord = k::ResizeCoord::asymmetric;
  p.nearest = k::NearestRound::floor;
  const uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  uint8_t out[16];
  k::resize_nearest_ref(p, 1, false, in, out);
  CHECK(std::vector<uint8_t>(out, out + 16) ==
        std::vector<uint8_t>{1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6, 7, 8, 7, 8});
}

TEST_CASE("layout: cast truncates, saturates and rounds") {
  using T = k::NumberType;
  const float f[8] = {1.9f, -1.9f, 300.f, -300.f, NAN, INFINITY, -INFINITY, 127.99f};
  int8_t s8[8];
  k::cast_ref(8, T::f32, f, T::s8, s8);
  CHECK(std::vector<int8_t>(s8, s8 + 8) == std::vector<int8_t>{1, -1, 127, -128, 0, 127, -128, 127});
  uint8_t u8[8];
  k::cast_ref(8, T::f32, f, T::u8, u8);
  CHECK(std::vector<uint8_t>(u8, u8 + 8) == std::vector<uint8_t>{1, 0, 255, 0, 0, 255, 0, 127});
  const float big[4] = {2147483648.f, -2147483648.f, 9.3e18f, -9.3e18f};
  int32_t i32[4];
  k::cast_ref(4, T::f32, big, T::i32, i32);
  CHECK(std::vector<int32_t>(i32, i32 + 4) ==
        std::vector<int32_t>{INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN});
  int64_t i64[4];
  k::cast_ref(4, T::f32, big, T::i64, i64);
  CHECK(std::vector<int64_t>(i64, i64 + 4) ==
        std::vector<int64_t>{2147483648LL, -2147483648LL, INT64_MAX, INT64_MIN});
  // 2^63 exactly is out of range, -2^63 in range.
  const float edge[2] = {9223372036854775808.f, -9223372036854775808.f};
  k::cast_ref(2, T::f32, edge, T::i64, i64);
  CHECK(i64[0] == INT64_MAX);
  CHECK(i64[1] == INT64_MIN);

  const int64_t wide[5] = {300, -300, 200, (int64_t{1} << 24) + 1, (int64_t{1} << 24) + 3};
  int8_t n8[3];
  k::cast_ref(3, T::i64, wide, T::s8, n8);
  CHECK(std::vector<int8_t>(n8, n8 + 3) == std::vector<int8_t>{127, -128, 127});
  uint8_t m8[3];
  k::cast_ref(3, T::i64, wide, T::u8, m8);
  CHECK(std::vector<uint8_t>(m8, m8 + 3) == std::vector<uint8_t>{255, 0, 200});
  float g[2];
  k::cast_ref(2, T::i64, wide + 3, T::f32, g);  // ties to even: 2^24 + 1 -> 2^24, + 3 -> + 4
  CHECK(g[0] == 16777216.f);
  CHECK(g[1] == 16777220.f);
  const int64_t huge[2] = {INT64_MAX, INT64_MIN};
  int32_t h32[2];
  k::cast_ref(2, T::i64, huge, T::i32, h32);
  CHECK(h32[0] == INT32_MAX);
  CHECK(h32[1] == INT32_MIN);
}

TEST_CASE("layout: cast in-range values match C conversions (random, fixed seed)") {
  using T = k::NumberType;
  const uint32_t seed = 12345;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(-100000, 100000);
  std::vector<int32_t> in(64);
  for (int32_t& v : in) v = d(rng);
  std::vector<int64_t> wide(64);
  std::vector<float> f(64);
  std::vector<int32_t> back(64);
  k::cast_ref(64, T::i32, in.data(), T::i64, wide.data());
  k::cast_ref(64, T::i64, wide.data(), T::f32, f.data());
  k::cast_ref(64, T::f32, f.data(), T::i32, back.data());
  CHECK_MESSAGE(back == in, "seed " << seed);  // |v| < 2^24 round-trips through f32
  std::vector<int32_t> same(64);
  k::cast_ref(64, T::i32, in.data(), T::i32, same.data());
  CHECK(same == in);
}
