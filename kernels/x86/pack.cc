// Prepare-time packing for the x86 kernels (compiled without ISA flags:
// SSE2, the x86-64 baseline, at most).
#include <emmintrin.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/x86/layout.h"

namespace qrt::kernels::x86 {
namespace {

constexpr size_t kAlign = 64;

size_t header_bytes(size_t bytes) { return round_up(bytes, kAlign); }

// The accumulator start: bias_q - a_zp * sum(w) for qnnpack (QNNPACK seeds
// its accumulators with the bias), -a_zp * sum(w) for fbgemm (its bias is a
// float added after the int32 sum). Computed mod 2^32, like the int32 sum it
// seeds: sum_k a*w + init = sum_k (a - a_zp) * w + bias_q (mod 2^32).
int32_t accumulator_start(const Requant& rq, int32_t a_zp, const int8_t* w, size_t k, int c) {
  // psadbw sums 8 unsigned bytes at once: w + 128 is w ^ 0x80 read unsigned.
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  __m128i biased = _mm_setzero_si128();
  size_t i = 0;
  for (; i + 16 <= k; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i));
    biased = _mm_add_epi64(biased, _mm_sad_epu8(_mm_xor_si128(v, flip), _mm_setzero_si128()));
  }
  int64_t sum = _mm_cvtsi128_si64(biased) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(biased, biased)) -
                128 * static_cast<int64_t>(i);
  for (; i < k; ++i) sum += w[i];
  uint32_t init = static_cast<uint32_t>(-static_cast<int64_t>(a_zp) * sum);
  if (rq.profile == Profile::qnnpack && rq.bias_q) init += static_cast<uint32_t>(rq.bias_q[c]);
  return static_cast<int32_t>(init);
}

float multiplier_of(const Requant& rq, int c) { return rq.multiplier[rq.per_channel ? c : 0]; }

float float_bias_of(const Requant& rq, int c) {
  return rq.profile == Profile::fbgemm && rq.bias_f ? rq.bias_f[c] : 0.f;
}

// Offsets of a packed GEMM: header, init, mult, bias, [schedule,] weights.
struct GemmSizes {
  int panels, k_pad;
  size_t params, panel_bytes, init, mult, bias, sched, w, total;
};

GemmSizes gemm_sizes(const GemmLayout& layout, int n, int k) {
  GemmSizes s;
  s.panels = (n + layout.nr - 1) / layout.nr;
  s.k_pad = static_cast<int>(round_up(static_cast<size_t>(k), static_cast<size_t>(layout.kr)));
  const size_t n_pad = static_cast<size_t>(s.panels) * layout.nr;
  s.params = round_up(n_pad * 4, kAlign);
  s.panel_bytes = n_pad == 0 ? 0 : static_cast<size_t>(s.k_pad) * layout.nr * (layout.wide ? 2 : 1);
  s.init = header_bytes(sizeof(GemmPacked));
  s.mult = s.init + s.params;
  s.bias = s.mult + s.params;
  s.sched = s.bias + s.params;
  s.w = s.sched;
  s.total = round_up(s.w + s.panel_bytes * s.panels, kAlign);
  return s;
}

// A scheduled u8 layout (layout.h) of `steps` steps in all: the schedule,
// then at most 4 * nr bytes of weights per step (two panels of a block).
GemmSizes sched_sizes(const GemmLayout& layout, int n, int k, size_t steps) {
  GemmLayout u8 = layout;
  u8.kr = 4;
  u8.wide = false;
  GemmSizes s = gemm_sizes(u8, n, k);
  const size_t blocks = (static_cast<size_t>(s.panels) + kSchedPanels - 1) / kSchedPanels;
  s.w = s.sched + round_up(4 * (2 * blocks + 1 + steps), kAlign);
  s.total = round_up(s.w + steps * kSchedPanels * 4 * layout.nr, kAlign);
  return s;
}

// The most steps a schedule may take: dense steps plus a quarter. Beyond
// that the int16 layout is faster (vpmaddwd + vpaddd run 32 products in two
// vpmaddwd, the u8 steps in one vpmaddubsw + vpmaddwd each).
size_t sched_max_steps(const GemmLayout& layout, int n, int k) {
  const size_t panels = (static_cast<size_t>(n) + layout.nr - 1) / layout.nr;
  const size_t blocks = (panels + kSchedPanels - 1) / kSchedPanels;
  const size_t dense = blocks * (round_up(static_cast<size_t>(k), 4) / 4);
  return dense + dense / 4;
}

// A step of a schedule: k group `group`, all of it (part 0), its even
// elements (1) or its odd ones (2).
struct Step {
  uint32_t group;
  uint8_t part;
};

// The bytes a step of each part keeps of a k group's 4 (little-endian).
constexpr uint32_t kPartKeep[3] = {0xFFFFFFFFu, 0x00FF00FFu, 0xFF00FF00u};

