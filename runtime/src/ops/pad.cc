// PAD (ONNX Pad, torch.nn.functional.pad): constant, reflect or edge, pads
// in ONNX order; negative pads crop. Quantized tensors keep their params,
// and a constant pad writes quantize(value) with them, as PyTorch's
// quantized constant_pad_nd fills its output.
#include <cmath>
#include <cstring>

#include "kernels/ref/layout.h"
#include "kernels/ref/quant_math.h"
#include "ops/ops.h"

namespace qrt {

namespace {

// The element a constant pad writes, or false if `value` has no exact
// representation in a plain (unquantized) integer tensor.
bool pad_element(const Tensor& t, float value, uint8_t* bytes) {
  if (t.dtype == DType::F32) {
    std::memcpy(bytes, &value, sizeof(value));
    return true;
  }
  if (t.quantized()) {
    const bool u8 = t.dtype == DType::U8;
    const int32_t q = kernels::quantize_value(value, t.scale, t.zero_point, u8 ? 0 : -128,
                                              u8 ? 255 : 127);
    bytes[0] = static_cast<uint8_t>(q);
    return true;
  }
  double lo = 0, hi = 0;
  switch (t.dtype) {
    case DType::U8: lo = 0; hi = 255; break;
    case DType::S8: lo = -128; hi = 127; break;
    case DType::I32: lo = -2147483648.0; hi = 2147483647.0; break;
    case DType::I64: lo = -9223372036854775808.0; hi = 9223372036854775807.0; break;
    default: return false;
  }
  const double v = value;
  if (!(v >= lo && v <= hi) || std::trunc(v) != v) return false;
  // hi for i64 rounds up to 2^63; that one value is not representable.
  if (t.dtype == DType::I64 && v >= 9223372036854775808.0) return false;
  const int64_t i = static_cast<int64_t>(v);
  std::memcpy(bytes, &i, dtype_size(t.dtype));  // little-endian: the low bytes
  return true;
}

}  // namespace

qrt_status prepare_pad(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  const fb::PadOptions* o = ctx.op->options_as_PadOptions();
  if (!o) return op_fail(ctx, QRT_INVALID_MODEL, "PadOptions are missing");
  qrt_status s = expect_dtype(ctx, out, "output", in.dtype);
  if (s == QRT_OK) s = expect_same_quant(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_rank(ctx, out, "output", in.rank);
  if (s == QRT_OK && in.quantized()) s = expect_per_tensor_quant(ctx, in, "input");
  if (s != QRT_OK) return s;
  if (in.quantized() && in.dtype != DType::U8 && in.dtype != DType::S8)
    return op_fail(ctx, QRT_UNSUPPORTED, "quantized %s input is not supported",
                   dtype_name(in.dtype));
  const auto* pads = o->pads();
  const int32_t r = in.rank;
  if (!pads || static_cast<int32_t>(pads->size()) != 2 * r)
    return op_fail(ctx, QRT_INVALID_MODEL, "pads has %u entries, expected %d for rank %d",
                   pads ? pads->size() : 0u, 2 * r, r);
  const fb::PadMode mode = o->mode();
  if (mode != fb::PadMode::CONSTANT && mode != fb::PadMode::REFLECT &&
      mode != fb::PadMode::EDGE)
    return op_fail(ctx, QRT_UNSUPPORTED, "pad mode %d is unknown", static_cast<int>(mode));
  for (int32_t k = 0; k < r; ++k) {
    const int64_t before = pads->Get(static_cast<flatbuffers::uoffset_t>(k));
    const int64_t after = pads->Get(static_cast<flatbuffers::uoffset_t>(k + r));
    if (in.dims[k] + before + after != out.dims[k]) {
      char a[96], b[96];
      return op_fail(ctx, QRT_INVALID_MODEL, "input %s padded by %lld, %lld on axis %d is not output %s",
                     format_shape(in, a, sizeof(a)), static_cast<long long>(before),
                     static_cast<long long>(after), k, format_shape(out, b, sizeof(b)));
    }
    // A mirror needs the mirrored elements: PyTorch's limit, pad < size.
    if (mode == fb::PadMode::REFLECT && (before >= in.dims[k] || after >= in.dims[k]))
      return op_fail(ctx, QRT_INVALID_MODEL,
                     "reflect pads %lld, %lld on axis %d must be smaller than its size %d",
                     static_cast<long long>(before), static_cast<long long>(after), k,
                     in.dims[k]);
  }
  kernels::PadParams* d = ctx.persistent->take<kernels::PadParams>(1);
  kernels::PadParams p;
  if (mode == fb::PadMode::CONSTANT && !pad_element(in, o->value(), p.value))
    return op_fail(ctx, QRT_INVALID_MODEL, "pad value %g is not a %s", static_cast<double>(o->value()),
                   dtype_name(in.dtype));
  if (ctx.persistent->sizing()) return QRT_OK;
  p.rank = r;
  p.elem_size = dtype_size(in.dtype);
  p.mode = static_cast<kernels::PadMode>(mode);
  for (int32_t k = 0; k < r; ++k) {
    p.in_dims[k] = in.dims[k];
    p.before[k] = pads->Get(static_cast<flatbuffers::uoffset_t>(k));
    p.after[k] = pads->Get(static_cast<flatbuffers::uoffset_t>(k + r));
  }
  *d = p;
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_pad(OpContext& ctx) {
  const auto& d = *static_cast<const kernels::PadParams*>(ctx.data);
  kernels::pad_ref(d, ctx.input(0)->data, ctx.output(0)->data);
  return QRT_OK;
}

}  // namespace qrt
