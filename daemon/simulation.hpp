#pragma once
// The one place that starts simulated instruments for `--simulate`: the Linkam stage behind a pty for as long as the
// Simulation lives, and for each run, with a detector section the BNC 575 behind a pty whose pulses read out the
// simulated XRD1621 into a frame folder, and with a DMA section a DHR-3 whose TRIOS exports wait in an export folder.
// Each runs on its own thread; runs connect to them by the URLs and folders it returns, as they would to hardware.
// With the stage an instrument of its own (e.g. insitu-linkam-sim as its own process, which keeps its physics while
// insitud is dead), only the detector side is simulated, and it sees the stage's temperature as the run reads it.
// Faults are injected while they run through the FIFO `faults` in the Simulation's folder, one command a line:
//   stage fault open_circuit|dewar_empty|silence|garbage on|off    stage noise FRACTION (of reply bytes corrupted)
//   stage unplug S    stage power_cycle S                          (S: run seconds the link is down)
//   trigger fault drop|error|garbage|noise [PREFIX]    trigger fault late S [PREFIX]    trigger unplug S
//   detector missing|delayed|truncated|duplicate|clock_skew|orphan [VALUE_S]   (the next image read out)
//   note TEXT    (nothing injected: marks the moment of a fault from outside, such as a signal or a full disk)
// and recorded in `faults.log` there: stage clock s, run clock s (nan between runs), the line, applied|refused.
// An external stage takes its faults on its own console (insitu-linkam-sim's); here its `stage` lines are refused.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/detector/sim/detector_simulator.hpp"
#include "drivers/io/clock.hpp"
#include "protocols/recipe/recipe.hpp"

namespace insitu::daemon {

// A file fault the simulated detector injects at frame k (k = 0 is the pre-trigger image); `value_s` is the
// delay or the clock skew. For tests of the file path.
struct SimulatedFileFault {
  std::int64_t frame = 0;
  detector::sim::FileFault fault = detector::sim::FileFault::missing;
  double value_s = 0.0;
};

struct SimulationSettings {
  std::uint64_t seed = 1;  // noise realisation of the simulated detector
  std::vector<SimulatedFileFault> detector_faults;
};

inline constexpr const char* kFaultConsoleName = "faults";
inline constexpr const char* kFaultRecordName = "faults.log";

class Simulation {
 public:
  // The simulated stage, on a copy of `clock`, for the Simulation's whole life (a service's: its temperature carries
  // from one run to the next); its pty goes under `dir`.
  Simulation(const io::RunClock& clock, const std::filesystem::path& dir);
  // No simulated stage: runs use the stage at `external_stage_url`, and feed its readings to record_stage_reading;
  // the fault console goes under `dir`.
  Simulation(const io::RunClock& clock, const std::filesystem::path& dir, std::string external_stage_url);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  std::string stage_url() const;
  bool stage_is_external() const;
  // A reading of the external stage at `run_s` of the current run's clock: what the simulated detector's
  // exposures then see. Ignored with a simulated stage (the detector reads its true temperature) or no detector.
  void record_stage_reading(double run_s, double temperature_K);

  // The recipe's detector side (delay generator, detector) and DMA exports for one run on `run_clock`, writing under
  // `run_dir`; they replace the previous run's. The detector sees the stage's temperature at its own run times.
  void prepare_run(const io::RunClock& run_clock, const recipe::Recipe& recipe, const std::filesystem::path& run_dir,
                   const SimulationSettings& settings);
  void end_run();  // stops the run's detector side

  std::optional<std::string> trigger_url() const;              // with a detector section
  std::optional<std::filesystem::path> frames_folder() const;  // with a detector section
  std::optional<std::filesystem::path> dma_folder() const;     // with a DMA section, exports already there

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace insitu::daemon
