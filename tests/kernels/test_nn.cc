// Reference softmax, layer norm, reduce and matmul kernels on hand-derived
// cases. PyTorch parity on fixtures is in tests/runtime/test_ops_nn.cc.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/ref/layer_norm.h"
#include "kernels/ref/matmul.h"
#include "kernels/ref/reduce.h"
#include "kernels/ref/softmax.h"

namespace k = qrt::kernels;

namespace {

bool close(float got, double want) {
  if (std::isnan(want)) return std::isnan(got);
  return got == want || std::fabs(got - want) <= std::fmax(1e-6 * std::fabs(want), 1e-7);
}

std::vector<float> softmax(const k::SoftmaxShape& s, const std::vector<float>& x, bool log) {
  std::vector<float> y(x.size());
  if (log)
    k::log_softmax_f32_ref(s, x.data(), y.data());
  else
    k::softmax_f32_ref(s, x.data(), y.data());
  return y;
}

std::vector<uint8_t> softmax_u8(k::Profile profile, float in_scale, int32_t in_zp,
                                float out_scale, int32_t out_zp, const k::SoftmaxShape& s,
                                const std::vector<uint8_t>& x) {
  uint32_t table[256];
  const k::SoftmaxU8Params p =
      k::make_softmax_u8_params(profile, in_scale, in_zp, out_scale, out_zp, s.axis, table);
  std::vector<uint8_t> y(x.size());
  k::softmax_u8_ref(s, p, x.data(), y.data());
  return y;
}

}  // namespace

TEST_CASE("nn: softmax f32 of known rows") {
  // softmax(0, ln 3) = (1/4, 3/4); log_softmax = (-ln 4, ln 3 - ln 4).
  const std::vector<float> x = {0.f, static_cast<float>(std::log(3.0))};
  const std::vector<float> y = softmax({1, 2, 1}, x, false);
  CHECK(close(y[0], 0.25));
  CHECK(close(y[1], 0.75));
  const std::vector<float> l = softmax({1, 2, 1}, x, true);
  CHECK(close(l[0], -std::log(4.0)));
  CHECK(close(l[1], double{x[1]} - std::log(4.0)));
}

TEST_CASE("nn: softmax f32 with logits 160 apart neither overflows nor loses the max") {
  const std::vector<float> x = {80.f, -80.f, 80.f};
  const std::vector<float> y = softmax({1, 3, 1}, x, false);
  CHECK(y == std::vector<float>{0.5f, 0.f, 0.5f});
  const std::vector<float> l = softmax({1, 3, 1}, x, true);
  CHECK(close(l[0], -std::log(2.0)));
  CHECK(close(l[1], -160.0 - std::log(2.0)));
}

TEST_CASE("nn: softmax f32 along a middle axis normalizes each strided slice") {
  // [2, 3, 2], axis 1: slice (o, i) holds x[o][0..2][i].
  std::vector<float> x(12);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.5f * static_cast<float>(i % 5) - 1.f;
  const std::vector<float> y = softmax({2, 3, 2}, x, false);
  for (int o = 0; o < 2; ++o) {
    for (int i = 0; i < 2; ++i) {
      double sum = 0.0;
      for (int j = 0; j < 3; ++j) sum += std::exp(double{x[o * 6 + j * 2 + i]});
      for (int j = 0; j < 3; ++j) {
        const int at = o * 6 + j * 2 + i;
        CAPTURE(at);
        CHECK(close(y[at], std::exp(double{x[at]}) / sum));
      }
    }
  }
}

TEST_CASE("nn: softmax f32 NaN, -inf and +inf follow PyTorch") {
  const float nan = NAN, inf = INFINITY;
  // A masked (-inf) logit gets 0 / -inf; a NaN or an all -inf slice is NaN;
  // +inf gives inf - inf = NaN.
  std::vector<float> y = softmax({1, 3, 1}, {-inf, 0.f, 0.f}, false);
  CHECK(y == std::vector<float>{0.f, 0.5f, 0.5f});
  y = softmax({1, 3, 1}, {-inf, 0.f, 0.f}, true);
  CHECK(y[0] == -inf);
  for (const bool log : {false, true}) {
    for (const std::vector<float>& x : {std::vector<float>{1.f, nan, 2.f},
                                        std::vector<float>{-inf, -inf, -inf},
                                        std::vector<float>{1.f, inf, 2.f}}) {
      y = softmax({1, 3, 1}, x, log);
      CHECK((std::isnan(y[0]) && std::isnan(y[1]) && std::isnan(y[2])));
    }
  }
}

