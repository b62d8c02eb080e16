#include "npy.h"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <new>

namespace qrt::tools {
namespace {

// The file starts with "\x93NUMPY", a major and a minor version byte, and
// the header length: uint16 LE in 1.0, uint32 LE in 2.0 and 3.0 (3.0 only
// allows UTF-8 in the header, which our ASCII-only parser refuses anyway).
constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kPrefixV1 = 10;
constexpr size_t kPrefixV2 = 12;
// numpy pads the header so the data starts at a multiple of this.
constexpr size_t kAlign = 64;

struct Dtype {
  const char* name;
  size_t itemsize;
};

constexpr Dtype kDtypes[] = {{"f4", 4}, {"f8", 8}, {"u1", 1}, {"i1", 1},
                             {"i4", 4}, {"i8", 8}, {"b1", 1}};

constexpr const char* kSupported = "<f4 <f8 |u1 |i1 <i4 <i8 |b1";

struct Header {
  std::string descr;  // as written, e.g. "<f4"
  std::string dtype;  // without the byte order, e.g. "f4"
  std::vector<int64_t> shape;
  uint64_t data_bytes = 0;
};

std::string printable(char ch) {
  const auto u = static_cast<unsigned char>(ch);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + ch + "'";
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\x%02x", u);
  return buf;
}

uint32_t load_le(const uint8_t* p, size_t bytes) {
  uint32_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

// Checks magic, version and header length in the first `n` bytes of a file
// of `total` bytes (n <= total; n >= kPrefixV2 unless the file is shorter).
bool parse_prefix(const uint8_t* b, size_t n, uint64_t total, size_t* header_offset,
                  size_t* header_bytes, std::string* error) {
  const size_t magic_len = sizeof(kMagic);
  for (size_t i = 0; i < n && i < magic_len; ++i) {
    if (b[i] != kMagic[i]) {
      *error = "not a .npy file (it does not start with \\x93NUMPY)";
      return false;
    }
  }
  if (n < magic_len + 2) {
    *error =
        "truncated: " + std::to_string(total) + " bytes, too short for the .npy magic and version";
    return false;
  }
  const int major = b[6];
  const int minor = b[7];
  if (major < 1 || major > 3 || minor != 0) {
    *error = "unsupported .npy format version " + std::to_string(major) + "." +
             std::to_string(minor) + " (this reader knows 1.0, 2.0 and 3.0)";
    return false;
  }
  const size_t prefix = major == 1 ? kPrefixV1 : kPrefixV2;
  if (n < prefix) {
    *error = "truncated: " + std::to_string(total) + " bytes, too short for a version " +
             std::to_string(major) + ".0 header length";
    return false;
  }
  const uint32_t len = load_le(b + 8, prefix - 8);
  if (len > kNpyMaxHeaderBytes) {
    *error = "header length " + std::to_string(len) + " exceeds the limit of " +
             std::to_string(kNpyMaxHeaderBytes) + " bytes";
    return false;
  }
  if (total < prefix + static_cast<uint64_t>(len)) {
    *error = "truncated header: it says " + std::to_string(len) + " bytes but only " +
             std::to_string(total - prefix) + " follow the prefix";
    return false;
  }
  *header_offset = prefix;
  *header_bytes = len;
  return true;
}

// A strict reader of the Python dict literal numpy writes, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// Only string keys, string / True / False / tuple-of-int values, and the
// whitespace Python allows between tokens.
struct Cursor {
  const char* begin;
  const char* p;
  const char* end;

  void skip_ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  bool eat(char ch) {
    skip_ws();
    if (p < end && *p == ch) {
      ++p;
      return true;
    }
    return false;
  }
  bool at(char ch) {
    skip_ws();
    return p < end && *p == ch;
  }
  // "at header byte 12 (found 'x')", for error messages.
  std::string where() {
    skip_ws();
    std::string s = "at header byte " + std::to_string(p - begin);
    return s + (p < end ? " (found " + printable(*p) + ")" : " (end of header)");
  }
};

bool fail(std::string* error, const std::string& message) {
  *error = message;
  return false;
}

// A quoted string without escapes: '...' or "...".
bool parse_string(Cursor& c, std::string* s, std::string* error, const char* what) {
  c.skip_ws();
  if (c.p >= c.end || (*c.p != '\'' && *c.p != '"')) {
    return fail(error,
                std::string("header: expected ") + what + " as a quoted string " + c.where());
  }
  const char quote = *c.p++;
  const char* start = c.p;
  while (c.p < c.end && *c.p != quote) {
    const auto u = static_cast<unsigned char>(*c.p);
    if (u < 0x20 || u >= 0x7f || u == '\\') {
      return fail(error, std::string("header: unsupported character in ") + what + " " + c.where());
    }
    ++c.p;
  }
  if (c.p >= c.end) return fail(error, std::string("header: unterminated string in ") + what);
  s->assign(start, c.p);
  ++c.p;
  return true;
}

bool parse_bool(Cursor& c, bool* value, std::string* error) {
  c.skip_ws();
  const char* start = c.p;
  while (c.p < c.end && (std::isalnum(static_cast<unsigned char>(*c.p)) || *c.p == '_')) ++c.p;
  const std::string word(start, c.p);
  if (word == "True" || word == "False") {
    *value = word == "True";
    return true;
  }
  c.p = start;
  return fail(error, "header: fortran_order must be True or False " + c.where());
}

// A non-negative Python int literal (no leading zeros), with the 'L' suffix
// Python 2 wrote for longs.
bool parse_dim(Cursor& c, int64_t* value, std::string* error) {
  c.skip_ws();
  if (c.p >= c.end || *c.p < '0' || *c.p > '9') {
    return fail(error, "header: expected a non-negative integer in shape " + c.where());
  }
  if (*c.p == '0' && c.p + 1 < c.end && c.p[1] >= '0' && c.p[1] <= '9') {
    return fail(error, "header: integer with a leading zero in shape " + c.where());
  }
  int64_t v = 0;
  while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
    const int digit = *c.p - '0';
    if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) {
      return fail(error, "header: dimension does not fit in 64 bits " + c.where());
    }
    v = v * 10 + digit;
    ++c.p;
  }
  if (c.p < c.end && (*c.p == 'L' || *c.p == 'l')) ++c.p;
  *value = v;
  return true;
}

// "()", "(3,)", "(2, 3)" or "(2, 3,)". "(3)" is an int in Python, not a tuple.
bool parse_shape(Cursor& c, std::vector<int64_t>* shape, std::string* error) {
  shape->clear();
  if (!c.eat('(')) return fail(error, "header: shape must be a tuple " + c.where());
  if (c.eat(')')) return true;
  for (;;) {
    if (shape->size() == kNpyMaxRank) {
      return fail(error,
                  "header: shape has more than " + std::to_string(kNpyMaxRank) + " dimensions");
    }
    int64_t dim = 0;
    if (!parse_dim(c, &dim, error)) return false;
    shape->push_back(dim);
    if (c.eat(',')) {
      if (c.eat(')')) return true;
      continue;
    }
    if (c.eat(')')) {
      if (shape->size() == 1) {
        return fail(error, "header: shape (" + std::to_string(dim) +
                               ") is not a tuple (a 1-d shape is written (" + std::to_string(dim) +
                               ",))");
      }
      return true;
    }
    return fail(error, "header: expected ',' or ')' in shape " + c.where());
  }
}

bool parse_descr(const std::string& descr, Header* h, std::string* error) {
  const std::string kind = descr.size() == 3 ? descr.substr(1) : std::string();
  const size_t itemsize = npy_itemsize(kind);
  if (itemsize == 0) {
    return fail(error, "unsupported dtype '" + descr + "' (supported: " + kSupported + ")");
  }
  const char order = descr[0];
  // One-byte items have no byte order; numpy writes '|' but any is harmless.
  const bool ok =
      itemsize == 1 ? (order == '|' || order == '<' || order == '>' || order == '=') : order == '<';
  if (!ok) {
    if (order == '>') {
      return fail(error, "big-endian dtype '" + descr + "' is not supported (save it as '<" + kind +
                             "', e.g. a.astype('<" + kind + "'))");
    }
    return fail(error, "dtype '" + descr + "' does not say little-endian ('<" + kind + "')");
  }
  h->descr = descr;
  h->dtype = kind;
  return true;
}

// bytes = prod(shape) * itemsize. Like numpy, zero dimensions make the
// array empty but the other dimensions must still multiply without overflow.
bool data_size(const std::vector<int64_t>& shape, size_t itemsize, const std::string& descr,
               uint64_t* bytes, std::string* error) {
  constexpr uint64_t kLimit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t n = itemsize;
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) return fail(error, "shape " + npy_shape_string(shape) + " has a negative dimension");
    if (d == 0) {
      empty = true;
      continue;
    }
    if (n > kLimit / static_cast<uint64_t>(d)) {
      return fail(error, "shape " + npy_shape_string(shape) + " of " + descr +
                             " is too large (more than 2^63-1 bytes)");
    }
    n *= static_cast<uint64_t>(d);
  }
  *bytes = empty ? 0 : n;
  return true;
}

