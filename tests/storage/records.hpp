#pragma once
// Deterministic records shared by the storage tests and the crash-writer helper, so a reader can
// check every row it finds against what the writer must have written.
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>

#include "daemon/storage/h5.hpp"
#include "daemon/storage/run_file.hpp"

namespace insitu::storage::testing {

inline TemperatureSample sample_at(std::size_t i) {
  return {.time_s = 0.01 * static_cast<double>(i),
          .value_K = 93.15 + 0.001 * static_cast<double>(i),
          .setpoint_K = 93.15 + 0.0011 * static_cast<double>(i),
          .status = static_cast<std::uint8_t>(i % 256),
          .error = static_cast<std::uint8_t>((7 * i) % 256),
          .pump = static_cast<std::uint8_t>((13 * i) % 256)};
}

inline RunEvent event_at(std::size_t k) {
  return {.time_s = 0.5 * static_cast<double>(k), .kind = k % 2 ? "segment" : "info",
          .message = "event " + std::to_string(k)};
}

inline RunMetadata test_metadata() {
  RunMetadata m;
  m.program_version = "0.1.0-test";
  m.recipe_name = "ramp";
  m.recipe_path = "recipes/ramp.yaml";
  m.recipe_text = "segments:\n  - ramp: {to_K: 873.15, rate_K_per_min: 10}\n";
  m.sample_name = "CeO2 standard";
  m.sample_composition = "CeO2";
  m.sample_treatment = "as received";
  m.sample_description = "NIST SRM 674b in a 1 mm capillary";
  m.start_time_iso = "2026-11-24T18:00:00.000Z";
  m.clock_speed = 600.0;
  m.simulated = true;
  m.stage_model = "Linkam THMS600 / T95";
  m.stage_connection = "sim://linkam";
  return m;
}

// A fresh directory per test under the system temp dir, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / ("insitu_storage_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Rows committed to /entry/sample/temperature_log (len(time), read first: it is the commit marker),
// after checking every committed row of every column against sample_at(); throws on a mismatch.
inline std::size_t check_temperature_log(const h5::Handle& file) {
  const h5::Handle log = h5::open_group(file, "/entry/sample/temperature_log");
  const auto time = h5::read_1d<double>(h5::open_dataset(log, "time"));
  const auto value = h5::read_1d<double>(h5::open_dataset(log, "value"));
  const auto setpoint = h5::read_1d<double>(h5::open_dataset(log, "setpoint"));
  const auto status = h5::read_1d<std::uint8_t>(h5::open_dataset(log, "status"));
  const auto error = h5::read_1d<std::uint8_t>(h5::open_dataset(log, "error"));
  const auto pump = h5::read_1d<std::uint8_t>(h5::open_dataset(log, "pump"));
  const std::size_t n = time.size();
  if (value.size() < n || setpoint.size() < n || status.size() < n || error.size() < n || pump.size() < n)
    throw std::runtime_error("a column is shorter than time (" + std::to_string(n) + " rows)");
  for (std::size_t i = 0; i < n; ++i) {
    const auto s = sample_at(i);
    if (time[i] != s.time_s || value[i] != s.value_K || setpoint[i] != s.setpoint_K || status[i] != s.status ||
        error[i] != s.error || pump[i] != s.pump)
      throw std::runtime_error("row " + std::to_string(i) + " differs from what was appended");
  }
  return n;
}

template <class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace insitu::storage::testing
