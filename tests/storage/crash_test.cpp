// Process-level failure tests: the writer is SIGKILLed mid-run, or runs out of file size.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <sstream>

#include "daemon/storage/h5.hpp"
#include "tests/storage/child.hpp"
#include "tests/storage/records.hpp"

namespace insitu::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::check_temperature_log;
using testing::Child;
using testing::event_at;
using testing::ScratchDir;

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

}  // namespace
}  // namespace insitu::storage
