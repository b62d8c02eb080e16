#include "calibration.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

namespace qrt::convert {

namespace {

namespace fs = std::filesystem;

bool fail(std::string* error, const std::string& what) {
  if (error) *error = what;
  return false;
}

// ---------------------------------------------------------------- zip

uint64_t le(const uint8_t* p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndBytes = 22;
constexpr size_t kCentralBytes = 46;
constexpr size_t kLocalBytes = 30;
// Larger entries are refused before anything is allocated for them.
constexpr uint64_t kMaxEntryBytes = uint64_t(4) << 30;

struct ZipEntry {
  std::string name;
  uint16_t method = 0;
  uint16_t flags = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0;
  uint64_t size = 0;
  uint64_t local_offset = 0;
};

bool find_end(const uint8_t* d, size_t n, uint64_t* count, uint64_t* cd_offset, uint64_t* cd_size,
              std::string* error) {
  if (n < kEndBytes) return fail(error, "not a .npz (zip) file: too short");
  const size_t lowest = n > kEndBytes + 0xffff ? n - kEndBytes - 0xffff : 0;
  size_t at = n - kEndBytes;
  while (le(d + at, 4) != kEndSig) {
    if (at == lowest) return fail(error, "not a .npz (zip) file: no end of central directory");
    --at;
  }
  *count = le(d + at + 10, 2);
  *cd_size = le(d + at + 12, 4);
  *cd_offset = le(d + at + 16, 4);
  if (*count != 0xffff && *cd_offset != 0xffffffff && *cd_size != 0xffffffff) return true;
  // Zip64: a locator right before the end record points at the zip64 end record.
  if (at < 20 || le(d + at - 20, 4) != kZip64LocatorSig)
    return fail(error, "zip64 archive without a zip64 end locator");
  const uint64_t z = le(d + at - 20 + 8, 8);
  if (z > n || n - z < 56 || le(d + z, 4) != kZip64EndSig)
    return fail(error, "zip64 end record is out of the file");
  *count = le(d + z + 32, 8);
  *cd_size = le(d + z + 40, 8);
  *cd_offset = le(d + z + 48, 8);
  return true;
}

bool read_central(const uint8_t* d, size_t n, std::vector<ZipEntry>* out, std::string* error) {
  uint64_t count = 0, offset = 0, cd_size = 0;
  if (!find_end(d, n, &count, &offset, &cd_size, error)) return false;
  if (offset > n || cd_size > n - offset) return fail(error, "central directory is out of the file");
  uint64_t at = offset;
  const uint64_t end = offset + cd_size;
  for (uint64_t k = 0; k < count; ++k) {
    if (end - at < kCentralBytes || le(d + at, 4) != kCentralSig)
      return fail(error, "central directory entry " + std::to_string(k) + " is damaged");
    const uint8_t* h = d + at;
    ZipEntry e;
    e.flags = static_cast<uint16_t>(le(h + 8, 2));
    e.method = static_cast<uint16_t>(le(h + 10, 2));
    e.crc = static_cast<uint32_t>(le(h + 16, 4));
    e.compressed = le(h + 20, 4);
    e.size = le(h + 24, 4);
    const uint64_t name_len = le(h + 28, 2), extra_len = le(h + 30, 2), comment_len = le(h + 32, 2);
    e.local_offset = le(h + 42, 4);
    if (end - at - kCentralBytes < name_len + extra_len + comment_len)
      return fail(error, "central directory entry " + std::to_string(k) + " is damaged");
    e.name.assign(reinterpret_cast<const char*>(h + kCentralBytes), name_len);
    // Zip64 extra field: the 64-bit values of whichever fields are all ones.
    const uint8_t* x = h + kCentralBytes + name_len;
    for (uint64_t p = 0; p + 4 <= extra_len;) {
      const uint64_t id = le(x + p, 2), len = le(x + p + 2, 2);
      if (p + 4 + len > extra_len) break;
      if (id == 1) {
        uint64_t q = p + 4;
        for (uint64_t* field : {&e.size, &e.compressed, &e.local_offset}) {
          if (*field != 0xffffffff) continue;
          if (q + 8 > p + 4 + len) return fail(error, "entry '" + e.name + "': short zip64 field");
          *field = le(x + q, 8);
          q += 8;
        }
      }
      p += 4 + len;
    }
    out->push_back(std::move(e));
    at += kCentralBytes + name_len + extra_len + comment_len;
  }
  return true;
}

bool entry_bytes(const uint8_t* d, size_t n, const ZipEntry& e, std::vector<uint8_t>* out,
                 std::string* error) {
  const std::string who = "entry '" + e.name + "'";
  if (e.flags & 1) return fail(error, who + " is encrypted");
  if (e.local_offset > n || n - e.local_offset < kLocalBytes || le(d + e.local_offset, 4) != kLocalSig)
    return fail(error, who + ": local header is out of the file or damaged");
  const uint64_t start =
      e.local_offset + kLocalBytes + le(d + e.local_offset + 26, 2) + le(d + e.local_offset + 28, 2);
  if (start > n || e.compressed > n - start) return fail(error, who + ": data runs past the end of the file");
  if (e.size > kMaxEntryBytes)
    return fail(error, who + " is " + std::to_string(e.size) + " bytes uncompressed; at most 4 GiB is read");
  const uint8_t* src = d + start;
  if (e.method == 0) {
    if (e.compressed != e.size) return fail(error, who + ": stored sizes disagree");
    out->assign(src, src + e.size);
  } else if (e.method == 8) {
    out->assign(e.size, 0);
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return fail(error, "zlib cannot start inflating");
    uint64_t in_left = e.compressed, out_left = e.size;
    z.next_in = const_cast<Bytef*>(src);
    z.next_out = out->data();
    int rc = Z_OK;
    // zlib counts in 32-bit chunks.
    while (rc == Z_OK) {
      const uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
      const uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
      z.avail_in = in_chunk;
      z.avail_out = out_chunk;
      rc = inflate(&z, Z_NO_FLUSH);
      in_left -= in_chunk - z.avail_in;
      out_left -= out_chunk - z.avail_out;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out_left != 0)
      return fail(error, who + ": compressed data is damaged or has the wrong size");
  } else {
    return fail(error, who + " uses zip compression method " + std::to_string(e.method) +
                           "; re-save with np.savez or np.savez_compressed");
  }
  uLong c = crc32(0L, Z_NULL, 0);
  for (uint64_t done = 0; done < out->size();) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(out->size() - done, 1u << 30));
    c = crc32(c, out->data() + done, chunk);
    done += chunk;
  }
  if (static_cast<uint32_t>(c) != e.crc) return fail(error, who + ": CRC mismatch (the file is damaged)");
  return true;
}

bool read_file(const std::string& path, std::vector<uint8_t>* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(error, path + ": cannot open the file");
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return fail(error, path + ": read error");
  return true;
}

// ---------------------------------------------------------------- records

std::string shape_text(const std::vector<int64_t>& s) { return tools::npy_shape_string(s); }

std::string dtype_text(const std::string& d) {
  static const std::map<std::string, std::string> names = {
      {"f4", "float32"}, {"f8", "float64"}, {"u1", "uint8"}, {"i1", "int8"},
      {"i4", "int32"},   {"i8", "int64"},   {"b1", "bool"}};
  auto it = names.find(d);
  return it == names.end() ? d : it->second;
}

std::string input_names(const std::vector<CalibInput>& inputs) {
  std::string s;
  for (const CalibInput& in : inputs) s += (s.empty() ? "'" : ", '") + in.name + "'";
  return s;
}

int64_t sample_elements(const CalibInput& in) {
  int64_t n = 1;
  for (size_t d = 1; d < in.shape.size(); ++d) n *= in.shape[d];
  return n;
}

// Checks dtype, shape and values of one array for `in`; sets *samples.
bool check_array(const tools::NpyArray& a, const CalibInput& in, const std::string& where,
                 int64_t* samples, std::string* error) {
  const std::string who = where + ": input '" + in.name + "': ";
  if (a.dtype != in.dtype)
    return fail(error, who + "dtype is " + dtype_text(a.dtype) + ", expected " + dtype_text(in.dtype) +
                           " as the model's input (save with .astype(np." + dtype_text(in.dtype) + "))");
  const std::vector<int64_t> sample(in.shape.begin() + (in.shape.empty() ? 0 : 1), in.shape.end());
  std::vector<int64_t> batched = in.shape;
  if (!batched.empty()) batched[0] = -1;
  const bool is_sample = a.shape == sample && !in.shape.empty();
  bool is_batch = a.shape.size() == in.shape.size() && !a.shape.empty();
  for (size_t d = 1; is_batch && d < a.shape.size(); ++d) is_batch = a.shape[d] == in.shape[d];
  if (!is_sample && !is_batch) {
    std::string b = shape_text(in.shape);
    b = "(B" + b.substr(b.find(',') == std::string::npos ? b.size() - 1 : b.find(','));
    return fail(error, who + "shape " + shape_text(a.shape) + " does not fit the model's input " +
                           shape_text(in.shape) + ": give " + b + " for a batch of B samples or " +
                           shape_text(sample) + " for one sample");
  }
  *samples = is_sample ? 1 : a.shape[0];
  if (*samples == 0) return fail(error, who + "the array holds no samples (shape " + shape_text(a.shape) + ")");
  if (in.dtype != "f4") return true;  // any id is data; Gather itself checks the range
  const size_t n = a.data.size() / 4;
  const float* f = reinterpret_cast<const float*>(a.data.data());
  const int64_t per = sample_elements(in);
  for (size_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, f + i, 4);
    if (!std::isfinite(v))
      return fail(error, who + "element " + std::to_string(i) + " (sample " +
                             std::to_string(per ? static_cast<int64_t>(i) / per : 0) + ") is " +
                             (std::isnan(v) ? "NaN" : "infinite"));
  }
  return true;
}

