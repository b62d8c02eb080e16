// qrt-convert's command line as a function, so the tests can run it in
// process; qrt_convert.cc's main() only calls it.
#pragma once

#include <string>

#include "calibrate.h"
#include "onnx_import.h"

namespace qrt::convert {

// Returns the process exit code: 0 on success, 1 when the conversion fails
// (no output file is left behind), 2 on a usage error.
int qrt_convert_main(int argc, const char* const* argv);

// Imports `path` for static quantization: identities removed and BatchNorm
// folded, activations not fused (quantize.h); batch > 0 re-imports with that
// batch size on every graph input.
GraphFactory onnx_graph_factory(const std::string& path, const ImportOptions& options);

}  // namespace qrt::convert
