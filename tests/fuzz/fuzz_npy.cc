// libFuzzer harness: arbitrary bytes through the .npy reader the tools use
// for inputs and calibration data (runtime_entries.h).
#include <cstdint>

#include "fuzz/runtime_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qrt::fuzz::run_npy(data, size);
  return 0;
}
