// Reference data-movement kernels: transpose, slice, pad, concat, split and
// gather. They move elements of 1, 2, 4 or 8 bytes without looking at them,
// so one kernel serves every dtype; quantized tensors keep their params
// (except concat, whose u8 inputs may be requantized to the output's).
// Every dimension is >= 1 (the model verifier rejects empty tensors).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qrt::kernels {

// Same as QRT_MAX_RANK; kernels do not include the runtime's headers.
constexpr int kLayoutMaxRank = 8;

// out has dims in_dims[perm[k]]; out[i_0, ..., i_{r-1}] = in[j] with
// j[perm[k]] = i_k. perm must be a permutation of 0..rank-1.
struct TransposeParams {
  int rank = 0;
  int32_t in_dims[kLayoutMaxRank] = {};
  int32_t perm[kLayoutMaxRank] = {};
  size_t elem_size = 1;
};
void transpose_ref(const TransposeParams& p, const void* in, void* out);

// The same transpose with the axes of size 1 dropped and runs of input axes
// that stay neighbours in the output merged into one axis: transpose_ref
// gives the same bytes for both. Rank 0 when every axis has size 1. The
// element count must fit in int32 (the runtime caps tensors below 2^31 bytes).
TransposeParams simplify_transpose(const TransposeParams& p);

// out[i] = in[begin + i * step] along every axis, i < out_dims. The caller
// guarantees begin and begin + (out_dims - 1) * step lie in [0, in_dims);
// steps are nonzero and may be negative.
struct SliceParams {
  int rank = 0;
  int32_t in_dims[kLayoutMaxRank] = {};
  int32_t out_dims[kLayoutMaxRank] = {};
  int32_t begin[kLayoutMaxRank] = {};
  int32_t step[kLayoutMaxRank] = {};
  size_t elem_size = 1;
};
void slice_ref(const SliceParams& p, const void* in, void* out);

enum class PadMode : uint8_t { constant = 0, reflect = 1, edge = 2 };

// out_dims = in_dims + before + after. Output index o along an axis reads
// input index i = o - before; outside [0, n) it is the constant, the mirror
// (-i, or 2(n-1) - i: the edge is not repeated) or the nearest edge element.
// Negative pads crop. This equals padding by the positive parts and then
// cropping by the negative ones. Reflect needs |i| to mirror into range:
// before, after < n (PyTorch's limit), checked by the caller.
struct PadParams {
  int rank = 0;
  int32_t in_dims[kLayoutMaxRank] = {};
  int32_t before[kLayoutMaxRank] = {};
  int32_t after[kLayoutMaxRank] = {};
  PadMode mode = PadMode::constant;
  size_t elem_size = 1;
  // Constant mode: the bytes of one output element (a float, or for u8 the
  // byte quantize(value) with the tensor's params).
  uint8_t value[8] = {};
};
void pad_ref(const PadParams& p, const void* in, void* out);

// A tensor viewed as [outer, axis, inner] around the concat/split axis.
struct ConcatPart {
  const void* data = nullptr;
  int64_t axis_size = 0;
  // u8 inputs of concat_u8_ref only: the input's quantization.
  float scale = 1.f;
  int32_t zero_point = 0;
  // u8 inputs of concat_u8_lut only: make_cat_u8_lut's table, or null to copy.
  const uint8_t* lut = nullptr;
};

struct ConcatParams {
  int64_t outer = 1;  // product of the dims before the axis
  int64_t inner = 1;  // product of the dims after the axis
  size_t elem_size = 1;
  int num_inputs = 0;
  const ConcatPart* inputs = nullptr;
};

// out = the inputs one after the other along the axis, bytes copied.
void concat_ref(const ConcatParams& p, void* out);

// How concat_u8_ref dequantizes an input whose params differ from the
// output's (PyTorch's cat, NUMERICS.md "cat").
enum class CatDequant : uint8_t {
  // x = f32(s * (q - zp)): at::dequantize, the scalar form. PyTorch's cat
  // uses it for any input that is not a channels-last 4-D tensor, and for
  // every input on builds without AVX2 (ARM).
  scalar = 0,
  // PyTorch 1.13's channels-last fast path (qcat_nhwc_kernel) on its
  // default x86 build (AVX2): per pixel, the first C - C % 8 channels of an
  // input go through the vector dequantize x = fma(s, q, f32(s * -zp)) (one
  // rounding), the last C % 8 through the scalar form. Meant for axis =
  // channels of an NHWC tensor (inner == 1); the split is by position along
  // the axis.
  avx2_channels_last = 1,
};

// u8 concat. An input whose scale and zero point equal the output's is
// copied; any other is requantized element by element:
//   y = clamp(out_zp + rne(f32(x * f32(1 / out_scale))), 0, 255)
// with x dequantized as `form` says. (Requantizing an input with the
// output's own params would give back its bytes, so the copy changes
// nothing.) elem_size must be 1.
void concat_u8_ref(const ConcatParams& p, float out_scale, int32_t out_zp, CatDequant form,
                   uint8_t* out);

// concat_u8_ref by table: each requantized byte depends only on its input
// byte and on whether its axis position takes the vector dequantize, so
// prepare evaluates the formula once per byte value and invoke looks the
// results up (an element-by-element float requantization costs ~5 ns per
// byte where std::nearbyint is a libm call).
constexpr size_t kCatLutBytes = 512;
// lut[q]: the byte for input byte q where `form` dequantizes with the vector
// form; lut[256 + q]: with the scalar form.
void make_cat_u8_lut(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                     uint8_t lut[kCatLutBytes]);
// The same bytes as concat_u8_ref with the same params and form, where each
// input's lut is make_cat_u8_lut's table for it, or null when its params
// equal the output's. lookup is lut_u8_ref or a tier's LutKernel::run.
// Writes the outer rows [outer_begin, outer_end) of out (the whole output),
// so that threads can take disjoint ranges.
void concat_u8_lut(const ConcatParams& p, CatDequant form,
                   void (*lookup)(const uint8_t* table, size_t n, const uint8_t* in, uint8_t* out),
                   uint8_t* out, int64_t outer_begin, int64_t outer_end);

struct SplitPart {
  void* data = nullptr;
  int64_t axis_size = 0;
};

struct SplitParams {
  int64_t outer = 1;
  int64_t inner = 1;
  size_t elem_size = 1;
  int num_outputs = 0;
  const SplitPart* outputs = nullptr;
};

// The inverse of concat_ref: consecutive pieces of `in` along the axis go to
// the outputs; the outputs' axis sizes add up to the input's.
void split_ref(const SplitParams& p, const void* in);

// ONNX Gather: data viewed as [outer, axis_size, inner], indices flat;
// out[o, j, i] = data[o, k, i] with k = indices[j], plus axis_size if
// negative.
struct GatherParams {
  int64_t outer = 1;
  int64_t axis_size = 1;
  int64_t inner = 1;
  int64_t num_indices = 0;
  size_t elem_size = 1;
  bool indices_i64 = false;  // int64 indices, else int32
};

// Position of the first index outside [-axis_size, axis_size), or -1.
int64_t find_bad_gather_index(const GatherParams& p, const void* indices);

// Checks the indices first and writes nothing when one is out of range:
// returns its position, or -1 after gathering.
int64_t gather_ref(const GatherParams& p, const void* data, const void* indices, void* out);

}  // namespace qrt::kernels
