#include "memory_planner.h"

#include <algorithm>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <utility>

namespace qrt {
namespace {

constexpr size_t kMax = std::numeric_limits<size_t>::max();
constexpr size_t kUnplaced = kMax;

bool checked_add(size_t a, size_t b, size_t* out) {
  if (a > kMax - b) return false;
  *out = a + b;
  return true;
}

// Division rather than a mask so that any alignment >= 1 keeps offsets
// multiples of it.
bool checked_align_up(size_t x, size_t alignment, size_t* out) {
  const size_t r = x % alignment;
  return checked_add(x, r == 0 ? 0 : alignment - r, out);
}

size_t usable_alignment(size_t alignment) { return alignment == 0 ? 1 : alignment; }

bool lifetimes_overlap(int first0, int last0, int first1, int last1) {
  return first0 <= last1 && first1 <= last0;
}

// (key, index) pairs: sorting them orders indices by key, ties by index,
// with the one std::sort instantiation that every such ordering shares.
using Keyed = std::pair<int64_t, int64_t>;

std::vector<int> sorted_indices(std::vector<Keyed>* keyed) {
  std::sort(keyed->begin(), keyed->end());
  std::vector<int> indices;
  indices.reserve(keyed->size());
  for (const Keyed& k : *keyed) indices.push_back(static_cast<int>(k.second));
  return indices;
}

// A non-empty buffer with its size rounded up to the alignment.
struct Item {
  size_t size;
  int first;
  int last;
};

// A lifetime given backwards (a broken caller) is read as the single
// operator `first`, so that every computation sees a proper interval.
Item make_item(size_t aligned_size, const PlanBuffer& b) {
  return {aligned_size, b.first, std::max(b.first, b.last)};
}

// Live bytes at every distinct `first` time, ascending in time. The live
// total only rises at a first time, so its maximum over any interval
// [first, last] is the maximum over the first times inside it.
std::vector<std::pair<int, size_t>> live_profile(const std::vector<Item>& items, bool* overflow) {
  std::vector<std::pair<int, size_t>> starts, ends;
  starts.reserve(items.size());
  ends.reserve(items.size());
  for (const Item& it : items) {
    starts.push_back({it.first, it.size});
    ends.push_back({it.last, it.size});
  }
  std::sort(starts.begin(), starts.end());
  std::sort(ends.begin(), ends.end());
  std::vector<std::pair<int, size_t>> profile;
  size_t live = 0;
  size_t s = 0, e = 0;
  *overflow = false;
  while (s < starts.size()) {
    const int t = starts[s].first;
    for (; e < ends.size() && ends[e].first < t; ++e) live -= ends[e].second;
    for (; s < starts.size() && starts[s].first == t; ++s)
      if (!checked_add(live, starts[s].second, &live)) {
        *overflow = true;
        return profile;
      }
    profile.push_back({t, live});
  }
  return profile;
}

enum class Fit { first, best };

// Chooses an offset for a buffer of `size` while being fed the begin and
// aligned end of every placed buffer whose lifetime overlaps it, in
// ascending begin order. `cursor` is the lowest offset above every span fed
// so far; each time the next begin lies at least `size` above it, the range
// [cursor, begin) is a free gap that fits.
struct GapSearch {
  size_t size;
  Fit fit;
  size_t cursor = 0;
  size_t chosen = kUnplaced;
  size_t chosen_gap = kMax;

