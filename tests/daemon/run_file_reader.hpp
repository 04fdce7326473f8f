#pragma once
// Reads back what a run left in its run.h5, for assertions.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/storage/h5.hpp"

namespace insitu::testing {

struct RunRecord {
  std::vector<double> time_s, value_K, setpoint_K;
  std::vector<double> event_time_s;
  std::vector<std::string> event_kind, event_message;
  std::string exit_status;

  static RunRecord read(const std::filesystem::path& file, storage::h5::Access access = storage::h5::Access::read) {
    namespace h5 = storage::h5;
    RunRecord r;
    const auto f = h5::open_file(file, access);
    const auto log = h5::open_group(f, "/entry/sample/temperature_log");
    r.time_s = h5::read_1d<double>(h5::open_dataset(log, "time"));
    r.value_K = h5::read_1d<double>(h5::open_dataset(log, "value"));
    r.setpoint_K = h5::read_1d<double>(h5::open_dataset(log, "setpoint"));
    const auto events = h5::open_group(f, "/entry/events");
    r.event_time_s = h5::read_1d<double>(h5::open_dataset(events, "time"));
    r.event_kind = h5::read_strings(h5::open_dataset(events, "kind"));
    r.event_message = h5::read_strings(h5::open_dataset(events, "message"));
    if (h5::exists(f, "/entry/exit_status")) r.exit_status = h5::read_string(f, "/entry/exit_status");
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
