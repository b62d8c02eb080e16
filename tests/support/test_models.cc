#include "test_models.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>

namespace qrt::test {

namespace {

using convert::Conv2DAttrs;
using convert::ModelBuilder;
using convert::Pool2DAttrs;
using convert::QuantParams;
using fb::DType;

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> uniform(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<int8_t> weights_s8(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

QuantParams act(float scale, int zp) { return QuantParams{{scale}, {zp}, 0}; }

QuantParams per_channel(std::mt19937& rng, int channels) {
  QuantParams q;
  q.scale = uniform(rng, static_cast<size_t>(channels), 0.002f, 0.01f);
  q.zero_point.assign(static_cast<size_t>(channels), 0);
  q.axis = 0;
  return q;
}

// Builds the graph once for both dtypes: quantized when `quant` is set.
std::vector<uint8_t> cnn(bool quant, fb::Profile profile, uint32_t seed) {
  std::mt19937 rng(seed);
  ModelBuilder b(profile);
  b.set_producer("qrt tests");
  const DType adt = quant ? DType::U8 : DType::F32;
  auto a = [&](const char* name, std::vector<int32_t> shape, float scale, int zp) {
    return b.add_tensor(name, std::move(shape), adt, quant ? act(scale, zp) : QuantParams{});
  };
  auto w = [&](const char* name, std::vector<int32_t> shape) {
    size_t n = 1;
    for (int32_t d : shape) n *= static_cast<size_t>(d);
    if (quant) return b.add_constant_s8(name, shape, weights_s8(rng, n), per_channel(rng, shape[0]));
    return b.add_constant_f32(name, shape, uniform(rng, n, -0.5f, 0.5f));
  };
  auto bias = [&](const char* name, int n) {
    return b.add_constant_f32(name, {n}, uniform(rng, static_cast<size_t>(n), -0.2f, 0.2f));
  };

  int image = b.add_tensor("image", {1, 8, 8, 3}, DType::F32);
  int x = image;
  if (quant) {
    x = a("image_q", {1, 8, 8, 3}, 1.f / 64, 128);
    b.add_quantize(image, x, "quant");
  }
  int c1 = a("conv1", {1, 8, 8, 8}, 0.02f, 0);
  Conv2DAttrs conv1;
  conv1.pad_top = conv1.pad_left = conv1.pad_bottom = conv1.pad_right = 1;
  conv1.act_min = 0.f;
  b.add_conv2d(x, w("conv1.w", {8, 3, 3, 3}), bias("conv1.b", 8), c1, conv1, "conv1");

  int dw = a("dw", {1, 4, 4, 8}, 0.03f, 0);
  Conv2DAttrs dwa;
  dwa.stride_h = dwa.stride_w = 2;
  dwa.pad_top = dwa.pad_left = dwa.pad_bottom = dwa.pad_right = 1;
  dwa.groups = 8;
  dwa.act_min = 0.f;
  dwa.act_max = 6.f;
  b.add_conv2d(c1, w("dw.w", {8, 3, 3, 1}), bias("dw.b", 8), dw, dwa, "dw");

  int pw = a("pw", {1, 4, 4, 8}, 0.04f, 131);
  b.add_conv2d(dw, w("pw.w", {8, 1, 1, 8}), -1, pw, Conv2DAttrs{}, "pw");

  int sum = a("sum", {1, 4, 4, 8}, 0.05f, 120);
  b.add_add(pw, dw, sum, -kInf, kInf, "residual");
  int clamped = a("clamped", {1, 4, 4, 8}, 0.05f, 120);
  b.add_clamp(sum, clamped, 0.f, 4.f, "relu4");

  int pooled = a("pooled", {1, 2, 2, 8}, 0.05f, 120);
  Pool2DAttrs pool;
  pool.kernel_h = pool.kernel_w = 2;
  pool.stride_h = pool.stride_w = 2;
  b.add_max_pool2d(clamped, pooled, pool, "maxpool");

  int gap = a("gap", {1, 1, 1, 8}, 0.03f, 110);
  b.add_global_avg_pool(pooled, gap, "gap");
  int flat = a("flat", {1, 8}, 0.03f, 110);
  b.add_reshape(gap, flat, "flatten");

  int fc = a(quant ? "fc" : "logits", {1, 4}, 0.01f, 125);
  b.add_fully_connected(flat, w("fc.w", {4, 8}), bias("fc.b", 4), fc, -kInf, kInf, "fc");
  int logits = fc;
  if (quant) {
    logits = b.add_tensor("logits", {1, 4}, DType::F32);
    b.add_dequantize(fc, logits, "dequant");
  }
  b.set_inputs({image});
  b.set_outputs({logits});
  return b.finish();
}

}  // namespace

std::vector<uint8_t> int8_cnn(fb::Profile profile, uint32_t seed) {
  return cnn(true, profile, seed);
}

std::vector<uint8_t> fp32_cnn(uint32_t seed) { return cnn(false, fb::Profile::Qnnpack, seed); }

AlignedBytes::AlignedBytes(const std::vector<uint8_t>& bytes)
    : AlignedBytes(bytes.data(), bytes.size()) {}

AlignedBytes::AlignedBytes(const uint8_t* data, size_t size) : size_(size) {
  // Exactly `size` bytes so sanitizers see any read past the end.
  void* p = nullptr;
  if (posix_memalign(&p, 16, size ? size : 1) != 0) std::abort();
  data_ = static_cast<uint8_t*>(p);
  if (size) std::memcpy(data_, data, size);
}

AlignedBytes::~AlignedBytes() { std::free(data_); }

}  // namespace qrt::test
