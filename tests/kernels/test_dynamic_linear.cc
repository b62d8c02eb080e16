// Dynamically quantized linear (PyTorch's quantize_dynamic Linear): the
// reference kernel and ChooseQuantizationParams against PyTorch 1.13's
// qnnpack engine bit for bit (tests/parity/fixtures_dynamic.py), the fbgemm
// formulas on hand-derived cases (the local PyTorch has no FBGEMM), and the
// FULLY_CONNECTED op's F32-input/S8-weights path through the runtime.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/choose_qparams.h"
#include "kernels/ref/fully_connected.h"
#include "kernels/ref/quant_math.h"
#include "support/fixtures.h"
#include "support/op_runner.h"
#include "support/tier_runs.h"

namespace k = qrt::kernels;

namespace {

using qrt::fb::DType;
using qrt::fb::Profile;
using qrt::test::Fixture;
using qrt::test::OpSpec;

constexpr float kInf = std::numeric_limits<float>::infinity();

template <class T>
std::vector<T> values(const qrt::tools::NpyArray& a, const char* dtype) {
  REQUIRE(a.dtype == dtype);
  return qrt::test::values_of<T>(a.data);
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

uint64_t bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}

// One linear fixture, ready for the kernel.
struct Case {
  std::string name;
  std::vector<int32_t> x_shape;
  std::vector<float> x, w_scales, bias, out;
  std::vector<int8_t> w;
  bool per_channel = false, relu = false;
  int batch = 0, k = 0, n = 0;
  double a_scale = 0;
  int64_t a_zp = 0;

  k::DynamicLinearParams params(k::Profile profile) const {
    k::DynamicLinearParams p;
    p.profile = profile;
    p.shape.batch = batch;
    p.shape.in_features = k;
    p.shape.out_features = n;
    p.w = w.data();
    p.w_scales = w_scales.data();
    p.per_channel = per_channel;
    p.bias = bias.empty() ? nullptr : bias.data();
    if (relu) p.act_min = 0.f;
    return p;
  }

  std::vector<float> run(k::Profile profile) const {
    std::vector<uint8_t> scratch(x.size());
    std::vector<float> y(static_cast<size_t>(batch) * n);
    k::fully_connected_dynamic_ref(params(profile), x.data(), scratch.data(), y.data());
    return y;
  }
};

std::vector<Case> linear_cases() {
  std::vector<Case> cases;
  for (const Fixture& f : qrt::test::load_fixtures("dynamic")) {
    if (f.str("kind") != "linear") continue;
    Case c;
    c.name = f.name;
    const qrt::tools::NpyArray x = f.array("x"), w = f.array("w");
    c.x_shape.assign(x.shape.begin(), x.shape.end());
    c.x = values<float>(x, "f4");
    c.w = values<int8_t>(w, "i1");
    c.w_scales = values<float>(f.array("w_scales"), "f4");
    c.out = values<float>(f.array("out"), "f4");
    if (f.i64("has_bias")) c.bias = values<float>(f.array("bias"), "f4");
    c.per_channel = f.i64("per_channel") != 0;
    c.relu = f.i64("relu") != 0;
    c.n = static_cast<int>(w.shape[0]);
    c.k = static_cast<int>(w.shape[1]);
    c.batch = static_cast<int>(c.x.size() / static_cast<size_t>(c.k));
    c.a_scale = values<double>(f.array("a_scale"), "f8").at(0);
    c.a_zp = f.i64("a_zp");
    REQUIRE(c.w_scales.size() == (c.per_channel ? static_cast<size_t>(c.n) : 1u));
    REQUIRE(c.out.size() == static_cast<size_t>(c.batch) * c.n);
    cases.push_back(std::move(c));
  }
  REQUIRE(cases.size() >= 20);
  return cases;
}

size_t count_identical(const std::vector<float>& a, const std::vector<float>& b) {
  size_t same = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) same += bits(a[i]) == bits(b[i]);
  return same;
}

// The whole-tensor range the kernel quantizes with.
void min_max(const std::vector<float>& x, float* lo, float* hi) {
  *lo = *hi = x[0];
  for (float v : x) {
    *lo = std::min(*lo, v);
    *hi = std::max(*hi, v);
  }
}

}  // namespace

