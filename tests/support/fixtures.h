// Golden fixtures written by tests/parity/make_fixtures.py: one directory per
// case with params.txt and .npy arrays.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "npy.h"

namespace qrt::test {

class Fixture {
 public:
  std::string name;  // "<family>/<case>"
  std::string dir;

  bool has(const std::string& key) const { return params_.count(key) != 0; }
  // Each getter fails the current test (doctest REQUIRE) on a missing or
  // malformed entry, naming the fixture and key.
  float f32(const std::string& key) const;
  int64_t i64(const std::string& key) const;
  std::string str(const std::string& key) const;
  std::vector<float> f32s(const std::string& key) const;
  std::vector<int64_t> i64s(const std::string& key) const;
  tools::NpyArray array(const std::string& name) const;

  std::map<std::string, std::vector<std::string>> params_;
};

// Every case of a family, sorted by name; fails the test if there are none.
std::vector<Fixture> load_fixtures(const std::string& family);

// Per-operator parity counts of a fixture family, for the summary line the
// closing notes cite. A key names the op, dtype and the profile it ran in
// ("CONV_2D u8 qnnpack").
class ParityTally {
 public:
  // One run of fixture case `case_name`: elements compared, how many are
  // bit-identical to PyTorch, how many within the f32 tolerance (1e-5
  // relative, 1e-6 absolute; pass `identical` for integer outputs).
  void add(const std::string& key, const std::string& case_name, size_t elements,
           size_t identical, size_t within);
  // "<family> parity: N cases, ..." and one line per key.
  std::string summary(const std::string& family) const;

 private:
  struct Row {
    std::set<std::string> cases;
    size_t runs = 0, elements = 0, identical = 0, within = 0;
  };
  std::map<std::string, Row> rows_;
};

}  // namespace qrt::test