TEST_CASE("nn: softmax f32 runs in place") {
  std::vector<float> x = {1.f, 2.f, 3.f, -1.f};
  const std::vector<float> want = softmax({2, 2, 1}, x, false);
  k::softmax_f32_ref({2, 2, 1}, x.data(), x.data());
  CHECK(x == want);
}

TEST_CASE("nn: qnnpack softmax table (QNNPACK softargmax)") {
  uint32_t table[256];
  // qscale = min(UINT32_MAX / n, 2^23 - 1): 2^23 - 1 up to n = 512, then
  // UINT32_MAX / n (rounded by lrint).
  k::make_softmax_u8_params(k::Profile::qnnpack, 1.f, 0, 1.f / 256, 0, 2, table);
  CHECK(table[255] == 8388607u);
  CHECK(table[254] == 3085996u);  // lrint(8388607 / e)
  CHECK(table[0] == 0u);          // exp(-255) underflows the table
  k::make_softmax_u8_params(k::Profile::qnnpack, 1.f, 0, 1.f / 256, 0, 1000, table);
  CHECK(table[255] == 4294967u);  // lrint(4294967295 / 1000)
}

TEST_CASE("nn: qnnpack softmax rows") {
  const k::SoftmaxShape two{1, 2, 1};
  // Equal pair: (t * 256 + sum / 2) / sum = (2^23 - 1) * 257 / (2^24 - 2) = 128.5 -> 128.
  CHECK(softmax_u8(k::Profile::qnnpack, 1.f, 0, 1.f / 256, 0, two, {9, 9}) ==
        std::vector<uint8_t>{128, 128});
  // A slice of one is 256/256 -> saturates at 255.
  CHECK(softmax_u8(k::Profile::qnnpack, 0.1f, 3, 1.f / 256, 0, {3, 1, 1}, {0, 77, 255}) ==
        std::vector<uint8_t>{255, 255, 255});
  // A byte 255 steps below the max with scale 1 contributes 0.
  CHECK(softmax_u8(k::Profile::qnnpack, 1.f, 0, 1.f / 256, 0, two, {255, 0}) ==
        std::vector<uint8_t>{255, 0});
}

TEST_CASE("nn: profiles differ: qnnpack softmax rounds half up, the float path half to even") {
  // 512 equal logits: p = 1/512 = 0.5 output steps exactly (PyTorch 1.13:
  // qnnpack engine 1, onednn engine 0; fixture softmax_u8_*_tie512).
  const k::SoftmaxShape s{1, 512, 1};
  const std::vector<uint8_t> x(512, 77);
  CHECK(softmax_u8(k::Profile::qnnpack, 0.1f, 3, 1.f / 256, 0, s, x) ==
        std::vector<uint8_t>(512, 1));
  CHECK(softmax_u8(k::Profile::fbgemm, 0.1f, 3, 1.f / 256, 0, s, x) ==
        std::vector<uint8_t>(512, 0));
  // qnnpack with any other output params takes the float path too.
  CHECK(!k::softmax_u8_uses_table(k::Profile::qnnpack, 1.f / 256, 1));
  CHECK(!k::softmax_u8_uses_table(k::Profile::qnnpack, 0.004f, 0));
  CHECK(!k::softmax_u8_uses_table(k::Profile::fbgemm, 1.f / 256, 0));
  CHECK(softmax_u8(k::Profile::qnnpack, 0.1f, 3, 1.f / 256, 1, s, x) ==
        std::vector<uint8_t>(512, 1));  // zp 1 + rne(0.5)
}

