// Golden fixtures written by tests/parity/make_fixtures.py: one directory per
// case with params.txt and .npy arrays.
#pragma once

#include <map>
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

}  // namespace qrt::test
