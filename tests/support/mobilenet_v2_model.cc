#include "support/mobilenet_v2_model.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "model_builder.h"
#include "support/mobilenet_v2_shape.h"

namespace qrt::test {

std::vector<uint8_t> mobilenet_v2_int8(fb::Profile profile, uint32_t seed) {
  using convert::QuantParams;
  using fb::DType;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> s8(-127, 127);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  const float inf = std::numeric_limits<float>::infinity();
  const bool per_channel = profile == fb::Profile::Fbgemm;

  convert::ModelBuilder b(profile);
  b.set_producer("qrt tests: mobilenet_v2_int8");
  auto act = [&](float scale, int zp) { return QuantParams{{scale}, {zp}, 0}; };
  auto shape = [](const Nhwc& s) { return std::vector<int32_t>{s.n, s.h, s.w, s.c}; };

  const std::vector<LayerSpec> layers = mobilenet_v2_layers();
  const int image = b.add_tensor("image", shape(layers[0].input), DType::U8, act(0.0186f, 114));
  std::vector<int> outputs;
  for (const LayerSpec& l : layers) {
    std::vector<int> in;
    for (int i : l.inputs) in.push_back(i == kGraphInput ? image : outputs[static_cast<size_t>(i)]);
    const bool last = &l == &layers.back();
    const std::string name = last ? "logits" : l.name;
    // ReLU6 outputs live in [0, 6]: zero point 0 uses all 256 steps.
    const bool relu6 = l.activation == Activation::relu6;
    const float scale = relu6 ? 6.f / 255.f : 0.05f + 0.05f * unit(rng);
    const int zp = relu6 ? 0 : 100 + static_cast<int>(unit(rng) * 50.f);
    std::vector<int32_t> out_shape = shape(l.output);
    const int out = b.add_tensor(name, out_shape, DType::U8, act(scale, zp));
    switch (l.kind) {
      case LayerKind::conv2d:
      case LayerKind::fully_connected: {
        const bool fc = l.kind == LayerKind::fully_connected;
        const int oc = l.output.c;
        const int ic = fc ? l.input.h * l.input.w * l.input.c : l.input.c / l.groups;
        std::vector<int32_t> w_shape =
            fc ? std::vector<int32_t>{oc, ic} : std::vector<int32_t>{oc, l.kernel, l.kernel, ic};
        size_t n = 1;
        for (int32_t d : w_shape) n *= static_cast<size_t>(d);
        std::vector<int8_t> w(n);
        for (auto& x : w) x = static_cast<int8_t>(s8(rng));
        QuantParams wq;
        const int scales = per_channel ? oc : 1;
        for (int c = 0; c < scales; ++c) {
          wq.scale.push_back(0.002f + 0.004f * unit(rng));
          wq.zero_point.push_back(0);
        }
        std::vector<float> bias(static_cast<size_t>(oc));
        for (auto& x : bias) x = unit(rng) - 0.5f;
        const int wt = b.add_constant_s8(l.name + ".weight", w_shape, w, wq);
        const int bs = b.add_constant_f32(l.name + ".bias", {oc}, bias);
        const float lo = relu6 ? 0.f : -inf, hi = relu6 ? 6.f : inf;
        if (fc) {
          b.add_fully_connected(in[0], wt, bs, out, lo, hi, l.name);
        } else {
          convert::Conv2DAttrs a;
          a.stride_h = a.stride_w = l.stride;
          a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = l.pad;
          a.groups = l.groups;
          a.act_min = lo;
          a.act_max = hi;
          b.add_conv2d(in[0], wt, bs, out, a, l.name);
        }
        break;
      }
      case LayerKind::add:
        b.add_add(in[0], in[1], out, -inf, inf, l.name);
        break;
      case LayerKind::global_avg_pool:
        b.add_global_avg_pool(in[0], out, l.name);
        break;
    }
    outputs.push_back(out);
  }
  b.set_inputs({image});
  b.set_outputs({outputs.back()});
  return b.finish();
}

}  // namespace qrt::test