TEST_CASE("choose_quantization_params: PyTorch 1.13's scale and zero point, bit for bit") {
  const std::vector<Fixture> all = qrt::test::load_fixtures("dynamic");
  const Fixture* fx = nullptr;
  for (const Fixture& f : all)
    if (f.str("kind") == "qparams") fx = &f;
  REQUIRE(fx != nullptr);
  const Fixture& f = *fx;
  const std::vector<float> mins = values<float>(f.array("mins"), "f4");
  const std::vector<float> maxs = values<float>(f.array("maxs"), "f4");
  size_t checked = 0, identical = 0;
  // PyTorch's scale is a double here (torch._choose_qparams_per_tensor).
  for (const bool rr : {false, true}) {
    const std::string name = rr ? "rr" : "plain";
    const std::vector<double> scales = values<double>(f.array(name + "_scale"), "f8");
    const std::vector<int64_t> zps = values<int64_t>(f.array(name + "_zp"), "i8");
    REQUIRE(scales.size() == mins.size());
    for (size_t i = 0; i < mins.size(); ++i) {
      const k::ChosenQParams q = k::choose_quantization_params(mins[i], maxs[i], 0, 255, false, rr);
      const bool same = bits(q.scale) == bits(scales[i]) && q.zero_point == zps[i];
      ++checked;
      identical += same;
      if (!same)
        FAIL_CHECK(name << " [" << std::hexfloat << mins[i] << ", " << maxs[i] << "]: scale "
                        << q.scale << " zp " << q.zero_point << ", PyTorch " << scales[i]
                        << " zp " << zps[i] << std::defaultfloat);
    }
  }
  // The fused observer stores the scale as float: compare f32(scale).
  const std::vector<std::string> v = f.params_.at("variants");
  REQUIRE(v.size() % 4 == 0);
  for (size_t j = 0; j < v.size(); j += 4) {
    const int32_t qmin = std::stoi(v[j + 1]), qmax = std::stoi(v[j + 2]);
    const bool sym = v[j + 3] == "1";
    const std::vector<float> scales = values<float>(f.array(v[j] + "_scale"), "f4");
    const std::vector<int64_t> zps = values<int64_t>(f.array(v[j] + "_zp"), "i8");
    for (size_t i = 0; i < mins.size(); ++i) {
      const k::ChosenQParams q =
          k::choose_quantization_params(mins[i], maxs[i], qmin, qmax, sym, false);
      const bool same =
          bits(static_cast<float>(q.scale)) == bits(scales[i]) && q.zero_point == zps[i];
      ++checked;
      identical += same;
      if (!same)
        FAIL_CHECK(v[j] << " [" << std::hexfloat << mins[i] << ", " << maxs[i] << "]: scale "
                        << static_cast<float>(q.scale) << " zp " << q.zero_point << ", PyTorch "
                        << scales[i] << " zp " << zps[i] << std::defaultfloat);
    }
  }
  MESSAGE("ChooseQuantizationParams: " << identical << " of " << checked
                                       << " (range, variant) pairs identical to PyTorch");
  CHECK(identical == checked);
}

TEST_CASE("choose_quantization_params: the branches, worked by hand") {
  // Zero range: scale 0 becomes 0.1, and the zero point comes from min = 0.
  k::ChosenQParams q = k::choose_quantization_params(0.f, 0.f, 0, 255, false, false);
  CHECK(q.scale == 0.1);
  CHECK(q.zero_point == 0);
  // A constant widens to include 0: [0, 0.37] or [-2.5, 0].
  q = k::choose_quantization_params(-2.5f, -2.5f, 0, 255, false, false);
  CHECK(q.scale == 2.5 / 255);
  CHECK(q.zero_point == 255);
  // Below 6.1e-5 the scale is pinned (to the float constant) and, with only
  // max nonzero, the zero point still comes from min = 0.
  q = k::choose_quantization_params(0.f, 1e-3f, 0, 255, false, false);
  CHECK(q.scale == static_cast<double>(6.1e-5f));
  CHECK(q.zero_point == 0);
  // ... with both signs, min and max are amplified by 6.1e-5 / old scale:
  // [-1e-3, 2e-3] -> old scale 3e-3/255, zp = 1e-3 / (3e-3/255) = 85.
  q = k::choose_quantization_params(-1e-3f, 2e-3f, 0, 255, false, false);
  CHECK(q.scale == static_cast<double>(6.1e-5f));
  CHECK(q.zero_point == 85);
  // reduce_range halves 0..255 to 0..127: [-10.5, 53] -> 63.5 / 127 = 0.5, zp 21.
  q = k::choose_quantization_params(-10.5f, 53.f, 0, 255, false, true);
  CHECK(q.scale == 0.5);
  CHECK(q.zero_point == 21);
  // preserve_sparsity: a symmetric range, -128..127 steps of the wider side
  // (f32(3 / 127)); the zero point is the middle, (0 + 255) / 2 = 127.5 ->
  // 128 (ties to even), and (-128 + 127) / 2 = -0.5 -> 0. Scale from PyTorch
  // 1.13 (torch.fused_moving_avg_obs_fake_quant, symmetric_quant=True).
  q = k::choose_quantization_params(-1.f, 3.f, 0, 255, true, false);
  CHECK(static_cast<float>(q.scale) == 0.023622047156095505f);
  CHECK(q.zero_point == 128);
  q = k::choose_quantization_params(-1.f, 3.f, -128, 127, true, false);
  CHECK(q.zero_point == 0);
  // The nudge clamps: an all-positive range has its zero point at qmin.
  q = k::choose_quantization_params(2.f, 4.f, -128, 127, false, false);
  CHECK(q.zero_point == -128);
}

