// The thread pool and the ops split over it. Splitting only changes which
// thread computes which output rows, never how a row is computed, so every
// thread count must give the same output bytes as one thread.
//
// Most cases run the internal Interpreter with cap_threads_to_cores off, so
// 3 and 4 threads really start 3 and 4 threads even on a 2-core machine
// (more interleavings, which is what TSan wants to see).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "interpreter.h"
#include "kernels/cpu.h"
#include "model.h"
#include "model_builder.h"
#include "qrt/qrt.h"
#include "support/mobilenet_v2_model.h"
#include "support/test_models.h"
#include "thread_pool.h"

namespace qrt::test {
// Heap allocations (on any thread) during one qrt_invoke; the counter lives
// in test_no_alloc.cc, which replaces malloc for the whole test binary.
long allocations_during_invoke(qrt_interpreter* it);
}  // namespace qrt::test

namespace {

using qrt::convert::Conv2DAttrs;
using qrt::convert::ModelBuilder;
using qrt::convert::QuantParams;
using qrt::fb::DType;
using qrt::fb::Profile;
using qrt::test::AlignedBytes;
using Bytes = std::vector<uint8_t>;

Bytes random_bytes(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> d(0, 255);
  Bytes v(n);
  for (uint8_t& x : v) x = static_cast<uint8_t>(d(rng));
  return v;
}

// Inputs for every graph input of `it`: f32 inputs get values in [-2, 2]
// (raw random bytes would make NaNs), everything else random bytes.
std::vector<Bytes> random_inputs(const qrt::Interpreter& it, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Bytes> inputs;
  for (int32_t i = 0; i < it.input_count(); ++i) {
    const qrt::Tensor& t = it.input(i);
    if (t.dtype == qrt::DType::F32) {
      std::uniform_real_distribution<float> d(-2.f, 2.f);
      std::vector<float> f(t.elements);
      for (float& x : f) x = d(rng);
      const auto* p = reinterpret_cast<const uint8_t*>(f.data());
      inputs.emplace_back(p, p + t.bytes);
    } else {
      inputs.push_back(random_bytes(rng, t.bytes));
    }
  }
  return inputs;
}

// One prepared interpreter over a model of its own (the model must outlive it).
struct Loaded {
  explicit Loaded(const Bytes& bytes, int32_t threads) : aligned(bytes) {
    qrt::Error error;
    REQUIRE_MESSAGE(qrt::load_model_from_buffer(aligned.data(), aligned.size(), &model, &error) ==
                        QRT_OK,
                    error.message);
    qrt::InterpreterOptions options;
    options.threads = threads;
    options.cap_threads_to_cores = false;
    REQUIRE_MESSAGE(it.prepare(model, options, false, &error) == QRT_OK, error.message);
    REQUIRE(it.threads() == threads);
  }

  std::vector<Bytes> invoke(const std::vector<Bytes>& inputs) {
    REQUIRE(static_cast<size_t>(it.input_count()) == inputs.size());
    for (int32_t i = 0; i < it.input_count(); ++i) {
      REQUIRE(it.input(i).bytes == inputs[static_cast<size_t>(i)].size());
      std::memcpy(it.input(i).data, inputs[static_cast<size_t>(i)].data(), it.input(i).bytes);
    }
    qrt::Error error;
    REQUIRE_MESSAGE(it.invoke(&error) == QRT_OK, error.message);
    std::vector<Bytes> outputs;
    for (int32_t i = 0; i < it.output_count(); ++i) {
      const qrt::Tensor& t = it.output(i);
      outputs.emplace_back(t.data, t.data + t.bytes);
    }
    return outputs;
  }

