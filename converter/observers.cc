#include "observers.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace qrt::convert {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

bool per_channel(ObserverKind k) {
  return k == ObserverKind::per_channel_min_max || k == ObserverKind::moving_average_per_channel;
}

bool uses_histogram(ObserverKind k) {
  return k == ObserverKind::histogram || k == ObserverKind::percentile;
}

bool fail(std::string* error, const std::string& what) {
  if (error) *error = what;
  return false;
}

std::pair<float, float> aminmax(const float* x, size_t n) {
  float mn = x[0], mx = x[0];
  for (size_t i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
  }
  return {mn, mx};
}

// torch.histc(x, bins, min=lo, max=hi) on float32 (HistogramKernel.cpp,
// LINEAR_INTERPOLATION): an empty range falls back to the data's range, then
// to [lo - 1, hi + 1] (in double); the edges become float32; elements outside
// [left, right] are skipped;
//   pos = trunc(f32(f32((x - left) * bins) / f32(right - left))),
// with x == right going to the last bin. Counts are exact below 2^24.
void histc(const float* x, size_t n, int bins, double lo, double hi, std::vector<float>* out) {
  if (lo == hi && n > 0) {
    auto [mn, mx] = aminmax(x, n);
    lo = mn;
    hi = mx;
  }
  if (lo == hi) {
    lo -= 1;
    hi += 1;
  }
  const float left = static_cast<float>(lo), right = static_cast<float>(hi);
  const float width = right - left;
  const float nbins = static_cast<float>(bins);
  std::vector<uint64_t> counts(static_cast<size_t>(bins), 0);
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!(v >= left && v <= right)) continue;
    const float t = (v - left) * nbins / width;
    // A range that collapses in float32 (PyTorch divides 0 by 0 there) or
    // overflows puts everything in the first bin.
    int64_t pos = t >= 0.f && t <= nbins ? static_cast<int64_t>(t) : 0;
    if (pos == bins) pos = bins - 1;
    counts[static_cast<size_t>(pos)]++;
  }
  out->assign(static_cast<size_t>(bins), 0.f);
  for (size_t b = 0; b < counts.size(); ++b) (*out)[b] = static_cast<float>(counts[b]);
}

// The histc range for data spanning [mn, mx]: 1.13 passes int(min), int(max).
std::pair<double, double> histc_range(const ObserverConfig& c, float mn, float mx) {
  if (c.histogram_range == HistogramRange::torch113)
    return {std::trunc(static_cast<double>(mn)), std::trunc(static_cast<double>(mx))};
  return {mn, mx};
}

// HistogramObserver._combine_histograms. `fresh` holds histc of the batch
// over the combined range; the stored histogram `old` is upsampled by
// repeating each bin `up` times into a grid of bins*dr cells, starting at
// cell start_idx; a sequential float64 cumulative sum sampled every dr cells
// is differenced against its float32 copy shifted by one, divided by `up`,
// rounded to float32 and added. Cells outside the old histogram hold 0 and
// leave the running sum unchanged, so only the covered cells are visited.
void combine_histograms(std::vector<float>* fresh, const std::vector<float>& old, int up,
                        int64_t dr, int64_t start_idx) {
  const int64_t bins = static_cast<int64_t>(fresh->size());
  const int64_t first = std::max<int64_t>(start_idx, 0);
  // PyTorch raises when the old histogram does not fit; cut it instead.
  const int64_t last = std::min<int64_t>(start_idx + bins * up, bins * dr);
  std::vector<double> integral(static_cast<size_t>(bins));
  double acc = 0.0;
  int64_t cell = first;
  for (int64_t k = 0; k < bins; ++k) {
    const int64_t upto = std::min<int64_t>((k + 1) * dr, last);
    for (; cell < upto; ++cell)
      acc += static_cast<double>(old[static_cast<size_t>((cell - start_idx) / up)]);
    integral[static_cast<size_t>(k)] = acc;
  }
  for (int64_t k = 0; k < bins; ++k) {
    const float shifted = k == 0 ? 0.f : static_cast<float>(integral[static_cast<size_t>(k - 1)]);
    const double interpolated =
        (integral[static_cast<size_t>(k)] - static_cast<double>(shifted)) / static_cast<double>(up);
    (*fresh)[static_cast<size_t>(k)] += static_cast<float>(interpolated);
  }
}

