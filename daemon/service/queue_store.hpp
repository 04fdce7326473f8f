#pragma once
// The queue of insitud, in one SQLite file (STATE_DIR/queue.sqlite): the runs as submitted (recipe text included),
// their places in the queue and every state change they went through. Pure storage: what a recipe says, when a run
// starts and what the API answers are the service's. Used on the loop thread only.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "daemon/service/control.hpp"

namespace insitu::service {

enum class RunState {
  queued,
  running,
  paused,
  completed,
  completed_with_deviations,
  aborted,
  failed,
  interrupted,  // insitud stopped while the run was running or paused
  removed,      // taken out of the queue before it started; kept in the history
};

std::string_view to_string(RunState state);
// The state named `name` (as to_string writes it); std::invalid_argument for anything else.
RunState parse_run_state(std::string_view name);
// A run in a final state will not change again.
bool is_final(RunState state);

// The file cannot be opened, is not a queue database, is of a newer schema, is corrupt, or an operation on it failed
// (disk full, I/O). One line that names the file.
class QueueError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Refusals carry the status the API answers with, so that the service can let them through.
class QueueNotFound : public RequestRefused {
 public:
  explicit QueueNotFound(const std::string& reason) : RequestRefused(404, reason) {}
};
class QueueConflict : public RequestRefused {  // the run's state does not allow the operation
 public:
  explicit QueueConflict(const std::string& reason) : RequestRefused(409, reason) {}
};

struct SubmittedRun {
  std::string recipe;  // the recipe's name
  std::string sample;
  std::string treatment;    // the sample's treatment
  std::string source;       // the recipe's path relative to the recipes root, or "text"
  std::string recipe_text;  // as submitted: a later edit of the file does not change what was queued
};

// One entry of a run's history. Holding and releasing a queued run are entries too: state queued, reason "held" or
// "released", so that the history says why a run waited while the states stay those of the API.
struct StateChange {
  RunState state = RunState::queued;
  std::string time;  // ISO 8601 UTC with milliseconds
  std::string reason;
};

struct Run {
  RunId id = 0;
  SubmittedRun submission;
  RunState state = RunState::queued;
  bool held = false;
  std::optional<std::int64_t> position;  // among the queued runs, 0 = next; none once the run left the queue
  std::string submitted;                 // times: ISO 8601 UTC with milliseconds
  std::optional<std::string> started;
  std::optional<std::string> ended;
  std::string reason;                    // of the latest state change ("" when none was given)
  std::optional<std::string> run_file;   // relative to the data root
  std::vector<StateChange> states;       // oldest first; filled by history() only
};

class QueueStore {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  using Clock = std::function<TimePoint()>;

  // Opens `path`, creating it (and its schema) when absent or empty. QueueError when the file is not a queue
  // database, is corrupt, or was written by a newer insitud. `clock` times the queue edits (submit, hold, release,
  // remove); a run's own state changes are timed by the caller, from the run.
  explicit QueueStore(const std::filesystem::path& path, Clock clock = std::chrono::system_clock::now);

  const std::filesystem::path& path() const { return path_; }

  // Queues a run at `position` (0 = next; beyond the end or none: last) and returns its id (never reused).
  RunId submit(const SubmittedRun& run, std::optional<std::int64_t> position = std::nullopt);

  Run run(RunId id) const;             // QueueNotFound when unknown
  std::vector<Run> list_queue() const; // running or paused run first, then the queued ones (held too) in order
  std::optional<Run> next_runnable() const;  // the first queued run that is not held

  // On queued runs only (QueueConflict otherwise). Positions stay 0..n-1 among the queued runs.
  Run move(RunId id, std::int64_t position);  // beyond the end: last
  Run hold(RunId id);                         // a held run keeps its place but is not started
  Run release(RunId id);
  Run remove(RunId id);  // state removed: out of the queue, kept in the history

  // A queued, not held run becomes running; QueueConflict while another run is running or paused.
  Run mark_started(RunId id, TimePoint time);
  // running ↔ paused, running or paused → an end state (completed … interrupted), queued → failed (it could not
  // start). The run's reason becomes `reason`; an end state sets its end time.
  Run mark_state(RunId id, RunState state, TimePoint time, const std::string& reason);
  void set_run_file(RunId id, const std::string& relative_path);  // on a run that has started

  // An interrupted run taken up again (its recipe's on_interruption: resume) becomes running; its end time is
  // cleared. QueueConflict when it is not interrupted or another run is running or paused.
  Run mark_resumed(RunId id, TimePoint time, const std::string& reason);

  // At service start: every run left running or paused becomes interrupted. Returns their ids.
  std::vector<RunId> recover_after_restart(TimePoint time);

  // Every run ever submitted, oldest first, with its state changes; or one run with them.
  std::vector<Run> history() const;
  Run history(RunId id) const;

 private:
  Run require(RunId id) const;
  Run require_queued(RunId id, std::string_view action) const;
  std::int64_t queued_count() const;
  void shift_positions(std::int64_t from, std::int64_t by);
  void append_state(RunId id, RunState state, const std::string& time, const std::string& reason);
  void set_held(RunId id, bool held, const std::string& entry_reason);
  std::vector<Run> select_runs(const std::string& condition_and_order) const;

  std::filesystem::path path_;
  Clock clock_;
  SQLite::Database db_;
};

}  // namespace insitu::service
