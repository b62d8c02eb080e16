#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "npy.h"
#include "support/tool_command.h"

namespace fs = std::filesystem;
using qrt::tools::NpyArray;
using qrt::tools::parse_npy;
using qrt::tools::read_npy;
using qrt::tools::write_npy;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("qrt-test-npy-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::vector<uint8_t> bytes_of(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// A .npy file of `major`.0 with `dict` as the header text, unpadded.
std::vector<uint8_t> make_npy(int major, const std::string& dict, size_t data_bytes) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const size_t len = dict.size();
  const size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
  out += dict;
  std::vector<uint8_t> v = bytes_of(out);
  for (size_t i = 0; i < data_bytes; ++i) v.push_back(static_cast<uint8_t>(i * 7 + 1));
  return v;
}

void spit(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Parses from an exactly sized heap copy so a sanitizer sees any over-read.
bool parse_copy(const std::vector<uint8_t>& bytes, NpyArray* out, std::string* error) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size() + 1]);
  std::copy(bytes.begin(), bytes.end(), copy.get());
  return parse_npy(copy.get(), bytes.size(), out, error);
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

}  // namespace

TEST_CASE("npy: itemsize and shape strings") {
  CHECK(qrt::tools::npy_itemsize("f4") == 4);
  CHECK(qrt::tools::npy_itemsize("i8") == 8);
  CHECK(qrt::tools::npy_itemsize("b1") == 1);
  CHECK(qrt::tools::npy_itemsize("<f4") == 0);
  CHECK(qrt::tools::npy_itemsize("c8") == 0);
  CHECK(qrt::tools::npy_shape_string({}) == "()");
  CHECK(qrt::tools::npy_shape_string({3}) == "(3,)");
  CHECK(qrt::tools::npy_shape_string({2, 3}) == "(2, 3)");
}

TEST_CASE("npy: write produces numpy's exact header") {
  TempDir dir;
  NpyArray a{"f4", {2, 3}, std::vector<uint8_t>(24, 0x3f)};
  std::string error;
  REQUIRE_MESSAGE(write_npy(dir.file("a.npy"), a, &error), error);
  const std::vector<uint8_t> got = qrt::test::slurp_bytes(dir.file("a.npy"));
  // What np.save(np.zeros((2, 3), np.float32)) writes: a 128-byte preamble.
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  std::string expect = std::string("\x93NUMPY\x01\x00", 8) + "v" + std::string(1, '\0') + dict +
                       std::string(128 - 10 - dict.size() - 1, ' ') + "\n";
  REQUIRE(got.size() == 128 + 24);
  CHECK(std::string(got.begin(), got.begin() + 128) == expect);

  NpyArray b{"u1", {7}, std::vector<uint8_t>(7, 1)};
  REQUIRE(write_npy(dir.file("b.npy"), b, &error));
  const std::vector<uint8_t> got_b = qrt::test::slurp_bytes(dir.file("b.npy"));
  REQUIRE(got_b.size() == 128 + 7);
  const std::string text(got_b.begin() + 10, got_b.begin() + 128);
  CHECK(text.rfind("{'descr': '|u1', 'fortran_order': False, 'shape': (7,), }  ", 0) == 0);
  CHECK(got_b[127] == '\n');
}

