// Process-level failure tests: the writer is SIGKILLed mid-run, or runs out of file size.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "daemon/storage/h5.hpp"
#include "daemon/storage/killed_file.hpp"
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

// The kill -9 lands wherever it lands; on top, the test tears one more frame and one more analysis row by hand (some
// columns one row longer than their commit marker), as a kill between two datasets' flushes leaves them.
void tear_one_more_row(const std::filesystem::path& path) {
  recover_killed_file(path);
  const h5::Handle f = h5::open_file(path, h5::Access::read_write);
  for (const char* column : {"/entry/instrument/detector/data", "/entry/instrument/detector/frame_temperature/T_mean",
                             "/entry/analysis/I", "/entry/analysis/S_eq"}) {
    const h5::Handle d = h5::open_dataset(f, column);
    h5::resize_rows(d, h5::rows(d) + 1);
  }
}

// A killed run with frames and analysis taken up again: every committed frame and analysis row stays, torn rows are
// dropped whole, and what the first part left (frame numbering, darks, analysed frames, the analyses in flight) is
// handed to the resumed run; its frames then follow on in every dataset.
TEST(RunFileCrash, KilledRunWithFramesAndAnalysisIsTakenUpAgain) {
  ScratchDir dir("resume_frames");
  const auto path = dir.path() / "run.nxs";
  {
    Child writer({STORAGE_PROBE, "crash-frames", path.string()});
    for (std::uint64_t frames = 0; frames < 8;) {
      const auto line = writer.read_line();
      ASSERT_TRUE(line);
      std::istringstream in(*line);
      std::string word;
      in >> word >> frames;
    }
    writer.kill(SIGKILL);
    writer.wait();
  }
  tear_one_more_row(path);
  const auto layout = testing::frames_and_analysis_layout();
  std::size_t committed = 0;
  {
    auto run = RunFile::reopen(path, testing::test_metadata(), RunFile::ResumptionRow{1e4, 2}, {}, layout);
    const ResumedRecords& before = run->resumed();
    committed = before.frames;
    ASSERT_GE(committed, 8u);
    EXPECT_EQ(before.last_frame_sequence, committed - 1);
    ASSERT_FALSE(before.analysed.empty());
    EXPECT_EQ(before.analysed.front().sequence, 2u);
    const std::size_t analysed = before.analysed.size();
    EXPECT_EQ(before.analysed.back().sequence, analysed + 1);  // frames 2, 3, ... in order
    EXPECT_DOUBLE_EQ(before.analysed.back().s_eq_J_per_mol_K, testing::analysis_at(analysed + 1).s_eq_J_per_mol_K);
    const auto r = testing::exposure_at(analysed + 1);
    EXPECT_DOUBLE_EQ(before.analysed.back().time_s, 0.5 * (r.start_s + r.stop_s));
    EXPECT_EQ(before.unanalysed_data_frames.size(), committed - analysed - 2);
    EXPECT_TRUE(before.dark_median.empty());  // the probe never combined darks
    for (const auto& frame : before.unanalysed_data_frames) {
      const auto stored = testing::pixels_at(frame.sequence);
      EXPECT_EQ(frame.pixels, std::vector<float>(stored.begin(), stored.end())) << frame.sequence;
      EXPECT_DOUBLE_EQ(frame.mean_K, testing::exposure_at(frame.sequence).temperature.mean_K);
      run->append(testing::analysis_at(frame.sequence));
    }
    for (std::size_t k = committed; k < committed + 5; ++k) {
      run->append(testing::exposure_at(k), testing::as_bytes(testing::pixels_at(k)));
      run->append(testing::analysis_at(k));
    }
    ASSERT_TRUE(run->finish(testing::exposure_at(committed + 4).stop_s, "completed")) << run->error().value_or("");
  }
  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(testing::check_frames(f), committed + 5);  // every frame, pixels and records, old and new
  const auto analysed = h5::read_1d<std::uint64_t>(h5::open_dataset(f, "/entry/analysis/sequence_number"));
  std::vector<std::uint64_t> data_frames;
  for (std::uint64_t k = 2; k < committed + 5; ++k) data_frames.push_back(k);
  EXPECT_EQ(analysed, data_frames);
  for (const char* column : {"/entry/analysis/I", "/entry/analysis/S_eq", "/entry/analysis/G_of_r"})
    EXPECT_EQ(h5::rows(h5::open_dataset(f, column)), data_frames.size()) << column;
  const RunFileReader reader(path);
  ASSERT_TRUE(reader.analysis());
  ASSERT_TRUE(reader.frames());
  EXPECT_EQ(reader.frames()->sequence.size(), committed + 5);
  EXPECT_EQ(reader.reduced_pdf(data_frames.size() - 1).g_per_angstrom2, testing::analysis_at(committed + 4).reduced_pdf);
}

