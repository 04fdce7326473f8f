// The disk-space watch against the real file system (statvfs): a folder short of what the run needs is reported once,
// with its free space; enough room, a folder not there yet and a run that has stopped are not.
#include "daemon/disk_space_watch.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "tests/storage/records.hpp"

namespace insitu::daemon {
namespace {

using namespace std::chrono_literals;
using storage::testing::ScratchDir;

struct Reports {
  std::vector<std::string> reasons;
  DiskSpaceWatch::OnLow sink() {
    return [this](const std::string& why) { reasons.push_back(why); };
  }
};

TEST(DiskSpaceWatch, AFolderShortOfWhatTheRunNeedsIsReportedOnceWithItsFreeSpace) {
  ScratchDir dir("disk_watch_short");
  const auto free = free_bytes(dir.path());
  ASSERT_TRUE(free);
  boost::asio::io_context loop;
  Reports reports;
  DiskSpaceWatch watch(loop.get_executor(),
                       {{dir.path(), 1}, {dir.path() / "absent", 1}, {dir.path(), *free + (std::uint64_t{1} << 40)}},
                       reports.sink());
  loop.run_for(2500ms);  // the first check and two more seconds' worth
  ASSERT_EQ(reports.reasons.size(), 1u);
  EXPECT_EQ(reports.reasons[0].rfind("disk full: ", 0), 0u) << reports.reasons[0];
  EXPECT_NE(reports.reasons[0].find(" MiB free in " + dir.path().string() + ", below the "), std::string::npos)
      << reports.reasons[0];
}

TEST(DiskSpaceWatch, EnoughRoomOrAFolderNotThereYetIsNotReported) {
  ScratchDir dir("disk_watch_room");
  boost::asio::io_context loop;
  Reports reports;
  DiskSpaceWatch watch(loop.get_executor(), {{dir.path(), bytes_a_run_keeps_free(16 << 20)}, {dir.path() / "absent",
                                                                                              ~std::uint64_t{0}}},
                       reports.sink());
  loop.run_for(1500ms);
  EXPECT_TRUE(reports.reasons.empty()) << reports.reasons.front();
}

TEST(DiskSpaceWatch, TheRunsStopEndsTheWatch) {
  ScratchDir dir("disk_watch_stop");
  const auto free = free_bytes(dir.path());
  ASSERT_TRUE(free);
  boost::asio::io_context loop;
  Reports reports;
  DiskSpaceWatch watch(loop.get_executor(), {{dir.path(), *free + (std::uint64_t{1} << 40)}}, reports.sink());
  watch(documents::RunStop{});
  loop.run_for(1500ms);
  EXPECT_TRUE(reports.reasons.empty());
}

TEST(DiskSpaceWatch, ARunKeepsRoomForFourFramesAndItsEndRecords) {
  EXPECT_EQ(bytes_a_run_keeps_free(0), std::uint64_t{32} << 20);
  EXPECT_EQ(bytes_a_run_keeps_free(std::uint64_t{16} << 20), std::uint64_t{96} << 20);
}

}  // namespace
}  // namespace insitu::daemon