// Reads one record into per-input arrays (graph order).
bool read_record(const CalibrationSet& set, const CalibRecord& r, std::vector<tools::NpyArray>* out,
                 std::string* error) {
  out->assign(set.inputs.size(), tools::NpyArray{});
  std::string npz_path;
  std::vector<std::pair<std::string, tools::NpyArray>> npz;
  for (size_t i = 0; i < set.inputs.size(); ++i) {
    if (r.keys[i].empty()) {
      if (!tools::read_npy(r.paths[i], &(*out)[i], error)) return false;
      continue;
    }
    if (npz_path != r.paths[i]) {
      npz.clear();
      if (!read_npz(r.paths[i], &npz, error)) return false;
      npz_path = r.paths[i];
    }
    auto it = std::find_if(npz.begin(), npz.end(), [&](const auto& kv) { return kv.first == r.keys[i]; });
    if (it == npz.end()) return fail(error, r.paths[i] + ": has no array '" + r.keys[i] + "' any more");
    (*out)[i] = std::move(it->second);
  }
  return true;
}

// Reads and checks a record, filling r->samples.
bool check_record(const CalibrationSet& set, CalibRecord* r, std::string* error) {
  std::vector<tools::NpyArray> arrays;
  if (!read_record(set, *r, &arrays, error)) return false;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const std::string where = r->keys[i].empty() ? r->paths[i] : r->paths[i] + " ['" + r->keys[i] + "']";
    int64_t samples = 0;
    if (!check_array(arrays[i], set.inputs[i], where, &samples, error)) return false;
    if (i > 0 && samples != r->samples)
      return fail(error, r->label + ": input '" + set.inputs[i].name + "' has " + std::to_string(samples) +
                             " samples but '" + set.inputs[0].name + "' has " + std::to_string(r->samples));
    r->samples = samples;
  }
  return true;
}

