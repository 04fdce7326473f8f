#include "drivers/detector/exposure.hpp"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace insitu::detector {
namespace {

struct Log {
  std::vector<double> t, v, sp;
  TemperatureLogView view() const { return {t, v, sp}; }
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
  Log log{{0, 1, 1.5, 4}, {10, 20, 5, 5}, {0, 0, 0, 0}};
  const auto w = window_temperature(log.view(), 0.0, 4.0);
  // Trapezoids: (10+20)/2*1 + (20+5)/2*0.5 + 5*2.5 = 15 + 6.25 + 12.5 = 33.75 over 4 s.
  EXPECT_NEAR(w.mean_K, 33.75 / 4.0, 1e-12);
  EXPECT_DOUBLE_EQ(w.max_K, 20.0);
  EXPECT_DOUBLE_EQ(w.min_K, 5.0);
}

TEST(WindowTemperature, FlagsAWindowTheLogDoesNotCover) {
  Log log{{0, 1, 2}, {300, 301, 302}, {300, 301, 302}};
  const auto w = window_temperature(log.view(), 1.5, 5.0);
  EXPECT_FALSE(w.covered);
  EXPECT_DOUBLE_EQ(w.end_K, 302.0);  // held at the last reading
  const auto empty = window_temperature(Log{}.view(), 0.0, 1.0);
  EXPECT_FALSE(empty.covered);
  EXPECT_TRUE(std::isnan(empty.mean_K));
}

TEST(WindowTemperature, RejectsAnEmptyWindow) {
  Log log{{0, 1}, {1, 2}, {1, 2}};
  EXPECT_THROW(window_temperature(log.view(), 1.0, 1.0), std::invalid_argument);
}

}  // namespace
}  // namespace insitu::detector
