// QUANTIZE (f32 -> u8/s8) and DEQUANTIZE (u8/s8 -> f32), per-tensor params.
// QUANTIZE runs the tier's fast kernel when it has one (bit-exact with the
// reference), split over the pool for large tensors such as a model's
// float image input.
#include "kernels/cpu.h"
#include "kernels/ref/quantize.h"
#include "ops/ops.h"
#include "thread_pool.h"

namespace qrt {

namespace {

// The fast kernel quantizes about an element a nanosecond per thread, so a
// chunk below this would cost as much to hand over (~1 us) as to run.
// Chunk edges sit on 64 elements, a cache line of output.
constexpr int64_t kMinChunkElements = 16384;
constexpr int64_t kChunkAlign = 64;

struct QuantizeData {
  const kernels::QuantizeKernel* fast;  // null: the reference loop
};

}  // namespace

qrt_status prepare_quantize(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  qrt_status s = expect_dtype(ctx, in, "input", DType::F32);
  if (s == QRT_OK) s = expect_same_shape(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
  if (s != QRT_OK) return s;
  if (out.dtype != DType::U8 && out.dtype != DType::S8)
    return op_fail(ctx, QRT_INVALID_MODEL, "output '%s' is %s, expected u8 or s8", out.name,
                   dtype_name(out.dtype));
  const kernels::QuantizeKernel* fast = kernels::select_quantize_kernel(ctx.isa);
  ctx.kernel = fast ? fast->name
                    : out.dtype == DType::U8 ? "quantize_f32_u8_ref" : "quantize_f32_s8_ref";
  QuantizeData* d = ctx.persistent->take<QuantizeData>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->fast = fast;
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_quantize(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (const kernels::QuantizeKernel* fast = static_cast<const QuantizeData*>(ctx.data)->fast) {
    const float* x = in.as<float>();
    parallel_for(ctx.pool, static_cast<int64_t>(in.elements), kChunkAlign, kMinChunkElements,
                 [&](int64_t begin, int64_t end, int32_t) {
                   const size_t b = static_cast<size_t>(begin);
                   const size_t n = static_cast<size_t>(end - begin);
                   if (out.dtype == DType::U8)
                     fast->u8(n, x + b, out.scale, out.zero_point, out.as<uint8_t>() + b);
                   else
                     fast->s8(n, x + b, out.scale, out.zero_point, out.as<int8_t>() + b);
                 });
  } else if (out.dtype == DType::U8)
    kernels::quantize_f32_u8_ref(in.elements, in.as<float>(), out.scale, out.zero_point,
                                 out.as<uint8_t>());
  else
    kernels::quantize_f32_s8_ref(in.elements, in.as<float>(), out.scale, out.zero_point,
                                 out.as<int8_t>());
  return QRT_OK;
}

qrt_status prepare_dequantize(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  qrt_status s = expect_dtype(ctx, out, "output", DType::F32);
  if (s == QRT_OK) s = expect_same_shape(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_per_tensor_quant(ctx, in, "input");
  if (s != QRT_OK) return s;
  if (in.dtype != DType::U8 && in.dtype != DType::S8)
    return op_fail(ctx, QRT_INVALID_MODEL, "input '%s' is %s, expected u8 or s8", in.name,
                   dtype_name(in.dtype));
  return QRT_OK;
}

qrt_status eval_dequantize(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::U8)
    kernels::dequantize_u8_f32_ref(in.elements, in.as<uint8_t>(), in.scale, in.zero_point,
                                   out.as<float>());
  else
    kernels::dequantize_s8_f32_ref(in.elements, in.as<int8_t>(), in.scale, in.zero_point,
                                   out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