void observe_histogram(Observer& o, const float* x, size_t n) {
  const ObserverConfig& c = o.config;
  float& min_val = o.min_val[0];
  float& max_val = o.max_val[0];
  const bool uninitialized = min_val == kInf && max_val == -kInf;
  auto restart = [&]() {
    auto [mn, mx] = aminmax(x, n);
    min_val = mn;
    max_val = mx;
    auto [lo, hi] = histc_range(c, mn, mx);
    histc(x, n, c.bins, lo, hi, &o.histogram);
  };
  // A stored constant (min == max) is thrown away, as in PyTorch.
  if (uninitialized || min_val == max_val) return restart();

  auto [new_min, new_max] = aminmax(x, n);
  float cmin = std::min(new_min, min_val);
  float cmax = std::max(new_max, max_val);
  // _adjust_min_max, float32 tensor arithmetic throughout:
  //   hbw = (max - min) / (bins * up), dr = ceil((cmax - cmin) / (bins * hbw)),
  //   cmax += dr * (bins * hbw) - (cmax - cmin), start = rne((min - cmin) / hbw).
  const float hbw = (max_val - min_val) / static_cast<float>(c.bins * c.upsample_rate);
  const float span = static_cast<float>(c.bins) * hbw;
  const float crange = cmax - cmin;
  const float ratio = crange / span;
  // A range whose fine grid underflows makes PyTorch fail (int(inf)); start over.
  if (!(hbw > 0.f) || !std::isfinite(ratio) || ratio > 1e9f) return restart();
  const int64_t dr = static_cast<int64_t>(std::ceil(ratio));
  const float e = static_cast<float>(dr) * span - crange;
  cmax = cmax + e;
  const int64_t start_idx = static_cast<int64_t>(std::nearbyint((min_val - cmin) / hbw));

  auto [lo, hi] = histc_range(c, cmin, cmax);
  std::vector<float> combined;
  histc(x, n, c.bins, lo, hi, &combined);
  if (cmin == min_val && cmax == max_val) {
    for (size_t b = 0; b < combined.size(); ++b) combined[b] += o.histogram[b];
  } else {
    combine_histograms(&combined, o.histogram, c.upsample_rate, dr, start_idx);
  }
  o.histogram = std::move(combined);
  min_val = cmin;
  max_val = cmax;
}

// Python-style floor division of float32 values (c10 div_floor_floating,
// used by torch.div(..., rounding_mode='floor')).
float div_floor(float a, float b) {
  if (b == 0.f) return a / b;
  const float mod = std::fmod(a, b);
  float div = (a - mod) / b;
  if (mod != 0.f && ((b < 0.f) != (mod < 0.f))) div -= 1.f;
  if (div == 0.f) return std::copysign(0.f, a / b);
  float floordiv = std::floor(div);
  if (div - floordiv > 0.5f) floordiv += 1.f;
  return floordiv;
}

int64_t ceil_log2(int64_t x) {
  if (x <= 2) return 1;
  int64_t bits = 0;
  for (uint64_t v = static_cast<uint64_t>(x - 1); v != 0; v >>= 1) ++bits;
  return bits;
}

