// Runs qrt-convert's command line in process, for converter tests.
// Header-only: cross builds compile no converter code (tests/CMakeLists.txt).
#pragma once

#include <string>
#include <vector>

#include "converter/convert_cli.h"

namespace qrt::test {

// qrt_convert_main on args (argv[0] is added); its exit status.
inline int run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "qrt-convert");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return convert::qrt_convert_main(static_cast<int>(argv.size()), argv.data());
}

}  // namespace qrt::test