bool parse_header(const char* text, size_t n, Header* h, std::string* error) {
  Cursor c{text, text, text + n};
  if (!c.eat('{')) return fail(error, "header: expected a dict '{' " + c.where());
  bool have_descr = false, have_order = false, have_shape = false;
  bool fortran_order = false;
  std::string descr;
  if (!c.eat('}')) {
    for (;;) {
      std::string key;
      if (!parse_string(c, &key, error, "a key")) return false;
      if (!c.eat(':')) return fail(error, "header: expected ':' after '" + key + "' " + c.where());
      bool* seen = nullptr;
      if (key == "descr") {
        seen = &have_descr;
        if (c.at('[')) return fail(error, "structured dtypes are not supported (descr is a list)");
        if (!parse_string(c, &descr, error, "descr")) return false;
      } else if (key == "fortran_order") {
        seen = &have_order;
        if (!parse_bool(c, &fortran_order, error)) return false;
      } else if (key == "shape") {
        seen = &have_shape;
        if (!parse_shape(c, &h->shape, error)) return false;
      } else {
        return fail(error, "header: unexpected key '" + key + "'");
      }
      if (*seen) return fail(error, "header: key '" + key + "' appears twice");
      *seen = true;
      if (c.eat('}')) break;
      if (!c.eat(',')) return fail(error, "header: expected ',' or '}' " + c.where());
      if (c.eat('}')) break;
    }
  }
  c.skip_ws();
  if (c.p != c.end) return fail(error, "header: unexpected bytes after the dict " + c.where());
  if (!have_descr) return fail(error, "header lacks the key 'descr'");
  if (!have_order) return fail(error, "header lacks the key 'fortran_order'");
  if (!have_shape) return fail(error, "header lacks the key 'shape'");
  if (fortran_order) {
    return fail(error,
                "fortran_order: True is not supported; save a C-order array "
                "(np.ascontiguousarray(a))");
  }
  if (!parse_descr(descr, h, error)) return false;
  return data_size(h->shape, npy_itemsize(h->dtype), h->descr, &h->data_bytes, error);
}

