// The inputs a fuzzer once crashed on, kept in tests/data/fuzz/<harness>/ and
// replayed by the normal test build.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace qrt::fuzz {

// (file name, bytes) sorted by name; none when the folder does not exist.
inline std::vector<std::pair<std::string, std::vector<uint8_t>>> saved_inputs(
    const std::string& harness) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(QRT_TEST_DATA_DIR) / "fuzz" / harness;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    out.emplace_back(e.path().filename().string(),
                     std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {}));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace qrt::fuzz
