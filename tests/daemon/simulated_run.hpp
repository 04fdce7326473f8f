#pragma once
// RunOptions for a recipe run against the simulated instruments, as the end-to-end tests start them.
#include <filesystem>
#include <fstream>
#include <string>
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

// A recipe `name` with 6 s frames of 512² pixels (not stored) during `during` of `program`, darks `darks`, no
// analysis, against the simulated BNC 575 and XRD1621; written as DIR/NAME.yaml.
inline std::filesystem::path short_detector_recipe(const std::filesystem::path& dir, const std::string& name,
                                                   const std::string& program, const std::string& during,
                                                   const std::string& darks) {
  const auto path = dir / (name + ".yaml");
  std::ofstream(path) << "insitu_recipe: 1\nname: " << name << "\nsample:\n  name: " << name
                      << "\n  composition: Cu50Zr50\nstage:\n  model: THMS600\nprogram:\n"
                      << program << R"(safe_state: stop
output:
  directory: runs
detector:
  trigger: {connection: "serial:///dev/ttyUSB1", channel: A, pulse_width_s: 1.0e-4, polarity: normal,
            latency_s: 0.0, shutter_channel: B}
  frames: {folder: /data/xrd1621/incoming, pattern: )"
                      << name << R"(, first_index: 1, format: tiff, sidecar: true,
           deadline_margin_s: 10, readout_s: 0.1332}
  geometry: )" INSITU_SOURCE_DIR R"(/config/instruments/xrd1621-60keV.poni
  settings: {subframes: 1, gain_pF: 0.5, timing_mode: 0, binning: 4}
  store_frames: false
exposures:
  period_s: 6
  during: )" << during << "\n  darks: " << darks << "\n";
  return path;
}

}  // namespace insitu::testing
