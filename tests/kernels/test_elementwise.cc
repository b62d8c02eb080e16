// Reference elementwise kernels: broadcast loops, quantized MUL, broadcast
// ADD, the quantized unary tables and the float32 ops. The cases marked
// "profiles differ" are hand-derived and fail if one profile's formula is
// used for the other (PyTorch 1.13's fbgemm engine could not be run here;
// its generic kernel was reproduced through the onednn engine, which runs
// the same code for these ops).
#include <doctest/doctest.h>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/ref/add.h"
#include "kernels/ref/binary.h"
#include "kernels/ref/quant_math.h"
#include "kernels/ref/unary.h"

namespace k = qrt::kernels;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

struct Broadcast {
  bool ok = false;
  std::vector<int32_t> out;
  k::BroadcastShape s;
};

Broadcast broadcast(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  Broadcast r;
  int32_t dims[k::kMaxBroadcastRank] = {};
  int rank = -1;
  r.ok = k::make_broadcast(a.data(), static_cast<int>(a.size()), b.data(),
                           static_cast<int>(b.size()), dims, &rank, &r.s);
  if (r.ok) r.out.assign(dims, dims + rank);
  return r;
}

std::vector<int64_t> strides_of(const int64_t* v, int n) { return std::vector<int64_t>(v, v + n); }

// Element offset of output index `flat` into an operand of shape `in`
// right-aligned against `out` (numpy broadcasting, computed independently).
size_t operand_offset(size_t flat, const std::vector<int32_t>& out, const std::vector<int32_t>& in) {
  size_t offset = 0, in_stride = 1;
  for (int d = static_cast<int>(out.size()) - 1; d >= 0; --d) {
    const size_t coord = flat % static_cast<size_t>(out[d]);
    flat /= static_cast<size_t>(out[d]);
    const int di = d - static_cast<int>(out.size() - in.size());
    if (di < 0) continue;
    if (in[di] != 1) offset += coord * in_stride;
    in_stride *= static_cast<size_t>(in[di]);
  }
  return offset;
}

size_t count(const std::vector<int32_t>& s) {
  size_t n = 1;
  for (int32_t d : s) n *= static_cast<size_t>(d);
  return n;
}

k::BroadcastShape flat(int64_t n) {
  k::BroadcastShape s;
  s.dims[0] = n;
  return s;
}

std::vector<uint8_t> lut_of(k::QuantUnarySpec spec) {
  REQUIRE(k::unary_u8_unsupported(spec) == nullptr);
  std::vector<uint8_t> lut(256);
  k::make_unary_u8_lut(spec, lut.data());
  return lut;
}

k::QuantUnarySpec unary_spec(k::Profile profile, k::UnaryOp op, float in_scale, int32_t in_zp,
                             float out_scale, int32_t out_zp, float alpha = 0.f,
                             float beta = 0.f) {
  k::QuantUnarySpec s;
  s.profile = profile;
  s.op = op;
  s.alpha = alpha;
  s.beta = beta;
  s.in_scale = in_scale;
  s.in_zp = in_zp;
  s.out_scale = out_scale;
  s.out_zp = out_zp;
  return s;
}

}  // namespace

