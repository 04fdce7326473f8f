#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "drivers/detector/sim/detector_simulator.hpp"

namespace insitu::daemon {

// A file fault the simulated detector injects at frame k (k = 0 is the pre-trigger image); `value_s` is the
// delay or the clock skew.
struct SimulatedFileFault {
  std::int64_t frame = 0;
  detector::sim::FileFault fault = detector::sim::FileFault::missing;
  double value_s = 0.0;
};

struct RunOptions {
  std::filesystem::path recipe_path;
  bool simulate = false;
  double speed = 1.0;
  std::optional<std::string> linkam_url;        // overrides the recipe's stage.connection
  std::optional<std::filesystem::path> output;  // overrides the recipe's output.directory
  std::optional<bool> live_status;              // default: when stdout is a terminal
  std::vector<SimulatedFileFault> detector_faults;  // with `simulate` only: for tests of the file path
  std::uint64_t sim_seed = 1;                       // noise realisation of the simulated detector
};

// Runs a recipe end to end; returns the process exit code (0 completed, 1 aborted or failed, 2 bad input).
int run_recipe(const RunOptions& options);

}  // namespace insitu::daemon