TEST_CASE("npy: round trip every dtype and rank 0..5") {
  const uint32_t seed = 20240611;
  CAPTURE(seed);
  std::mt19937 rng(seed);
  TempDir dir;
  for (const char* dtype : {"f4", "f8", "u1", "i1", "i4", "i8", "b1"}) {
    for (size_t rank = 0; rank <= 5; ++rank) {
      for (bool with_zero : {false, true}) {
        if (with_zero && rank == 0) continue;
        NpyArray a;
        a.dtype = dtype;
        size_t elements = 1;
        for (size_t i = 0; i < rank; ++i) {
          const int64_t d = with_zero && i == rank / 2 ? 0 : static_cast<int64_t>(1 + rng() % 4);
          a.shape.push_back(d);
          elements *= static_cast<size_t>(d);
        }
        a.data.resize(elements * qrt::tools::npy_itemsize(dtype));
        for (auto& byte : a.data) byte = static_cast<uint8_t>(rng());
        CAPTURE(dtype);
        CAPTURE(qrt::tools::npy_shape_string(a.shape));
        const std::string path = dir.file(std::string(dtype) + "_" + std::to_string(rank) + ".npy");
        std::string error;
        REQUIRE_MESSAGE(write_npy(path, a, &error), error);

        NpyArray b;
        REQUIRE_MESSAGE(read_npy(path, &b, &error), error);
        CHECK(b.dtype == a.dtype);
        CHECK(b.shape == a.shape);
        CHECK(b.data == a.data);

        const std::vector<uint8_t> file = qrt::test::slurp_bytes(path);
        CHECK((file.size() - a.data.size()) % 64 == 0);
        NpyArray c;
        REQUIRE_MESSAGE(parse_copy(file, &c, &error), error);
        CHECK(c.shape == a.shape);
        CHECK(c.data == a.data);
      }
    }
  }
}

