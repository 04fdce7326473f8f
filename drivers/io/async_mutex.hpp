#pragma once
// A mutex for coroutines on one io_context: keeps exactly one command in flight on a port while the
// poller and the program both talk to the device. Boost 1.74 has no channels, so waiters park on timers.
#include <deque>
#include <memory>

#include "drivers/io/asio.hpp"

namespace insitu::io {

class AsyncMutex {
 public:
  class Lock {
   public:
    explicit Lock(AsyncMutex* m) : mutex_(m) {}
    Lock(Lock&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
    Lock& operator=(Lock&&) = delete;
    ~Lock() {
      if (mutex_) mutex_->release();
    }

   private:
    AsyncMutex* mutex_;
  };

  awaitable<Lock> lock() {
    if (!locked_) {
      locked_ = true;
      co_return Lock(this);
    }
    auto waiter = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                       asio::steady_timer::time_point::max());
    waiters_.push_back(waiter);
    boost::system::error_code ec;
    co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return Lock(this);  // ownership was handed over by release()
  }

 private:
  void release() {
    if (waiters_.empty()) {
      locked_ = false;
      return;
    }
    auto next = waiters_.front();
    waiters_.pop_front();
    next->cancel();
  }

  bool locked_ = false;
  std::deque<std::shared_ptr<asio::steady_timer>> waiters_;
};

}  // namespace insitu::io
