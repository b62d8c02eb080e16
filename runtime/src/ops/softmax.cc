// SOFTMAX (float32, uint8) and LOG_SOFTMAX (float32) along one axis; a
// negative axis counts from the end.
#include "kernels/cpu.h"
#include "kernels/ref/softmax.h"
#include "ops/ops.h"

namespace qrt {

namespace {

struct SoftmaxData {
  kernels::SoftmaxShape shape;
  kernels::SoftmaxU8Params u8;
  const kernels::F32RowKernel* f32;  // float softmax over the last axis, or null
};

qrt_status prepare_any_softmax(OpContext& ctx, bool log) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  const fb::SoftmaxOptions* o = ctx.op->options_as_SoftmaxOptions();
  const int32_t axis = o ? o->axis() : -1;
  qrt_status s = expect_same_shape(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", in.dtype);
  if (s != QRT_OK) return s;
  // A scalar is one slice of one element (PyTorch accepts dim 0 or -1 there).
  const int32_t span = in.rank > 0 ? in.rank : 1;
  if (axis < -span || axis >= span)
    return op_fail(ctx, QRT_INVALID_MODEL, "axis %d is out of range for input '%s' of rank %d",
                   axis, in.name, in.rank);
  const int32_t a = axis < 0 ? axis + span : axis;
  kernels::SoftmaxShape shape;
  for (int32_t i = 0; i < in.rank; ++i) {
    if (i < a) shape.outer *= in.dims[i];
    if (i == a) shape.axis = in.dims[i];
    if (i > a) shape.inner *= in.dims[i];
  }

  const bool quant = in.dtype == DType::U8;
  if (quant) {
    if (log)
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "u8 input '%s': PyTorch has no quantized log_softmax; keep it float32",
                     in.name);
    s = expect_per_tensor_quant(ctx, in, "input");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
    if (s != QRT_OK) return s;
  } else if (in.dtype != DType::F32) {
    return op_fail(ctx, QRT_UNSUPPORTED, "%s input is not supported", dtype_name(in.dtype));
  }

  const kernels::F32RowKernel* f32 =
      !quant && !log && shape.inner == 1 ? kernels::select_f32_row_kernel(ctx.isa) : nullptr;
  if (f32) ctx.kernel = f32->name;
  SoftmaxData* d = ctx.persistent->take<SoftmaxData>(1);
  uint32_t* table = quant && kernels::softmax_u8_uses_table(ctx.profile, out.scale,
                                                            out.zero_point)
                        ? ctx.persistent->take<uint32_t>(256)
                        : nullptr;
  if (ctx.persistent->sizing()) return QRT_OK;
  d->shape = shape;
  d->f32 = f32;
  if (quant)
    d->u8 = kernels::make_softmax_u8_params(ctx.profile, in.scale, in.zero_point, out.scale,
                                            out.zero_point, shape.axis, table);
  ctx.data = d;
  return QRT_OK;
}

}  // namespace

qrt_status prepare_softmax(OpContext& ctx) { return prepare_any_softmax(ctx, false); }

qrt_status eval_softmax(OpContext& ctx) {
  const SoftmaxData& d = *static_cast<const SoftmaxData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::U8)
    kernels::softmax_u8_ref(d.shape, d.u8, in.as<uint8_t>(), out.as<uint8_t>());
  else if (d.f32)
    d.f32->softmax(d.shape.outer, d.shape.axis, in.as<float>(), out.as<float>());
  else
    kernels::softmax_f32_ref(d.shape, in.as<float>(), out.as<float>());
  return QRT_OK;
}

qrt_status prepare_log_softmax(OpContext& ctx) { return prepare_any_softmax(ctx, true); }

qrt_status eval_log_softmax(OpContext& ctx) {
  const SoftmaxData& d = *static_cast<const SoftmaxData*>(ctx.data);
  kernels::log_softmax_f32_ref(d.shape, ctx.input(0)->as<float>(), ctx.output(0)->as<float>());
  return QRT_OK;
}

}  // namespace qrt