// The 4 weights of k group g of a column wc as the step of that part holds
// them, byte i the weight of k = 4 * g + i (0 past k and where the part
// drops it).
// Inlined even at -Os: the schedule and the packing call it per column and
// k group, and a call costs more than the copy.
[[gnu::always_inline]] inline uint32_t step_bytes(const int8_t* wc, int k, uint32_t g,
                                                  uint8_t part) {
  const int kk = static_cast<int>(4 * g);
  uint32_t v = 0;
  if (kk + 4 <= k) {
    std::memcpy(&v, wc + kk, 4);
  } else {
    for (int i = 0; kk + i < k; ++i) {
      v |= static_cast<uint32_t>(static_cast<uint8_t>(wc[kk + i])) << (8 * i);
    }
  }
  return v & kPartKeep[part];
}

// What bounds a step's int16 pair sums, for the columns [c0, c1) of a
// block: per column and int16 lane (elements 0-1, 2-3), the sum of its
// positive weights and the sum of its negative weights' magnitudes. A lane
// is exact when both are at most the bound of the activations' range:
// kBound255 for 0..255 (255 * 128 = 32640 <= 32767; 255 * 129 > 32768),
// kBound127 for 0..127 (127 * 258 = 32766). Two steps' lanes still add
// exactly in int16 when their sums together are within it.
constexpr int kBound255 = 128;
constexpr int kBound127 = 258;
constexpr int kMaxBlockColumns = kSchedPanels * 16;
struct LaneSums {
  uint16_t pos[2 * kMaxBlockColumns], neg[2 * kMaxBlockColumns];
  int max_pos, max_neg;  // over the lanes
};

// The 4 weights of k group g of the block's columns [c0, c1): column
// c0 + 4 * v + j in dword j of bytes[v], zero past c1 and past k.
constexpr int kBlockVectors = kMaxBlockColumns / 4;
void gather_group(const int8_t* w, int k, int c0, int c1, int g, __m128i (&bytes)[kBlockVectors]) {
  const size_t stride = static_cast<size_t>(k);
  for (int v = 0; v < (c1 - c0 + 3) / 4; ++v) {
    const int8_t* wc = w + static_cast<size_t>(c0 + 4 * v) * stride;
    int32_t d[4] = {0, 0, 0, 0};
    if (4 * g + 4 <= k && c0 + 4 * v + 4 <= c1) {
      // Four columns, the whole group inside k: the common case, unrolled.
      for (int j = 0; j < 4; ++j) std::memcpy(&d[j], wc + j * stride + 4 * g, 4);
    } else {
      for (int j = 0; j < 4 && c0 + 4 * v + j < c1; ++j) {
        d[j] = static_cast<int32_t>(step_bytes(wc + j * stride, k, static_cast<uint32_t>(g), 0));
      }
    }
    bytes[v] = _mm_setr_epi32(d[0], d[1], d[2], d[3]);
  }
}

// The largest of 8 int16.
int max_epi16(__m128i m) {
  m = _mm_max_epi16(m, _mm_shuffle_epi32(m, 0x4E));
  m = _mm_max_epi16(m, _mm_shuffle_epi32(m, 0xB1));
  m = _mm_max_epi16(m, _mm_shufflelo_epi16(m, 0xB1));
  return _mm_cvtsi128_si32(m) & 0xFFFF;
}

// The lane sums of one part (Step::part) of a gathered k group of `columns`
// columns. Lanes past 2 * columns, up to a multiple of 8, are zero:
// lanes_exact reads them.
void group_lane_sums(const __m128i (&bytes)[kBlockVectors], int columns, uint8_t part,
                     LaneSums* out) {
  const __m128i keep = _mm_set1_epi32(static_cast<int>(kPartKeep[part]));
  const __m128i low = _mm_set1_epi16(0x00FF);
  const __m128i zero = _mm_setzero_si128();
  __m128i max_pos = zero, max_neg = zero;
  for (int v = 0; v < (columns + 3) / 4; ++v) {
    const __m128i b = _mm_and_si128(bytes[v], keep);
    const __m128i negative = _mm_cmpgt_epi8(zero, b);
    // Magnitudes as unsigned bytes (-(-128) wraps to 0x80, read as 128).
    const __m128i pos = _mm_andnot_si128(negative, b);
    const __m128i neg = _mm_and_si128(negative, _mm_sub_epi8(zero, b));
    // Each int16 lane's two bytes added: the lane's positive (negative) sum.
    const __m128i pos16 = _mm_add_epi16(_mm_and_si128(pos, low), _mm_srli_epi16(pos, 8));
    const __m128i neg16 = _mm_add_epi16(_mm_and_si128(neg, low), _mm_srli_epi16(neg, 8));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out->pos + 8 * v), pos16);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out->neg + 8 * v), neg16);
    max_pos = _mm_max_epi16(max_pos, pos16);
    max_neg = _mm_max_epi16(max_neg, neg16);
  }
  out->max_pos = max_epi16(max_pos);
  out->max_neg = max_epi16(max_neg);
}