  AlignedBytes aligned;
  qrt::Model model;
  qrt::Interpreter it;
};

// The model under 1 thread, then 2, 3 and 4: identical bytes, twice each
// (the second invoke reuses the pool's warm state).
void check_thread_counts(const Bytes& bytes, uint32_t seed) {
  std::vector<Bytes> expected;
  std::vector<Bytes> inputs;
  for (int32_t threads = 1; threads <= 4; ++threads) {
    CAPTURE(threads);
    Loaded l(bytes, threads);
    // One thread is the single-core path: no pool reaches the ops.
    for (int32_t i = 0; i < l.it.op_count(); ++i)
      CHECK((l.it.op(i).pool != nullptr) == (threads > 1));
    if (threads == 1) {
      inputs = random_inputs(l.it, seed);
      expected = l.invoke(inputs);
    }
    for (int pass = 0; pass < 2; ++pass) {
      CAPTURE(pass);
      const std::vector<Bytes> got = l.invoke(inputs);
      REQUIRE(got.size() == expected.size());
      for (size_t i = 0; i < got.size(); ++i) CHECK_MESSAGE(got[i] == expected[i], "output " << i);
    }
  }
}

QuantParams act(float scale, int zp) { return QuantParams{{scale}, {zp}, 0, false}; }

QuantParams weight_quant(float scale) { return QuantParams{{scale}, {0}, 0, false}; }

std::vector<int8_t> random_weights(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

// Output scale that spreads a depth-`depth` sum of random u8 x s8 products
// over the u8 range (its standard deviation is ~74 * 73 * sqrt(depth)).
float spread(float in_scale, float w_scale, int depth) {
  return in_scale * w_scale * 74.f * 73.f * std::sqrt(static_cast<float>(depth)) / 40.f;
}

// Every op the pool splits, each big enough to be split on a fast tier:
//   rgb [1,64,64,3] -> conv3x3 (direct path)                     -> out0
//   x [1,48,48,32] -> conv3x3 (indirect) -> dw3x3 -> conv1x1 (gemm)
//                   -> add (residual with the first conv) -> dw5x5/2
//                   -> fully connected over the last axis (576 rows) -> out1
Bytes split_model(Profile profile, uint32_t seed) {
  std::mt19937 rng(seed);
  ModelBuilder b(profile);
  const float s_in = 0.02f, s_w = 0.006f;
  auto conv = [&](int in, int in_c, int out_c, int h, int w, int kernel, int stride, int groups,
                  const char* name) {
    const int icg = in_c / groups;
    const int pad = kernel / 2;
    const int oh = (h + 2 * pad - kernel) / stride + 1, ow = (w + 2 * pad - kernel) / stride + 1;
    const int wt = b.add_constant_s8(
        std::string(name) + ".w", {out_c, kernel, kernel, icg},
        random_weights(rng, static_cast<size_t>(out_c) * kernel * kernel * icg), weight_quant(s_w));
    const int out = b.add_tensor(name, {1, oh, ow, out_c}, DType::U8,
                                 act(spread(s_in, s_w, kernel * kernel * icg), 128));
    Conv2DAttrs a;
    a.stride_h = a.stride_w = stride;
    a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = pad;
    a.groups = groups;
    b.add_conv2d(in, wt, -1, out, a, name);
    return out;
  };
  const int rgb = b.add_tensor("rgb", {1, 64, 64, 3}, DType::U8, act(s_in, 128));
  const int first = conv(rgb, 3, 16, 64, 64, 3, 1, 1, "rgb_conv");
  const int x = b.add_tensor("x", {1, 48, 48, 32}, DType::U8, act(s_in, 128));
  const int c1 = conv(x, 32, 40, 48, 48, 3, 1, 1, "conv3x3");
  const int c2 = conv(c1, 40, 40, 48, 48, 3, 1, 40, "dw3x3");
  const int c3 = conv(c2, 40, 40, 48, 48, 1, 1, 1, "conv1x1");
  const int sum = b.add_tensor("sum", {1, 48, 48, 40}, DType::U8, act(0.5f, 128));
  b.add_add(c3, c1, sum, -std::numeric_limits<float>::infinity(),
            std::numeric_limits<float>::infinity(), "add");
  const int hs = b.add_tensor("hs", {1, 48, 48, 40}, DType::U8, act(0.25f, 32));
  b.add_operator(qrt::fb::OpCode::HARD_SWISH, {sum}, {hs}, {}, "hard_swish");
  const int c4 = conv(hs, 40, 40, 48, 48, 5, 2, 40, "dw5x5s2");
  const int fw = b.add_constant_s8("fc.w", {64, 40}, random_weights(rng, 64 * 40),
                                   weight_quant(s_w));
  const int fc = b.add_tensor("fc", {1, 24, 24, 64}, DType::U8, act(spread(s_in, s_w, 40), 120));
  b.add_fully_connected(c4, fw, -1, fc, -std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::infinity(), "fc");
  b.set_inputs({rgb, x});
  b.set_outputs({first, fc});
  return b.finish();
}

// Max and average pools, uint8 and float, each with enough rows of taps to
// be cut into several bands (ops/pool.cc: chunks of at least 2^16 taps):
//   q [1,57,57,64] u8 -> max 3x3/2 pad 1 -> avg 3x3/1 pad 1 -> out0
//   f [1,96,96,32] f32 -> max 2x2/2 -> avg 3x3/2 pad 1 -> out1
Bytes pool_model(Profile profile) {
  ModelBuilder b(profile);
  qrt::convert::Pool2DAttrs a3;
  a3.kernel_h = a3.kernel_w = 3;
  a3.pad_top = a3.pad_left = a3.pad_bottom = a3.pad_right = 1;
  qrt::convert::Pool2DAttrs a3s2 = a3;
  a3s2.stride_h = a3s2.stride_w = 2;
  qrt::convert::Pool2DAttrs a2s2;
  a2s2.kernel_h = a2s2.kernel_w = a2s2.stride_h = a2s2.stride_w = 2;
  const QuantParams q = act(0.05f, 7);
  const int x = b.add_tensor("q", {1, 57, 57, 64}, DType::U8, q);
  const int m = b.add_tensor("q_max", {1, 29, 29, 64}, DType::U8, q);
  b.add_max_pool2d(x, m, a3s2, "q_max");
  const int v = b.add_tensor("q_avg", {1, 29, 29, 64}, DType::U8, q);
  b.add_operator(qrt::fb::OpCode::AVG_POOL_2D, {m}, {v}, a3, "q_avg");
  const int f = b.add_tensor("f", {1, 96, 96, 32}, DType::F32, {});
  const int fm = b.add_tensor("f_max", {1, 48, 48, 32}, DType::F32, {});
  b.add_max_pool2d(f, fm, a2s2, "f_max");
  const int fv = b.add_tensor("f_avg", {1, 24, 24, 32}, DType::F32, {});
  b.add_operator(qrt::fb::OpCode::AVG_POOL_2D, {fm}, {fv}, a3s2, "f_avg");
  b.set_inputs({x, f});
  b.set_outputs({v, fv});
  return b.finish();
}

// A channel concat whose inputs are requantized by table (their params
// differ from the output's), with enough pixels to be cut into chunks:
//   a [1,40,40,24], b [1,40,40,40] -> concat on channels -> out [1,40,40,64]
Bytes concat_model(Profile profile) {
  ModelBuilder b(profile);
  const int a = b.add_tensor("a", {1, 40, 40, 24}, DType::U8, act(0.03f, 11));
  const int c = b.add_tensor("b", {1, 40, 40, 40}, DType::U8, act(0.07f, 130));
  const int out = b.add_tensor("cat", {1, 40, 40, 64}, DType::U8, act(0.05f, 90));
  qrt::fb::OpOptionsUnion o;
  qrt::fb::ConcatOptionsT axis;
  axis.axis = 3;
  o.Set(axis);
  b.add_operator(qrt::fb::OpCode::CONCAT, {a, c}, {out}, o, "cat");
  b.set_inputs({a, c});
  b.set_outputs({out});
  return b.finish();
}

}  // namespace

TEST_CASE("threads: the pool covers rows 0 to n once, on aligned chunks, one slot per thread") {
  for (int32_t threads : {1, 2, 3, 4}) {
    qrt::ThreadPool pool;
    qrt::Error error;
    REQUIRE(pool.start(threads, &error) == QRT_OK);
    REQUIRE(pool.threads() == threads);
    struct Case {
      int64_t n, align, min_chunk;
    };
    for (const Case& c : {Case{1000, 8, 1}, Case{1001, 6, 10}, Case{5, 4, 1}, Case{64, 1, 64},
                          Case{100000, 64, 8192}, Case{7, 1, 1}}) {
      CAPTURE(threads);
      CAPTURE(c.n);
      CAPTURE(c.align);
      std::vector<std::atomic<int>> hits(static_cast<size_t>(c.n));
      std::vector<std::atomic<int>> busy(static_cast<size_t>(threads));
      std::atomic<int> chunks{0}, bad{0};
      pool.run(c.n, c.align, c.min_chunk, [&](int64_t begin, int64_t end, int32_t slot) {
        chunks.fetch_add(1);
        if (slot < 0 || slot >= threads || begin >= end || (begin % c.align) != 0 ||
            (end != c.n && end % c.align != 0) ||
            (end - begin < c.n && end - begin <= c.min_chunk - 2 * c.align))
          bad.fetch_add(1);
        // Two chunks of one slot at once would share its scratch.
        if (slot >= 0 && slot < threads && busy[static_cast<size_t>(slot)].fetch_add(1) != 0)
          bad.fetch_add(1);
        for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        if (slot >= 0 && slot < threads) busy[static_cast<size_t>(slot)].fetch_sub(1);
      });
      CHECK(bad.load() == 0);
      CHECK(chunks.load() >= 1);
      for (int64_t i = 0; i < c.n; ++i) REQUIRE(hits[static_cast<size_t>(i)].load() == 1);
    }
    pool.run(0, 1, 1, [](int64_t, int64_t, int32_t) { FAIL("no rows, no call"); });
    pool.stop();
    pool.stop();
  }
}

TEST_CASE("threads: every worker takes part in a job") {
  // Each chunk waits (up to 10 s) until all three threads hold one: the
  // caller, stuck in its own chunk, cannot take the others, so the job only
  // ends early if the workers really run chunks in parallel. Twice: with the
  // workers polling, then after they have gone to sleep.
  qrt::ThreadPool pool;
  qrt::Error error;
  REQUIRE(pool.start(3, &error) == QRT_OK);
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    if (round == 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::vector<std::atomic<int>> per_slot(3);
    std::atomic<int> arrived{0};
    const auto start = std::chrono::steady_clock::now();
    pool.run(3, 1, 1, [&](int64_t, int64_t, int32_t slot) {
      per_slot[static_cast<size_t>(slot)].fetch_add(1);
      arrived.fetch_add(1);
      while (arrived.load() < 3 &&
             std::chrono::steady_clock::now() - start < std::chrono::seconds(10))
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    });
    CHECK(arrived.load() == 3);
    for (auto& n : per_slot) CHECK(n.load() == 1);
  }
}

TEST_CASE("threads: the int8 and fp32 test CNNs give the same bytes on 1 to 4 threads") {
  check_thread_counts(qrt::test::int8_cnn(Profile::Qnnpack), 1);
  check_thread_counts(qrt::test::int8_cnn(Profile::Fbgemm), 2);
  check_thread_counts(qrt::test::fp32_cnn(), 3);
}

TEST_CASE("threads: split convs, depthwise, add, table lookup and fully connected give the same bytes") {
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    CAPTURE(static_cast<int>(profile));
    const Bytes bytes = split_model(profile, 21);
    check_thread_counts(bytes, 22);
    // On a machine with a fast tier the ops above must run its kernels (the
    // reference ones are not split, so this test would prove nothing). The
    // table lookup is split whichever kernel it runs (armv7 has no fast one).
    if (qrt::kernels::best_isa() != qrt::kernels::Isa::ref) {
      Loaded l(bytes, 2);
      for (int32_t i = 0; i < l.it.op_count(); ++i) {
        const std::string kernel = l.it.op(i).kernel;
        CAPTURE(kernel);
        CHECK((kernel.find("_ref") == std::string::npos || kernel == "lut_u8_ref"));
      }
    }
  }
}

