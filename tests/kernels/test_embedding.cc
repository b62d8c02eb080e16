// kernels/ref/embedding: PyTorch's per-row float-qparams quantization of an
// embedding table and the lookup that dequantizes rows. Bit-exactness with
// PyTorch 1.13 is checked end to end in tests/converter/test_embedding.cc;
// here the edge cases: constant rows, out-of-range and negative indices, and
// a seeded sweep of tables that must come back within half a step.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/ref/embedding.h"
#include "support/random_cases.h"

namespace qrt::kernels {
namespace {

uint32_t bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}

GatherParams rows_params(int64_t rows, int64_t cols, int64_t n, bool i64) {
  GatherParams p;
  p.axis_size = rows;
  p.inner = cols;
  p.num_indices = n;
  p.elem_size = 1;
  p.indices_i64 = i64;
  return p;
}

TEST_CASE("embedding: a constant row gets scale 1 and its value as bias, as PyTorch's observer gives") {
  // max - min = 0 is not > eps, so the observer's scale is 1 and its zero
  // point -min: every q is 0 and the row comes back exactly. A zero row (a
  // padding_idx row) gives +0.
  const std::vector<float> table = {0.37f, 0.37f, 0.37f, 0.f, 0.f, 0.f, -2.5f, -2.5f, -2.5f};
  std::vector<uint8_t> q(9, 77);
  std::vector<float> sb(6);
  quantize_embedding_rows(table.data(), 3, 3, q.data(), sb.data());
  CHECK(q == std::vector<uint8_t>(9, 0));
  CHECK(sb == std::vector<float>{1.f, 0.37f, 1.f, 0.f, 1.f, -2.5f});
  const std::vector<int32_t> idx = {0, 1, 2};
  std::vector<float> out(9, 9.f);
  CHECK(gather_rows_u8_ref(rows_params(3, 3, 3, false), q.data(), sb.data(), idx.data(), out.data()) == -1);
  for (size_t i = 0; i < out.size(); ++i) CHECK(bits(out[i]) == bits(table[i]));
}

TEST_CASE("embedding: an index out of range is reported and nothing is written; negative ones count from the end") {
  const std::vector<float> table = {0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f};  // 4 rows of 2
  std::vector<uint8_t> q(8);
  std::vector<float> sb(8);
  quantize_embedding_rows(table.data(), 4, 2, q.data(), sb.data());
  for (bool i64 : {false, true}) {
    CAPTURE(i64);
    auto lookup = [&](const std::vector<int64_t>& k, std::vector<float>* out) {
      const std::vector<int32_t> k32(k.begin(), k.end());
      out->assign(k.size() * 2, -9.f);
      const void* idx = i64 ? static_cast<const void*>(k.data()) : static_cast<const void*>(k32.data());
      return gather_rows_u8_ref(rows_params(4, 2, static_cast<int64_t>(k.size()), i64), q.data(), sb.data(), idx,
                                out->data());
    };
    std::vector<float> out;
    CHECK(lookup({1, 4}, &out) == 1);
    CHECK(out == std::vector<float>(4, -9.f));
    CHECK(lookup({-5, 0}, &out) == 0);
    CHECK(lookup({0, 3, -4, 2, 100000}, &out) == 4);
    CHECK(out == std::vector<float>(10, -9.f));
    CHECK(lookup({-1, 0, -4}, &out) == -1);
    // Two-element rows [min, max]: both ends are exact.
    CHECK(out == std::vector<float>{6.f, 7.f, 0.f, 1.f, 0.f, 1.f});
  }
}

TEST_CASE("embedding: 2,000 seeded random tables come back within half a step, any indices") {
  const uint32_t seed = 20261126;
  std::mt19937 rng(seed);
  int cases = 0;
  for (int c = 0; c < 2000; ++c) {
    CAPTURE(seed);
    CAPTURE(c);
    const int rows = test::uniform(rng, 1, 9), cols = test::uniform(rng, 1, 67);
    std::vector<float> table(static_cast<size_t>(rows * cols));
    for (int r = 0; r < rows; ++r) {
      // Per-row steps of 1e-4..10 (range / 255), offset so that rows may miss 0.
      const float range = test::log_uniform(rng, 1e-4f, 10.f) * 255.f;
      const float lo = std::uniform_real_distribution<float>(-1.5f, 0.5f)(rng) * range;
      for (int k = 0; k < cols; ++k)
        table[static_cast<size_t>(r * cols + k)] = lo + std::uniform_real_distribution<float>(0.f, range)(rng);
      if (test::coin(rng, 0.05))
        for (int k = 0; k < cols; ++k) table[static_cast<size_t>(r * cols + k)] = lo;
    }
    std::vector<uint8_t> q(table.size());
    std::vector<float> sb(static_cast<size_t>(rows) * 2);
    quantize_embedding_rows(table.data(), rows, cols, q.data(), sb.data());

    // Every row once, in order: the dequantized table.
    std::vector<int64_t> all(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) all[static_cast<size_t>(r)] = r;
    std::vector<float> deq(table.size());
    REQUIRE(gather_rows_u8_ref(rows_params(rows, cols, rows, true), q.data(), sb.data(), all.data(), deq.data()) ==
            -1);
    for (int r = 0; r < rows; ++r) {
      const float step = sb[static_cast<size_t>(2 * r)];
      for (int k = 0; k < cols; ++k) {
        const size_t i = static_cast<size_t>(r * cols + k);
        CHECK_MESSAGE(std::fabs(deq[i] - table[i]) <= 0.5f * step * 1.001f + 1e-6f * std::fabs(table[i]),
                      "row " << r << " col " << k << ": " << table[i] << " came back " << deq[i]);
      }
    }
    // Random, negative and repeated indices pick those rows.
    const int n = test::uniform(rng, 1, 12);
    const bool i64 = test::coin(rng);
    std::vector<int64_t> k64(static_cast<size_t>(n));
    for (int64_t& k : k64) k = test::uniform(rng, -rows, rows - 1);
    const std::vector<int32_t> k32(k64.begin(), k64.end());
    std::vector<float> out(static_cast<size_t>(n * cols));
    const void* idx = i64 ? static_cast<const void*>(k64.data()) : static_cast<const void*>(k32.data());
    REQUIRE(gather_rows_u8_ref(rows_params(rows, cols, n, i64), q.data(), sb.data(), idx, out.data()) == -1);
    for (int j = 0; j < n; ++j) {
      const int64_t k = k64[static_cast<size_t>(j)], r = k < 0 ? k + rows : k;
      CHECK(std::memcmp(&out[static_cast<size_t>(j * cols)], &deq[static_cast<size_t>(r * cols)], 4 * cols) == 0);
    }
    ++cases;
  }
  CHECK(cases == 2000);
}

}  // namespace
}  // namespace qrt::kernels
