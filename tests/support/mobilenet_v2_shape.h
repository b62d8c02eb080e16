// Models described by shapes alone: a list of int8 NHWC operators in
// execution order with their shapes and wiring, enough to derive tensor
// lifetimes for memory planning or to build a real model with weights.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace qrt::test {

enum class LayerKind { conv2d, add, global_avg_pool, fully_connected };
enum class Activation { none, relu6 };

struct Nhwc {
  int n = 1, h = 1, w = 1, c = 1;
  size_t elements() const {
    return static_cast<size_t>(n) * static_cast<size_t>(h) * static_cast<size_t>(w) *
           static_cast<size_t>(c);
  }
};

// Marks the graph input in LayerSpec::inputs.
constexpr int kGraphInput = -1;

// conv2d covers pointwise, regular and depthwise (groups == input.c)
// convolutions with a square kernel, symmetric padding and a bias (batch
// norm folded in). fully_connected reads its input as [n, h * w * c] and
// writes [n, 1, 1, out_features]. add and global_avg_pool keep the channels.
struct LayerSpec {
  std::string name;  // the PyTorch module path the weights come from
  LayerKind kind = LayerKind::conv2d;
  Nhwc input;  // shape of every input (add's two inputs agree)
  Nhwc output;
  int kernel = 1;
  int stride = 1;
  int pad = 0;
  int groups = 1;
  Activation activation = Activation::none;
  std::vector<int> inputs;  // indices of earlier layers, or kGraphInput
};

// torchvision.models.mobilenet_v2 (width 1.0) at 224x224, batch 1: the first
// 3x3 stride-2 conv 3->32, 17 inverted-residual blocks (1x1 expand unless
// the expansion is 1, 3x3 depthwise, 1x1 linear projection, and an add of the
// block input when stride is 1 and channels match), the 1x1 conv 320->1280,
// global average pooling and the 1280->1000 classifier: 52 convs, 10 adds,
// 1 pool, 1 fully connected, in torchvision's execution order.
std::vector<LayerSpec> mobilenet_v2_layers();

}  // namespace qrt::test
