// Calibration data for --mode static: .npy/.npz files (or folders of them)
// matched to the graph's inputs, checked up front, then read back one
// forward call (one "batch") at a time.
//
// Matching:
//   - folders are expanded in name order (subfolders too); other files in
//     them are ignored. For a graph with several inputs, a folder holding
//     `<input>.npy` for every input is one record.
//   - .npz: keys are matched to input names; a single-input graph also takes
//     an archive with exactly one array, whatever its key.
//   - .npy: feeds the only input of a single-input graph.
// Shapes: an array is either batched, [B, d1, ..., dk] for a model input
// [N, d1, ..., dk] (B >= 1 samples), or one sample [d1, ..., dk]. The dtype
// must be the input's: float32 for float inputs (NaN or infinity is an error
// naming file, input and element), int64 or int32 for integer inputs (token
// ids feeding a Gather), taken as they are.
//
// Batches: by default every record is one forward call with its own batch
// size (so a folder of batches saved from a DataLoader replays it exactly);
// with batch_size N the samples of all records, in order, are cut into
// batches of N (the last may be smaller).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "npy.h"

namespace qrt::convert {

struct CalibInput {
  std::string name;
  std::vector<int64_t> shape;  // the model's shape; dim 0 is the batch
  std::string dtype = "f4";    // the model's type as a numpy dtype: f4, i8 (int64), i4 (int32)
};

struct CalibRecord {
  std::string label;  // file or folder, for messages
  // One path per graph input; for an .npz all entries name the same file and
  // `keys` says which array.
  std::vector<std::string> paths;
  std::vector<std::string> keys;  // empty string: a plain .npy
  int64_t samples = 0;
};

struct CalibrationSet {
  std::vector<CalibInput> inputs;
  std::vector<CalibRecord> records;
  int64_t samples = 0;
  int64_t batch_size = 0;  // 0: one batch per record
  // Batch k covers global samples [starts[k], starts[k + 1]).
  std::vector<int64_t> starts;

  size_t batches() const { return starts.empty() ? 0 : starts.size() - 1; }
};

// One forward call's input: per graph input (graph order), `batch` samples
// in C order: float inputs in `inputs`, integer ones as their bytes in
// `integers` (the other vector of the pair empty).
struct CalibBatch {
  int64_t batch = 0;
  std::vector<std::vector<float>> inputs;
  std::vector<std::vector<uint8_t>> integers;
  std::string label;  // where the samples came from
};

// Finds, reads and checks every file once; fails with a message naming the
// file and input on any mismatch, or when there is no data at all.
bool open_calibration(const std::vector<std::string>& paths, const std::vector<CalibInput>& inputs,
                      int64_t batch_size, CalibrationSet* out, std::string* error);

// Reads batch `index` (0 <= index < set.batches()).
bool read_calibration_batch(const CalibrationSet& set, size_t index, CalibBatch* out,
                            std::string* error);

// A .npz archive (zip of .npy): stored entries, and deflated ones
// (np.savez_compressed) through zlib. Keys drop the ".npy" suffix, in
// archive order.
bool read_npz(const std::string& path, std::vector<std::pair<std::string, tools::NpyArray>>* out,
              std::string* error);
bool parse_npz(const uint8_t* data, size_t size,
               std::vector<std::pair<std::string, tools::NpyArray>>* out, std::string* error);

}  // namespace qrt::convert
