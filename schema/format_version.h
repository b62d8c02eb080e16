// The .qrt format version this tree writes and reads (Model.format_version).
// Raise it when a file from a newer converter needs a newer runtime to mean
// the same thing; a runtime refuses files whose version is above its own.
#pragma once

#include <cstdint>

namespace qrt {

constexpr uint32_t kFormatVersion = 1;

}  // namespace qrt
