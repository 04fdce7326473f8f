// Process-level failure tests: the writer is SIGKILLed mid-run, or runs out of file size.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include "daemon/storage/h5.hpp"
#include "daemon/storage/run_file.hpp"
#include "daemon/storage/run_file_reader.hpp"
#include "tests/storage/child.hpp"
#include "tests/storage/records.hpp"

namespace insitu::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::check_temperature_log;
using testing::Child;
using testing::event_at;
using testing::sample_at;
using testing::ScratchDir;

// A killed run's file taken up again (insitud resuming a run): every committed record stays, the uncommitted tails
// the kill left in the other columns are cut so the new rows line up, and the gap is a row of entry/resumptions.
TEST(RunFileCrash, KilledRunIsTakenUpAgainAndAppendedToLosingNothing) {
  ScratchDir dir("resume");
  const auto path = dir.path() / "run.nxs";
  {
    Child writer({STORAGE_PROBE, "crash", path.string()});
    for (std::uint64_t samples = 0; samples < 3'000;) {
      const auto line = writer.read_line();
      ASSERT_TRUE(line);
      std::istringstream in(*line);
      std::string word;
      in >> word >> samples;
    }
    writer.kill(SIGKILL);
    writer.wait();
  }
  std::size_t committed = 0, events = 0;
  {
    const RunFileReader reader(path);
    committed = reader.temperature_log().rows();
    events = reader.events().rows();
  }
  const double resume_s = sample_at(committed + 100).time_s;
  {
    auto run = RunFile::reopen(path, testing::test_metadata(), RunFile::ResumptionRow{resume_s, 2});
    EXPECT_DOUBLE_EQ(run->last_committed_s(), std::max(sample_at(committed - 1).time_s, event_at(events - 1).time_s));
    for (std::size_t i = committed; i < committed + 1'000; ++i) run->append(sample_at(i));
    run->append(event_at(events));
    ASSERT_TRUE(run->finish(sample_at(committed + 999).time_s, "completed")) << run->error().value_or("");
  }
  const h5::Handle f = h5::open_file(path, h5::Access::read);  // a regular file again
  EXPECT_EQ(check_temperature_log(f), committed + 1'000);       // every row, old and new, in place
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, "/entry/events/time")).size(), events + 1);
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, "/entry/resumptions/resume_time")), std::vector<double>{resume_s});
  EXPECT_EQ(h5::read_1d<std::int64_t>(h5::open_dataset(f, "/entry/resumptions/segment")),
            std::vector<std::int64_t>{2});
  EXPECT_EQ(RunFileReader(path).text("exit_status"), "completed");
}

TEST(RunFileCrash, EveryRecordReportedFlushedSurvivesKill9) {
  ScratchDir dir("kill9");
  const auto path = dir.path() / "run.nxs";
  std::uint64_t samples = 0, events = 0;
  {
    Child writer({STORAGE_PROBE, "crash", path.string()});
    // Let it run through a few hundred flushes, then kill it without warning.
    while (samples < 20'000) {
      const auto line = writer.read_line();
      ASSERT_TRUE(line) << "the writer stopped reporting after " << samples << " samples";
      std::istringstream in(*line);
      std::string word;
      in >> word >> samples >> events;
      ASSERT_EQ(word, "committed") << *line;
    }
    writer.kill(SIGKILL);
    const int status = writer.wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  }

  {
    const h5::Handle f = h5::open_file(path, h5::Access::swmr_read);  // SWMR-read works as is
    EXPECT_GE(check_temperature_log(f), samples);                     // and every value is right
    const auto event_time = h5::read_1d<double>(h5::open_dataset(f, "/entry/events/time"));
    const auto message = h5::read_strings(h5::open_dataset(f, "/entry/events/message"));
    ASSERT_GE(event_time.size(), events);
    ASSERT_GE(message.size(), event_time.size());
    for (std::size_t k = 0; k < event_time.size(); ++k) {
      EXPECT_EQ(event_time[k], event_at(k).time_s);
      EXPECT_EQ(message[k], event_at(k).message);
    }
    EXPECT_FALSE(h5::exists(f, "/entry/end_time"));  // silx must not take a crashed run as complete
  }
  {  // The reader takes it as it is: the committed rows, values intact, no end.
    const RunFileReader reader(path);
    EXPECT_TRUE(reader.opened_as_swmr_reader());
    const auto log = reader.temperature_log();
    ASSERT_GE(log.rows(), samples);
    for (std::size_t i = 0; i < log.rows(); i += 997) EXPECT_EQ(log.value_K[i], testing::sample_at(i).value_K) << i;
    EXPECT_GE(reader.events().rows(), events);
    EXPECT_EQ(reader.text("exit_status"), std::nullopt);
  }

  // The superblock still says "open for SWMR writing"; h5clear resets it and the stale EOA.
  EXPECT_THROW(h5::open_file(path, h5::Access::read), h5::Error);
  ASSERT_EQ(std::system(("h5clear -s --increment '" + path.string() + "'").c_str()), 0);
  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_GE(check_temperature_log(f), samples);
}