// SumKernel.cpp's multi_row_sum with 4 rows over `size` row groups, each
// element a W-lane vector: element (i, k) is the vector at index i*4 + k.
// Partial sums climb 4 levels of accumulators every 2^level_power rows.
template <int W>
void multi_row_sum4(const float* data, int64_t size, float out[4][W]) {
  constexpr int kLevels = 4;
  const int64_t level_power = std::max<int64_t>(4, ceil_log2(size) / kLevels);
  const int64_t level_step = int64_t(1) << level_power;
  const int64_t level_mask = level_step - 1;
  float acc[kLevels][4][W] = {};
  auto add_row = [&](int64_t i) {
    for (int k = 0; k < 4; ++k)
      for (int w = 0; w < W; ++w) acc[0][k][w] += data[(i * 4 + k) * W + w];
  };
  int64_t i = 0;
  while (i + level_step <= size) {
    for (int64_t j = 0; j < level_step; ++j, ++i) add_row(i);
    for (int j = 1; j < kLevels; ++j) {
      for (int k = 0; k < 4; ++k)
        for (int w = 0; w < W; ++w) {
          acc[j][k][w] += acc[j - 1][k][w];
          acc[j - 1][k][w] = 0.f;
        }
      const int64_t mask = level_mask << (j * level_power);
      if ((i & mask) != 0) break;
    }
  }
  for (; i < size; ++i) add_row(i);
  for (int j = 1; j < kLevels; ++j)
    for (int k = 0; k < 4; ++k)
      for (int w = 0; w < W; ++w) acc[0][k][w] += acc[j][k][w];
  for (int k = 0; k < 4; ++k)
    for (int w = 0; w < W; ++w) out[k][w] = acc[0][k][w];
}

// SumKernel.cpp's row_sum: 4 interleaved partial sums, the leftover
// elements into the first, then the partials folded left to right.
template <int W>
void row_sum(const float* data, int64_t size, float out[W]) {
  const int64_t size_ilp = size / 4;
  float partial[4][W];
  multi_row_sum4<W>(data, size_ilp, partial);
  for (int64_t i = size_ilp * 4; i < size; ++i)
    for (int w = 0; w < W; ++w) partial[0][w] += data[i * W + w];
  for (int k = 1; k < 4; ++k)
    for (int w = 0; w < W; ++w) partial[0][w] += partial[k][w];
  for (int w = 0; w < W; ++w) out[w] = partial[0][w];
}

int64_t normalized_axis(int axis, size_t rank) {
  return axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
}

}  // namespace

float torch_sum_f32(const float* x, size_t n) {
  constexpr int kLanes = 8;
  const int64_t size = static_cast<int64_t>(n);
  if (size < kLanes) {
    float s[1];
    row_sum<1>(x, size, s);
    return s[0];
  }
  const int64_t vec_size = size / kLanes;
  float lanes[kLanes];
  row_sum<kLanes>(x, vec_size, lanes);
  float total = 0.f;
  for (int64_t k = vec_size * kLanes; k < size; ++k) total += x[k];
  for (int w = 0; w < kLanes; ++w) total += lanes[w];
  return total;
}

void calculate_qmin_qmax(const ObserverConfig& c, int32_t* qmin, int32_t* qmax) {
  if (c.custom_range) {
    // Python floor division.
    *qmin = c.reduce_range ? static_cast<int32_t>(std::floor(c.quant_min / 2.0)) : c.quant_min;
    *qmax = c.reduce_range ? static_cast<int32_t>(std::floor(c.quant_max / 2.0)) : c.quant_max;
  } else if (c.qint8) {
    *qmin = c.reduce_range ? -64 : -128;
    *qmax = c.reduce_range ? 63 : 127;
  } else {
    *qmin = 0;
    *qmax = c.reduce_range ? 127 : 255;
  }
}

bool make_observer(const ObserverConfig& c, Observer* out, std::string* error) {
  if (c.custom_range) {
    if (!(c.quant_min <= 0 && 0 <= c.quant_max))
      return fail(error, "the quantization range must include 0");
    if (c.quant_min >= c.quant_max)
      return fail(error, "quant_min must be smaller than quant_max");
    const int64_t len = static_cast<int64_t>(c.quant_max) - c.quant_min + 1;
    if (c.qint8 && len > 256) return fail(error, "an int8 range has at most 256 values");
  }
  if (c.scheme == QScheme::symmetric && c.reduce_range && !c.qint8)
    return fail(error, "symmetric uint8 quantization cannot reduce its range");
  if (uses_histogram(c.kind) && (c.bins < 1 || c.upsample_rate < 1))
    return fail(error, "a histogram needs at least one bin and an upsample rate of 1 or more");
  if (c.kind == ObserverKind::percentile && !(c.percentile > 0.0 && c.percentile <= 100.0))
    return fail(error, "the percentile must be in (0, 100]");
  Observer o;
  o.config = c;
  calculate_qmin_qmax(c, &o.qmin, &o.qmax);
  if (!per_channel(c.kind)) {
    o.min_val = {kInf};
    o.max_val = {-kInf};
  }
  if (uses_histogram(c.kind)) o.histogram.assign(static_cast<size_t>(c.bins), 0.f);
  *out = std::move(o);
  return true;
}

