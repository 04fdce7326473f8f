#include "analysis/integration/worker_pool.hpp"

namespace insitu::analysis {

WorkerPool::WorkerPool(std::size_t threads) {
  const std::size_t extra = threads > 1 ? threads - 1 : 0;
  threads_.reserve(extra);
  for (std::size_t i = 0; i < extra; ++i) threads_.emplace_back([this, i] { worker_loop(i + 1); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::run_impl(Trampoline fn, void* task) {
  if (threads_.empty()) {
    fn(task, 0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    fn_ = fn;
    task_ = task;
    pending_ = threads_.size();
    ++generation_;
  }
  start_.notify_all();
  fn(task, 0);
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return pending_ == 0; });
}

void WorkerPool::worker_loop(std::size_t index) {
  std::uint64_t seen = 0;
  for (;;) {
    Trampoline fn = nullptr;
    void* task = nullptr;
    {
      std::unique_lock lock(mutex_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      fn = fn_;
      task = task_;
    }
    fn(task, index);
    {
      std::lock_guard lock(mutex_);
      --pending_;
    }
    done_.notify_one();
  }
}

}  // namespace insitu::analysis
