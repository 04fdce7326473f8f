// The paper's cryogenic protocol, end to end through the CLI code path, against the simulated stage.
#include <cmath>

#include <gtest/gtest.h>

#include "daemon/run_command.hpp"
#include "tests/daemon/run_file_reader.hpp"
#include "tests/daemon/simulated_run.hpp"
#include "tests/stage/sim_fixture.hpp"

namespace insitu::testing {
namespace {

TEST(CryoRecipe, RunsEndToEndAndTheRunFileShowsTheProtocol) {
  const auto output = fresh_temp_dir("cryo");
  auto options = simulated_run_options(stage_only_cryo_recipe(output), output / "runs", 300.0);
  ASSERT_EQ(daemon::run_recipe(options), 0);

  const auto run_file = only_run_file(output / "runs");
  EXPECT_TRUE(std::filesystem::exists(run_file.parent_path() / "run.log"));
  const auto r = RunRecord::read(run_file);
  EXPECT_EQ(r.exit_status, "completed");
  ASSERT_GT(r.time_s.size(), 5000u);  // ~1 Hz over a ~2 h protocol
  for (std::size_t i = 1; i < r.time_s.size(); ++i) ASSERT_GT(r.time_s[i], r.time_s[i - 1]) << "row " << i;

  // One event per segment: precool/stabilise, heat, cool.
  ASSERT_EQ(r.count_events("segment"), 3);
  const double heat_begin_s = r.event_time("segment", 1);
  const double cool_begin_s = r.event_time("segment", 2);

  double start_K = NAN, peak_K = 0, sum_sq = 0;
  std::size_t in_ramp = 0;
  for (std::size_t i = 0; i < r.time_s.size(); ++i) {
    peak_K = std::max(peak_K, r.value_K[i]);
    if (r.time_s[i] >= heat_begin_s && std::isnan(start_K)) start_K = r.value_K[i];
    if (r.time_s[i] >= heat_begin_s && r.time_s[i] < cool_begin_s) {
      const double d = r.value_K[i] - r.setpoint_K[i];
      sum_sq += d * d;
      ++in_ramp;
    }
  }
  const double rms_K = std::sqrt(sum_sq / static_cast<double>(in_ramp));
  EXPECT_LE(start_K, 94.0);
  EXPECT_GE(peak_K, 872.0);
  EXPECT_NEAR(r.value_K.back(), 300.0, 1.5);
  EXPECT_GT(in_ramp, 4000u);  // 780 K at 10 K/min is 4680 s
  EXPECT_LE(rms_K, 0.2) << "setpoint tracking during the 10 K/min ramp";
  RecordProperty("ramp_tracking_rms_K", std::to_string(rms_K));
  std::filesystem::remove_all(output);
}

}  // namespace
}  // namespace insitu::testing