bool observe(Observer& o, const float* x, const std::vector<int64_t>& shape, std::string* error) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  if (n == 0) return true;
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "element %zu is %s", i, std::isnan(x[i]) ? "NaN" : "infinite");
      return fail(error, buf);
    }
  const ObserverConfig& c = o.config;
  switch (c.kind) {
    case ObserverKind::min_max: {
      auto [mn, mx] = aminmax(x, n);
      o.min_val[0] = std::min(mn, o.min_val[0]);
      o.max_val[0] = std::max(mx, o.max_val[0]);
      return true;
    }
    case ObserverKind::moving_average: {
      auto [mn, mx] = aminmax(x, n);
      if (o.min_val[0] == kInf && o.max_val[0] == -kInf) {
        o.min_val[0] = mn;
        o.max_val[0] = mx;
      } else {
        // m + f32(c * f32(cur - m)): the Python float constant becomes float32.
        o.min_val[0] = o.min_val[0] + c.averaging_constant * (mn - o.min_val[0]);
        o.max_val[0] = o.max_val[0] + c.averaging_constant * (mx - o.max_val[0]);
      }
      return true;
    }
    case ObserverKind::per_channel_min_max:
    case ObserverKind::moving_average_per_channel: {
      const int64_t axis = normalized_axis(c.ch_axis, shape.size());
      if (axis < 0 || axis >= static_cast<int64_t>(shape.size()))
        return fail(error, "channel axis " + std::to_string(c.ch_axis) + " is out of range for rank " +
                               std::to_string(shape.size()));
      const size_t channels = static_cast<size_t>(shape[static_cast<size_t>(axis)]);
      size_t inner = 1;
      for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d)
        inner *= static_cast<size_t>(shape[d]);
      const size_t outer = n / channels / inner;
      std::vector<float> mn(channels, kInf), mx(channels, -kInf);
      for (size_t a = 0; a < outer; ++a)
        for (size_t ch = 0; ch < channels; ++ch) {
          const float* p = x + (a * channels + ch) * inner;
          for (size_t i = 0; i < inner; ++i) {
            mn[ch] = std::min(mn[ch], p[i]);
            mx[ch] = std::max(mx[ch], p[i]);
          }
        }
      if (o.min_val.empty()) {
        o.min_val = std::move(mn);
        o.max_val = std::move(mx);
        return true;
      }
      if (o.min_val.size() != channels)
        return fail(error, "the tensor has " + std::to_string(channels) + " channels, earlier ones had " +
                               std::to_string(o.min_val.size()));
      for (size_t ch = 0; ch < channels; ++ch) {
        if (c.kind == ObserverKind::per_channel_min_max) {
          o.min_val[ch] = std::min(mn[ch], o.min_val[ch]);
          o.max_val[ch] = std::max(mx[ch], o.max_val[ch]);
        } else {
          o.min_val[ch] = o.min_val[ch] + c.averaging_constant * (mn[ch] - o.min_val[ch]);
          o.max_val[ch] = o.max_val[ch] + c.averaging_constant * (mx[ch] - o.max_val[ch]);
        }
      }
      return true;
    }
    case ObserverKind::histogram:
    case ObserverKind::percentile:
      observe_histogram(o, x, n);
      return true;
  }
  return true;
}

