// Graph rewrites that keep every output byte the same (DESIGN.md, NUMERICS.md
// "Fusion"): anything else is a different model, not a pass.
#pragma once

#include <string>

#include "graph.h"

namespace qrt::convert {

// Conv/ConvTranspose/Gemm followed by BatchNormalization (inference form)
// folds into the weights and bias, in float32:
//   w' = w * (gamma / sqrt(var + eps)),  b' = (b - mean) * (gamma / sqrt(var + eps)) + beta.
// Returns the number folded.
int fold_batch_norm(Graph& g);

// Relu / Clip with constant bounds after Conv, Gemm, MatMul or Add whose
// output feeds only it becomes that op's fused clamp (node attributes
// qrt_act_min / qrt_act_max). Returns the number fused.
int fuse_activations(Graph& g);

// Identity and inference-mode Dropout disappear (their readers read the
// input). Returns the number removed.
int remove_identities(Graph& g);

// Folds the shape/type plumbing of exported graphs (Shape, Gather, Cast,
// ConstantOfShape, Unsqueeze, Concat, integer arithmetic) when its inputs
// are constant. Returns the number of nodes folded.
int fold_constants(Graph& g);

// QDQ graphs (PyTorch-quantized or QAT models exported to ONNX):
// QuantizeLinear -> [Cast] -> DequantizeLinear pairs become quantization
// parameters on the float tensor they wrap, kept exactly; dequantized int8
// constants become float weights that carry their scales. Fails (naming the
// node) on a pattern it cannot express.
bool import_qdq(Graph& g, std::string* error);

// All of the above in order, then dead-node removal.
bool run_default_passes(Graph& g, std::string* error);

}  // namespace qrt::convert
