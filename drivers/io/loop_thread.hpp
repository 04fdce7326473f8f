#pragma once
// The thread the daemon's host runs its event loop on. Drivers, the engine, the acquisition and the run assert
// that they are called there (debug builds), as pvxs does: state they keep is the loop's alone. Outside a host
// (unit tests that drive a component on a loop of their own) nothing is asserted.
#include <atomic>
#include <cassert>

namespace insitu::io {

class LoopThread {
 public:
  // Marks the calling thread as the loop's for the guard's lifetime.
  class Guard {
   public:
    Guard() {
      current_ = true;
      hosted_ = true;
    }
    ~Guard() { current_ = false; }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
  };
  static bool allowed() { return current_ || !hosted_.load(std::memory_order_relaxed); }

 private:
  static inline thread_local bool current_ = false;
  static inline std::atomic<bool> hosted_{false};
};

inline void assert_in_loop() { assert(LoopThread::allowed() && "called off the event loop"); }

}  // namespace insitu::io