  // Returns true once more spans cannot change the answer.
  bool feed(size_t begin, size_t end) {
    if (begin >= cursor && begin - cursor >= size) {
      const size_t gap = begin - cursor;
      if (fit == Fit::first || gap == size) {
        chosen = cursor;
        return true;
      }
      if (gap < chosen_gap) {
        chosen_gap = gap;
        chosen = cursor;
      }
    }
    if (end > cursor) cursor = end;
    return false;
  }
  size_t result() const { return chosen != kUnplaced ? chosen : cursor; }
};

struct Problem {
  size_t alignment = 1;
  std::vector<Item> items;           // every non-empty buffer
  std::vector<int> buffer_of;        // items[k] is buffers[buffer_of[k]]
  std::vector<size_t> fixed_offset;  // per item; kUnplaced when online
  std::vector<size_t> fixed_end;     // per item; fixed offset + size, aligned up
  std::vector<int> fixed;            // items with an offline offset, by ascending offset
  std::vector<int> online;           // items left to the planner
  // Time-conflict graph (CSR) when it is sparse enough to be worth it;
  // otherwise each placement scans every placed item in offset order.
  bool use_graph = false;
  std::vector<size_t> adj_begin;
  std::vector<int> adj;
};

// Number of ordered pairs (a, b), a != b, whose lifetimes overlap:
// for a, the b with first_b <= last_a minus those with last_b < first_a
// (which are a subset of the former), minus a itself.
size_t count_conflicts(const std::vector<Item>& items) {
  std::vector<int> firsts, lasts;
  for (const Item& it : items) {
    firsts.push_back(it.first);
    lasts.push_back(it.last);
  }
  std::sort(firsts.begin(), firsts.end());
  std::sort(lasts.begin(), lasts.end());
  size_t total = 0;
  for (const Item& it : items) {
    const size_t started = static_cast<size_t>(
        std::upper_bound(firsts.begin(), firsts.end(), it.last) - firsts.begin());
    const size_t ended =
        static_cast<size_t>(std::lower_bound(lasts.begin(), lasts.end(), it.first) - lasts.begin());
    total += started - ended - 1;
  }
  return total;
}

void build_conflict_graph(Problem* p) {
  const int m = static_cast<int>(p->items.size());
  std::vector<Keyed> keyed;
  for (int k = 0; k < m; ++k) keyed.push_back({p->items[static_cast<size_t>(k)].first, k});
  const std::vector<int> by_first = sorted_indices(&keyed);
  // Sorted by first, the items overlapping a later in the order are exactly
  // the run that starts no later than a's last use.
  auto for_each_pair = [&](auto&& visit) {
    for (int x = 0; x < m; ++x) {
      const Item& a = p->items[static_cast<size_t>(by_first[static_cast<size_t>(x)])];
      for (int y = x + 1; y < m; ++y) {
        if (p->items[static_cast<size_t>(by_first[static_cast<size_t>(y)])].first > a.last) break;
        visit(by_first[static_cast<size_t>(x)], by_first[static_cast<size_t>(y)]);
      }
    }
  };
  std::vector<size_t> degree(static_cast<size_t>(m), 0);
  for_each_pair([&](int a, int b) {
    ++degree[static_cast<size_t>(a)];
    ++degree[static_cast<size_t>(b)];
  });
  p->adj_begin.assign(static_cast<size_t>(m) + 1, 0);
  for (size_t k = 0; k < degree.size(); ++k) p->adj_begin[k + 1] = p->adj_begin[k] + degree[k];
  p->adj.resize(p->adj_begin.back());
  std::vector<size_t> fill(p->adj_begin.begin(), p->adj_begin.end() - 1);
  for_each_pair([&](int a, int b) {
    p->adj[fill[static_cast<size_t>(a)]++] = b;
    p->adj[fill[static_cast<size_t>(b)]++] = a;
  });
}

struct Placement {
  std::vector<size_t> offset;  // per item
  size_t arena = 0;
};

// A placed item as the scan sees it: lifetimes inline, so that filtering
// reads memory in order instead of chasing item indices.
struct Placed {
  int first;
  int last;
  int item;
};

struct Scratch {
  std::vector<size_t> end;  // per item: aligned end once placed
  std::vector<std::pair<size_t, size_t>> spans;
  std::vector<Placed> by_offset;
  std::vector<int> live;
};

// Places the fixed items where they are, then the online ones in `order`,
// each at the offset `fit` picks among the gaps left by already placed items
// that are live at the same time.
void place(const Problem& p, const std::vector<int>& order, Fit fit, Scratch* s, Placement* out) {
  const size_t m = p.items.size();
  out->offset.assign(m, kUnplaced);
  s->end.assign(m, 0);
  out->arena = 0;
  for (int k : p.fixed) {
    const size_t u = static_cast<size_t>(k);
    out->offset[u] = p.fixed_offset[u];
    s->end[u] = p.fixed_end[u];
    out->arena = std::max(out->arena, p.fixed_offset[u] + p.items[u].size);
  }
  if (!p.use_graph) {
    s->by_offset.clear();
    for (int k : p.fixed) {
      const Item& it = p.items[static_cast<size_t>(k)];
      s->by_offset.push_back({it.first, it.last, k});
    }
  }

  for (int k : order) {
    const size_t u = static_cast<size_t>(k);
    const Item& it = p.items[u];
    GapSearch search{it.size, fit};
    if (p.use_graph) {
      s->spans.clear();
      for (size_t a = p.adj_begin[u]; a < p.adj_begin[u + 1]; ++a) {
        const size_t v = static_cast<size_t>(p.adj[a]);
        if (out->offset[v] != kUnplaced) s->spans.push_back({out->offset[v], s->end[v]});
      }
      std::sort(s->spans.begin(), s->spans.end());
      for (const auto& span : s->spans)
        if (search.feed(span.first, span.second)) break;
    } else {
      // Filter without branching first (which items pass is data-dependent,
      // so a branch would mispredict), then walk the survivors.
      s->live.resize(s->by_offset.size());
      size_t count = 0;
      for (const Placed& o : s->by_offset) {
        s->live[count] = o.item;
        count += lifetimes_overlap(it.first, it.last, o.first, o.last) ? 1 : 0;
      }
      for (size_t c = 0; c < count; ++c) {
        const size_t v = static_cast<size_t>(s->live[c]);
        if (search.feed(out->offset[v], s->end[v])) break;
      }
    }
    const size_t offset = search.result();
    out->offset[u] = offset;
    s->end[u] = offset + it.size;
    out->arena = std::max(out->arena, offset + it.size);
    if (!p.use_graph) {
      auto at = std::upper_bound(s->by_offset.begin(), s->by_offset.end(), offset,
                                 [&](size_t value, const Placed& other) {
                                   return value < out->offset[static_cast<size_t>(other.item)];
                                 });
      s->by_offset.insert(at, Placed{it.first, it.last, k});
    }
  }
}

// Orders in which the online items are placed.
enum class Order {
  // TFLite Micro's: size descending, equal sizes latest buffer first (it
  // fills its sort array from the tail, then sorts stably). With first fit
  // this reproduces its plan exactly.
  tflm,
  // By the peak live bytes during the item's lifetime: items in the busiest
  // stretch of the graph decide the arena (greedy by breadth); then by
  // lifetime or by size.
  peak_then_span,
  peak_then_size,
  // size * lifetime (the item's area in the time x bytes plane), size * peak.
  area,
  size_times_peak,
  span,       // longest lifetime first, then size
  first_use,  // earliest first, then size (linear scan)
  last_use,   // latest last use first, then size
};
constexpr size_t kNumOrders = static_cast<size_t>(Order::last_use) + 1;

struct Variant {
  Order order;
  Fit fit;
};

// No variant dominates. This is the order in which they added most to the
// best-of on random and network-shaped lifetime sets (greedy forward
// selection), so a truncated run keeps the most useful ones.
constexpr Variant kVariants[] = {
    {Order::tflm, Fit::first},
    {Order::peak_then_span, Fit::first},
    {Order::area, Fit::first},
    {Order::last_use, Fit::first},
    {Order::peak_then_size, Fit::best},
    {Order::peak_then_span, Fit::best},
    {Order::span, Fit::first},
    {Order::first_use, Fit::first},
    {Order::size_times_peak, Fit::first},
    {Order::last_use, Fit::best},
    {Order::peak_then_size, Fit::first},
    {Order::area, Fit::best},
    {Order::tflm, Fit::best},
    {Order::size_times_peak, Fit::best},
    {Order::span, Fit::best},
    {Order::first_use, Fit::best},
};
constexpr size_t kNumVariants = sizeof(kVariants) / sizeof(kVariants[0]);

// Peak live bytes over each online item's lifetime (0 for fixed items).
std::vector<size_t> lifetime_peaks(const Problem& p) {
  bool overflow = false;
  const auto profile = live_profile(p.items, &overflow);
  std::vector<size_t> peaks(p.items.size(), 0);
  for (int k : p.online) {
    const Item& it = p.items[static_cast<size_t>(k)];
    auto point =
        std::lower_bound(profile.begin(), profile.end(), std::make_pair(it.first, size_t{0}));
    size_t peak = 0;
    for (; point != profile.end() && point->first <= it.last; ++point)
      peak = std::max(peak, point->second);
    peaks[static_cast<size_t>(k)] = peak;
  }
  return peaks;
}

// Ranks online items for one Order; every order ends on the index, so the
// sorted result is unique. One comparator type for every order: one
// std::sort instantiation instead of eight (prepare code is built for size).
struct OrderLess {
  const Problem& p;
  const std::vector<size_t>& peaks;
  Order order;

