#include <gtest/gtest.h>

#include <cmath>

#include "protocols/recipe/recipe.hpp"

namespace insitu::recipe {
namespace {

Recipe recipe_with(std::vector<std::variant<Hold, Ramp>> actions) {
  Recipe r{};
  r.name = "plan-test";
  r.stage = {"THMS600", 77.0, 873.15, 150.0, 1.0, std::nullopt};
  int n = 0;
  for (auto& a : actions) r.program.push_back({std::to_string(++n), a, n, false});
  return r;
}

// Closed form of the LN2-limited cooling time from hi_K down to lo_K (both below the crossover):
// t = integral dT / (60 ((T-83)/190)^1.5) min = 2 * 190^1.5 * ((lo-83)^-0.5 - (hi-83)^-0.5) s.
double ln2_limited_s(double hi_K, double lo_K) {
  return 2.0 * std::pow(190.0, 1.5) * (1.0 / std::sqrt(lo_K - 83.0) - 1.0 / std::sqrt(hi_K - 83.0));
}

// Where 60 ((T-83)/190)^1.5 equals the requested rate.
double crossover_K(double rate_K_per_min) { return 83.0 + 190.0 * std::pow(rate_K_per_min / 60.0, 2.0 / 3.0); }

TEST(Plan, ATenKelvinPerMinuteRampOfHundredKelvinTakesExactly600s) {
  const Plan plan = estimate_plan(recipe_with({Ramp{400.0, 10.0}}), 300.0);
  ASSERT_EQ(plan.segments.size(), 1u);
  EXPECT_EQ(plan.segments[0].duration_s, 600.0);
  EXPECT_EQ(plan.total_s, 600.0);
  EXPECT_EQ(plan.segments[0].start_K, 300.0);
  EXPECT_EQ(plan.segments[0].end_K, 400.0);
}

TEST(Plan, CoolingCapacityModel) {
  EXPECT_DOUBLE_EQ(max_cooling_rate_K_per_min(273.0), 60.0);
  EXPECT_DOUBLE_EQ(max_cooling_rate_K_per_min(83.0), 0.0);
  EXPECT_DOUBLE_EQ(max_cooling_rate_K_per_min(50.0), 0.0);
  EXPECT_NEAR(max_cooling_rate_K_per_min(93.15), 60.0 * std::pow(10.15 / 190.0, 1.5), 1e-12);
}

TEST(Plan, CoolingAboveTheCrossoverRunsAtTheRequestedRate) {
  // 50 K/min is sustainable down to ~251 K, so cooling 873.15 -> 300 K is not limited.
  EXPECT_NEAR(transition_time_s(873.15, 300.0, 50.0), 573.15 / 50.0 * 60.0, 1e-9);
}

TEST(Plan, LimitedCoolingMatchesTheClosedForm) {
  const double tc = crossover_K(50.0);
  const double expected_s = (295.0 - tc) / 50.0 * 60.0 + ln2_limited_s(tc, 93.15);
  EXPECT_NEAR(transition_time_s(295.0, 93.15, 50.0), expected_s, 1e-4 * expected_s);
  // Starting below the crossover: fully limited, even though 5 K/min was asked for near 100 K.
  EXPECT_NEAR(transition_time_s(120.0, 90.0, 150.0), ln2_limited_s(120.0, 90.0), 1e-4 * ln2_limited_s(120.0, 90.0));
  // Slower than the limit everywhere on the way: the requested rate.
  EXPECT_NEAR(transition_time_s(200.0, 150.0, 1.0), 50.0 * 60.0, 1e-6);
}

TEST(Plan, CoolingToTheLn2FloorIsUnbounded) {
  EXPECT_TRUE(std::isinf(transition_time_s(295.0, 80.0, 10.0)));
  const Plan plan = estimate_plan(recipe_with({Ramp{80.0, 10.0}}));
  EXPECT_TRUE(std::isinf(plan.total_s));
  EXPECT_NE(format_plan(recipe_with({Ramp{80.0, 10.0}}), plan).find("unbounded"), std::string::npos);
}

TEST(Plan, HoldsApproachThenStayForTheDurationElseTheDwell) {
  const Stabilise stable{1.0, 60.0, 3600.0};
  const Plan plan = estimate_plan(recipe_with({Hold{400.0, 20.0, 300.0, stable},  // 5 min approach + duration
                                               Hold{400.0, 50.0, std::nullopt, stable}}),  // already there + dwell
                                  300.0);
  ASSERT_EQ(plan.segments.size(), 2u);
  EXPECT_DOUBLE_EQ(plan.segments[0].duration_s, 300.0 + 300.0);
  EXPECT_DOUBLE_EQ(plan.segments[1].duration_s, 60.0);
  EXPECT_DOUBLE_EQ(plan.segments[1].start_K, 400.0);
  EXPECT_DOUBLE_EQ(plan.total_s, 660.0);
}

TEST(Plan, CryoHeatingRecipeTakesAboutTwoHours) {
  const Recipe r = load_recipe(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  const Plan plan = estimate_plan(r, 295.0);
  ASSERT_EQ(plan.segments.size(), 3u);
  // At nominal rates only: precool 201.85 K at 50 K/min (242 s) + 60 s dwell + 780 K at 10 K/min
  // (4680 s) + 573.15 K at 50 K/min (688 s) = 5670 s. The LN2 limit stretches the precool below
  // ~251 K: 2*190^1.5*(10.15^-0.5 - 168.2^-0.5) = 1240 s instead of 190 s, so ~6720 s (1 h 52 min),
  // which fits the paper's roughly two-hour run. A band of +-2% catches a wrong model, not rounding.
  EXPECT_GT(plan.total_s, 6720.0 * 0.98);
  EXPECT_LT(plan.total_s, 6720.0 * 1.02);
  EXPECT_DOUBLE_EQ(plan.segments[1].duration_s, 4680.0);
  EXPECT_GT(plan.segments[0].duration_s, 1200.0);  // LN2-limited precool dominates the overhead

  const std::string text = format_plan(r, plan);
  EXPECT_NE(text.find("1 hold 93.15 K"), std::string::npos);
  EXPECT_NE(text.find("2 ramp to 873.15 K"), std::string::npos);
  EXPECT_NE(plan.segments[0].description.find("LN2-limited below 251."), std::string::npos);
  EXPECT_EQ(plan.segments[2].description, "cool at 50 K/min");  // 300 K is above the crossover
  EXPECT_NE(text.find("total    1:52:"), std::string::npos) << text;
}

// A recipe taking `period_s` frames during the given (1-based) segments, with darks.
Recipe with_exposures(Recipe r, double period_s, std::vector<int> exposed, int darks_before,
                      int darks_after) {
  DetectorSpec detector;
  detector.trigger.connection = "serial:///dev/ttyUSB1";
  detector.frames.folder = "/data/incoming";
  r.detector = detector;
  r.exposures = ExposureSpec{period_s, exposed, darks_before, darks_after};
  for (int i : exposed) r.program[static_cast<std::size_t>(i - 1)].exposed = true;
  return r;
}

TEST(Plan, FramesAreWholeExposuresPerExposedSegment) {
  // 300 -> 400 K at 10 K/min is 600 s: 50 frames of 12 s; 400 -> 402 K is 12 s: exactly 1 more; the 610 s
  // hold (approach 0 s + 610 s) gives 50 whole frames, the last 10 s belong to no complete frame.
  const Recipe r = with_exposures(
      recipe_with({Ramp{400.0, 10.0}, Ramp{402.0, 10.0}, Hold{402.0, 10.0, 610.0, {}}, Ramp{300.0, 10.0}}),
      12.0, {1, 2, 3}, 3, 2);
  const Plan plan = estimate_plan(r, 300.0);
  ASSERT_EQ(plan.segments.size(), 4u);
  EXPECT_EQ(plan.segments[0].frames, 50.0);
  EXPECT_EQ(plan.segments[1].frames, 1.0);
  EXPECT_EQ(plan.segments[2].frames, 50.0);
  EXPECT_EQ(plan.segments[3].frames, 0.0);  // not exposed
  ASSERT_TRUE(plan.frames);
  EXPECT_EQ(plan.frames->data_frames, 101.0);
  EXPECT_EQ(plan.frames->dark_frames, 5);
  EXPECT_EQ(plan.frames->bytes_per_frame, 2048u * 2048u * 2u);
  EXPECT_EQ(plan.frames->total_bytes(), 106.0 * 8.0 * 1024 * 1024);
  EXPECT_NE(
      format_plan(r, plan).find("frames   101 data + 5 dark = 106 expected; 848 MiB raw at 8 MiB per frame"),
      std::string::npos)
      << format_plan(r, plan);
}

TEST(Plan, FramesOfAnUnboundedExposedSegmentAreUnbounded) {
  const Recipe r = with_exposures(recipe_with({Ramp{80.0, 10.0}}), 12.0, {1}, 0, 0);
  const Plan plan = estimate_plan(r);
  EXPECT_TRUE(std::isinf(plan.frames->data_frames));
  EXPECT_NE(format_plan(r, plan).find("frames   unbounded data + 0 dark"), std::string::npos);
}

TEST(Plan, CryoHeatingFramesAndDataVolume) {
  const Recipe r = load_recipe(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  const Plan plan = estimate_plan(r, 295.0);
  ASSERT_EQ(plan.segments.size(), 3u);
  // Precool hold: no frames. Heating 93.15 -> 873.15 K at 10 K/min: 780 K / 10 K/min = 78 min = 4680 s,
  // / 12 s = 390 frames (one every 2 K). Cooling 873.15 -> 300 K at 50 K/min stays above the LN2 crossover
  // (~251 K at 50 K/min): 573.15 / 50 * 60 = 687.78 s, / 12 s = 57.3 -> 57 whole frames.
  // Darks: 5 before + 5 after = 10. Total 390 + 57 + 10 = 457 frames of 2048 x 2048 uint16 = 8 MiB: 3656 MiB.
  EXPECT_EQ(plan.segments[0].frames, 0.0);
  EXPECT_EQ(plan.segments[1].frames, 390.0);
  EXPECT_EQ(plan.segments[2].frames, 57.0);
  ASSERT_TRUE(plan.frames);
  EXPECT_EQ(plan.frames->data_frames, 447.0);
  EXPECT_EQ(plan.frames->dark_frames, 10);
  EXPECT_EQ(plan.frames->total_frames(), 457.0);
  EXPECT_EQ(plan.frames->bytes_per_frame, 8u * 1024u * 1024u);
  EXPECT_EQ(plan.frames->total_bytes(), 457.0 * 8 * 1024 * 1024);
  const std::string text = format_plan(r, plan);
  EXPECT_NE(text.find("frames   447 data + 10 dark = 457 expected; 3656 MiB raw at 8 MiB per frame"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("expose   every 12 s during program items 2, 3; darks 5 before, 5 after"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace insitu::recipe
