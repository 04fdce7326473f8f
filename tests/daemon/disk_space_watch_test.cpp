// The disk-space watch against the real file system (statvfs): a folder short of what the run needs is reported once,
// with its free space; enough room, a folder not there yet and a run that has stopped are not.
#include "daemon/disk_space_watch.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "tests/storage/records.hpp"

namespace insitu::daemon {
namespace {

using namespace std::chrono_literals;
using storage::testing::ScratchDir;

// A scratch folder, a loop to run the watch on, and what it reported.
class DiskSpaceWatchTest : public ::testing::Test {
 protected:
  // More than the scratch folder's disk has free: a folder needing this is short of space.
  std::uint64_t more_than_free() const { return free_bytes(dir_.path()).value_or(0) + (std::uint64_t{1} << 40); }
  DiskSpaceWatch watch(std::vector<WatchedFolder> folders) {
    return {loop_.get_executor(), probes_.get_executor(), std::move(folders),
            [this](const std::string& why) { reasons_.push_back(why); }};
  }

  ScratchDir dir_{"disk_watch"};
  boost::asio::io_context loop_;
  boost::asio::thread_pool probes_{1};  // joined before the loop it answers to goes
  std::vector<std::string> reasons_;
};

TEST_F(DiskSpaceWatchTest, AFolderShortOfWhatTheRunNeedsIsReportedOnceWithItsFreeSpace) {
  ASSERT_TRUE(free_bytes(dir_.path()));
  auto w = watch({{dir_.path(), 1}, {dir_.path() / "absent", 1}, {dir_.path(), more_than_free()}});
  loop_.run_for(2500ms);  // the first check and two more seconds' worth
  ASSERT_EQ(reasons_.size(), 1u);
  EXPECT_EQ(reasons_[0].rfind("disk full: ", 0), 0u) << reasons_[0];
  EXPECT_NE(reasons_[0].find(" MiB free in " + dir_.path().string() + ", below the "), std::string::npos)
      << reasons_[0];
}

TEST_F(DiskSpaceWatchTest, EnoughRoomOrAFolderNotThereYetIsNotReported) {
  auto w = watch({{dir_.path(), bytes_a_run_keeps_free(16 << 20)}, {dir_.path() / "absent", ~std::uint64_t{0}}});
  loop_.run_for(1500ms);
  EXPECT_TRUE(reasons_.empty()) << reasons_.front();
}

TEST_F(DiskSpaceWatchTest, TheRunsStopEndsTheWatch) {
  auto w = watch({{dir_.path(), more_than_free()}});
  w(documents::RunStop{});
  loop_.run_for(1500ms);
  EXPECT_TRUE(reasons_.empty());
}

// The run ended and its watch went while statvfs was out on the worker: the answer arrives at no one.
TEST_F(DiskSpaceWatchTest, AWatchGoneBeforeItsProbeAnswersHearsNothing) {
  { auto w = watch({{dir_.path(), more_than_free()}}); }
  loop_.run_for(1500ms);
  EXPECT_TRUE(reasons_.empty());
}

TEST(DiskSpaceWatch, ARunKeepsRoomForFourFramesAndItsEndRecords) {
  EXPECT_EQ(bytes_a_run_keeps_free(0), std::uint64_t{32} << 20);
  EXPECT_EQ(bytes_a_run_keeps_free(std::uint64_t{16} << 20), std::uint64_t{96} << 20);
}

}  // namespace
}  // namespace insitu::daemon
