#include "kernels/ref/choose_qparams.h"

#include <algorithm>
#include <cmath>

namespace qrt::kernels {

ChosenQParams choose_quantization_params(float min, float max, int32_t qmin, int32_t qmax,
                                         bool preserve_sparsity, bool reduce_range) {
  if (reduce_range) {
    qmin /= 2;
    qmax /= 2;
  }
  if (min < 0 && max > 0 && preserve_sparsity) {
    const int32_t sym_qmin = -((qmax - qmin) / 2 + 1);
    const int32_t sym_qmax = (qmax - qmin) / 2;
    // float / int divides in float; PyTorch keeps the wider of the two in a
    // double, but it already holds a float value.
    const double max_scale = std::max(std::fabs(min / static_cast<float>(sym_qmin)),
                                      std::fabs(max / static_cast<float>(sym_qmax)));
    min = static_cast<float>(max_scale * sym_qmin);
    max = static_cast<float>(max_scale * sym_qmax);
  }
  min = std::min(min, 0.f);
  max = std::max(max, 0.f);

  double scale = (static_cast<double>(max) - min) / (qmax - qmin);
  if (static_cast<float>(scale) == 0.f || std::isinf(1.f / static_cast<float>(scale))) scale = 0.1;

  // fp16's smallest normal, as float: PyTorch compares and assigns the
  // float constant, and rescales min/max in float.
  constexpr float kSmallScale = 6.1e-5f;
  if (scale < kSmallScale) {
    const float old_scale = static_cast<float>(scale);
    scale = kSmallScale;
    if (min == 0.f) {
      max = kSmallScale * static_cast<float>(qmax - qmin);
    } else if (max == 0.f) {
      min = -kSmallScale * static_cast<float>(qmax - qmin);
    } else {
      const float amplifier = kSmallScale / old_scale;
      min *= amplifier;
      max *= amplifier;
    }
  }

  // Each candidate's error term is about machine epsilon times the sum of
  // the magnitudes it adds, so PyTorch keeps the one with smaller terms.
  const double zp_from_min = qmin - min / scale;
  const double zp_from_max = qmax - max / scale;
  const double zp_from_min_error = std::abs(qmin) - std::fabs(min / scale);
  const double zp_from_max_error = std::abs(qmax) - std::fabs(max / scale);
  double zp = zp_from_min_error < zp_from_max_error ? zp_from_min : zp_from_max;
  if (min < 0 && max > 0 && preserve_sparsity) zp = static_cast<double>(qmin + qmax) / 2;

  // Written so that a NaN (only reachable by breaking the preconditions)
  // gives qmin instead of an undefined float->int conversion.
  ChosenQParams p;
  p.scale = scale;
  if (!(zp >= qmin))
    p.zero_point = qmin;
  else if (zp > qmax)
    p.zero_point = qmax;
  else
    p.zero_point = static_cast<int32_t>(std::nearbyint(zp));
  return p;
}

}  // namespace qrt::kernels
