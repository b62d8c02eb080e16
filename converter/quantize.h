// Post-training static quantization: where PyTorch eager mode observes.
//
// The plan is made on the graph after BatchNorm folding and before
// activation fusion, so every tensor PyTorch's observers see exists as a
// value. Placement follows a model prepared the eager way (fuse_modules for
// Conv/Linear(+BN)(+ReLU), QuantStub at the inputs, DeQuantStub at the
// outputs, FloatFunctional for add/mul/cat), checked against PyTorch 1.13's
// prepare/convert:
//   - observed (own activation_post_process, used by convert): Conv, Gemm,
//     MatMul with a constant 2-D weight (Linear), Add and Mul of two
//     activations (FloatFunctional.add/add_relu/mul), Concat (cat),
//     HardSwish, LeakyRelu; graph inputs (QuantStub).
//   - a Relu that the fusion pass folds into its Conv/Gemm/MatMul/Add moves
//     that op's observation to after the ReLU (ConvReLU2d, LinearReLU,
//     add_relu); such a Relu follows its producer, --keep-float or not.
//   - keeping their input's params (no observer, or one convert ignores):
//     other Relu, Clip (ReLU6/hardtanh), MaxPool, AveragePool,
//     GlobalAveragePool (AdaptiveAvgPool2d(1)), Reshape, Flatten, Squeeze,
//     Unsqueeze, Transpose, Identity, Dropout.
//   - fixed output params, no observer: Sigmoid (1/256, 0), Tanh (2/256,
//     128), HardSigmoid with PyTorch's alpha 1/6 (1/256, 0).
//   Ops of these last two kinds run quantized when their input is quantized.
//   - everything else runs in float32. Its output is observed (as a
//     QuantStub would be) where a quantized op reads it, and --keep-float
//     nodes are treated the same way.
// Weights of quantized Conv/Gemm/MatMul take the weight observer.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph.h"
#include "observers.h"

namespace qrt::convert {

struct QuantizeConfig {
  fb::Profile profile = fb::Profile::Qnnpack;
  ObserverConfig activation;
  ObserverConfig weight;
  std::set<std::string> keep_float;  // ONNX node names
  // Dynamic mode: int8 embedding tables (quantize_dynamic below).
  bool int8_embeddings = false;
};

// PyTorch's get_default_qconfig(backend):
//   qnnpack: HistogramObserver(reduce_range=False), MinMaxObserver(qint8,
//            per_tensor_symmetric) weights;
//   fbgemm:  HistogramObserver(reduce_range=True), PerChannelMinMaxObserver(
//            qint8, per_channel_symmetric, ch_axis=0) weights.
QuantizeConfig default_qconfig(fb::Profile profile);

struct QuantPlan {
  // Activation values with their own observer, by name, in graph order.
  std::vector<std::string> observed;
  // Values that take another value's params: (value, source), in graph
  // order, so sources come first.
  std::vector<std::pair<std::string, std::string>> aliases;
  // Outputs of ops with fixed params (Sigmoid, Tanh, HardSigmoid).
  std::vector<std::pair<std::string, QuantParams>> fixed;
  struct Weight {
    std::string name;
    int axis = 0;  // the output-channel axis of the ONNX tensor
  };
  std::vector<Weight> weights;
  std::vector<std::string> quantized_nodes;
  std::vector<std::string> float_nodes;
};

// Fails on --keep-float names that are not nodes of `g`.
bool plan_static_quantization(const Graph& g, const QuantizeConfig& config, QuantPlan* plan,
                              std::string* error);

using QuantTable = std::map<std::string, QuantParams>;

// Runs the weight observer over each planned weight of `g` into `table`.
bool observe_weights(const Graph& g, const QuantPlan& plan, const QuantizeConfig& config,
                     QuantTable* table, std::string* error);

// Adds plan.fixed, then copies params along plan.aliases (after the observed
// ones are in `table`).
void resolve_aliases(const QuantPlan& plan, QuantTable* table);

// Attaches `table` to the values of `g` by name, then folds Relu/Clip into
// their producers (passes.h fuse_activations) and drops dead nodes. `g` must
// come from the same model and passes as the planned graph (any batch size).
bool apply_quantization(Graph& g, const QuantTable& table, std::string* error);

// Post-training dynamic quantization, as torch.ao.quantization.quantize_dynamic
// (model, {nn.Linear}, dtype=torch.qint8): the nodes that lower to
// FULLY_CONNECTED with constant weights (Gemm with alpha 1 and transA 0,
// MatMul with a constant 2-D right operand) get int8 weights from the weight
// observer; their activations stay float32 and the runtime quantizes them per
// call (NUMERICS.md "Dynamic quantization"). Everything else runs in float32.

// PyTorch's default_dynamic_qconfig, the same for every engine:
// MinMaxObserver(qint8, per_tensor_symmetric) weights (per_channel_dynamic_qconfig
// swaps in PerChannelMinMaxObserver: weight.kind = per_channel_min_max).
// The activation fields are unused.
QuantizeConfig default_dynamic_qconfig(fb::Profile profile);

// Runs the weight observer over the weights of `g`'s Linear-like nodes that
// are not in config.keep_float nor functional_linears, and over W and R of
// its LSTM and GRU nodes, and attaches the params (apply_quantization);
// weights that already carry params (an imported QDQ model) keep them. `g`
// may come fused from passes.h run_default_passes. Lower the result with
// LowerOptions::dynamic.
// LSTM/GRU W and R ([directions, rows, columns]) are observed per direction,
// as torch.ao.nn.quantized.dynamic.LSTM/GRU.from_float does for each
// weight_ih/weight_hh: per tensor, the params hold one scale per direction
// (axis 0); per channel, one per row of every direction in order (axis 1).
// With config.int8_embeddings, also every nn.Embedding outside keep_float, as
// quantize_dynamic does given {nn.Embedding: float_qparams_weight_only_qconfig}
// (its default module set leaves them float): a Gather on axis 0 of a constant
// 2-D float table with integer indices reads instead the table quantized per
// row (kernels/ref/embedding.h) and, as a third input, the rows' scale and
// bias; lowering makes it the int8 form of GATHER.
bool quantize_dynamic(Graph& g, const QuantizeConfig& config, std::string* error);

// quantize_dynamic converts nn.Linear modules only, not F.linear calls with
// a module's parameters (MultiheadAttention's in_proj and out_proj, a
// NonDynamicallyQuantizableLinear used through F.linear). torch.onnx.export
// (1.13) names nodes by module scope, "/layer/self_attn/MatMul": a Linear-like
// node is a module of its own when nothing else but its bias Add (and
// Constant/Identity) shares its scope. Returns the names of the other ones,
// which stay float; nodes without a scope ("MatMul_3") count as modules.
// The Gemm pairs of nn.LSTMCell/GRUCell/RNNCell (x and h Gemms whose sum
// feeds the gates) share the cell's scope with its gate math but are not
// F.linear calls: quantize_dynamic's cells run both as dynamic linears, so
// quantize_dynamic quantizes them, the h Gemm even on a constant zero state.
std::vector<std::string> functional_linears(const Graph& g);

}  // namespace qrt::convert
