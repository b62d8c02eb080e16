// Shared pieces of the ARM kernel differential tests (test_arm_gemm.cc,
// test_arm_conv.cc, test_arm_dwconv.cc). The random parameters and the byte
// comparison are the x86 tests' (test_x86_common.h): both fast paths are
// held to the same reference with the same generators.
#pragma once

#include <vector>

#include "kernels/cpu.h"
#include "test_x86_common.h"

namespace qrt_arm_test {

using namespace qrt_x86_test;

// Tiers the ARM fast paths exist for; each test runs every one this CPU has
// (under qemu-user with -cpu max, both). On x86 the list is empty.
inline std::vector<k::Isa> arm_tiers() {
  std::vector<k::Isa> out;
  for (k::Isa isa : {k::Isa::neon, k::Isa::neon_dotprod}) {
    if (k::isa_available(isa)) out.push_back(isa);
  }
  return out;
}

}  // namespace qrt_arm_test
