// REDUCE_SUM, REDUCE_MEAN and REDUCE_MAX (float32) over a set of axes
// (negative ones count from the end; none listed = all, as in ONNX). The
// output shape must match keep_dims.
#include "kernels/ref/reduce.h"
#include "ops/ops.h"

namespace qrt {

qrt_status prepare_reduce(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  const fb::ReduceOptions* o = ctx.op->options_as_ReduceOptions();
  const auto* axes = o ? o->axes() : nullptr;
  const bool keep_dims = o ? o->keep_dims() : true;
  if (in.dtype != DType::F32)
    return op_fail(ctx, QRT_UNSUPPORTED, "%s input is not supported", dtype_name(in.dtype));
  qrt_status s = expect_dtype(ctx, out, "output", DType::F32);
  if (s != QRT_OK) return s;

  bool reduce[kMaxRank] = {};
  const bool all = !axes || axes->size() == 0;
  for (int32_t i = 0; all && i < in.rank; ++i) reduce[i] = true;
  for (flatbuffers::uoffset_t k = 0; !all && k < axes->size(); ++k) {
    const int32_t axis = axes->Get(k);
    if (axis < -in.rank || axis >= in.rank)
      return op_fail(ctx, QRT_INVALID_MODEL, "axis %d is out of range for input '%s' of rank %d",
                     axis, in.name, in.rank);
    const int32_t a = axis < 0 ? axis + in.rank : axis;
    if (reduce[a])
      return op_fail(ctx, QRT_INVALID_MODEL, "axis %d is listed twice", axis);
    reduce[a] = true;
  }

  bool shape_ok = true;
  int32_t r = 0;
  for (int32_t i = 0; i < in.rank; ++i) {
    if (reduce[i] && !keep_dims) continue;
    const int32_t want = reduce[i] ? 1 : in.dims[i];
    shape_ok = shape_ok && r < out.rank && out.dims[r] == want;
    ++r;
  }
  if (!shape_ok || r != out.rank) {
    char a[96], b[96];
    return op_fail(ctx, QRT_INVALID_MODEL, "input %s does not reduce to output %s (keep_dims %d)",
                   format_shape(in, a, sizeof(a)), format_shape(out, b, sizeof(b)),
                   keep_dims ? 1 : 0);
  }

  static_assert(kernels::kNnMaxRank >= kMaxRank, "reduce kernels take any tensor rank");
  kernels::ReduceShape* d = ctx.persistent->take<kernels::ReduceShape>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  *d = kernels::make_reduce_shape(in.rank, in.dims, reduce);
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_reduce(OpContext& ctx) {
  const kernels::ReduceShape& d = *static_cast<const kernels::ReduceShape*>(ctx.data);
  const float* in = ctx.input(0)->as<float>();
  float* out = ctx.output(0)->as<float>();
  switch (ctx.op->opcode()) {
    case fb::OpCode::REDUCE_SUM: kernels::reduce_sum_f32_ref(d, in, out); break;
    case fb::OpCode::REDUCE_MEAN: kernels::reduce_mean_f32_ref(d, in, out); break;
    default: kernels::reduce_max_f32_ref(d, in, out); break;
  }
  return QRT_OK;
}

}  // namespace qrt