TEST_CASE("npy: hand-made headers of versions 1.0, 2.0 and 3.0") {
  struct Case {
    int major;
    std::string dict;
    std::string dtype;
    std::vector<int64_t> shape;
    size_t data_bytes;
  };
  const std::vector<Case> cases = {
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", "f4", {2, 3}, 24},
      {2, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }    \n", "i8", {4}, 32},
      {3, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }\n", "u1", {}, 1},
      // Other key order, double quotes, no trailing comma, no newline.
      {1, "{\"shape\": (1, 2), \"descr\": \"<i4\", \"fortran_order\": False}", "i4", {1, 2}, 8},
      // Python 2 wrote longs with an L suffix; whitespace anywhere Python allows.
      {1, "{ 'descr' : '|i1' ,\n 'fortran_order' :False,'shape':( 2L ,3L , ) }", "i1", {2, 3}, 6},
      {1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }\n", "f8", {0, 5}, 0},
      {1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n", "b1", {3}, 3},
      // The byte order of one-byte items is meaningless.
      {1, "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }\n", "u1", {2}, 2},
  };
  for (const Case& c : cases) {
    CAPTURE(c.dict);
    const std::vector<uint8_t> file = make_npy(c.major, c.dict, c.data_bytes);
    NpyArray a;
    std::string error;
    REQUIRE_MESSAGE(parse_copy(file, &a, &error), error);
    CHECK(a.dtype == c.dtype);
    CHECK(a.shape == c.shape);
    REQUIRE(a.data.size() == c.data_bytes);
    for (size_t i = 0; i < c.data_bytes; ++i) CHECK(a.data[i] == static_cast<uint8_t>(i * 7 + 1));
  }
}

TEST_CASE("npy: bad inputs are refused with a message") {
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
  auto dict_with = [](const std::string& descr, const std::string& order,
                      const std::string& shape) {
    return "{'descr': " + descr + ", 'fortran_order': " + order + ", 'shape': " + shape + ", }\n";
  };
  std::vector<uint8_t> huge_header = make_npy(2, std::string(10001, ' '), 0);
  std::vector<uint8_t> truncated_header = make_npy(1, ok_dict, 24);
  truncated_header.resize(40);
  std::vector<uint8_t> v4 = make_npy(1, ok_dict, 24);
  v4[6] = 4;
  std::vector<uint8_t> v1_1 = make_npy(1, ok_dict, 24);
  v1_1[7] = 1;
  std::vector<uint8_t> v0 = make_npy(1, ok_dict, 24);
  v0[6] = 0;
  std::vector<uint8_t> non_ascii =
      make_npy(1, "{'descr': '<f\xe9', 'fortran_order': False, 'shape': (), }", 4);
  std::string deep = "(";
  for (int i = 0; i < 65; ++i) deep += "1, ";
  deep += ")";

  struct Case {
    std::string what;
    std::vector<uint8_t> bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"empty", {}, "too short"},
      {"truncated magic", bytes_of("\x93NUM"), "too short"},
      {"magic only", bytes_of("\x93NUMPY"), "too short"},
      {"wrong magic", bytes_of("\x93NUMPZ\x01"), "not a .npy file"},
      {"text file", bytes_of("hello world, this is not numpy"), "not a .npy file"},
      {"v1 without length", bytes_of(std::string("\x93NUMPY\x01\x00\x10", 9)), "too short"},
      {"v2 without length", bytes_of(std::string("\x93NUMPY\x02\x00\x10\x00\x00", 11)),
       "too short"},
      {"version 4.0", v4, "unsupported .npy format version 4.0"},
      {"version 1.1", v1_1, "unsupported .npy format version 1.1"},
      {"version 0.0", v0, "unsupported .npy format version 0.0"},
      {"header too long", huge_header, "header length 10001 exceeds the limit of 10000 bytes"},
      {"header truncated", truncated_header, "truncated header"},
      {"no dict", make_npy(1, "['descr', '<f4']", 0), "expected a dict"},
      {"missing descr", make_npy(1, "{'fortran_order': False, 'shape': (2, 3), }", 24),
       "lacks the key 'descr'"},
      {"missing order", make_npy(1, "{'descr': '<f4', 'shape': (2, 3), }", 24),
       "lacks the key 'fortran_order'"},
      {"missing shape", make_npy(1, "{'descr': '<f4', 'fortran_order': False, }", 24),
       "lacks the key 'shape'"},
      {"extra key", make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", 4),
       "unexpected key 'x'"},
      {"repeated key",
       make_npy(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4),
       "'descr' appears twice"},
      {"unquoted key", make_npy(1, "{descr: '<f4', 'fortran_order': False, 'shape': ()}", 4),
       "quoted string"},
      {"unterminated string", make_npy(1, "{'descr': '<f4", 4), "unterminated"},
      {"escape in string",
       make_npy(1, "{'descr': '<f\\x34', 'fortran_order': False, 'shape': ()}", 4),
       "unsupported character"},
      {"non-ASCII in header", non_ascii, "unsupported character"},
      {"missing colon", make_npy(1, "{'descr' '<f4', 'fortran_order': False, 'shape': ()}", 4),
       "expected ':'"},
      {"missing comma", make_npy(1, "{'descr': '<f4' 'fortran_order': False, 'shape': ()}", 4),
       "expected ',' or '}'"},
      {"unclosed dict", make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()", 4),
       "expected ',' or '}'"},
      {"bytes after dict",
       make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()} x", 4), "after the dict"},
      {"fortran order", make_npy(1, dict_with("'<f4'", "True", "(2, 3)"), 24),
       "fortran_order: True is not supported"},
      {"order as int", make_npy(1, dict_with("'<f4'", "0", "(2, 3)"), 24), "True or False"},
      {"order as Truex", make_npy(1, dict_with("'<f4'", "Truex", "(2, 3)"), 24), "True or False"},
      {"big-endian", make_npy(1, dict_with("'>f4'", "False", "(2, 3)"), 24),
       "big-endian dtype '>f4'"},
      {"no byte order", make_npy(1, dict_with("'|f4'", "False", "(2, 3)"), 24), "little-endian"},
      {"native byte order", make_npy(1, dict_with("'=i4'", "False", "(2, 3)"), 24),
       "little-endian"},
      {"complex", make_npy(1, dict_with("'<c8'", "False", "(2, 3)"), 48),
       "unsupported dtype '<c8'"},
      {"int16", make_npy(1, dict_with("'<i2'", "False", "(2, 3)"), 12), "unsupported dtype '<i2'"},
      {"unicode", make_npy(1, dict_with("'<U10'", "False", "(2,)"), 80),
       "unsupported dtype '<U10'"},
      {"object", make_npy(1, dict_with("'|O'", "False", "(2,)"), 16), "unsupported dtype '|O'"},
      {"empty descr", make_npy(1, dict_with("''", "False", "(2,)"), 16), "unsupported dtype ''"},
      {"structured", make_npy(1, dict_with("[('a', '<f4')]", "False", "(2,)"), 8),
       "structured dtypes"},
      {"descr as int", make_npy(1, dict_with("4", "False", "(2,)"), 8), "descr as a quoted string"},
      {"shape as list", make_npy(1, dict_with("'<f4'", "False", "[2, 3]"), 24),
       "shape must be a tuple"},
      {"shape not a tuple", make_npy(1, dict_with("'<f4'", "False", "(3)"), 12),
       "shape (3) is not a tuple"},
      {"negative dim", make_npy(1, dict_with("'<f4'", "False", "(-1,)"), 0),
       "non-negative integer"},
      {"leading zero", make_npy(1, dict_with("'<f4'", "False", "(03,)"), 12), "leading zero"},
      {"float dim", make_npy(1, dict_with("'<f4'", "False", "(2.5,)"), 12), "expected ',' or ')'"},
      {"empty dim", make_npy(1, dict_with("'<f4'", "False", "(2, , 3)"), 24),
       "non-negative integer"},
      {"dim over int64", make_npy(1, dict_with("'<f4'", "False", "(9223372036854775808,)"), 0),
       "64 bits"},
      {"shape overflow", make_npy(1, dict_with("'<f4'", "False", "(4294967296, 4294967296)"), 0),
       "too large"},
      {"overflow beside a zero",
       make_npy(1, dict_with("'<i8'", "False", "(0, 4294967296, 4294967296)"), 0), "too large"},
      {"rank 65", make_npy(1, dict_with("'<f4'", "False", deep), 4), "more than 64 dimensions"},
      {"missing data", make_npy(1, ok_dict, 20),
       "header says shape (2, 3) of <f4 = 24 bytes but the file has 20 data bytes"},
      {"trailing data", make_npy(1, ok_dict, 25),
       "header says shape (2, 3) of <f4 = 24 bytes but the file has 25 data bytes"},
      {"data for an empty array", make_npy(1, dict_with("'<f4'", "False", "(0,)"), 1),
       "= 0 bytes but the file has 1 data bytes"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    NpyArray a;
    std::string error;
    CHECK_FALSE(parse_copy(c.bytes, &a, &error));
    CAPTURE(error);
    CHECK(error.find(c.message) != std::string::npos);
  }
  NpyArray a;
  std::string error;
  CHECK_FALSE(parse_npy(nullptr, 0, &a, &error));
  CHECK(!error.empty());
}

TEST_CASE("npy: every truncation of a valid file is refused") {
  std::vector<uint8_t> file =
      make_npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }\n", 16);
  NpyArray a;
  std::string error;
  REQUIRE(parse_copy(file, &a, &error));
  for (size_t n = 0; n < file.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(parse_copy(std::vector<uint8_t>(file.begin(), file.begin() + n), &a, &error));
  }
}