  const Item& at(int k) const { return p.items[static_cast<size_t>(k)]; }
  int64_t span(int k) const { return static_cast<int64_t>(at(k).last) - at(k).first + 1; }
  size_t peak(int k) const { return peaks[static_cast<size_t>(k)]; }
  // Products as doubles: they can exceed 64 bits, and ranking needs no
  // more precision than that.
  double times(int k, double factor) const { return static_cast<double>(at(k).size) * factor; }

  bool operator()(int a, int b) const {
    switch (order) {
      case Order::tflm:
        if (at(a).size != at(b).size) return at(a).size > at(b).size;
        return a > b;
      case Order::peak_then_span:
        if (peak(a) != peak(b)) return peak(a) > peak(b);
        if (span(a) != span(b)) return span(a) > span(b);
        return a < b;
      case Order::peak_then_size:
        if (peak(a) != peak(b)) return peak(a) > peak(b);
        break;
      case Order::area: {
        const double wa = times(a, static_cast<double>(span(a)));
        const double wb = times(b, static_cast<double>(span(b)));
        if (wa != wb) return wa > wb;
        return a < b;
      }
      case Order::size_times_peak: {
        const double wa = times(a, static_cast<double>(peak(a)));
        const double wb = times(b, static_cast<double>(peak(b)));
        if (wa != wb) return wa > wb;
        return a < b;
      }
      case Order::span:
        if (span(a) != span(b)) return span(a) > span(b);
        break;
      case Order::first_use:
        if (at(a).first != at(b).first) return at(a).first < at(b).first;
        break;
      case Order::last_use:
        if (at(a).last != at(b).last) return at(a).last > at(b).last;
        break;
    }
    // The orders that get here break ties by size, then by index.
    if (at(a).size != at(b).size) return at(a).size > at(b).size;
    return a < b;
  }
};

std::vector<int> sorted_online(const Problem& p, Order order, const std::vector<size_t>& peaks) {
  std::vector<int> sorted = p.online;
  std::sort(sorted.begin(), sorted.end(), OrderLess{p, peaks, order});
  return sorted;
}

// Elementary steps of one place() pass, roughly: with the graph, gathering
// and sorting each item's placed neighbours; without, scanning half the
// placed items on average.
size_t pass_cost(const Problem& p) {
  const size_t m = p.items.size();
  if (!p.use_graph) return m + m / 2 * m;
  size_t cost = m;
  for (size_t k = 0; k < m; ++k) {
    const size_t degree = p.adj_begin[k + 1] - p.adj_begin[k];
    size_t log2 = 1;
    while ((size_t{1} << log2) <= degree) ++log2;
    cost += degree * log2;
  }
  return cost;
}

// Total place() steps allowed across variants, a few nanoseconds each:
// network-shaped graphs of thousands of buffers run every variant in a few
// milliseconds; dense pathological ones stop after fewer variants instead
// of taking seconds. The first variant always runs, so the TFLM bound holds
// at any size.
constexpr size_t kWorkBudget = size_t{1} << 22;

// Above this many conflicts per item, planning scans instead of building the
// conflict graph.
constexpr size_t kMaxAverageDegree = 64;

// Stores the reason (if wanted) and returns false. printf-style: one
// formatting routine instead of a std::string concatenation per message.
__attribute__((format(printf, 2, 3))) bool reject(std::string* why, const char* format, ...) {
  if (!why) return false;
  char text[256];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  *why = text;
  return false;
}

}  // namespace

MemoryPlan plan_memory(const std::vector<PlanBuffer>& buffers, size_t alignment) {
  MemoryPlan plan;
  if (buffers.size() > static_cast<size_t>(INT_MAX)) return plan;
  Problem p;
  p.alignment = usable_alignment(alignment);

  // Every end the planner can produce is at most the highest fixed end plus
  // the sum of the online sizes, so checking that sum once keeps all later
  // offset arithmetic in range.
  size_t fixed_top = 0, online_total = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    const PlanBuffer& b = buffers[i];
    if (b.size == 0) continue;
    size_t size = 0;
    if (!checked_align_up(b.size, p.alignment, &size)) return plan;
    const int k = static_cast<int>(p.items.size());
    p.items.push_back(make_item(size, b));
    p.buffer_of.push_back(static_cast<int>(i));
    if (b.offline_offset >= 0) {
      if (static_cast<uint64_t>(b.offline_offset) > kMax) return plan;
      const size_t offset = static_cast<size_t>(b.offline_offset);
      size_t end = 0;
      if (!checked_add(offset, size, &end) || !checked_align_up(end, p.alignment, &end))
        return plan;
      fixed_top = std::max(fixed_top, end);
      p.fixed_offset.push_back(offset);
      p.fixed_end.push_back(end);
      p.fixed.push_back(k);
    } else {
      if (!checked_add(online_total, size, &online_total)) return plan;
      p.fixed_offset.push_back(kUnplaced);
      p.fixed_end.push_back(0);
      p.online.push_back(k);
    }
  }
  size_t bound = 0;
  if (!checked_add(fixed_top, online_total, &bound)) return plan;

