// Observers against PyTorch 1.13 (tests/parity/fixtures_observers.py): every
// float of the running state and of the qparams must be identical.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>

#include "converter/observers.h"
#include "support/fixtures.h"

namespace qrt::convert {
namespace {

using test::Fixture;

struct Batch {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

std::vector<float> floats(const tools::NpyArray& a) {
  REQUIRE(a.dtype == "f4");
  std::vector<float> v(a.data.size() / 4);
  std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}

std::vector<int64_t> ints(const tools::NpyArray& a) {
  REQUIRE(a.dtype == "i8");
  std::vector<int64_t> v(a.data.size() / 8);
  std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Bitwise equality, so -0 and 0 or two NaNs are told apart as PyTorch's
// bytes would be; reports the first difference.
void check_same(const std::string& what, const std::vector<float>& got,
                const std::vector<float>& want) {
  REQUIRE_MESSAGE(got.size() == want.size(), what << ": " << got.size() << " values, want "
                                                  << want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (bits(got[i]) != bits(want[i]) && !(got[i] == 0.f && want[i] == 0.f)) {
      FAIL_CHECK(what << "[" << i << "] = " << got[i] << " (" << std::hexfloat << got[i]
                      << "), PyTorch " << want[i] << std::defaultfloat);
      return;
    }
}

std::map<std::string, std::vector<Batch>> load_sequences(const std::vector<Fixture>& all) {
  std::map<std::string, std::vector<Batch>> seqs;
  for (const Fixture& f : all) {
    if (f.str("kind") != "sequence") continue;
    std::vector<Batch> batches;
    for (int64_t i = 0; i < f.i64("nbatches"); ++i) {
      tools::NpyArray a = f.array("batch" + std::to_string(i));
      batches.push_back({a.shape, floats(a)});
    }
    seqs[f.dir.substr(f.dir.rfind("/seq_") + 5)] = std::move(batches);
  }
  return seqs;
}

ObserverConfig config_of(const Fixture& f) {
  ObserverConfig c;
  const std::string kind = f.str("observer");
  if (kind == "minmax") c.kind = ObserverKind::min_max;
  else if (kind == "moving_average") c.kind = ObserverKind::moving_average;
  else if (kind == "per_channel") c.kind = ObserverKind::per_channel_min_max;
  else if (kind == "moving_average_per_channel") c.kind = ObserverKind::moving_average_per_channel;
  else if (kind == "histogram") c.kind = ObserverKind::histogram;
  else FAIL(f.name << ": unknown observer " << kind);
  c.qint8 = f.i64("qint8") != 0;
  c.scheme = f.i64("symmetric") != 0 ? QScheme::symmetric : QScheme::affine;
  c.reduce_range = f.i64("reduce_range") != 0;
  c.ch_axis = static_cast<int>(f.i64("ch_axis"));
  c.eps = f.f32("eps");
  c.histogram_range = f.str("range") == "torch113" ? HistogramRange::torch113 : HistogramRange::exact;
  return c;
}

TEST_CASE("observers match PyTorch 1.13 state and qparams bit for bit") {
  const std::vector<Fixture> all = test::load_fixtures("observers");
  const auto seqs = load_sequences(all);
  int checked = 0, histograms = 0;
  for (const Fixture& f : all) {
    if (f.str("kind") != "observer") continue;
    CAPTURE(f.name);
    Observer o;
    std::string error;
    REQUIRE_MESSAGE(make_observer(config_of(f), &o, &error), error);
    CHECK(o.qmin == f.i64("qmin"));
    CHECK(o.qmax == f.i64("qmax"));
    auto seq = seqs.find(f.str("sequence"));
    REQUIRE(seq != seqs.end());
    for (const Batch& b : seq->second) REQUIRE_MESSAGE(observe(o, b.data.data(), b.shape, &error), error);
    check_same("min_val", o.min_val, floats(f.array("min_val")));
    check_same("max_val", o.max_val, floats(f.array("max_val")));
    if (o.config.kind == ObserverKind::histogram) {
      check_same("histogram", o.histogram, floats(f.array("histogram")));
      float lo, hi;
      histogram_search_range(o, &lo, &hi);
      check_same("search range", {lo, hi}, floats(f.array("search")));
      ++histograms;
    }
    const QuantParams q = calculate_qparams(o);
    check_same("scale", q.scale, floats(f.array("scale")));
    CHECK(q.zero_point == ints(f.array("zero_point")));
    ++checked;
  }
  CHECK(checked >= 100);
  CHECK(histograms >= 40);
}

TEST_CASE("torch_sum_f32 adds in PyTorch's cascade order") {
  for (const Fixture& f : test::load_fixtures("observers")) {
    if (f.str("kind") != "sum") continue;
    const std::vector<float> values = floats(f.array("values"));
    const std::vector<float> sums = floats(f.array("sums"));
    const std::vector<int64_t> lengths = f.i64s("lengths");
    REQUIRE(lengths.size() == sums.size());
    size_t at = 0;
    int order_sensitive = 0;
    for (size_t k = 0; k < lengths.size(); ++k) {
      const size_t n = static_cast<size_t>(lengths[k]);
      CAPTURE(n);
      const float got = torch_sum_f32(values.data() + at, n);
      CHECK(bits(got) == bits(sums[k]));
      float naive = 0.f;
      for (size_t i = 0; i < n; ++i) naive += values[at + i];
      order_sensitive += bits(naive) != bits(sums[k]);
      at += n;
    }
    // The fixture is only a test of the order if plain left-to-right
    // summation gets some of it wrong.
    CHECK(order_sensitive > 0);
  }
}

ObserverConfig activation(ObserverKind kind) {
  ObserverConfig c;
  c.kind = kind;
  return c;
}

TEST_CASE("observer corner cases") {
  std::string error;
  Observer o;
  SUBCASE("never observed gives scale 1 and zero point 0") {
    for (ObserverKind k : {ObserverKind::min_max, ObserverKind::histogram, ObserverKind::percentile,
                           ObserverKind::per_channel_min_max}) {
      REQUIRE(make_observer(activation(k), &o, &error));
      const QuantParams q = calculate_qparams(o);
      CHECK(q.scale == std::vector<float>{1.f});
      CHECK(q.zero_point == std::vector<int64_t>{0});
    }
  }
  SUBCASE("all zeros give eps and zero point 0") {
    REQUIRE(make_observer(activation(ObserverKind::histogram), &o, &error));
    std::vector<float> z(64, 0.f);
    REQUIRE(observe(o, z.data(), {64}, &error));
    const QuantParams q = calculate_qparams(o);
    CHECK(q.scale[0] == 1.1920929e-07f);
    CHECK(q.zero_point[0] == 0);
  }
  SUBCASE("non-finite values are refused and leave the state alone") {
    REQUIRE(make_observer(activation(ObserverKind::min_max), &o, &error));
    std::vector<float> x = {1.f, -2.f, std::numeric_limits<float>::quiet_NaN()};
    CHECK_FALSE(observe(o, x.data(), {3}, &error));
    CHECK(error.find("NaN") != std::string::npos);
    CHECK(std::isinf(o.min_val[0]));
  }
  SUBCASE("symmetric uint8 cannot reduce its range") {
    ObserverConfig c = activation(ObserverKind::min_max);
    c.scheme = QScheme::symmetric;
    c.reduce_range = true;
    CHECK_FALSE(make_observer(c, &o, &error));
  }
  SUBCASE("symmetric int8 divides by 127.5") {
    ObserverConfig c = activation(ObserverKind::min_max);
    c.qint8 = true;
    c.scheme = QScheme::symmetric;
    REQUIRE(make_observer(c, &o, &error));
    std::vector<float> x = {-0.51f, 0.25f};
    REQUIRE(observe(o, x.data(), {2}, &error));
    CHECK(calculate_qparams(o).scale[0] == 0.51f / 127.5f);
  }
}

TEST_CASE("percentile observer clips each tail to its share of the mass") {
  const uint32_t seed = 1234;
  CAPTURE(seed);
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(20000);
  for (float& v : x) v = normal(gen);
  x[5] = 400.f;  // one outlier must not stretch the range
  ObserverConfig c = activation(ObserverKind::percentile);
  c.percentile = 99.9;
  Observer o;
  std::string error;
  REQUIRE(make_observer(c, &o, &error));
  REQUIRE(observe(o, x.data(), {20000}, &error));
  float lo, hi;
  percentile_range(o, &lo, &hi);
  // N(0,1) quantiles at 0.1% and 99.9% are -/+3.09; one bin is 0.2 wide here.
  CHECK(lo == doctest::Approx(-3.09).epsilon(0.1));
  CHECK(hi == doctest::Approx(3.09).epsilon(0.1));
  Observer mm;
  REQUIRE(make_observer(activation(ObserverKind::min_max), &mm, &error));
  REQUIRE(observe(mm, x.data(), {20000}, &error));
  CHECK(calculate_qparams(o).scale[0] < calculate_qparams(mm).scale[0] / 20);
}

}  // namespace
}  // namespace qrt::convert
