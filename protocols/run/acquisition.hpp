#pragma once
// The exposure side of a run, part of the experiment program: fires one trigger per frame boundary on the run
// clock, takes in the files the detector computer writes, pairs them with their exposure windows, attaches the
// stage temperature over each window, and reports every frame as a document (darks before the first exposed
// segment and after the last, data while the program runs in an exposed segment; a pause ends a series, the
// resume starts the next). Frame files are listed and read on the readers' executor, never on the loop.
#include <spdlog/logger.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "drivers/detector/exposure.hpp"
#include "drivers/detector/frame_files.hpp"
#include "drivers/detector/frame_pairing.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/io/loop_condition.hpp"
#include "drivers/trigger/driver.hpp"
#include "protocols/recipe/recipe.hpp"
#include "protocols/run/documents.hpp"

namespace insitu::program {

// The stage temperature log so far, kept on the loop for the exposure windows.
// The recent stage readings a frame's temperature statistics come from. The run file keeps the whole log; here
// readings older than `keep_s` before the latest go (in batches, so appending stays amortised O(1)), the last one
// before that edge kept for interpolation. A frame is recorded by its file deadline, so keep_s beyond the period
// plus that deadline is never read.
struct StageLog {
  explicit StageLog(double keep_s = 600.0) : keep_s(keep_s) {}
  void append(double t_s, double t_uncertainty_s, double T_K, double T_setpoint_K);
  detector::TemperatureLogView view() const { return {time_s, value_K, setpoint_K, time_uncertainty_s}; }

  double keep_s;
  std::vector<double> time_s, value_K, setpoint_K, time_uncertainty_s;
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
  // A run taken up after its process died goes on from the first part's records: frame numbers after its last,
  // and its darks' median and bad pixels (no darks are taken before when they are given).
  std::uint64_t first_sequence = 0;
  std::shared_ptr<const std::vector<float>> recorded_dark_median;
  std::shared_ptr<const std::vector<std::uint32_t>> recorded_pixel_mask;
};

AcquisitionPlan acquisition_plan(const recipe::Recipe& recipe, const std::filesystem::path& frames_folder);
// How far back a run's StageLog must reach for `plan`'s frames: a period, the file deadline and slack.
double stage_log_keep_s(const AcquisitionPlan& plan);

// What the acquisition follows of the program; read on the loop, and `changed` is notified whenever any of it
// may have changed.
struct ProgramView {
  std::function<bool()> exposing;        // running in a segment the recipe exposes
  std::function<bool()> exposure_ahead;  // an exposed segment is running, paused or still to come
  std::function<bool()> stop_requested;  // aborted or failed: end the series now, record what came in
  io::LoopCondition& changed;
  // Flags the program adds to an exposure window [start_s, stop_s] (a suspender's condition held); none if empty.
  std::function<std::uint32_t(double start_s, double stop_s)> window_flags = {};
};

// A data frame read from its file, with the darks' results it is corrected with (null before darks or without).
struct AcquiredFrame {
  detector::ExposureRecord record;
  std::shared_ptr<const detector::Frame> frame;
  std::shared_ptr<const std::vector<float>> dark_median;
  std::shared_ptr<const std::vector<std::uint32_t>> pixel_mask;
};

struct AcquisitionStats {
  std::uint64_t boundaries = 0, uncertain_boundaries = 0;
  std::uint64_t data_frames = 0, dark_frames = 0, missing = 0, truncated = 0, discarded = 0, orphans = 0;
};

class Acquisition {
 public:
  // Documents (frames, darks, events, orphans) go to `emit`; data frames also to the frame handler. Both are
  // called on the loop.
  Acquisition(asio::any_io_executor loop, asio::any_io_executor readers, const io::RunClock& clock,
              trigger::Driver& trigger, const StageLog& stage_log, AcquisitionPlan plan,
              std::function<void(const documents::Document&)> emit, std::shared_ptr<spdlog::logger> logger);
  ~Acquisition();

  void set_frame_handler(std::function<void(AcquiredFrame)> handler);

  // Returns when every frame is recorded or given up as missing.
  awaitable<void> run(ProgramView program);

  AcquisitionStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the reads in flight, which outlive a destroyed Acquisition
};

}  // namespace insitu::program
