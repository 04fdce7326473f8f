// TRIOS export simulator: every layout parses back to the simulated sweep; ground truth side file.
#include <cmath>
#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "drivers/dhr3/simulator.hpp"
#include "drivers/dhr3/sweep.hpp"
#include "drivers/dhr3/trios.hpp"

namespace insitu::dhr3 {
namespace {

void expect_equal_to_sweep(const Export& ex, const SimulatedSweep& sweep) {
  ASSERT_EQ(ex.steps.size(), 1u);
  const Step& s = ex.steps[0];
  EXPECT_EQ(s.name, step_name(sweep));
  ASSERT_EQ(s.row_count(), sweep.rows.size());
  const auto& T = s.at("Temperature").values;
  const auto& f = s.at("Frequency").values;
  const auto& t = s.at("Step time").values;
  const auto& E1 = s.at("Storage modulus").values;
  const auto& E2 = s.at("Loss modulus").values;
  const auto& tan_delta = s.at("Tan(delta)").values;
  const auto& strain = s.at("Oscillation strain").values;
  const auto& status = s.at("Status bits");
  ASSERT_TRUE(status.is_text);
  for (std::size_t i = 0; i < sweep.rows.size(); ++i) {
    const SimRow& r = sweep.rows[i];
    // Shortest round-trip printing: exact, except where a unit change (°C, min, MPa) re-rounds.
    ASSERT_NEAR(T[i], r.temperature_K, 1e-9) << i;
    ASSERT_EQ(f[i], r.frequency_Hz) << i;
    ASSERT_EQ(tan_delta[i], r.tan_delta) << i;
    ASSERT_NEAR(t[i], r.step_time_s, 1e-9 * (1 + r.step_time_s)) << i;
    ASSERT_NEAR(E1[i], r.storage_Pa, 1e-12 * r.storage_Pa) << i;
    ASSERT_NEAR(E2[i], r.loss_Pa, 1e-12 * std::abs(r.loss_Pa)) << i;
    ASSERT_NEAR(strain[i], r.strain, 1e-15) << i;
    ASSERT_EQ(status.text[i], "0x120B6457") << i;
  }
}

class SimulatorLayouts : public ::testing::TestWithParam<Layout> {};

std::string write(Layout layout, const SimulatedSweep& sweep) {
  switch (layout) {
    case Layout::lims: return write_lims(sweep);
    case Layout::text: return write_text(sweep);
    case Layout::json: return write_json(sweep);
    case Layout::csv: break;
  }
  throw std::invalid_argument("no CSV writer");
}

TEST_P(SimulatorLayouts, ParsesBackEqualInBending) {
  const auto sweep = simulate_sweep(paper_sweep(SimGeometry::three_point_bending));
  const auto ex = parse_export(write(GetParam(), sweep));
  EXPECT_EQ(ex.layout, GetParam());
  EXPECT_EQ(ex.meta.serial_number, sweep.config.serial_number);
  EXPECT_EQ(ex.meta.modulus, ModulusKind::young_E);
  EXPECT_EQ(ex.meta.sample, sweep.config.sample);
  EXPECT_EQ(ex.meta.run_date, GetParam() == Layout::json ? "2024-03-14T09:30:00Z" : "3/14/2024 9:30:00 AM");
  expect_equal_to_sweep(ex, sweep);
  // 7 frequencies, float32-stored, grouped back to their nominal values.
  const auto groups = group_by_frequency(ex.steps[0]);
  ASSERT_EQ(groups.size(), sweep.config.frequencies_Hz.size());
  for (std::size_t i = 0; i < groups.size(); ++i)
    EXPECT_NEAR(groups[i].frequency_Hz, sweep.config.frequencies_Hz[i], 1e-7 * sweep.config.frequencies_Hz[i]);
}

TEST_P(SimulatorLayouts, TorsionIsShearModulusUpTo60Hz) {
  const auto sweep = simulate_sweep(paper_sweep(SimGeometry::torsion));
  const auto ex = parse_export(write(GetParam(), sweep));
  EXPECT_EQ(ex.meta.modulus, ModulusKind::shear_G);
  EXPECT_EQ(group_by_frequency(ex.steps[0]).size(), 9u);
  expect_equal_to_sweep(ex, sweep);
}

INSTANTIATE_TEST_SUITE_P(Layouts, SimulatorLayouts, ::testing::Values(Layout::lims, Layout::text, Layout::json),
                         [](const auto& p) { return std::string(to_string(p.param)); });

TEST(Simulator, SweepCoversTheProtocol) {
  const auto c = paper_sweep();
  const auto sweep = simulate_sweep(c);
  // 123.15 -> 873.15 K in 1 K cycles over 7 frequencies: 751 cycles, the last one cut at 873.15 K.
  EXPECT_EQ(sweep.rows.size(), 750u * 7u + 1u);
  EXPECT_DOUBLE_EQ(sweep.rows.front().temperature_K, 123.15);
  EXPECT_NEAR(sweep.rows.back().temperature_K, 873.15, 1e-9);
  EXPECT_NEAR(sweep.rows.back().step_time_s, 750.0 / 5.0 * 60.0, 1e-6);  // 5 K/min
  EXPECT_EQ(sweep.rows[1].frequency_Hz, static_cast<double>(0.1f));
  EXPECT_NE(sweep.rows[1].frequency_Hz, 0.1);  // float32 artefact, as the instrument writes it
  for (const auto& r : sweep.rows) {
    ASSERT_DOUBLE_EQ(r.loss_Pa, r.storage_Pa * r.tan_delta);
    ASSERT_GT(r.storage_Pa, 0.0);
  }
}

TEST(Simulator, NoiseIsSeeded) {
  auto c = paper_sweep();
  EXPECT_EQ(write_lims(simulate_sweep(c)), write_lims(simulate_sweep(c)));
  auto other = c;
  other.seed = 7;
  EXPECT_NE(write_lims(simulate_sweep(c)), write_lims(simulate_sweep(other)));
  c.noise_tan_delta = 0.0;
  const auto clean = simulate_sweep(c);
  for (const auto& r : clean.rows)
    ASSERT_DOUBLE_EQ(r.tan_delta, model_tan_delta(c, r.temperature_K, c.frequencies_Hz[static_cast<std::size_t>(
                                                                          &r - clean.rows.data()) % 7]));
}

TEST(Simulator, PeaksShiftByArrhenius) {
  const auto c = paper_sweep();
  for (const auto& t : c.transitions) {
    EXPECT_NEAR(t.peak_K(1.0), t.peak_K_at_1Hz, 1e-9);
    // ln f = ln f0 − E_a/(k_B T_p) holds at every frequency.
    for (double f : {0.05, 15.0})
      EXPECT_NEAR(std::log(f), std::log(t.f0_Hz()) - t.activation_energy_eV / (boltzmann_eV_per_K * t.peak_K(f)), 1e-9);
  }
  // Noise-free tan δ at 1 Hz peaks at T_p of γ and β (local maxima on the model curve).
  for (const auto& t : c.transitions) {
    if (t.name == "alpha") continue;
    const double Tp = t.peak_K(1.0);
    EXPECT_GT(model_tan_delta(c, Tp, 1.0) - c.baseline_slope_per_K * (Tp - c.start_K),
              model_tan_delta(c, Tp - 15.0, 1.0) - c.baseline_slope_per_K * (Tp - 15.0 - c.start_K))
        << t.name;
  }
}

TEST(Simulator, GroundTruthSideFile) {
  const auto sweep = simulate_sweep(paper_sweep());
  const auto j = nlohmann::json::parse(ground_truth_json(sweep));
  ASSERT_EQ(j["transitions"].size(), 3u);
  const double expected_eV[] = {0.28, 1.29, 7.51};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& t = j["transitions"][i];
    const auto& truth = sweep.config.transitions[i];
    EXPECT_EQ(t["name"], truth.name);
    EXPECT_DOUBLE_EQ(t["activation_energy_eV"].get<double>(), expected_eV[i]);
    EXPECT_DOUBLE_EQ(t["f0_Hz"].get<double>(), truth.f0_Hz());
    ASSERT_EQ(t["peak_temperature_K"].size(), 7u);
    for (const auto& p : t["peak_temperature_K"])
      EXPECT_DOUBLE_EQ(p["T_p_K"].get<double>(), truth.peak_K(p["frequency_Hz"].get<double>()));
  }
  EXPECT_EQ(j["excess_wing"]["name"], "excess wing");
  EXPECT_DOUBLE_EQ(j["heating_rate_K_per_min"].get<double>(), 5.0);
}

}  // namespace
}  // namespace insitu::dhr3