  // Offline offsets came from int64_t, so they fit the key.
  std::vector<Keyed> keyed;
  for (int k : p.fixed)
    keyed.push_back({static_cast<int64_t>(p.fixed_offset[static_cast<size_t>(k)]), k});
  p.fixed = sorted_indices(&keyed);

  // The graph pays off while each item conflicts with few others (network
  // graphs: tens) and its memory stays linear; denser problems scan, which
  // is O(n) per placement either way.
  const size_t m = p.items.size();
  p.use_graph = count_conflicts(p.items) <= kMaxAverageDegree * m;
  if (p.use_graph) build_conflict_graph(&p);

  // A plan at the lower bound cannot be improved on: stop there.
  const size_t lower_bound = memory_lower_bound(buffers, p.alignment);
  const size_t affordable = kWorkBudget / std::max<size_t>(1, pass_cost(p));
  const size_t runs = std::min(kNumVariants, std::max<size_t>(1, affordable));
  std::vector<size_t> peaks;
  std::vector<std::vector<int>> orders(kNumOrders);
  std::vector<bool> sorted(kNumOrders, false);
  Scratch scratch;
  Placement best, trial;
  for (size_t v = 0; v < runs; ++v) {
    const Variant& variant = kVariants[v];
    const size_t o = static_cast<size_t>(variant.order);
    if (!sorted[o]) {
      if (peaks.empty()) peaks = lifetime_peaks(p);
      orders[o] = sorted_online(p, variant.order, peaks);
      sorted[o] = true;
    }
    place(p, orders[o], variant.fit, &scratch, &trial);
    if (v == 0 || trial.arena < best.arena) std::swap(best, trial);
    if (best.arena <= lower_bound) break;
  }

