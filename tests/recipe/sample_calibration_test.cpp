// stage.sample_calibration: the sensor -> sample mapping and its recipe key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "protocols/recipe/recipe.hpp"
#include "protocols/recipe/sample_calibration.hpp"
#include "tests/recipe/recipe_error.hpp"

namespace insitu::recipe {
namespace {

// In, Sn and Zn read 1.25, 2.42 and 4.72 K high on the block sensor.
const SampleCalibration k_melts({{431.0, 429.75}, {507.5, 505.08}, {697.4, 692.68}}, "In/Sn/Zn melting");

TEST(SampleCalibration, PassesThroughItsPoints) {
  for (const auto& p : k_melts.points()) EXPECT_DOUBLE_EQ(k_melts.sample_K(p.sensor_K), p.sample_K);
  EXPECT_EQ(k_melts.source(), "In/Sn/Zn melting");
}

TEST(SampleCalibration, InterpolatesLinearlyBetweenPoints) {
  // Halfway between Sn and Zn: halfway between their melting points.
  EXPECT_DOUBLE_EQ(k_melts.sample_K(0.5 * (507.5 + 697.4)), 0.5 * (505.08 + 692.68));
  // A quarter of the way from In to Sn.
  EXPECT_DOUBLE_EQ(k_melts.sample_K(431.0 + 0.25 * 76.5), 429.75 + 0.25 * (505.08 - 429.75));
}

TEST(SampleCalibration, ExtrapolatesTheEndSegments) {
  const double low_slope = (505.08 - 429.75) / (507.5 - 431.0);
  const double high_slope = (692.68 - 505.08) / (697.4 - 507.5);
  EXPECT_NEAR(k_melts.sample_K(93.15), 429.75 - low_slope * (431.0 - 93.15), 1e-9);
  EXPECT_NEAR(k_melts.sample_K(873.15), 692.68 + high_slope * (873.15 - 697.4), 1e-9);
}

TEST(SampleCalibration, EqualPointsAreTheIdentity) {
  const SampleCalibration identity({{100.0, 100.0}, {800.0, 800.0}});
  for (double t : {77.0, 93.15, 300.0, 692.68, 873.15}) EXPECT_DOUBLE_EQ(identity.sample_K(t), t);
  EXPECT_DOUBLE_EQ(identity.mean_uncertainty_K(300.0, 0.01, 299.0, 301.0), 0.01);
}

TEST(SampleCalibration, UncertaintyMapsThroughTheLocalSlope) {
  const double low_slope = (505.08 - 429.75) / (507.5 - 431.0);
  const double high_slope = (692.68 - 505.08) / (697.4 - 507.5);
  EXPECT_DOUBLE_EQ(k_melts.mean_uncertainty_K(450.0, 0.1, 449.0, 451.0), low_slope * 0.1);
  EXPECT_DOUBLE_EQ(k_melts.mean_uncertainty_K(600.0, 0.1, 599.0, 601.0), high_slope * 0.1);
  // A window across the Sn point: the steeper slope, plus the mapped-mean term for the kink.
  EXPECT_DOUBLE_EQ(k_melts.mean_uncertainty_K(507.5, 0.1, 506.5, 508.5),
                   std::max(low_slope, high_slope) * 0.1 + std::abs(high_slope - low_slope) * 2.0 / 4.0);
}

TEST(SampleCalibration, RejectsTablesThatAreNotAnIncreasingMapping) {
  EXPECT_THROW(SampleCalibration({{300.0, 299.0}}), std::invalid_argument);
  EXPECT_THROW(SampleCalibration({{300.0, 299.0}, {300.0, 301.0}}), std::invalid_argument);
  EXPECT_THROW(SampleCalibration({{300.0, 299.0}, {400.0, 299.0}}), std::invalid_argument);
  EXPECT_THROW(SampleCalibration({{300.0, 299.0}, {400.0, std::nan("")}}), std::invalid_argument);
}

// The stage section of a recipe; line 8 on is the calibration under test.
std::string recipe_with(std::string_view calibration) {
  return std::string(
             "insitu_recipe: 1\n"         // 1
             "name: test\n"               // 2
             "sample:\n"                  // 3
             "  name: s1\n"               // 4
             "  composition: Cu50Zr50\n"  // 5
             "stage:\n"                   // 6
             "  model: THMS600\n") +      // 7
         std::string(calibration) +       // 8..
         "program:\n"
         "  - ramp: {to_K: 873.15, rate_K_per_min: 10}\n"
         "safe_state: stop\n"
         "output:\n"
         "  directory: runs\n";
}

std::string error_of(const std::string& yaml) { return recipe_error(yaml); }

TEST(SampleCalibrationRecipe, ParsesPointsAndSource) {
  const Recipe r = parse_recipe(recipe_with("  sample_calibration:\n"
                                            "    source: \"In/Sn/Zn melting, 2026-10-02\"\n"
                                            "    points:\n"
                                            "      - {sensor_K: 431.0, sample_K: 429.75}\n"
                                            "      - {sensor_K: 507.5, sample_K: 505.08}\n"
                                            "      - {sensor_K: 697.4, sample_K: 692.68}\n"),
                                "good.yaml");
  ASSERT_TRUE(r.stage.sample_calibration);
  const auto& c = *r.stage.sample_calibration;
  EXPECT_EQ(c.source(), "In/Sn/Zn melting, 2026-10-02");
  ASSERT_EQ(c.points().size(), 3u);
  EXPECT_DOUBLE_EQ(c.points()[2].sensor_K, 697.4);
  EXPECT_DOUBLE_EQ(c.points()[2].sample_K, 692.68);
  EXPECT_DOUBLE_EQ(c.sample_K(600.0), k_melts.sample_K(600.0));
  // The limits stay the stage's, in sensor terms.
  EXPECT_DOUBLE_EQ(r.stage.max_K, 873.15);
  EXPECT_NE(format_plan(r, estimate_plan(r))
                .find("sample T sensor -> sample 431 -> 429.75 K, 507.5 -> 505.08 K, 697.4 -> 692.68 K; In/Sn/Zn "
                      "melting, 2026-10-02 (frames and analysis; program and limits stay the sensor's)\n"),
            std::string::npos);
}

TEST(SampleCalibrationRecipe, SourceIsOptionalAndNullIsAbsent) {
  const Recipe r =
      parse_recipe(recipe_with("  sample_calibration:\n"
                               "    points: [{sensor_K: 300, sample_K: 300}, {sensor_K: 700, sample_K: 695}]\n"),
                   "good.yaml");
  ASSERT_TRUE(r.stage.sample_calibration);
  EXPECT_EQ(r.stage.sample_calibration->source(), "");
  EXPECT_FALSE(parse_recipe(recipe_with("  sample_calibration: null\n"), "good.yaml").stage.sample_calibration);
}

TEST(SampleCalibrationRecipe, BadTablesPointAtTheProblem) {
  EXPECT_EQ(error_of(recipe_with("  sample_calibration:\n"
                                 "    points: [{sensor_K: 300, sample_K: 300}]\n")),
            "bad.yaml:9:13: points: expected a list of at least two {sensor_K, sample_K}, got 1 point(s)");
  EXPECT_EQ(error_of(recipe_with("  sample_calibration: {source: x}\n")),
            "bad.yaml:8:3: missing required key 'points' in sample_calibration");
  EXPECT_EQ(error_of(recipe_with("  sample_calibration:\n"
                                 "    points:\n"
                                 "      - {sensor_K: 431.0, sample_K: 429.75}\n"
                                 "      - {sensor_K: 431.0, sample_K: 432}\n")),
            "bad.yaml:11:9: points[2]: sensor_K 431 must be above the previous point's 431");
  EXPECT_EQ(error_of(recipe_with("  sample_calibration:\n"
                                 "    points:\n"
                                 "      - {sensor_K: 431.0, sample_K: 429.75}\n"
                                 "      - {sensor_K: 440, sample_K: 420}\n")),
            "bad.yaml:11:9: points[2]: sample_K 420 must be above the previous point's 429.75 (a calibration must "
            "increase)");
  EXPECT_EQ(error_of(recipe_with("  sample_calibration:\n"
                                 "    points:\n"
                                 "      - {sensor_K: 431.0, sample_K: 429.75}\n"
                                 "      - {sensor_K: 507.5, sample_K: 580}\n")),
            "bad.yaml:11:9: points[2]: sample_K 580 is 72.5 K from sensor_K 507.5 (at most 50 K)");
  EXPECT_EQ(error_of(recipe_with("  sample_calibration:\n"
                                 "    points:\n"
                                 "      - {sensor_K: 60, sample_K: 61}\n"
                                 "      - {sensor_K: 507.5, sample_K: \"505\", colour: red}\n")),
            "bad.yaml:10:20: sensor_K: 60 K is outside 77..873.15 K\n"
            "bad.yaml:10:34: sample_K: 61 K is outside 77..873.15 K\n"
            "bad.yaml:11:37: sample_K: expected a number, got the quoted string \"505\"\n"
            "bad.yaml:11:44: unknown key 'colour' in points[2] (expected one of: sensor_K, sample_K)");
}

}  // namespace
}  // namespace insitu::recipe