TEST_CASE("threads: max and average pools split by output rows give the same bytes") {
  check_thread_counts(pool_model(Profile::Qnnpack), 23);
  check_thread_counts(pool_model(Profile::Fbgemm), 24);
}

TEST_CASE("threads: a requantizing concat split by outer rows gives the same bytes") {
  check_thread_counts(concat_model(Profile::Qnnpack), 25);
  check_thread_counts(concat_model(Profile::Fbgemm), 26);
}

TEST_CASE("threads: MobileNetV2 gives the same bytes on 1 to 4 threads") {
  check_thread_counts(qrt::test::mobilenet_v2_int8(Profile::Qnnpack), 4);
  check_thread_counts(qrt::test::mobilenet_v2_int8(Profile::Fbgemm), 5);
}

TEST_CASE("threads: many invokes with changing inputs match one thread") {
  const Bytes cnn = qrt::test::int8_cnn(Profile::Qnnpack);
  const Bytes split = split_model(Profile::Qnnpack, 31);
  for (const Bytes* bytes : {&cnn, &split}) {
    Loaded one(*bytes, 1), two(*bytes, 2), three(*bytes, 3);
    const int rounds = bytes == &cnn ? 300 : 40;
    for (int r = 0; r < rounds; ++r) {
      CAPTURE(r);
      const std::vector<Bytes> inputs = random_inputs(one.it, 1000 + static_cast<uint32_t>(r));
      const std::vector<Bytes> expected = one.invoke(inputs);
      REQUIRE(two.invoke(inputs) == expected);
      REQUIRE(three.invoke(inputs) == expected);
    }
  }
}