QuantParams qparams_from_min_max(const Observer& o, const float* min_val, const float* max_val,
                                 size_t n) {
  const ObserverConfig& c = o.config;
  QuantParams q;
  q.axis = per_channel(c.kind) ? c.ch_axis : 0;
  if (n == 0 || (n == 1 && !per_channel(c.kind) && min_val[0] == kInf && max_val[0] == -kInf)) {
    q.scale = {1.0f};
    q.zero_point = {0};
    return q;
  }
  const int32_t qmin = o.qmin, qmax = o.qmax;
  for (size_t i = 0; i < n; ++i) {
    const float mn = std::min(min_val[i], 0.f);
    const float mx = std::max(max_val[i], 0.f);
    float scale;
    int64_t zp;
    if (c.scheme == QScheme::symmetric) {
      // scale = f32(max(-mn, mx) / f32((qmax - qmin) / 2)): 127.5 for -128..127.
      const float amax = std::max(-mn, mx);
      scale = amax / static_cast<float>((qmax - qmin) / 2.0);
      scale = std::max(scale, c.eps);
      if (c.qint8)
        zp = 0;
      else
        zp = c.custom_range ? static_cast<int64_t>(std::floor((qmin + qmax) / 2.0)) : 128;
    } else {
      // scale = f32(f32(mx - mn) / (qmax - qmin)); zp = qmin - rne(f32(mn / scale)), clamped.
      scale = (mx - mn) / static_cast<float>(qmax - qmin);
      scale = std::max(scale, c.eps);
      const float r = std::nearbyint(mn / scale);
      zp = static_cast<int64_t>(qmin) - static_cast<int64_t>(static_cast<int32_t>(r));
      zp = std::min<int64_t>(std::max<int64_t>(zp, qmin), qmax);
    }
    q.scale.push_back(scale);
    q.zero_point.push_back(zp);
  }
  return q;
}

double histogram_quantization_error(const Observer& o, int start_bin, int end_bin) {
  const int bins = o.config.bins;
  const int dst_nbins = 256;  // 2 ** bits(dtype): 256 for quint8 and qint8, even with reduce_range
  // Python doubles: bw = (max - min) / bins; dbw = bw * (end - start + 1) / dst_nbins.
  const double bw = (static_cast<double>(o.max_val[0]) - static_cast<double>(o.min_val[0])) / bins;
  const double dbw = bw * (end_bin - start_bin + 1) / dst_nbins;
  if (dbw == 0.0) return 0.0;
  // Every tensor op below is float32, the Python scalars rounded to float32.
  const float bwf = static_cast<float>(bw);
  const float dbwf = static_cast<float>(dbw);
  const float half = static_cast<float>(dbw / 2);
  const float neg_half = static_cast<float>(-dbw / 2);
  const float top = static_cast<float>(dst_nbins - 1);
  // _get_norm(b, e, density) = density * f32(f32(e*e*e - b*b*b) / 3).
  const float half_cube = half * half * half;
  const float neg_half_cube = neg_half * neg_half * neg_half;
  const float full_bin_norm = (half_cube - neg_half_cube) / 3.f;
  std::vector<float> norm(static_cast<size_t>(bins));
  for (int i = 0; i < bins; ++i) {
    const float begin = static_cast<float>(i - start_bin) * bwf;
    const float end = begin + bwf;
    const float db = std::min(std::max(div_floor(begin, dbwf), 0.f), top);
    const float de = std::min(std::max(div_floor(end, dbwf), 0.f), top);
    const float db_center = (db + 0.5f) * dbwf;
    const float density = o.histogram[static_cast<size_t>(i)] / bwf;
    const float delta_begin = begin - db_center;
    float v = 0.f;
    v += density * ((half_cube - delta_begin * delta_begin * delta_begin) / 3.f);
    v += (de - db - 1.f) * (density * full_bin_norm);
    const float de_center = de * dbwf + half;
    const float delta_end = end - de_center;
    v += density * ((delta_end * delta_end * delta_end - neg_half_cube) / 3.f);
    norm[static_cast<size_t>(i)] = v;
  }
  return static_cast<double>(torch_sum_f32(norm.data(), norm.size()));
}

