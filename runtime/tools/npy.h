// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0).
//
// Only plain little-endian arrays in C order: the dtypes the runtime feeds
// (f4 u1 i1 i4 i8) plus f8 and b1, which are read and written unchanged;
// converting them is the caller's business. Structured, object, big-endian
// and Fortran-order arrays are refused with a message saying so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qrt::tools {

struct NpyArray {
  // Kind and item size without the byte-order character:
  // "f4", "f8", "u1", "i1", "i4", "i8" or "b1".
  std::string dtype;
  // Empty for a 0-d array (one element).
  std::vector<int64_t> shape;
  // Elements in C order, little-endian; exactly elements * itemsize bytes.
  std::vector<uint8_t> data;
};

// numpy refuses longer headers by default (max_header_size), and so do we:
// a reader must not allocate what an untrusted length field asks for.
constexpr size_t kNpyMaxHeaderBytes = 10000;
// numpy 2's NPY_MAXDIMS.
constexpr size_t kNpyMaxRank = 64;

// Bytes per element of a supported dtype ("f4" -> 4), or 0 if unsupported.
size_t npy_itemsize(const std::string& dtype);

// A shape the way Python prints a tuple: "()", "(3,)", "(2, 3)".
std::string npy_shape_string(const std::vector<int64_t>& shape);

// Parses a whole .npy file held in memory. Any bytes may be given: the
// header is bounded, parsed strictly, and the data must be exactly as long
// as the header's shape and dtype say. On failure returns false, sets
// *error (not prefixed with a file name) and leaves *out unspecified.
bool parse_npy(const uint8_t* bytes, size_t size, NpyArray* out, std::string* error);

// Reads `path`; errors start with the path. The data is read only after the
// header has been checked against the file's size.
bool read_npy(const std::string& path, NpyArray* out, std::string* error);

// Writes `a` to `path` as a version 1.0 file, header padded as numpy pads
// it. Writes to a temporary file in the same directory and renames it over
// `path`, so on failure `path` is untouched and no partial file remains.
bool write_npy(const std::string& path, const NpyArray& a, std::string* error);

}  // namespace qrt::tools