namespace {

// `callers` threads, each with an interpreter of its own (`threads` per
// interpreter) on one shared qrt_model, each running `rounds` invokes on
// inputs of its own (seeded by caller and round); every output must be the
// bytes one interpreter on one thread gives for the same inputs. The model
// is read-only after load: this is the sharing qrt.h promises.
void check_shared_model(const Bytes& bytes, int callers, int32_t threads, int rounds,
                        uint32_t seed) {
  CAPTURE(callers);
  CAPTURE(threads);
  AlignedBytes aligned(bytes);
  qrt_model* model = nullptr;
  REQUIRE_MESSAGE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK,
                  qrt_last_error());
  // inputs[c][r] and expected[c][r], from one interpreter on this thread.
  std::vector<std::vector<std::vector<Bytes>>> inputs(static_cast<size_t>(callers)),
      expected(static_cast<size_t>(callers));
  {
    Loaded one(bytes, 1);
    for (int c = 0; c < callers; ++c)
      for (int r = 0; r < rounds; ++r) {
        inputs[static_cast<size_t>(c)].push_back(
            random_inputs(one.it, seed + static_cast<uint32_t>(c * rounds + r)));
        expected[static_cast<size_t>(c)].push_back(
            one.invoke(inputs[static_cast<size_t>(c)].back()));
      }
  }
  // doctest's assertions are not thread-safe: each thread only counts, and
  // all start together so their invokes overlap.
  std::vector<int> failures(static_cast<size_t>(callers), 0);
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  for (int c = 0; c < callers; ++c) {
    pool.emplace_back([&, c] {
      int& failed = failures[static_cast<size_t>(c)];
      qrt_options options;
      qrt_options_init(&options);
      options.threads = threads;
      qrt_interpreter* it = nullptr;
      const bool created = qrt_interpreter_create(model, &options, &it) == QRT_OK;
      ready.fetch_add(1);
      while (ready.load() < callers) std::this_thread::yield();
      if (!created) {
        failed = 1000;
        return;
      }
      for (int r = 0; r < rounds; ++r) {
        const std::vector<Bytes>& in = inputs[static_cast<size_t>(c)][static_cast<size_t>(r)];
        for (int32_t i = 0; i < static_cast<int32_t>(in.size()); ++i) {
          qrt_tensor t;
          if (qrt_input(it, i, &t) != QRT_OK ||
              qrt_set_input(it, i, t.dtype, in[static_cast<size_t>(i)].data(),
                            in[static_cast<size_t>(i)].size()) != QRT_OK)
            ++failed;
        }
        if (qrt_invoke(it) != QRT_OK) ++failed;
        for (int32_t o = 0; o < qrt_output_count(it); ++o) {
          qrt_tensor t;
          if (qrt_output(it, o, &t) != QRT_OK) {
            ++failed;
            continue;
          }
          const Bytes& want =
              expected[static_cast<size_t>(c)][static_cast<size_t>(r)][static_cast<size_t>(o)];
          const auto* p = static_cast<const uint8_t*>(t.data);
          if (t.bytes != want.size() || !std::equal(want.begin(), want.end(), p)) ++failed;
        }
      }
      qrt_interpreter_free(it);
    });
  }
  for (std::thread& t : pool) t.join();
  for (int c = 0; c < callers; ++c) {
    CAPTURE(c);
    CHECK(failures[static_cast<size_t>(c)] == 0);
  }
  qrt_model_free(model);
}

}  // namespace

