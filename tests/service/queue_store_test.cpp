// The queue store on real files: order and positions, holds, state history, refusals, persistence across
// connections and processes, and files it must refuse.
#include "daemon/service/queue_store.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/service/run_json.hpp"

namespace insitu::service {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::ElementsAre;
using testing::HasSubstr;

// 2026-12-07T01:02:03.000Z plus `seconds`.
QueueStore::TimePoint at(double seconds) {
  const auto base = std::chrono::sys_days{std::chrono::year{2026} / 12 / 7} + 1h + 2min + 3s;
  return base + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                    std::chrono::duration<double>(seconds));
}

SubmittedRun recipe(const std::string& name) {
  return {name, "Vit105 HPT", "cryo-HPT", "recipes/" + name + ".yaml", "name: " + name + "\nsegments: []\n"};
}

class QueueStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "queue_store_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ / "queue.sqlite";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Queue edits are timed one second apart from at(0) on, whichever store makes them.
  QueueStore open() {
    return QueueStore(path_, [this] { return at(ticks_++); });
  }

  // The queue's ids in order, checking that the queued runs' positions are 0..n-1 in that order.
  static std::vector<RunId> order(const QueueStore& store) {
    std::vector<RunId> ids;
    std::int64_t expected = 0;
    for (const auto& run : store.list_queue()) {
      if (run.state == RunState::queued) {
        EXPECT_EQ(run.position, expected++) << "run " << run.id;
      }
      ids.push_back(run.id);
    }
    return ids;
  }

  static void expect_one_line_naming(const std::exception& error, const fs::path& file) {
    EXPECT_THAT(error.what(), HasSubstr(file.string()));
    EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos) << error.what();
  }

  fs::path dir_;
  fs::path path_;
  int ticks_ = 0;
};

TEST_F(QueueStoreTest, SubmittedRunsAreListedInOrderWithTheirRecipeText) {
  auto store = open();
  const auto a = store.submit(recipe("a"));
  const auto b = store.submit(recipe("b"));
  const auto c = store.submit(recipe("c"), 0);
  const auto d = store.submit(recipe("d"), 99);  // beyond the end: last
  const auto e = store.submit(recipe("e"), 2);
  EXPECT_THAT(order(store), ElementsAre(c, a, e, b, d));

  const auto run = store.run(b);
  EXPECT_EQ(run.submission.recipe, "b");
  EXPECT_EQ(run.submission.sample, "Vit105 HPT");
  EXPECT_EQ(run.submission.treatment, "cryo-HPT");
  EXPECT_EQ(run.submission.source, "recipes/b.yaml");
  EXPECT_EQ(run.submission.recipe_text, "name: b\nsegments: []\n");
  EXPECT_EQ(run.state, RunState::queued);
  EXPECT_FALSE(run.held);
  EXPECT_EQ(run.submitted, "2026-12-07T01:02:04.000Z");
  EXPECT_FALSE(run.started);
  EXPECT_FALSE(run.ended);
  EXPECT_FALSE(run.run_file);
  EXPECT_LT(a, b);
}

TEST_F(QueueStoreTest, MovesKeepPositionsDense) {
  auto store = open();
  std::vector<RunId> ids;
  for (const auto* name : {"a", "b", "c", "d"}) ids.push_back(store.submit(recipe(name)));
  EXPECT_EQ(store.move(ids[3], 0).position, 0);
  EXPECT_THAT(order(store), ElementsAre(ids[3], ids[0], ids[1], ids[2]));
  EXPECT_EQ(store.move(ids[3], 50).position, 3);  // beyond the end: last
  EXPECT_THAT(order(store), ElementsAre(ids[0], ids[1], ids[2], ids[3]));
  store.move(ids[0], 2);
  EXPECT_THAT(order(store), ElementsAre(ids[1], ids[2], ids[0], ids[3]));
  store.move(ids[2], 1);  // to where it is
  EXPECT_THAT(order(store), ElementsAre(ids[1], ids[2], ids[0], ids[3]));
  try {
    store.move(ids[0], -1);
    FAIL() << "a negative position was taken";
  } catch (const RequestRefused& refused) {
    EXPECT_EQ(refused.http_status(), 400);
  }
}

