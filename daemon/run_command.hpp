#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace insitu::daemon {

struct RunOptions {
  std::filesystem::path recipe_path;
  bool simulate = false;
  double speed = 1.0;
  std::optional<std::string> linkam_url;        // overrides the recipe's stage.connection
  std::optional<std::filesystem::path> output;  // overrides the recipe's output.directory
  std::optional<bool> live_status;              // default: when stdout is a terminal
};

// Runs a recipe end to end; returns the process exit code (0 completed, 1 aborted or failed, 2 bad input).
int run_recipe(const RunOptions& options);

}  // namespace insitu::daemon
