// qrt-bench end to end: runs the built tool on a small model and checks its
// report, its JSON and its errors. tests/CMakeLists.txt builds qrt-bench with
// qrt-tests and defines QRT_BENCH_COMMAND, the command that runs it: its path,
// after the emulator (qemu-user) in cross builds. A tool that is missing or
// does not run fails these tests.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "npy.h"
#include "qrt/qrt.h"
#include "support/test_models.h"
#include "support/tool_command.h"

namespace fs = std::filesystem;

namespace {

using qrt::test::run_tool;
using qrt::test::slurp_text;
using qrt::test::ToolResult;
using BenchDir = qrt::test::TempDir;

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

#ifndef QRT_BENCH_COMMAND
#error "QRT_BENCH_COMMAND is not defined: tests/CMakeLists.txt defines it"
#endif

// The emulator and its arguments in cross builds, then qrt-bench's path.
std::vector<std::string> bench_command() { return {QRT_BENCH_COMMAND}; }

ToolResult run_bench(const BenchDir& dir, const std::vector<std::string>& args) {
  return run_tool(bench_command(), args, dir);
}

// Fails the test unless qrt-bench is built and runs here.
void require_bench(const BenchDir& dir) {
  const std::string path = bench_command().back();
  std::error_code ec;
  REQUIRE_MESSAGE(fs::is_regular_file(path, ec), "qrt-bench is not built at " << path);
  const ToolResult help = run_bench(dir, {"--help"});
  CAPTURE(help.err);
  REQUIRE_MESSAGE(help.code == 0, path << " --help exited " << help.code);
  REQUIRE(help.out.find("usage: qrt-bench") != std::string::npos);
}

int op_count(const std::vector<uint8_t>& bytes) {
  qrt::test::AlignedBytes aligned(bytes);
  qrt_model* model = nullptr;
  REQUIRE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK);
  qrt_interpreter* interp = nullptr;
  REQUIRE(qrt_interpreter_create(model, nullptr, &interp) == QRT_OK);
  const int n = qrt_op_count(interp);
  qrt_interpreter_free(interp);
  qrt_model_free(model);
  return n;
}

// One LSTM (or GRU) layer with float weights: x [seq, batch, 4] ([batch, seq, 4]
// when batch_major) -> y, hidden size 4.
std::vector<uint8_t> rnn_model(qrt::fb::OpCode code, bool batch_major, int seq, int batch) {
  qrt::convert::ModelBuilder b;
  const int hidden = 4, gh = (code == qrt::fb::OpCode::LSTM ? 4 : 3) * hidden;
  const std::vector<int32_t> xs = batch_major ? std::vector<int32_t>{batch, seq, hidden}
                                              : std::vector<int32_t>{seq, batch, hidden};
  const int x = b.add_tensor("x", xs, qrt::fb::DType::F32);
  std::vector<float> weights(static_cast<size_t>(gh * hidden));
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = 0.01f * static_cast<float>(i % 7);
  const int w = b.add_constant_f32("W", {gh, hidden}, weights);
  const int r = b.add_constant_f32("R", {gh, hidden}, weights);
  const int y = b.add_tensor("y", xs, qrt::fb::DType::F32);
  qrt::fb::RnnOptionsT o;
  o.hidden_size = hidden;
  o.batch_major = batch_major;
  qrt::fb::OpOptionsUnion u;
  u.Set(o);
  b.add_operator(code, {x, w, r}, {y}, u, "rnn0");
  b.set_inputs({x});
  b.set_outputs({y});
  return b.finish();
}

void write_npy_zeros(const std::string& path, const std::string& dtype,
                     const std::vector<int64_t>& shape) {
  qrt::tools::NpyArray a;
  a.dtype = dtype;
  a.shape = shape;
  size_t n = qrt::tools::npy_itemsize(dtype);
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  a.data.assign(n, 0);
  std::string error;
  REQUIRE_MESSAGE(qrt::tools::write_npy(path, a, &error), error);
}

}  // namespace