TEST(RunFileCrash, FullDiskIsReportedAndLaterAppendsAreDropped) {
  ScratchDir dir("full");
  const auto path = dir.path() / "run.nxs";
  Child writer({STORAGE_PROBE, "full", path.string(), std::to_string(256 * 1024)});
  const auto error = writer.read_line();
  const auto dropped = writer.read_line();
  const int status = writer.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "the writer died instead of reporting the error";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(error);
  EXPECT_THAT(*error, StartsWith("error HDF5 "));
  EXPECT_THAT(*error, HasSubstr("File too large"));  // errno EFBIG, as the sec2 driver reports it
  ASSERT_TRUE(dropped);
  EXPECT_THAT(*dropped, StartsWith("dropped "));
  EXPECT_GE(std::stoull(dropped->substr(8)), 1001u);  // at least the 1000 samples + 1 event appended after
}

// A viewer (h5py/silx with swmr=True) holds the file open through the end of the run. HDF5 1.10.8 keeps its
// shared flock() for as long, which refused the regular-mode reopen of finish(): end_time, exit_status and the
// at_finish parts were lost. Now they are written, and the reader still sees its rows.
TEST(RunFileReaders, AnSwmrReaderHoldingTheFileDoesNotCostTheEnd) {
  ScratchDir dir("held");
  const auto path = dir.path() / "run.nxs", release = dir.path() / "release";
  auto run = RunFile::create(path, testing::test_metadata(), {.flush_interval_s = 0.0});
  for (std::size_t i = 0; i < 500; ++i) run->append(testing::sample_at(i));
  run->append(testing::event_at(0));  // commits the samples before it
  while (run->stats().samples_committed < 500) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Child reader({STORAGE_PROBE, "hold", path.string(), release.string()});
  ASSERT_EQ(reader.read_line(), "open rows 500");
  run->at_finish([](const h5::Handle& file) { h5::create_group(file, "/entry_extra", "NXentry"); });
  EXPECT_TRUE(run->finish(5.0, "completed")) << run->error().value_or("");
  EXPECT_EQ(run->error(), std::nullopt);
  std::ofstream(release).put('\n');
  EXPECT_EQ(reader.wait(), 0);

  const RunFileReader file(path);
  EXPECT_EQ(file.temperature_log().rows(), 500u);
  EXPECT_EQ(file.text("exit_status"), "completed");
  EXPECT_TRUE(file.text("end_time").has_value());
  EXPECT_TRUE(h5::exists(file.file(), "/entry_extra"));
}

// Another writer (an exclusive lock) keeps the end out: finish() says so, and what the run took stays readable.
TEST(RunFileReaders, AnotherWriterHoldingTheFileIsReported) {
  ScratchDir dir("writer");
  const auto path = dir.path() / "run.nxs";
  auto run = RunFile::create(path, testing::test_metadata(), {.flush_interval_s = 0.0, .finish_deadline_s = 0.3});
  for (std::size_t i = 0; i < 100; ++i) run->append(testing::sample_at(i));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // SWMR writing holds no lock of its own
  EXPECT_FALSE(run->finish(1.0, "completed"));
  ASSERT_TRUE(run->error().has_value());
  EXPECT_THAT(*run->error(), HasSubstr("was not written"));
  EXPECT_THAT(*run->error(), HasSubstr("another process holds it open for writing"));
  ::close(fd);
  const RunFileReader file(path);
  EXPECT_EQ(file.temperature_log().rows(), 100u);
  EXPECT_EQ(file.text("exit_status"), std::nullopt);
}

}  // namespace
}  // namespace insitu::storage