TEST_F(QueueStoreTest, HeldRunsKeepTheirPlaceButAreNotRunnable) {
  auto store = open();
  const auto a = store.submit(recipe("a"));
  const auto b = store.submit(recipe("b"));
  EXPECT_TRUE(store.hold(a).held);
  EXPECT_TRUE(store.hold(a).held);  // already held: nothing changes
  EXPECT_THAT(order(store), ElementsAre(a, b));
  EXPECT_TRUE(store.list_queue().front().held);
  EXPECT_EQ(store.next_runnable()->id, b);
  store.hold(b);
  EXPECT_FALSE(store.next_runnable());
  EXPECT_FALSE(store.release(a).held);
  EXPECT_EQ(store.next_runnable()->id, a);
  try {
    store.mark_started(b, at(100));
    FAIL() << "a held run started";
  } catch (const QueueConflict& conflict) {
    EXPECT_THAT(conflict.what(), HasSubstr("held"));
  }
}

TEST_F(QueueStoreTest, RemovedRunsLeaveTheQueueButStayInTheHistory) {
  auto store = open();
  const auto a = store.submit(recipe("a"));
  const auto b = store.submit(recipe("b"));
  const auto c = store.submit(recipe("c"));
  store.hold(b);
  const auto removed = store.remove(b);
  EXPECT_EQ(removed.state, RunState::removed);
  EXPECT_FALSE(removed.position);
  EXPECT_EQ(removed.ended, "2026-12-07T01:02:07.000Z");
  EXPECT_THAT(order(store), ElementsAre(a, c));

  const auto history = store.history();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].id, b);
  ASSERT_EQ(history[1].states.size(), 3u);
  EXPECT_EQ(history[1].states[1].reason, "held");
  EXPECT_EQ(history[1].states[2].state, RunState::removed);
  EXPECT_EQ(history[1].states[2].time, "2026-12-07T01:02:07.000Z");
  EXPECT_EQ(history[0].states.size(), 1u);
  EXPECT_EQ(history[2].states.size(), 1u);
}

TEST_F(QueueStoreTest, EveryStateChangeIsInTheHistoryWithItsTime) {
  auto store = open();
  const auto first = store.submit(recipe("first"));
  const auto second = store.submit(recipe("second"));
  store.hold(first);
  store.release(first);
  EXPECT_EQ(store.mark_started(first, at(10)).position, std::nullopt);
  EXPECT_EQ(store.run(second).position, 0);
  store.mark_state(first, RunState::paused, at(20.25), "operator");
  EXPECT_THAT(order(store), ElementsAre(first, second));
  store.mark_state(first, RunState::running, at(30), "");
  const auto ended = store.mark_state(first, RunState::completed_with_deviations, at(40), "2 frames missing");
  EXPECT_EQ(ended.started, "2026-12-07T01:02:13.000Z");
  EXPECT_EQ(ended.ended, "2026-12-07T01:02:43.000Z");
  EXPECT_EQ(ended.reason, "2 frames missing");
  EXPECT_THAT(order(store), ElementsAre(second));

  std::vector<std::string> entries;
  for (const auto& change : store.history(first).states) {
    entries.push_back(std::string(to_string(change.state)) + " " + change.time + " " + change.reason);
  }
  EXPECT_THAT(entries, ElementsAre("queued 2026-12-07T01:02:03.000Z ", "queued 2026-12-07T01:02:05.000Z held",
                                   "queued 2026-12-07T01:02:06.000Z released", "running 2026-12-07T01:02:13.000Z ",
                                   "paused 2026-12-07T01:02:23.250Z operator", "running 2026-12-07T01:02:33.000Z ",
                                   "completed_with_deviations 2026-12-07T01:02:43.000Z 2 frames missing"));
}

TEST_F(QueueStoreTest, OperationsOnARunInTheWrongStateAreConflicts) {
  auto store = open();
  const auto running = store.submit(recipe("running"));
  const auto queued = store.submit(recipe("queued"));
  store.mark_started(running, at(1));
  const auto expect_conflict = [&](auto operation, const std::string& reason) {
    try {
      operation();
      ADD_FAILURE() << "no conflict: " << reason;
    } catch (const QueueConflict& conflict) {
      EXPECT_EQ(conflict.http_status(), 409);
      EXPECT_THAT(conflict.what(), HasSubstr(reason));
      EXPECT_EQ(std::string(conflict.what()).find('\n'), std::string::npos) << conflict.what();
    }
  };
  expect_conflict([&] { store.move(running, 1); }, "is running: only a queued run can be moved");
  expect_conflict([&] { store.hold(running); }, "only a queued run can be held");
  expect_conflict([&] { store.release(running); }, "only a queued run can be released");
  expect_conflict([&] { store.remove(running); }, "only a queued run can be removed");
  expect_conflict([&] { store.mark_started(queued, at(2)); }, "cannot start: run 1 is running");
  expect_conflict([&] { store.mark_state(queued, RunState::paused, at(2), ""); }, "cannot become paused");
  expect_conflict([&] { store.set_run_file(queued, "x.h5"); }, "has not started");
  store.mark_state(running, RunState::aborted, at(3), "operator");
  expect_conflict([&] { store.mark_state(running, RunState::running, at(4), ""); }, "is aborted");
  expect_conflict([&] { store.remove(running); }, "is aborted");
  expect_conflict([&] { store.mark_started(running, at(4)); }, "is aborted");
  // A queued run that cannot start fails without having run.
  EXPECT_EQ(store.mark_state(queued, RunState::failed, at(5), "stage not found").state, RunState::failed);
  EXPECT_TRUE(store.list_queue().empty());
}

