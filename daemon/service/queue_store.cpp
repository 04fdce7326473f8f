#include "daemon/service/queue_store.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <SQLiteCpp/VariadicBind.h>
#include <fmt/format.h>

#include "drivers/io/clock.hpp"

namespace insitu::service {
namespace {

namespace fs = std::filesystem;

constexpr int schema_version = 1;
// PRAGMA application_id: tells a queue database from any other SQLite file.
constexpr int application_id = 0x494e5351;  // "INSQ"
constexpr const char* interrupted_reason = "insitud stopped during the run";
constexpr const char* removed_reason = "removed from the queue";

constexpr std::array<std::pair<RunState, std::string_view>, 9> state_names{{
    {RunState::queued, "queued"},
    {RunState::running, "running"},
    {RunState::paused, "paused"},
    {RunState::completed, "completed"},
    {RunState::completed_with_deviations, "completed_with_deviations"},
    {RunState::aborted, "aborted"},
    {RunState::failed, "failed"},
    {RunState::interrupted, "interrupted"},
    {RunState::removed, "removed"},
}};

// The states' names are checked by the schema too, so that a row can only hold one of them.
constexpr const char* schema = R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recipe TEXT NOT NULL,
  sample TEXT NOT NULL,
  treatment TEXT NOT NULL,
  source TEXT NOT NULL,
  recipe_text TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'paused', 'completed', 'completed_with_deviations',
                                       'aborted', 'failed', 'interrupted', 'removed')),
  held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1)),
  position INTEGER CHECK ((state = 'queued') = (position IS NOT NULL)),
  submitted TEXT NOT NULL,
  started TEXT,
  ended TEXT,
  reason TEXT NOT NULL DEFAULT '',
  run_file TEXT
);
CREATE INDEX runs_by_position ON runs (position) WHERE position IS NOT NULL;
CREATE TABLE run_states (
  seq INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs (id),
  state TEXT NOT NULL,
  time TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX run_states_by_run ON run_states (run_id, seq);
)sql";

constexpr const char* run_columns =
    "id, recipe, sample, treatment, source, recipe_text, state, held, position, submitted, started, ended, reason, "
    "run_file";

// SQLite's own errors (I/O, disk full, corruption found late) as QueueError naming the file.
template <typename Body>
decltype(auto) guarded(const fs::path& path, Body&& body) {
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    throw QueueError(fmt::format("queue database {}: {}", path.string(), e.what()));
  }
}

template <typename... Args>
SQLite::Statement statement(const SQLite::Database& db, const char* sql, const Args&... args) {
  SQLite::Statement query(db, sql);
  SQLite::bind(query, args...);
  return query;
}

template <typename... Args>
void execute(SQLite::Database& db, const char* sql, const Args&... args) {
  auto query = statement(db, sql, args...);
  query.exec();
}

std::optional<std::string> optional_text(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getString();
}

Run read_run(const SQLite::Statement& row) {
  Run run;
  run.id = row.getColumn(0).getInt64();
  run.submission = {row.getColumn(1).getString(), row.getColumn(2).getString(), row.getColumn(3).getString(),
                    row.getColumn(4).getString(), row.getColumn(5).getString()};
  run.state = parse_run_state(row.getColumn(6).getString());
  run.held = row.getColumn(7).getInt() != 0;
  if (!row.getColumn(8).isNull()) run.position = row.getColumn(8).getInt64();
  run.submitted = row.getColumn(9).getString();
  run.started = optional_text(row.getColumn(10));
  run.ended = optional_text(row.getColumn(11));
  run.reason = row.getColumn(12).getString();
  run.run_file = optional_text(row.getColumn(13));
  return run;
}

std::vector<StateChange> read_states(SQLite::Statement& query) {
  std::vector<StateChange> states;
  while (query.executeStep()) {
    states.push_back({parse_run_state(query.getColumn(1).getString()), query.getColumn(2).getString(),
                      query.getColumn(3).getString()});
  }
  return states;
}

