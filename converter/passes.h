// Graph rewrites that keep every output byte the same (DESIGN.md, NUMERICS.md
// "Fusion"): anything else is a different model, not a pass.
#pragma once

#include <string>
#include <vector>

#include "graph.h"

namespace qrt::convert {

// An integer list that opsets moved from attribute `attr` to input k
// (axes, pads, split...): the attribute when present, else the constant
// input, else empty when the input is absent; false if it is not constant.
bool constant_ints(const Graph& g, const Node& n, size_t k, const char* attr, std::vector<int64_t>* out);

// Conv/ConvTranspose/Gemm followed by BatchNormalization (inference form)
// folds into the weights and bias, in float32:
//   w' = w * (gamma / sqrt(var + eps)),  b' = (b - mean) * (gamma / sqrt(var + eps)) + beta.
// Returns the number folded.
int fold_batch_norm(Graph& g);

// Relu / Clip with constant bounds after Conv, Gemm, MatMul or Add whose
// output feeds only it becomes that op's fused clamp (node attributes
// qrt_act_min / qrt_act_max). Returns the number fused.
int fuse_activations(Graph& g);

// The decomposed LayerNorm of opset < 17 exports (ReduceMean, Sub, Pow 2,
// ReduceMean, Add eps, Sqrt, Div, then optionally Mul gamma and Add beta,
// over trailing axes) becomes one LayerNormalization node. Returns the
// number fused.
int fuse_layer_norm(Graph& g);

// x * 0.5 * (1 + Erf(x / sqrt(2))) becomes Gelu, and the tanh form
// (sqrt(2/pi) * (x + 0.044715 x^3)) Gelu with approximate "tanh", as
// nn.GELU exports before opset 20. Returns the number fused.
int fuse_gelu(Graph& g);

// A constant zero Pad of H and W read only by a Conv, or by an AveragePool
// without ceil_mode that is unpadded or counts padding in its divisor,
// becomes that op's own padding (the pool then counts it: count_include_pad
// = 1): the same sums and divisors, no copy.
// Returns the number folded.
int fold_pads(Graph& g);

// x * Sigmoid(x) (either order, the Sigmoid read by nothing else) becomes
// Silu: nn.SiLU and F.silu export so, ONNX having no Silu op, and PyTorch
// runs them as one float op (none quantized). Returns the number fused.
int fuse_silu(Graph& g);

// x * HardSigmoid(x) with alpha 1/6 and beta 0.5 (either order, the
// HardSigmoid read by nothing else) becomes HardSwish: nn.Hardswish exports
// so before opset 14, and PyTorch runs it as one op, in a quantized model
// on the int8 tensor (quantized::hardswish). In a QDQ model the HardSigmoid's
// output is float, and the fused op is a 256-byte table on the int8 input
// instead of a dequantize, two float ops and a quantize. Returns the number
// fused.
int fuse_hard_swish(Graph& g);

// The five above, which every mode runs: PyTorch computes each pattern as
// one op (a float one, or an int8 pool or conv with padding). Returns the
// number of rewrites.
int fuse_patterns(Graph& g);

// Identity and inference-mode Dropout disappear (their readers read the
// input). Returns the number removed.
int remove_identities(Graph& g);

// Folds the shape/type plumbing of exported graphs (Shape, Gather, Cast,
// ConstantOfShape, Unsqueeze, Concat, integer arithmetic) when its inputs
// are constant. Returns the number of nodes folded.
int fold_constants(Graph& g);

// The value fold_constants gives node n's output, computed into *out, which
// comes with the output's inferred type and static shape; false if n is not
// folded. Shape and Size read only their input's shape.
bool fold_node(const Graph& g, const Node& n, Value* out);

// ONNX Slice of one axis of length dim (start and end as given, negative
// counting from the end, clamped as ONNX says): the first index taken and
// the count; false for step 0.
bool slice_range(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* first, int64_t* count);

// QDQ graphs (PyTorch-quantized or QAT models exported to ONNX):
// QuantizeLinear -> [Cast] -> DequantizeLinear pairs become quantization
// parameters on the float tensor they wrap, kept exactly; dequantized int8
// constants become float weights that carry their scales. Fails (naming the
// node) on a pattern it cannot express.
bool import_qdq(Graph& g, std::string* error);

// All of the above in order, then dead-node removal.
bool run_default_passes(Graph& g, std::string* error);

}  // namespace qrt::convert