TEST_CASE("elementwise: make_broadcast merges dimensions and zeroes broadcast strides") {
  Broadcast r = broadcast({2, 3, 4, 5}, {2, 3, 4, 5});
  REQUIRE(r.ok);
  CHECK(r.out == std::vector<int32_t>{2, 3, 4, 5});
  CHECK(k::broadcast_is_flat(r.s));
  CHECK(r.s.dims[0] == 120);

  // NCHW-style per-channel operand: N | C | H*W merged.
  r = broadcast({2, 3, 4, 5}, {1, 3, 1, 1});
  REQUIRE(r.ok);
  REQUIRE(r.s.rank == 3);
  CHECK(strides_of(r.s.dims, 3) == std::vector<int64_t>{2, 3, 20});
  CHECK(strides_of(r.s.a_strides, 3) == std::vector<int64_t>{60, 20, 1});
  CHECK(strides_of(r.s.b_strides, 3) == std::vector<int64_t>{0, 1, 0});

  // Both operands broadcast somewhere; size-1 output dims vanish.
  r = broadcast({2, 1, 1, 4, 1}, {1, 1, 3, 1, 5});
  REQUIRE(r.ok);
  CHECK(r.out == std::vector<int32_t>{2, 1, 3, 4, 5});
  REQUIRE(r.s.rank == 4);
  CHECK(strides_of(r.s.dims, 4) == std::vector<int64_t>{2, 3, 4, 5});
  CHECK(strides_of(r.s.a_strides, 4) == std::vector<int64_t>{4, 0, 1, 0});
  CHECK(strides_of(r.s.b_strides, 4) == std::vector<int64_t>{0, 5, 0, 1});

  // Scalars and lower ranks.
  r = broadcast({}, {3, 7});
  REQUIRE(r.ok);
  CHECK(r.out == std::vector<int32_t>{3, 7});
  REQUIRE(r.s.rank == 1);
  CHECK(r.s.dims[0] == 21);
  CHECK(r.s.a_strides[0] == 0);
  CHECK(r.s.b_strides[0] == 1);
  r = broadcast({}, {});
  REQUIRE(r.ok);
  CHECK(r.out.empty());
  CHECK(k::broadcast_is_flat(r.s));
  CHECK(r.s.dims[0] == 1);
  r = broadcast({1, 1}, {1});
  REQUIRE(r.ok);
  CHECK(r.out == std::vector<int32_t>{1, 1});
  CHECK(r.s.dims[0] == 1);

  CHECK_FALSE(broadcast({2, 3}, {4}).ok);
  CHECK_FALSE(broadcast({2, 3}, {2, 1, 2}).ok);
  CHECK_FALSE(broadcast({0, 3}, {3}).ok);
  CHECK_FALSE(broadcast({-1}, {1}).ok);
}

TEST_CASE("elementwise: broadcast loops visit every output element with numpy's indices") {
  const uint32_t seed = 90210;
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int iter = 0; iter < 300; ++iter) {
    CAPTURE(seed);
    CAPTURE(iter);
    const int rank = uni(0, 6);
    std::vector<int32_t> out(rank), a, b;
    for (int32_t& d : out) d = uni(1, 4);
    // Each operand: a suffix of the output shape with some dims set to 1.
    const int ar = uni(0, rank), br = uni(0, rank);
    for (int d = rank - ar; d < rank; ++d) a.push_back(uni(0, 2) == 0 ? 1 : out[d]);
    for (int d = rank - br; d < rank; ++d) b.push_back(uni(0, 2) == 0 ? 1 : out[d]);
    const Broadcast r = broadcast(a, b);
    REQUIRE(r.ok);
    const int out_rank = std::max(ar, br);
    std::vector<int32_t> expect_out(out_rank, 1);
    for (int d = 0; d < out_rank; ++d) {
      const int ai = d - (out_rank - ar), bi = d - (out_rank - br);
      expect_out[d] = std::max(ai >= 0 ? a[ai] : 1, bi >= 0 ? b[bi] : 1);
    }
    REQUIRE(r.out == expect_out);
    const size_t n = count(expect_out);
    std::vector<float> av(count(a)), bv(count(b)), got(n, -1.f);
    for (size_t i = 0; i < av.size(); ++i) av[i] = static_cast<float>(i) * 1000.f;
    for (size_t i = 0; i < bv.size(); ++i) bv[i] = static_cast<float>(i);
    k::binary_f32_ref(k::BinaryOp::add, r.s, av.data(), bv.data(), -kInf, kInf, got.data());
    int wrong = 0;
    for (size_t i = 0; i < n; ++i) {
      const float want = av[operand_offset(i, expect_out, a)] + bv[operand_offset(i, expect_out, b)];
      wrong += got[i] != want;
    }
    CHECK(wrong == 0);
  }
}