// running ↔ paused; running or paused → an end state; queued → failed (the run could not start). Starting, holding
// and removing have operations of their own.
bool allowed(RunState from, RunState to) {
  if (to == RunState::queued || to == RunState::removed) return false;
  switch (from) {
    case RunState::queued: return to == RunState::failed;
    case RunState::running: return to != RunState::running;
    case RunState::paused: return to != RunState::paused;
    default: return false;
  }
}

std::int64_t clamp_position(std::int64_t position, std::int64_t last) {
  if (position < 0) throw RequestRefused(400, fmt::format("position must be 0 or more, not {}", position));
  return std::min(position, last);
}

void create_schema(SQLite::Database& db) {
  SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
  db.exec(schema);
  db.exec(fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {};", application_id, schema_version));
  transaction.commit();
}

// Refuses what is not a queue database of a known version; creates the schema in an empty file.
void check_or_create_schema(SQLite::Database& db, const fs::path& path) {
  const int version = db.execAndGet("PRAGMA user_version").getInt();
  const int id = db.execAndGet("PRAGMA application_id").getInt();
  const bool empty = db.execAndGet("SELECT count(*) FROM sqlite_master").getInt() == 0;
  if (empty && version == 0 && id == 0) return create_schema(db);
  if (id != application_id || !db.tableExists("runs") || !db.tableExists("run_states")) {
    throw QueueError(fmt::format("{} is not an insitud queue database", path.string()));
  }
  if (version > schema_version) {
    throw QueueError(fmt::format("{} has queue schema version {}, newer than this insitud's {}", path.string(),
                                 version, schema_version));
  }
}

SQLite::Database open_database(const fs::path& path) {
  return guarded(path, [&] {
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.setBusyTimeout(1000);
    // Checked before anything is written: a corrupt file is refused at start, not found out in the middle of a run.
    if (auto problem = db.execAndGet("PRAGMA quick_check(1)").getString(); problem != "ok") {
      // The first problem found, after its "*** in database main ***" line.
      problem.erase(0, problem.find('\n') + 1);
      throw QueueError(fmt::format("{} is corrupt: {}", path.string(), problem.substr(0, problem.find('\n'))));
    }
    check_or_create_schema(db, path);
    if (const auto mode = db.execAndGet("PRAGMA journal_mode = WAL").getString(); mode != "wal") {
      throw QueueError(fmt::format("{}: journal mode {} instead of wal", path.string(), mode));
    }
    // A commit is on the disk before the call returns: a power cut loses no submitted run and no state change.
    db.exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
    return db;
  });
}

}  // namespace

std::string_view to_string(RunState state) {
  for (const auto& [value, name] : state_names) {
    if (value == state) return name;
  }
  throw std::invalid_argument(fmt::format("no run state {}", static_cast<int>(state)));
}

RunState parse_run_state(std::string_view name) {
  for (const auto& [value, known] : state_names) {
    if (known == name) return value;
  }
  throw std::invalid_argument(fmt::format("unknown run state \"{}\"", name));
}

bool is_final(RunState state) {
  return state != RunState::queued && state != RunState::running && state != RunState::paused;
}

QueueStore::QueueStore(const fs::path& path, Clock clock)
    : path_(path), clock_(std::move(clock)), db_(open_database(path)) {}

RunId QueueStore::submit(const SubmittedRun& run, std::optional<std::int64_t> position) {
  return guarded(path_, [&] {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    const auto count = queued_count();
    const auto place = position ? clamp_position(*position, count) : count;
    shift_positions(place, +1);
    const auto now = io::iso8601_utc(clock_());
    execute(db_,
            "INSERT INTO runs (recipe, sample, treatment, source, recipe_text, state, position, submitted) "
            "VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
            run.recipe, run.sample, run.treatment, run.source, run.recipe_text, place, now);
    const RunId id = db_.getLastInsertRowid();
    append_state(id, RunState::queued, now, "");
    transaction.commit();
    return id;
  });
}

Run QueueStore::run(RunId id) const {
  return guarded(path_, [&] { return require(id); });
}

std::vector<Run> QueueStore::list_queue() const {
  return guarded(path_, [&] {
    return select_runs("WHERE state IN ('running', 'paused', 'queued') ORDER BY position IS NOT NULL, position, id");
  });
}