TEST_CASE("threads: one model, an interpreter per thread, many invokes match one thread") {
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    CAPTURE(static_cast<int>(profile));
    check_shared_model(qrt::test::int8_cnn(profile), 4, 1, 60, 600);
    check_shared_model(split_model(profile, 61), 3, 1, 6, 700);
  }
  check_shared_model(qrt::test::fp32_cnn(), 4, 1, 60, 800);
}

TEST_CASE("threads: interpreters with their own pools on several threads share one model") {
  check_shared_model(split_model(Profile::Fbgemm, 41), 3, 2, 12, 500);
  check_shared_model(split_model(Profile::Qnnpack, 42), 2, 2, 12, 900);
  check_shared_model(qrt::test::int8_cnn(Profile::Qnnpack), 3, 2, 30, 1000);
}

TEST_CASE("threads: a call overlapping another on one interpreter is refused, nothing written") {
  const Bytes bytes = qrt::test::int8_cnn(Profile::Qnnpack);
  AlignedBytes aligned(bytes);
  qrt_model* model = nullptr;
  REQUIRE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK);
  qrt_interpreter* it = nullptr;
  REQUIRE(qrt_interpreter_create(model, nullptr, &it) == QRT_OK);
  qrt_tensor in, out;
  REQUIRE(qrt_input(it, 0, &in) == QRT_OK);
  REQUIRE(qrt_output(it, 0, &out) == QRT_OK);
  std::vector<float> image(in.bytes / 4, 0.25f);
  REQUIRE(qrt_set_input(it, 0, QRT_F32, image.data(), in.bytes) == QRT_OK);
  REQUIRE(qrt_invoke(it) == QRT_OK);
  const Bytes want(static_cast<uint8_t*>(out.data), static_cast<uint8_t*>(out.data) + out.bytes);

  // Hold the flag as a running call would: every overlapping call is refused,
  // on this thread (re-entry) and on another one, and touches nothing.
  qrt::Interpreter* held = qrt::interpreter_of(it);
  REQUIRE(held != nullptr);
  REQUIRE(held->try_acquire());
  std::memset(out.data, 0x5A, out.bytes);
  const std::vector<float> other(in.bytes / 4, -1.f);
  CHECK(qrt_invoke(it) == QRT_INVALID_ARGUMENT);
  std::string message = qrt_last_error();
  CHECK(message.find("qrt_invoke") != std::string::npos);
  CHECK(message.find("one caller at a time") != std::string::npos);
  CHECK(qrt_set_input(it, 0, QRT_F32, other.data(), in.bytes) == QRT_INVALID_ARGUMENT);
  CHECK(std::string(qrt_last_error()).find("qrt_set_input") != std::string::npos);
  qrt_status from_thread = QRT_OK;
  std::string thread_message;
  std::thread([&] {
    from_thread = qrt_invoke(it);
    thread_message = qrt_last_error();  // thread-local: the refusal is this thread's
  }).join();
  CHECK(from_thread == QRT_INVALID_ARGUMENT);
  CHECK(thread_message.find("in use by another call") != std::string::npos);
  CHECK(std::memcmp(in.data, image.data(), in.bytes) == 0);
  for (size_t i = 0; i < out.bytes; ++i) REQUIRE(static_cast<uint8_t*>(out.data)[i] == 0x5A);
  held->release();

  // Released: the interpreter works again, with the same result.
  CHECK(qrt_invoke(it) == QRT_OK);
  CHECK(std::memcmp(out.data, want.data(), want.size()) == 0);
  // A refused or failed call does not leave the flag set.
  CHECK(qrt_set_input(it, 0, QRT_U8, image.data(), in.bytes) == QRT_INVALID_ARGUMENT);
  CHECK(held->try_acquire());
  held->release();
  qrt_interpreter_free(it);
  qrt_model_free(model);
}