TEST_CASE("nn: float-path softmax quantizes the float result") {
  // x = 0.5 * (q - 10) = (0, 1): softmax = (0.268941, 0.731059);
  // scale 0.01, zp 5 -> 5 + rne(26.89) = 32, 5 + rne(73.11) = 78.
  CHECK(softmax_u8(k::Profile::fbgemm, 0.5f, 10, 0.01f, 5, {1, 2, 1}, {10, 12}) ==
        std::vector<uint8_t>{32, 78});
}

TEST_CASE("nn: layer norm epsilon is read back as the decimal the model had") {
  CHECK(k::layer_norm_eps_from_f32(1e-5f) == 1e-5);
  CHECK(k::layer_norm_eps_from_f32(1e-12f) == 1e-12);
  CHECK(k::layer_norm_eps_from_f32(0.001f) == 0.001);
  CHECK(k::layer_norm_eps_from_f32(0.f) == 0.0);
  CHECK(k::layer_norm_eps_from_f32(0.5f) == 0.5);
  // 2^-20 needs 7 digits (9.536743e-07): kept exactly.
  CHECK(k::layer_norm_eps_from_f32(0x1p-20f) == 0x1p-20);
  CHECK(double{1e-5f} != 1e-5);
}

TEST_CASE("nn: layer norm f32 known rows") {
  // (1, 3): mean 2, var 1 -> (-1, 1) / sqrt(1 + eps).
  std::vector<float> y(2);
  const std::vector<float> x = {1.f, 3.f};
  k::layer_norm_f32_ref({1, 2}, 0.0, x.data(), nullptr, nullptr, y.data());
  CHECK(y == std::vector<float>{-1.f, 1.f});
  const std::vector<float> g = {2.f, -3.f}, b = {0.5f, 0.25f};
  k::layer_norm_f32_ref({1, 2}, 1e-5, x.data(), g.data(), b.data(), y.data());
  const double r = 1.0 / std::sqrt(1.0 + 1e-5);
  CHECK(close(y[0], -2.0 * r + 0.5));
  CHECK(close(y[1], -3.0 * r + 0.25));
  // Tiny spread on a large offset: exact to float precision (PyTorch's
  // float32 kernel is off by ~1e-4 relative here).
  const std::vector<float> x2 = {1000.f, 1000.0001220703125f};  // 1000 + 2^-13
  k::layer_norm_f32_ref({1, 2}, 0.0, x2.data(), nullptr, nullptr, y.data());
  CHECK(y == std::vector<float>{-1.f, 1.f});
  // A constant row has zero variance: the output is beta.
  const std::vector<float> x3 = {4.f, 4.f};
  k::layer_norm_f32_ref({1, 2}, 1e-5, x3.data(), nullptr, b.data(), y.data());
  CHECK(y == b);
}

TEST_CASE("nn: layer norm u8 known rows") {
  // q = (99, 101), zp 100, s_in 1: S = 200, SS = 20002, m = 100, mean 0,
  // var = fma(-100, 100, 10001) = 1, rstd = f32(1 / sqrt(1 + 1e-5)) = 0.999995;
  // out scale 0.01, zp 128: 128 -+ rne(99.9995) = 28, 228.
  const k::LayerNormU8Params p = k::make_layer_norm_u8_params(1.f, 100, 0.01f, 128, 1e-5);
  std::vector<uint8_t> y(2);
  const std::vector<uint8_t> x = {99, 101};
  k::layer_norm_u8_ref({1, 2}, p, x.data(), nullptr, nullptr, y.data());
  CHECK(y == std::vector<uint8_t>{28, 228});
  // gamma (2, 1) and beta (0.5, 3): y = fma(t, g, b) = (-1.49999, 3.999995)
  // -> 128 + (-150, 400) -> (-22, 528) saturates to (0, 255).
  const std::vector<float> g = {2.f, 1.f}, b = {0.5f, 3.f};
  k::layer_norm_u8_ref({1, 2}, p, x.data(), g.data(), b.data(), y.data());
  CHECK(y == std::vector<uint8_t>{0, 255});
  // Constant row: var 0, t = 0, y = beta = 0.5 -> 128 + 50.
  const std::vector<uint8_t> c = {7, 7};
  const std::vector<float> b2 = {0.5f, -0.5f};
  k::layer_norm_u8_ref({1, 2}, p, c.data(), nullptr, b2.data(), y.data());
  CHECK(y == std::vector<uint8_t>{178, 78});
}