std::optional<Run> QueueStore::next_runnable() const {
  return guarded(path_, [&]() -> std::optional<Run> {
    auto runs = select_runs("WHERE state = 'queued' AND held = 0 ORDER BY position LIMIT 1");
    if (runs.empty()) return std::nullopt;
    return runs.front();
  });
}

Run QueueStore::move(RunId id, std::int64_t position) {
  return guarded(path_, [&] {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    const auto current = *require_queued(id, "moved").position;
    const auto target = clamp_position(position, queued_count() - 1);
    // Out of the order while the others close its gap and open the new one.
    execute(db_, "UPDATE runs SET position = -1 WHERE id = ?", id);
    shift_positions(current + 1, -1);
    shift_positions(target, +1);
    execute(db_, "UPDATE runs SET position = ? WHERE id = ?", target, id);
    transaction.commit();
    return require(id);
  });
}

Run QueueStore::hold(RunId id) {
  return guarded(path_, [&] {
    set_held(id, true, "held");
    return require(id);
  });
}

Run QueueStore::release(RunId id) {
  return guarded(path_, [&] {
    set_held(id, false, "released");
    return require(id);
  });
}

Run QueueStore::remove(RunId id) {
  return guarded(path_, [&] {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    const auto position = *require_queued(id, "removed").position;
    const auto now = io::iso8601_utc(clock_());
    execute(db_, "UPDATE runs SET state = 'removed', position = NULL, ended = ?, reason = ? WHERE id = ?", now,
            removed_reason, id);
    shift_positions(position + 1, -1);
    append_state(id, RunState::removed, now, removed_reason);
    transaction.commit();
    return require(id);
  });
}

Run QueueStore::mark_started(RunId id, TimePoint time) {
  return guarded(path_, [&] {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    const auto run = require_queued(id, "started");
    if (run.held) throw QueueConflict(fmt::format("run {} is held: release it before it can start", id));
    auto busy = statement(db_, "SELECT id, state FROM runs WHERE state IN ('running', 'paused') LIMIT 1");
    if (busy.executeStep()) {
      throw QueueConflict(fmt::format("run {} cannot start: run {} is {}", id, busy.getColumn(0).getInt64(),
                                      busy.getColumn(1).getString()));
    }
    const auto started = io::iso8601_utc(time);
    execute(db_, "UPDATE runs SET state = 'running', position = NULL, started = ?, reason = '' WHERE id = ?",
            started, id);
    shift_positions(*run.position + 1, -1);
    append_state(id, RunState::running, started, "");
    transaction.commit();
    return require(id);
  });
}

Run QueueStore::mark_state(RunId id, RunState state, TimePoint time, const std::string& reason) {
  return guarded(path_, [&] {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    const auto run = require(id);
    if (!allowed(run.state, state)) {
      throw QueueConflict(fmt::format("run {} is {}: it cannot become {}", id, to_string(run.state), to_string(state)));
    }
    const auto when = io::iso8601_utc(time);
    const auto name = std::string(to_string(state));
    execute(db_,
            "UPDATE runs SET state = ?, position = NULL, reason = ?, ended = CASE WHEN ? THEN ? ELSE ended END "
            "WHERE id = ?",
            name, reason, static_cast<int>(is_final(state)), when, id);
    if (run.position) shift_positions(*run.position + 1, -1);
    append_state(id, state, when, reason);
    transaction.commit();
    return require(id);
  });
}

void QueueStore::set_run_file(RunId id, const std::string& relative_path) {
  guarded(path_, [&] {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    if (const auto run = require(id); !run.started) {
      throw QueueConflict(fmt::format("run {} is {}: it has not started, so it has no run file", id,
                                      to_string(run.state)));
    }
    execute(db_, "UPDATE runs SET run_file = ? WHERE id = ?", relative_path, id);
    transaction.commit();
  });
}

