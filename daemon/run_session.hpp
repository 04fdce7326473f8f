#pragma once
// One recipe run on a host: everything `insitu run` and insitud do for a run, from the recipe to the closed run file.
// The constructor prepares what must exist before anything moves (detector side, run directory and log, the
// simulated detector when the host simulates, connections, run file); execute() runs it on the host's loop with
// the run file, the log and any further sinks subscribed to its documents.
#include <spdlog/logger.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/bluesky/document_sink.hpp"
#include "daemon/host.hpp"
#include "daemon/run_journal.hpp"
#include "protocols/recipe/recipe.hpp"
#include "protocols/run/documents.hpp"
#include "protocols/run/run.hpp"

namespace insitu::daemon {

// How a run ended, for a caller's exit code or queue state.
// completed_with_deviations: the program ran, but the stage was off it longer than the recipe allows.
enum class SessionEnd { completed, completed_with_deviations, aborted_or_failed, record_incomplete };

struct SessionSettings {
  std::string recipe_source;                 // the recipe file's absolute path, or where its queued text came from
  std::filesystem::path output;              // the run directory goes under it
  std::optional<std::string> linkam_url;     // overrides the recipe's stage.connection
  // 0: AnalysisPool::default_workers(), every core but one (one on two cores: the other reads, writes, renders)
  std::size_t analysis_workers = 0;
  bool live_status = false;                  // a status line on the terminal
  std::vector<spdlog::sink_ptr> log_sinks;   // besides the run's log file: the console, or the service's log
  bool simulate = false;                     // start the host's simulation (a foreground run's) if not yet started
  SimulationSettings simulation;             // the simulated detector's, when the host simulates
  bluesky::Output bluesky;                   // event-model documents: JSON lines beside the run file, ZeroMQ
};

// The run never started: nothing moved, and no run directory is left. what() is one line (a recipe's may be more).
class SessionNotStarted : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A run whose process died, taken up again in its directory (run.h5 and run.journal there). The caller's run clock
// continues the first part's (io::RunClock's resuming constructor, from the journal).
struct ResumeFrom {
  std::filesystem::path directory;
  JournalState journal;
};

// Closes the file of a run whose process died (its recipe's on_interruption: abort) without resuming it: an event
// says why, and exit_status is "interrupted"; the journal ends. With the run's `recipe`, detector and analysis rows
// the death left torn are cut, as a resume cuts them (null: a recipe no longer readable; the reader's committed
// lengths still hold). Throws std::runtime_error when the file cannot be taken up.
void close_interrupted_run(const std::filesystem::path& directory, const JournalState& journal,
                           const recipe::Recipe* recipe, const std::string& reason);

class RunSession {
 public:
  RunSession(Host& host, const io::RunClock& clock, recipe::Recipe recipe, SessionSettings settings);
  // Resumes the run in `resume.directory`: the run file is appended to (storage::RunFile::reopen), the journal goes
  // on, and the programme continues from the journal's segment as a ramp from the stage's temperature.
  RunSession(Host& host, const io::RunClock& clock, recipe::Recipe recipe, SessionSettings settings,
             ResumeFrom resume);
  ~RunSession();
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  const std::filesystem::path& directory() const;
  const std::filesystem::path& file_path() const;
  std::shared_ptr<spdlog::logger> log() const;
  const recipe::Recipe& recipe() const;
  // The run's analysis grids (Q, reduced Q, r); null when the recipe has no analysis.
  const analysis::AnalysisAxes* analysis_axes() const;

  // A further sink of the run's documents (the API, notifications); before execute().
  void subscribe(documents::Sink sink);
  // The run while execute() runs, for control; null before and after.
  program::Run* run();
  // On the loop: aborts the run, or, before execute() has started it, has it abort as soon as it starts (the stage
  // still secured, the file closed with its exit status). After the run has ended, nothing.
  void abort(const std::string& reason);
  // On the loop: connects, runs the recipe, closes the instruments. Never throws.
  awaitable<SessionEnd> execute();
  const documents::RunStop& stop() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace insitu::daemon