TEST_CASE("nn: reduce shape merges neighbours and drops 1s") {
  const int32_t d4[] = {2, 3, 4, 5};
  const bool r4[] = {false, true, false, true};
  k::ReduceShape s = k::make_reduce_shape(4, d4, r4);
  REQUIRE(s.kept_rank == 2);
  REQUIRE(s.reduced_rank == 2);
  CHECK((s.kept_dims[0] == 2 && s.kept_strides[0] == 60));
  CHECK((s.kept_dims[1] == 4 && s.kept_strides[1] == 5));
  CHECK((s.reduced_dims[0] == 3 && s.reduced_strides[0] == 20));
  CHECK((s.reduced_dims[1] == 5 && s.reduced_strides[1] == 1));
  // The reduced 1 between two kept dimensions vanishes and they merge.
  const int32_t d[] = {1, 6, 1, 2};
  const bool r[] = {true, false, true, false};
  s = k::make_reduce_shape(4, d, r);
  CHECK((s.kept_rank == 1 && s.kept_dims[0] == 12 && s.kept_strides[0] == 1));
  CHECK(s.reduced_rank == 0);
}

TEST_CASE("nn: reduce sum, mean, max of a known tensor") {
  // x[i][j][k] = 12 i + 4 j + k, shape [2, 3, 4], reduce axes 0 and 2:
  // sum_j = 2*4*4j + 4*12 + 2*6 = 32 j + 60.
  std::vector<float> x(24);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  const int32_t dims[] = {2, 3, 4};
  const bool red[] = {true, false, true};
  const k::ReduceShape s = k::make_reduce_shape(3, dims, red);
  std::vector<float> y(3);
  k::reduce_sum_f32_ref(s, x.data(), y.data());
  CHECK(y == std::vector<float>{60.f, 92.f, 124.f});
  k::reduce_mean_f32_ref(s, x.data(), y.data());
  CHECK(y == std::vector<float>{7.5f, 11.5f, 15.5f});
  k::reduce_max_f32_ref(s, x.data(), y.data());
  CHECK(y == std::vector<float>{15.f, 19.f, 23.f});
  // Everything reduced, and nothing reduced.
  const bool all[] = {true, true, true}, none[] = {false, false, false};
  k::reduce_sum_f32_ref(k::make_reduce_shape(3, dims, all), x.data(), y.data());
  CHECK(y[0] == 276.f);
  std::vector<float> copy(24);
  k::reduce_max_f32_ref(k::make_reduce_shape(3, dims, none), x.data(), copy.data());
  CHECK(copy == x);
}

TEST_CASE("nn: reduce max propagates NaN") {
  const int32_t dims[] = {2, 3};
  const bool red[] = {false, true};
  const k::ReduceShape s = k::make_reduce_shape(2, dims, red);
  const std::vector<float> x = {NAN, 1.f, 2.f, 1.f, 2.f, NAN};
  std::vector<float> y(2);
  k::reduce_max_f32_ref(s, x.data(), y.data());
  CHECK(std::isnan(y[0]));
  CHECK(std::isnan(y[1]));
}