TEST_CASE("threads: two threads hammering one interpreter get results or refusals, never a race") {
  // Misuse on purpose: the flag must turn every overlap into a clean
  // refusal (TSan checks that accepted calls are ordered by it). Outputs are
  // only read after both threads have finished.
  const Bytes bytes = split_model(Profile::Qnnpack, 71);
  AlignedBytes aligned(bytes);
  qrt_model* model = nullptr;
  REQUIRE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK);
  qrt_options options;
  qrt_options_init(&options);
  options.threads = 2;
  qrt_interpreter* it = nullptr;
  REQUIRE(qrt_interpreter_create(model, &options, &it) == QRT_OK);
  std::vector<Bytes> inputs, expected;
  {
    Loaded one(bytes, 1);
    inputs = random_inputs(one.it, 72);
    expected = one.invoke(inputs);
  }
  std::atomic<int> ok{0}, refused{0}, other{0};
  auto hammer = [&] {
    for (int k = 0; k < 30; ++k) {
      for (int32_t i = 0; i < static_cast<int32_t>(inputs.size()); ++i) {
        const qrt_status s = qrt_set_input(it, i, QRT_U8, inputs[static_cast<size_t>(i)].data(),
                                           inputs[static_cast<size_t>(i)].size());
        (s == QRT_OK ? ok : s == QRT_INVALID_ARGUMENT ? refused : other).fetch_add(1);
      }
      const qrt_status s = qrt_invoke(it);
      (s == QRT_OK ? ok : s == QRT_INVALID_ARGUMENT ? refused : other).fetch_add(1);
    }
  };
  std::thread a(hammer), b(hammer);
  a.join();
  b.join();
  CHECK(other.load() == 0);
  CHECK(ok.load() > 0);
  CHECK(ok.load() + refused.load() == 2 * 30 * 3);
  // Same inputs from both threads: the last accepted invoke gives the one result.
  REQUIRE(qrt_invoke(it) == QRT_OK);
  for (int32_t o = 0; o < qrt_output_count(it); ++o) {
    qrt_tensor t;
    REQUIRE(qrt_output(it, o, &t) == QRT_OK);
    const auto* p = static_cast<const uint8_t*>(t.data);
    CHECK(Bytes(p, p + t.bytes) == expected[static_cast<size_t>(o)]);
  }
  qrt_interpreter_free(it);
  qrt_model_free(model);
}

