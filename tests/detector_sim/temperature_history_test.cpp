#include "drivers/linkam/sim/temperature_history.hpp"

#include <gtest/gtest.h>

#include "drivers/linkam/sim/stage_model.hpp"

using insitu::linkam::sim::StageModel;
using insitu::linkam::sim::TemperatureHistory;

TEST(TemperatureHistory, TrapezoidMeanOverALinearRampIsTheMidpoint) {
  TemperatureHistory h;
  for (int i = 0; i <= 100; ++i) h.record(i * 0.5, 100.0 + i * 0.5 * (10.0 / 60.0));  // 10 K/min
  EXPECT_NEAR(h.mean_K(3.2, 15.2), 100.0 + 9.2 * 10.0 / 60.0, 1e-9);
  EXPECT_NEAR(h.mean_K(7.0, 7.0), 100.0 + 7.0 / 6.0, 1e-9);
  EXPECT_DOUBLE_EQ(h.mean_K(-5.0, -1.0), 100.0);  // held before the first sample
  EXPECT_THROW(h.mean_K(2.0, 1.0), std::invalid_argument);
  EXPECT_THROW(h.record(1.0, 3.0), std::invalid_argument);
  EXPECT_THROW(TemperatureHistory{}.mean_K(0, 1), std::logic_error);
}

TEST(TemperatureHistory, StepAtOneTimeWeighsBothSides) {
  TemperatureHistory h;
  h.record(0.0, 300.0);
  h.record(10.0, 300.0);
  h.record(10.0, 100.0);
  h.record(20.0, 100.0);
  EXPECT_NEAR(h.mean_K(0.0, 20.0), 200.0, 1e-12);
  EXPECT_NEAR(h.mean_K(5.0, 20.0), (5 * 300.0 + 10 * 100.0) / 15.0, 1e-12);
  h.forget_before(15.0);
  EXPECT_NEAR(h.mean_K(15.0, 20.0), 100.0, 1e-12);
}

TEST(TemperatureHistory, StageModelFeedsEveryStepOfARamp) {
  StageModel stage(7);
  TemperatureHistory h;
  stage.set_temperature_K(93.15);
  stage.set_recorder(&h);
  stage.set_rate_K_per_min(10.0);
  stage.set_limit_K(873.15);
  stage.start();
  stage.advance_to(600.0);
  EXPECT_GE(h.size(), 12000u);
  // After the start transient the stage follows 10 K/min; the mean over a 12 s window is T at its middle.
  const double mid = h.at_K(306.0);
  EXPECT_NEAR(h.mean_K(300.0, 312.0), mid, 0.01);
  EXPECT_NEAR(h.mean_K(300.0, 312.0) - h.mean_K(288.0, 300.0), 2.0, 0.05);
  EXPECT_DOUBLE_EQ(h.at_K(600.0), stage.temperature_K());
}
