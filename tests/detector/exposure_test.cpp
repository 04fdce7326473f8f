#include "drivers/detector/exposure.hpp"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace insitu::detector {
namespace {

struct Log {
  std::vector<double> t, v, sp, dt;
  TemperatureLogView view() const { return {t, v, sp, dt}; }
};

// A 10 K/min ramp sampled at 1 Hz: the exposure mean is the mid-window temperature, not the last reading.
TEST(WindowTemperature, RampWindowMeanIsTheMidpointNotTheLastReading) {
  Log log;
  for (int i = 0; i <= 100; ++i) {
    log.t.push_back(i);
    log.v.push_back(100.0 + i / 6.0);
    log.sp.push_back(100.0 + i / 6.0);
  }
  const auto w = window_temperature(log.view(), 10.5, 22.5);  // 12 s between readings
  EXPECT_TRUE(w.covered);
  EXPECT_NEAR(w.start_K, 100.0 + 10.5 / 6.0, 1e-12);
  EXPECT_NEAR(w.end_K, 100.0 + 22.5 / 6.0, 1e-12);
  EXPECT_NEAR(w.mean_K, 100.0 + 16.5 / 6.0, 1e-12);
  EXPECT_NEAR(w.min_K, w.start_K, 1e-12);
  EXPECT_NEAR(w.max_K, w.end_K, 1e-12);
  EXPECT_NEAR(w.setpoint_mid_K, 100.0 + 16.5 / 6.0, 1e-12);
  EXPECT_GT(100.0 + 22.0 / 6.0 - w.mean_K, 0.9);  // "last reading" would be ~1 K off at 10 K/min
}

TEST(WindowTemperature, TimeWeightsUnevenSamplesAndFindsTheExtremes) {
  Log log{{0, 1, 1.5, 4}, {10, 20, 5, 5}, {0, 0, 0, 0}, {}};
  const auto w = window_temperature(log.view(), 0.0, 4.0);
  // Trapezoids: (10+20)/2*1 + (20+5)/2*0.5 + 5*2.5 = 15 + 6.25 + 12.5 = 33.75 over 4 s.
  EXPECT_NEAR(w.mean_K, 33.75 / 4.0, 1e-12);
  EXPECT_DOUBLE_EQ(w.max_K, 20.0);
  EXPECT_DOUBLE_EQ(w.min_K, 5.0);
}

TEST(WindowTemperature, FlagsAWindowTheLogDoesNotCover) {
  Log log{{0, 1, 2}, {300, 301, 302}, {300, 301, 302}, {}};
  const auto w = window_temperature(log.view(), 1.5, 5.0);
  EXPECT_FALSE(w.covered);
  EXPECT_DOUBLE_EQ(w.end_K, 302.0);  // held at the last reading
  const auto empty = window_temperature(Log{}.view(), 0.0, 1.0);
  EXPECT_FALSE(empty.covered);
  EXPECT_TRUE(std::isnan(empty.mean_K));
}

// On a 1 K/s ramp a window edge known to +-0.2 s moves the mean by half the rate times that; a reading stamped
// to +-0.1 s moves the curve by the rate times that.
TEST(WindowTemperature, UncertaintyFollowsTheRateAndTheTimeStamps) {
  Log log;
  for (int i = 0; i <= 40; ++i) {
    log.t.push_back(0.5 * i);
    log.v.push_back(300.0 + 0.5 * i);
    log.sp.push_back(300.0 + 0.5 * i);
    log.dt.push_back(i == 20 ? 0.1 : 0.01);
  }
  const auto exact = window_temperature(log.view(), 2.0, 14.0);
  EXPECT_NEAR(exact.mean_uncertainty_K, 0.1, 1e-9);  // the one slow reading, at 10 s
  const auto edges = window_temperature(log.view(), 2.0, 14.0, 0.2, 0.2);
  EXPECT_NEAR(edges.mean_uncertainty_K, 0.1 + 0.5 * 0.2 + 0.5 * 0.2, 1e-9);
  const auto elsewhere = window_temperature(log.view(), 12.0, 18.0);
  EXPECT_NEAR(elsewhere.mean_uncertainty_K, 0.01, 1e-9);

  Log hold{{0, 1, 2, 3}, {300, 300, 300, 300}, {300, 300, 300, 300}, {0.3, 0.3, 0.3, 0.3}};
  EXPECT_DOUBLE_EQ(window_temperature(hold.view(), 0.5, 2.5, 0.5, 0.5).mean_uncertainty_K, 0.0);  // no rate
  Log unstamped{{0, 10}, {300, 310}, {300, 310}, {}};
  EXPECT_DOUBLE_EQ(window_temperature(unstamped.view(), 2.0, 8.0).mean_uncertainty_K, 0.0);
  Log ragged{{0, 10}, {300, 310}, {300, 310}, {0.1}};
  EXPECT_THROW(window_temperature(ragged.view(), 2.0, 8.0), std::invalid_argument);
}

TEST(WindowTemperature, RejectsAnEmptyWindow) {
  Log log{{0, 1}, {1, 2}, {1, 2}, {}};
  EXPECT_THROW(window_temperature(log.view(), 1.0, 1.0), std::invalid_argument);
}

}  // namespace
}  // namespace insitu::detector
