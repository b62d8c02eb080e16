// Atomic output: write to a temporary file beside the target, then rename,
// so a failed conversion never leaves a partial or stale-looking file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qrt::convert {

bool write_file_atomic(const std::string& path, const void* data, size_t size, std::string* error);

}  // namespace qrt::convert
