// Converter tests on exported ONNX fixtures: the one array of an .npz, and a
// model converted fp32 with the default passes. Header-only: cross builds
// compile no converter code (tests/CMakeLists.txt).
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "converter/calibration.h"
#include "converter/lower.h"
#include "converter/onnx_import.h"
#include "converter/passes.h"
#include "npy.h"

namespace qrt::test {

inline tools::NpyArray npz_single(const std::string& path) {
  std::vector<std::pair<std::string, tools::NpyArray>> arrays;
  std::string error;
  REQUIRE_MESSAGE(convert::read_npz(path, &arrays, &error), error);
  REQUIRE(arrays.size() == 1);
  return arrays[0].second;
}

inline convert::LowerResult convert_fp32(const std::string& onnx) {
  convert::Graph g;
  std::string error;
  REQUIRE_MESSAGE(convert::import_onnx_file(onnx, convert::ImportOptions{}, &g, &error), error);
  REQUIRE_MESSAGE(convert::run_default_passes(g, &error), error);
  convert::LowerResult r;
  REQUIRE_MESSAGE(convert::lower_graph(g, convert::LowerOptions{}, &r, &error), error);
  return r;
}

}  // namespace qrt::test