std::string size_mismatch(const Header& h, uint64_t have) {
  return "header says shape " + npy_shape_string(h.shape) + " of " + h.descr + " = " +
         std::to_string(h.data_bytes) + " bytes but the file has " + std::to_string(have) +
         " data bytes";
}

struct FileCloser {
  std::FILE* f;
  ~FileCloser() {
    if (f) std::fclose(f);
  }
};

std::string build_header(const NpyArray& a) {
  const std::string descr = (npy_itemsize(a.dtype) == 1 ? "|" : "<") + a.dtype;
  const std::string dict = "{'descr': '" + descr +
                           "', 'fortran_order': False, 'shape': " + npy_shape_string(a.shape) +
                           ", }";
  // dict, padding spaces and a final '\n', so the data starts at a multiple
  // of kAlign. With at most kNpyMaxRank dimensions of at most 19 digits the
  // dict stays far below version 1.0's 65535-byte limit.
  const size_t len = (kPrefixV1 + dict.size() + 1 + kAlign - 1) / kAlign * kAlign - kPrefixV1;
  std::string out(kMagic, kMagic + sizeof(kMagic));
  out += '\x01';
  out += '\0';
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  out += dict;
  out.append(len - dict.size() - 1, ' ');
  out += '\n';
  return out;
}

// Creates a fresh file beside `path` ("wbx": fails rather than reuse one).
std::FILE* create_temp(const std::string& path, std::string* temp, int* err) {
  static std::atomic<uint32_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    const auto t =
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    const uint64_t tag = (t + counter.fetch_add(1)) * 0x9e3779b97f4a7c15ull;
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), ".tmp-%08x", static_cast<uint32_t>(tag >> 32));
    *temp = path + suffix;
    errno = 0;
    if (std::FILE* f = std::fopen(temp->c_str(), "wbx")) return f;
    *err = errno;
    if (*err != EEXIST) return nullptr;
  }
  return nullptr;
}

}  // namespace

size_t npy_itemsize(const std::string& dtype) {
  for (const Dtype& d : kDtypes) {
    if (dtype == d.name) return d.itemsize;
  }
  return 0;
}

