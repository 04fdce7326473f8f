// The run journal: what a later insitud reads to resume a run, including after a kill tore its last line.
#include "daemon/run_journal.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <cmath>
#include <cstring>
#include <fstream>

#include "tests/storage/records.hpp"

namespace insitu::daemon {
namespace {

using storage::testing::ScratchDir;

TEST(RunJournal, SaysWhereTheRunGotToEvenWhenItsLastLineWasTorn) {
  ScratchDir dir("journal");
  const auto file = dir.path() / kJournalName;
  const auto origin = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  {
    RunJournal journal(file, origin, 100.0, "cryo.yaml");
    journal.segment(0, 1.5, 295.2);
    journal.frame(7);
    journal.segment(1, 380.0, 170.4);
  }
  {
    RunJournal again(file);  // a resumed run appends
    again.resumed(420.0, 1);
    again.frame(8);
  }
  std::ofstream(file, std::ios::app) << R"({"segment": {"index": 2, "star)";  // the kill came mid-write
  const auto state = read_journal(file);
  EXPECT_EQ(state.utc_origin, origin);
  EXPECT_EQ(state.speed, 100.0);
  EXPECT_EQ(state.recipe_source, "cryo.yaml");
  EXPECT_TRUE(state.segment_known);
  EXPECT_EQ(state.segment_index, 1u);
  EXPECT_EQ(state.segment_started_s, 380.0);
  EXPECT_EQ(state.segment_start_K, 170.4);
  EXPECT_EQ(state.last_frame, 8u);
  EXPECT_EQ(state.resumptions, 1u);
  EXPECT_FALSE(state.exit_status);

  RunJournal(file).end("completed");  // the torn line is cut before the next one is appended
  EXPECT_EQ(read_journal(file).exit_status, "completed");
  EXPECT_EQ(read_journal(file).segment_index, 1u);

  std::ofstream(file, std::ios::app) << "garbage\n" << R"({"frame": {"sequence": 9}})" << '\n';
  EXPECT_THROW(read_journal(file), std::runtime_error) << "a bad line that is not the last is an error";
}

TEST(RunJournal, EndsAndRefusesAFileWithoutAStart) {
  ScratchDir dir("journal-end");
  const auto file = dir.path() / kJournalName;
  {
    RunJournal journal(file, std::chrono::system_clock::now(), 1.0, "text");
    journal.segment(0, 0.0, std::nan(""));  // no reading yet: NaN, read back as NaN
    journal.end("completed");
  }
  const auto state = read_journal(file);
  EXPECT_EQ(state.exit_status, "completed");
  EXPECT_TRUE(std::isnan(state.segment_start_K));
  std::ofstream(dir.path() / "headless") << R"({"segment": {"index": 0, "started_s": 0, "start_K": 1}})" << '\n';
  EXPECT_THROW(read_journal(dir.path() / "headless"), std::runtime_error);
  EXPECT_THROW(read_journal(dir.path() / "missing"), std::runtime_error);
}

// A disk that fills mid-line takes part of it; the error then names the cause (a file-size limit stands in for the
// full disk: the same short write, then a write refused). It used to carry whatever errno an earlier call had left.
TEST(RunJournal, AWriteCutShortByTheDiskSaysWhy) {
  ScratchDir dir("journal-full");
  const auto file = dir.path() / kJournalName;
  RunJournal journal(file, std::chrono::system_clock::now(), 1.0, "cryo.yaml");
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  const auto previous = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
  rlimit tight = before;
  tight.rlim_cur = std::filesystem::file_size(file) + 5;  // room for 5 bytes of the next line
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);
  errno = EAGAIN;  // what a non-blocking call elsewhere may have left
  std::string message;
  try {
    journal.segment(0, 1.5, 295.2);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, previous);
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
}

}  // namespace
}  // namespace insitu::daemon
