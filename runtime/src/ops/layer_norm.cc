// LAYER_NORM over the dimensions from `axis` to the last: inputs x, gamma and
// beta (both optional, float32, shaped like those dimensions). float32, and
// uint8 as PyTorch's quantized::layer_norm.
#include <cmath>

#include "kernels/cpu.h"
#include "kernels/ref/layer_norm.h"
#include "ops/ops.h"

namespace qrt {

namespace {

struct LayerNormData {
  kernels::LayerNormShape shape;
  double eps;
  kernels::LayerNormU8Params u8;
  const kernels::F32RowKernel* f32;  // null: the reference
};

qrt_status expect_affine(OpContext& ctx, const Tensor* t, const char* role, const Tensor& x,
                         int32_t axis) {
  if (!t) return QRT_OK;
  qrt_status s = expect_dtype(ctx, *t, role, DType::F32);
  if (s != QRT_OK) return s;
  bool same = t->rank == x.rank - axis;
  for (int32_t i = 0; same && i < t->rank; ++i) same = t->dims[i] == x.dims[axis + i];
  if (same) return QRT_OK;
  char a[96], b[96];
  return op_fail(ctx, QRT_INVALID_MODEL,
                 "%s '%s' has shape %s, expected the last %d dimensions of input %s", role,
                 t->name, format_shape(*t, a, sizeof(a)), x.rank - axis,
                 format_shape(x, b, sizeof(b)));
}

}  // namespace

qrt_status prepare_layer_norm(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor* gamma = ctx.input(1);
  const Tensor* beta = ctx.input(2);
  const Tensor& out = *ctx.output(0);
  const fb::LayerNormOptions* o = ctx.op->options_as_LayerNormOptions();
  const int32_t axis = o ? o->axis() : -1;
  const float eps = o ? o->epsilon() : 1e-5f;
  qrt_status s = expect_same_shape(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", in.dtype);
  if (s != QRT_OK) return s;
  if (axis < -in.rank || axis >= in.rank)
    return op_fail(ctx, QRT_INVALID_MODEL, "axis %d is out of range for input '%s' of rank %d",
                   axis, in.name, in.rank);
  if (!(eps >= 0.f) || !std::isfinite(eps))
    return op_fail(ctx, QRT_INVALID_MODEL, "epsilon %g is not a finite number >= 0",
                   static_cast<double>(eps));
  const int32_t a = axis < 0 ? axis + in.rank : axis;
  s = expect_affine(ctx, gamma, "gamma", in, a);
  if (s == QRT_OK) s = expect_affine(ctx, beta, "beta", in, a);
  if (s != QRT_OK) return s;
  kernels::LayerNormShape shape;
  for (int32_t i = 0; i < in.rank; ++i) (i < a ? shape.rows : shape.cols) *= in.dims[i];

  const bool quant = in.dtype == DType::U8;
  if (quant) {
    s = expect_per_tensor_quant(ctx, in, "input");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
    if (s != QRT_OK) return s;
    if (shape.cols > kernels::kMaxLayerNormU8Cols)
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "%d elements per normalized row; a u8 row holds at most %d (PyTorch sums "
                     "its bytes in int32)",
                     shape.cols, kernels::kMaxLayerNormU8Cols);
  } else if (in.dtype != DType::F32) {
    return op_fail(ctx, QRT_UNSUPPORTED, "%s input is not supported", dtype_name(in.dtype));
  }

  const kernels::F32RowKernel* f32 = quant ? nullptr : kernels::select_f32_row_kernel(ctx.isa);
  if (f32) ctx.kernel = f32->name;
  LayerNormData* d = ctx.persistent->take<LayerNormData>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->shape = shape;
  d->eps = kernels::layer_norm_eps_from_f32(eps);
  d->f32 = f32;
  if (quant)
    d->u8 = kernels::make_layer_norm_u8_params(in.scale, in.zero_point, out.scale,
                                               out.zero_point, d->eps);
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_layer_norm(OpContext& ctx) {
  const LayerNormData& d = *static_cast<const LayerNormData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  const Tensor* gamma = ctx.input(1);
  const Tensor* beta = ctx.input(2);
  Tensor& out = *ctx.output(0);
  const float* g = gamma ? gamma->as<float>() : nullptr;
  const float* b = beta ? beta->as<float>() : nullptr;
  if (in.dtype == DType::U8)
    kernels::layer_norm_u8_ref(d.shape, d.u8, in.as<uint8_t>(), g, b, out.as<uint8_t>());
  else if (d.f32)
    d.f32->layer_norm(d.shape.rows, d.shape.cols, d.eps, in.as<float>(), g, b, out.as<float>());
  else
    kernels::layer_norm_f32_ref(d.shape, d.eps, in.as<float>(), g, b, out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
