#include "drivers/io/clock.hpp"

#include <gtest/gtest.h>

namespace insitu::io {
namespace {

TEST(RunClock, AcceleratedTimeScalesWallTime) {
  const RunClock clock(600.0);
  EXPECT_EQ(clock.wall_duration(600.0), std::chrono::seconds(1));
  EXPECT_EQ(clock.wall_time_at(1200.0) - clock.wall_time_at(0.0), std::chrono::seconds(2));
}

TEST(RunClock, IoDeadlineHasAWallFloor) {
  const RunClock clock(1000.0);
  EXPECT_EQ(clock.io_deadline(1.0), std::chrono::milliseconds(200));
  EXPECT_EQ(clock.io_deadline(1000.0), std::chrono::seconds(1));
}

TEST(RunClock, RejectsNonPositiveSpeed) {
  EXPECT_THROW(RunClock(0.0), std::invalid_argument);
  EXPECT_THROW(RunClock(-2.0), std::invalid_argument);
}

TEST(RunClock, SleepUntilWakesAtTheRunInstant) {
  const RunClock clock(100.0);
  asio::io_context io;
  double woke_at = -1;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        co_await clock.sleep_until(5.0);  // 50 ms of wall time
        woke_at = clock.now_s();
      },
      asio::detached);
  io.run();
  EXPECT_GE(woke_at, 5.0);
  EXPECT_LT(woke_at, 5.0 + 100.0 * 0.5);  // generous: half a wall second of scheduler slack
}

TEST(Iso8601, FormatsUtcWithMilliseconds) {
  const auto t = std::chrono::sys_days{std::chrono::year{2026} / 11 / 24} + std::chrono::hours(18) +
                 std::chrono::minutes(26) + std::chrono::milliseconds(11123);
  EXPECT_EQ(iso8601_utc(t), "2026-11-24T18:26:11.123Z");
}

}  // namespace
}  // namespace insitu::io
