// The frame schedule on an explicit clock: a loop that wakes when the next boundary is due, or later when it was
// blocked, and fires it. What the schedule promises: boundaries stay on the period's grid through jitter, a stall
// restarts the grid from the late boundary with its lateness told, and no frame is shorter than half a period.
#include <cmath>
#include <optional>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "protocols/engine/frame_schedule.hpp"

namespace insitu::testing {
namespace {

using program::FrameSchedule;

constexpr double kPeriod_s = 12.0;

struct Boundary {
  double due_s, fired_s;
  std::optional<double> restart_late_s;
};

// Fires `n` boundaries after the one that opened the series at `opened_s`; `delay_s(i, due_s)` is how long after
// its due time boundary i fires (the loop's latency, or the rest of a stall).
template <typename Delay>
std::vector<Boundary> fire(FrameSchedule& schedule, int n, Delay delay_s) {
  std::vector<Boundary> out;
  for (int i = 0; i < n; ++i) {
    const double due_s = schedule.next_s();
    const double fired_s = due_s + delay_s(i, due_s);
    out.push_back({due_s, fired_s, schedule.fired(fired_s)});
  }
  return out;
}

TEST(FrameSchedule, OnTimeBoundariesKeepThePeriod) {
  FrameSchedule schedule(kPeriod_s, 100.0);
  EXPECT_DOUBLE_EQ(schedule.next_s(), 112.0);
  const auto b = fire(schedule, 5, [](int, double) { return 0.0; });
  for (int i = 0; i < 5; ++i) {
    EXPECT_DOUBLE_EQ(b[i].fired_s, 100.0 + (i + 1) * kPeriod_s);
    EXPECT_FALSE(b[i].restart_late_s);
  }
}

TEST(FrameSchedule, JitterBelowHalfAPeriodDoesNotAccumulate) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> jitter_s(0.0, 0.49 * kPeriod_s);
  FrameSchedule schedule(kPeriod_s, 0.0);
  const auto b = fire(schedule, 200, [&](int, double) { return jitter_s(rng); });
  for (std::size_t i = 0; i < b.size(); ++i) {
    EXPECT_DOUBLE_EQ(b[i].due_s, (double(i) + 1) * kPeriod_s) << "boundary " << i << " on the grid";
    EXPECT_FALSE(b[i].restart_late_s);
  }
  EXPECT_DOUBLE_EQ(schedule.next_s(), 201 * kPeriod_s);
}

TEST(FrameSchedule, HalfAPeriodLateExactlyKeepsTheGrid) {
  FrameSchedule schedule(kPeriod_s, 0.0);
  EXPECT_FALSE(schedule.fired(kPeriod_s * 1.5));
  EXPECT_DOUBLE_EQ(schedule.next_s(), 2 * kPeriod_s) << "the next frame lasts half a period, the shortest there is";
}

TEST(FrameSchedule, AStallRestartsTheScheduleFromTheLateBoundary) {
  // The loop is blocked from 30 s to 71 s run time: the boundary due at 36 s fires at 71 s.
  constexpr double blocked_from_s = 30.0, blocked_until_s = 71.0;
  FrameSchedule schedule(kPeriod_s, 0.0);
  const auto b = fire(schedule, 6, [&](int, double due_s) {
    return due_s >= blocked_from_s && due_s < blocked_until_s ? blocked_until_s - due_s : 0.0;
  });
  ASSERT_EQ(b.size(), 6u);
  EXPECT_DOUBLE_EQ(b[2].due_s, 36.0);
  EXPECT_DOUBLE_EQ(b[2].fired_s, 71.0);
  ASSERT_TRUE(b[2].restart_late_s) << "the late boundary restarts the schedule and says so";
  EXPECT_DOUBLE_EQ(*b[2].restart_late_s, 35.0);
  // The boundaries missed during the stall (48 s, 60 s) are not fired back to back: the grid starts again at 71 s.
  EXPECT_DOUBLE_EQ(b[3].due_s, 83.0);
  EXPECT_DOUBLE_EQ(b[4].due_s, 95.0);
  for (int i : {0, 1, 3, 4, 5}) EXPECT_FALSE(b[i].restart_late_s) << "boundary " << i;
  // One long frame over the stall, full periods on either side.
  EXPECT_DOUBLE_EQ(b[2].fired_s - b[1].fired_s, 47.0);
  for (int i : {1, 3, 4, 5}) EXPECT_DOUBLE_EQ(b[i].fired_s - b[i - 1].fired_s, kPeriod_s) << "frame " << i;
}

TEST(FrameSchedule, NoFrameIsShorterThanHalfAPeriodWhateverTheLateness) {
  // Lateness from none to several periods, with stalls of every length in between.
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> late_s(0.0, 3.0 * kPeriod_s);
  const double opened_s = 5.0;
  FrameSchedule schedule(kPeriod_s, opened_s);
  const auto b = fire(schedule, 2000, [&](int, double) { return late_s(rng); });
  double previous_s = opened_s;
  int restarts = 0;
  for (const auto& x : b) {
    EXPECT_GE(x.fired_s - previous_s, kPeriod_s / 2);
    const double late = x.fired_s - x.due_s;
    EXPECT_EQ(x.restart_late_s.has_value(), late > kPeriod_s / 2);
    if (x.restart_late_s) {
      EXPECT_DOUBLE_EQ(*x.restart_late_s, late);
      ++restarts;
    }
    previous_s = x.fired_s;
  }
  EXPECT_GT(restarts, 0);
  EXPECT_LT(restarts, 2000);
}

TEST(FrameSchedule, RefusesAPeriodThatIsNotPositive) {
  EXPECT_THROW(FrameSchedule(0.0, 0.0), std::invalid_argument);
  EXPECT_THROW(FrameSchedule(-12.0, 0.0), std::invalid_argument);
  EXPECT_THROW(FrameSchedule(std::nan(""), 0.0), std::invalid_argument);
}

}  // namespace
}  // namespace insitu::testing
