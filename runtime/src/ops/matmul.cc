// MATMUL (float32) with ONNX MatMul semantics: numpy.matmul shapes, batch
// dimensions broadcast, either operand may be an activation.
#include <algorithm>

#include "kernels/cpu.h"
#include "kernels/ref/matmul.h"
#include "ops/ops.h"
#include "thread_pool.h"

namespace qrt {

namespace {

struct MatMulData {
  kernels::MatMulShape shape;
  const kernels::F32GemmKernel* f32;  // null for the reference
  // The fast path splits the product into items of one row tile of one
  // batch matrix, at least min_items an item chunk.
  int64_t row_tiles, items, min_items;
};

// As for FULLY_CONNECTED: below this many MACs a hand-off costs about what the chunk does.
constexpr int64_t kMinChunkMacs = int64_t{1} << 17;

// Where batch matrix `index` (row-major over batch_dims) starts in a and b.
void batch_offsets(const kernels::MatMulShape& s, int64_t index, size_t* a_off, size_t* b_off) {
  int64_t a = 0, b = 0;
  for (int d = s.batch_rank - 1; d >= 0; --d) {
    const int64_t i = index % s.batch_dims[d];
    index /= s.batch_dims[d];
    a += i * s.a_strides[d];
    b += i * s.b_strides[d];
  }
  *a_off = static_cast<size_t>(a);
  *b_off = static_cast<size_t>(b);
}

}  // namespace

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

  MatMulData* d = ctx.persistent->take<MatMulData>(1);
  const kernels::F32GemmKernel* f32 = kernels::select_f32_gemm_kernel(ctx.isa);
  ctx.kernel = f32 ? f32->name : "matmul_f32_ref";
  ctx.macs = static_cast<uint64_t>(out.elements) * static_cast<uint64_t>(shape.k);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->shape = shape;
  d->f32 = f32;
  if (f32) {
    int64_t batches = 1;
    for (int i = 0; i < shape.batch_rank; ++i) batches *= shape.batch_dims[i];
    d->row_tiles = (shape.m + f32->mr - 1) / f32->mr;
    d->items = batches * d->row_tiles;
    d->min_items = min_chunk_rows(int64_t{f32->mr} * shape.n * shape.k, kMinChunkMacs);
  }
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_matmul(OpContext& ctx) {
  const MatMulData& d = *static_cast<const MatMulData*>(ctx.data);
  const float* a = ctx.input(0)->as<float>();
  const float* b = ctx.input(1)->as<float>();
  float* out = ctx.output(0)->as<float>();
  if (!d.f32) {
    kernels::matmul_f32_ref(d.shape, a, b, out);
    return QRT_OK;
  }
  const kernels::MatMulShape& s = d.shape;
  const int mr = d.f32->mr;
  parallel_for(ctx.pool, d.items, 1, d.min_items, [&](int64_t begin, int64_t end, int32_t) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t batch = item / d.row_tiles;
      const int row = static_cast<int>(item % d.row_tiles) * mr;
      size_t a_off = 0, b_off = 0;
      batch_offsets(s, batch, &a_off, &b_off);
      kernels::F32GemmArgs g;
      g.n = s.n;
      g.k = s.k;
      g.a = a + a_off;
      g.a_stride = static_cast<size_t>(s.k);
      g.b = b + b_off;
      g.b_stride = static_cast<size_t>(s.n);
      g.out = out + static_cast<size_t>(batch) * s.m * s.n;
      g.out_stride = static_cast<size_t>(s.n);
      d.f32->run(g, row, std::min(row + mr, s.m), 0, s.n);
    }
  });
  return QRT_OK;
}

}  // namespace qrt