TEST_CASE("fully_connected_dynamic_ref (qnnpack) is bit-exact with PyTorch 1.13") {
  size_t cases = 0, elements = 0, identical = 0;
  for (const Case& c : linear_cases()) {
    CAPTURE(c.name);
    float lo, hi;
    min_max(c.x, &lo, &hi);
    const k::ChosenQParams q = k::choose_quantization_params(lo, hi, 0, 255, false, false);
    CHECK(bits(q.scale) == bits(c.a_scale));
    CHECK(q.zero_point == c.a_zp);
    const std::vector<float> y = c.run(k::Profile::qnnpack);
    const size_t same = count_identical(y, c.out);
    ++cases;
    elements += y.size();
    identical += same;
    for (size_t i = 0; i < y.size(); ++i)
      if (bits(y[i]) != bits(c.out[i])) {
        FAIL_CHECK("[" << i << "] = " << std::hexfloat << y[i] << ", PyTorch " << c.out[i]
                       << std::defaultfloat);
        break;
      }
  }
  MESSAGE("dynamic linear qnnpack parity: " << cases << " cases, " << identical << " of "
                                            << elements << " floats bit-identical to PyTorch");
  CHECK(identical == elements);
}

namespace {

// One input feature, one output, weight 1: output i is x[i] quantized and
// dequantized (plus the bias, then clamped). q receives the quantized bytes.
std::vector<float> run_k1(k::Profile profile, const std::vector<float>& x, float w_scale,
                          const float* bias = nullptr, float act_min = -kInf,
                          std::vector<uint8_t>* q = nullptr) {
  const int8_t w = 1;
  k::DynamicLinearParams p;
  p.profile = profile;
  p.shape.batch = static_cast<int>(x.size());
  p.shape.in_features = 1;
  p.shape.out_features = 1;
  p.w = &w;
  p.w_scales = &w_scale;
  p.bias = bias;
  p.act_min = act_min;
  std::vector<uint8_t> scratch(x.size());
  std::vector<float> y(x.size());
  k::fully_connected_dynamic_ref(p, x.data(), scratch.data(), y.data());
  if (q) *q = scratch;
  return y;
}

}  // namespace

TEST_CASE("fully_connected_dynamic_ref: fbgemm quantizes over 0..127, adding zp before rounding") {
  // x = [-10.5, 53, 0.25], w_scale 1.
  //   fbgemm: 0..127 -> scale 63.5 / 127 = 0.5, zp 21; q = rne(fma(x, 2, 21)):
  //     0, 127, rne(21.5) = 22 -> acc -21, 106, 1 -> -10.5, 53, 0.5
  //     (the static formula would give 21 + rne(0.5) = 21 -> 0).
  //   qnnpack: 0..255 -> scale 63.5 / 255, zp 42 -> PyTorch 1.13:
  //     -10.458823204040527, 53.041175842285156, 0.24901960790157318.
  const std::vector<float> x = {-10.5f, 53.f, 0.25f};
  std::vector<uint8_t> q;
  CHECK(run_k1(k::Profile::fbgemm, x, 1.f, nullptr, -kInf, &q) ==
        std::vector<float>{-10.5f, 53.f, 0.5f});
  CHECK(q == std::vector<uint8_t>{0, 127, 22});
  CHECK(run_k1(k::Profile::qnnpack, x, 1.f, nullptr, -kInf, &q) ==
        std::vector<float>{-0x1.4eaeaep+3f, 0x1.a85454p+5f, 0x1.fdfdfep-3f});
  CHECK(q == std::vector<uint8_t>{0, 255, 43});
}

