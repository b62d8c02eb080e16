// Observers: bit-exact ports of PyTorch 1.13's Python observers
// (torch/ao/quantization/observer.py) and their qparams formula, plus a
// percentile observer of our own. NUMERICS.md "Observers" and
// pytorch-semantics-notes.md §2 give the formulas; the comments here say
// which float32/double step each line reproduces.
//
// An Observer is plain state fed one tensor per forward call (the order of
// calls matters for the moving averages and the histogram, as in PyTorch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model_builder.h"

namespace qrt::convert {

enum class ObserverKind : uint8_t {
  min_max,                     // MinMaxObserver
  moving_average,              // MovingAverageMinMaxObserver
  per_channel_min_max,         // PerChannelMinMaxObserver
  moving_average_per_channel,  // MovingAveragePerChannelMinMaxObserver
  histogram,                   // HistogramObserver
  percentile,                  // ours: see calculate_qparams
};

enum class QScheme : uint8_t { affine, symmetric };

// Where HistogramObserver's torch.histc range comes from. torch113 truncates
// it to integers as 1.13 does (pytorch/pytorch#83672), which drops data
// outside [trunc(min), trunc(max)]; exact uses the float min/max as later
// PyTorch versions do.
enum class HistogramRange : uint8_t { exact, torch113 };

struct ObserverConfig {
  ObserverKind kind = ObserverKind::min_max;
  bool qint8 = false;  // torch.qint8 (weights) rather than torch.quint8
  QScheme scheme = QScheme::affine;
  bool reduce_range = false;
  // quant_min/quant_max given explicitly (PyTorch's has_customized_qrange).
  bool custom_range = false;
  int32_t quant_min = 0;
  int32_t quant_max = 0;
  float eps = 1.1920929e-07f;  // torch.finfo(torch.float32).eps
  float averaging_constant = 0.01f;
  int ch_axis = 0;
  int bins = 2048;
  int upsample_rate = 128;
  HistogramRange histogram_range = HistogramRange::exact;
  double percentile = 99.99;  // percentile observer: kept mass in percent
};

struct Observer {
  ObserverConfig config;
  int32_t qmin = 0;  // from calculate_qmin_qmax
  int32_t qmax = 255;
  // Per-tensor kinds: one entry each, +inf/-inf until observed. Per-channel
  // kinds: empty until observed, then one entry per channel.
  std::vector<float> min_val;
  std::vector<float> max_val;
  std::vector<float> histogram;  // histogram and percentile: `bins` counts
};

// PyTorch's calculate_qmin_qmax (torch/ao/quantization/utils.py).
void calculate_qmin_qmax(const ObserverConfig& config, int32_t* qmin, int32_t* qmax);

// Checks the configuration as PyTorch's constructors do (symmetric quint8
// with reduce_range, a custom range without 0, ...).
bool make_observer(const ObserverConfig& config, Observer* out, std::string* error);

// One forward call on a C-order tensor of `shape`. Empty tensors are
// ignored, as in PyTorch. A NaN or infinity fails (PyTorch's histc refuses
// them and min/max would turn the qparams into NaN) and leaves `o` as it was.
bool observe(Observer& o, const float* x, const std::vector<int64_t>& shape, std::string* error);

// Scale and zero point, one entry per channel for per-channel kinds
// (axis = config.ch_axis). Never observed: scale 1, zero point 0.
QuantParams calculate_qparams(const Observer& o);

// UniformQuantizationObserverBase._calculate_qparams on n min/max pairs.
QuantParams qparams_from_min_max(const Observer& o, const float* min_val, const float* max_val,
                                 size_t n);

// HistogramObserver._non_linear_param_search: the clipped range the L2
// search keeps. Requires an observed histogram observer.
void histogram_search_range(const Observer& o, float* new_min, float* new_max);

// HistogramObserver._compute_quantization_error(start_bin, end_bin).
double histogram_quantization_error(const Observer& o, int start_bin, int end_bin);

// Percentile observer's range: see observers.cc.
void percentile_range(const Observer& o, float* new_min, float* new_max);

// torch.sum of a contiguous float32 vector on PyTorch's CPU build with the
// AVX2 (or default) kernels: the cascade sum of aten/.../SumKernel.cpp with
// 8-lane vectors. The order of the additions is part of the result.
float torch_sum_f32(const float* x, size_t n);

}  // namespace qrt::convert