TEST_CASE("npy: random corruption never crashes and never lies about the size") {
  const uint32_t seed = 7;
  CAPTURE(seed);
  std::mt19937 rng(seed);
  const std::vector<uint8_t> base =
      make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> bytes = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0: bytes[at] = static_cast<uint8_t>(rng()); break;
        case 1: bytes[at] = static_cast<uint8_t>("{}()',: 0123456789<|>fiuTF\n"[rng() % 27]); break;
        case 2: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at)); break;
        default:
          bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                       static_cast<uint8_t>(rng()));
          break;
      }
      if (bytes.empty()) break;
    }
    NpyArray a;
    std::string error;
    if (parse_copy(bytes, &a, &error)) {
      ++accepted;
      size_t expect = qrt::tools::npy_itemsize(a.dtype);
      for (int64_t d : a.shape) expect *= static_cast<size_t>(d);
      CHECK(a.data.size() == expect);
    } else {
      CHECK(!error.empty());
    }
  }
  // Edits in the data bytes leave the file valid.
  CHECK(accepted > 0);
}

TEST_CASE("npy: read errors name the file") {
  TempDir dir;
  const std::string path = dir.file("short.npy");
  spit(path, make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 20));
  NpyArray a;
  std::string error;
  CHECK_FALSE(read_npy(path, &a, &error));
  CHECK(error ==
        path + ": header says shape (2, 3) of <f4 = 24 bytes but the file has 20 data bytes");

  const std::string huge = dir.file("huge.npy");
  spit(huge,
       make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }\n", 8));
  CHECK_FALSE(read_npy(huge, &a, &error));
  CHECK(error.find("= 4000000000000 bytes but the file has 8 data bytes") != std::string::npos);

  const std::string bad = dir.file("bad.npy");
  spit(bad, bytes_of("\x93NUMPY\x09"));
  CHECK_FALSE(read_npy(bad, &a, &error));
  CHECK(error.rfind(bad + ": ", 0) == 0);

  CHECK_FALSE(read_npy(dir.file("missing.npy"), &a, &error));
  CHECK(error.rfind(dir.file("missing.npy") + ": ", 0) == 0);
  CHECK_FALSE(read_npy(dir.path.string(), &a, &error));
  CHECK(error.rfind(dir.path.string() + ": ", 0) == 0);
}

