// CONCAT and SPLIT along one axis (ONNX Concat / Split, torch.cat / split).
// Both view tensors as [outer, axis, inner]. u8 concat inputs may carry
// their own params (PyTorch's quantized cat requantizes them to the
// output's); every other tensor keeps its params.
#include "kernels/cpu.h"
#include "kernels/ref/layout.h"
#include "kernels/ref/unary.h"
#include "ops/ops.h"
#include "thread_pool.h"

namespace qrt {

namespace {

struct ConcatData {
  kernels::ConcatParams params;
  kernels::ConcatPart* parts;  // params.inputs, data pointers set by eval
  bool requantize;
  kernels::CatDequant form;
  void (*lookup)(const uint8_t* table, size_t n, const uint8_t* in, uint8_t* out);
};

struct SplitData {
  kernels::SplitParams params;
  kernels::SplitPart* parts;  // params.outputs, data pointers set by eval
};

// Normalizes an ONNX axis (negative counts from the end) into [0, rank).
bool normalize_axis(int32_t axis, int32_t rank, int32_t* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

// `part` matches `whole` except along `axis`.
bool same_except_axis(const Tensor& part, const Tensor& whole, int32_t axis) {
  if (part.rank != whole.rank) return false;
  for (int32_t k = 0; k < whole.rank; ++k)
    if (k != axis && part.dims[k] != whole.dims[k]) return false;
  return true;
}

void outer_inner(const Tensor& t, int32_t axis, int64_t* outer, int64_t* inner) {
  *outer = 1;
  *inner = 1;
  for (int32_t k = 0; k < axis; ++k) *outer *= t.dims[k];
  for (int32_t k = axis + 1; k < t.rank; ++k) *inner *= t.dims[k];
}

qrt_status shape_mismatch(OpContext& ctx, const char* role, int index, const Tensor& part,
                          const Tensor& whole, const char* whole_role, int32_t axis) {
  char a[96], b[96];
  return op_fail(ctx, QRT_INVALID_MODEL,
                 "%s %d '%s' shape %s does not match %s '%s' shape %s outside axis %d", role,
                 index, part.name, format_shape(part, a, sizeof(a)), whole_role, whole.name,
                 format_shape(whole, b, sizeof(b)), axis);
}

}  // namespace

qrt_status prepare_concat(OpContext& ctx) {
  const Tensor& out = *ctx.output(0);
  const fb::ConcatOptions* o = ctx.op->options_as_ConcatOptions();
  if (!o) return op_fail(ctx, QRT_INVALID_MODEL, "ConcatOptions are missing");
  int32_t axis = 0;
  if (!normalize_axis(o->axis(), out.rank, &axis))
    return op_fail(ctx, QRT_INVALID_MODEL, "axis %d is outside rank %d", o->axis(), out.rank);
  const bool requantize = out.dtype == DType::U8 && out.quantized();
  if (requantize) {
    qrt_status s = expect_per_tensor_quant(ctx, out, "output");
    if (s != QRT_OK) return s;
  }
  int64_t axis_total = 0;
  for (int32_t i = 0; i < ctx.num_inputs; ++i) {
    const Tensor* in = ctx.input(i);
    if (!in) return op_fail(ctx, QRT_INVALID_MODEL, "input %d is absent", i);
    qrt_status s = expect_dtype(ctx, *in, "input", out.dtype);
    if (s != QRT_OK) return s;
    if (!same_except_axis(*in, out, axis))
      return shape_mismatch(ctx, "input", i, *in, out, "output", axis);
    s = requantize ? expect_per_tensor_quant(ctx, *in, "input")
                   : expect_same_quant(ctx, *in, "input", out, "output");
    if (s != QRT_OK) return s;
    axis_total += in->dims[axis];
  }
  if (axis_total != out.dims[axis])
    return op_fail(ctx, QRT_INVALID_MODEL, "inputs add up to %lld along axis %d, output '%s' has %d",
                   static_cast<long long>(axis_total), axis, out.name, out.dims[axis]);

  // A table per requantized input (make_cat_u8_lut); an input with the
  // output's params is copied.
  const auto needs_lut = [&](const Tensor& in) {
    return requantize && (in.scale != out.scale || in.zero_point != out.zero_point);
  };
  int32_t luts = 0;
  for (int32_t i = 0; i < ctx.num_inputs; ++i) luts += needs_lut(*ctx.input(i));
  ConcatData* d = ctx.persistent->take<ConcatData>(1);
  kernels::ConcatPart* parts = ctx.persistent->take<kernels::ConcatPart>(ctx.num_inputs);
  uint8_t* lut = ctx.persistent->take<uint8_t>(luts * kernels::kCatLutBytes);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->params = kernels::ConcatParams{};
  outer_inner(out, axis, &d->params.outer, &d->params.inner);
  d->params.elem_size = dtype_size(out.dtype);
  d->params.num_inputs = ctx.num_inputs;
  d->params.inputs = parts;
  d->parts = parts;
  for (int32_t i = 0; i < ctx.num_inputs; ++i) {
    const Tensor& in = *ctx.input(i);
    parts[i] = kernels::ConcatPart{};
    parts[i].axis_size = in.dims[axis];
    parts[i].scale = in.scale;
    parts[i].zero_point = in.zero_point;
    if (needs_lut(in)) {
      kernels::make_cat_u8_lut(in.scale, in.zero_point, out.scale, out.zero_point, lut);
      parts[i].lut = lut;
      lut += kernels::kCatLutBytes;
    }
  }
  d->requantize = requantize;
  const kernels::LutKernel* fast = luts > 0 ? kernels::select_lut_kernel(ctx.isa) : nullptr;
  d->lookup = fast ? fast->run : kernels::lut_u8_ref;
  ctx.kernel = fast ? fast->name : luts > 0 ? "lut_u8_ref" : "concat_ref";
  // The fbgemm profile is PyTorch on x86, where cat over the channels of
  // channels-last tensors (what NHWC axis 3 is) takes the AVX2 fast path;
  // qnnpack (PyTorch on ARM) always dequantizes with the scalar form.
  d->form = ctx.profile == kernels::Profile::fbgemm && out.rank == 4 && axis == 3
                ? kernels::CatDequant::avx2_channels_last
                : kernels::CatDequant::scalar;
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_concat(OpContext& ctx) {
  ConcatData& d = *static_cast<ConcatData*>(ctx.data);
  for (int32_t i = 0; i < ctx.num_inputs; ++i) d.parts[i].data = ctx.input(i)->data;
  Tensor& out = *ctx.output(0);
  if (d.requantize) {
    // Split over outer rows (dims are >= 1, so outer is too) in chunks of
    // kByteChunkMin output bytes, like the byte-wise elementwise ops.
    const int64_t row_bytes = static_cast<int64_t>(out.elements) / d.params.outer;
    const int64_t min_rows = min_chunk_rows(row_bytes, kByteChunkMin);
    parallel_for(ctx.pool, d.params.outer, 1, min_rows, [&](int64_t begin, int64_t end, int32_t) {
      kernels::concat_u8_lut(d.params, d.form, d.lookup, out.as<uint8_t>(), begin, end);
    });
  } else
    kernels::concat_ref(d.params, out.data);
  return QRT_OK;
}

qrt_status prepare_split(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const fb::SplitOptions* o = ctx.op->options_as_SplitOptions();
  if (!o) return op_fail(ctx, QRT_INVALID_MODEL, "SplitOptions are missing");
  int32_t axis = 0;
  if (!normalize_axis(o->axis(), in.rank, &axis))
    return op_fail(ctx, QRT_INVALID_MODEL, "axis %d is outside rank %d", o->axis(), in.rank);
  int64_t axis_total = 0;
  for (int32_t i = 0; i < ctx.num_outputs; ++i) {
    const Tensor& out = *ctx.output(i);
    qrt_status s = expect_dtype(ctx, out, "output", in.dtype);
    if (s == QRT_OK) s = expect_same_quant(ctx, in, "input", out, "output");
    if (s != QRT_OK) return s;
    if (!same_except_axis(out, in, axis))
      return shape_mismatch(ctx, "output", i, out, in, "input", axis);
    axis_total += out.dims[axis];
  }
  if (axis_total != in.dims[axis])
    return op_fail(ctx, QRT_INVALID_MODEL, "outputs add up to %lld along axis %d, input '%s' has %d",
                   static_cast<long long>(axis_total), axis, in.name, in.dims[axis]);

  SplitData* d = ctx.persistent->take<SplitData>(1);
  kernels::SplitPart* parts = ctx.persistent->take<kernels::SplitPart>(ctx.num_outputs);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->params = kernels::SplitParams{};
  outer_inner(in, axis, &d->params.outer, &d->params.inner);
  d->params.elem_size = dtype_size(in.dtype);
  d->params.num_outputs = ctx.num_outputs;
  d->params.outputs = parts;
  d->parts = parts;
  for (int32_t i = 0; i < ctx.num_outputs; ++i) {
    parts[i] = kernels::SplitPart{};
    parts[i].axis_size = ctx.output(i)->dims[axis];
  }
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_split(OpContext& ctx) {
  SplitData& d = *static_cast<SplitData*>(ctx.data);
  for (int32_t i = 0; i < ctx.num_outputs; ++i) d.parts[i].data = ctx.output(i)->data;
  kernels::split_ref(d.params, ctx.input(0)->data);
  return QRT_OK;
}

}  // namespace qrt
