// Calibration data: .npz reading (numpy's own files), matching arrays to
// graph inputs, batching, and the errors on bad data.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "converter/calibration.h"

namespace qrt::convert {
namespace {

namespace fs = std::filesystem;

std::string npz_dir() { return std::string(QRT_TEST_DATA_DIR) + "/converter/npz/"; }

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("qrt-calib-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void save(const std::string& path, std::vector<int64_t> shape, const std::vector<float>& v,
          const std::string& dtype = "f4") {
  tools::NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(v.size() * 4);
  if (!v.empty()) std::memcpy(a.data.data(), v.data(), a.data.size());
  std::string error;
  REQUIRE_MESSAGE(tools::write_npy(path, a, &error), error);
}

std::vector<float> iota(size_t n, float start) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

TEST_CASE("npz: numpy's stored and deflated archives read the same") {
  std::vector<std::pair<std::string, tools::NpyArray>> stored, deflated, positional;
  std::string error;
  REQUIRE_MESSAGE(read_npz(npz_dir() + "stored.npz", &stored, &error), error);
  REQUIRE_MESSAGE(read_npz(npz_dir() + "deflated.npz", &deflated, &error), error);
  REQUIRE_MESSAGE(read_npz(npz_dir() + "positional.npz", &positional, &error), error);
  REQUIRE(stored.size() == 2);
  CHECK(stored[0].first == "x");
  CHECK(stored[1].first == "y");
  CHECK(stored[0].second.shape == std::vector<int64_t>{2, 3, 4, 4});
  CHECK(stored[1].second.shape == std::vector<int64_t>{2, 5});
  REQUIRE(deflated.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(deflated[i].first == stored[i].first);
    CHECK(deflated[i].second.data == stored[i].second.data);
  }
  tools::NpyArray x;
  REQUIRE(tools::read_npy(npz_dir() + "x.npy", &x, &error));
  CHECK(x.data == stored[0].second.data);
  REQUIRE(positional.size() == 1);
  CHECK(positional[0].first == "arr_0");
}

TEST_CASE("npz: damaged archives fail cleanly") {
  std::vector<uint8_t> bytes;
  {
    FILE* f = std::fopen((npz_dir() + "deflated.npz").c_str(), "rb");
    REQUIRE(f);
    int c;
    while ((c = std::fgetc(f)) != EOF) bytes.push_back(static_cast<uint8_t>(c));
    std::fclose(f);
  }
  std::vector<std::pair<std::string, tools::NpyArray>> out;
  std::string error;
  REQUIRE(parse_npz(bytes.data(), bytes.size(), &out, &error));
  // Truncations and flipped bytes anywhere: an error, never a crash.
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    CAPTURE(cut);
    CHECK_FALSE(parse_npz(bytes.data(), cut, &out, &error));
  }
  for (size_t at = 0; at < bytes.size(); at += 3) {
    std::vector<uint8_t> b = bytes;
    b[at] ^= 0x5a;
    parse_npz(b.data(), b.size(), &out, &error);  // must not crash; may still parse
  }
  std::vector<uint8_t> flipped = bytes;
  flipped[60] ^= 0xff;  // inside the first entry's compressed data
  CHECK_FALSE(parse_npz(flipped.data(), flipped.size(), &out, &error));
}

const std::vector<CalibInput> kOneInput = {{"x", {1, 3, 4, 4}}};

TEST_CASE("calibration files: batches, samples and --calib-batch") {
  TempDir tmp;
  fs::create_directories(tmp.path / "set");
  save(tmp / "set/b0.npy", {2, 3, 4, 4}, iota(96, 0));
  save(tmp / "set/b1.npy", {3, 4, 4}, iota(48, 1000));  // one sample
  save(tmp / "set/b2.npy", {3, 3, 4, 4}, iota(144, 2000));
  std::string error;
  CalibrationSet set;
  SUBCASE("one forward call per file, in name order") {
    REQUIRE_MESSAGE(open_calibration({tmp / "set"}, kOneInput, 0, &set, &error), error);
    REQUIRE(set.batches() == 3);
    CHECK(set.samples == 6);
    CalibBatch b;
    REQUIRE(read_calibration_batch(set, 1, &b, &error));
    CHECK(b.batch == 1);
    CHECK(b.inputs[0].front() == 1000.f);
    REQUIRE(read_calibration_batch(set, 2, &b, &error));
    CHECK(b.batch == 3);
  }
  SUBCASE("re-batched across files") {
    REQUIRE_MESSAGE(open_calibration({tmp / "set"}, kOneInput, 4, &set, &error), error);
    REQUIRE(set.batches() == 2);
    CalibBatch b;
    REQUIRE(read_calibration_batch(set, 0, &b, &error));
    CHECK(b.batch == 4);
    REQUIRE(b.inputs[0].size() == 4 * 48);
    CHECK(b.inputs[0][95] == 95.f);
    CHECK(b.inputs[0][96] == 1000.f);
    CHECK(b.inputs[0][144] == 2000.f);
    REQUIRE(read_calibration_batch(set, 1, &b, &error));
    CHECK(b.batch == 2);
    CHECK(b.inputs[0][0] == 2048.f);
  }
  SUBCASE("an npz with one array feeds a single-input graph") {
    REQUIRE_MESSAGE(open_calibration({npz_dir() + "positional.npz"}, {{"input", {1, 3, 4, 4}}}, 0, &set, &error),
                    error);
    CHECK(set.samples == 2);
  }
}

TEST_CASE("calibration files: several inputs by name") {
  const std::vector<CalibInput> two = {{"x", {1, 3, 4, 4}}, {"y", {1, 5}}};
  std::string error;
  CalibrationSet set;
  SUBCASE("npz keys") {
    REQUIRE_MESSAGE(open_calibration({npz_dir() + "deflated.npz"}, two, 0, &set, &error), error);
    CalibBatch b;
    REQUIRE(read_calibration_batch(set, 0, &b, &error));
    CHECK(b.batch == 2);
    CHECK(b.inputs[1].size() == 10);
  }
  SUBCASE("inputs with different sample counts") {
    TempDir tmp;
    fs::create_directories(tmp.path / "r0");
    save(tmp / "r0/x.npy", {2, 3, 4, 4}, iota(96, 0));
    save(tmp / "r0/y.npy", {5}, iota(5, 0));
    CHECK_FALSE(open_calibration({tmp.path.string()}, two, 0, &set, &error));
    CHECK(error.find("samples") != std::string::npos);
  }
  SUBCASE("a folder with one <input>.npy each") {
    TempDir tmp;
    fs::create_directories(tmp.path / "r0");
    save(tmp / "r0/x.npy", {3, 4, 4}, iota(48, 0));
    save(tmp / "r0/y.npy", {5}, iota(5, 0));
    REQUIRE_MESSAGE(open_calibration({tmp.path.string()}, two, 0, &set, &error), error);
    CHECK(set.batches() == 1);
    CHECK(set.samples == 1);
  }
  SUBCASE("a bare .npy cannot feed two inputs") {
    CHECK_FALSE(open_calibration({npz_dir() + "x.npy"}, two, 0, &set, &error));
    CHECK(error.find("'x', 'y'") != std::string::npos);
  }
  SUBCASE("a missing key names the file and the input") {
    const std::vector<CalibInput> other = {{"x", {1, 3, 4, 4}}, {"z", {1, 5}}};
    CHECK_FALSE(open_calibration({npz_dir() + "stored.npz"}, other, 0, &set, &error));
    CHECK(error.find("stored.npz") != std::string::npos);
    CHECK(error.find("'z'") != std::string::npos);
  }
}

TEST_CASE("calibration errors name the file and the input") {
  TempDir tmp;
  std::string error;
  CalibrationSet set;
  SUBCASE("shape") {
    save(tmp / "s.npy", {2, 3, 5, 4}, iota(120, 0));
    CHECK_FALSE(open_calibration({tmp / "s.npy"}, kOneInput, 0, &set, &error));
    CHECK(error.find("s.npy") != std::string::npos);
    CHECK(error.find("input 'x'") != std::string::npos);
    CHECK(error.find("(2, 3, 5, 4)") != std::string::npos);
    CHECK(error.find("(B, 3, 4, 4)") != std::string::npos);
  }
  SUBCASE("dtype") {
    save(tmp / "d.npy", {1, 3, 4, 2}, iota(48, 0), "f8");  // 24 doubles
    CHECK_FALSE(open_calibration({tmp / "d.npy"}, kOneInput, 0, &set, &error));
    CHECK(error.find("float64") != std::string::npos);
    CHECK(error.find("input 'x'") != std::string::npos);
  }
  SUBCASE("NaN and infinity") {
    std::vector<float> v = iota(96, 0);
    v[50] = INFINITY;
    save(tmp / "inf.npy", {2, 3, 4, 4}, v);
    CHECK_FALSE(open_calibration({tmp / "inf.npy"}, kOneInput, 0, &set, &error));
    CHECK(error.find("element 50 (sample 1) is infinite") != std::string::npos);
    v[50] = NAN;
    save(tmp / "nan.npy", {2, 3, 4, 4}, v);
    CHECK_FALSE(open_calibration({tmp / "nan.npy"}, kOneInput, 0, &set, &error));
    CHECK(error.find("NaN") != std::string::npos);
  }
  SUBCASE("empty") {
    CHECK_FALSE(open_calibration({}, kOneInput, 0, &set, &error));
    fs::create_directories(tmp.path / "e");
    CHECK_FALSE(open_calibration({tmp / "e"}, kOneInput, 0, &set, &error));
    CHECK(error.find("no .npy or .npz") != std::string::npos);
    save(tmp / "zero.npy", {0, 3, 4, 4}, {});
    CHECK_FALSE(open_calibration({tmp / "zero.npy"}, kOneInput, 0, &set, &error));
    CHECK(error.find("no samples") != std::string::npos);
  }
  SUBCASE("not a calibration file") {
    CHECK_FALSE(open_calibration({tmp / "missing.npy"}, kOneInput, 0, &set, &error));
    CHECK(error.find("no such file") != std::string::npos);
    std::FILE* f = std::fopen((tmp / "notes.txt").c_str(), "w");
    std::fputs("hi", f);
    std::fclose(f);
    CHECK_FALSE(open_calibration({tmp / "notes.txt"}, kOneInput, 0, &set, &error));
  }
}

}  // namespace
}  // namespace qrt::convert