// Whether a's lanes, plus b's when given, are all exact. The per-step
// maxima settle most pairs of trained weights; the rest take 8 lanes per
// SSE2 compare (the sums are at most 512: no int16 overflow).
bool lanes_exact(const LaneSums& a, const LaneSums* b, int lanes, int bound) {
  if (b == nullptr) return a.max_pos <= bound && a.max_neg <= bound;
  if (a.max_pos + b->max_pos <= bound && a.max_neg + b->max_neg <= bound) return true;
  const __m128i limit = _mm_set1_epi16(static_cast<int16_t>(bound));
  __m128i over = _mm_setzero_si128();
  for (int i = 0; i < lanes; i += 8) {
    const auto at = [i](const uint16_t* p) {
      return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    };
    const __m128i pos = _mm_add_epi16(at(a.pos), at(b->pos));
    const __m128i neg = _mm_add_epi16(at(a.neg), at(b->neg));
    over = _mm_or_si128(over, _mm_cmpgt_epi16(pos, limit));
    over = _mm_or_si128(over, _mm_cmpgt_epi16(neg, limit));
  }
  return _mm_movemask_epi8(over) == 0;
}

// A block's steps: each k group once when its lanes are exact for the
// block's columns, else twice (its even elements, then its odd ones, each
// lane then holding one product). Two steps whose lanes add exactly run as a
// fused pair: pairs first in the block, each pair's two steps one after the
// other, then the single steps. Both lists keep k order, and both steps of
// a pair lie in the same segment of k.
struct Schedule {
  std::vector<uint32_t> start;  // per block, then the total
  std::vector<uint32_t> fused;  // per block: its pairs
  std::vector<Step> step;
};

// How far ahead of a step its partner is looked for: a bound on the packing
// time; trained weights mostly fuse with a near neighbour.
constexpr size_t kFuseWindow = 8;

// The schedule of a GEMM whose k is read in `segments` equal segments, for
// activations within `bound`'s range (kBound255 or kBound127), or false
// when it would take more than max_steps steps.
bool make_schedule(const GemmLayout& layout, const int8_t* w, int n, int k, int segments,
                   int bound, size_t max_steps, Schedule* out) {
  const int panels = (n + layout.nr - 1) / layout.nr;
  const int blocks = (panels + kSchedPanels - 1) / kSchedPanels;
  const int groups = static_cast<int>(round_up(static_cast<size_t>(k), 4) / 4);
  const int seg_groups = segments > 1 && groups >= segments ? groups / segments : groups;
  if (kSchedPanels * layout.nr > kMaxBlockColumns) return false;
  out->start.assign(1, 0);
  out->fused.clear();
  out->step.clear();
  std::vector<Step> steps;
  // Each step's lane sums, at most two steps per group; only a block's
  // 2 * (c1 - c0) lanes, rounded up to 8, are written and read.
  std::vector<LaneSums> sums(2 * static_cast<size_t>(groups));
  std::vector<uint8_t> taken;  // not vector<bool>: -Os calls its operator[]
  for (int b = 0; b < blocks; ++b) {
    const int c0 = b * kSchedPanels * layout.nr;
    const int c1 = c0 + kSchedPanels * layout.nr < n ? c0 + kSchedPanels * layout.nr : n;
    const int lanes = 2 * (c1 - c0);
    steps.clear();
    __m128i bytes[kBlockVectors];
    for (int g = 0; g < groups; ++g) {
      gather_group(w, k, c0, c1, g, bytes);
      LaneSums* whole = &sums[steps.size()];
      group_lane_sums(bytes, c1 - c0, 0, whole);
      if (lanes_exact(*whole, nullptr, lanes, bound)) {
        steps.push_back({static_cast<uint32_t>(g), 0});
        continue;
      }
      for (uint8_t part = 1; part <= 2; ++part) {
        group_lane_sums(bytes, c1 - c0, part, &sums[steps.size()]);
        steps.push_back({static_cast<uint32_t>(g), part});
      }
    }
    if (out->step.size() + steps.size() > max_steps) return false;
    taken.assign(steps.size(), 0);
    uint32_t pairs = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
      if (taken[i]) continue;
      const size_t last = i + kFuseWindow < steps.size() ? i + kFuseWindow : steps.size() - 1;
      for (size_t j = i + 1; j <= last; ++j) {
        if (taken[j] || steps[j].group / seg_groups != steps[i].group / seg_groups) continue;
        if (!lanes_exact(sums[i], &sums[j], lanes, bound)) continue;
        taken[i] = taken[j] = 1;
        out->step.push_back(steps[i]);
        out->step.push_back(steps[j]);
        ++pairs;
        break;
      }
    }
    for (size_t i = 0; i < steps.size(); ++i) {
      if (!taken[i]) out->step.push_back(steps[i]);
    }
    out->fused.push_back(pairs);
    out->start.push_back(static_cast<uint32_t>(out->step.size()));
  }
  return true;
}

