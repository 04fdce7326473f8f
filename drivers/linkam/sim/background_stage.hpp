#pragma once
// The simulated stage behind a real pseudo-terminal on its own thread, sharing the caller's run clock.
#include "drivers/io/background_loop.hpp"
#include <vector>

#include "drivers/linkam/sim/pty_server.hpp"

namespace insitu::linkam::sim {

class BackgroundStage : public io::BackgroundLoop<PtyServer> {
 public:
  BackgroundStage(const io::RunClock& clock, std::filesystem::path link, std::uint64_t seed = 1)
      : BackgroundLoop(clock, std::move(link), seed) {}

  void set_fault(Fault fault, bool on) { server().set_fault(fault, on); }
  void set_byte_error_rate(double probability) { server().set_byte_error_rate(probability); }
  void unplug(double down_run_s) { server().unplug(down_run_s); }
  void power_cycle(double down_run_s) { server().power_cycle(down_run_s); }
  // What the controller has received so far (commands other than `T`), copied on the simulator's thread.
  std::vector<T95Emulator::Received> received_commands() {
    return on_loop([](PtyServer& s) {
      const auto& r = s.emulator().received();
      return std::vector<T95Emulator::Received>(r.begin(), r.end());
    });
  }

  // Runs `inspect(model)` on the simulator's thread and returns its result (tests: state, back doors).
  template <typename F>
  auto with_model(F inspect) {
    return on_loop([&](PtyServer& s) { return inspect(s.model()); });
  }
};

}  // namespace insitu::linkam::sim
