// Folder watcher on real temp folders, with an accelerated run clock (50x: a 0.5 s poll is 10 ms of wall).
#include "drivers/io/folder_watcher.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <fstream>
#include <functional>
#include <random>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace insitu::io {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

void append_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

std::set<std::string> names(const std::vector<WatchedFile>& files) {
  std::set<std::string> out;
  for (const auto& f : files) out.insert(f.path.filename().string());
  return out;
}

class FolderWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = fs::temp_directory_path() / ("insitu-folder-watch-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(rd()));
    fs::create_directories(watched());
    fs::create_directories(outside());
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path watched() const { return root_ / "watched"; }
  fs::path outside() const { return root_ / "outside"; }

  FolderWatchSettings settings() const {
    FolderWatchSettings s;
    s.folder = watched();
    s.poll_interval_s = 0.5;
    return s;
  }

  // Runs `scenario`, then lets the watcher run `settle_s` more run seconds (many polls, so a duplicate
  // delivery would show), stops it and returns everything it delivered.
  std::vector<WatchedFile> run(FolderWatcher& watcher, std::function<awaitable<void>()> scenario,
                               double settle_s = 3.0) {
    std::vector<WatchedFile> got;
    std::exception_ptr failure;
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          while (auto file = co_await watcher.next()) got.push_back(*file);
        },
        [&](std::exception_ptr e) {
          if (e) failure = e;
        });
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          co_await scenario();
          co_await clock_.sleep_for(settle_s);
          watcher.stop();
        },
        [&](std::exception_ptr e) {
          if (e) {
            failure = e;
            watcher.stop();
          }
        });
    io_.run();
    io_.restart();
    if (failure) std::rethrow_exception(failure);
    return got;
  }

  asio::io_context io_;
  asio::thread_pool files_{1};  // listings, validators and fingerprints, off the loop as in a run
  RunClock clock_{50.0};
  fs::path root_;
};

TEST_F(FolderWatcherTest, FileWrittenInOneGoIsDeliveredOnce) {
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, settings());
  double written_s = 0;
  auto got = run(watcher, [&]() -> awaitable<void> {
    co_await clock_.sleep_for(0.3);
    write_file(watched() / "frame-00001.tif", std::string(5000, 'x'));
    written_s = clock_.now_s();
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, watched() / "frame-00001.tif");
  EXPECT_EQ(got[0].size_bytes, 5000u);
  EXPECT_EQ(got[0].verdict, FileVerdict::complete);
  EXPECT_EQ(got[0].completed_by, Completion::stable_polls);
  EXPECT_EQ(got[0].fingerprint_sha256, edge_sha256(watched() / "frame-00001.tif"));
  EXPECT_EQ(got[0].mtime, fs::last_write_time(watched() / "frame-00001.tif"));
  EXPECT_LE(got[0].first_seen_s, got[0].ready_s);
  // Two unchanged polls after the write: at least one poll interval, and well before the settle time ends.
  EXPECT_GE(got[0].ready_s - written_s, 0.5);
  EXPECT_LT(got[0].ready_s - written_s, 2.5);
  if (watcher.mode() == WatchMode::inotify_and_poll) {
    EXPECT_EQ(got[0].detected_by, Detection::inotify);
  }
}

TEST_F(FolderWatcherTest, GrowingFileIsDeliveredOnlyAfterItStopsGrowing) {
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, settings());
  double last_write_s = 0;
  const auto path = watched() / "export.txt";
  auto got = run(watcher, [&]() -> awaitable<void> {
    // Each piece opens, appends and closes (an IN_CLOSE_WRITE each time), faster than the poll.
    for (int piece = 0; piece < 10; ++piece) {
      append_file(path, std::string(1000, char('a' + piece)));
      last_write_s = clock_.now_s();
      co_await clock_.sleep_for(0.2);
    }
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].size_bytes, 10000u);
  EXPECT_LT(got[0].first_seen_s, last_write_s);  // it was seen while growing ...
  EXPECT_GE(got[0].ready_s, last_write_s + 0.5);  // ... and declared complete only after two still polls
  EXPECT_EQ(got[0].verdict, FileVerdict::complete);
}