Requant group_view(const Requant& rq, int first_channel) {
  Requant v = rq;
  if (rq.per_channel) v.multiplier += first_channel;
  if (rq.bias_q) v.bias_q += first_channel;
  if (rq.bias_f) v.bias_f += first_channel;
  return v;
}

}  // namespace

bool requant_needs_cap(const Requant& rq, int n) {
  for (int c = 0; c < n; ++c) {
    const double m = std::fabs(static_cast<double>(multiplier_of(rq, c)));
    const double bias = std::fabs(static_cast<double>(float_bias_of(rq, c)));
    // Written so that NaN and infinity fail the test.
    if (!((2147483648.0 + bias) * m <= 1073741824.0)) return true;
  }
  return false;
}

bool weight_pairs_safe(const int8_t* w, int n, int k) {
  for (int c = 0; c < n; ++c) {
    const int8_t* wc = w + static_cast<size_t>(c) * k;
    for (int i = 0; i < k; i += 2) {
      const int w0 = wc[i], w1 = i + 1 < k ? wc[i + 1] : 0;
      const int pos = (w0 > 0 ? w0 : 0) + (w1 > 0 ? w1 : 0);
      const int neg = (w0 < 0 ? -w0 : 0) + (w1 < 0 ? -w1 : 0);
      // 255 * 128 = 32640 <= 32767; 255 * 129 > 32768.
      if (pos > 128 || neg > 128) return false;
    }
  }
  return true;
}

