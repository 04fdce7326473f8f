// insitu-trigger-sim: a simulated BNC 575 delay generator on a pseudo-terminal. Prints the pty link, then
// one line per output pulse: `pulse CHANNEL EDGE_S WIDTH_S`.
// Fault commands on stdin (each hits the next command line starting with PREFIX, or the next line at all):
//   fault drop|error|garbage|noise [PREFIX]     no reply / ?5 / a junk reply line / stray bytes before it
//   fault late SECONDS [PREFIX]                 the reply comes SECONDS of run time late
//   echo on|off, unplug SECONDS (run time), quit
#include <iostream>
#include <mutex>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "drivers/io/clock.hpp"
#include "drivers/io/simulator_console.hpp"
#include "drivers/trigger/sim/background_trigger.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Simulated BNC 575 delay generator on a pty"};
  std::string link;
  double speed = 1.0;
  insitu::trigger::EmulatorConfig config;
  app.add_option("--link", link, "symlink to publish the pty slave at")->required();
  app.add_option("--speed", speed, "run clock speed (x wall time)")->check(CLI::PositiveNumber);
  app.add_option("--latency", config.trigger_latency_s, "instrument latency from *TRG to T0 (run s)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--echo", config.echo, "echo each command line (DB-9 port behaviour)");
  CLI11_PARSE(app, argc, argv);

  try {
    const insitu::io::RunClock clock(speed);
    std::mutex out_mutex;  // pulses are printed from the simulator's thread
    insitu::trigger::sim::BackgroundTrigger trigger(clock, link, config, [&](const insitu::trigger::PulseEvent& p) {
      const std::lock_guard lock(out_mutex);
      std::cout << fmt::format("pulse {} {:.6f} {:.9f}", p.channel, p.edge_s, p.width_s) << std::endl;
    });
    {
      const std::lock_guard lock(out_mutex);
      std::cout << trigger.link().string() << std::endl;
    }

    const auto fault_command = [&trigger](std::istream& words) {
      const auto fault = insitu::trigger::read_fault(words);
      if (!fault) return false;
      std::string prefix;
      words >> prefix;
      trigger.inject(*fault, prefix);
      return true;
    };
    const auto echo_command = [&trigger](std::istream& words) {
      std::string state;
      words >> state;
      if (state != "on" && state != "off") return false;
      trigger.set_echo(state == "on");
      return true;
    };
    insitu::io::run_simulator_console(
        std::cin, std::cerr,
        {{"fault", "fault drop|error|garbage|noise [PREFIX] | fault late SECONDS [PREFIX]", fault_command},
         {"echo", "echo on|off", echo_command}},
        [&trigger](double down_run_s) { trigger.unplug(down_run_s); });
  } catch (const std::exception& e) {
    std::cerr << "insitu-trigger-sim: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
