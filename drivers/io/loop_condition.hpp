#pragma once
// A condition on the event loop: coroutines wait for a predicate and are woken by notify() when something it
// reads may have changed, instead of polling it; every wait has a deadline. Loop thread only.
// The predicate is taken by reference and must be a named object that outlives the wait: GCC 12 destroys a
// temporary of a co_await expression twice (a lambda holding a shared_ptr freed its count twice).
#include <chrono>
#include <functional>
#include <vector>

#include "drivers/io/asio.hpp"
#include "drivers/io/clock.hpp"

namespace insitu::io {

class LoopCondition {
 public:
  explicit LoopCondition(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  LoopCondition(const LoopCondition&) = delete;
  LoopCondition& operator=(const LoopCondition&) = delete;

  // Wakes every waiter; each checks its predicate again.
  void notify() {
    for (auto* timer : waiters_) timer->cancel();
  }

  // Until `ready()` or the wall-clock deadline; returns ready().
  awaitable<bool> wait_until(const std::function<bool()>& ready, RunClock::wall_clock::time_point deadline) {
    while (!ready()) {
      if (RunClock::wall_clock::now() >= deadline) co_return false;
      asio::steady_timer timer(executor_, deadline);
      waiters_.push_back(&timer);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      std::erase(waiters_, &timer);
    }
    co_return true;
  }

  // Until `ready()` or `run_s` of run time have passed; returns ready().
  awaitable<bool> wait_for(const std::function<bool()>& ready, const RunClock& clock, double run_s) {
    return wait_until(ready, RunClock::wall_clock::now() + clock.wall_duration(run_s));
  }

 private:
  asio::any_io_executor executor_;
  std::vector<asio::steady_timer*> waiters_;
};

}  // namespace insitu::io