TEST_F(FolderWatcherTest, SidecarCompletesTheFileAtOnceAndIsNotDeliveredItself) {
  auto s = settings();
  s.stable_polls = 1000;  // stability alone never completes a file here
  s.sidecar_suffix = ".metadata";
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  double sidecar_s = 0;
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "a-00001.tif", std::string(3000, 'a'));
    write_file(watched() / "a-00002.tif", std::string(3000, 'b'));  // no sidecar: stays pending
    co_await clock_.sleep_for(1.5);
    write_file(watched() / "a-00001.tif.metadata", "[metadata]\nexposureTime=12\n");
    sidecar_s = clock_.now_s();
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path.filename(), "a-00001.tif");
  EXPECT_EQ(got[0].completed_by, Completion::sidecar);
  EXPECT_GE(got[0].ready_s, sidecar_s);
  EXPECT_LT(got[0].ready_s, sidecar_s + 1.0);  // at the latest the next poll
}

TEST_F(FolderWatcherTest, ValidatorNotYetKeepsTheFilePendingUntilItSaysComplete) {
  auto s = settings();
  bool parsable = false;
  int calls = 0;
  s.validator = [&](const fs::path&) {
    ++calls;
    return parsable ? ReadyCheck::complete() : ReadyCheck::not_yet("TIFF strip 0 truncated");
  };
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  double parsable_s = 0;
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "f.tif", std::string(2000, 'f'));
    co_await clock_.sleep_for(3.0);  // stable after ~1 s, yet the validator refuses for 2 s more
    parsable = true;
    parsable_s = clock_.now_s();
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].verdict, FileVerdict::complete);
  EXPECT_GE(got[0].ready_s, parsable_s);
  EXPECT_GE(calls, 3);
}

// A share that stops answering holds the file-work thread, never the loop: while the validator hangs, the run's timers
// keep their time, and the file is delivered once it answers.
TEST_F(FolderWatcherTest, AValidatorThatHangsHoldsTheFileWorkThreadNotTheLoop) {
  using std::chrono::steady_clock;
  std::promise<void> answer;
  const std::shared_future<void> answered = answer.get_future().share();
  std::atomic<steady_clock::rep> asked_at{0};
  std::atomic<bool> returned{false};
  auto s = settings();
  s.validator = [&, answered](const fs::path&) {
    asked_at = steady_clock::now().time_since_epoch().count();
    answered.wait_for(std::chrono::seconds(5));
    returned = true;
    return ReadyCheck::complete();
  };
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  steady_clock::duration noticed_after{}, longest_tick{};
  bool hanging_throughout = false;
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "frame-00001.tif", "data");
    while (asked_at == 0) co_await clock_.sleep_for(0.05);
    noticed_after = steady_clock::now() - steady_clock::time_point(steady_clock::duration(asked_at.load()));
    for (int i = 0; i < 50; ++i) {
      const auto t0 = steady_clock::now();
      co_await clock_.sleep_for(0.1);
      longest_tick = std::max(longest_tick, steady_clock::now() - t0);
    }
    hanging_throughout = !returned;
    answer.set_value();
  });
  EXPECT_TRUE(hanging_throughout);
  EXPECT_LT(noticed_after, std::chrono::milliseconds(500));
  EXPECT_LT(longest_tick, std::chrono::milliseconds(500));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].verdict, FileVerdict::complete);
}

TEST_F(FolderWatcherTest, CorruptVerdictIsDeliveredOnceWithTheReason) {
  auto s = settings();
  int calls = 0;
  s.validator = [&](const fs::path&) {
    ++calls;
    return ReadyCheck::corrupt("bad TIFF magic at byte 0");
  };
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "broken.tif", "not a tiff");
    co_return;
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].verdict, FileVerdict::corrupt);
  EXPECT_EQ(got[0].reason, "bad TIFF magic at byte 0");
  EXPECT_EQ(calls, 1);  // settled: not re-validated on every later poll
}

TEST_F(FolderWatcherTest, ValidatorExceptionCountsAsCorrupt) {
  auto s = settings();
  s.validator = [](const fs::path& p) -> ReadyCheck { throw std::runtime_error("cannot parse " + p.string()); };
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "x.tif", "x");
    co_return;
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].verdict, FileVerdict::corrupt);
  EXPECT_THAT(got[0].reason, HasSubstr("validator threw: cannot parse"));
}