TEST_F(QueueStoreTest, UnknownRunsAreNotFound) {
  auto store = open();
  store.submit(recipe("a"));
  const std::vector<std::function<void()>> operations{
      [&] { store.run(7); },
      [&] { store.move(7, 0); },
      [&] { store.hold(7); },
      [&] { store.release(7); },
      [&] { store.remove(7); },
      [&] { store.mark_started(7, at(1)); },
      [&] { store.mark_state(7, RunState::paused, at(1), ""); },
      [&] { store.set_run_file(7, "x.h5"); },
      [&] { store.history(7); },
  };
  for (const auto& operation : operations) {
    try {
      operation();
      ADD_FAILURE() << "run 7 was found";
    } catch (const QueueNotFound& missing) {
      EXPECT_EQ(missing.http_status(), 404);
      EXPECT_STREQ(missing.what(), "no run 7");
    }
  }
}

TEST_F(QueueStoreTest, ASecondStoreOnTheFileSeesEverything) {
  nlohmann::json before;
  {
    auto store = open();
    const auto a = store.submit(recipe("a"));
    store.submit(recipe("b"));
    store.hold(store.submit(recipe("c")));
    store.mark_started(a, at(10));
    store.set_run_file(a, "2026/12/07/run-1.h5");
    store.mark_state(a, RunState::completed, at(20), "");
    const auto d = store.submit(recipe("d"), 0);
    for (const auto& run : store.history()) before.push_back(run_history_json(run));

    auto reader = open();  // while the first is still open
    EXPECT_EQ(reader.run(d).position, 0);
  }
  auto store = open();
  nlohmann::json after;
  for (const auto& run : store.history()) after.push_back(run_history_json(run));
  EXPECT_EQ(after, before);
  EXPECT_EQ(store.run(1).run_file, "2026/12/07/run-1.h5");
  EXPECT_GT(store.submit(recipe("e")), 4);
}

TEST_F(QueueStoreTest, RunsLeftRunningOrPausedAreInterruptedAtRestart) {
  {
    auto store = open();
    const auto paused = store.submit(recipe("paused"));
    store.submit(recipe("waiting"));
    store.mark_started(paused, at(1));
    store.mark_state(paused, RunState::paused, at(2), "operator");
  }
  {
    auto store = open();
    EXPECT_THAT(store.recover_after_restart(at(100)), ElementsAre(1));
    const auto interrupted = store.history(1);
    EXPECT_EQ(interrupted.state, RunState::interrupted);
    EXPECT_EQ(interrupted.reason, "insitud stopped during the run");
    EXPECT_EQ(interrupted.ended, "2026-12-07T01:03:43.000Z");
    EXPECT_EQ(interrupted.states.back().state, RunState::interrupted);
    store.mark_started(2, at(200));
  }
  auto store = open();
  EXPECT_THAT(store.recover_after_restart(at(300)), ElementsAre(2));
  EXPECT_EQ(store.run(2).state, RunState::interrupted);
  EXPECT_TRUE(store.recover_after_restart(at(400)).empty());
}

