// The run's in-memory stage log stays bounded over a long run, and a frame window inside its reach gets the same
// temperature statistics as from the whole log.
#include <gtest/gtest.h>

#include <cmath>

#include "protocols/run/acquisition.hpp"

namespace insitu::program {
namespace {

constexpr double kPollS = 0.5;

double ramp_K(double t_s) { return 93.15 + t_s / 6.0 + 0.2 * std::sin(t_s); }  // 10 K/min with a wiggle

TEST(StageLog, KeepsOnlyItsReachOverALongRun) {
  StageLog bounded(300.0), whole(1e12);
  for (int i = 0; i < 60'000; ++i) {  // 8 h 20 min of readings every 0.5 s
    const double t = i * kPollS;
    bounded.append(t, 0.01, ramp_K(t), ramp_K(t));
    whole.append(t, 0.01, ramp_K(t), ramp_K(t));
  }
  EXPECT_EQ(whole.time_s.size(), 60'000U);
  EXPECT_LE(bounded.time_s.size(), 2 * 300.0 / kPollS + 2);  // at most twice its reach before a batch is dropped
  EXPECT_LE(bounded.time_s.front(), bounded.time_s.back() - 300.0);  // never less than its reach
  for (const auto* column : {&bounded.value_K, &bounded.setpoint_K, &bounded.time_uncertainty_s})
    EXPECT_EQ(column->size(), bounded.time_s.size());

  const double end_s = whole.time_s.back();
  const auto expected = detector::window_temperature(whole.view(), end_s - 280.0, end_s - 268.0, 0.001, 0.001);
  const auto got = detector::window_temperature(bounded.view(), end_s - 280.0, end_s - 268.0, 0.001, 0.001);
  EXPECT_TRUE(got.covered);
  EXPECT_DOUBLE_EQ(got.mean_K, expected.mean_K);
  EXPECT_DOUBLE_EQ(got.min_K, expected.min_K);
  EXPECT_DOUBLE_EQ(got.max_K, expected.max_K);
  EXPECT_DOUBLE_EQ(got.mean_uncertainty_K, expected.mean_uncertainty_K);
}

TEST(StageLog, ReachesBeyondAFramePeriodAndItsFileDeadline) {
  AcquisitionPlan plan;
  plan.period_s = 12.0;
  plan.pairing.file_deadline_after_boundary_s = 30.0;
  EXPECT_GE(stage_log_keep_s(plan), plan.period_s + plan.pairing.file_deadline_after_boundary_s + 60.0);
}

}  // namespace
}  // namespace insitu::program