TEST_F(FolderWatcherTest, RenameIntoTheFolderIsDeliveredThroughInotify) {
  auto s = settings();
  s.stable_polls = 1000;  // only the rename can complete it
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  if (watcher.mode() != WatchMode::inotify_and_poll) GTEST_SKIP() << "no inotify here: " << watcher.mode_note();
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(outside() / "tmp-export.txt", std::string(4000, 'r'));
    co_await clock_.sleep_for(0.3);
    fs::rename(outside() / "tmp-export.txt", watched() / "export-1.txt");
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path.filename(), "export-1.txt");
  // A poll may see the file before the inotify event is read (a loaded machine); only the rename completes it.
  EXPECT_EQ(got[0].completed_by, Completion::rename);
  EXPECT_EQ(got[0].size_bytes, 4000u);
}

TEST_F(FolderWatcherTest, PollingOnlyDeliversTheSameSetAsInotify) {
  std::map<bool, std::vector<WatchedFile>> by_mode;
  for (bool use_inotify : {true, false}) {
    for (const auto& e : fs::directory_iterator(watched())) fs::remove(e.path());
    auto s = settings();
    s.filter = "*.tif";
    s.use_inotify = use_inotify;
    FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
    if (!use_inotify) {
      EXPECT_EQ(watcher.mode(), WatchMode::poll_only);
      EXPECT_THAT(watcher.mode_note(), HasSubstr("disabled"));
    }
    by_mode[use_inotify] = run(watcher, [&]() -> awaitable<void> {
      write_file(watched() / "one-shot.tif", std::string(1000, '1'));
      write_file(watched() / "skipped.txt", "not a frame");
      write_file(outside() / "moved.tif", std::string(700, 'm'));
      fs::rename(outside() / "moved.tif", watched() / "moved.tif");
      for (int piece = 0; piece < 5; ++piece) {
        append_file(watched() / "growing.tif", std::string(500, 'g'));
        co_await clock_.sleep_for(0.2);
      }
    });
  }
  const std::set<std::string> expected{"one-shot.tif", "moved.tif", "growing.tif"};
  EXPECT_EQ(names(by_mode[true]), expected);
  EXPECT_EQ(names(by_mode[false]), expected);
  EXPECT_EQ(by_mode[true].size(), 3u);
  ASSERT_EQ(by_mode[false].size(), 3u);
  for (const auto& f : by_mode[false]) {
    EXPECT_EQ(f.detected_by, Detection::poll) << f.path;
    EXPECT_EQ(f.completed_by, Completion::stable_polls) << f.path;
    if (f.path.filename() == "growing.tif") {
      EXPECT_EQ(f.size_bytes, 2500u);
    }
  }
}

TEST_F(FolderWatcherTest, ExistingFilesAreIgnoredByDefaultUnlessTheyChange) {
  write_file(watched() / "old.tif", "old");
  write_file(watched() / "touched.tif", "before");
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, settings());
  auto got = run(watcher, [&]() -> awaitable<void> {
    co_await clock_.sleep_for(1.5);  // several polls over the untouched baseline
    write_file(watched() / "new.tif", "new");
    append_file(watched() / "touched.tif", " and after");
  });
  EXPECT_EQ(names(got), (std::set<std::string>{"new.tif", "touched.tif"}));
  EXPECT_EQ(got.size(), 2u);
}

TEST_F(FolderWatcherTest, ExistingFilesAreDeliveredWithIncludeExisting) {
  write_file(watched() / "old-1.tif", "old one");
  write_file(watched() / "old-2.tif", "old two");
  auto s = settings();
  s.include_existing = true;
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "new.tif", "new");
    co_return;
  });
  EXPECT_EQ(names(got), (std::set<std::string>{"old-1.tif", "old-2.tif", "new.tif"}));
  ASSERT_EQ(got.size(), 3u);
  for (const auto& f : got) {
    EXPECT_EQ(f.detected_by == Detection::existing, f.path.filename().string().starts_with("old")) << f.path;
  }
}

// A resumed run takes again the files saved since its first part started, not the folder's older ones.
TEST_F(FolderWatcherTest, ExistingFilesModifiedSinceAMomentAreDelivered) {
  write_file(watched() / "before.txt", "saved before the run");
  write_file(watched() / "during.txt", "saved during the first part");
  const auto run_start = std::chrono::system_clock::now();
  fs::last_write_time(watched() / "before.txt", fs::file_time_type::clock::now() - std::chrono::hours(1));
  auto s = settings();
  s.include_existing_since = run_start - std::chrono::seconds(1);
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "after.txt", "saved after the restart");
    co_return;
  });
  EXPECT_EQ(names(got), (std::set<std::string>{"during.txt", "after.txt"}));
  EXPECT_EQ(got.size(), 2u);
}

