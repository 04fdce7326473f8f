#pragma once
// RunOptions for a recipe run against the simulated instruments, as the end-to-end tests start them.
#include <filesystem>
#include <utility>

#include "daemon/run_command.hpp"

namespace insitu::testing {

// `speed`: run-clock seconds per wall second. No live status line: ctest captures the output.
inline daemon::RunOptions simulated_run_options(std::filesystem::path recipe, std::filesystem::path output,
                                                double speed) {
  daemon::RunOptions options;
  options.recipe_path = std::move(recipe);
  options.simulate = true;
  options.speed = speed;
  options.output = std::move(output);
  options.live_status = false;
  return options;
}

}  // namespace insitu::testing
