// Atomic output: write to a temporary file beside the target, then rename,
// so a failed conversion never leaves a partial or stale-looking file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qrt::convert {

// Why `path` cannot receive an output file (its folder is missing or not a
// folder, or `path` is a directory or device), or "" when it can as far as a
// cheap check tells; checked again when writing. Lets a long conversion fail
// before it starts.
std::string output_path_problem(const std::string& path);

// The two halves of write_file_atomic, for several outputs that should all
// be written before any of them replaces an existing file. write_temp_file
// writes `data` to a fresh temporary file beside `path` (its name in *temp);
// on failure it removes that file. commit_temp_file renames it over `path`,
// or removes it and fails.
bool write_temp_file(const std::string& path, const void* data, size_t size, std::string* temp,
                     std::string* error);
bool commit_temp_file(const std::string& temp, const std::string& path, std::string* error);

bool write_file_atomic(const std::string& path, const void* data, size_t size, std::string* error);

}  // namespace qrt::convert
