#pragma once
// The simulated stage behind a real pseudo-terminal on its own thread, sharing the caller's run clock.
#include "drivers/io/background_loop.hpp"
#include "drivers/linkam/sim/pty_server.hpp"

namespace insitu::linkam::sim {

class BackgroundStage : public io::BackgroundLoop<PtyServer> {
 public:
  BackgroundStage(const io::RunClock& clock, std::filesystem::path link, std::uint64_t seed = 1)
      : BackgroundLoop(clock, std::move(link), seed) {}

  void set_fault(Fault fault, bool on) { server().set_fault(fault, on); }
  void unplug(double down_run_s) { server().unplug(down_run_s); }

  // Runs `inspect(model)` on the simulator's thread and returns its result (tests: state, back doors).
  template <typename F>
  auto with_model(F inspect) {
    return on_loop([&](PtyServer& s) { return inspect(s.model()); });
  }
};

}  // namespace insitu::linkam::sim