TEST_CASE("threads: invoke performs no heap allocation with 2 threads") {
  for (const Bytes& bytes : {qrt::test::int8_cnn(Profile::Qnnpack), split_model(Profile::Qnnpack, 51),
                             qrt::test::mobilenet_v2_int8(Profile::Qnnpack)}) {
    AlignedBytes aligned(bytes);
    qrt_model* model = nullptr;
    REQUIRE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK);
    for (int profile_ops = 0; profile_ops < 2; ++profile_ops) {
      qrt_options options;
      qrt_options_init(&options);
      options.threads = 2;
      options.profile_ops = profile_ops;
      qrt_interpreter* it = nullptr;
      REQUIRE_MESSAGE(qrt_interpreter_create(model, &options, &it) == QRT_OK, qrt_last_error());
      CHECK(qrt::test::allocations_during_invoke(it) == 0);
      CHECK(qrt::test::allocations_during_invoke(it) == 0);
      // After the workers have gone to sleep: waking them must not allocate either.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      CHECK(qrt::test::allocations_during_invoke(it) == 0);
      qrt_interpreter_free(it);
    }
    qrt_model_free(model);
  }
}

TEST_CASE("threads: interpreters freed without an invoke join their workers") {
  const Bytes bytes = qrt::test::int8_cnn(Profile::Qnnpack);
  AlignedBytes aligned(bytes);
  qrt_model* model = nullptr;
  REQUIRE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK);
  for (int round = 0; round < 20; ++round) {
    qrt::Interpreter* it = new qrt::Interpreter;
    qrt::Model m;
    qrt::Error error;
    REQUIRE(qrt::load_model_from_buffer(aligned.data(), aligned.size(), &m, &error) == QRT_OK);
    qrt::InterpreterOptions options;
    options.threads = 1 + round % 4;
    options.cap_threads_to_cores = false;
    REQUIRE(it->prepare(m, options, false, &error) == QRT_OK);
    delete it;
    qrt_options o;
    qrt_options_init(&o);
    o.threads = 2;
    qrt_interpreter* c = nullptr;
    REQUIRE(qrt_interpreter_create(model, &o, &c) == QRT_OK);
    qrt_interpreter_free(c);
  }
  qrt_model_free(model);
}

