// ADD of two same-shape tensors with an optional fused clamp.
#include "kernels/ref/add.h"
#include "kernels/ref/quant_math.h"
#include "ops/ops.h"

namespace qrt {

namespace {

struct AddData {
  kernels::AddParams params;
  float act_min, act_max;
};

}  // namespace

qrt_status prepare_add(OpContext& ctx) {
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  const Tensor& out = *ctx.output(0);
  const fb::AddOptions& o = *ctx.op->options_as_AddOptions();
  qrt_status s = expect_same_shape(ctx, a, "input a", out, "output");
  if (s == QRT_OK) s = expect_same_shape(ctx, b, "input b", out, "output");
  if (s == QRT_OK) s = expect_dtype(ctx, b, "input b", a.dtype);
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", a.dtype);
  if (s != QRT_OK) return s;
  if (!(o.act_min() <= o.act_max()))
    return op_fail(ctx, QRT_INVALID_MODEL, "activation range [%g, %g] is empty",
                   static_cast<double>(o.act_min()), static_cast<double>(o.act_max()));
  const bool quant = a.dtype == DType::U8;
  if (quant) {
    s = expect_per_tensor_quant(ctx, a, "input a");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, b, "input b");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
    if (s != QRT_OK) return s;
    if (!kernels::add_scales_supported(ctx.profile, a.scale, b.scale, out.scale))
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "scale ratios input/output %g and %g are outside what this profile's add "
                     "supports",
                     static_cast<double>(a.scale / out.scale),
                     static_cast<double>(b.scale / out.scale));
  } else if (a.dtype != DType::F32) {
    return op_fail(ctx, QRT_UNSUPPORTED, "%s inputs are not supported", dtype_name(a.dtype));
  }
  AddData* d = ctx.persistent->take<AddData>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->act_min = o.act_min();
  d->act_max = o.act_max();
  if (quant)
    d->params = kernels::make_add_params(ctx.profile, a.scale, a.zero_point, b.scale,
                                         b.zero_point, out.scale, out.zero_point, o.act_min(),
                                         o.act_max());
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_add(OpContext& ctx) {
  const AddData& d = *static_cast<const AddData*>(ctx.data);
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  Tensor& out = *ctx.output(0);
  if (a.dtype == DType::U8)
    kernels::add_u8_ref(d.params, out.elements, a.as<uint8_t>(), b.as<uint8_t>(),
                        out.as<uint8_t>());
  else
    kernels::add_f32_ref(out.elements, a.as<float>(), b.as<float>(), d.act_min, d.act_max,
                         out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
