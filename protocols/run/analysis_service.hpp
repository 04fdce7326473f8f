#pragma once
// Frame analysis as a run asks for it: a job per data frame, done off the loop by whoever owns the worker
// threads (the daemon's host), the result handed back on the loop.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/pipeline/results.hpp"
#include "drivers/detector/frame_files.hpp"

namespace insitu::program {

struct AnalysisJob {
  std::uint64_t sequence = 0;
  double time_s = 0;         // run time of the frame (for the run-level analysis)
  double temperature_K = 0;  // time-weighted mean temperature over the exposure (the sample's when calibrated)
  std::shared_ptr<const detector::Frame> frame;
  std::shared_ptr<const std::vector<float>> dark;  // null or empty: no dark subtraction
  // Non-null: the static mask (height*width, non-zero = masked) this frame is integrated with, replacing the
  // settings' one; a run's darks add their bad pixels to the recipe's mask this way.
  std::shared_ptr<const std::vector<std::uint8_t>> mask = nullptr;
};

struct AnalysisOutcome {
  std::uint64_t sequence = 0;
  std::optional<analysis::FrameAnalysis> analysis;  // unset when the analysis failed
  std::string error;                                // why
  double latency_s = 0;                             // wall time from the request to the result, queueing included
};

class FrameAnalysisService {
 public:
  using Done = std::function<void(AnalysisOutcome)>;
  virtual ~FrameAnalysisService() = default;
  // Never blocks the loop; `done` runs on the loop, exactly once per job, in any order.
  virtual void analyse(AnalysisJob job, Done done) = 0;
};

}  // namespace insitu::program