TEST_F(FolderWatcherTest, RegexFilterIsRespected) {
  auto s = settings();
  s.filter = R"(frame-\d{5}\.tif)";
  s.filter_is_regex = true;
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  auto got = run(watcher, [&]() -> awaitable<void> {
    for (const char* name : {"frame-00001.tif", "frame-1.tif", "frame-00002.tif.metadata", "frame-00003.tiff",
                             "notes.txt", "frame-00004.tif"})
      write_file(watched() / name, name);
    fs::create_directory(watched() / "frame-00005.tif");  // a directory, not a file
    co_return;
  });
  EXPECT_EQ(names(got), (std::set<std::string>{"frame-00001.tif", "frame-00004.tif"}));
}

TEST(FolderWatcherFilter, GlobAndRegexMatchTheWholeName) {
  EXPECT_TRUE(filter_matches("*.tif", false, "a-00001.tif"));
  EXPECT_FALSE(filter_matches("*.tif", false, "a-00001.tif.metadata"));
  EXPECT_FALSE(filter_matches("*.tif", false, "a.tiff"));
  EXPECT_TRUE(filter_matches("frame-?????.tif", false, "frame-00042.tif"));
  EXPECT_FALSE(filter_matches("frame-?????.tif", false, "frame-042.tif"));
  EXPECT_TRUE(filter_matches(R"(.*\.(txt|csv))", true, "sweep.csv"));
  EXPECT_FALSE(filter_matches(R"(.*\.(txt|csv))", true, "sweep.csv.bak"));
  EXPECT_THROW(filter_matches("([", true, "x"), std::runtime_error);
}

TEST_F(FolderWatcherTest, DeadlinePassedWhilePendingIsDeliveredAsTimedOut) {
  auto s = settings();
  s.complete_deadline_s = 2.0;
  s.validator = [](const fs::path&) { return ReadyCheck::not_yet("strip 3 truncated"); };
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  auto got = run(
      watcher,
      [&]() -> awaitable<void> {
        write_file(watched() / "late.tif", "partial");
        co_return;
      },
      5.0);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].verdict, FileVerdict::timed_out);
  EXPECT_EQ(got[0].completed_by, Completion::deadline);
  EXPECT_THAT(got[0].reason, HasSubstr("strip 3 truncated"));
  EXPECT_GE(got[0].ready_s - got[0].first_seen_s, 2.0);
  EXPECT_LT(got[0].ready_s - got[0].first_seen_s, 3.5);  // and reported once, not on every later poll
}

TEST_F(FolderWatcherTest, TimedOutFileThatCompletesLaterIsDeliveredAgainAsComplete) {
  auto s = settings();
  s.complete_deadline_s = 2.0;
  bool parsable = false;
  s.validator = [&](const fs::path&) {
    return parsable ? ReadyCheck::complete() : ReadyCheck::not_yet("no image yet");
  };
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "late.tif", "late frame");
    co_await clock_.sleep_for(4.0);
    parsable = true;
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].verdict, FileVerdict::timed_out);
  EXPECT_EQ(got[1].verdict, FileVerdict::complete);
  EXPECT_EQ(got[1].first_seen_s, got[0].first_seen_s);
  EXPECT_EQ(got[1].fingerprint_sha256, got[0].fingerprint_sha256);
}

TEST_F(FolderWatcherTest, ReplacementBySameSizeAndMtimeIsSeenThroughTheInode) {
  auto s = settings();
  s.use_inotify = false;  // the poll alone must notice
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "sweep.txt", "version A");
    co_await clock_.sleep_for(2.5);
    write_file(outside() / "sweep.txt", "version B");
    fs::last_write_time(outside() / "sweep.txt", fs::last_write_time(watched() / "sweep.txt"));
    fs::rename(outside() / "sweep.txt", watched() / "sweep.txt");
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].size_bytes, got[1].size_bytes);
  EXPECT_EQ(got[0].mtime, got[1].mtime);
  EXPECT_NE(got[0].fingerprint_sha256, got[1].fingerprint_sha256);
}

