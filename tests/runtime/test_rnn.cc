// LSTM and GRU (runtime/src/ops/rnn.cc): float against PyTorch 1.13's
// nn.LSTM / nn.GRU (and ONNX's GRU with linear_before_reset 0 in float64),
// the dynamically quantized op against quantize_dynamic's modules on the
// qnnpack engine (tests/parity/fixtures_rnn.py), the op against a
// restatement of PyTorch's pipeline on seeded random cases (both profiles,
// the fbgemm quantize formula restated here), streaming with carried state,
// NaN input, every tier's kernels (the fast tiers alike), and the
// prepare-time checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/choose_qparams.h"
#include "kernels/ref/fully_connected.h"
#include "model_builder.h"
#include "qrt/qrt.h"
#include "support/fixtures.h"
#include "support/op_runner.h"
#include "support/random_cases.h"
#include "support/tier_runs.h"

namespace k = qrt::kernels;

namespace {

using qrt::fb::DType;
using qrt::fb::Profile;
using qrt::test::Fixture;
using Floats = std::vector<float>;

// One LSTM or GRU op and its inputs. Empty vectors are absent inputs.
struct Rnn {
  std::string name;
  bool lstm = true, reverse = false, batch_major = false, lbr = true;
  bool dynamic = false, per_channel = false;
  int seq = 0, batch = 0, input = 0, hidden = 0;
  int outputs = 3;  // Y, final h, final c; GRU has at most 2
  Floats x, w, r;   // float weights (also when dynamic: the dequantized ones)
  std::vector<int8_t> wq, rq;
  Floats w_scales, r_scales, wb, rb, h0, c0;