TEST_CASE("qrt-bench: report, per-op table and JSON on random inputs") {
  BenchDir dir("qrt-test-bench-");
  require_bench(dir);
  const std::vector<uint8_t> bytes = qrt::test::int8_cnn(qrt::fb::Profile::Qnnpack);
  const std::string model = dir.file("cnn.qrt");
  write_bytes(model, bytes);
  const std::string json = dir.file("report.json");

  const ToolResult r = run_bench(dir, {model, "--runs", "3", "--warmup", "1", "--threads", "2",
                                   "--seed", "7", "--profile-ops", "--json", json});
  CAPTURE(r.out);
  CAPTURE(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("model       " + model + "  " + std::to_string(bytes.size()) + " B") !=
        std::string::npos);
  CHECK(r.out.find("threads     2") != std::string::npos);
  CHECK(r.out.find("'image' f32 (1, 8, 8, 3)  <- random standard normal, seed 7") !=
        std::string::npos);
  CHECK(r.out.find("memory      arena ") != std::string::npos);
  CHECK(r.out.find("(3 runs after 1 warm-up)") != std::string::npos);
  CHECK(r.out.find("throughput  ") != std::string::npos);
  CHECK(r.out.find("sequence    ") == std::string::npos);  // a CNN declares no sequence axis
  for (const char* s : {"min ", "median ", "mean ", "p90 ", "max "})
    CHECK(r.out.find(s) != std::string::npos);
  // One table row per op, named as in the model, MACs where the op has them.
  CHECK(r.out.find("CONV_2D") != std::string::npos);
  CHECK(r.out.find("conv1") != std::string::npos);
  CHECK(r.out.find("FULLY_CONNECTED") != std::string::npos);
  CHECK(r.out.find("GMAC/s") != std::string::npos);

  const std::string j = slurp_text(json);
  CAPTURE(j);
  CHECK(j.find("\"runs\": 3,") != std::string::npos);
  CHECK(j.find("\"seed\": 7,") != std::string::npos);
  CHECK(j.find("\"threads\": 2,") != std::string::npos);
  CHECK(j.find("\"model_file_bytes\": " + std::to_string(bytes.size())) != std::string::npos);
  CHECK(j.find("\"latency_ms\": {\"min\": ") != std::string::npos);
  CHECK(j.find("\"arena_bytes\": ") != std::string::npos);
  CHECK(j.find("\"source\": \"random standard normal\"") != std::string::npos);
  CHECK(j.find("\"sequence\": null,") != std::string::npos);
  const size_t samples = j.find("\"samples_ms\": [");
  REQUIRE(samples != std::string::npos);
  const std::string list = j.substr(samples, j.find(']', samples) - samples);
  CHECK(count_of(list, ",") == 2);  // three samples
  CHECK(count_of(j, "\"index\": ") == static_cast<size_t>(op_count(bytes)));
  CHECK(count_of(j, "\"kind\": \"CONV_2D\"") == 3);
  CHECK(j.back() == '\n');
  // No temporary file left beside the report.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) files += e.path().extension() != ".txt";
  CHECK(files == 2);  // cnn.qrt and report.json
}

TEST_CASE("qrt-bench: inputs from .npy files") {
  BenchDir dir("qrt-test-bench-");
  require_bench(dir);
  const std::string model = dir.file("cnn.qrt");
  write_bytes(model, qrt::test::int8_cnn(qrt::fb::Profile::Fbgemm));
  const std::string image = dir.file("image.npy");
  write_npy_zeros(image, "f4", {1, 8, 8, 3});

  for (const std::string& arg : {"image=" + image, image}) {
    CAPTURE(arg);
    const ToolResult r = run_bench(dir, {model, "--runs=2", "--warmup=0", "--input", arg});
    CAPTURE(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("'image' f32 (1, 8, 8, 3)  <- " + image) != std::string::npos);
    CHECK(r.out.find("(2 runs after 0 warm-up)") != std::string::npos);
    CHECK(r.out.find("per-op") == std::string::npos);
  }
}

