// Every input the loader fuzzer stopped on (tests/data/fuzz/model/), replayed
// through the harness's own entry point (tests/fuzz/runtime_entries.h): load,
// prepare under the harness's bounds, invoke when within its budgets. A
// crash or, in the sanitizer builds, a memory error fails the test; the
// fuzz smoke in CI starts from the same files under clang's UBSan.
#include <doctest/doctest.h>

#include <string>

#include "fuzz/runtime_entries.h"
#include "fuzz/saved_inputs.h"

TEST_CASE("fuzz regressions: the loader harness survives every saved input") {
  const auto saved = qrt::fuzz::saved_inputs("model");
  CHECK(saved.size() >= 2);
  for (const auto& input : saved) {
    // Not structured bindings: a C++17 lambda (INFO's) cannot capture one.
    const auto& file = input.first;
    const auto& bytes = input.second;
    INFO("tests/data/fuzz/model/" << file);
    qrt::fuzz::run_model(bytes.data(), bytes.size());
  }
}
