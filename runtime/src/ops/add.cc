// ADD with numpy/ONNX broadcasting and an optional fused clamp.
//
// uint8 follows PyTorch's routing: with equal input shapes the qnnpack
// profile runs QNNPACK's fixed-point add; with any other shapes PyTorch
// 1.13 falls back to its generic float kernel on the qnnpack engine too
// (kernels/ref/add.h). Same-shape uint8 adds run the fast kernel of the
// interpreter's tier when it has one (bit-exact with add_u8_ref).
#include <cmath>

#include "kernels/cpu.h"
#include "kernels/ref/add.h"
#include "kernels/ref/binary.h"
#include "kernels/ref/quant_math.h"
#include "ops/ops.h"
#include "thread_pool.h"

namespace qrt {

namespace {

struct AddData {
  kernels::AddParams params;
  kernels::BroadcastShape shape;
  bool same_shape;  // a and b have one shape: flat loop, QNNPACK's add
  const kernels::AddKernel* fast;  // uint8, a, b and out of one shape; else null
  float act_min, act_max;
};

bool same_dims(const Tensor& a, const Tensor& b) {
  bool same = a.rank == b.rank;
  for (int i = 0; same && i < a.rank; ++i) same = a.dims[i] == b.dims[i];
  return same;
}

}  // namespace

qrt_status prepare_add(OpContext& ctx) {
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  const Tensor& out = *ctx.output(0);
  // A verified model may still omit the options table: use its defaults.
  float act_min = -INFINITY, act_max = INFINITY;
  if (const fb::AddOptions* o = ctx.op->options_as_AddOptions()) {
    act_min = o->act_min();
    act_max = o->act_max();
  }
  kernels::BroadcastShape shape;
  qrt_status s = expect_dtype(ctx, b, "input b", a.dtype);
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", a.dtype);
  if (s == QRT_OK) s = expect_broadcast(ctx, a, b, out, &shape);
  if (s == QRT_OK) s = expect_act_range(ctx, act_min, act_max);
  if (s != QRT_OK) return s;
  const bool same_shape = same_dims(a, b);
  const bool quant = a.dtype == DType::U8;
  // The fast kernels walk a, b and out with one index: all three must have
  // one shape (not only a and b, which could still broadcast against out).
  const kernels::AddKernel* fast =
      quant && same_shape && same_dims(a, out) ? kernels::select_add_kernel(ctx.isa) : nullptr;
  if (fast)
    ctx.kernel = fast->name;
  else if (quant)
    ctx.kernel = same_shape ? "add_u8_ref" : "add_u8_broadcast_ref";
  else
    ctx.kernel = kernels::broadcast_is_flat(shape) ? "add_f32_ref" : "binary_f32_ref";
  if (quant) {
    s = expect_per_tensor_quant(ctx, a, "input a");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, b, "input b");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
    if (s != QRT_OK) return s;
    // Only QNNPACK's fixed-point add limits the scale ratios.
    const kernels::Profile limits = same_shape ? ctx.profile : kernels::Profile::fbgemm;
    if (!kernels::add_scales_supported(limits, a.scale, b.scale, out.scale))
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "scale ratios input/output %g and %g are outside what this profile's add "
                     "supports",
                     static_cast<double>(a.scale / out.scale),
                     static_cast<double>(b.scale / out.scale));
  } else if (a.dtype != DType::F32) {
    return op_fail(ctx, QRT_UNSUPPORTED, "%s inputs are not supported", dtype_name(a.dtype));
  }
  AddData* d = ctx.persistent->take<AddData>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->shape = shape;
  d->same_shape = same_shape;
  d->fast = fast;
  d->act_min = act_min;
  d->act_max = act_max;
  if (quant)
    d->params = kernels::make_add_params(ctx.profile, a.scale, a.zero_point, b.scale,
                                         b.zero_point, out.scale, out.zero_point, act_min,
                                         act_max);
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_add(OpContext& ctx) {
  const AddData& d = *static_cast<const AddData*>(ctx.data);
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  Tensor& out = *ctx.output(0);
  if (a.dtype == DType::U8) {
    if (d.fast)
      // Only the fast kernel is split over the pool (thread_pool.h).
      parallel_for(ctx.pool, static_cast<int64_t>(out.elements), kByteChunkAlign, kByteChunkMin,
                   [&](int64_t begin, int64_t end, int32_t) {
                     d.fast->run(d.params, a.as<uint8_t>(), b.as<uint8_t>(), out.as<uint8_t>(),
                                 static_cast<size_t>(begin), static_cast<size_t>(end));
                   });
    else if (d.same_shape)
      kernels::add_u8_ref(d.params, out.elements, a.as<uint8_t>(), b.as<uint8_t>(),
                          out.as<uint8_t>());
    else
      kernels::add_u8_broadcast_ref(d.params, d.shape, a.as<uint8_t>(), b.as<uint8_t>(),
                                    out.as<uint8_t>());
  } else if (kernels::broadcast_is_flat(d.shape)) {
    kernels::add_f32_ref(out.elements, a.as<float>(), b.as<float>(), d.act_min, d.act_max,
                         out.as<float>());
  } else {
    kernels::binary_f32_ref(kernels::BinaryOp::add, d.shape, a.as<float>(), b.as<float>(),
                            d.act_min, d.act_max, out.as<float>());
  }
  return QRT_OK;
}

}  // namespace qrt
