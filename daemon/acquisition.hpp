#pragma once
// The exposure side of a run: fires one trigger per frame boundary on the run clock, takes in the files the
// detector computer writes, pairs them with their exposure windows, attaches the stage temperature over each
// window, records every frame (darks before and after, data while the program is in an exposed segment) and
// hands data frames on for analysis. Frame files are read off the loop, on a worker thread.
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include <spdlog/logger.h>

#include "daemon/storage/run_file.hpp"
#include "drivers/detector/exposure.hpp"
#include "drivers/detector/frame_files.hpp"
#include "drivers/detector/frame_pairing.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/trigger/driver.hpp"

namespace insitu::daemon {

// The stage temperature log so far, kept on the loop beside the run file for exposure windows.
struct StageLog {
  std::vector<double> time_s, value_K, setpoint_K, time_uncertainty_s;
  detector::TemperatureLogView view() const { return {time_s, value_K, setpoint_K, time_uncertainty_s}; }
};

struct AcquisitionPlan {
  double period_s = 12.0;
  int darks_before = 0, darks_after = 0;
  std::filesystem::path folder;
  std::string pattern = "frame";
  std::string extension = ".tif";  // or ".edf"
  bool sidecar = false;
  detector::PairingConfig pairing;
  std::size_t height = 2048, width = 2048;
  bool store_frames = true;
};

// A data frame with its record, for analysis (called on the worker thread that read it).
struct AcquiredFrame {
  detector::ExposureRecord record;
  std::shared_ptr<const detector::Frame> frame;
  std::shared_ptr<const std::vector<float>> dark_median;  // null when no darks were taken
  std::shared_ptr<const std::vector<std::uint32_t>> pixel_mask;  // the darks' bad pixels (DarkSet::mask), or null
};

struct AcquisitionStats {
  std::uint64_t boundaries = 0, uncertain_boundaries = 0;
  std::uint64_t data_frames = 0, dark_frames = 0, missing = 0, truncated = 0, discarded = 0, orphans = 0;
};

class Acquisition {
 public:
  Acquisition(asio::io_context& io, const io::RunClock& clock, trigger::Driver& trigger, storage::RunFile& run_file,
              const StageLog& stage_log, AcquisitionPlan plan, std::shared_ptr<spdlog::logger> logger);
  ~Acquisition();

  void set_frame_handler(std::function<void(AcquiredFrame)> handler) { on_data_frame_ = std::move(handler); }

  // Darks before, data frames while `exposing()` is true, darks after once `program_over()` or the exposed
  // segments are over; returns when every frame is recorded or given up as missing. `stop_requested()` (an
  // abort) ends the series early, still recording what came in.
  awaitable<void> run(std::function<bool()> exposing, std::function<bool()> program_over,
                      std::function<bool()> stop_requested);

  AcquisitionStats stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::function<void(AcquiredFrame)> on_data_frame_;
  AcquisitionStats stats_;
};

// Median of dark frames per pixel, and the bad-pixel mask from them (hot: far above the median level, dead:
// no signal, saturated: at the top of the range). Mask bits follow NXdetector pixel_mask (2 dead, 8 hot,
// 16 saturated... see the .cpp).
struct DarkSet {
  std::vector<float> median;
  std::vector<std::uint32_t> mask;
};
DarkSet combine_darks(const std::vector<std::shared_ptr<const detector::Frame>>& darks);

}  // namespace insitu::daemon