TEST_CASE("fully_connected_dynamic_ref: ties with an odd zero point round apart by profile") {
  // qnnpack, x = [-10.5, 117, 0.25, 0.75]: scale 0.5, zp 21, q = 21 + rne(2x):
  //   0.25 -> 21 + rne(0.5) = 21, 0.75 -> 21 + rne(1.5) = 23: outputs
  //   -10.5, 117, 0, 1 (PyTorch 1.13).
  // fbgemm, x = [-10.5, 53, 0.25, 0.75]: the same scale and zero point, over
  //   0..127; q = rne(2x + 21): 22 and 22: outputs -10.5, 53, 0.5, 0.5.
  CHECK(run_k1(k::Profile::qnnpack, {-10.5f, 117.f, 0.25f, 0.75f}, 1.f) ==
        std::vector<float>{-10.5f, 117.f, 0.f, 1.f});
  CHECK(run_k1(k::Profile::fbgemm, {-10.5f, 53.f, 0.25f, 0.75f}, 1.f) ==
        std::vector<float>{-10.5f, 53.f, 0.5f, 0.5f});
}

TEST_CASE("fully_connected_dynamic_ref: output rounds the product, then adds the bias") {
  // Input scale 0.5, zp 0 (x max 127.5 for qnnpack, 63.5 for fbgemm), w_scale
  // f32(1/3): dq = f32(0.5 * 0.333333343) = 0.166666672. Row 1: acc 3 ->
  // 3 * dq = 0.500000015 rounds to 0.5, + bias -0.5 = 0 (PyTorch 1.13
  // qnnpack). A fused multiply-add would give 1.49e-8.
  const float bias = -0.5f;
  for (const k::Profile profile : {k::Profile::qnnpack, k::Profile::fbgemm}) {
    CAPTURE(static_cast<int>(profile));
    const float top = profile == k::Profile::qnnpack ? 127.5f : 63.5f;
    const std::vector<float> y = run_k1(profile, {top, 1.5f}, 1.f / 3.f, &bias);
    CHECK(bits(y[1]) == bits(0.f));
    if (profile == k::Profile::qnnpack) CHECK(y[0] == 42.f);  // PyTorch 1.13
    // The fused ReLU clamps the float output.
    CHECK(run_k1(profile, {-top, -1.5f}, 1.f / 3.f, nullptr, 0.f) == std::vector<float>{0.f, 0.f});
  }
}

TEST_CASE("fully_connected_dynamic_ref: constant, NaN and infinite inputs") {
  const std::vector<int8_t> w = {3, -7, 5, 1, 0, -128};  // 2 outputs x 3 inputs
  const float w_scales[2] = {0.02f, 0.5f};
  const float bias[2] = {0.25f, -1.f};
  for (const k::Profile profile : {k::Profile::qnnpack, k::Profile::fbgemm}) {
    CAPTURE(static_cast<int>(profile));
    k::DynamicLinearParams p;
    p.profile = profile;
    p.shape.batch = 2;
    p.shape.in_features = 3;
    p.shape.out_features = 2;
    p.w = w.data();
    p.w_scales = w_scales;
    p.per_channel = true;
    p.bias = bias;
    std::vector<uint8_t> scratch(6);
    std::vector<float> y(4);
    // All zeros: scale 0.1, zp 0, acc 0 -> the bias.
    const std::vector<float> zeros(6, 0.f);
    k::fully_connected_dynamic_ref(p, zeros.data(), scratch.data(), y.data());
    CHECK(y == std::vector<float>{0.25f, -1.f, 0.25f, -1.f});
    // A constant c > 0 quantizes to qmax with scale c / qmax: dq * qmax = c
    // up to rounding, so the outputs are about c * sum(w) * w_scale + bias.
    const std::vector<float> constant(6, 2.f);
    k::fully_connected_dynamic_ref(p, constant.data(), scratch.data(), y.data());
    CHECK(y[0] == doctest::Approx(2.f * 1 * 0.02f + 0.25f).epsilon(1e-5));
    CHECK(y[1] == doctest::Approx(2.f * -127 * 0.5f - 1.f).epsilon(1e-5));
    // PyTorch throws; qrt gives NaN everywhere.
    for (const float bad : {std::nanf(""), kInf, -kInf}) {
      std::vector<float> x = {1.f, 2.f, 3.f, 4.f, bad, 6.f};
      k::fully_connected_dynamic_ref(p, x.data(), scratch.data(), y.data());
      for (float v : y) CHECK(std::isnan(v));
    }
  }
}

