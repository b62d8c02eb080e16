// CLAMP (ReLU, ReLU6, Clip): quantized tensors keep their params, so the
// bounds are quantize(min) and quantize(max) with them.
#include "kernels/ref/clamp.h"
#include "kernels/ref/quant_math.h"
#include "ops/ops.h"

namespace qrt {

namespace {

struct ClampData {
  uint8_t lo_q, hi_q;
  float lo, hi;
};

}  // namespace

qrt_status prepare_clamp(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  const fb::ClampOptions& o = *ctx.op->options_as_ClampOptions();
  qrt_status s = expect_same_shape(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", in.dtype);
  if (s == QRT_OK) s = expect_same_quant(ctx, in, "input", out, "output");
  if (s != QRT_OK) return s;
  if (!(o.min() <= o.max()))
    return op_fail(ctx, QRT_INVALID_MODEL, "range [%g, %g] is empty",
                   static_cast<double>(o.min()), static_cast<double>(o.max()));
  if (in.dtype == DType::U8) {
    s = expect_per_tensor_quant(ctx, in, "input");
    if (s != QRT_OK) return s;
  } else if (in.dtype != DType::F32) {
    return op_fail(ctx, QRT_UNSUPPORTED, "%s input is not supported", dtype_name(in.dtype));
  }
  ClampData* d = ctx.persistent->take<ClampData>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->lo = o.min();
  d->hi = o.max();
  if (in.dtype == DType::U8) {
    d->lo_q = static_cast<uint8_t>(kernels::quantize_value(o.min(), in.scale, in.zero_point, 0, 255));
    d->hi_q = static_cast<uint8_t>(kernels::quantize_value(o.max(), in.scale, in.zero_point, 0, 255));
  }
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_clamp(OpContext& ctx) {
  const ClampData& d = *static_cast<const ClampData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::U8)
    kernels::clamp_u8_ref(in.elements, in.as<uint8_t>(), d.lo_q, d.hi_q, out.as<uint8_t>());
  else
    kernels::clamp_f32_ref(in.elements, in.as<float>(), d.lo, d.hi, out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