TEST_CASE("threads: counts are resolved and bad ones rejected with a message") {
  const Bytes bytes = qrt::test::int8_cnn(Profile::Qnnpack);
  AlignedBytes aligned(bytes);
  qrt_model* model = nullptr;
  REQUIRE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK);
  qrt_options options;
  qrt_options_init(&options);
  CHECK(options.threads == 1);
  for (int32_t bad : {-1, -8, std::numeric_limits<int32_t>::min()}) {
    CAPTURE(bad);
    options.threads = bad;
    qrt_interpreter* it = nullptr;
    CHECK(qrt_interpreter_create(model, &options, &it) == QRT_INVALID_ARGUMENT);
    CHECK(it == nullptr);
    const std::string message = qrt_last_error();
    CHECK(message.find("threads is " + std::to_string(bad)) != std::string::npos);
    CHECK(message.find("positive") != std::string::npos);
  }
  // 0 (a zeroed qrt_options) is the default, one thread; huge counts are
  // capped, not refused.
  for (int32_t fine : {0, 1, 2, 1000, std::numeric_limits<int32_t>::max()}) {
    CAPTURE(fine);
    options.threads = fine;
    qrt_interpreter* it = nullptr;
    CHECK_MESSAGE(qrt_interpreter_create(model, &options, &it) == QRT_OK, qrt_last_error());
    CHECK(qrt_invoke(it) == QRT_OK);
    qrt_interpreter_free(it);
  }
  qrt_model_free(model);

  const unsigned cores = std::thread::hardware_concurrency();
  CHECK(qrt::ThreadPool::resolve(0, true) == 1);
  CHECK(qrt::ThreadPool::resolve(1, true) == 1);
  CHECK(qrt::ThreadPool::resolve(1000, false) == qrt::ThreadPool::kMaxThreads);
  if (cores > 0)
    CHECK(qrt::ThreadPool::resolve(1000, true) ==
          std::min<int32_t>(static_cast<int32_t>(cores), qrt::ThreadPool::kMaxThreads));
  qrt::ThreadPool pool;
  qrt::Error error;
  CHECK(pool.start(0, &error) == QRT_INVALID_ARGUMENT);
  CHECK(pool.start(qrt::ThreadPool::kMaxThreads + 1, &error) == QRT_INVALID_ARGUMENT);
  CHECK(std::string(error.message).find("expected 1 to") != std::string::npos);
}