TEST_CASE("fully_connected_dynamic_ref: the fbgemm profile on PyTorch's qnnpack fixtures") {
  // fbgemm's 0..127 range changes the input scale, so its outputs differ from
  // PyTorch's qnnpack ones, except where both profiles pick the same scale
  // (an all-zero input: 0.1; a one-sided range pinned at 6.1e-5: the zero
  // points differ, q - zp does not) or a constant input's
  // f32(255 * f32(w_s * f32(c / 255))) happens to round like the 127 one.
  // Each fbgemm output is checked against NUMERICS.md restated here.
  int differing = 0, same = 0;
  size_t elements = 0, matches_restated = 0;
  for (const Case& c : linear_cases()) {
    CAPTURE(c.name);
    const std::vector<float> y = c.run(k::Profile::fbgemm);
    float lo, hi;
    min_max(c.x, &lo, &hi);
    const bool same_scale = k::choose_quantization_params(lo, hi, 0, 255, false, false).scale ==
                            k::choose_quantization_params(lo, hi, 0, 255, false, true).scale;
    const bool differs = count_identical(y, c.out) != y.size();
    if (same_scale) CHECK(!differs);
    if (!same_scale && lo != hi) CHECK(differs);
    differing += differs;
    same += !differs;
    lo = std::min(lo, 0.f);
    hi = std::max(hi, 0.f);
    // Restated: every range here is far above the small-scale threshold or
    // zero, so scale = (hi - lo) / 127 and zp = rne(-lo / scale) suffice.
    double scale = (static_cast<double>(hi) - lo) / 127;
    if (lo == hi) scale = 0.1;
    const k::ChosenQParams q = k::choose_quantization_params(lo, hi, 0, 255, false, true);
    if (scale < 6.1e-5) continue;
    REQUIRE(q.scale == scale);
    const float s = static_cast<float>(scale), inv = 1.f / s;
    for (int b = 0; b < c.batch; ++b) {
      for (int o = 0; o < c.n; ++o) {
        int32_t acc = 0;
        for (int i = 0; i < c.k; ++i) {
          const float t = std::fma(c.x[b * c.k + i], inv, static_cast<float>(q.zero_point));
          const float r = std::min(255.f, std::max(0.f, std::nearbyint(t)));
          const int32_t qv = static_cast<int32_t>(r);
          acc += (qv - q.zero_point) * c.w[o * c.k + i];
        }
        const float dq = s * c.w_scales[c.per_channel ? o : 0];
        float v = static_cast<float>(acc) * dq;
        if (!c.bias.empty()) v += c.bias[o];
        if (c.relu) v = std::max(v, 0.f);
        ++elements;
        matches_restated += bits(v) == bits(y[b * c.n + o]);
      }
    }
  }
  MESSAGE("fbgemm profile on the qnnpack fixtures: " << differing << " cases differ from PyTorch's "
                                                     << "qnnpack output, " << same << " agree; "
                                                     << matches_restated << " of " << elements
                                                     << " floats match the restated formula");
  CHECK(matches_restated == elements);
  CHECK(differing > 0);
}

// The runtime op.

namespace {

qrt::convert::QuantParams weight_quant(const std::vector<float>& scales, bool per_channel,
                                       int64_t zp = 0) {
  qrt::convert::QuantParams q;
  q.scale = scales;
  q.zero_point.assign(scales.size(), zp);
  q.per_channel = per_channel;
  q.axis = 0;
  return q;
}

OpSpec dynamic_spec(const Case& c, Profile profile) {
  OpSpec s;
  s.code = qrt::fb::OpCode::FULLY_CONNECTED;
  s.profile = profile;
  s.inputs.push_back({c.x_shape, DType::F32, {}, qrt::test::bytes_of(c.x)});
  s.inputs.push_back({{c.n, c.k}, DType::S8, weight_quant(c.w_scales, c.per_channel),
                      qrt::test::bytes_of(c.w), true});
  // An absent bias is input -1.
  s.inputs.push_back({{c.n}, DType::F32, {}, qrt::test::bytes_of(c.bias), true, c.bias.empty()});
  std::vector<int32_t> out_shape = c.x_shape;
  out_shape.back() = c.n;
  s.outputs.push_back({out_shape, DType::F32, {}, {}});
  qrt::fb::FullyConnectedOptionsT o;
  o.act_min = c.relu ? 0.f : -kInf;
  o.act_max = kInf;
  qrt::fb::OpOptionsUnion u;
  u.Set(o);
  s.attrs = u;
  return s;
}

}  // namespace