void histogram_search_range(const Observer& o, float* new_min, float* new_max) {
  const int bins = o.config.bins;
  const float min_val = o.min_val[0], max_val = o.max_val[0];
  const float bin_width = (max_val - min_val) / static_cast<float>(bins);
  const double total = static_cast<double>(torch_sum_f32(o.histogram.data(), o.histogram.size()));
  // torch.cumsum of float32 accumulates in double and stores float32.
  std::vector<float> csum(static_cast<size_t>(bins));
  double running = 0.0;
  for (int i = 0; i < bins; ++i) {
    running += static_cast<double>(o.histogram[static_cast<size_t>(i)]);
    csum[static_cast<size_t>(i)] = static_cast<float>(running);
  }
  const double step = 1e-5;
  double alpha = 0.0, beta = 1.0;
  int start = 0, end = bins - 1;
  double norm_min = std::numeric_limits<double>::infinity();
  while (alpha < beta) {
    const double next_alpha = alpha + step;
    const double next_beta = beta - step;
    // Tensor-vs-Python-float comparisons round the float to float32.
    const float lo_mass = static_cast<float>(next_alpha * total);
    const float hi_mass = static_cast<float>(next_beta * total);
    int l = start, r = end;
    while (l < end && csum[static_cast<size_t>(l)] < lo_mass) ++l;
    while (r > start && csum[static_cast<size_t>(r)] > hi_mass) --r;
    int next_start = start, next_end = end;
    if ((l - start) > (end - r)) {
      next_start = l;
      alpha = next_alpha;
    } else {
      next_end = r;
      beta = next_beta;
    }
    if (next_start == start && next_end == end) continue;
    const double norm = histogram_quantization_error(o, next_start, next_end);
    if (norm > norm_min) break;
    norm_min = norm;
    start = next_start;
    end = next_end;
  }
  *new_min = min_val + bin_width * static_cast<float>(start);
  *new_max = min_val + bin_width * static_cast<float>(end + 1);
}

// Percentile observer (ours; PyTorch has none). It keeps HistogramObserver's
// running histogram and clips each tail to (100 - percentile)% of the mass:
// with bins of width w = (max - min) / bins holding uniform densities and
// total mass T, new_min is the point with T·(100 - p)/100 of the mass below
// it and new_max the point with as much above it (interpolated inside a
// bin, in double, rounded to float32). The qparams then follow from
// [new_min, new_max] like any min/max observer's.
void percentile_range(const Observer& o, float* new_min, float* new_max) {
  const size_t bins = o.histogram.size();
  const double lo = o.min_val[0], hi = o.max_val[0];
  const double w = (hi - lo) / static_cast<double>(bins);
  double total = 0.0;
  for (float h : o.histogram) total += h;
  const double tail = total * (100.0 - o.config.percentile) / 100.0;
  if (total <= 0.0 || tail <= 0.0 || w <= 0.0) {
    *new_min = o.min_val[0];
    *new_max = o.max_val[0];
    return;
  }
  auto point_with_mass_below = [&](double mass) {
    double seen = 0.0;
    for (size_t b = 0; b < bins; ++b) {
      const double h = o.histogram[b];
      if (h > 0.0 && seen + h >= mass) return lo + w * (static_cast<double>(b) + (mass - seen) / h);
      seen += h;
    }
    return hi;
  };
  double a = point_with_mass_below(tail);
  double b = point_with_mass_below(total - tail);
  if (a > b) a = b = (a + b) / 2;
  *new_min = static_cast<float>(a);
  *new_max = static_cast<float>(b);
}

QuantParams calculate_qparams(const Observer& o) {
  if (uses_histogram(o.config.kind)) {
    if (o.min_val[0] == kInf && o.max_val[0] == -kInf) return qparams_from_min_max(o, nullptr, nullptr, 0);
    float mn, mx;
    if (o.config.kind == ObserverKind::histogram)
      histogram_search_range(o, &mn, &mx);
    else
      percentile_range(o, &mn, &mx);
    return qparams_from_min_max(o, &mn, &mx, 1);
  }
  return qparams_from_min_max(o, o.min_val.data(), o.max_val.data(), o.min_val.size());
}

}  // namespace qrt::convert