TEST_CASE("qrt-bench: frames per second of an LSTM or GRU, tokens per second by flag") {
  BenchDir dir("qrt-test-bench-");
  require_bench(dir);
  struct Case {
    qrt::fb::OpCode code;
    bool batch_major;
    std::string line;  // what the sequence line starts with
  };
  // seq 6, batch 3: the time axis is found from the op, not guessed from the shape.
  const Case cases[] = {
      {qrt::fb::OpCode::LSTM, false,
       "sequence    6 frames per inference (axis 0 of 'x', from LSTM 'rnn0'): "},
      {qrt::fb::OpCode::GRU, true,
       "sequence    6 frames per inference (axis 1 of 'x', from GRU 'rnn0'): "},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    const std::string model = dir.file("rnn.qrt");
    write_bytes(model, rnn_model(c.code, c.batch_major, /*seq=*/6, /*batch=*/3));
    const std::string json = dir.file("rnn.json");
    const ToolResult r = run_bench(dir, {model, "--runs=3", "--warmup=0", "--json", json});
    CAPTURE(r.out);
    CAPTURE(r.err);
    REQUIRE(r.code == 0);
    const size_t at = r.out.find(c.line);
    REQUIRE(at != std::string::npos);
    // frames/s = 6 x inferences/s, both printed from the same mean.
    const double per_s = std::atof(r.out.c_str() + at + c.line.size());
    const size_t tp = r.out.find("throughput  ");
    REQUIRE(tp != std::string::npos);
    const double inferences = std::atof(r.out.c_str() + tp + 12);
    CHECK(per_s == doctest::Approx(6 * inferences).epsilon(0.01));
    CHECK(r.out.find(" frames/s\n", at) != std::string::npos);
    const std::string j = slurp_text(json);
    CAPTURE(j);
    CHECK(j.find(std::string("\"sequence\": {\"unit\": \"frames\", \"steps\": 6, ") +
                 "\"tensor\": \"x\", " +
                 "\"axis\": " + (c.batch_major ? "1" : "0") + ", \"from\": \"" +
                 (c.code == qrt::fb::OpCode::LSTM ? "LSTM" : "GRU") + " 'rnn0'\", \"per_s\": ") !=
          std::string::npos);

    // The flag wins over the op: here the batch axis is counted, as tokens.
    const ToolResult f = run_bench(dir, {model, "--runs=2", "--warmup=0", "--sequence-axis",
                                         c.batch_major ? "x:0" : "x:1"});
    CAPTURE(f.err);
    REQUIRE(f.code == 0);
    CHECK(f.out.find(std::string("sequence    3 tokens per inference (axis ") +
                     (c.batch_major ? "0" : "1") + " of 'x', from --sequence-axis): ") !=
          std::string::npos);
    CHECK(f.out.find("frames") == std::string::npos);
  }

  // A model without an LSTM: tokens only by flag.
  const std::string cnn = dir.file("cnn.qrt");
  write_bytes(cnn, qrt::test::int8_cnn(qrt::fb::Profile::Qnnpack));
  const std::string json = dir.file("cnn.json");
  const ToolResult r =
      run_bench(dir, {cnn, "--runs=2", "--warmup=0", "--sequence-axis=image:2", "--json", json});
  CAPTURE(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("sequence    8 tokens per inference (axis 2 of 'image', "
                    "from --sequence-axis): ") != std::string::npos);
  CHECK(slurp_text(json).find("\"sequence\": {\"unit\": \"tokens\", \"steps\": 8, \"tensor\": "
                              "\"image\", \"axis\": 2, \"from\": \"--sequence-axis\", ") !=
        std::string::npos);
}

TEST_CASE("qrt-bench: --isa pins a kernel tier") {
  BenchDir dir("qrt-test-bench-");
  require_bench(dir);
  const std::string model = dir.file("cnn.qrt");
  write_bytes(model, qrt::test::int8_cnn(qrt::fb::Profile::Qnnpack));
  const ToolResult r = run_bench(dir, {model, "--runs=2", "--warmup=0", "--isa", "ref"});
  CAPTURE(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("isa         ref (from QRT_ISA") != std::string::npos);
  // A tier of the other architecture: named, refused by the runtime, exit 1.
#if defined(__x86_64__) || defined(__i386__)
  const char* foreign = "neon";
#else
  const char* foreign = "avx2";
#endif
  const ToolResult bad = run_bench(dir, {model, "--isa", foreign});
  CHECK(bad.code == 1);
  CHECK(bad.err.find(std::string("QRT_ISA=") + foreign) != std::string::npos);
}

