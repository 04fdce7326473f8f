#pragma once
// Reads back what a run left in its run.h5, for assertions, through the daemon's own reader
// (daemon/storage/run_file_reader.hpp: committed rows only, SWMR-read while the run is live).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/storage/run_file_reader.hpp"

namespace insitu::testing {

struct RunRecord {
  std::vector<double> time_s, value_K, setpoint_K;
  std::vector<double> event_time_s;
  std::vector<std::string> event_kind, event_message;
  std::string exit_status;

  static RunRecord read(const std::filesystem::path& file) {
    const storage::RunFileReader f(file);
    auto log = f.temperature_log();
    auto events = f.events();
    RunRecord r{std::move(log.time_s), std::move(log.value_K), std::move(log.setpoint_K), std::move(events.time_s),
                std::move(events.kind), std::move(events.message),
                f.text(storage::schema::entry_field::exit_status).value_or("")};
    return r;
  }

  int count_events(const std::string& kind, const std::string& fragment = "") const {
    int n = 0;
    for (std::size_t i = 0; i < event_kind.size(); ++i)
      n += event_kind[i] == kind && event_message[i].find(fragment) != std::string::npos;
    return n;
  }

  // Run time of the k-th event of a kind (0-based).
  double event_time(const std::string& kind, int k) const {
    for (std::size_t i = 0; i < event_kind.size(); ++i)
      if (event_kind[i] == kind && k-- == 0) return event_time_s[i];
    return NAN;
  }
};

// The cryogenic recipe without its detector, exposure, analysis and DMA sections: the stage program alone.
inline std::filesystem::path stage_only_cryo_recipe(const std::filesystem::path& dir) {
  std::ifstream in(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.resize(text.find("\ndetector:") + 1);
  const auto path = dir / "cryo-stage-only.yaml";
  std::ofstream(path) << text;
  return path;
}

// The single run directory an output folder holds after one run.
inline std::filesystem::path only_run_file(const std::filesystem::path& output) {
  std::vector<std::filesystem::path> runs;
  for (const auto& e : std::filesystem::directory_iterator(output)) runs.push_back(e.path() / "run.h5");
  if (runs.size() != 1) throw std::runtime_error("expected exactly one run directory in " + output.string());
  return runs.front();
}

}  // namespace insitu::testing