TEST_CASE("elementwise: float32 binary ops, NaN and the fused clamp") {
  const std::vector<float> a = {1.f, NAN, -2.f, 8.f, -8.f, 0.5f};
  const std::vector<float> b = {NAN, 3.f, -1.f, 2.f, 3.f, -2.f};
  std::vector<float> out(6);
  const k::BroadcastShape s = flat(6);
  k::binary_f32_ref(k::BinaryOp::maximum, s, a.data(), b.data(), -kInf, kInf, out.data());
  CHECK(std::isnan(out[0]));
  CHECK(std::isnan(out[1]));
  CHECK(out[2] == -1.f);
  CHECK(out[3] == 8.f);
  k::binary_f32_ref(k::BinaryOp::minimum, s, a.data(), b.data(), -kInf, kInf, out.data());
  CHECK(std::isnan(out[0]));
  CHECK(out[2] == -2.f);
  k::binary_f32_ref(k::BinaryOp::pow, s, a.data(), b.data(), -kInf, kInf, out.data());
  CHECK(out[3] == 64.f);
  CHECK(out[4] == -512.f);
  CHECK(out[5] == 4.f);
  k::binary_f32_ref(k::BinaryOp::div, s, a.data(), b.data(), 0.f, 6.f, out.data());
  CHECK(std::isnan(out[0]));  // NaN passes the clamp
  CHECK(out[2] == 2.f);
  CHECK(out[3] == 4.f);
  CHECK(out[4] == 0.f);
  k::binary_f32_ref(k::BinaryOp::sub, s, a.data(), b.data(), -1.f, 1.f, out.data());
  CHECK(out[2] == -1.f);
  CHECK(out[3] == 1.f);
}

TEST_CASE("elementwise: quantized mul rounds half to even and saturates") {
  // s_a = 1, s_b = 0.5, s_out = 1: multiplier 0.5; (a - 128) * (b - 128)
  // = 1, 3, 5, -1, -3 -> 0.5, 1.5, 2.5, -0.5, -1.5 -> 0, 2, 2, -0, -2 (+100).
  const k::MulParams p = k::make_mul_params(1.f, 128, 0.5f, 128, 1.f, 100, -kInf, kInf);
  CHECK(p.multiplier == 0.5f);
  const std::vector<uint8_t> a = {129, 131, 133, 127, 125, 255, 0};
  const std::vector<uint8_t> b = {129, 129, 129, 129, 129, 255, 255};
  std::vector<uint8_t> out(a.size());
  k::mul_u8_ref(p, flat(7), a.data(), b.data(), out.data());
  CHECK(out == std::vector<uint8_t>{100, 102, 102, 100, 98, 255, 0});
  // Fused ReLU: out_min = quantize(0) = out_zp.
  const k::MulParams relu = k::make_mul_params(1.f, 128, 0.5f, 128, 1.f, 100, 0.f, kInf);
  CHECK(relu.out_min == 100);
  k::mul_u8_ref(relu, flat(7), a.data(), b.data(), out.data());
  CHECK(out == std::vector<uint8_t>{100, 102, 102, 100, 100, 255, 100});
  // The multiplier is f32(f32(s_a * s_b) * f32(1 / s_out)), not one product.
  const k::MulParams q = k::make_mul_params(0.1f, 0, 0.3f, 0, 0.7f, 0, -kInf, kInf);
  CHECK(q.multiplier == (0.1f * 0.3f) * (1.0f / 0.7f));
  CHECK_FALSE(k::mul_scales_supported(1e-30f, 1e-30f, 1.f));
  CHECK_FALSE(k::mul_scales_supported(0.f, 1.f, 1.f));
  CHECK(k::mul_scales_supported(0.1f, 0.3f, 0.7f));
}

