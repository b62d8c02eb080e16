// Runs the float graph on calibration data with the runtime's own kernels
// and feeds the observers, one forward call per calibration batch, exactly
// as PyTorch's observers are fed (same tensors, same order). Also measures
// the quantized model against the float one (SQNR per quantized tensor).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "calibration.h"
#include "graph.h"
#include "quantize.h"

namespace qrt::convert {

// The planned graph (imported, BatchNorm folded, activations not fused)
// with `batch` as the batch dimension of every input; 0 keeps the model's.
using GraphFactory = std::function<bool(int64_t batch, Graph* graph, std::string* error)>;

// A progress line on stderr ("label [#####.....] 3/10  ETA 0:04") when
// `enabled`; redrawn at most every 100 ms, erased by finish().
struct Progress {
  std::string label;
  size_t total = 0;
  bool enabled = false;
  double started = 0;
  double drawn = -1;

  void update(size_t done);
  void finish();
};

// True when stderr is a terminal.
bool stderr_is_terminal();

// Feeds every value of plan.observed with config.activation observers on
// every batch of `data`, then puts their qparams into `table`.
bool calibrate(const GraphFactory& make_graph, const QuantPlan& plan, const QuantizeConfig& config,
               const CalibrationSet& data, bool progress, QuantTable* table, std::string* error);

struct LayerError {
  std::string name;
  double signal = 0;  // sum of x^2 over the calibration data (fp32 model)
  double noise = 0;   // sum of (x - dequantized int8 x)^2
  double sqnr_db = 0;  // 10 log10(signal / noise); +inf without noise
  int64_t elements = 0;
};

// Runs the float and the quantized model on the calibration data and
// compares every quantized activation (graph inputs: quantize/dequantize of
// the data itself). Worst SQNR first. `apply` turns a planned graph into the
// quantized one (apply_quantization with the final table).
// `float_nodes` run in float32 in the quantized model (LowerOptions::keep_float).
bool measure_sqnr(const GraphFactory& make_graph, const std::function<bool(Graph&, std::string*)>& apply,
                  const std::set<std::string>& float_nodes, fb::Profile profile,
                  const CalibrationSet& data, bool progress, std::vector<LayerError>* out,
                  std::string* error);

struct StaticQuantization {
  QuantPlan plan;
  CalibrationSet data;
  QuantTable table;  // activations (observed and aliased) and weights, by value name
  // The nodes the quantized model runs in float32: the plan's float nodes
  // and --keep-float.
  std::set<std::string> float_nodes;
};

// Plans, reads the calibration data, calibrates and observes the weights:
// everything PyTorch's prepare -> calibrate -> convert decides.
bool quantize_static(const GraphFactory& make_graph, const QuantizeConfig& config,
                     const std::vector<std::string>& calib_paths, int64_t calib_batch, bool progress,
                     StaticQuantization* out, std::string* error);

}  // namespace qrt::convert
