// insitu-linkam-sim: a simulated Linkam T95 + THMS600 + LNP95 on a pseudo-terminal.
// Fault commands on stdin: `fault open_circuit|dewar_empty|silence|garbage on|off`,
// `noise FRACTION` (each reply byte replaced by a random one with that probability), `unplug SECONDS` (run time), `power_cycle SECONDS` (the link drops and the controller comes back stopped), `quit`.
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "drivers/io/clock.hpp"
#include "drivers/io/simulator_console.hpp"
#include "drivers/linkam/sim/background_stage.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Simulated Linkam T95 controller with THMS600 stage and LNP95 pump on a pty"};
  std::string link;
  double speed = 1.0;
  std::uint64_t seed = 1;
  app.add_option("--link", link, "symlink to publish the pty slave at")->required();
  app.add_option("--speed", speed, "run clock speed (x wall time)")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "noise seed");
  CLI11_PARSE(app, argc, argv);

  try {
    const insitu::io::RunClock clock(speed);
    insitu::linkam::sim::BackgroundStage stage(clock, link, seed);
    std::cout << stage.link().string() << std::endl;

    const auto fault_command = [&stage](std::istream& words) {
      const auto fault = insitu::linkam::sim::read_fault_switch(words);
      if (fault) stage.set_fault(fault->fault, fault->on);
      return fault.has_value();
    };
    const auto power_cycle_command = [&stage](std::istream& words) {
      double down_run_s = -1;
      words >> down_run_s;
      if (!words || down_run_s < 0) return false;
      stage.power_cycle(down_run_s);
      return true;
    };
    const auto noise_command = [&stage](std::istream& words) {
      double fraction = -1;
      words >> fraction;
      if (!words || fraction < 0 || fraction > 1) return false;
      stage.set_byte_error_rate(fraction);
      return true;
    };
    insitu::io::run_simulator_console(
        std::cin, std::cerr,
        {{"fault", "fault open_circuit|dewar_empty|silence|garbage on|off", fault_command},
         {"power_cycle", "power_cycle SECONDS", power_cycle_command},
         {"noise", "noise FRACTION (0..1)", noise_command}},
        [&stage](double down_run_s) { stage.unplug(down_run_s); });
  } catch (const std::exception& e) {
    std::cerr << "insitu-linkam-sim: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
