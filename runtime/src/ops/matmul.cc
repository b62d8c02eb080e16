// MATMUL (float32) with ONNX MatMul semantics: numpy.matmul shapes, batch
// dimensions broadcast, either operand may be an activation.
#include "kernels/ref/matmul.h"
#include "ops/ops.h"

namespace qrt {

qrt_status prepare_matmul(OpContext& ctx) {
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  const Tensor& out = *ctx.output(0);
  if (a.dtype != DType::F32)
    return op_fail(ctx, QRT_UNSUPPORTED, "%s input is not supported", dtype_name(a.dtype));
  qrt_status s = expect_dtype(ctx, b, "input b", DType::F32);
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", DType::F32);
  if (s != QRT_OK) return s;

  static_assert(kernels::kNnMaxRank >= kMaxRank, "matmul takes operands of any tensor rank");
  kernels::MatMulShape shape;
  int out_rank = 0;
  int32_t dims[kernels::kNnMaxRank] = {};
  const bool ok = kernels::make_matmul_shape(a.rank, a.dims, b.rank, b.dims, &shape, &out_rank,
                                             dims);
  bool same = ok && out_rank == out.rank;
  for (int i = 0; same && i < out_rank; ++i) same = dims[i] == out.dims[i];
  if (!same) {
    char sa[96], sb[96], so[96];
    return op_fail(ctx, QRT_INVALID_MODEL, "inputs %s and %s do not multiply to output %s",
                   format_shape(a, sa, sizeof(sa)), format_shape(b, sb, sizeof(sb)),
                   format_shape(out, so, sizeof(so)));
  }

  kernels::MatMulShape* d = ctx.persistent->take<kernels::MatMulShape>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  *d = shape;
  ctx.data = d;
  ctx.macs = static_cast<uint64_t>(out.elements) * static_cast<uint64_t>(shape.k);
  return QRT_OK;
}

qrt_status eval_matmul(OpContext& ctx) {
  const kernels::MatMulShape& d = *static_cast<const kernels::MatMulShape*>(ctx.data);
  kernels::matmul_f32_ref(d, ctx.input(0)->as<float>(), ctx.input(1)->as<float>(),
                          ctx.output(0)->as<float>());
  return QRT_OK;
}

}  // namespace qrt