namespace {

// How a tier with u8_when_safe packs these weights (layout.h): u8 when no
// pair can saturate, in the fbgemm profile, or with a schedule; else int16.
// A u8 GEMM takes a schedule too when it fuses at least an eighth of the
// steps into pairs (each pair saves a vpmaddwd): in the fbgemm profile,
// pairs exact for activations 0..127, the range its rows are run in (larger
// bytes are split into two such parts).
struct U8Choice {
  bool u8 = false, pairs_safe = false, scheduled = false;
  Schedule sched;
};

U8Choice choose_u8(const GemmLayout& layout, Profile profile, const int8_t* w, int n, int k,
                   int segments) {
  U8Choice c;
  c.pairs_safe = weight_pairs_safe(w, n, k);
  const bool fbgemm = profile == Profile::fbgemm;
  if (!layout.interleave && make_schedule(layout, w, n, k, segments, fbgemm ? kBound127 : kBound255,
                                          sched_max_steps(layout, n, k), &c.sched)) {
    size_t pairs = 0;
    for (uint32_t f : c.sched.fused) pairs += f;
    c.scheduled = (!c.pairs_safe && !fbgemm) || 8 * pairs >= c.sched.step.size();
  }
  c.u8 = c.pairs_safe || c.scheduled || fbgemm;
  return c;
}

// How gemm_pack lays out one GEMM's weights, decided once for both its size
// and its bytes: the tier's layout, or AVX2's u8 / int16 choice with its
// schedule.
struct GemmPlan {
  GemmLayout layout;
  U8Choice choice;
  GemmSizes sizes;
};

// k is read in `segments` equal segments (1 but on the direct conv path).
GemmPlan plan_gemm(const GemmLayout& tier_layout, Profile profile, const int8_t* w, int n, int k,
                   int segments) {
  GemmPlan plan;
  plan.layout = tier_layout;
  if (tier_layout.u8_when_safe) {
    plan.choice = choose_u8(tier_layout, profile, w, n, k, segments);
    if (plan.choice.u8) {
      plan.layout.kr = 4;
      plan.layout.wide = false;
    }
  }
  plan.sizes = plan.choice.scheduled
                   ? sched_sizes(plan.layout, n, k, plan.choice.sched.step.size())
                   : gemm_sizes(plan.layout, n, k);
  return plan;
}

void pack_planned(const GemmPlan& plan, const GemmPackParams& p, void* packed) {
  const GemmLayout& layout = plan.layout;
  const bool pairs_safe = plan.choice.pairs_safe;
  const bool scheduled = plan.choice.scheduled;
  const Schedule& sched = plan.choice.sched;
  const GemmSizes& s = plan.sizes;
  uint8_t* base = static_cast<uint8_t*>(packed);
  std::memset(base, 0, s.total);
  GemmPacked* h = reinterpret_cast<GemmPacked*>(base);
  h->n = p.n;
  h->k = p.k;
  h->k_pad = s.k_pad;
  h->panels = s.panels;
  h->nr = layout.nr;
  h->kr = layout.kr;
  h->profile = static_cast<int32_t>(p.rq->profile);
  h->out_zp = p.rq->out_zp;
  h->out_min = p.rq->out_min;
  h->out_max = p.rq->out_max;
  h->needs_cap = requant_needs_cap(*p.rq, p.n) ? 1 : 0;
  h->groups = layout.interleave && s.k_pad <= kInterleaveMaxK ? p.n / (4 * layout.nr) : 0;
  // A fbgemm schedule's pairs are exact for activations 0..127 only.
  const bool fbgemm = p.rq->profile == Profile::fbgemm;
  h->pairs_safe = (scheduled ? !fbgemm : pairs_safe) ? 1 : 0;
  h->scheduled = scheduled ? 1 : 0;
  h->init_offset = s.init;
  h->mult_offset = s.mult;
  h->bias_offset = s.bias;
  h->sched_offset = s.sched;
  h->w_offset = s.w;
  h->panel_bytes = s.panel_bytes;
  h->total_bytes = s.total;

  const size_t k = static_cast<size_t>(p.k);
  int32_t* init = reinterpret_cast<int32_t*>(base + s.init);
  float* mult = reinterpret_cast<float*>(base + s.mult);
  float* bias = reinterpret_cast<float*>(base + s.bias);
  // The column in panel slot i (panel i / nr, lane i % nr).
  const int interleaved = h->groups * 4 * layout.nr;
  const auto column = [&](int i) {
    if (i >= interleaved) return i;
    const int group = i / (4 * layout.nr), panel = i / layout.nr % 4, e = i % layout.nr;
    return group * 4 * layout.nr + 16 * (e / 4) + 4 * panel + e % 4;
  };
  for (int i = 0; i < p.n; ++i) {
    const int c = column(i);
    init[i] = accumulator_start(*p.rq, p.a_zp, p.w + c * k, k, c);
    mult[i] = multiplier_of(*p.rq, c);
    bias[i] = float_bias_of(*p.rq, c);
  }

  if (scheduled) {
    // The table (layout.h), then per step 4 * nr bytes per panel of the block.
    uint32_t* table = reinterpret_cast<uint32_t*>(base + s.sched);
    std::memcpy(table, sched.start.data(), 4 * sched.start.size());
    table += sched.start.size();
    std::memcpy(table, sched.fused.data(), 4 * sched.fused.size());
    table += sched.fused.size();
    for (const Step& step : sched.step) *table++ = step.group;
    uint8_t* dst = base + s.w;
    for (size_t b = 0; b + 1 < sched.start.size(); ++b) {
      const int first = static_cast<int>(b) * kSchedPanels;
      const int nb = s.panels - first < kSchedPanels ? s.panels - first : kSchedPanels;
      for (uint32_t st = sched.start[b]; st < sched.start[b + 1]; ++st) {
        for (int panel = first; panel < first + nb; ++panel) {
          for (int j = 0; j < layout.nr; ++j, dst += 4) {
            const int c = panel * layout.nr + j;
            if (c >= p.n) continue;
            const Step step = sched.step[st];
            const uint32_t v = step_bytes(p.w + c * k, p.k, step.group, step.part);
            std::memcpy(dst, &v, 4);
          }
        }
      }
    }
    return;
  }
  // Column by column, k group by k group: the memset left the padding past
  // n zero. A u8 group (kr = 4) is one step_bytes copy, zero past k.
  const int groups = s.k_pad / layout.kr;
  const size_t group_stride = static_cast<size_t>(layout.nr) * layout.kr;
  for (int panel = 0; panel < s.panels; ++panel) {
    uint8_t* dst = base + s.w + s.panel_bytes * panel;
    for (int j = 0; j < layout.nr; ++j) {
      const int c = column(panel * layout.nr + j);
      if (c >= p.n) continue;
      const int8_t* wc = p.w + c * k;
      for (int g = 0; g < groups; ++g) {
        const size_t e = g * group_stride + static_cast<size_t>(j) * layout.kr;
        if (!layout.wide) {
          const uint32_t v = step_bytes(wc, p.k, static_cast<uint32_t>(g), 0);
          std::memcpy(dst + e, &v, 4);
          continue;
        }
        for (int i = 0; i < layout.kr && g * layout.kr + i < p.k; ++i) {
          const int16_t v16 = wc[g * layout.kr + i];
          std::memcpy(dst + 2 * (e + i), &v16, 2);
        }
      }
    }
  }
}

}  // namespace

size_t gemm_packed_bytes(const GemmLayout& layout, int n, int k, const int8_t* w,
                         Profile profile) {
  return plan_gemm(layout, profile, w, n, k, 1).sizes.total;
}

void gemm_pack(const GemmLayout& layout, const GemmPackParams& p, void* packed) {
  pack_planned(plan_gemm(layout, p.rq->profile, p.w, p.n, p.k, 1), p, packed);
}

// ---------------------------------------------------------------------------

ConvPath conv_path(const Conv2DShape& s) {
  if (s.groups == 1 && s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
      s.pad_top == 0 && s.pad_left == 0 && s.out_h == s.in_h && s.out_w == s.in_w) {
    return kConvGemm;
  }
  // A whole kernel row is in_c * kernel_w contiguous bytes: cheaper to copy
  // straight from the image than through kernel_w pointers, and there is no
  // indirection buffer to store (the first layer has the most output pixels).
  if (s.groups == 1 && s.dilation_w == 1 && s.in_c * s.kernel_w <= 64) return kConvDirect;
  return kConvIndirect;
}