TEST_F(FolderWatcherTest, LosingTheInotifyWatchFallsBackToPolling) {
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, settings());
  if (watcher.mode() != WatchMode::inotify_and_poll) GTEST_SKIP() << "no inotify here: " << watcher.mode_note();
  auto got = run(watcher, [&]() -> awaitable<void> {
    // The folder goes away (as an unmounted share does) and comes back: the kernel drops the watch.
    fs::remove_all(watched());
    co_await clock_.sleep_for(1.0);
    fs::create_directory(watched());
    write_file(watched() / "after.tif", "after the remount");
  });
  EXPECT_EQ(watcher.mode(), WatchMode::poll_only);
  EXPECT_THAT(watcher.mode_note(), HasSubstr("removed"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path.filename(), "after.tif");
  EXPECT_EQ(got[0].detected_by, Detection::poll);
}

TEST_F(FolderWatcherTest, EmptyFileWaitsForItsContent) {
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, settings());
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "frame.tif", "");  // created, then the writer stalls for many polls
    co_await clock_.sleep_for(3.0);
    write_file(watched() / "frame.tif", "pixels");
  });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].size_bytes, 6u);
}

TEST_F(FolderWatcherTest, FileDeletedBeforeCompletionIsDropped) {
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, settings());
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "gone.tif", "short-lived");
    co_await clock_.sleep_for(0.2);
    fs::remove(watched() / "gone.tif");
    write_file(watched() / "kept.tif", "kept");
  });
  EXPECT_EQ(names(got), (std::set<std::string>{"kept.tif"}));
}

TEST_F(FolderWatcherTest, RewriteAfterDeliveryIsDeliveredAgain) {
  FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, settings());
  auto got = run(watcher, [&]() -> awaitable<void> {
    write_file(watched() / "export.txt", "first version");
    co_await clock_.sleep_for(2.5);
    write_file(watched() / "export.txt", "second, longer version");
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].size_bytes, std::string("first version").size());
  EXPECT_EQ(got[1].size_bytes, std::string("second, longer version").size());
  EXPECT_NE(got[0].fingerprint_sha256, got[1].fingerprint_sha256);
  EXPECT_GT(got[1].first_seen_s, got[0].ready_s);
}

TEST_F(FolderWatcherTest, DestructionEndsAPendingNextAtOnce) {
  auto watcher = std::make_unique<FolderWatcher>(io_.get_executor(), files_.get_executor(), clock_, settings());
  bool ended = false;
  asio::co_spawn(
      io_,
      [&]() -> awaitable<void> {
        auto file = co_await watcher->next();
        ended = !file.has_value();
      },
      asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> awaitable<void> {
        co_await clock_.sleep_for(1.0);
        watcher.reset();
      },
      asio::detached);
  const auto t0 = std::chrono::steady_clock::now();
  io_.run();
  EXPECT_TRUE(ended);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
}

TEST_F(FolderWatcherTest, MissingFolderIsRejectedWithItsPath) {
  auto s = settings();
  s.folder = root_ / "no-such-share";
  try {
    FolderWatcher watcher(io_.get_executor(), files_.get_executor(), clock_, s);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no-such-share"));
  }
}

TEST_F(FolderWatcherTest, IdenticalContentUnderTwoNamesHasEqualSha256) {
  std::string big(300 * 1024, '\0');
  std::mt19937 rng(7);
  for (auto& c : big) c = static_cast<char>(rng());
  write_file(root_ / "a.txt", big);
  write_file(root_ / "b.txt", big);
  EXPECT_EQ(content_sha256(root_ / "a.txt"), content_sha256(root_ / "b.txt"));
  EXPECT_EQ(edge_sha256(root_ / "a.txt"), edge_sha256(root_ / "b.txt"));

  big[150 * 1024] ^= 1;  // a change in the middle: the full hash sees it, the edge fingerprint does not
  write_file(root_ / "b.txt", big);
  EXPECT_NE(content_sha256(root_ / "a.txt"), content_sha256(root_ / "b.txt"));
  EXPECT_EQ(edge_sha256(root_ / "a.txt"), edge_sha256(root_ / "b.txt"));
  append_file(root_ / "b.txt", "x");  // but an append does change it
  EXPECT_NE(edge_sha256(root_ / "a.txt"), edge_sha256(root_ / "b.txt"));

  write_file(root_ / "abc.txt", "abc");  // FIPS 180-2 test vector
  EXPECT_EQ(content_sha256(root_ / "abc.txt"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(content_sha256(root_ / "missing.txt"), std::runtime_error);
}

}  // namespace
}  // namespace insitu::io