TEST_CASE("qrt-bench: bad input is one error naming the culprit") {
  BenchDir dir("qrt-test-bench-");
  require_bench(dir);
  const std::string model = dir.file("cnn.qrt");
  write_bytes(model, qrt::test::int8_cnn(qrt::fb::Profile::Qnnpack));
  const std::string corrupt = dir.file("corrupt.qrt");
  std::vector<uint8_t> garbage(4096);
  std::mt19937 rng(5);
  for (uint8_t& b : garbage) b = static_cast<uint8_t>(rng());
  write_bytes(corrupt, garbage);
  const std::string truncated = dir.file("truncated.qrt");
  std::vector<uint8_t> half = qrt::test::int8_cnn(qrt::fb::Profile::Qnnpack);
  half.resize(half.size() / 2);
  write_bytes(truncated, half);
  const std::string nchw = dir.file("nchw.npy");
  write_npy_zeros(nchw, "f4", {1, 3, 8, 8});
  const std::string bytes_npy = dir.file("u8.npy");
  write_npy_zeros(bytes_npy, "u1", {1, 8, 8, 3});
  const std::string missing = dir.file("missing.qrt");

  struct Case {
    std::vector<std::string> args;
    int code;
    std::vector<std::string> says;
  };
  const std::vector<Case> cases = {
      {{missing}, 2, {missing, "no such file"}},
      {{corrupt}, 1, {"cannot load " + corrupt, "invalid model"}},
      {{truncated}, 1, {"cannot load " + truncated}},
      {{model, "--input", "nope=" + nchw}, 2, {"--input nope=", "no input 'nope'", "'image'"}},
      {{model, "--input", "image=" + nchw},
       1,
       {"--input image=" + nchw, "shape (1, 3, 8, 8)", "(1, 8, 8, 3)"}},
      {{model, "--input", "image=" + bytes_npy}, 1, {"dtype u8", "'image' dtype f32"}},
      {{model, "--input", "image=" + dir.file("absent.npy")}, 2, {"absent.npy: no such file"}},
      {{model, "--runs", "0"}, 2, {"--runs", "'0'"}},
      {{model, "--runs", "ten"}, 2, {"--runs", "'ten'"}},
      {{model, "--runs"}, 2, {"--runs needs a value"}},
      {{model, "--warmup", "-1"}, 2, {"--warmup", "'-1'"}},
      {{model, "--threads", "0"}, 2, {"--threads", "'0'"}},
      {{model, "--seed", "4294967296"}, 2, {"--seed", "'4294967296'"}},
      {{model, "--json", dir.file("no/such/dir/r.json")}, 2, {"--json", "no directory"}},
      {{model, "--profile-ops=1"}, 2, {"--profile-ops takes no value"}},
      {{model, "--frobnicate"}, 2, {"unknown option '--frobnicate'"}},
      {{model, "--isa", "sse9"}, 2, {"--isa sse9", "expected ref, avx2"}},
      {{model, "--sequence-axis", "image"}, 2, {"--sequence-axis needs NAME:AXIS", "'image'"}},
      {{model, "--sequence-axis", ":1"}, 2, {"--sequence-axis needs NAME:AXIS"}},
      {{model, "--sequence-axis", "image:-1"}, 2, {"--sequence-axis", "'-1'"}},
      {{model, "--sequence-axis", "nope:0"},
       2,
       {"--sequence-axis nope:0", "no input 'nope'", "'image'"}},
      {{model, "--sequence-axis", "image:4"},
       2,
       {"--sequence-axis image:4", "(1, 8, 8, 3)", "rank 4"}},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (const std::string& a : c.args) joined += " " + a;
    CAPTURE(joined);
    const ToolResult r = run_bench(dir, c.args);
    CAPTURE(r.err);
    CHECK(r.code == c.code);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("qrt-bench: ", 0) == 0);
    CHECK(count_of(r.err, "\n") == 1);
    for (const std::string& s : c.says) CHECK(r.err.find(s) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir.file("no/such/dir")));
}