const char* conv_path_name(const Conv2DShape& s) {
  switch (conv_path(s)) {
    case kConvGemm:
      return "gemm";
    case kConvDirect:
      return "direct";
    case kConvIndirect:
      return "indirect";
  }
  return "";
}

namespace {

struct ConvSizes {
  int k;
  int seg_k;   // direct path: one kernel row padded to kr, else 0
  int gemm_k;  // the k of each group's GemmPacked
  size_t gemm, group, zero, total;
};

// A conv's GEMMs, one per group, as conv_pack packs them: their plans and
// sizes, and the direct path's weights moved into segments.
struct ConvPlan {
  ConvSizes z;
  std::vector<int8_t> seg_w;  // direct path; empty on the others
  std::vector<GemmPlan> groups;
};

// The weights the GEMMs read: group g's at the result + g * (out_c /
// groups) * gemm_k.
const int8_t* gemm_weights_of(const ConvPlan& c, const int8_t* w) {
  return c.seg_w.empty() ? w : c.seg_w.data();
}

ConvPlan plan_conv(const GemmTier& tier, const Conv2DShape& s, const int8_t* w, Profile profile) {
  ConvPlan c;
  ConvSizes& z = c.z;
  z.k = s.kernel_h * s.kernel_w * (s.in_c / s.groups);
  z.seg_k = 0;
  z.gemm_k = z.k;
  const int ocg = s.out_c / s.groups;
  if (conv_path(s) == kConvDirect) {
    // Direct path (groups == 1): kernel row ky of column n moves to
    // [ky * seg_k, ky * seg_k + kernel_w * in_c), zeros between. The zeros
    // leave sum(w), hence the accumulator start, unchanged.
    const size_t row = static_cast<size_t>(s.kernel_w) * s.in_c;
    const auto segment = [&](int align) {
      z.seg_k = static_cast<int>(round_up(row, static_cast<size_t>(align)));
      z.gemm_k = s.kernel_h * z.seg_k;
      c.seg_w.assign(static_cast<size_t>(s.out_c) * z.gemm_k, 0);
      for (int n = 0; n < s.out_c; ++n) {
        for (int ky = 0; ky < s.kernel_h; ++ky) {
          std::memcpy(c.seg_w.data() + (static_cast<size_t>(n) * s.kernel_h + ky) * z.seg_k,
                      w + static_cast<size_t>(n) * z.k + ky * row, row);
        }
      }
    };
    segment(gemm_k_align(tier.layout));
    GemmPlan plan =
        plan_gemm(tier.layout, profile, c.seg_w.data(), s.out_c, z.gemm_k, s.kernel_h);
    // Segments of 4 bytes serve u8 GEMMs only; an int16 GEMM reads fewer
    // padding values from segments aligned to its own kr.
    if (tier.layout.u8_when_safe && !plan.choice.u8) {
      GemmLayout wide = tier.layout;
      wide.u8_when_safe = false;
      segment(wide.kr);
      plan = plan_gemm(wide, profile, c.seg_w.data(), s.out_c, z.gemm_k, s.kernel_h);
    }
    c.groups.push_back(std::move(plan));
  } else {
    for (int g = 0; g < s.groups; ++g) {
      c.groups.push_back(
          plan_gemm(tier.layout, profile, w + static_cast<size_t>(g) * ocg * z.k, ocg, z.k, 1));
    }
  }
  // Groups sit group_bytes apart: the largest group's size.
  z.gemm = header_bytes(sizeof(ConvPacked));
  z.group = 0;
  for (const GemmPlan& plan : c.groups) {
    if (plan.sizes.total > z.group) z.group = plan.sizes.total;
  }
  z.zero = z.gemm + z.group * s.groups;
  z.total = z.zero + round_up(static_cast<size_t>(s.in_c), kAlign);
  return c;
}

}  // namespace

size_t conv_packed_bytes(const GemmTier& tier, const Conv2DShape& s, const int8_t* w,
                         Profile profile) {
  return plan_conv(tier, s, w, profile).z.total;
}

void conv_pack(const GemmTier& tier, const ConvPackParams& p, void* packed) {
  const Conv2DShape& s = p.shape;
  const ConvPlan c = plan_conv(tier, s, p.w, p.rq->profile);
  const ConvSizes& z = c.z;
  uint8_t* base = static_cast<uint8_t*>(packed);
  ConvPacked* h = reinterpret_cast<ConvPacked*>(base);
  std::memset(base, 0, z.gemm);
  h->shape = s;
  h->path = conv_path(s);
  h->k = z.k;
  h->k_pad =
      static_cast<int32_t>(round_up(static_cast<size_t>(z.gemm_k), gemm_k_align(tier.layout)));
  h->seg_k = z.seg_k;
  h->in_zp = p.in_zp;
  h->gemm_offset = z.gemm;
  h->group_bytes = z.group;
  h->zero_offset = z.zero;
  const int ocg = s.out_c / s.groups;
  for (int g = 0; g < s.groups; ++g) {
    const Requant view = group_view(*p.rq, g * ocg);
    GemmPackParams gp;
    gp.n = ocg;
    gp.k = z.gemm_k;
    gp.w = gemm_weights_of(c, p.w) + static_cast<size_t>(g) * ocg * z.gemm_k;
    gp.a_zp = p.in_zp;
    gp.rq = &view;
    pack_planned(c.groups[static_cast<size_t>(g)], gp, base + z.gemm + z.group * g);
  }
  std::memset(base + z.zero, p.in_zp, z.total - z.zero);
}