TEST_CASE("npy: failed writes leave no file") {
  TempDir dir;
  NpyArray a{"f4", {2}, std::vector<uint8_t>(8, 0)};
  std::string error;

  CHECK_FALSE(write_npy("/proc/qrt-nope/x.npy", a, &error));
  CHECK(error.find("/proc/qrt-nope/x.npy") != std::string::npos);
  CHECK_FALSE(fs::exists("/proc/qrt-nope"));

  // Renaming over a directory fails after the temporary file was written.
  const fs::path sub = dir.path / "sub";
  fs::create_directories(sub / "inner");
  const std::set<std::string> before = listing(dir.path);
  CHECK_FALSE(write_npy(sub.string(), a, &error));
  CHECK(error.rfind(sub.string() + ": cannot write: ", 0) == 0);
  CHECK(listing(dir.path) == before);
  CHECK(fs::is_directory(sub / "inner"));

  NpyArray wrong_size{"f4", {2, 3}, std::vector<uint8_t>(20, 0)};
  CHECK_FALSE(write_npy(dir.file("w.npy"), wrong_size, &error));
  CHECK(error.find("needs 24 bytes but the array holds 20") != std::string::npos);
  NpyArray wrong_dtype{"c8", {1}, std::vector<uint8_t>(8, 0)};
  CHECK_FALSE(write_npy(dir.file("w.npy"), wrong_dtype, &error));
  CHECK(error.find("unsupported dtype 'c8'") != std::string::npos);
  NpyArray negative{"u1", {-1}, {}};
  CHECK_FALSE(write_npy(dir.file("w.npy"), negative, &error));
  CHECK(error.find("negative") != std::string::npos);
  CHECK(listing(dir.path) == before);
}

TEST_CASE("npy: write replaces an existing file") {
  TempDir dir;
  const std::string path = dir.file("x.npy");
  std::string error;
  REQUIRE(write_npy(path, NpyArray{"i4", {3}, std::vector<uint8_t>(12, 1)}, &error));
  REQUIRE(write_npy(path, NpyArray{"u1", {2, 2}, {1, 2, 3, 4}}, &error));
  NpyArray a;
  REQUIRE_MESSAGE(read_npy(path, &a, &error), error);
  CHECK(a.dtype == "u1");
  CHECK(a.shape == std::vector<int64_t>{2, 2});
  CHECK(a.data == std::vector<uint8_t>{1, 2, 3, 4});
  CHECK(listing(dir.path) == std::set<std::string>{"x.npy"});
}

TEST_CASE("npy: the largest rank round-trips") {
  TempDir dir;
  NpyArray a{"i8", std::vector<int64_t>(qrt::tools::kNpyMaxRank, 1), std::vector<uint8_t>(8, 5)};
  a.shape[0] = 1000000000000000000;  // 19 digits
  a.data.clear();
  a.shape[1] = 0;
  std::string error;
  REQUIRE_MESSAGE(write_npy(dir.file("deep.npy"), a, &error), error);
  NpyArray b;
  REQUIRE_MESSAGE(read_npy(dir.file("deep.npy"), &b, &error), error);
  CHECK(b.shape == a.shape);
  CHECK(b.data.empty());

  a.shape.push_back(1);
  CHECK_FALSE(write_npy(dir.file("deeper.npy"), a, &error));
  CHECK(error.find("rank 65 exceeds 64") != std::string::npos);
}
