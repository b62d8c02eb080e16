#include "support/fixtures.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>

namespace qrt::test {

namespace {

std::string data_dir() { return std::string(QRT_TEST_DATA_DIR) + "/parity"; }

const std::vector<std::string>& values(const Fixture& f, const std::string& key) {
  auto it = f.params_.find(key);
  REQUIRE_MESSAGE(it != f.params_.end(), f.name << ": params.txt has no '" << key << "'");
  return it->second;
}

// Hex floats (0x1.8p-3) round-trip float32 exactly through strtof.
float parse_f32(const Fixture& f, const std::string& key, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  float v = std::strtof(text.c_str(), &end);
  REQUIRE_MESSAGE((end && *end == '\0' && !text.empty()),
                  f.name << ": '" << key << "' = '" << text << "' is not a number");
  return v;
}

int64_t parse_i64(const Fixture& f, const std::string& key, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  REQUIRE_MESSAGE((end && *end == '\0' && !text.empty() && errno == 0),
                  f.name << ": '" << key << "' = '" << text << "' is not an integer");
  return v;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

float Fixture::f32(const std::string& key) const {
  const auto& v = values(*this, key);
  REQUIRE_MESSAGE(v.size() == 1, name << ": '" << key << "' has " << v.size() << " values");
  return parse_f32(*this, key, v[0]);
}

int64_t Fixture::i64(const std::string& key) const {
  const auto& v = values(*this, key);
  REQUIRE_MESSAGE(v.size() == 1, name << ": '" << key << "' has " << v.size() << " values");
  return parse_i64(*this, key, v[0]);
}

std::string Fixture::str(const std::string& key) const {
  const auto& v = values(*this, key);
  REQUIRE_MESSAGE(v.size() == 1, name << ": '" << key << "' has " << v.size() << " values");
  return v[0];
}

std::vector<float> Fixture::f32s(const std::string& key) const {
  std::vector<float> out;
  for (const std::string& t : values(*this, key)) out.push_back(parse_f32(*this, key, t));
  return out;
}

std::vector<int64_t> Fixture::i64s(const std::string& key) const {
  std::vector<int64_t> out;
  for (const std::string& t : values(*this, key)) out.push_back(parse_i64(*this, key, t));
  return out;
}

tools::NpyArray Fixture::array(const std::string& array_name) const {
  tools::NpyArray a;
  std::string error;
  REQUIRE_MESSAGE(tools::read_npy(dir + "/" + array_name + ".npy", &a, &error),
                  name << ": " << error);
  return a;
}

std::vector<Fixture> load_fixtures(const std::string& family) {
  std::vector<Fixture> out;
  const std::string root = data_dir() + "/" + family;
  for (const std::string& c : list_dir(root)) {
    Fixture f;
    f.name = family + "/" + c;
    f.dir = root + "/" + c;
    std::ifstream in(f.dir + "/params.txt");
    REQUIRE_MESSAGE(in.good(), f.name << ": no params.txt");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string key, word;
      if (!(words >> key)) continue;
      std::vector<std::string>& v = f.params_[key];
      while (words >> word) v.push_back(word);
    }
    out.push_back(std::move(f));
  }
  REQUIRE_MESSAGE(!out.empty(), "no fixtures under " << root
                                    << " (regenerate with tests/parity/make_fixtures.py)");
  return out;
}

void ParityTally::add(const std::string& key, const std::string& case_name, size_t elements,
                      size_t identical, size_t within) {
  Row& r = rows_[key];
  r.cases.insert(case_name);
  ++r.runs;
  r.elements += elements;
  r.identical += identical;
  r.within += within;
}

std::string ParityTally::summary(const std::string& family) const {
  auto commas = [](size_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
    return s;
  };
  std::set<std::string> cases;
  size_t elements = 0;
  for (const auto& kv : rows_) {
    cases.insert(kv.second.cases.begin(), kv.second.cases.end());
    elements += kv.second.elements;
  }
  std::ostringstream out;
  out << family << " parity: " << cases.size() << " cases, " << commas(elements)
      << " elements compared\n";
  for (const auto& kv : rows_) {
    const Row& r = kv.second;
    out << "  " << kv.first << ": " << r.cases.size() << " cases";
    if (r.runs != r.cases.size()) out << " (" << r.runs << " runs)";
    out << ", " << commas(r.elements) << " elements, " << commas(r.identical) << " identical";
    if (r.within != r.identical) out << ", " << commas(r.within) << " within tolerance";
    out << "\n";
  }
  return out.str();
}

}  // namespace qrt::test