// ---------------------------------------------------------------------------

namespace {

// The direct path's rows: the sorted offsets j * stride_h + ky * dilation_h
// (j < out_rows, ky < kernel_h) from output row oy's first kernel row.
struct DwRows {
  int count, groups;
  int offset[2 * kDwDirectSlots];
};

DwRows dw_rows(const DwLayout& layout, const Conv2DShape& s, int out_rows) {
  DwRows r;
  r.count = 0;
  if (s.kernel_h > kDwDirectSlots) {
    r.groups = kDwDirectMaxRowGroups + 1;
    return r;
  }
  for (int j = 0; j < out_rows; ++j) {
    for (int ky = 0; ky < s.kernel_h; ++ky) {
      const int off = j * s.stride_h + ky * s.dilation_h;
      int at = r.count;
      while (at > 0 && r.offset[at - 1] > off) --at;
      if (at > 0 && r.offset[at - 1] == off) continue;
      for (int i = r.count; i > at; --i) r.offset[i] = r.offset[i - 1];
      r.offset[at] = off;
      ++r.count;
    }
  }
  r.groups = (r.count + layout.tg - 1) / layout.tg;
  return r;
}

// Output pixels per column buffer of `groups` row groups, 0 if the kernel
// is too wide for it.
int dw_span(const DwLayout& layout, const Conv2DShape& s, int groups) {
  const size_t column = static_cast<size_t>(groups) * layout.nv * layout.lanes * 16;
  const int columns = static_cast<int>(kDwDirectColumnBytes / column);
  const int width = (s.kernel_w - 1) * s.dilation_w + 1;
  return columns < width ? 0 : (columns - width) / s.stride_w + 1;
}

struct DwSizes {
  int taps, tap_groups, blocks, vc, tail_lanes, out_rows, span;
  bool overlap, direct;
  DwRows rows;
  size_t vector_bytes, block_bytes, blocks_offset, zero, total;
};

DwSizes dw_sizes(const DwLayout& layout, const Conv2DShape& s) {
  DwSizes z;
  const int c = s.out_c;
  z.taps = s.kernel_h * s.kernel_w;
  z.vc = layout.lanes * 4 * layout.nv;
  z.direct = dw_direct(layout, s);
  z.out_rows = 1;
  z.rows = dw_rows(layout, s, 1);
  z.span = z.direct ? dw_span(layout, s, z.rows.groups) : 0;
  // Two output rows per column buffer when that costs no more groups.
  const DwRows two = dw_rows(layout, s, 2);
  if (z.direct && s.out_h > 1 && two.groups == z.rows.groups) {
    z.out_rows = 2;
    z.rows = two;
  }
  z.tap_groups = z.direct ? z.out_rows * s.kernel_w * z.rows.groups
                          : (z.taps + layout.tg - 1) / layout.tg;
  z.blocks = (c + z.vc - 1) / z.vc;
  z.overlap = layout.overlap_tail && c >= z.vc;
  const int tail = c % z.vc;
  z.tail_lanes = layout.lanes;
  if (layout.narrow_tail && tail != 0) {
    const int lanes_needed = (tail + 4 * layout.nv - 1) / (4 * layout.nv);
    while (z.tail_lanes / 2 >= lanes_needed) z.tail_lanes /= 2;
  }
  z.vector_bytes = static_cast<size_t>(layout.lanes) * 16;
  z.block_bytes = z.vector_bytes * layout.nv * (z.tap_groups + 3);
  z.blocks_offset = header_bytes(sizeof(DwPacked));
  z.zero = z.blocks_offset + z.block_bytes * z.blocks;
  z.total = z.zero + round_up(static_cast<size_t>(c), kAlign);
  return z;
}

// The weight of channel wc's tap group g, element e (direct path: see
// layout.h).
int8_t dw_weight(const DwLayout& layout, const Conv2DShape& s, const DwSizes& z, const int8_t* wc,
                 int g, int e) {
  if (!z.direct) {
    const int t = g * layout.tg + e;
    return t < z.taps ? wc[t] : 0;
  }
  const int groups = z.rows.groups;
  const int j = g / (s.kernel_w * groups);
  const int kx = g / groups % s.kernel_w;
  const int q = g % groups * layout.tg + e;
  if (q >= z.rows.count) return 0;
  const int rel = z.rows.offset[q] - j * s.stride_h;
  if (rel < 0 || rel % s.dilation_h != 0 || rel / s.dilation_h >= s.kernel_h) return 0;
  return wc[rel / s.dilation_h * s.kernel_w + kx];
}

}  // namespace

