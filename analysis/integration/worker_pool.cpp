#include "analysis/integration/worker_pool.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace insitu::analysis {
namespace {

// Linux scheduling priority (nice) of the calling thread: per thread, unlike POSIX.
int this_thread_nice() { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid))); }
void set_this_thread_nice(int nice) { ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice); }

}  // namespace

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

void WorkerPool::run_impl(Trampoline fn, void* task, bool every_worker) {
  if (threads_.empty()) {
    fn(task, 0);
    return;
  }
  const int caller_nice = this_thread_nice();
  {
    std::lock_guard lock(mutex_);
    caller_nice_ = caller_nice;
    fn_ = fn;
    task_ = task;
    pending_ = threads_.size();
    open_ = true;
    ++generation_;
  }
  start_.notify_all();
  fn(task, 0);
  std::unique_lock lock(mutex_);
  if (every_worker) {
    done_.wait(lock, [this] { return pending_ == 0; });
  } else {
    open_ = false;
    done_.wait(lock, [this] { return running_ == 0; });
  }
}

void WorkerPool::worker_loop(std::size_t index) {
  std::uint64_t seen = 0;
  int nice = this_thread_nice();
  for (;;) {
    Trampoline fn = nullptr;
    void* task = nullptr;
    int wanted_nice = nice;
    {
      std::unique_lock lock(mutex_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (!open_) continue;  // a run_claiming call that its caller already finished
      ++running_;
      fn = fn_;
      task = task_;
      wanted_nice = caller_nice_;
    }
    // The pool's threads share the caller's priority, so that work its caller runs in the background stays there.
    if (wanted_nice != nice) {
      set_this_thread_nice(wanted_nice);
      nice = wanted_nice;
    }
    fn(task, index);
    {
      std::lock_guard lock(mutex_);
      --pending_;
      --running_;
    }
    done_.notify_one();
  }
}

}  // namespace insitu::analysis
