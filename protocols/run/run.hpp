#pragma once
// One execution of a recipe: the stage program, the exposures and their analysis, the DMA exports that arrive
// meanwhile. A Run owns no io_context, no thread and no file: it runs on the loop it is given, asks the host's
// workers for the analysis, and reports everything it does as documents (protocols/run/documents.hpp), start
// first and stop last.
#include <spdlog/logger.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "analysis/pipeline/frame_pipeline.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/io/loop_condition.hpp"
#include "drivers/linkam/driver.hpp"
#include "drivers/trigger/driver.hpp"
#include "protocols/engine/engine.hpp"
#include "protocols/recipe/recipe.hpp"
#include "protocols/run/acquisition.hpp"
#include "protocols/run/analysis_service.hpp"
#include "protocols/run/documents.hpp"
#include "protocols/run/suspenders.hpp"

namespace insitu::dhr3 {
class ExportWatcher;
}

namespace insitu::program {

// A run taken up again after its process died: where its programme goes on, and the gap, for the record.
struct Resumption {
  std::optional<ResumePoint> at;  // none: the first part died before its programme began, which starts over
  double last_record_s = 0;  // the last reading or event the first part flushed (run time)
  // The first part's analysed frames: the run-level analysis (S_eq smoothing, T_g) covers them and the new ones.
  std::vector<analysis::RunPoint> analysed = {};
  // Frames the first part recorded whose analysis was in flight when it died: analysed before the new ones.
  std::vector<AcquiredFrame> unanalysed = {};
  // Frames in flight likewise whose pixels the file does not hold (frames not stored): said in an event.
  std::vector<std::uint64_t> not_analysable = {};
};

struct RunSetup {
  recipe::Recipe recipe;
  documents::RunStart start;                           // what the start document says besides the recipe
  std::optional<AcquisitionPlan> acquisition;          // with exposures
  std::optional<analysis::PipelineSettings> analysis;  // with inline analysis
  std::optional<Resumption> resumption;                // the run continues one whose process died
};

// The instruments and services the run uses; all outlive it. Null: not part of this run.
struct RunInstruments {
  linkam::Driver& stage;
  trigger::Driver* trigger = nullptr;
  asio::any_io_executor frame_readers;       // where frame files are read (with a trigger)
  FrameAnalysisService* analysis = nullptr;  // with analysis settings
  dhr3::ExportWatcher* dma = nullptr;
  ExternalSignalFactory external_signals = {};  // readers of the recipe's tango suspenders
};

struct RunStatus {
  Progress program;
  AcquisitionStats frames;
  std::uint64_t analysed = 0, analysis_failures = 0, analysis_pending = 0;
  std::optional<double> latest_s_eq_J_per_mol_K;
};

class Run {
 public:
  Run(asio::any_io_executor loop, const io::RunClock& clock, RunSetup setup, RunInstruments instruments,
      const documents::Dispatcher& documents, std::shared_ptr<spdlog::logger> logger);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  // Connects, runs the program with its exposures and analysis, secures the stage, waits for the last analysis
  // and returns the stop document it emitted. Never throws: failures end the run as failed.
  awaitable<documents::RunStop> start();

  // The operator's pause and resume (a suspender never resumes a run the operator paused).
  void pause();
  void resume();
  void abort(const std::string& reason);
  // The open exposure runs to its scheduled boundary with the programme going on, then the run is aborted (the stage
  // to its safe state). Without exposures in progress, an abort.
  void stop_after_frame(const std::string& reason);
  // Part of the record could not be written (the run file's writer failed): the run stops, and its stop says so.
  void record_failed(const std::string& reason);

  RunStatus status() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace insitu::program
