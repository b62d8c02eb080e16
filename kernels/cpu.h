// CPU feature detection and kernel dispatch.
//
// Detection runs at prepare time (CPUID/XGETBV on x86; on ARM, NEON from
// the build and the dot product from AT_HWCAP); invoke only calls the
// function pointers chosen then. Each kernel family has one selection point
// that returns a table of pure functions, or null when the ISA has no fast
// kernel for it (the caller then uses kernels/ref, which every fast kernel
// matches bit for bit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "kernels/params.h"

namespace qrt::kernels {

// Instruction set tiers, from slowest to fastest within an architecture.
enum class Isa : uint8_t { ref, avx2, avxvnni, avx512vnni, neon, neon_dotprod };

// The fastest tier this CPU and OS support (ymm/zmm state enabled by the OS,
// not only the CPUID bits).
Isa best_isa();
bool isa_available(Isa isa);
const char* isa_name(Isa isa);  // "ref", "avx2", "avxvnni", "avx512vnni", "neon", "neon_dotprod"
bool parse_isa(const char* name, Isa* isa);

// best_isa(), or the tier named by the environment variable QRT_ISA. An
// unknown name or a tier this CPU lacks sets *error (when error is not null)
// and returns Isa::ref; otherwise *error is cleared.
Isa selected_isa(std::string* error);

// ---------------------------------------------------------------------------
// GEMM: 1x1 convolutions (stride 1, no padding) and FullyConnected.
//   out[m][n] = requantize(sum_k (a[m][k] - a_zp) * w[n][k], rq, n)
// exactly as conv2d_u8s8_ref / fully_connected_u8s8_ref.

struct GemmPackParams {
  int n = 0;                    // output columns (channels / out_features)
  int k = 0;                    // reduction depth, 1..kMaxAccumulationDepth
  const int8_t* w = nullptr;    // [n][k], row per output column
  int32_t a_zp = 0;             // activation zero point
  const Requant* rq = nullptr;  // arrays indexed by output column
};

struct GemmArgs {
  const void* packed = nullptr;  // written by pack(), at least 4-byte aligned
  const uint8_t* a = nullptr;    // row m at a + m * a_stride, k bytes
  size_t a_stride = 0;
  uint8_t* out = nullptr;  // row m at out + m * out_stride, n bytes
  size_t out_stride = 0;
};

struct GemmKernel {
  const char* name;  // e.g. "gemm_u8s8_8x32_avx512vnni"
  Isa isa;
  int mr, nr;  // register tile: rows x columns
  // What pack() writes for these weights ([n][k]) in this profile. The
  // AVX2 tier's layout depends on their values (u8 where vpmaddubsw is
  // exact, else int16), so the size does too.
  size_t (*packed_bytes)(int n, int k, const int8_t* w, Profile profile);
  // Packs the weights into MR x NR panels and bakes everything per column
  // that run needs: the accumulator start bias_q[n] - a_zp * sum_k w[n][k]
  // (qnnpack) or -a_zp * sum_k w[n][k] (fbgemm), mod 2^32, the multiplier,
  // the float bias, and rq's zero point and clamp. Prepare-time only.
  void (*pack)(const GemmPackParams& p, void* packed);
  size_t (*scratch_bytes)(int k);  // per concurrent run call
  // Rows [m_begin, m_end). No allocation; scratch holds scratch_bytes(k).
  void (*run)(const GemmArgs& args, int m_begin, int m_end, void* scratch);
};

const GemmKernel* select_gemm_kernel(Isa isa);

// ---------------------------------------------------------------------------
// General convolution (any kernel, stride, dilation, padding, groups), exactly
// as conv2d_u8s8_ref. pack() picks a path from the shape: 1x1 stride 1
// unpadded ungrouped convs run as a GEMM over the input pixels; ungrouped
// convs with narrow kernel rows (in_c * kernel_w <= 64, e.g. the first 3x3
// layer on an RGB image) gather their rows straight from the input; all
// others read the input through an indirection buffer of kernel_h * kernel_w
// pointers per output pixel, built once at prepare. Output pixels are
// numbered m = (n * out_h + oy) * out_w + ox.

struct ConvPackParams {
  Conv2DShape shape;
  const int8_t* w = nullptr;  // OHWI
  int32_t in_zp = 0;
  const Requant* rq = nullptr;
};

struct ConvArgs {
  const void* packed = nullptr;
  const uint8_t* in = nullptr;                    // NHWC
  const uint8_t* const* indirection = nullptr;    // when indirection_entries > 0
  uint8_t* out = nullptr;                         // NHWC
};

struct ConvKernel {
  const char* name;
  Isa isa;
  const char* (*path)(const Conv2DShape& s);  // "gemm", "direct" or "indirect"
  // What pack() writes for these weights (OHWI), as GemmKernel::packed_bytes.
  size_t (*packed_bytes)(const Conv2DShape& s, const int8_t* w, Profile profile);
  void (*pack)(const ConvPackParams& p, void* packed);
  size_t (*indirection_entries)(const Conv2DShape& s);  // pointers; 0 = none needed
  // Points each output pixel's taps at its input pixel, or at a row of
  // in_zp stored in packed. The input must stay where it is afterwards.
  void (*build_indirection)(const void* packed, const uint8_t* in, const uint8_t** indirection);
  size_t (*scratch_bytes)(const Conv2DShape& s);  // per concurrent run call
  // Output pixels [m_begin, m_end), all channels.
  void (*run)(const ConvArgs& args, int m_begin, int m_end, void* scratch);
};

const ConvKernel* select_conv_kernel(Isa isa);

// ---------------------------------------------------------------------------
// Depthwise convolution, channel multiplier 1 (groups == in_c == out_c), any
// kernel size, stride, dilation and padding (3x3 and 5x5 have unrolled
// kernels), exactly as conv2d_u8s8_ref.

struct DwConvPackParams {
  Conv2DShape shape;
  const int8_t* w = nullptr;  // OHWI with I = 1, i.e. [C][kernel_h][kernel_w]
  int32_t in_zp = 0;
  const Requant* rq = nullptr;
};

struct DwConvArgs {
  const void* packed = nullptr;
  const uint8_t* const* indirection = nullptr;
  uint8_t* out = nullptr;  // NHWC
};

struct DwConvKernel {
  const char* name;  // e.g. "dwconv3x3_u8s8_avx512vnni"
  Isa isa;
  int channel_block;  // channels per vector step
  size_t (*packed_bytes)(const Conv2DShape& s);
  void (*pack)(const DwConvPackParams& p, void* packed);
  size_t (*indirection_entries)(const Conv2DShape& s);
  void (*build_indirection)(const void* packed, const uint8_t* in, const uint8_t** indirection);
  // Output pixels [m_begin, m_end), numbered as for ConvKernel.
  void (*run)(const DwConvArgs& args, int m_begin, int m_end);
};

bool is_depthwise(const Conv2DShape& s);
// Null unless is_depthwise(s) and the ISA has a depthwise kernel.
const DwConvKernel* select_dwconv_kernel(Isa isa, const Conv2DShape& s);

// ---------------------------------------------------------------------------
// Quantized elementwise add of two same-shape uint8 tensors, exactly as
// add_u8_ref (kernels/ref/add.h) in both profiles: QNNPACK's fixed point
// with round half away from zero, or fbgemm's fma dequantize, float add and
// rne quantize. Broadcasting adds stay on add_u8_broadcast_ref.

struct AddKernel {
  const char* name;  // e.g. "add_u8_x32_avx2"
  Isa isa;
  // out[i] = add(a[i], b[i]) for i in [begin, end); p from make_add_params.
  // out may be a or b (each element is read before it is written). Params
  // outside what the vector code handles exactly (qnnpack ratios that
  // add_scales_supported refuses; on ARM, fbgemm scales beyond 2^+-60) run
  // the reference loop instead.
  void (*run)(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* out, size_t begin,
              size_t end);
};

// Null for Isa::ref and for a tier this CPU lacks.
const AddKernel* select_add_kernel(Isa isa);

// ---------------------------------------------------------------------------
// Quantized elementwise multiply of uint8 tensors, exactly as mul_u8_ref
// (kernels/ref/binary.h), for the broadcasts that are one index walk over
// the output: b is read with period b_period,
//   out[i] = mul(a[i], b[i % b_period])
// so one signature serves
//   same shape        b_period >= end (b advances with a),
//   b a scalar        b_period = 1,
//   b a repeated row  b_period = inner (a [outer, inner] times b [inner];
//                     the squeeze-excitation scale [1, H, W, C] * [1, 1, 1, C]).
// An op whose broadcast operand is a passes it as b with a_zp and b_zp
// swapped: the integer product is symmetric, so the bytes are the same.

struct MulKernel {
  const char* name;  // e.g. "mul_u8_x32_avx2"
  Isa isa;
  // Elements [begin, end) of out (begin and end need not sit on a period
  // boundary, so callers may split the range over threads); p from
  // make_mul_params. out may be a, or b when b_period >= end; each element
  // is read before it is written. Params the vector code does not cover
  // (zero points or clamp bytes outside 0..255, out_min > out_max; on ARM a
  // non-finite multiplier) run mul_u8_one per element instead.
  void (*run)(const MulParams& p, const uint8_t* a, const uint8_t* b, size_t b_period,
              uint8_t* out, size_t begin, size_t end);
};

// Null for Isa::ref and for a tier this CPU lacks.
const MulKernel* select_mul_kernel(Isa isa);

// ---------------------------------------------------------------------------
// Quantized average pools over uint8 NHWC tensors, exactly as their
// references (kernels/ref/pool.h):
//   global_avg: in [batch, hw, channels] -> out [batch, channels], as
//     global_avg_pool_u8_ref in both profiles (they differ only in the
//     params' multiplier); hw < 2^23.
//   avg: AVG_POOL_2D, as avg_pool2d_u8_ref with either kernel's multipliers
//     (QNNPACK's fixed one, or the generic one per window divisor);
//     kernel_h * kernel_w < 2^23. A dilated window runs the reference.

struct PoolKernel {
  Isa isa;
  const char* global_avg_name;  // e.g. "global_avg_pool_u8_x32_avx2"
  void (*global_avg)(const GlobalAvgPoolParams& p, int batch, int hw, int channels,
                     const uint8_t* in, uint8_t* out);
  const char* avg_name;  // e.g. "avg_pool2d_u8_x32_avx2"
  void (*avg)(const Pool2DWindow& shape, const AvgPoolParams& p, const uint8_t* in,
              uint8_t* out);
};

// Null for Isa::ref, for a tier this CPU lacks, and on ARM.
const PoolKernel* select_pool_kernel(Isa isa);

// ---------------------------------------------------------------------------
// Quantize float32 -> 8 bits, exactly as quantize_f32_u8_ref /
// quantize_f32_s8_ref (kernels/ref/quantize.h): NaN, infinities, ties and
// huge values included. Zero points outside the type's range (0..255,
// -128..127) run the reference loop.

struct QuantizeKernel {
  const char* name;  // e.g. "quantize_f32_x32_avx2"
  Isa isa;
  void (*u8)(size_t n, const float* in, float scale, int32_t zp, uint8_t* out);
  void (*s8)(size_t n, const float* in, float scale, int32_t zp, int8_t* out);
};

// Null for Isa::ref and for a tier this CPU lacks.
const QuantizeKernel* select_quantize_kernel(Isa isa);

// ---------------------------------------------------------------------------
// Byte table lookup, out[i] = table[in[i]] for i < n, exactly as lut_u8_ref:
// the 256-byte tables of the quantized unary ops and of concat's
// requantized inputs. in may be out.

struct LutKernel {
  const char* name;  // e.g. "lut_u8_x32_avx2"
  Isa isa;
  void (*run)(const uint8_t* table, size_t n, const uint8_t* in, uint8_t* out);
};

// Null for Isa::ref, for a tier this CPU lacks, and on armv7.
const LutKernel* select_lut_kernel(Isa isa);

// ---------------------------------------------------------------------------
// Dynamically quantized linear (PyTorch's quantize_dynamic Linear, and the
// input-to-hidden and hidden-to-hidden linears of its LSTM/GRU): float rows
// in, float rows out, exactly as fully_connected_dynamic_ref, all rows of
// one call sharing one input quantization.

struct DynamicLinearKernel {
  const char* name;  // e.g. "dynamic_linear_ref"
  Isa isa;
  size_t (*packed_bytes)(int n, int k);
  // Prepare-time only. p.shape.batch is ignored (run takes the row count);
  // p.w, p.w_scales and p.bias must outlive packed (a kernel may keep them).
  void (*pack)(const DynamicLinearParams& p, void* packed);
  size_t (*scratch_bytes)(int rows, int k);
  // in: rows x k floats, out: rows x n floats, both contiguous. No
  // allocation; scratch holds scratch_bytes(rows, k).
  void (*run)(const void* packed, int rows, const float* in, float* out, void* scratch);
};

// Never null: a tier without a fast kernel (and Isa::ref) gets the table
// that runs fully_connected_dynamic_ref.
const DynamicLinearKernel* select_dynamic_linear_kernel(Isa isa);

// ---------------------------------------------------------------------------
// Transpose: the vector part of transpose_tiled (kernels/transpose_tiled.h),
// which matches transpose_ref byte for byte for every permutation.

struct TransposeKernel {
  const char* name;  // e.g. "transpose_x32_avx2"
  Isa isa;
  // Interleaves `planes` (2, 3 or 4) byte planes: out[j * planes + c] =
  // in[c * plane_stride + j] for j < n, c < planes. The u8 NCHW -> NHWC
  // transpose of a small-channel image (an RGB model input) is this.
  void (*interleave_u8)(int planes, size_t n, const uint8_t* in, size_t plane_stride,
                        uint8_t* out);
};

// Null for Isa::ref and for a tier this CPU lacks.
const TransposeKernel* select_transpose_kernel(Isa isa);

// ---------------------------------------------------------------------------
// Float32 GEMM: FULLY_CONNECTED f32 (constant weights [n][k], packed once)
// and MATMUL f32 (b [k][n] read in place, nothing packed per call):
//   out[m][j] = clamp(bias[j] + sum_k a[m][k] * b[k][j], act_min, act_max)
// Equal to fully_connected_f32_ref / matmul_f32_ref only to a summation-order
// tolerance: products are fused into the sum (one rounding each), k in order.

struct F32GemmArgs {
  int n = 0, k = 0;
  const float* a = nullptr;  // row m at a + m * a_stride, k floats
  size_t a_stride = 0;
  const void* packed = nullptr;  // pack()'s panels; null: read b
  const float* b = nullptr;      // b[kk][j] at b + kk * b_stride + j
  size_t b_stride = 0;
  const float* bias = nullptr;  // n floats, or null
  float act_min = -std::numeric_limits<float>::infinity();
  float act_max = std::numeric_limits<float>::infinity();
  float* out = nullptr;  // row m at out + m * out_stride, n floats
  size_t out_stride = 0;
};

struct F32GemmKernel {
  const char* name;  // e.g. "gemm_f32_8x32_avx512"
  Isa isa;
  int mr, nr;  // the register tile of many rows
  size_t (*packed_bytes)(int n, int k);
  // w[n][k] (FC's weights, a row per output column) into panels. Prepare-time only.
  void (*pack)(int n, int k, const float* w, void* packed);
  // Rows [m_begin, m_end) and columns [n_begin, n_end) of out; with packed
  // weights n_begin is a multiple of nr. No allocation, no scratch.
  void (*run)(const F32GemmArgs& args, int m_begin, int m_end, int n_begin, int n_end);
};

// Null for Isa::ref, for a tier this CPU lacks, and on armv7.
const F32GemmKernel* select_f32_gemm_kernel(Isa isa);

// ---------------------------------------------------------------------------
// Float32 rows: softmax over the last axis and layer normalization, within
// 1e-5 relative of softmax_f32_ref / layer_norm_f32_ref (kernels/ref), NaN
// and infinities handled as there. in == out is allowed.

struct F32RowKernel {
  const char* name;  // e.g. "rows_f32_x8_avx2"
  Isa isa;
  // softmax_f32_ref over `rows` contiguous rows of `cols` (inner == 1).
  void (*softmax)(int rows, int cols, const float* in, float* out);
  // layer_norm_f32_ref; gamma and beta may be null.
  void (*layer_norm)(int rows, int cols, double eps, const float* in, const float* gamma,
                     const float* beta, float* out);
  // unary_f32_ref's sigmoid, tanh, silu and exp over n floats (in may be
  // out), with a polynomial exp: within a few ulp of libm's, not bit-identical.
  void (*sigmoid)(size_t n, const float* in, float* out);
  void (*tanh)(size_t n, const float* in, float* out);
  void (*silu)(size_t n, const float* in, float* out);
  void (*exp)(size_t n, const float* in, float* out);
};

// Null for Isa::ref, for a tier this CPU lacks, and on armv7.
const F32RowKernel* select_f32_row_kernel(Isa isa);

}  // namespace qrt::kernels