TEST_CASE("elementwise: quantized mul matches exact arithmetic on a seeded sweep") {
  const uint32_t seed = 777;
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto unif = [&](float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); };
  for (int iter = 0; iter < 200; ++iter) {
    CAPTURE(seed);
    CAPTURE(iter);
    const float sa = unif(0.01f, 0.2f), sb = unif(0.01f, 0.2f), so = unif(0.01f, 0.5f);
    const int32_t za = uni(0, 255), zb = uni(0, 255), zo = uni(0, 255);
    const k::MulParams p = k::make_mul_params(sa, za, sb, zb, so, zo, -kInf, kInf);
    const Broadcast r = broadcast({4, 16}, {16});
    std::vector<uint8_t> a(64), b(16), out(64);
    for (auto& v : a) v = static_cast<uint8_t>(uni(0, 255));
    for (auto& v : b) v = static_cast<uint8_t>(uni(0, 255));
    k::mul_u8_ref(p, r.s, a.data(), b.data(), out.data());
    int wrong = 0;
    for (size_t i = 0; i < 64; ++i) {
      // float(prod) * multiplier rounds once; double then float is the
      // same rounding since the exact product needs < 48 bits.
      const int32_t prod = (a[i] - za) * (b[i % 16] - zb);
      const float v = static_cast<float>(static_cast<double>(prod) * p.multiplier);
      const double y = std::nearbyint(static_cast<double>(v)) + zo;
      wrong += out[i] != static_cast<uint8_t>(std::fmin(255.0, std::fmax(0.0, y)));
    }
    CHECK(wrong == 0);
  }
}

TEST_CASE("elementwise: profiles differ on broadcast add (fused vs plain dequantize)") {
  // s_a = 0.001, a_zp = 3, a = 4 (x = 0.001); b at its zero point;
  // s_out = 0.002, out_zp = 0, so x / s_out is 0.5 up to the dequantize:
  //   fbgemm (PyTorch's AVX2 path): fma(0.001, 4, f32(-0.003)) = 0.0010000002 -> 1
  //   qnnpack, broadcast (PyTorch's generic kernel as on ARM): f32(0.001 * 1) -> 0.5 -> 0
  //   qnnpack, equal shapes (QNNPACK's fixed point): 0.5 rounded away from zero -> 1
  const k::AddParams fb =
      k::make_add_params(k::Profile::fbgemm, 0.001f, 3, 0.25f, 7, 0.002f, 0, -kInf, kInf);
  const k::AddParams qn =
      k::make_add_params(k::Profile::qnnpack, 0.001f, 3, 0.25f, 7, 0.002f, 0, -kInf, kInf);
  REQUIRE(k::add_scales_supported(k::Profile::qnnpack, 0.001f, 0.25f, 0.002f));
  const std::vector<uint8_t> a = {4, 4};
  const uint8_t b = 7;
  const Broadcast r = broadcast({2}, {1});
  std::vector<uint8_t> out(2);
  k::add_u8_broadcast_ref(fb, r.s, a.data(), &b, out.data());
  CHECK(out == std::vector<uint8_t>{1, 1});
  k::add_u8_broadcast_ref(qn, r.s, a.data(), &b, out.data());
  CHECK(out == std::vector<uint8_t>{0, 0});
  const std::vector<uint8_t> b2 = {7, 7};
  k::add_u8_ref(qn, 2, a.data(), b2.data(), out.data());
  CHECK(out == std::vector<uint8_t>{1, 1});
  // fbgemm with equal shapes is the same float kernel.
  k::add_u8_ref(fb, 2, a.data(), b2.data(), out.data());
  CHECK(out == std::vector<uint8_t>{1, 1});
}

