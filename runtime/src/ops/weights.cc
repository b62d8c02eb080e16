#include "ops/weights.h"

#include <cstdlib>

#include "kernels/ref/quant_math.h"

namespace qrt {

qrt_status check_bias(OpContext& ctx, const Tensor& bias, int32_t channels) {
  if (bias.dtype != DType::F32 || bias.rank != 1 || bias.dims[0] != channels ||
      !bias.is_constant) {
    char shape[96];
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "bias '%s' is %s %s%s, expected a constant f32 (%d,)", bias.name,
                   dtype_name(bias.dtype), format_shape(bias, shape, sizeof(shape)),
                   bias.is_constant ? "" : " (not constant)", channels);
  }
  return QRT_OK;
}

qrt_status check_weight_quant(OpContext& ctx, const Tensor& w, int32_t channels) {
  if (!w.quantized())
    return op_fail(ctx, QRT_INVALID_MODEL, "weights '%s' have no quantization parameters",
                   w.name);
  if (w.per_channel ? (w.num_scales != channels || w.axis != 0) : w.num_scales != 1)
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "weights '%s' have %d scales on axis %d, expected 1 or %d on axis 0", w.name,
                   w.num_scales, w.axis, channels);
  for (int32_t i = 0; i < w.num_scales; ++i)
    if (w.zero_points[i] != 0)
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "weights '%s' zero point %lld at %d: int8 weights must be symmetric",
                     w.name, static_cast<long long>(w.zero_points[i]), i);
  return QRT_OK;
}

RequantArrays take_requant_arrays(OpContext& ctx, bool quant, int32_t channels,
                                  bool per_channel) {
  RequantArrays a;
  if (!quant) return a;
  a.channels = channels;
  a.multiplier = ctx.persistent->take<float>(per_channel ? static_cast<size_t>(channels) : 1);
  if (ctx.profile == kernels::Profile::qnnpack)
    a.bias_q = ctx.persistent->take<int32_t>(static_cast<size_t>(channels));
  else
    a.bias_f = ctx.persistent->take<float>(static_cast<size_t>(channels));
  return a;
}

qrt_status make_requant(OpContext& ctx, const Tensor& in, const Tensor& w, const Tensor* bias,
                        const Tensor& out, float act_min, float act_max,
                        const RequantArrays& arrays, kernels::Requant* rq) {
  kernels::ConvRequantSpec spec;
  spec.profile = ctx.profile;
  spec.in_scale = in.scale;
  spec.w_scales = w.scales;
  spec.per_channel = w.per_channel;
  spec.out_scale = out.scale;
  spec.out_zp = out.zero_point;
  spec.bias = bias ? bias->as<float>() : nullptr;
  spec.channels = arrays.channels;
  spec.act_min = act_min;
  spec.act_max = act_max;
  if (!kernels::make_conv_requant(spec, arrays.multiplier, bias ? arrays.bias_q : nullptr,
                                  bias ? arrays.bias_f : nullptr, rq))
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "requantization scale input*weight/output is not a positive normal float "
                   "(input %g, output %g)",
                   static_cast<double>(in.scale), static_cast<double>(out.scale));
  if (rq->bias_q)
    for (int32_t c = 0; c < arrays.channels; ++c)
      if (std::llabs(rq->bias_q[c]) > kernels::kMaxAbsQuantizedBias)
        return op_fail(ctx, QRT_UNSUPPORTED,
                       "quantized bias of channel %d is %d, beyond +-2^30 (int32 accumulator "
                       "could overflow)",
                       c, rq->bias_q[c]);
  return QRT_OK;
}

}  // namespace qrt
