// Running one model on each kernel tier: the runtime tests of the fast paths
// compare QRT_ISA=ref against every tier this machine has, byte for byte,
// and check which kernel each op chose (so a silent fallback to the
// reference cannot pass for a fast-path test).
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"

namespace qrt::test {

// Sets QRT_ISA for one scope and puts back what was there (ctest runs each
// test case in its own process, but a whole-binary run shares one).
class IsaEnv {
 public:
  explicit IsaEnv(const char* value);
  ~IsaEnv();
  IsaEnv(const IsaEnv&) = delete;
  IsaEnv& operator=(const IsaEnv&) = delete;

 private:
  bool had_ = false;
  std::string old_;
};

// Every fast tier this machine has (x86 or ARM).
std::vector<kernels::Isa> fast_tiers();

struct TierRun {
  std::vector<std::string> kernels;  // per op, what prepare chose
  std::vector<std::string> op_names;
  std::vector<std::vector<uint8_t>> outputs;
};

// Loads `bytes`, prepares under QRT_ISA=isa, feeds `inputs` (raw bytes per
// graph input) and invokes twice: the second invoke must repeat the first
// (packed weights and indirection buffers are read-only after prepare).
// Fails the current test on any error.
TierRun run_on_tier(const std::vector<uint8_t>& bytes,
                    const std::vector<std::vector<uint8_t>>& inputs, const char* isa);

// Indices of the ops that prepare gives `kernel` under QRT_ISA=ref (prepare
// only, no reference invoke of a whole network).
std::vector<int> ops_running(const std::vector<uint8_t>& bytes, const std::string& kernel);

// The model on the reference, then on every fast tier: identical output
// bytes, and expected(isa) names what every op in `ops` must run on that
// tier (expected(Isa::ref) on the reference).
void check_tiers(const std::vector<uint8_t>& bytes,
                 const std::vector<std::vector<uint8_t>>& inputs, const std::vector<int>& ops,
                 const std::function<std::string(kernels::Isa)>& expected);

std::vector<uint8_t> random_u8(std::mt19937& rng, size_t n);

// First differing byte of two outputs, 0 when the sizes differ, -1 if equal.
long first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

}  // namespace qrt::test
