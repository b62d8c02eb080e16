// LSTM and GRU: one layer, one direction (schema/qrt.fbs, RnnOptions).
//
// As PyTorch 1.13's CPU RNNs (aten/src/ATen/native/RNN.cpp, FullLayer):
// the input-to-hidden linear runs once over the whole sequence, then each
// step runs the hidden-to-hidden linear on h and the cell's float gate math
// (kernels/ref/rnn.h). With S8 weights both linears are dynamically quantized
// (QuantizedCellParamsDynamic::linear_ih/linear_hh = apply_dynamic): one input
// quantization for all of X, one for h at every step. reduce_range is true
// there, which only the fbgemm profile honours (fully_connected_dynamic_ref).
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "kernels/cpu.h"
#include "kernels/ref/fully_connected.h"
#include "kernels/ref/quant_math.h"
#include "kernels/ref/rnn.h"
#include "ops/ops.h"
#include "ops/weights.h"

namespace qrt {

namespace {

enum Input { kX, kW, kR, kWBias, kRBias, kInitH, kInitC };

// out = in * w^T + bias over `rows` rows: float weights (packed for the
// fast float GEMM when the tier has one), or a dynamic linear kernel's
// packed int8 ones.
struct Linear {
  int n = 0, k = 0;
  const float* w = nullptr;
  const float* bias = nullptr;
  const void* packed = nullptr;
};

struct RnnData {
  bool lstm, reverse, batch_major, linear_before_reset;
  int seq, batch, hidden, gates;
  const kernels::DynamicLinearKernel* dynamic;  // null for the float op
  const kernels::F32GemmKernel* f32;            // float op's fast GEMM, or null
  kernels::GateActivations act;                 // the tier's row kernel's, or the references
  // hh: all of R, except for GRU without linear_before_reset, where hh is
  // R's z and r rows and hh_cand its h rows (they read r * h, not h).
  Linear ih, hh, hh_cand;
  // Scratch: the linear kernel's at 0, then floats.
  size_t xg_at, hg_at, tmp_at, h_at, c_at, rh_at;
};

void run_linear(const RnnData& d, const Linear& l, int rows, const float* in, float* out,
                void* scratch) {
  if (d.dynamic) {
    d.dynamic->run(l.packed, rows, in, out, scratch);
    return;
  }
  if (d.f32) {
    // Each output is the bias then k in order, whatever the rows: a chunked
    // sequence gives the same bits as one call.
    kernels::F32GemmArgs a;
    a.n = l.n;
    a.k = l.k;
    a.a = in;
    a.a_stride = static_cast<size_t>(l.k);
    a.packed = l.packed;
    a.bias = l.bias;
    a.out = out;
    a.out_stride = static_cast<size_t>(l.n);
    d.f32->run(a, 0, rows, 0, l.n);
    return;
  }
  kernels::FullyConnectedShape s;
  s.batch = rows;
  s.in_features = l.k;
  s.out_features = l.n;
  kernels::fully_connected_f32_ref(s, in, l.w, l.bias, -INFINITY, INFINITY, out);
}

// `want`, or `want` with one size-1 axis (ONNX's num_directions) inserted.
bool shape_is(const Tensor& t, std::initializer_list<int32_t> want) {
  const int n = static_cast<int>(want.size());
  if (t.rank != n && t.rank != n + 1) return false;
  // With rank n the loop runs once, for skip = n: no axis is skipped.
  for (int skip = t.rank == n ? n : 0; skip <= n; ++skip) {
    if (t.rank > n && t.dims[skip] != 1) continue;
    bool same = true;
    int i = 0;
    for (int32_t v : want) {
      same = same && t.dims[i < skip ? i : i + 1] == v;
      ++i;
    }
    if (same) return true;
  }
  return false;
}

qrt_status expect_shape(OpContext& ctx, const Tensor& t, const char* role,
                        std::initializer_list<int32_t> want) {
  if (shape_is(t, want)) return QRT_OK;
  char have[96], expected[96];
  int at = 0;
  for (int32_t v : want)
    at += std::snprintf(expected + at, sizeof(expected) - static_cast<size_t>(at),
                        at ? ", %d" : "(%d", v);
  std::snprintf(expected + at, sizeof(expected) - static_cast<size_t>(at),
                want.size() == 1 ? ",)" : ")");  // as format_shape writes it
  return op_fail(ctx, QRT_INVALID_MODEL,
                 "%s '%s' has shape %s, expected %s (a size-1 direction axis may be kept)", role,
                 t.name, format_shape(t, have, sizeof(have)), expected);
}

// Role names, in Input order.
const char* const kRoles[] = {"input X",   "weights W", "recurrence weights R", "W bias", "R bias",
                              "initial h", "initial c"};

qrt_status check_tensors(OpContext& ctx, const RnnData& d, int input, bool* dynamic) {
  const int32_t gh = d.gates * d.hidden;
  const Tensor& w = *ctx.input(kW);
  const Tensor& r = *ctx.input(kR);
  qrt_status s = expect_rank(ctx, w, kRoles[kW], 2);
  if (s == QRT_OK) s = expect_rank(ctx, r, kRoles[kR], 2);
  if (s == QRT_OK) s = expect_shape(ctx, w, kRoles[kW], {gh, input});
  if (s == QRT_OK) s = expect_shape(ctx, r, kRoles[kR], {gh, d.hidden});
  if (s != QRT_OK) return s;
  *dynamic = w.dtype == DType::S8;
  for (const Tensor* t : {&w, &r}) {
    s = expect_dtype(ctx, *t, t == &w ? kRoles[kW] : kRoles[kR], *dynamic ? DType::S8 : DType::F32);
    if (s == QRT_OK && *dynamic) s = check_weight_quant(ctx, *t, gh);
    if (s != QRT_OK) return s;
    if (!t->is_constant)
      return op_fail(ctx, QRT_UNSUPPORTED, "%s '%s' must be constant",
                     t == &w ? kRoles[kW] : kRoles[kR], t->name);
  }
  if (*dynamic &&
      (input > kernels::kMaxAccumulationDepth || d.hidden > kernels::kMaxAccumulationDepth))
    return op_fail(ctx, QRT_UNSUPPORTED,
                   "accumulation depth %d exceeds %d (int32 accumulator could overflow)",
                   input > d.hidden ? input : d.hidden, kernels::kMaxAccumulationDepth);
  for (int i = kWBias; i <= kInitC; ++i) {
    const Tensor* t = ctx.input(i);
    if (!t) continue;
    s = expect_dtype(ctx, *t, kRoles[i], DType::F32);
    if (s == QRT_OK && i <= kRBias) s = expect_shape(ctx, *t, kRoles[i], {gh});
    if (s == QRT_OK && i >= kInitH) s = expect_shape(ctx, *t, kRoles[i], {d.batch, d.hidden});
    if (s != QRT_OK) return s;
    if (i <= kRBias && !t->is_constant)
      return op_fail(ctx, QRT_UNSUPPORTED, "%s '%s' must be constant", kRoles[i], t->name);
  }
  const char* const out_roles[] = {"output Y", "final h", "final c"};
  for (int i = 0; i < ctx.num_outputs; ++i) {
    const Tensor& t = *ctx.output(i);
    s = expect_dtype(ctx, t, out_roles[i], DType::F32);
    if (s != QRT_OK) return s;
    if (i == 0)
      s = d.batch_major ? expect_shape(ctx, t, out_roles[0], {d.batch, d.seq, d.hidden})
                        : expect_shape(ctx, t, out_roles[0], {d.seq, d.batch, d.hidden});
    else
      s = expect_shape(ctx, t, out_roles[i], {d.batch, d.hidden});
    if (s != QRT_OK) return s;
  }
  return QRT_OK;
}

size_t floats_at(size_t* used, size_t count) {
  const size_t at = (*used + 63) & ~size_t{63};
  *used = at + count * sizeof(float);
  return at;
}

// Rows [first, first + n) of W or R, with the same entries of its bias, as
// one linear.
Linear make_linear(OpContext& ctx, const Tensor& w, const Tensor* bias, int first, int n,
                   const RnnData& d) {
  Linear l;
  l.n = n;
  l.k = w.dims[1];
  const size_t packed_bytes = d.dynamic ? d.dynamic->packed_bytes(n, l.k)
                              : d.f32   ? d.f32->packed_bytes(n, l.k)
                                        : 0;
  void* packed = packed_bytes ? ctx.persistent->take<uint8_t>(packed_bytes) : nullptr;
  if (ctx.persistent->sizing()) return l;
  const size_t skip = static_cast<size_t>(first) * static_cast<size_t>(l.k);
  l.bias = bias ? bias->as<float>() + first : nullptr;
  if (!d.dynamic) {
    l.w = w.as<float>() + skip;
    if (d.f32) {
      d.f32->pack(n, l.k, l.w, packed);
      l.packed = packed;
    }
    return l;
  }
  kernels::DynamicLinearParams p;
  p.profile = ctx.profile;
  p.shape.in_features = l.k;
  p.shape.out_features = n;
  p.w = w.as<int8_t>() + skip;
  p.w_scales = w.scales + (w.per_channel ? first : 0);
  p.per_channel = w.per_channel;
  p.bias = l.bias;
  d.dynamic->pack(p, packed);
  l.packed = packed;
  return l;
}

// Rows of `width` floats from a contiguous block into rows `stride` apart.
void scatter_rows(const float* src, int rows, int width, float* dst, size_t stride) {
  const size_t n = static_cast<size_t>(width);
  for (int b = 0; b < rows; ++b) std::memcpy(dst + b * stride, src + b * n, n * sizeof(float));
}

}  // namespace

qrt_status prepare_rnn(OpContext& ctx) {
  const fb::RnnOptions& o = *ctx.op->options_as_RnnOptions();
  RnnData d{};
  d.lstm = ctx.op->opcode() == fb::OpCode::LSTM;
  d.gates = d.lstm ? 4 : 3;
  d.reverse = o.reverse();
  d.batch_major = o.batch_major();
  d.linear_before_reset = o.linear_before_reset();
  d.hidden = o.hidden_size();
  if (d.hidden < 1 || d.hidden > INT32_MAX / 4)
    return op_fail(ctx, QRT_INVALID_MODEL, "hidden_size %d is out of range", d.hidden);
  const Tensor& x = *ctx.input(kX);
  qrt_status s = expect_dtype(ctx, x, kRoles[kX], DType::F32);
  if (s == QRT_OK) s = expect_rank(ctx, x, kRoles[kX], 3);
  if (s != QRT_OK) return s;
  d.seq = x.dims[d.batch_major ? 1 : 0];
  d.batch = x.dims[d.batch_major ? 0 : 1];
  const int input = x.dims[2];
  bool dynamic = false;
  s = check_tensors(ctx, d, input, &dynamic);
  if (s != QRT_OK) return s;
  const int64_t rows = int64_t{d.seq} * d.batch;
  const size_t gh = static_cast<size_t>(d.gates) * static_cast<size_t>(d.hidden);
  // The whole-sequence projection holds gates * Y's floats.
  if (rows > INT_MAX || static_cast<uint64_t>(rows) * gh > SIZE_MAX / 8)
    return op_fail(ctx, QRT_UNSUPPORTED, "%lld steps x batch rows are too many",
                   static_cast<long long>(rows));

  d.dynamic = dynamic ? kernels::select_dynamic_linear_kernel(ctx.isa) : nullptr;
  d.f32 = dynamic ? nullptr : kernels::select_f32_gemm_kernel(ctx.isa);
  ctx.kernel = dynamic ? d.dynamic->name : d.f32 ? d.f32->name : "fully_connected_f32_ref";
  if (const kernels::F32RowKernel* rows = kernels::select_f32_row_kernel(ctx.isa)) {
    d.act.sigmoid = rows->sigmoid;
    d.act.tanh = rows->tanh;
  }
  ctx.macs = static_cast<uint64_t>(rows) * gh * static_cast<uint64_t>(input + d.hidden);

  const size_t h_floats = static_cast<size_t>(d.batch) * static_cast<size_t>(d.hidden);
  size_t used = 0;
  if (dynamic) {
    used = d.dynamic->scratch_bytes(static_cast<int>(rows), input);
    const size_t step = d.dynamic->scratch_bytes(d.batch, d.hidden);
    if (step > used) used = step;
  }
  d.xg_at = floats_at(&used, static_cast<size_t>(rows) * gh);
  d.hg_at = floats_at(&used, static_cast<size_t>(d.batch) * gh);
  // GRU without linear_before_reset splits R (see RnnData).
  const bool split_r = !d.lstm && !d.linear_before_reset;
  const int split = split_r ? 2 * d.hidden : d.gates * d.hidden;
  d.tmp_at = floats_at(&used, split_r ? static_cast<size_t>(d.batch) * gh : 0);
  d.h_at = floats_at(&used, h_floats);
  d.c_at = floats_at(&used, d.lstm ? h_floats : 0);
  d.rh_at = floats_at(&used, split_r ? h_floats : 0);
  ctx.scratch_bytes = used;

  RnnData* data = ctx.persistent->take<RnnData>(1);
  const Tensor& w = *ctx.input(kW);
  const Tensor& r = *ctx.input(kR);
  d.ih = make_linear(ctx, w, ctx.input(kWBias), 0, d.gates * d.hidden, d);
  d.hh = make_linear(ctx, r, ctx.input(kRBias), 0, split, d);
  if (split_r) d.hh_cand = make_linear(ctx, r, ctx.input(kRBias), split, d.hidden, d);
  if (ctx.persistent->sizing()) return QRT_OK;
  *data = d;
  ctx.data = data;
  return QRT_OK;
}

qrt_status eval_rnn(OpContext& ctx) {
  const RnnData& d = *static_cast<const RnnData*>(ctx.data);
  uint8_t* scratch = ctx.scratch;
  float* xg = reinterpret_cast<float*>(scratch + d.xg_at);
  float* hg = reinterpret_cast<float*>(scratch + d.hg_at);
  float* tmp = reinterpret_cast<float*>(scratch + d.tmp_at);
  float* h = reinterpret_cast<float*>(scratch + d.h_at);
  float* c = reinterpret_cast<float*>(scratch + d.c_at);
  float* rh = reinterpret_cast<float*>(scratch + d.rh_at);
  const size_t hn = static_cast<size_t>(d.hidden);
  const size_t gh = static_cast<size_t>(d.gates) * hn;
  const size_t state_bytes = static_cast<size_t>(d.batch) * hn * sizeof(float);

  run_linear(d, d.ih, d.seq * d.batch, ctx.input(kX)->as<float>(), xg, scratch);
  const Tensor* h0 = ctx.input(kInitH);
  const Tensor* c0 = ctx.input(kInitC);
  if (h0)
    std::memcpy(h, h0->data, state_bytes);
  else
    std::memset(h, 0, state_bytes);
  if (c0)
    std::memcpy(c, c0->data, state_bytes);
  else if (d.lstm)
    std::memset(c, 0, state_bytes);

  float* y = ctx.output(0)->as<float>();
  // X's rows are (t, b) or, batch-major, (b, t); xg's follow them.
  const size_t row_step = d.batch_major ? 1 : static_cast<size_t>(d.batch);
  const size_t batch_step = d.batch_major ? static_cast<size_t>(d.seq) : 1;
  for (int s = 0; s < d.seq; ++s) {
    const size_t t = static_cast<size_t>(d.reverse ? d.seq - 1 - s : s);
    const float* xgt = xg + t * row_step * gh;
    const size_t xg_stride = batch_step * gh;
    if (d.lstm) {
      run_linear(d, d.hh, d.batch, h, hg, scratch);
      kernels::lstm_cell_f32_ref(d.act, d.batch, d.hidden, xgt, xg_stride, hg, c, h);
    } else if (d.linear_before_reset) {
      run_linear(d, d.hh, d.batch, h, hg, scratch);
      kernels::gru_cell_f32_ref(d.act, d.batch, d.hidden, true, xgt, xg_stride, hg, h);
    } else {
      run_linear(d, d.hh, d.batch, h, tmp, scratch);
      scatter_rows(tmp, d.batch, 2 * d.hidden, hg, gh);
      kernels::gru_reset_f32_ref(d.act, d.batch, d.hidden, xgt, xg_stride, hg, h, rh);
      run_linear(d, d.hh_cand, d.batch, rh, tmp, scratch);
      scatter_rows(tmp, d.batch, d.hidden, hg + 2 * hn, gh);
      kernels::gru_cell_f32_ref(d.act, d.batch, d.hidden, false, xgt, xg_stride, hg, h);
    }
    for (int b = 0; b < d.batch; ++b)
      std::memcpy(y + (t * row_step + static_cast<size_t>(b) * batch_step) * hn,
                  h + static_cast<size_t>(b) * hn, hn * sizeof(float));
  }
  if (ctx.num_outputs > 1) std::memcpy(ctx.output(1)->data, h, state_bytes);
  if (ctx.num_outputs > 2) std::memcpy(ctx.output(2)->data, c, state_bytes);
  return QRT_OK;
}

}  // namespace qrt
