// TRANSPOSE: output axis k is input axis perm[k] (ONNX Transpose,
// torch.permute); quantized tensors keep their params.
#include "kernels/ref/layout.h"
#include "ops/ops.h"

namespace qrt {

qrt_status prepare_transpose(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  const fb::TransposeOptions* o = ctx.op->options_as_TransposeOptions();
  if (!o) return op_fail(ctx, QRT_INVALID_MODEL, "TransposeOptions are missing");
  qrt_status s = expect_dtype(ctx, out, "output", in.dtype);
  if (s == QRT_OK) s = expect_same_quant(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_rank(ctx, out, "output", in.rank);
  if (s != QRT_OK) return s;
  const auto* perm = o->perm();
  const int32_t n = perm ? static_cast<int32_t>(perm->size()) : 0;
  if (n != in.rank)
    return op_fail(ctx, QRT_INVALID_MODEL, "perm has %d entries for input '%s' of rank %d", n,
                   in.name, in.rank);
  bool seen[kMaxRank] = {};
  for (int32_t k = 0; k < n; ++k) {
    const int32_t p = perm->Get(static_cast<flatbuffers::uoffset_t>(k));
    if (p < 0 || p >= n || seen[p])
      return op_fail(ctx, QRT_INVALID_MODEL, "perm is not a permutation of 0..%d (entry %d is %d)",
                     n - 1, k, p);
    seen[p] = true;
  }
  for (int32_t k = 0; k < n; ++k) {
    if (out.dims[k] != in.dims[perm->Get(static_cast<flatbuffers::uoffset_t>(k))]) {
      char a[96], b[96];
      return op_fail(ctx, QRT_INVALID_MODEL, "input %s permuted does not give output %s",
                     format_shape(in, a, sizeof(a)), format_shape(out, b, sizeof(b)));
    }
  }
  kernels::TransposeParams* d = ctx.persistent->take<kernels::TransposeParams>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  *d = kernels::TransposeParams{};
  d->rank = in.rank;
  d->elem_size = dtype_size(in.dtype);
  for (int32_t k = 0; k < n; ++k) {
    d->in_dims[k] = in.dims[k];
    d->perm[k] = perm->Get(static_cast<flatbuffers::uoffset_t>(k));
  }
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_transpose(OpContext& ctx) {
  const auto& d = *static_cast<const kernels::TransposeParams*>(ctx.data);
  kernels::transpose_ref(d, ctx.input(0)->data, ctx.output(0)->data);
  return QRT_OK;
}

}  // namespace qrt