TEST_CASE("elementwise: broadcast add rounds half to even in both profiles") {
  // s_a = 1, s_out = 2, b (broadcast) at its zero point: 0.5, 1.5, 2.5, 3.5
  // and -0.5, -1.5 -> 0, 2, 2, 4, -0, -2 (+10). QNNPACK's fixed point would
  // give 1, 2, 3, 4, -1, -2.
  const std::vector<uint8_t> a = {11, 13, 15, 17, 9, 7};
  const uint8_t b = 50;
  const Broadcast r = broadcast({6}, {});
  for (const k::Profile profile : {k::Profile::fbgemm, k::Profile::qnnpack}) {
    CAPTURE(static_cast<int>(profile));
    const k::AddParams p = k::make_add_params(profile, 1.f, 10, 3.f, 50, 2.f, 10, -kInf, kInf);
    std::vector<uint8_t> out(6);
    k::add_u8_broadcast_ref(p, r.s, a.data(), &b, out.data());
    CHECK(out == std::vector<uint8_t>{10, 12, 12, 14, 10, 8});
    const k::AddParams relu = k::make_add_params(profile, 1.f, 10, 3.f, 50, 2.f, 10, 0.f, kInf);
    k::add_u8_broadcast_ref(relu, r.s, a.data(), &b, out.data());
    CHECK(out == std::vector<uint8_t>{10, 12, 12, 14, 10, 10});
  }
}

TEST_CASE("elementwise: profiles differ on hard_swish (table adds the zero point before rounding)") {
  // s_in = 0.5, q = 3: x = 1.5, hardswish = 1.5 * 4.5 / 6 = 1.125, over
  // s_out = 0.25 exactly 4.5. out_zp = 1:
  //   qnnpack (QNNPACK's table): lrintf(4.5 + 1) = 6
  //   fbgemm (generic kernel):   rne(4.5) + 1 = 5
  const auto q = lut_of(unary_spec(k::Profile::qnnpack, k::UnaryOp::hard_swish, 0.5f, 0, 0.25f, 1));
  const auto f = lut_of(unary_spec(k::Profile::fbgemm, k::UnaryOp::hard_swish, 0.5f, 0, 0.25f, 1));
  CHECK(q[3] == 6);
  CHECK(f[3] == 5);
  // With an even zero point the two agree: 4.5 + 2 -> 6, rne(4.5) + 2 = 6.
  CHECK(lut_of(unary_spec(k::Profile::qnnpack, k::UnaryOp::hard_swish, 0.5f, 0, 0.25f, 2))[3] == 6);
  CHECK(lut_of(unary_spec(k::Profile::fbgemm, k::UnaryOp::hard_swish, 0.5f, 0, 0.25f, 2))[3] == 6);
  // x = 0 gives out_zp, x >= 3 is x itself, and x = 127.5 saturates.
  CHECK(q[0] == 1);
  CHECK(q[6] == 13);   // x = 3 -> 3 / 0.25 = 12 (+1)
  CHECK(q[255] == 255);
  CHECK(f[6] == 13);
}

TEST_CASE("elementwise: profiles differ on leaky_relu (fused vs plain dequantize)") {
  // s_in = 0.001, zp_in = 3, q = 4, s_out = 0.002, zp_out = 0: x / s_out
  // is 0.5 with the plain dequantize (qnnpack: 0) and 0.50000012 with the
  // fused one (fbgemm: 1). q = 2 gives x = -0.001, times 0.5 -> -0.25 -> 0.
  const auto q =
      lut_of(unary_spec(k::Profile::qnnpack, k::UnaryOp::leaky_relu, 0.001f, 3, 0.002f, 0, 0.5f));
  const auto f =
      lut_of(unary_spec(k::Profile::fbgemm, k::UnaryOp::leaky_relu, 0.001f, 3, 0.002f, 0, 0.5f));
  CHECK(q[4] == 0);
  CHECK(f[4] == 1);
  CHECK(q[2] == 0);
  CHECK(f[2] == 0);
  // Negative inputs scaled by the slope: s = 1, zp = 128, slope 0.25,
  // s_out = 1, zp_out = 100: q = 120 -> -8 * 0.25 = -2 -> 98; q = 0 -> -32 -> 68.
  const auto g =
      lut_of(unary_spec(k::Profile::qnnpack, k::UnaryOp::leaky_relu, 1.f, 128, 1.f, 100, 0.25f));
  CHECK(g[120] == 98);
  CHECK(g[0] == 68);
  CHECK(g[130] == 102);
  CHECK(g[255] == 227);
}