  plan.offsets.assign(buffers.size(), 0);
  for (size_t k = 0; k < m; ++k) plan.offsets[static_cast<size_t>(p.buffer_of[k])] = best.offset[k];
  plan.arena_bytes = best.arena;
  return plan;
}

size_t memory_lower_bound(const std::vector<PlanBuffer>& buffers, size_t alignment) {
  alignment = usable_alignment(alignment);
  std::vector<Item> items;
  for (const PlanBuffer& b : buffers) {
    if (b.size == 0) continue;
    size_t size = 0;
    if (!checked_align_up(b.size, alignment, &size)) return kMax;
    items.push_back(make_item(size, b));
  }
  bool overflow = false;
  const auto profile = live_profile(items, &overflow);
  if (overflow) return kMax;
  size_t peak = 0;
  for (const auto& point : profile) peak = std::max(peak, point.second);
  return peak;
}

bool check_memory_plan(const std::vector<PlanBuffer>& buffers, const std::vector<size_t>& offsets,
                       size_t alignment, std::string* why) {
  if (offsets.size() != buffers.size())
    return reject(why, "plan has %zu offsets for %zu buffers", offsets.size(), buffers.size());
  alignment = usable_alignment(alignment);

  std::vector<size_t> ends(buffers.size(), 0);
  std::vector<Keyed> keyed;
  for (size_t i = 0; i < buffers.size(); ++i) {
    const PlanBuffer& b = buffers[i];
    if (b.first > b.last)
      return reject(why, "buffer %zu: last use %d is before first use %d", i, b.last, b.first);
    if (b.size == 0) continue;
    if (offsets[i] % alignment != 0)
      return reject(why, "buffer %zu: offset %zu is not a multiple of the alignment %zu", i,
                    offsets[i], alignment);
    if (!checked_add(offsets[i], b.size, &ends[i]))
      return reject(why, "buffer %zu: offset %zu + size %zu overflows", i, offsets[i], b.size);
    keyed.push_back({b.first, static_cast<int64_t>(i)});
  }

  // Sweep in time, keeping the buffers live now keyed by offset. They never
  // overlap each other, so a newcomer overlaps one of them exactly when it
  // overlaps its neighbour below or above in offset order.
  std::sort(keyed.begin(), keyed.end());
  std::map<size_t, size_t> live;          // offset -> buffer
  using Expiry = std::pair<int, size_t>;  // last use, buffer
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<Expiry>> expiries;
  for (const Keyed& key : keyed) {
    const size_t i = static_cast<size_t>(key.second);
    const PlanBuffer& b = buffers[i];
    while (!expiries.empty() && expiries.top().first < b.first) {
      live.erase(offsets[expiries.top().second]);
      expiries.pop();
    }
    size_t clash = kMax;
    auto above = live.lower_bound(offsets[i]);
    if (above != live.end() && above->first < ends[i]) clash = above->second;
    if (above != live.begin() && ends[std::prev(above)->second] > offsets[i])
      clash = std::prev(above)->second;
    if (clash != kMax) {
      const size_t lo = std::min(i, clash), hi = std::max(i, clash);
      return reject(why,
                    "buffers %zu and %zu overlap: lifetime [%d, %d] bytes [%zu, %zu) and "
                    "lifetime [%d, %d] bytes [%zu, %zu)",
                    lo, hi, buffers[lo].first, buffers[lo].last, offsets[lo], ends[lo],
                    buffers[hi].first, buffers[hi].last, offsets[hi], ends[hi]);
    }
    live.emplace(offsets[i], i);
    expiries.push({b.last, i});
  }
  return true;
}

}  // namespace qrt
