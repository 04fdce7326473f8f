// insitu-linkam-sim: a simulated Linkam T95 + THMS600 + LNP95 on a pseudo-terminal.
// Fault commands on stdin: `fault open_circuit|dewar_empty|silence|garbage on|off`,
// `unplug SECONDS` (run time), `quit`.
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "drivers/io/asio.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/linkam/sim/pty_server.hpp"

namespace {

using insitu::linkam::sim::Fault;

std::optional<Fault> parse_fault(const std::string& name) {
  if (name == "open_circuit") return Fault::open_circuit;
  if (name == "dewar_empty") return Fault::dewar_empty;
  if (name == "silence") return Fault::silence;
  if (name == "garbage") return Fault::garbage;
  return std::nullopt;
}

}  // namespace

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
    insitu::asio::io_context io;
    auto work = insitu::asio::make_work_guard(io);
    const insitu::io::RunClock clock(speed);
    insitu::linkam::sim::PtyServer server(io, clock, link, seed);
    std::thread io_thread([&io] { io.run(); });
    std::cout << server.link().string() << std::endl;

    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream words(line);
      std::string command;
      words >> command;
      if (command.empty()) continue;
      if (command == "quit") break;
      if (command == "fault") {
        std::string name, state;
        words >> name >> state;
        const auto fault = parse_fault(name);
        if (!fault || (state != "on" && state != "off")) {
          std::cerr << "usage: fault open_circuit|dewar_empty|silence|garbage on|off\n";
          continue;
        }
        server.set_fault(*fault, state == "on");
      } else if (command == "unplug") {
        double seconds = -1;
        if (!(words >> seconds) || seconds < 0) {
          std::cerr << "usage: unplug SECONDS (run time, >= 0)\n";
          continue;
        }
        server.unplug(seconds);
      } else {
        std::cerr << "unknown command '" << command << "' (fault, unplug, quit)\n";
      }
    }
    work.reset();
    io.stop();
    io_thread.join();
  } catch (const std::exception& e) {
    std::cerr << "insitu-linkam-sim: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