TEST_CASE("nn: reduce matches a direct index computation (random axes)") {
  const unsigned seed = 12345;
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 200; ++trial) {
    const int rank = 1 + static_cast<int>(rng() % 5);
    int32_t dims[5];
    bool red[5];
    int64_t total = 1;
    for (int d = 0; d < rank; ++d) {
      dims[d] = 1 + static_cast<int32_t>(rng() % 4);
      red[d] = rng() % 2;
      total *= dims[d];
    }
    std::vector<float> x(static_cast<size_t>(total));
    for (float& v : x) v = static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 8.f;
    // Direct: out index = C-order index over kept dims.
    int64_t out_count = 1;
    for (int d = 0; d < rank; ++d)
      if (!red[d]) out_count *= dims[d];
    std::vector<double> sum(static_cast<size_t>(out_count), 0.0);
    std::vector<float> max(static_cast<size_t>(out_count), -INFINITY);
    for (int64_t i = 0; i < total; ++i) {
      int64_t rest = i, o = 0, o_stride = 1;
      for (int d = rank - 1; d >= 0; --d) {
        const int64_t idx = rest % dims[d];
        rest /= dims[d];
        if (!red[d]) {
          o += idx * o_stride;
          o_stride *= dims[d];
        }
      }
      sum[o] += x[i];
      if (x[i] > max[o]) max[o] = x[i];
    }
    const k::ReduceShape s = k::make_reduce_shape(rank, dims, red);
    std::vector<float> ys(sum.size()), ym(sum.size());
    k::reduce_sum_f32_ref(s, x.data(), ys.data());
    k::reduce_max_f32_ref(s, x.data(), ym.data());
    for (size_t o = 0; o < sum.size(); ++o) {
      INFO("seed " << seed << " trial " << trial << " output " << o);
      CHECK(ys[o] == static_cast<float>(sum[o]));  // sums of 1/8 steps are exact
      CHECK(ym[o] == max[o]);
    }
  }
}

TEST_CASE("nn: matmul shapes follow numpy.matmul") {
  k::MatMulShape s;
  int rank = -1;
  int32_t out[8];
  auto shape = [&](std::vector<int32_t> a, std::vector<int32_t> b) {
    rank = -1;
    return k::make_matmul_shape(static_cast<int>(a.size()), a.data(), static_cast<int>(b.size()),
                                b.data(), &s, &rank, out);
  };
  REQUIRE(shape({3}, {3, 4}));
  CHECK((rank == 1 && out[0] == 4 && s.m == 1 && s.k == 3 && s.n == 4));
  REQUIRE(shape({2, 1, 3, 4}, {5, 4, 2}));
  CHECK((rank == 4 && out[0] == 2 && out[1] == 5 && out[2] == 3 && out[3] == 2));
  CHECK((s.batch_rank == 2 && s.a_strides[0] == 12 && s.a_strides[1] == 0));
  CHECK((s.b_strides[0] == 0 && s.b_strides[1] == 8));
  REQUIRE(shape({4, 3}, {3}));
  CHECK((rank == 1 && out[0] == 4 && s.n == 1));
  REQUIRE(shape({3}, {3}));
  CHECK(rank == 0);
  CHECK(!shape({2, 3}, {4, 2}));        // inner dimensions differ
  CHECK(!shape({2, 3, 4}, {3, 4, 5}));  // batch 2 vs 3
  CHECK(!shape({}, {3}));               // numpy refuses scalars
}

TEST_CASE("nn: matmul values with broadcast batches") {
  // a [2, 1, 2, 2] x b [3, 2, 2] -> [2, 3, 2, 2]: out[i][j] = a[i] * b[j].
  std::vector<float> a(8), b(12);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i) - 3.f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.5f * static_cast<float>(i) - 2.f;
  const int32_t ad[] = {2, 1, 2, 2}, bd[] = {3, 2, 2};
  k::MatMulShape s;
  int rank = 0;
  int32_t od[8];
  REQUIRE(k::make_matmul_shape(4, ad, 3, bd, &s, &rank, od));
  std::vector<float> y(24);
  k::matmul_f32_ref(s, a.data(), b.data(), y.data());
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 2; ++c) {
          const float want = a[i * 4 + r * 2] * b[j * 4 + c] + a[i * 4 + r * 2 + 1] * b[j * 4 + 2 + c];
          CAPTURE(i);
          CAPTURE(j);
          CHECK(y[((i * 3 + j) * 2 + r) * 2 + c] == want);  // exact: halves and small ints
        }
  // [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = [[19, 22], [43, 50]].
  const std::vector<float> p = {1, 2, 3, 4}, q = {5, 6, 7, 8};
  const int32_t d2[] = {2, 2};
  REQUIRE(k::make_matmul_shape(2, d2, 2, d2, &s, &rank, od));
  k::matmul_f32_ref(s, p.data(), q.data(), y.data());
  CHECK(std::vector<float>(y.begin(), y.begin() + 4) == std::vector<float>{19, 22, 43, 50});
}