bool dw_direct(const DwLayout& layout, const Conv2DShape& s) {
  if (!layout.direct) return false;
  if (layout.overlap_tail && s.out_c < layout.lanes * 4 * layout.nv) return false;
  // Strides of 2 and more: a column then serves only 1.5 output pixels,
  // and the indirect path measured faster on every tier (on AMD Zen 4,
  // whose 512-bit stores take two cycles, 27 us less on MobileNetV2).
  if (s.stride_w > 1) return false;
  const DwRows rows = dw_rows(layout, s, 1);
  // At least four output pixels per column buffer.
  return rows.groups <= kDwDirectMaxRowGroups && dw_span(layout, s, rows.groups) >= 4;
}

size_t dw_indirection_entries(const DwLayout& layout, const Conv2DShape& s) {
  if (dw_direct(layout, s)) return 1;
  return static_cast<size_t>(s.batch) * s.out_h * s.out_w * s.kernel_h * s.kernel_w;
}

size_t dw_packed_bytes(const DwLayout& layout, const Conv2DShape& s) {
  return dw_sizes(layout, s).total;
}

void dw_pack(const DwLayout& layout, const DwConvPackParams& p, void* packed) {
  const Conv2DShape& s = p.shape;
  const DwSizes z = dw_sizes(layout, s);
  uint8_t* base = static_cast<uint8_t*>(packed);
  std::memset(base, 0, z.zero);
  DwPacked* h = reinterpret_cast<DwPacked*>(base);
  h->shape = s;
  h->channels = s.out_c;
  h->taps = z.taps;
  h->tap_groups = z.tap_groups;
  h->blocks = z.blocks;
  h->vc = z.vc;
  h->profile = static_cast<int32_t>(p.rq->profile);
  h->out_zp = p.rq->out_zp;
  h->out_min = p.rq->out_min;
  h->out_max = p.rq->out_max;
  h->needs_cap = requant_needs_cap(*p.rq, s.out_c) ? 1 : 0;
  h->overlap = z.overlap ? 1 : 0;
  h->tail_lanes = z.tail_lanes;
  h->direct = z.direct ? 1 : 0;
  h->row_groups = z.direct ? z.rows.groups : 0;
  h->out_rows = z.out_rows;
  h->span = z.span;
  for (int q = 0; q < kDwDirectSlots; ++q) {
    h->row_offset[q] = z.direct && q < z.rows.count ? z.rows.offset[q] : -1;
  }
  h->vector_bytes = z.vector_bytes;
  h->block_bytes = z.block_bytes;
  h->blocks_offset = z.blocks_offset;
  h->zero_offset = z.zero;

  const int elem = layout.tg == 4 ? 1 : 2;
  const size_t taps = static_cast<size_t>(z.taps);
  for (int b = 0; b < z.blocks; ++b) {
    uint8_t* block = base + z.blocks_offset + z.block_bytes * b;
    const int start = dw_block_start(h, b);
    const int lanes = b == z.blocks - 1 ? z.tail_lanes : layout.lanes;
    const size_t vb = static_cast<size_t>(lanes) * 16;
    uint8_t* params = block + vb * layout.nv * z.tap_groups;
    for (int i = 0; i < layout.nv; ++i) {
      for (int lane = 0; lane < lanes; ++lane) {
        for (int d = 0; d < 4; ++d) {
          const int c = start + lane * 4 * layout.nv + 4 * i + d;
          if (c >= s.out_c) continue;
          const int8_t* wc = p.w + c * taps;
          const size_t slot = static_cast<size_t>(lane) * 4 + d;
          for (int g = 0; g < z.tap_groups; ++g) {
            uint8_t* v = block + (static_cast<size_t>(g) * layout.nv + i) * vb;
            for (int e = 0; e < layout.tg; ++e) {
              const int8_t w = dw_weight(layout, s, z, wc, g, e);
              if (elem == 1) {
                v[slot * 4 + e] = static_cast<uint8_t>(w);
              } else {
                const int16_t w16 = w;
                std::memcpy(v + slot * 4 + 2 * e, &w16, 2);
              }
            }
          }
          const int32_t init = accumulator_start(*p.rq, p.in_zp, wc, taps, c);
          const float m = multiplier_of(*p.rq, c);
          const float bias = float_bias_of(*p.rq, c);
          std::memcpy(params + i * vb + slot * 4, &init, 4);
          std::memcpy(params + (layout.nv + i) * vb + slot * 4, &m, 4);
          std::memcpy(params + (2 * layout.nv + i) * vb + slot * 4, &bias, 4);
        }
      }
    }
  }
  std::memset(base + z.zero, p.in_zp, z.total - z.zero);
}

void dw_build_indirection(const void* packed, const uint8_t* in, const uint8_t** indirection) {
  const DwPacked* h = static_cast<const DwPacked*>(packed);
  if (h->direct) {
    indirection[0] = in;
    return;
  }
  build_indirection(h->shape, in, dw_zero(h), indirection);
}

}  // namespace qrt::kernels::x86
