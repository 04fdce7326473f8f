#pragma once
// `insitu run`: one recipe in the foreground, on a host of its own, with the run file, the log and the status
// line as the run's sinks.
#include <filesystem>
#include <optional>
#include <string>

#include "daemon/simulation.hpp"

namespace insitu::daemon {

struct RunOptions {
  std::filesystem::path recipe_path;
  bool simulate = false;
  double speed = 1.0;
  std::optional<std::string> linkam_url;        // overrides the recipe's stage.connection
  std::optional<std::filesystem::path> output;  // overrides the recipe's output.directory
  std::optional<bool> live_status;              // default: when stdout is a terminal
  // Analysis threads; 0: every core but one (one on two cores: the other renders (simulation) or writes frames).
  std::size_t analysis_workers = 0;
  std::optional<std::string> bluesky_zmq;  // a ZeroMQ address to publish the event-model documents on
  bool bluesky_jsonl = true;               // run.documents.jsonl beside run.h5
};

// Exit codes of `insitu run`.
enum RunExit : int {
  run_completed = 0,
  run_aborted_or_failed = 1,
  run_not_started = 2,        // bad recipe, options or connections: nothing moved, no run folder left
  run_record_incomplete = 3,  // the run went on, but part of what it took could not be written
  run_completed_with_deviations = 4,  // the program ran, but the stage was off it longer than the recipe allows
};

// Runs a recipe end to end; returns a RunExit. `simulation` applies with options.simulate only.
int run_recipe(const RunOptions& options, const SimulationSettings& simulation = {});

}  // namespace insitu::daemon