std::string npy_shape_string(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

bool parse_npy(const uint8_t* bytes, size_t size, NpyArray* out, std::string* error) {
  size_t offset = 0, header_bytes = 0;
  if (!parse_prefix(bytes, size, size, &offset, &header_bytes, error)) return false;
  Header h;
  if (!parse_header(reinterpret_cast<const char*>(bytes) + offset, header_bytes, &h, error)) {
    return false;
  }
  const size_t data_offset = offset + header_bytes;
  if (size - data_offset != h.data_bytes) return fail(error, size_mismatch(h, size - data_offset));
  out->dtype = h.dtype;
  out->shape = h.shape;
  out->data.assign(bytes + data_offset, bytes + size);
  return true;
}

bool read_npy(const std::string& path, NpyArray* out, std::string* error) {
  // The size must be known before anything is allocated, so only regular
  // files (not pipes or devices) are read.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return fail(error, path + ": " + ec.message());
  if (!std::filesystem::is_regular_file(status)) return fail(error, path + ": not a regular file");
  const uint64_t total = std::filesystem::file_size(path, ec);
  if (ec) return fail(error, path + ": " + ec.message());
  FileCloser file{std::fopen(path.c_str(), "rb")};
  if (!file.f) return fail(error, path + ": cannot open: " + std::strerror(errno));

  uint8_t prefix[kPrefixV2];
  const size_t n = total < sizeof(prefix) ? static_cast<size_t>(total) : sizeof(prefix);
  if (std::fread(prefix, 1, n, file.f) != n) return fail(error, path + ": read error");
  size_t offset = 0, header_bytes = 0;
  if (!parse_prefix(prefix, n, total, &offset, &header_bytes, error)) {
    *error = path + ": " + *error;
    return false;
  }
  std::string text(header_bytes, '\0');
  if (std::fseek(file.f, static_cast<long>(offset), SEEK_SET) != 0 ||
      std::fread(text.data(), 1, header_bytes, file.f) != header_bytes) {
    return fail(error, path + ": read error in the header");
  }
  Header h;
  if (!parse_header(text.data(), text.size(), &h, error)) {
    *error = path + ": " + *error;
    return false;
  }
  const uint64_t have = total - offset - header_bytes;
  if (have != h.data_bytes) return fail(error, path + ": " + size_mismatch(h, have));
  if (h.data_bytes > std::numeric_limits<size_t>::max()) {
    return fail(error, path + ": " + std::to_string(h.data_bytes) +
                           " data bytes do not fit in this machine's address space");
  }
  const auto data_bytes = static_cast<size_t>(h.data_bytes);
  try {
    out->data.resize(data_bytes);
  } catch (const std::bad_alloc&) {
    return fail(error, path + ": out of memory for " + std::to_string(data_bytes) + " data bytes");
  }
  if (data_bytes > 0 && std::fread(out->data.data(), 1, data_bytes, file.f) != data_bytes) {
    return fail(error, path + ": read error in the data (did the file change?)");
  }
  out->dtype = h.dtype;
  out->shape = h.shape;
  return true;
}

bool write_npy(const std::string& path, const NpyArray& a, std::string* error) {
  const std::string prefix = path + ": cannot write: ";
  if (npy_itemsize(a.dtype) == 0) {
    return fail(error,
                prefix + "unsupported dtype '" + a.dtype + "' (supported: f4 f8 u1 i1 i4 i8 b1)");
  }
  if (a.shape.size() > kNpyMaxRank) {
    return fail(error, prefix + "rank " + std::to_string(a.shape.size()) + " exceeds " +
                           std::to_string(kNpyMaxRank));
  }
  uint64_t bytes = 0;
  if (!data_size(a.shape, npy_itemsize(a.dtype), a.dtype, &bytes, error)) {
    *error = prefix + *error;
    return false;
  }
  if (a.data.size() != bytes) {
    return fail(error, prefix + "shape " + npy_shape_string(a.shape) + " of " + a.dtype +
                           " needs " + std::to_string(bytes) + " bytes but the array holds " +
                           std::to_string(a.data.size()));
  }
  const std::string header = build_header(a);

  std::string temp;
  int err = 0;
  std::FILE* f = create_temp(path, &temp, &err);
  if (!f) return fail(error, prefix + "cannot create " + temp + ": " + std::strerror(err));
  errno = 0;
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  if (ok && !a.data.empty()) ok = std::fwrite(a.data.data(), 1, a.data.size(), f) == a.data.size();
  if (ok) ok = std::fflush(f) == 0;
  err = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    std::remove(temp.c_str());
    return fail(error, prefix + (err ? std::strerror(err) : "write error"));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(temp.c_str());
    return fail(error, prefix + std::strerror(err));
  }
  return true;
}

}  // namespace qrt::tools
