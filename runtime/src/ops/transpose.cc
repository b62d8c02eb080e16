// TRANSPOSE: output axis k is input axis perm[k] (ONNX Transpose,
// torch.permute); quantized tensors keep their params. Tiers with a fast
// kernel run transpose_tiled on the simplified permutation, split over the
// pool along output axis 0 for large tensors.
#include <algorithm>
#include <numeric>

#include "kernels/cpu.h"
#include "kernels/ref/layout.h"
#include "kernels/transpose_tiled.h"
#include "ops/ops.h"
#include "thread_pool.h"

namespace qrt {

namespace {

// A chunk moves at least this many bytes: a transpose moves a few bytes a
// nanosecond, so less would cost as much to hand over (~1 us) as to run.
constexpr int64_t kMinChunkBytes = 32768;

struct TransposeData {
  kernels::TransposeParams params;  // as in the model: the reference
  kernels::TransposeParams simple;  // simplify_transpose(params)
  const kernels::TransposeKernel* fast;  // null: transpose_ref
  int64_t units;      // simple's output axis 0, what threads split
  int64_t align;      // units per chunk edge, so edges fall on 64-byte lines
  int64_t min_chunk;  // units
};

}  // namespace

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
  TransposeData* d = ctx.persistent->take<TransposeData>(1);
  const kernels::TransposeKernel* fast = kernels::select_transpose_kernel(ctx.isa);
  ctx.kernel = fast ? fast->name : "transpose_ref";
  if (ctx.persistent->sizing()) return QRT_OK;
  *d = TransposeData{};
  kernels::TransposeParams& p = d->params;
  p.rank = in.rank;
  p.elem_size = dtype_size(in.dtype);
  for (int32_t k = 0; k < n; ++k) {
    p.in_dims[k] = in.dims[k];
    p.perm[k] = perm->Get(static_cast<flatbuffers::uoffset_t>(k));
  }
  d->simple = kernels::simplify_transpose(p);
  d->fast = fast;
  d->units = d->simple.rank > 0 ? d->simple.in_dims[d->simple.perm[0]] : 1;
  const int64_t unit_bytes = static_cast<int64_t>(in.elements * p.elem_size) / d->units;
  d->align = 64 / std::gcd(int64_t{64}, unit_bytes);
  d->min_chunk = std::max<int64_t>(1, kMinChunkBytes / unit_bytes);
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_transpose(OpContext& ctx) {
  const auto& d = *static_cast<const TransposeData*>(ctx.data);
  const void* in = ctx.input(0)->data;
  void* out = ctx.output(0)->data;
  if (!d.fast) {
    kernels::transpose_ref(d.params, in, out);
    return QRT_OK;
  }
  parallel_for(ctx.pool, d.units, d.align, d.min_chunk, [&](int64_t begin, int64_t end, int32_t) {
    kernels::transpose_tiled(d.simple, in, out, begin, end, d.fast);
  });
  return QRT_OK;
}

}  // namespace qrt
