// GATHER (ONNX Gather, torch.index_select): inputs data and indices (i32 or
// i64, negative ones count from the end). Constant indices are checked
// here; others at every eval, where one out of range fails the invoke.
//
// An int8 embedding table (PyTorch's quantized nn.Embedding) is GATHER on
// axis 0 of a plain u8 table [V, D] with a third input, scale_bias f32
// [V, 2] (scale and bias of each row), and an f32 output: rows are
// dequantized as they are gathered (kernels/ref/embedding.h). Scale and
// bias travel as a tensor, not as quantization params, because the
// schema's zero points are integers and PyTorch's are floats.
#include "kernels/ref/embedding.h"
#include "kernels/ref/layout.h"
#include "ops/ops.h"

namespace qrt {

namespace {

qrt_status bad_index(OpContext& ctx, qrt_status code, const kernels::GatherParams& p,
                     const Tensor& indices, int64_t j) {
  const int64_t k = p.indices_i64 ? indices.as<const int64_t>()[j] : indices.as<const int32_t>()[j];
  return op_fail(ctx, code, "indices '%s'[%lld] = %lld is outside [%lld, %lld)", indices.name,
                 static_cast<long long>(j), static_cast<long long>(k),
                 static_cast<long long>(-p.axis_size), static_cast<long long>(p.axis_size));
}

// The int8 table form: u8 data [V, D] without quantization params, gathered
// on axis 0, and a constant f32 scale_bias [V, 2].
qrt_status expect_rows_table(OpContext& ctx, const Tensor& data, const Tensor& scale_bias, int32_t axis) {
  qrt_status s = expect_dtype(ctx, data, "data", DType::U8);
  if (s == QRT_OK) s = expect_rank(ctx, data, "data", 2);
  if (s == QRT_OK) s = expect_dtype(ctx, scale_bias, "scale_bias", DType::F32);
  if (s != QRT_OK) return s;
  if (data.quantized())
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "data '%s' of a u8 table with scale_bias must carry no quantization params", data.name);
  if (axis != 0 && axis != -2)
    return op_fail(ctx, QRT_INVALID_MODEL, "a u8 table with scale_bias is gathered on axis 0, not %d", axis);
  if (!scale_bias.is_constant || scale_bias.rank != 2 ||
      scale_bias.dims[0] != data.dims[0] || scale_bias.dims[1] != 2) {
    char a[96], b[96];
    return op_fail(ctx, QRT_INVALID_MODEL, "scale_bias '%s' %s is not a constant f32 [%d, 2] for data %s",
                   scale_bias.name, format_shape(scale_bias, a, sizeof(a)), data.dims[0],
                   format_shape(data, b, sizeof(b)));
  }
  return QRT_OK;
}

}  // namespace

qrt_status prepare_gather(OpContext& ctx) {
  const Tensor& data = *ctx.input(0);
  const Tensor& indices = *ctx.input(1);
  const Tensor& out = *ctx.output(0);
  const Tensor* scale_bias = ctx.input(2);
  const fb::GatherOptions* o = ctx.op->options_as_GatherOptions();
  if (!o) return op_fail(ctx, QRT_INVALID_MODEL, "GatherOptions are missing");
  qrt_status s = expect_dtype(ctx, out, "output", scale_bias ? DType::F32 : data.dtype);
  if (s == QRT_OK)
    s = scale_bias ? expect_rows_table(ctx, data, *scale_bias, o->axis())
                   : expect_same_quant(ctx, data, "data", out, "output");
  if (s != QRT_OK) return s;
  if ((indices.dtype != DType::I32 && indices.dtype != DType::I64) || indices.quantized())
    return op_fail(ctx, QRT_INVALID_MODEL, "indices '%s' are %s%s, expected plain i32 or i64",
                   indices.name, indices.quantized() ? "quantized " : "",
                   dtype_name(indices.dtype));
  const int32_t r = data.rank;
  if (o->axis() < -r || o->axis() >= r)
    return op_fail(ctx, QRT_INVALID_MODEL, "axis %d is outside rank %d", o->axis(), r);
  const int32_t axis = o->axis() < 0 ? o->axis() + r : o->axis();
  // out.shape = data.shape[:axis] + indices.shape + data.shape[axis + 1:]
  bool fits = out.rank == r - 1 + indices.rank;
  for (int32_t k = 0; fits && k < out.rank; ++k) {
    const int32_t want = k < axis                  ? data.dims[k]
                         : k < axis + indices.rank ? indices.dims[k - axis]
                                                   : data.dims[k - indices.rank + 1];
    fits = out.dims[k] == want;
  }
  if (!fits) {
    char a[96], b[96], c[96];
    return op_fail(ctx, QRT_INVALID_MODEL, "data %s gathered by indices %s on axis %d is not output %s",
                   format_shape(data, a, sizeof(a)), format_shape(indices, b, sizeof(b)), axis,
                   format_shape(out, c, sizeof(c)));
  }
  kernels::GatherParams p;
  for (int32_t k = 0; k < axis; ++k) p.outer *= data.dims[k];
  for (int32_t k = axis + 1; k < r; ++k) p.inner *= data.dims[k];
  p.axis_size = data.dims[axis];
  p.num_indices = static_cast<int64_t>(indices.elements);
  p.elem_size = dtype_size(data.dtype);
  p.indices_i64 = indices.dtype == DType::I64;
  if (indices.is_constant) {
    const int64_t bad = kernels::find_bad_gather_index(p, indices.data);
    if (bad >= 0) return bad_index(ctx, QRT_INVALID_MODEL, p, indices, bad);
  }
  kernels::GatherParams* d = ctx.persistent->take<kernels::GatherParams>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  *d = p;
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_gather(OpContext& ctx) {
  const auto& p = *static_cast<const kernels::GatherParams*>(ctx.data);
  const Tensor& indices = *ctx.input(1);
  const Tensor* scale_bias = ctx.input(2);
  const int64_t bad =
      scale_bias ? kernels::gather_rows_u8_ref(p, ctx.input(0)->data, scale_bias->as<const float>(), indices.data,
                                               ctx.output(0)->as<float>())
                 : kernels::gather_ref(p, ctx.input(0)->data, indices.data, ctx.output(0)->data);
  if (bad >= 0) return bad_index(ctx, QRT_RUNTIME, p, indices, bad);
  return QRT_OK;
}

}  // namespace qrt
