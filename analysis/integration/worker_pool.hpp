#pragma once
// A fixed set of threads that run one task per call, each with its own index; the caller is worker 0.
// Per call nothing is allocated, so a per-frame path built on it stays allocation-free.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace insitu::analysis {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads);  // total, including the caller; at least 1
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  std::size_t size() const { return threads_.size() + 1; }

  // Calls task(i) for i in [0, size()) concurrently and returns when all are done. Not reentrant.
  template <class F>
  void run(F& task) {
    run_impl(&invoke<F>, &task, true);
  }
  // For a task that claims its work from a shared counter until none is left: returns once the caller's
  // task(0) has returned and every worker that started it has finished; a worker not awake by then skips this
  // call, so a core the scheduler keeps busy elsewhere delays nothing. Not reentrant.
  template <class F>
  void run_claiming(F& task) {
    run_impl(&invoke<F>, &task, false);
  }

 private:
  using Trampoline = void (*)(void*, std::size_t);
  template <class F>
  static void invoke(void* task, std::size_t index) {
    (*static_cast<F*>(task))(index);
  }
  void run_impl(Trampoline fn, void* task, bool every_worker);
  void worker_loop(std::size_t index);

  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  std::uint64_t generation_ = 0;
  std::size_t pending_ = 0;  // workers yet to run this generation's task
  std::size_t running_ = 0;  // workers inside it
  bool open_ = false;        // workers that wake up now still run it
  bool stop_ = false;
  Trampoline fn_ = nullptr;
  void* task_ = nullptr;
  int caller_nice_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace insitu::analysis