bool has_ext(const fs::path& p, const char* ext) { return p.extension().string() == ext; }

bool add_npz(const std::string& path, const std::vector<CalibInput>& inputs, CalibrationSet* set,
             std::string* error) {
  std::vector<std::pair<std::string, tools::NpyArray>> arrays;
  if (!read_npz(path, &arrays, error)) return false;
  CalibRecord r;
  r.label = path;
  std::string keys;
  for (const auto& kv : arrays) keys += (keys.empty() ? "'" : ", '") + kv.first + "'";
  for (const CalibInput& in : inputs) {
    auto it = std::find_if(arrays.begin(), arrays.end(), [&](const auto& kv) { return kv.first == in.name; });
    std::string key;
    if (it != arrays.end())
      key = in.name;
    else if (inputs.size() == 1 && arrays.size() == 1)
      key = arrays[0].first;
    else
      return fail(error, path + ": no array named '" + in.name + "' (it holds " +
                             (keys.empty() ? std::string("no arrays") : keys) + "; the graph's inputs are " +
                             input_names(inputs) + ")");
    r.paths.push_back(path);
    r.keys.push_back(key);
  }
  if (inputs.size() > 1)
    for (const auto& kv : arrays)
      if (std::none_of(inputs.begin(), inputs.end(), [&](const CalibInput& in) { return in.name == kv.first; }))
        return fail(error, path + ": array '" + kv.first + "' names no graph input (inputs: " +
                               input_names(inputs) + ")");
  set->records.push_back(std::move(r));
  return true;
}

