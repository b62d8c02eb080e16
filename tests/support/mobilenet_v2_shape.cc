#include "support/mobilenet_v2_shape.h"

namespace qrt::test {
namespace {

struct Builder {
  std::vector<LayerSpec> layers;

  const Nhwc& shape_of(int layer) const { return layers[static_cast<size_t>(layer)].output; }

  // Output size of a convolution: floor((in + 2 * pad - kernel) / stride) + 1.
  int conv(const std::string& name, int from, const Nhwc& in, int out_c, int kernel, int stride,
           int groups, Activation act) {
    LayerSpec l;
    l.name = name;
    l.kind = LayerKind::conv2d;
    l.input = in;
    l.kernel = kernel;
    l.stride = stride;
    l.pad = kernel / 2;
    l.groups = groups;
    l.activation = act;
    l.output = {in.n, (in.h + 2 * l.pad - kernel) / stride + 1,
                (in.w + 2 * l.pad - kernel) / stride + 1, out_c};
    l.inputs = {from};
    layers.push_back(l);
    return static_cast<int>(layers.size()) - 1;
  }
  int conv(const std::string& name, int from, int out_c, int kernel, int stride, int groups,
           Activation act) {
    return conv(name, from, shape_of(from), out_c, kernel, stride, groups, act);
  }
  int add(const std::string& name, int a, int b) {
    LayerSpec l;
    l.name = name;
    l.kind = LayerKind::add;
    l.input = shape_of(a);
    l.output = shape_of(a);
    l.inputs = {a, b};
    layers.push_back(l);
    return static_cast<int>(layers.size()) - 1;
  }
};

}  // namespace

std::vector<LayerSpec> mobilenet_v2_layers() {
  struct Stage {
    int expansion, channels, repeats, stride;
  };
  // torchvision's inverted_residual_setting (t, c, n, s).
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  Builder b;
  const Nhwc image{1, 224, 224, 3};
  int x = b.conv("features.0.0", kGraphInput, image, 32, 3, 2, 1, Activation::relu6);
  int block = 1;
  for (const Stage& s : stages) {
    for (int r = 0; r < s.repeats; ++r, ++block) {
      const std::string p = "features." + std::to_string(block) + ".conv.";
      const int stride = r == 0 ? s.stride : 1;
      const int in_c = b.shape_of(x).c;
      const int hidden = in_c * s.expansion;
      int y = x;
      int next = 0;  // index of the next module inside `conv`
      if (s.expansion != 1) {
        y = b.conv(p + "0.0", y, hidden, 1, 1, 1, Activation::relu6);
        next = 1;
      }
      y = b.conv(p + std::to_string(next) + ".0", y, hidden, 3, stride, hidden, Activation::relu6);
      y = b.conv(p + std::to_string(next + 1), y, s.channels, 1, 1, 1, Activation::none);
      if (stride == 1 && in_c == s.channels)
        y = b.add("features." + std::to_string(block) + ".add", x, y);
      x = y;
    }
  }
  x = b.conv("features.18.0", x, 1280, 1, 1, 1, Activation::relu6);

  LayerSpec pool;
  pool.name = "adaptive_avg_pool2d";
  pool.kind = LayerKind::global_avg_pool;
  pool.input = b.shape_of(x);
  pool.output = {1, 1, 1, pool.input.c};
  pool.inputs = {x};
  b.layers.push_back(pool);

  LayerSpec fc;
  fc.name = "classifier.1";
  fc.kind = LayerKind::fully_connected;
  fc.input = pool.output;
  fc.output = {1, 1, 1, 1000};
  fc.inputs = {static_cast<int>(b.layers.size()) - 1};
  b.layers.push_back(fc);
  return b.layers;
}

}  // namespace qrt::test