TEST_CASE("elementwise: sigmoid, tanh and hard_sigmoid tables") {
  for (const k::Profile profile : {k::Profile::qnnpack, k::Profile::fbgemm}) {
    CAPTURE(static_cast<int>(profile));
    // x = 0 at q = zp: sigmoid 0.5 -> 128, tanh 0 -> 128, hard_sigmoid 0.5 -> 128.
    const auto s = lut_of(unary_spec(profile, k::UnaryOp::sigmoid, 0.1f, 100, 1.f / 256, 0));
    CHECK(s[100] == 128);
    CHECK(s[0] == 0);      // sigmoid(-10) * 256 = 0.0116
    CHECK(s[255] == 255);  // 256 * sigmoid(15.5) rounds to 256, clamped
    for (int i = 1; i < 256; ++i) CHECK(s[i] >= s[i - 1]);
    const auto t = lut_of(unary_spec(profile, k::UnaryOp::tanh, 0.1f, 100, 1.f / 128, 128));
    CHECK(t[100] == 128);
    CHECK(t[0] == 0);      // 128 * tanh(-10) + 128 = 0.0000003
    CHECK(t[255] == 255);  // 256 clamped
    const auto h = lut_of(unary_spec(profile, k::UnaryOp::hard_sigmoid, 0.5f, 100, 1.f / 256, 0,
                                     k::kHardSigmoidAlpha, k::kHardSigmoidBeta));
    CHECK(h[100] == 128);
    CHECK(h[94] == 0);     // x = -3
    CHECK(h[106] == 255);  // x = 3 -> 256, clamped
    CHECK(h[101] == 149);  // (0.5 + 3) / 6 * 256 = 149.33
  }
  // fbgemm's generic sigmoid takes any output parameters: s_out = 0.01,
  // zp 10, x = 0 -> 0.5 / 0.01 + 10 = 60.
  const auto g = lut_of(unary_spec(k::Profile::fbgemm, k::UnaryOp::sigmoid, 0.1f, 100, 0.01f, 10));
  CHECK(g[100] == 60);
}

TEST_CASE("elementwise: which quantized unary ops PyTorch computes") {
  using k::Profile;
  using k::UnaryOp;
  auto why = [](Profile p, UnaryOp op, float so, int32_t zo, float alpha = 0.f, float beta = 0.f) {
    return k::unary_u8_unsupported(unary_spec(p, op, 0.05f, 128, so, zo, alpha, beta));
  };
  CHECK(why(Profile::qnnpack, UnaryOp::sigmoid, 0.01f, 10) != nullptr);
  CHECK(why(Profile::qnnpack, UnaryOp::sigmoid, 1.f / 255, 0) != nullptr);
  CHECK(why(Profile::fbgemm, UnaryOp::sigmoid, 0.01f, 10) == nullptr);
  CHECK(why(Profile::qnnpack, UnaryOp::tanh, 1.f / 128, 127) != nullptr);
  CHECK(why(Profile::fbgemm, UnaryOp::tanh, 1.f / 256, 128) != nullptr);
  CHECK(why(Profile::fbgemm, UnaryOp::tanh, 1.f / 128, 128) == nullptr);
  CHECK(why(Profile::qnnpack, UnaryOp::hard_sigmoid, 1.f / 256, 0, 0.2f, 0.5f) != nullptr);
  CHECK(why(Profile::qnnpack, UnaryOp::hard_sigmoid, 1.f / 256, 0, k::kHardSigmoidAlpha,
            k::kHardSigmoidBeta) == nullptr);
  CHECK(why(Profile::qnnpack, UnaryOp::hard_swish, 0.3f, 7) == nullptr);
  CHECK(why(Profile::qnnpack, UnaryOp::leaky_relu, 0.3f, 7, 0.1f) == nullptr);
  CHECK(why(Profile::qnnpack, UnaryOp::leaky_relu, 0.3f, 7, NAN) != nullptr);
  CHECK(why(Profile::qnnpack, UnaryOp::hard_swish, 0.f, 7) != nullptr);
  for (const UnaryOp op : {UnaryOp::exp, UnaryOp::log, UnaryOp::sqrt, UnaryOp::neg,
                           UnaryOp::silu, UnaryOp::gelu, UnaryOp::gelu_tanh, UnaryOp::erf}) {
    CHECK(why(Profile::qnnpack, op, 0.05f, 128) != nullptr);
    CHECK(why(Profile::fbgemm, op, 0.05f, 128) != nullptr);
  }
  std::vector<uint8_t> lut(256);
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(255 - i);
  const std::vector<uint8_t> in = {0, 1, 200, 255};
  std::vector<uint8_t> out(4);
  k::lut_u8_ref(lut.data(), 4, in.data(), out.data());
  CHECK(out == std::vector<uint8_t>{255, 254, 55, 0});
}