bool add_path(const fs::path& p, const std::vector<CalibInput>& inputs, CalibrationSet* set,
              std::string* error);

bool add_file(const fs::path& p, const std::vector<CalibInput>& inputs, CalibrationSet* set,
              std::string* error) {
  const std::string path = p.string();
  if (has_ext(p, ".npz")) return add_npz(path, inputs, set, error);
  if (!has_ext(p, ".npy")) return fail(error, path + ": not a .npy or .npz file");
  if (inputs.size() != 1)
    return fail(error, path + ": a .npy file holds one array but the graph has inputs " + input_names(inputs) +
                           "; use an .npz with one key per input, or a folder with one <input>.npy each");
  set->records.push_back(CalibRecord{path, {path}, {""}, 0});
  return true;
}

bool add_dir(const fs::path& dir, const std::vector<CalibInput>& inputs, CalibrationSet* set,
             std::string* error) {
  std::error_code ec;
  if (inputs.size() > 1) {
    bool complete = true;
    for (const CalibInput& in : inputs) complete = complete && fs::is_regular_file(dir / (in.name + ".npy"), ec);
    if (complete) {
      CalibRecord r;
      r.label = dir.string();
      for (const CalibInput& in : inputs) {
        r.paths.push_back((dir / (in.name + ".npy")).string());
        r.keys.push_back("");
      }
      set->records.push_back(std::move(r));
      return true;
    }
  }
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
  if (ec) return fail(error, dir.string() + ": cannot list the folder (" + ec.message() + ")");
  std::sort(entries.begin(), entries.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  const size_t before = set->records.size();
  for (const fs::path& e : entries) {
    if (fs::is_directory(e, ec)) {
      if (!add_dir(e, inputs, set, error)) return false;
    } else if (has_ext(e, ".npy") || has_ext(e, ".npz")) {
      if (!add_file(e, inputs, set, error)) return false;
    }
  }
  if (set->records.size() == before)
    return fail(error, dir.string() + ": the folder holds no .npy or .npz files");
  return true;
}

bool add_path(const fs::path& p, const std::vector<CalibInput>& inputs, CalibrationSet* set,
              std::string* error) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return fail(error, p.string() + ": no such file or folder");
  if (fs::is_directory(p, ec)) return add_dir(p, inputs, set, error);
  return add_file(p, inputs, set, error);
}

}  // namespace

