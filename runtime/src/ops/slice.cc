// SLICE: output element i reads input begin + i * step along every axis;
// the output shape gives the counts (ONNX Slice with its starts, ends and
// axes resolved by the converter; steps may be negative). Quantized
// tensors keep their params.
#include "kernels/ref/layout.h"
#include "ops/ops.h"

namespace qrt {

qrt_status prepare_slice(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  const fb::SliceOptions* o = ctx.op->options_as_SliceOptions();
  if (!o) return op_fail(ctx, QRT_INVALID_MODEL, "SliceOptions are missing");
  qrt_status s = expect_dtype(ctx, out, "output", in.dtype);
  if (s == QRT_OK) s = expect_same_quant(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_rank(ctx, out, "output", in.rank);
  if (s != QRT_OK) return s;
  const auto* begin = o->begin();
  const auto* step = o->step();
  const int32_t nb = begin ? static_cast<int32_t>(begin->size()) : 0;
  const int32_t ns = step ? static_cast<int32_t>(step->size()) : 0;
  if (nb != in.rank || ns != in.rank)
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "begin has %d and step %d entries for input '%s' of rank %d", nb, ns, in.name,
                   in.rank);
  for (int32_t k = 0; k < in.rank; ++k) {
    const auto u = static_cast<flatbuffers::uoffset_t>(k);
    const int64_t b = begin->Get(u), st = step->Get(u);
    const int64_t last = b + (int64_t{out.dims[k]} - 1) * st;
    if (st == 0 || b < 0 || b >= in.dims[k] || last < 0 || last >= in.dims[k])
      return op_fail(ctx, QRT_INVALID_MODEL,
                     "axis %d: %d elements from %lld in steps of %lld leave [0, %d) of input '%s'",
                     k, out.dims[k], static_cast<long long>(b), static_cast<long long>(st),
                     in.dims[k], in.name);
  }
  kernels::SliceParams* d = ctx.persistent->take<kernels::SliceParams>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  *d = kernels::SliceParams{};
  d->rank = in.rank;
  d->elem_size = dtype_size(in.dtype);
  for (int32_t k = 0; k < in.rank; ++k) {
    const auto u = static_cast<flatbuffers::uoffset_t>(k);
    d->in_dims[k] = in.dims[k];
    d->out_dims[k] = out.dims[k];
    d->begin[k] = begin->Get(u);
    d->step[k] = step->Get(u);
  }
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_slice(OpContext& ctx) {
  const auto& d = *static_cast<const kernels::SliceParams*>(ctx.data);
  kernels::slice_ref(d, ctx.input(0)->data, ctx.output(0)->data);
  return QRT_OK;
}

}  // namespace qrt
