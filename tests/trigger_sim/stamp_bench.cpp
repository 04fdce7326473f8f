// Measures the trigger stamp over the simulated BNC 575 on a pty: the stamp uncertainty the driver reports
// and where the simulator saw the pulse relative to the stamp. Not a test: figures depend on the machine.
// Usage: bench-trigger-stamp [SHOTS] [SPEED]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tests/trigger_sim/trigger_fixture.hpp"

using namespace insitu;
using namespace insitu::testing;

namespace {

void report(const char* what, std::vector<double> v_s) {
  std::sort(v_s.begin(), v_s.end());
  const auto at = [&](double q) { return v_s[static_cast<std::size_t>(q * static_cast<double>(v_s.size() - 1))]; };
  std::printf("%-44s median %8.3f ms  p95 %8.3f ms  max %8.3f ms  min %8.3f ms\n", what, at(0.5) * 1e3,
              at(0.95) * 1e3, v_s.back() * 1e3, v_s.front() * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  const int shots = argc > 1 ? std::atoi(argv[1]) : 200;
  const double speed = argc > 2 ? std::atof(argv[2]) : 1.0;
  TriggerFixture fx("bench-trigger", speed);
  asio::io_context io;
  trigger::Driver driver(fx.clock, fx.driver_settings(), quiet_logger("bench"));
  run_to_completion(io, driver.connect());

  std::vector<trigger::TriggerStamp> stamps;
  for (int i = 0; i < shots; ++i) {
    stamps.push_back(run_to_completion(io, driver.fire()));
    run_to_completion(io, fx.clock.sleep_for(0.02 * speed));  // 20 ms wall between shots
  }
  run_to_completion(io, fx.clock.sleep_for(0.05 * speed));
  const auto pulses = fx.pulses.on_channel(1);
  if (pulses.size() != stamps.size()) {
    std::fprintf(stderr, "%zu pulses for %zu shots\n", pulses.size(), stamps.size());
    return 1;
  }
  // In wall seconds, so that figures at different speeds compare.
  std::vector<double> uncertainty, write, edge_after;
  int flagged = 0;
  for (std::size_t i = 0; i < stamps.size(); ++i) {
    uncertainty.push_back(stamps[i].uncertainty_s / speed);
    write.push_back(stamps[i].write_wall_s);
    edge_after.push_back((pulses[i].event.edge_s - stamps[i].t_after_s) / speed);
    flagged += stamps[i].uncertain;
  }
  std::printf("%d shots over a pty at %gx, %d flagged uncertain\n", shots, speed, flagged);
  report("stamp uncertainty (interval + 1 ms)", uncertainty);
  report("write + drain of *TRG (wall)", write);
  report("simulator's pulse edge - t_after (wall)", edge_after);
  return 0;
}