// Resuming with another detector or analysis than the file's would leave streams torn or misaligned.
TEST(RunFileCrash, AResumedLayoutMustBeTheFiles) {
  ScratchDir dir("resume_layout");
  const auto path = dir.path() / "run.nxs";
  {
    Child writer({STORAGE_PROBE, "crash-frames", path.string()});
    ASSERT_TRUE(writer.read_line());
    writer.kill(SIGKILL);
    writer.wait();
  }
  EXPECT_THROW(RunFile::reopen(path, testing::test_metadata(), RunFile::ResumptionRow{1e4, 1}), std::runtime_error);
  auto wider = testing::frames_and_analysis_layout();
  wider.detector->width += 1;
  EXPECT_THROW(RunFile::reopen(path, testing::test_metadata(), RunFile::ResumptionRow{1e4, 1}, {}, wider),
               std::runtime_error);
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

// The end of a run reopens the file outside SWMR; a writer cut there (the fault night's full disk) leaves a mark no
// reader opens past. The reader says so and names `insitu recover`, which clears it with nothing lost.
TEST(RunFileCrash, AFileLeftOpenOutsideSwmrIsNamedForRecoveryAndRecovered) {
  ScratchDir dir("left_open");
  const auto path = dir.path() / "run.nxs";
  {
    auto run = RunFile::create(path, testing::test_metadata(), {.flush_interval_s = 0.0});
    for (std::size_t i = 0; i < 200; ++i) run->append(testing::sample_at(i));
    ASSERT_TRUE(run->finish(5.0, "aborted")) << run->error().value_or("");
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const h5::Handle left = h5::open_file(path, h5::Access::read_write);
    ::_exit(0);  // never closed: its "open for writing" mark stays in the superblock
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  try {
    RunFileReader unreadable(path);
    ADD_FAILURE() << "opened a file marked open for writing";
  } catch (const NotARunFile& e) {
    EXPECT_THAT(e.what(), HasSubstr("left open by a writer that did not close it"));
    EXPECT_THAT(e.what(), HasSubstr("`insitu recover " + path.string() + "`"));
  }
  EXPECT_EQ(recover_killed_file(path), Recovery::recovered);
  const RunFileReader file(path);
  EXPECT_EQ(file.temperature_log().rows(), 200u);
  EXPECT_EQ(file.text("exit_status"), "aborted");
}

// What the end of a run will write (a DMA export's text and fits) is held on the disk beside the 1 MiB from the start,
// and given back when the run ends.
TEST(RunFileCrash, RoomForTheEndGrowsOnRequestAndIsGivenBackAtTheEnd) {
  ScratchDir dir("reserve");
  const auto path = dir.path() / "run.nxs", reserve = dir.path() / ".run.nxs.end-reserve";
  auto run = RunFile::create(path, testing::test_metadata());
  ASSERT_TRUE(std::filesystem::exists(reserve));
  const auto start_bytes = std::filesystem::file_size(reserve);
  EXPECT_EQ(start_bytes, std::uintmax_t{1} << 20);
  EXPECT_TRUE(run->reserve_for_finish(3u << 20));
  EXPECT_EQ(std::filesystem::file_size(reserve), start_bytes + (3u << 20));
  ASSERT_TRUE(run->finish(1.0, "completed")) << run->error().value_or("");
  EXPECT_FALSE(std::filesystem::exists(reserve));
  EXPECT_FALSE(run->reserve_for_finish(1u << 20));
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
