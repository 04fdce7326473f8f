#pragma once
// The simulated delay generator behind a real pseudo-terminal on its own thread. Pulses reach `on_pulse` on the
// simulator's thread at their edge time.
#include "drivers/io/background_loop.hpp"
#include "drivers/trigger/sim/pty_server.hpp"

namespace insitu::trigger::sim {

class BackgroundTrigger : public io::BackgroundLoop<PtyServer> {
 public:
  BackgroundTrigger(const io::RunClock& clock, std::filesystem::path link, EmulatorConfig config = {},
                    PtyServer::PulseHandler on_pulse = {})
      : BackgroundLoop(clock, std::move(link), std::move(config), std::move(on_pulse)) {}

  void inject(Fault fault, std::string command_prefix = {}) { server().inject(fault, std::move(command_prefix)); }
  void set_echo(bool on) { server().set_echo(on); }
  void unplug(double down_run_s) { server().unplug(down_run_s); }

  // Tests: the emulator's state and the commands received, read on the simulator's thread.
  template <typename F>
  auto with_server(F inspect) {
    return on_loop(std::move(inspect));
  }
};

}  // namespace insitu::trigger::sim