  int gates() const { return lstm ? 4 : 3; }
  size_t state() const { return static_cast<size_t>(batch) * hidden; }
};

struct Result {
  Floats y, hn, cn;
};

// A fixture array's elements, checking the type it was stored with.
template <class T>
std::vector<T> array_of(const Fixture& f, const char* name, const char* dtype) {
  const qrt::tools::NpyArray a = f.array(name);
  REQUIRE(a.dtype == dtype);
  return qrt::test::values_of<T>(a.data);
}

bool same(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

bool same_bits(const Floats& a, const Floats& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same(a[i], b[i])) return false;
  return true;
}

float max_abs_diff(const Floats& a, const Floats& b) {
  REQUIRE(a.size() == b.size());
  float m = 0.f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

qrt::convert::QuantParams weight_quant(const Floats& scales, bool per_channel) {
  qrt::convert::QuantParams q;
  q.scale = scales;
  q.zero_point.assign(scales.size(), 0);
  q.per_channel = per_channel;
  q.axis = 0;
  return q;
}

qrt::fb::OpOptionsUnion rnn_options(int hidden, bool reverse, bool batch_major, bool lbr) {
  qrt::fb::RnnOptionsT o;
  o.hidden_size = hidden;
  o.reverse = reverse;
  o.batch_major = batch_major;
  o.linear_before_reset = lbr;
  qrt::fb::OpOptionsUnion u;
  u.Set(o);
  return u;
}

std::vector<uint8_t> build(const Rnn& c, Profile profile) {
  qrt::convert::ModelBuilder b(profile);
  const int gh = c.gates() * c.hidden;
  const std::vector<int32_t> xs = c.batch_major ? std::vector<int32_t>{c.batch, c.seq, c.input}
                                                : std::vector<int32_t>{c.seq, c.batch, c.input};
  const int x = b.add_tensor("x", xs, DType::F32);
  int w, r;
  if (c.dynamic) {
    w = b.add_constant_s8("W", {gh, c.input}, c.wq, weight_quant(c.w_scales, c.per_channel));
    r = b.add_constant_s8("R", {gh, c.hidden}, c.rq, weight_quant(c.r_scales, c.per_channel));
  } else {
    w = b.add_constant_f32("W", {gh, c.input}, c.w);
    r = b.add_constant_f32("R", {gh, c.hidden}, c.r);
  }
  const int wb = c.wb.empty() ? -1 : b.add_constant_f32("Wb", {gh}, c.wb);
  const int rb = c.rb.empty() ? -1 : b.add_constant_f32("Rb", {gh}, c.rb);
  const int h0 = c.h0.empty() ? -1 : b.add_tensor("h0", {c.batch, c.hidden}, DType::F32);
  const int c0 = c.c0.empty() ? -1 : b.add_tensor("c0", {c.batch, c.hidden}, DType::F32);
  std::vector<int32_t> ins = {x, w, r, wb, rb, h0};
  if (c.lstm) ins.push_back(c0);
  std::vector<int32_t> ys = c.batch_major ? std::vector<int32_t>{c.batch, c.seq, c.hidden}
                                          : std::vector<int32_t>{c.seq, c.batch, c.hidden};
  std::vector<int32_t> outs = {b.add_tensor("y", ys, DType::F32)};
  if (c.outputs > 1) outs.push_back(b.add_tensor("hn", {c.batch, c.hidden}, DType::F32));
  if (c.outputs > 2) outs.push_back(b.add_tensor("cn", {c.batch, c.hidden}, DType::F32));
  b.add_operator(c.lstm ? qrt::fb::OpCode::LSTM : qrt::fb::OpCode::GRU, ins, outs,
                 rnn_options(c.hidden, c.reverse, c.batch_major, c.lbr), "rnn");
  std::vector<int32_t> graph_inputs = {x};
  if (h0 >= 0) graph_inputs.push_back(h0);
  if (c0 >= 0) graph_inputs.push_back(c0);
  b.set_inputs(graph_inputs);
  b.set_outputs(outs);
  return b.finish();
}

std::vector<std::vector<uint8_t>> feeds(const Rnn& c) {
  std::vector<std::vector<uint8_t>> in = {qrt::test::bytes_of(c.x)};
  if (!c.h0.empty()) in.push_back(qrt::test::bytes_of(c.h0));
  if (!c.c0.empty()) in.push_back(qrt::test::bytes_of(c.c0));
  return in;
}

Result run(const Rnn& c, Profile profile, const char* isa = "ref") {
  const qrt::test::TierRun t = qrt::test::run_on_tier(build(c, profile), feeds(c), isa);
  Result r;
  r.y = qrt::test::values_of<float>(t.outputs.at(0));
  if (c.outputs > 1) r.hn = qrt::test::values_of<float>(t.outputs.at(1));
  if (c.outputs > 2) r.cn = qrt::test::values_of<float>(t.outputs.at(2));
  return r;
}

// The fbgemm profile's dynamic linear, restated from NUMERICS.md: qparams
// over 0..127 (reduce_range), q = clamp(rne(fma(x, 1/s, zp)), 0, 255),
// y = f32(acc * f32(s * w_scale)) + bias.
void fbgemm_linear(const k::DynamicLinearParams& p, const float* in, float* out) {
  const size_t n_in = static_cast<size_t>(p.shape.batch) * p.shape.in_features;
  const float lo = std::min(0.f, *std::min_element(in, in + n_in));
  const float hi = std::max(0.f, *std::max_element(in, in + n_in));
  const k::ChosenQParams q = k::choose_quantization_params(lo, hi, 0, 255, false, true);
  const float s = static_cast<float>(q.scale), inv = 1.f / s;
  for (int b = 0; b < p.shape.batch; ++b) {
    for (int o = 0; o < p.shape.out_features; ++o) {
      int32_t acc = 0;
      for (int i = 0; i < p.shape.in_features; ++i) {
        const float t =
            std::fma(in[b * p.shape.in_features + i], inv, static_cast<float>(q.zero_point));
        const int32_t qv = static_cast<int32_t>(std::min(255.f, std::max(0.f, std::nearbyint(t))));
        acc += (qv - q.zero_point) * p.w[o * p.shape.in_features + i];
      }
      float v = static_cast<float>(acc) * (s * p.w_scales[p.per_channel ? o : 0]);
      if (p.bias) v += p.bias[o];
      out[b * p.shape.out_features + o] = v;
    }
  }
}

// rows x n outputs of W (ih) or R rows [first, first + n) on `in`.
Floats linear(const Rnn& c, Profile profile, bool restate_fbgemm, bool ih, int first, int n,
              const Floats& in, int rows) {
  const int kk = ih ? c.input : c.hidden;
  const Floats& bias = ih ? c.wb : c.rb;
  Floats out(static_cast<size_t>(rows) * n);
  const size_t skip = static_cast<size_t>(first) * kk;
  if (!c.dynamic) {
    k::FullyConnectedShape s;
    s.batch = rows;
    s.in_features = kk;
    s.out_features = n;
    k::fully_connected_f32_ref(s, in.data(), (ih ? c.w : c.r).data() + skip,
                               bias.empty() ? nullptr : bias.data() + first, -INFINITY, INFINITY,
                               out.data());
    return out;
  }
  k::DynamicLinearParams p;
  p.profile = profile == Profile::Fbgemm ? k::Profile::fbgemm : k::Profile::qnnpack;
  p.shape.batch = rows;
  p.shape.in_features = kk;
  p.shape.out_features = n;
  p.w = (ih ? c.wq : c.rq).data() + skip;
  p.w_scales = (ih ? c.w_scales : c.r_scales).data() + (c.per_channel ? first : 0);
  p.per_channel = c.per_channel;
  p.bias = bias.empty() ? nullptr : bias.data() + first;
  if (restate_fbgemm && profile == Profile::Fbgemm) {
    fbgemm_linear(p, in.data(), out.data());
  } else {
    std::vector<uint8_t> scratch(in.size());
    k::fully_connected_dynamic_ref(p, in.data(), scratch.data(), out.data());
  }
  return out;
}

float sigmoid(float v) { return 1.f / (1.f + std::exp(-v)); }

// PyTorch's FullLayer, LSTMCell and GRUCell, operation for operation, in
// the plainest layout: X's rows put in step order first, the step's gates
// from whole-sequence linear_ih plus per-step linear_hh.
Result restate(const Rnn& c, Profile profile, bool restate_fbgemm = false) {
  const int H = c.hidden, B = c.batch, T = c.seq, G = c.gates(), gh = G * H;
  Floats xs(static_cast<size_t>(T) * B * c.input);
  for (int s = 0; s < T; ++s)
    for (int b = 0; b < B; ++b) {
      const int t = c.reverse ? T - 1 - s : s;
      const int src = c.batch_major ? b * T + t : t * B + b;
      std::copy_n(c.x.begin() + static_cast<size_t>(src) * c.input, c.input,
                  xs.begin() + (static_cast<size_t>(s) * B + b) * c.input);
    }
  const Floats xg = linear(c, profile, restate_fbgemm, true, 0, gh, xs, T * B);
  Floats h = c.h0.empty() ? Floats(c.state(), 0.f) : c.h0;
  Floats cc = c.c0.empty() ? Floats(c.state(), 0.f) : c.c0;
  Result res;
  res.y.resize(static_cast<size_t>(T) * B * H);
  const bool split = !c.lstm && !c.lbr;
  for (int s = 0; s < T; ++s) {
    const int t = c.reverse ? T - 1 - s : s;
    const Floats hg = linear(c, profile, restate_fbgemm, false, 0, split ? 2 * H : gh, h, B);
    const int hs = split ? 2 * H : gh;  // hg's row length
    Floats cand_h;                      // GRU lbr 0: R_h (r * h) + Rb_h
    if (split) {
      Floats rh(c.state());
      for (int b = 0; b < B; ++b)
        for (int j = 0; j < H; ++j) {
          const float* gx = &xg[(static_cast<size_t>(s) * B + b) * gh];
          rh[b * H + j] = sigmoid(hg[b * hs + H + j] + gx[H + j]) * h[b * H + j];
        }
      cand_h = linear(c, profile, restate_fbgemm, false, 2 * H, H, rh, B);
    }
    for (int b = 0; b < B; ++b) {
      const float* gx = &xg[(static_cast<size_t>(s) * B + b) * gh];
      const float* gr = &hg[static_cast<size_t>(b) * hs];
      for (int j = 0; j < H; ++j) {
        float& hv = h[b * H + j];
        if (c.lstm) {  // ONNX order i, o, f, c
          const float i = sigmoid(gr[j] + gx[j]), o = sigmoid(gr[H + j] + gx[H + j]);
          const float f = sigmoid(gr[2 * H + j] + gx[2 * H + j]);
          const float g = std::tanh(gr[3 * H + j] + gx[3 * H + j]);
          float& cv = cc[b * H + j];
          const float fc = f * cv, ig = i * g;
          cv = fc + ig;
          hv = o * std::tanh(cv);
        } else {  // z, r, h
          const float z = sigmoid(gr[j] + gx[j]);
          const float hn =
              split ? cand_h[b * H + j] : gr[2 * H + j] * sigmoid(gr[H + j] + gx[H + j]);
          const float n = std::tanh(gx[2 * H + j] + hn);
          const float d = (hv - n) * z;
          hv = d + n;
        }
      }
      const size_t row =
          c.batch_major ? static_cast<size_t>(b) * T + t : static_cast<size_t>(t) * B + b;
      std::copy_n(h.begin() + static_cast<size_t>(b) * H, H, res.y.begin() + row * H);
    }
  }
  if (c.outputs > 1) res.hn = h;
  if (c.outputs > 2) res.cn = cc;
  return res;
}

// Loaders of the fixtures.

Rnn from_fixture(const Fixture& f) {
  Rnn c;
  c.name = f.name;
  c.lstm = f.str("op") == "lstm";
  c.reverse = f.i64("reverse") != 0;
  c.batch_major = f.i64("batch_major") != 0;
  c.lbr = f.i64("linear_before_reset") != 0;
  c.dynamic = f.str("kind") == "dynamic";
  c.hidden = static_cast<int>(f.i64("hidden"));
  const qrt::tools::NpyArray x = f.array("x");
  REQUIRE(x.shape.size() == 3);
  c.seq = static_cast<int>(x.shape[c.batch_major ? 1 : 0]);
  c.batch = static_cast<int>(x.shape[c.batch_major ? 0 : 1]);
  c.input = static_cast<int>(x.shape[2]);
  c.x = array_of<float>(f, "x", "f4");
  c.outputs = c.lstm ? 3 : 2;
  if (c.dynamic) {
    c.per_channel = f.i64("per_channel") != 0;
    c.wq = array_of<int8_t>(f, "w", "i1");
    c.rq = array_of<int8_t>(f, "r", "i1");
    c.w_scales = array_of<float>(f, "w_scales", "f4");
    c.r_scales = array_of<float>(f, "r_scales", "f4");
  } else {
    c.w = array_of<float>(f, "w", "f4");
    c.r = array_of<float>(f, "r", "f4");
  }
  if (f.i64("has_bias")) {
    c.wb = array_of<float>(f, "wb", "f4");
    c.rb = array_of<float>(f, "rb", "f4");
  }
  if (f.i64("has_h0")) {
    c.h0 = array_of<float>(f, "h0", "f4");
    if (c.lstm) c.c0 = array_of<float>(f, "c0", "f4");
  }
  return c;
}

Result expected_of(const Fixture& f, bool lstm) {
  Result r;
  r.y = array_of<float>(f, "y", "f4");
  r.hn = array_of<float>(f, "hn", "f4");
  if (lstm) r.cn = array_of<float>(f, "cn", "f4");
  return r;
}

std::vector<Fixture> fixtures_of(const std::string& kind) {
  std::vector<Fixture> out;
  for (const Fixture& f : qrt::test::load_fixtures("rnn"))
    if (f.str("kind") == kind) out.push_back(f);
  REQUIRE(!out.empty());
  return out;
}

// Dequantized weights, for a float op of the same model.
Rnn as_float(Rnn c) {
  auto deq = [&](const std::vector<int8_t>& q, const Floats& scales, int cols) {
    Floats w(q.size());
    for (size_t i = 0; i < q.size(); ++i)
      w[i] = q[i] * scales[c.per_channel ? i / static_cast<size_t>(cols) : 0];
    return w;
  };
  c.w = deq(c.wq, c.w_scales, c.input);
  c.r = deq(c.rq, c.r_scales, c.hidden);
  c.dynamic = false;
  return c;
}

Floats normal(std::mt19937& rng, size_t n, float mean, float sd) {
  std::normal_distribution<float> d(mean, sd);
  Floats v(n);
  for (float& x : v) x = d(rng);
  return v;
}

Rnn random_rnn(std::mt19937& rng, bool dynamic, int seq = 0) {
  using qrt::test::coin;
  using qrt::test::uniform;
  Rnn c;
  c.lstm = coin(rng);
  c.lbr = c.lstm || coin(rng);
  c.reverse = coin(rng);
  c.batch_major = coin(rng);
  c.dynamic = dynamic;
  c.per_channel = dynamic && coin(rng);
  c.seq = seq ? seq : uniform(rng, 1, 9);
  c.batch = uniform(rng, 1, 4);
  c.input = uniform(rng, 1, 13);
  c.hidden = uniform(rng, 1, 12);
  c.outputs = uniform(rng, 1, c.lstm ? 3 : 2);
  const int gh = c.gates() * c.hidden;
  // Shifted inputs move the dynamic zero point over 0..255.
  c.x = normal(rng, static_cast<size_t>(c.seq) * c.batch * c.input,
               std::uniform_real_distribution<float>(-2.f, 2.f)(rng),
               qrt::test::log_uniform(rng, 0.01f, 3.f));
  if (dynamic) {
    for (auto* q : {&c.wq, &c.rq}) {
      q->resize(static_cast<size_t>(gh) * (q == &c.wq ? c.input : c.hidden));
      for (int8_t& v : *q) v = static_cast<int8_t>(uniform(rng, -128, 127));
    }
    for (auto* s : {&c.w_scales, &c.r_scales}) {
      s->resize(c.per_channel ? static_cast<size_t>(gh) : 1);
      // Mostly gates in sigmoid's working range, sometimes saturated.
      for (float& v : *s) v = qrt::test::log_uniform(rng, 1e-4f, coin(rng, 0.1) ? 10.f : 0.02f);
    }
  } else {
    c.w = normal(rng, static_cast<size_t>(gh) * c.input, 0.f, 0.5f);
    c.r = normal(rng, static_cast<size_t>(gh) * c.hidden, 0.f, 0.5f);
  }
  if (coin(rng)) c.wb = normal(rng, static_cast<size_t>(gh), 0.f, 0.5f);
  if (coin(rng)) c.rb = normal(rng, static_cast<size_t>(gh), 0.f, 0.5f);
  if (coin(rng)) c.h0 = normal(rng, c.state(), 0.f, 0.5f);
  if (c.lstm && coin(rng)) c.c0 = normal(rng, c.state(), 0.f, 1.f);
  return c;
}

std::string describe(const Rnn& c) {
  return std::string(c.lstm  ? "LSTM"
                     : c.lbr ? "GRU"
                             : "GRU lbr0") +
         (c.dynamic ? " dynamic" : " f32") + (c.per_channel ? " per-channel" : "") +
         (c.reverse ? " reverse" : "") + (c.batch_major ? " batch-major" : "") + " seq " +
         std::to_string(c.seq) + " batch " + std::to_string(c.batch) + " in " +
         std::to_string(c.input) + " hidden " + std::to_string(c.hidden) + " outputs " +
         std::to_string(c.outputs) + (c.wb.empty() ? "" : " Wb") + (c.rb.empty() ? "" : " Rb") +
         (c.h0.empty() ? "" : " h0") + (c.c0.empty() ? "" : " c0");
}

}  // namespace

TEST_CASE("LSTM/GRU f32 within 1e-5 of PyTorch 1.13 (GRU lbr 0: of ONNX's equations in f64)") {
  qrt::test::ParityTally tally;
  float worst_rel = 0.f, worst_abs = 0.f;
  for (const Fixture& f : fixtures_of("float")) {
    CAPTURE(f.name);
    const Rnn c = from_fixture(f);
    const Result want = expected_of(f, c.lstm);
    const Result got = run(c, Profile::Qnnpack);
    for (const auto& [mine, theirs] :
         {std::make_pair(&got.y, &want.y), std::make_pair(&got.hn, &want.hn),
          std::make_pair(&got.cn, &want.cn)}) {
      REQUIRE(mine->size() == theirs->size());
      size_t identical = 0, within = 0;
      for (size_t i = 0; i < mine->size(); ++i) {
        const float a = (*mine)[i], b = (*theirs)[i], d = std::fabs(a - b);
        identical += same(a, b);
        // 1e-5 relative, or 1e-6 absolute where |y| < 0.1.
        const bool ok = d <= 1e-5f * std::fabs(b) || d <= 1e-6f;
        within += ok;
        if (!ok) FAIL_CHECK("element " << i << ": qrt " << a << ", reference " << b);
        worst_abs = std::max(worst_abs, d);
        if (std::fabs(b) >= 0.1f) worst_rel = std::max(worst_rel, d / std::fabs(b));
      }
      tally.add(std::string(c.lstm ? "LSTM" : "GRU") + " f32 " + f.str("oracle"), f.name,
                mine->size(), identical, within);
    }
  }
  MESSAGE(tally.summary("rnn"));
  MESSAGE("largest relative difference (|y| >= 0.1) " << worst_rel << ", absolute " << worst_abs);
}

TEST_CASE("LSTM/GRU dynamic: each GEMM reproduces PyTorch's qparams and output bit for bit") {
  std::vector<k::Isa> tiers = {k::Isa::ref};
  for (k::Isa isa : qrt::test::fast_tiers()) tiers.push_back(isa);
  size_t gemms = 0, floats = 0;
  for (const Fixture& f : fixtures_of("dynamic")) {
    CAPTURE(f.name);
    const Rnn c = from_fixture(f);
    const int gh = c.gates() * c.hidden, rows = c.seq * c.batch;
    const float lo = std::min(0.f, *std::min_element(c.x.begin(), c.x.end()));
    const float hi = std::max(0.f, *std::max_element(c.x.begin(), c.x.end()));
    const k::ChosenQParams q = k::choose_quantization_params(lo, hi, 0, 255, false, false);
    CHECK(q.scale == array_of<double>(f, "a_scale", "f8").at(0));
    CHECK(q.zero_point == f.i64("a_zp"));
    const Floats ih_out = array_of<float>(f, "ih_out", "f4");
    const Floats hh_in = array_of<float>(f, "hh_in", "f4");
    const Floats hh_out = array_of<float>(f, "hh_out", "f4");
    REQUIRE(ih_out.size() == static_cast<size_t>(rows) * gh);
    REQUIRE(hh_out.size() == static_cast<size_t>(rows) * gh);
    for (k::Isa isa : tiers) {
      CAPTURE(k::isa_name(isa));
      const k::DynamicLinearKernel* kernel = k::select_dynamic_linear_kernel(isa);
      for (const bool ih : {true, false}) {
        k::DynamicLinearParams p;
        p.profile = k::Profile::qnnpack;
        p.shape.in_features = ih ? c.input : c.hidden;
        p.shape.out_features = gh;
        p.w = (ih ? c.wq : c.rq).data();
        p.w_scales = (ih ? c.w_scales : c.r_scales).data();
        p.per_channel = c.per_channel;
        p.bias = (ih ? c.wb : c.rb).data();
        std::vector<uint8_t> packed(kernel->packed_bytes(gh, p.shape.in_features) + 64);
        void* aligned = packed.data() + (64 - reinterpret_cast<uintptr_t>(packed.data()) % 64) % 64;
        kernel->pack(p, aligned);
        // The whole sequence at once, or one call per step on that step's h.
        const int calls = ih ? 1 : c.seq, call_rows = ih ? rows : c.batch;
        std::vector<uint8_t> scratch(kernel->scratch_bytes(call_rows, p.shape.in_features) + 1);
        Floats out(static_cast<size_t>(rows) * gh);
        const Floats& in = ih ? c.x : hh_in;
        for (int i = 0; i < calls; ++i)
          kernel->run(aligned, call_rows,
                      in.data() + static_cast<size_t>(i) * call_rows * p.shape.in_features,
                      out.data() + static_cast<size_t>(i) * call_rows * gh, scratch.data());
        CAPTURE(ih);
        CHECK(same_bits(out, ih ? ih_out : hh_out));
        gemms += static_cast<size_t>(calls);
        floats += out.size();
      }
    }
  }
  MESSAGE("dynamic LSTM/GRU GEMMs (whole-sequence linear_ih, per-step linear_hh) on "
          << tiers.size() << " tiers: " << gemms << " calls, " << floats
          << " floats, all bit-identical to torch.ops.quantized.linear_dynamic");
}

TEST_CASE("LSTM/GRU dynamic end to end: within 2% of PyTorch int8's distance from fp32") {
  std::vector<std::string> tiers = {"ref"};
  for (k::Isa isa : qrt::test::fast_tiers()) tiers.push_back(k::isa_name(isa));
  for (const Fixture& f : fixtures_of("dynamic")) {
    for (const std::string& tier : tiers) {
      CAPTURE(f.name);
      CAPTURE(tier);
      const Rnn c = from_fixture(f);
      const Result want = expected_of(f, c.lstm);
      const Result got = run(c, Profile::Qnnpack, tier.c_str());
      const Floats y_f32 = array_of<float>(f, "y_f32", "f4");
      const float ours = std::max({max_abs_diff(got.y, want.y), max_abs_diff(got.hn, want.hn),
                                   c.lstm ? max_abs_diff(got.cn, want.cn) : 0.f});
      const float quant = max_abs_diff(want.y, y_f32);
      size_t identical = 0;
      for (size_t i = 0; i < got.y.size(); ++i) identical += same(got.y[i], want.y[i]);
      MESSAGE(f.name << " (" << tier << "): max |qrt - PyTorch int8| " << ours
                     << ", max |PyTorch int8 - fp32| " << quant << " ("
                     << (quant > 0 ? 100.0 * ours / quant : 0.0) << "%); " << identical << " of "
                     << got.y.size() << " Y floats bit-identical");
      CHECK(quant > 1e-3f);
      CHECK(ours <= 0.02f * quant);
      // PyTorch's pipeline, with our float gate math, is the reference op
      // exactly (the fast tiers' sigmoid and tanh are a few ulp from libm's).
      if (tier != "ref") continue;
      const Result mine = restate(c, Profile::Qnnpack);
      CHECK(same_bits(got.y, mine.y));
    }
  }
}

TEST_CASE("LSTM/GRU dynamic, fbgemm profile: reduce_range and fma quantize, restated") {
  size_t cases = 0, differ_from_qnnpack = 0;
  auto check = [&](const Rnn& c) {
    CAPTURE(describe(c));
    const Result got = run(c, Profile::Fbgemm);
    const Result want = restate(c, Profile::Fbgemm, true);
    CHECK(same_bits(got.y, want.y));
    CHECK(same_bits(got.hn, want.hn));
    CHECK(same_bits(got.cn, want.cn));
    differ_from_qnnpack += !same_bits(got.y, run(c, Profile::Qnnpack).y);
    ++cases;
  };
  for (const Fixture& f : fixtures_of("dynamic")) check(from_fixture(f));
  std::mt19937 rng(7001);
  for (int i = 0; i < 150; ++i) check(random_rnn(rng, true));
  MESSAGE("fbgemm-profile dynamic LSTM/GRU: " << cases << " cases match the restated formula, "
                                              << differ_from_qnnpack
                                              << " differ from the qnnpack profile");
  CHECK(differ_from_qnnpack > cases / 2);
}

TEST_CASE("LSTM/GRU random cases: the op is PyTorch's pipeline restated, bit for bit") {
  const uint32_t seed = 4242;
  std::mt19937 rng(seed);
  int cases = 0;
  for (int i = 0; i < 1200; ++i) {
    const bool dynamic = i % 2 == 1;
    const Profile profile = i % 4 == 3 ? Profile::Fbgemm : Profile::Qnnpack;
    const Rnn c = random_rnn(rng, dynamic);
    CAPTURE(seed);
    CAPTURE(i);
    CAPTURE(describe(c));
    const Result got = run(c, profile);
    const Result want = restate(c, profile);
    CHECK(same_bits(got.y, want.y));
    CHECK(same_bits(got.hn, want.hn));
    CHECK(same_bits(got.cn, want.cn));
    ++cases;
  }
  MESSAGE(cases << " random LSTM/GRU cases (seed " << seed << ") identical to the restatement");
}

namespace {

// X's or Y's rows of steps [first, first + count), `width` floats a row.
Floats steps_of(const Rnn& c, const Floats& v, int width, int first, int count) {
  Floats out;
  const size_t w = static_cast<size_t>(width);
  for (int b = 0; b < (c.batch_major ? c.batch : 1); ++b) {
    const size_t row = c.batch_major ? static_cast<size_t>(b) * c.seq + first
                                     : static_cast<size_t>(first) * c.batch;
    const size_t rows = c.batch_major ? count : static_cast<size_t>(count) * c.batch;
    out.insert(out.end(), v.begin() + row * w, v.begin() + (row + rows) * w);
  }
  return out;
}

// Runs c's sequence as chunks of `len` steps, each call starting from the
// last one's final h and c.
Result run_chunked(const Rnn& c, Profile profile, int len) {
  Rnn part = c;
  part.seq = len;
  part.outputs = c.lstm ? 3 : 2;
  if (part.h0.empty()) part.h0.assign(c.state(), 0.f);
  if (c.lstm && part.c0.empty()) part.c0.assign(c.state(), 0.f);
  std::vector<Floats> ys;
  for (int first = 0; first < c.seq; first += len) {
    part.x = steps_of(c, c.x, c.input, first, len);
    const Result r = run(part, profile);
    ys.push_back(r.y);
    part.h0 = r.hn;
    if (c.lstm) part.c0 = r.cn;
  }
  // Back into one Y: chunk after chunk, or per batch row when batch-major.
  Result out;
  const size_t per_b = static_cast<size_t>(len) * c.hidden;
  for (int b = 0; b < (c.batch_major ? c.batch : 1); ++b)
    for (const Floats& y : ys)
      out.y.insert(out.y.end(), y.begin() + (c.batch_major ? b * per_b : 0),
                   c.batch_major ? y.begin() + (b + 1) * per_b : y.end());
  out.hn = part.h0;
  if (c.lstm) out.cn = part.c0;
  return out;
}

}  // namespace

TEST_CASE("LSTM/GRU streaming: 4 chunks of 16 steps with carried state") {
  std::mt19937 rng(99);
  int f32_cases = 0;
  for (int i = 0; i < 24; ++i) {
    Rnn c = random_rnn(rng, i % 2 == 1, 64);
    c.reverse = false;  // a reverse op needs the whole sequence
    c.batch = i % 3 == 0 ? 3 : 1;
    c.x = normal(rng, static_cast<size_t>(c.seq) * c.batch * c.input, 0.3f, 1.f);
    if (!c.h0.empty()) c.h0 = normal(rng, c.state(), 0.f, 0.5f);
    if (!c.c0.empty()) c.c0 = normal(rng, c.state(), 0.f, 0.5f);
    c.outputs = c.lstm ? 3 : 2;
    if (c.dynamic)  // scales for gates in sigmoid's working range
      for (auto* s : {&c.w_scales, &c.r_scales})
        for (float& v : *s) v = qrt::test::log_uniform(rng, 0.003f, 0.02f);
    CAPTURE(describe(c));
    const Profile profile = i % 4 < 2 ? Profile::Qnnpack : Profile::Fbgemm;
    const Result whole = run(c, profile);
    const Result chunked = run_chunked(c, profile, 16);
    if (!c.dynamic) {
      CHECK(same_bits(chunked.y, whole.y));
      CHECK(same_bits(chunked.hn, whole.hn));
      CHECK(same_bits(chunked.cn, whole.cn));
      ++f32_cases;
      continue;
    }
    // Each chunk's input range lies inside the whole sequence's (both
    // widened to hold 0), so its quantization step is no coarser: a chunked
    // run is a dynamic int8 RNN at least as precise per step as the one-call
    // run, and both stay within about the one-call run's distance e from
    // the float RNN of the dequantized weights. Their gap is then at most
    // about 2e (triangle inequality); it is not 0 because the steps differ,
    // as they do in PyTorch between one call and chunked calls.
    const Result f32 = run(as_float(c), Profile::Qnnpack);
    const float e = max_abs_diff(whole.y, f32.y), e_chunk = max_abs_diff(chunked.y, f32.y);
    const float gap = max_abs_diff(chunked.y, whole.y);
    MESSAGE(describe(c) << ": max |chunked - one call| " << gap << ", one call vs f32 " << e
                        << ", chunked vs f32 " << e_chunk);
    CHECK(e_chunk <= 1.5f * e);
    CHECK(gap <= 2.f * e);
  }
  MESSAGE(f32_cases << " f32 streaming cases bit-identical to one call");
}

TEST_CASE("LSTM/GRU: NaN and infinite input") {
  std::mt19937 rng(5);
  for (int i = 0; i < 40; ++i) {
    Rnn c = random_rnn(rng, i % 2 == 1);
    c.outputs = c.lstm ? 3 : 2;
    CAPTURE(describe(c));
    const bool inf = i % 4 >= 2;
    const size_t at =
        static_cast<size_t>(qrt::test::uniform(rng, 0, static_cast<int>(c.x.size()) - 1));
    c.x[at] = inf ? std::numeric_limits<float>::infinity() : std::nanf("");
    const Result r = run(c, i % 3 == 0 ? Profile::Fbgemm : Profile::Qnnpack);
    if (c.dynamic) {
      // One quantization for all of X: every gate, so every output, is NaN.
      for (const Floats* v : {&r.y, &r.hn, &r.cn})
        for (float f : *v) CHECK(std::isnan(f));
      continue;
    }
    // Float: the rows before the bad step stay finite.
    const size_t row = at / static_cast<size_t>(c.input);
    const int t = static_cast<int>(c.batch_major ? row % c.seq : row / c.batch);
    const int b = static_cast<int>(c.batch_major ? row / c.seq : row % c.batch);
    for (int s = 0; s < c.seq; ++s) {
      const bool before = c.reverse ? s > t : s < t;
      if (!before) continue;
      const size_t y_row =
          c.batch_major ? static_cast<size_t>(b) * c.seq + s : static_cast<size_t>(s) * c.batch + b;
      for (int j = 0; j < c.hidden; ++j) CHECK(std::isfinite(r.y[y_row * c.hidden + j]));
    }
    if (!inf) CHECK(std::isnan(r.hn[static_cast<size_t>(b) * c.hidden]));
  }
}

// The dynamic linear kernels give the reference's bytes on every tier, but
// the gate activations of the fast tiers (F32RowKernel's polynomial sigmoid
// and tanh) are a few ulp from libm's: the fast tiers, which share one row
// kernel per architecture, agree with each other byte for byte, and each
// meets the 2% rule (the end-to-end test above).
void check_dynamic_tiers(const Rnn& c, Profile profile) {
  const std::vector<uint8_t> model = build(c, profile);
  const qrt::test::TierRun ref = qrt::test::run_on_tier(model, feeds(c), "ref");
  CHECK(ref.kernels[0] == k::select_dynamic_linear_kernel(k::Isa::ref)->name);
  std::vector<std::vector<uint8_t>> first;
  for (k::Isa isa : qrt::test::fast_tiers()) {
    CAPTURE(k::isa_name(isa));
    const qrt::test::TierRun t = qrt::test::run_on_tier(model, feeds(c), k::isa_name(isa));
    CHECK(t.kernels[0] == k::select_dynamic_linear_kernel(isa)->name);
    if (first.empty()) first = t.outputs;
    CHECK(t.outputs == first);
  }
}

TEST_CASE("LSTM/GRU dynamic: every tier runs its dynamic linear kernel, fast tiers alike") {
  std::mt19937 rng(31);
  for (int i = 0; i < 24; ++i) {
    const Rnn c = random_rnn(rng, true);
    CAPTURE(describe(c));
    for (const Profile profile : {Profile::Qnnpack, Profile::Fbgemm})
      check_dynamic_tiers(c, profile);
  }
  for (const Fixture& f : fixtures_of("dynamic"))
    check_dynamic_tiers(from_fixture(f), Profile::Qnnpack);
}

namespace {

using qrt::test::OpSpec;
using qrt::test::TensorSpec;

TensorSpec f32_spec(std::vector<int32_t> shape, bool constant) {
  size_t n = 1;
  for (int32_t d : shape) n *= static_cast<size_t>(d);
  return {shape, DType::F32, {}, qrt::test::bytes_of(Floats(n, 0.1f)), constant};
}

// An LSTM: seq 5, batch 2, input 3, hidden 4; X W R Wb - h0 -> Y hn.
OpSpec lstm_spec() {
  OpSpec s;
  s.code = qrt::fb::OpCode::LSTM;
  s.inputs = {f32_spec({5, 2, 3}, false),
              f32_spec({16, 3}, true),
              f32_spec({16, 4}, true),
              f32_spec({16}, true),
              TensorSpec{},
              f32_spec({2, 4}, false)};
  s.inputs[4].absent = true;
  s.outputs = {f32_spec({5, 2, 4}, false), f32_spec({2, 4}, false)};
  s.attrs = rnn_options(4, false, false, true);
  return s;
}

}  // namespace

TEST_CASE("LSTM/GRU: prepare names the tensor that does not fit") {
  struct Bad {
    const char* expect;
    qrt_status status;
    void (*edit)(OpSpec&);
  };
  const Bad bad[] = {
      {"input X 'in0' has shape (5, 2, 3, 1), expected rank 3", QRT_INVALID_MODEL,
       [](OpSpec& s) {
         s.inputs[0] = f32_spec({5, 2, 3, 1}, false);
       }},
      {"weights W 'in1' has shape (16, 4), expected (16, 3)", QRT_INVALID_MODEL,
       [](OpSpec& s) {
         s.inputs[1] = f32_spec({16, 4}, true);
       }},
      {"recurrence weights R 'in2' has shape (12, 4), expected (16, 4)", QRT_INVALID_MODEL,
       [](OpSpec& s) {
         s.inputs[2] = f32_spec({12, 4}, true);
       }},
      {"recurrence weights R 'in2' is s8, expected f32", QRT_INVALID_MODEL,
       [](OpSpec& s) {
         s.inputs[2].dtype = DType::S8;
         s.inputs[2].data.resize(64);
         s.inputs[2].quant = weight_quant({0.1f}, false);
       }},
      {"weights W 'in1' must be constant", QRT_UNSUPPORTED,
       [](OpSpec& s) { s.inputs[1].constant = false; }},
      {"W bias 'in3' has shape (15,), expected (16,)", QRT_INVALID_MODEL,
       [](OpSpec& s) { s.inputs[3] = f32_spec({15}, true); }},
      {"initial h 'in5' has shape (3, 4), expected (2, 4)", QRT_INVALID_MODEL,
       [](OpSpec& s) {
         s.inputs[5] = f32_spec({3, 4}, false);
       }},
      {"output Y 'out0' has shape (2, 5, 4), expected (5, 2, 4)", QRT_INVALID_MODEL,
       [](OpSpec& s) {
         s.outputs[0] = f32_spec({2, 5, 4}, false);
       }},
      {"final h 'out1' has shape (2, 2, 4), expected (2, 4)", QRT_INVALID_MODEL,
       [](OpSpec& s) {
         s.outputs[1] = f32_spec({2, 2, 4}, false);
       }},
      {"hidden_size 0 is out of range", QRT_INVALID_MODEL,
       [](OpSpec& s) {
         std::get<qrt::fb::OpOptionsUnion>(s.attrs).AsRnnOptions()->hidden_size = 0;
       }},
  };
  for (const Bad& b : bad) {
    OpSpec s = lstm_spec();
    b.edit(s);
    const qrt::test::OpResult r = qrt::test::run_op(s);
    CAPTURE(b.expect);
    CAPTURE(r.error);
    CHECK(r.status == b.status);
    CHECK(r.error.find(b.expect) != std::string::npos);
  }
  // ONNX's size-1 direction axis may stay.
  OpSpec s = lstm_spec();
  s.inputs[5] = f32_spec({1, 2, 4}, false);
  s.outputs = {f32_spec({5, 1, 2, 4}, false), f32_spec({1, 2, 4}, false)};
  const qrt::test::OpResult r = qrt::test::run_op(s);
  CAPTURE(r.error);
  CHECK(r.status == QRT_OK);
}