TEST_CASE("FULLY_CONNECTED with F32 input and S8 weights runs PyTorch's dynamic linear") {
  size_t cases = 0, elements = 0, identical = 0, fb_cases = 0;
  for (const Case& c : linear_cases()) {
    CAPTURE(c.name);
    const qrt::test::OpResult r = qrt::test::run_op(dynamic_spec(c, Profile::Qnnpack));
    CAPTURE(r.error);
    REQUIRE(r.status == QRT_OK);
    const std::vector<float> y = qrt::test::values_of<float>(r.outputs.at(0));
    REQUIRE(y.size() == c.out.size());
    ++cases;
    elements += y.size();
    identical += count_identical(y, c.out);
    // The fbgemm profile reaches the kernel's fbgemm formulas.
    const qrt::test::OpResult rf = qrt::test::run_op(dynamic_spec(c, Profile::Fbgemm));
    REQUIRE(rf.status == QRT_OK);
    fb_cases += qrt::test::values_of<float>(rf.outputs.at(0)) == c.run(k::Profile::fbgemm);
  }
  MESSAGE("runtime dynamic FULLY_CONNECTED (qnnpack): " << cases << " cases, " << identical
                                                        << " of " << elements
                                                        << " floats bit-identical to PyTorch");
  CHECK(identical == elements);
  CHECK(fb_cases == cases);
}

TEST_CASE("FULLY_CONNECTED dynamic: every tier runs its tier's kernel, alike") {
  for (const Case& c : linear_cases()) {
    if (c.x_shape.size() < 3 || c.bias.empty()) continue;
    CAPTURE(c.name);
    for (const Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
      qrt::convert::ModelBuilder b(profile);
      const int in = b.add_tensor("x", c.x_shape, DType::F32);
      const int w =
          b.add_constant_s8("w", {c.n, c.k}, c.w, weight_quant(c.w_scales, c.per_channel));
      const int bias = b.add_constant_f32("b", {c.n}, c.bias);
      std::vector<int32_t> out_shape = c.x_shape;
      out_shape.back() = c.n;
      const int out = b.add_tensor("y", out_shape, DType::F32);
      b.add_fully_connected(in, w, bias, out, c.relu ? 0.f : -kInf, kInf, "fc");
      b.set_inputs({in});
      b.set_outputs({out});
      qrt::test::check_tiers(b.finish(), {qrt::test::bytes_of(c.x)}, {0},
                             [](k::Isa isa) { return std::string(k::select_dynamic_linear_kernel(isa)->name); });
    }
  }
}

TEST_CASE("FULLY_CONNECTED dynamic: NaN input gives NaN output, not an error") {
  for (const Case& c : linear_cases()) {
    if (c.name != "dynamic/basic") continue;
    Case bad = c;
    bad.x[3] = std::nanf("");
    const qrt::test::OpResult r = qrt::test::run_op(dynamic_spec(bad, Profile::Qnnpack));
    REQUIRE(r.status == QRT_OK);
    for (float v : qrt::test::values_of<float>(r.outputs.at(0))) CHECK(std::isnan(v));
    // The next call with a clean input is unaffected (nothing is cached).
    const qrt::test::OpResult ok = qrt::test::run_op(dynamic_spec(c, Profile::Qnnpack));
    CHECK(qrt::test::values_of<float>(ok.outputs.at(0)) == c.out);
  }
}