bool parse_npz(const uint8_t* data, size_t size,
               std::vector<std::pair<std::string, tools::NpyArray>>* out, std::string* error) {
  std::vector<ZipEntry> entries;
  if (!read_central(data, size, &entries, error)) return false;
  out->clear();
  for (const ZipEntry& e : entries) {
    const std::string suffix = ".npy";
    if (e.name.size() <= suffix.size() || e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) != 0)
      return fail(error, "entry '" + e.name + "' is not a .npy array");
    std::vector<uint8_t> bytes;
    if (!entry_bytes(data, size, e, &bytes, error)) return false;
    tools::NpyArray a;
    std::string why;
    if (!tools::parse_npy(bytes.data(), bytes.size(), &a, &why)) return fail(error, "entry '" + e.name + "': " + why);
    out->emplace_back(e.name.substr(0, e.name.size() - suffix.size()), std::move(a));
  }
  return true;
}

bool read_npz(const std::string& path, std::vector<std::pair<std::string, tools::NpyArray>>* out,
              std::string* error) {
  std::vector<uint8_t> bytes;
  if (!read_file(path, &bytes, error)) return false;
  std::string why;
  if (!parse_npz(bytes.data(), bytes.size(), out, &why)) return fail(error, path + ": " + why);
  return true;
}

bool open_calibration(const std::vector<std::string>& paths, const std::vector<CalibInput>& inputs,
                      int64_t batch_size, CalibrationSet* out, std::string* error) {
  CalibrationSet set;
  set.inputs = inputs;
  set.batch_size = batch_size;
  if (inputs.empty()) return fail(error, "the graph has no inputs to calibrate");
  if (paths.empty()) return fail(error, "no calibration data: give --calib FILE_OR_FOLDER");
  if (batch_size < 0) return fail(error, "the calibration batch size must be positive");
  for (const std::string& p : paths)
    if (!add_path(p, inputs, &set, error)) return false;
  for (CalibRecord& r : set.records) {
    if (!check_record(set, &r, error)) return false;
    set.samples += r.samples;
  }
  if (set.samples == 0) return fail(error, "no calibration data: the files hold no samples");
  set.starts.push_back(0);
  if (batch_size == 0) {
    for (const CalibRecord& r : set.records) set.starts.push_back(set.starts.back() + r.samples);
  } else {
    while (set.starts.back() < set.samples)
      set.starts.push_back(std::min(set.starts.back() + batch_size, set.samples));
  }
  *out = std::move(set);
  return true;
}

bool read_calibration_batch(const CalibrationSet& set, size_t index, CalibBatch* out,
                            std::string* error) {
  if (index >= set.batches()) return fail(error, "calibration batch " + std::to_string(index) + " does not exist");
  const int64_t first = set.starts[index], last = set.starts[index + 1];
  CalibBatch b;
  b.batch = last - first;
  b.inputs.resize(set.inputs.size());
  b.integers.resize(set.inputs.size());
  int64_t at = 0;  // global index of the first sample of record r
  for (const CalibRecord& r : set.records) {
    const int64_t lo = std::max(first, at), hi = std::min(last, at + r.samples);
    if (lo < hi) {
      std::vector<tools::NpyArray> arrays;
      if (!read_record(set, r, &arrays, error)) return false;
      for (size_t i = 0; i < arrays.size(); ++i) {
        int64_t samples = 0;
        if (!check_array(arrays[i], set.inputs[i], r.label, &samples, error)) return false;
        if (samples != r.samples) return fail(error, r.label + ": changed while calibrating");
        const int64_t per = sample_elements(set.inputs[i]);
        if (set.inputs[i].dtype != "f4") {
          const int64_t bytes = per * (set.inputs[i].dtype.back() - '0');  // "i8": 8-byte items
          const uint8_t* p = arrays[i].data.data();
          b.integers[i].insert(b.integers[i].end(), p + (lo - at) * bytes, p + (hi - at) * bytes);
          continue;
        }
        const float* f = reinterpret_cast<const float*>(arrays[i].data.data());
        b.inputs[i].insert(b.inputs[i].end(), f + (lo - at) * per, f + (hi - at) * per);
      }
      b.label += (b.label.empty() ? "" : ", ") + r.label;
    }
    at += r.samples;
    if (at >= last) break;
  }
  *out = std::move(b);
  return true;
}

}  // namespace qrt::convert