TEST_CASE("elementwise: float32 unary ops at hand-checked points") {
  auto run = [](k::UnaryOp op, std::vector<float> x, float alpha = 0.f, float beta = 0.f) {
    k::UnaryParams p;
    p.op = op;
    p.alpha = alpha;
    p.beta = beta;
    std::vector<float> out(x.size());
    k::unary_f32_ref(p, x.size(), x.data(), out.data());
    return out;
  };
  using k::UnaryOp;
  CHECK(run(UnaryOp::hard_swish, {-4.f, -3.f, 0.f, 1.f, 3.f, 5.f}) ==
        std::vector<float>{-0.f, -0.f, 0.f, 4.f / 6.f, 3.f, 5.f});
  CHECK(run(UnaryOp::hard_sigmoid, {-3.f, 0.f, 1.5f, 3.f}, k::kHardSigmoidAlpha,
            k::kHardSigmoidBeta) == std::vector<float>{0.f, 0.5f, 0.75f, 1.f});
  // ONNX's default alpha 0.2: 0.2 * x + 0.5, clamped.
  const std::vector<float> onnx = run(UnaryOp::hard_sigmoid, {-3.f, 1.f, 2.5f}, 0.2f, 0.5f);
  CHECK(onnx[0] == 0.f);
  CHECK(onnx[1] == doctest::Approx(0.7f));
  CHECK(onnx[2] == 1.f);
  CHECK(run(UnaryOp::leaky_relu, {-2.f, 0.f, 3.f}, 0.1f) == std::vector<float>{-0.2f, 0.f, 3.f});
  CHECK(run(UnaryOp::neg, {1.f, -0.f}) == std::vector<float>{-1.f, 0.f});
  CHECK(run(UnaryOp::sigmoid, {0.f, -200.f, 200.f}) == std::vector<float>{0.5f, 0.f, 1.f});
  CHECK(run(UnaryOp::silu, {0.f, -200.f})[1] == 0.f);
  const std::vector<float> g = run(UnaryOp::gelu, {0.f, 1.f, -1.f, 10.f});
  const std::vector<float> gt = run(UnaryOp::gelu_tanh, {0.f, 1.f, -1.f, 10.f});
  CHECK(g[0] == 0.f);
  CHECK(g[1] == doctest::Approx(0.8413447f).epsilon(1e-6));
  CHECK(g[2] == doctest::Approx(-0.1586553f).epsilon(1e-6));
  CHECK(g[3] == 10.f);
  CHECK(gt[1] == doctest::Approx(0.8411920f).epsilon(1e-6));
  CHECK(gt[1] != g[1]);
  const std::vector<float> e = run(UnaryOp::erf, {0.f, 1.f});
  CHECK(e[1] == doctest::Approx(0.8427008f).epsilon(1e-6));
  const std::vector<float> lg = run(UnaryOp::log, {0.f, -1.f, 1.f});
  CHECK(lg[0] == -kInf);
  CHECK(std::isnan(lg[1]));
  CHECK(lg[2] == 0.f);
  CHECK(std::isnan(run(UnaryOp::sqrt, {-1.f})[0]));
  CHECK(run(UnaryOp::exp, {100.f})[0] == kInf);
}
