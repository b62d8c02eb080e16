// Every input the ONNX fuzzer crashed on (tests/data/fuzz/onnx/), replayed
// through the harness's own entry point (tests/fuzz/onnx_entry.h).
#include <doctest/doctest.h>

#include <string>

#include "fuzz/onnx_entry.h"
#include "fuzz/saved_inputs.h"

// Each saved input is a broken model (a Constant without a value, a MaxPool
// with stride 0, a Conv whose weights are not 4-D): it must be refused with
// a message naming the node, not crash inside the converter or libonnx.
TEST_CASE("fuzz regressions: ONNX import refuses every saved crash input") {
  const auto saved = qrt::fuzz::saved_inputs("onnx");
  CHECK(saved.size() >= 3);
  for (const auto& [file, bytes] : saved) {
    const std::string name = "tests/data/fuzz/onnx/" + file;
    INFO(name);
    std::string why;
    CHECK_FALSE(qrt::fuzz::run_onnx(bytes.data(), bytes.size(), &why));
    CHECK(why.find("node '") != std::string::npos);
    MESSAGE(name << ": " << why);
  }
}
