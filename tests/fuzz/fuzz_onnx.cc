// libFuzzer harness: arbitrary bytes as an ONNX model through the
// converter's import, default passes and lowering (onnx_entry.h).
#include <cstdint>

#include "fuzz/onnx_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qrt::fuzz::run_onnx(data, size);
  return 0;
}