TEST_F(QueueStoreTest, RunJsonHasTheApiShape) {
  auto store = open();
  const auto id = store.submit({"cryo-ramp", "Vit105 HPT", "cryo-HPT", "recipes/cryo.yaml", "name: cryo-ramp\n"});
  EXPECT_EQ(run_json(store.run(id)), nlohmann::json::parse(R"({
      "id": 1, "recipe": "cryo-ramp", "sample": "Vit105 HPT", "treatment": "cryo-HPT", "state": "queued",
      "held": false, "position": 0, "source": "recipes/cryo.yaml", "submitted": "2026-12-07T01:02:03.000Z",
      "started": null, "ended": null, "reason": "", "run_file": null})"));

  store.mark_started(id, at(10));
  store.set_run_file(id, "run-1.h5");
  store.mark_state(id, RunState::failed, at(11), "stage fault");
  EXPECT_EQ(run_history_json(store.history(id)), nlohmann::json::parse(R"({
      "id": 1, "recipe": "cryo-ramp", "sample": "Vit105 HPT", "treatment": "cryo-HPT", "state": "failed",
      "held": false, "position": null, "source": "recipes/cryo.yaml", "submitted": "2026-12-07T01:02:03.000Z",
      "started": "2026-12-07T01:02:13.000Z", "ended": "2026-12-07T01:02:14.000Z", "reason": "stage fault",
      "run_file": "run-1.h5",
      "states": [{"state": "queued", "time": "2026-12-07T01:02:03.000Z", "reason": ""},
                 {"state": "running", "time": "2026-12-07T01:02:13.000Z", "reason": ""},
                 {"state": "failed", "time": "2026-12-07T01:02:14.000Z", "reason": "stage fault"}]})"));
}

TEST_F(QueueStoreTest, RunStatesRoundTripThroughTheirNames) {
  for (const auto state : {RunState::queued, RunState::running, RunState::paused, RunState::completed,
                           RunState::completed_with_deviations, RunState::aborted, RunState::failed,
                           RunState::interrupted, RunState::removed}) {
    EXPECT_EQ(parse_run_state(to_string(state)), state);
  }
  EXPECT_THROW(parse_run_state("done"), std::invalid_argument);
  EXPECT_FALSE(is_final(RunState::paused));
  EXPECT_TRUE(is_final(RunState::removed));
}

TEST_F(QueueStoreTest, AFileThatIsNotADatabaseIsRefused) {
  std::ofstream(path_) << "recipes:\n  - cryo.yaml\n" << std::string(5000, 'x');
  try {
    open();
    FAIL() << "a text file was opened as a queue";
  } catch (const QueueError& error) {
    expect_one_line_naming(error, path_);
  }
}

TEST_F(QueueStoreTest, AnotherApplicationsDatabaseIsRefused) {
  SQLite::Database(path_.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE).exec("CREATE TABLE runs (x)");
  try {
    open();
    FAIL() << "another database was opened as a queue";
  } catch (const QueueError& error) {
    EXPECT_THAT(error.what(), HasSubstr("is not an insitud queue database"));
    expect_one_line_naming(error, path_);
  }
}

TEST_F(QueueStoreTest, ACorruptQueueIsRefused) {
  {
    auto store = open();
    for (int i = 0; i < 50; ++i) store.submit(recipe(std::string(200, static_cast<char>('a' + i % 26))));
  }
  // Garbage over the tables' pages, past the file header.
  std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(4096 + 100);
  file << std::string(3 * 4096, '\xa5');
  file.close();
  try {
    open();
    FAIL() << "a corrupt queue was opened";
  } catch (const QueueError& error) {
    expect_one_line_naming(error, path_);
  }
}

TEST_F(QueueStoreTest, ANewerSchemaIsRefused) {
  open().submit(recipe("a"));
  SQLite::Database(path_.string(), SQLite::OPEN_READWRITE).exec("PRAGMA user_version = 2");
  try {
    open();
    FAIL() << "a newer schema was opened";
  } catch (const QueueError& error) {
    EXPECT_THAT(error.what(), HasSubstr("schema version 2, newer than this insitud's 1"));
    expect_one_line_naming(error, path_);
  }
}

TEST_F(QueueStoreTest, ASubmittedRunSurvivesAProcessThatNeverClosedTheFile) {
  open();  // the schema exists; the child only adds to it
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      auto store = QueueStore(path_);
      store.submit(recipe("crash"));
      store.mark_started(1, at(5));
      _exit(0);  // no destructor: the connection is never closed, the WAL never checkpointed
    } catch (...) {
      _exit(1);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_GT(fs::file_size(path_.string() + "-wal"), 0u);
  EXPECT_EQ(SQLite::Database(path_.string()).execAndGet("PRAGMA journal_mode").getString(), "wal");

  auto store = open();
  const auto run = store.run(1);
  EXPECT_EQ(run.submission.recipe, "crash");
  EXPECT_EQ(run.state, RunState::running);
  EXPECT_THAT(store.recover_after_restart(at(6)), ElementsAre(1));
}

}  // namespace
}  // namespace insitu::service