TEST_CASE("FULLY_CONNECTED dynamic: refusals name what is wrong") {
  Case c;
  c.x_shape = {2, 3, 4};
  c.x.assign(24, 0.5f);
  c.w = {1, 2, 3, 4, -1, -2, -3, -4, 5, 6, 7, 8};
  c.w_scales = {0.1f, 0.2f, 0.3f};
  c.per_channel = true;
  c.bias = {0.f, 1.f, 2.f};
  c.n = 3;
  c.k = 4;
  c.batch = 6;
  REQUIRE(qrt::test::run_op(dynamic_spec(c, Profile::Qnnpack)).status == QRT_OK);

  struct Refusal {
    const char* what;
    OpSpec spec;
    qrt_status status;
    std::vector<std::string> parts;
  };
  std::vector<Refusal> refusals;
  auto add = [&](const char* what, Profile profile, qrt_status status,
                 std::vector<std::string> parts) -> OpSpec& {
    refusals.push_back({what, dynamic_spec(c, profile), status, std::move(parts)});
    return refusals.back().spec;
  };
  add("weights with a nonzero zero point", Profile::Qnnpack, QRT_UNSUPPORTED,
      {"(FULLY_CONNECTED)", "zero point 3 at 1", "symmetric"})
      .inputs[1].quant.zero_point = {0, 3, 0};
  add("weights without quantization", Profile::Qnnpack, QRT_INVALID_MODEL,
      {"have no quantization parameters"})
      .inputs[1].quant = {};
  OpSpec& u8_out = add("a u8 output", Profile::Fbgemm, QRT_INVALID_MODEL,
                       {"output 'out0' is u8, expected f32"});
  u8_out.outputs[0].dtype = DType::U8;
  u8_out.outputs[0].quant = weight_quant({0.1f}, false, 128);
  // U8 weights with a float input are neither the float nor the dynamic path.
  add("u8 weights", Profile::Qnnpack, QRT_INVALID_MODEL, {"weights 'in1' is u8, expected f32"})
      .inputs[1].dtype = DType::U8;
  OpSpec& s8_in = add("an s8 input", Profile::Qnnpack, QRT_INVALID_MODEL,
                      {"input 'in0' is s8, expected f32"});
  s8_in.inputs[0].dtype = DType::S8;
  s8_in.inputs[0].data.resize(24);
  add("weights fed at run time", Profile::Qnnpack, QRT_UNSUPPORTED,
      {"weights 'in1' must be constant"})
      .inputs[1].constant = false;
  for (const Refusal& r : refusals) {
    CAPTURE(r.what);
    const qrt::test::OpResult got = qrt::test::run_op(r.spec);
    CAPTURE(got.error);
    CHECK(got.status == r.status);
    for (const std::string& part : r.parts) CHECK(got.error.find(part) != std::string::npos);
  }

  // Per-channel scales along the wrong axis.
  Case square = c;
  square.w_scales = {0.1f, 0.2f, 0.3f, 0.4f};
  square.w.resize(16, 1);
  square.n = 4;
  square.bias = {};
  OpSpec s = dynamic_spec(square, Profile::Qnnpack);
  s.inputs[1].quant.axis = 1;
  qrt::test::OpResult r = qrt::test::run_op(s);
  CHECK(r.status == QRT_INVALID_MODEL);
  CHECK(r.error.find("4 scales on axis 1, expected 1 or 4 on axis 0") != std::string::npos);

  // K past the int32 accumulator bound.
  Case deep;
  deep.x_shape = {1, k::kMaxAccumulationDepth + 1};
  deep.x.assign(static_cast<size_t>(k::kMaxAccumulationDepth) + 1, 1.f);
  deep.w.assign(deep.x.size(), 1);
  deep.w_scales = {0.01f};
  deep.n = 1;
  deep.k = k::kMaxAccumulationDepth + 1;
  deep.batch = 1;
  r = qrt::test::run_op(dynamic_spec(deep, Profile::Qnnpack));
  CHECK(r.status == QRT_UNSUPPORTED);
  CHECK(r.error.find("accumulation depth 32769 exceeds 32768") != std::string::npos);
  deep.x.resize(static_cast<size_t>(k::kMaxAccumulationDepth));
  deep.w.resize(deep.x.size());
  deep.x_shape = {1, k::kMaxAccumulationDepth};
  deep.k = k::kMaxAccumulationDepth;
  r = qrt::test::run_op(dynamic_spec(deep, Profile::Qnnpack));
  REQUIRE(r.status == QRT_OK);
  // x = 1 everywhere: scale 1/255, q = 255, acc = 255 * 32768.
  CHECK(qrt::test::values_of<float>(r.outputs.at(0)).at(0) ==
        doctest::Approx(32768 * 0.01).epsilon(1e-5));
}
