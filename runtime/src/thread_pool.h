// A small fixed thread pool for splitting one operator over output rows.
//
// Created once at interpreter prepare with threads - 1 workers (threads = 1
// starts none and ops never reach it); joined when the interpreter is freed.
// run() hands out contiguous chunks of [0, n) to the workers and to the
// calling thread, which takes chunks too, and returns when all are done. It
// allocates nothing and throws nothing: the job travels as a function
// pointer and a pointer to the caller's lambda.
//
// Waiting: a worker that finished a job spins for a short while before it
// sleeps on a condition variable, because during an invoke the next op's
// job follows within microseconds and a futex wake-up would cost more than
// most chunks. The caller likewise spins before sleeping on the last chunk.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "error.h"

namespace qrt {

class ThreadPool {
 public:
  // More threads than this is a mistake, not a machine (and keeps the
  // per-thread scratch any op asks for bounded).
  static constexpr int32_t kMaxThreads = 64;

  // The count a requested `threads` option resolves to: 0 means the default,
  // 1 (the single-core path: no worker, no synchronisation, and an app that
  // runs several models or its own threads is not surprised by extra load);
  // larger values are capped at kMaxThreads and, when cap_to_cores, at the
  // number of cores std::thread reports (more threads than cores only wait
  // on each other). Negative values must be rejected before this.
  static int32_t resolve(int32_t requested, bool cap_to_cores);

  ThreadPool() = default;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() { stop(); }

  // Starts threads - 1 workers and returns once all of them run; threads in
  // [1, kMaxThreads]. Fails (and leaves no worker running) when the system
  // refuses a thread.
  qrt_status start(int32_t threads, Error* error);
  // Wakes and joins every worker; safe to call twice or without start().
  void stop();
  // Threads that take part in run(), the caller included.
  int32_t threads() const { return threads_; }

  // Calls fn(begin, end, slot) on contiguous chunks covering [0, n), and
  // returns when all are done. Every chunk boundary but n is a multiple of
  // align (a kernel's row tile); there are at most n / min_chunk chunks (the
  // least work worth a hand-off), all of about one size. slot in
  // [0, threads()) names the thread running the chunk, 0 the caller: chunks
  // of one slot never overlap in time, so a slot can own a scratch slice.
  // fn must not throw. One caller at a time.
  template <class F>
  void run(int64_t n, int64_t align, int64_t min_chunk, const F& fn) {
    run_chunks(n, align, min_chunk, &call<F>, &fn);
  }

 private:
  using ChunkFn = void (*)(const void* context, int64_t begin, int64_t end, int32_t slot);
  template <class F>
  static void call(const void* context, int64_t begin, int64_t end, int32_t slot) {
    (*static_cast<const F*>(context))(begin, end, slot);
  }

  void run_chunks(int64_t n, int64_t align, int64_t min_chunk, ChunkFn fn,
                  const void* context);
  void worker_main(int32_t slot, uint64_t seen);  // seen: the last job before it started
  // Claims and runs chunks of the job `state` names until none is left or a
  // newer job replaced it.
  void take_chunks(uint64_t state, int32_t slot);

  // The job word: generation << 24 | chunks << 12 | next chunk to claim.
  // A chunk is claimed by a compare-exchange of the whole word, so a worker
  // that wakes late, after its job finished and the next one began, can
  // never claim a chunk of a job it did not read: the caller only waits for
  // chunks, not for workers to check in, and a slow or descheduled worker
  // with nothing to do never holds it up.
  static constexpr int kChunkBits = 12;
  static uint64_t generation(uint64_t state) { return state >> (2 * kChunkBits); }
  static int64_t chunk_count(uint64_t state) {
    return static_cast<int64_t>((state >> kChunkBits) & ((1u << kChunkBits) - 1));
  }
  static int64_t next_chunk(uint64_t state) {
    return static_cast<int64_t>(state & ((1u << kChunkBits) - 1));
  }

  int32_t threads_ = 1;
  std::vector<std::thread> workers_;

  // The current job, written by the caller before it publishes the job word
  // (release) and read by workers after they load it (acquire). Atomics,
  // relaxed, because a late worker may read them while the caller rewrites
  // them for the next job; its claim then fails and it never uses them.
  std::atomic<ChunkFn> fn_{nullptr};
  std::atomic<const void*> context_{nullptr};
  std::atomic<int64_t> n_{0};
  std::atomic<int64_t> align_{1};
  // ceil(n / align); chunk c has units [c * units / chunks, (c + 1) * units / chunks)
  std::atomic<int64_t> units_{0};

  // On their own cache lines: workers poll state_ while chunks finish.
  alignas(64) std::atomic<uint64_t> state_{0};
  alignas(64) std::atomic<int64_t> done_{0};  // chunks of the current job finished
  alignas(64) std::atomic<int32_t> sleeping_workers_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int32_t> running_workers_{0};  // workers that reached worker_main
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
};

// Splits [0, n) over pool as ThreadPool::run does. Null pool (one thread)
// or fewer than two chunks' worth of rows: one call on this thread, the
// single-core path with nothing in between.
template <class F>
inline void parallel_for(ThreadPool* pool, int64_t n, int64_t align, int64_t min_chunk,
                         const F& fn) {
  if (pool && n >= 2 * min_chunk && n > align) {
    pool->run(n, align, min_chunk, fn);
  } else if (n > 0) {
    fn(int64_t{0}, n, int32_t{0});
  }
}

// Byte-wise elementwise ops (u8 add, multiply, table lookup) split over the
// pool in chunks of at least kByteChunkMin elements: their kernels do a few
// elements a nanosecond, so a smaller chunk would cost as much to hand to
// another thread (~1 us) as to compute; smaller tensors stay on the
// caller's thread. Chunk edges sit on kByteChunkAlign elements, a cache line
// of output, so no two threads write one line.
constexpr int64_t kByteChunkMin = 8192;
constexpr int64_t kByteChunkAlign = 64;

// The fewest rows a chunk should have when each row costs work_per_row units
// (MACs, element operations) and a chunk should do at least min_work of them,
// so the hand-off (about a microsecond with spinning workers) stays small
// against the chunk's own time.
inline int64_t min_chunk_rows(int64_t work_per_row, int64_t min_work) {
  if (work_per_row < 1) work_per_row = 1;
  const int64_t rows = (min_work + work_per_row - 1) / work_per_row;
  return rows < 1 ? 1 : rows;
}

}  // namespace qrt