Run QueueStore::mark_resumed(RunId id, TimePoint time, const std::string& reason) {
  return guarded(path_, [&] {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    if (const auto run = require(id); run.state != RunState::interrupted)
      throw QueueConflict(fmt::format("run {} is {}: only an interrupted run can be resumed", id, to_string(run.state)));
    if (!select_runs("WHERE state IN ('running', 'paused')").empty())
      throw QueueConflict(fmt::format("run {} cannot be resumed while another run is running", id));
    const auto when = io::iso8601_utc(time);
    execute(db_, "UPDATE runs SET state = 'running', ended = NULL, reason = ? WHERE id = ?", reason, id);
    append_state(id, RunState::running, when, reason);
    transaction.commit();
    return require(id);
  });
}

std::vector<RunId> QueueStore::recover_after_restart(TimePoint time) {
  return guarded(path_, [&] {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    std::vector<RunId> interrupted;
    for (const auto& run : select_runs("WHERE state IN ('running', 'paused') ORDER BY id")) {
      interrupted.push_back(run.id);
    }
    const auto when = io::iso8601_utc(time);
    for (const auto id : interrupted) {
      execute(db_, "UPDATE runs SET state = 'interrupted', ended = ?, reason = ? WHERE id = ?", when,
              interrupted_reason, id);
      append_state(id, RunState::interrupted, when, interrupted_reason);
    }
    transaction.commit();
    return interrupted;
  });
}

std::vector<Run> QueueStore::history() const {
  return guarded(path_, [&] {
    auto runs = select_runs("ORDER BY id");
    auto query = statement(db_, "SELECT run_id, state, time, reason FROM run_states ORDER BY run_id, seq");
    // Both are in id order: walk the runs along the entries.
    auto run = runs.begin();
    while (query.executeStep()) {
      const RunId id = query.getColumn(0).getInt64();
      while (run != runs.end() && run->id < id) ++run;
      if (run == runs.end()) break;
      run->states.push_back({parse_run_state(query.getColumn(1).getString()), query.getColumn(2).getString(),
                             query.getColumn(3).getString()});
    }
    return runs;
  });
}

Run QueueStore::history(RunId id) const {
  return guarded(path_, [&] {
    auto run = require(id);
    auto query = statement(db_, "SELECT run_id, state, time, reason FROM run_states WHERE run_id = ? ORDER BY seq", id);
    run.states = read_states(query);
    return run;
  });
}

Run QueueStore::require(RunId id) const {
  auto query = statement(db_, fmt::format("SELECT {} FROM runs WHERE id = ?", run_columns).c_str(), id);
  if (!query.executeStep()) throw QueueNotFound(fmt::format("no run {}", id));
  return read_run(query);
}

Run QueueStore::require_queued(RunId id, std::string_view action) const {
  auto run = require(id);
  if (run.state != RunState::queued) {
    throw QueueConflict(fmt::format("run {} is {}: only a queued run can be {}", id, to_string(run.state), action));
  }
  return run;
}

std::int64_t QueueStore::queued_count() const {
  auto query = statement(db_, "SELECT count(*) FROM runs WHERE state = 'queued'");
  query.executeStep();
  return query.getColumn(0).getInt64();
}

// Every queued run at `from` or after moves by `by` places.
void QueueStore::shift_positions(std::int64_t from, std::int64_t by) {
  execute(db_, "UPDATE runs SET position = position + ? WHERE state = 'queued' AND position >= ?", by, from);
}

void QueueStore::append_state(RunId id, RunState state, const std::string& time, const std::string& reason) {
  execute(db_, "INSERT INTO run_states (run_id, state, time, reason) VALUES (?, ?, ?, ?)", id,
          std::string(to_string(state)), time, reason);
}

void QueueStore::set_held(RunId id, bool held, const std::string& entry_reason) {
  SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
  if (require_queued(id, entry_reason).held == held) return;  // already so: no entry
  execute(db_, "UPDATE runs SET held = ? WHERE id = ?", static_cast<int>(held), id);
  append_state(id, RunState::queued, io::iso8601_utc(clock_()), entry_reason);
  transaction.commit();
}

std::vector<Run> QueueStore::select_runs(const std::string& condition_and_order) const {
  auto query = SQLite::Statement(db_, fmt::format("SELECT {} FROM runs {}", run_columns, condition_and_order));
  std::vector<Run> runs;
  while (query.executeStep()) runs.push_back(read_run(query));
  return runs;
}

}  // namespace insitu::service
