// analyse_sweep on the simulator's exports (LIMS, text, JSON, converted by dhr3::dma_curves): E_a and T_p(f)
// recovered from the model's truth, with set windows and with automatically found ones; the Fig. 3 intervals on T
// and T/T_g.
#include "analysis/dma/overlay.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <ostream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drivers/dhr3/simulator.hpp"
#include "drivers/dhr3/sweep.hpp"

namespace insitu::dma {
namespace {

using Writer = std::function<std::string(const dhr3::SimulatedSweep&)>;

const dhr3::SimulatedSweep& bending_sweep() {
  static const auto sweep = dhr3::simulate_sweep(dhr3::paper_sweep(dhr3::SimGeometry::three_point_bending));
  return sweep;
}

// The export's one heating sweep.
Sweep sweep_of(const std::string& export_text) {
  auto sweeps = pool_curves(dhr3::dma_curves(dhr3::parse_export(export_text)).curves);
  if (sweeps.size() != 1) throw std::runtime_error("expected one sweep, got " + std::to_string(sweeps.size()));
  return sweeps.front();
}

const dhr3::SimTransition& truth(const dhr3::SweepConfig& c, const std::string& name) {
  for (const auto& t : c.transitions)
    if (t.name == name) return t;
  throw std::invalid_argument("no simulated transition " + name);
}

// T_p within 2 K up to 15 Hz; E_a within 5 % (γ, β) and 10 % (α).
void expect_recovered(const DmaAnalysis& a, const dhr3::SweepConfig& config) {
  ASSERT_EQ(a.transitions.size(), 3u);
  const char* names[] = {"gamma", "beta", "alpha"};  // ascending temperature
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& t = a.transitions[i];
    ASSERT_EQ(t.name, names[i]);
    const auto& want = truth(config, t.name);
    // Every frequency up to 15 Hz is fitted (above, γ may merge into β's flank).
    const auto upto_15Hz = [](auto&& fs) { return std::count_if(fs.begin(), fs.end(), [](double f) { return f <= 15.5; }); };
    std::vector<double> fitted;
    for (const auto& f : t.fits) fitted.push_back(f.frequency_Hz);
    EXPECT_EQ(upto_15Hz(fitted), upto_15Hz(config.frequencies_Hz)) << t.name << ": " << t.note;
    // Above 15 Hz (torsion: 30, 60 Hz) γ and β pull each other's flanks in single-peak fits: 5 K.
    for (const auto& f : t.fits)
      EXPECT_NEAR(f.peak_K, want.peak_K(f.frequency_Hz), f.frequency_Hz <= 15.5 ? 2.0 : 5.0)
          << t.name << " at " << f.frequency_Hz << " Hz";
    ASSERT_TRUE(t.arrhenius) << t.name << ": " << t.note;
    const double tol = t.name == "alpha" ? 0.10 : 0.05;
    EXPECT_NEAR(t.arrhenius->activation_energy_eV, want.activation_energy_eV, tol * want.activation_energy_eV)
        << t.name;
  }
}

struct LayoutCase {
  const char* name;
  Writer write;
  friend void PrintTo(const LayoutCase& c, std::ostream* os) { *os << c.name; }
};

class SweepLayouts : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(SweepLayouts, RecoversActivationEnergiesAndPeakTemperatures) {
  const auto& sweep = bending_sweep();
  const auto a = analyse_sweep(sweep_of(GetParam().write(sweep)), cu_zr_glass_settings());
  EXPECT_FALSE(a.automatic_windows);
  expect_recovered(a, sweep.config);
  // Table I order: α, β, γ.
  EXPECT_THAT(a.table, ::testing::MatchesRegex("Relaxation[^\n]*\nα\t7\\.[^\n]*\nβ\t1\\.[^\n]*\nγ\t0\\.[^\n]*\n"));
}

INSTANTIATE_TEST_SUITE_P(Simulator, SweepLayouts,
                         ::testing::Values(LayoutCase{"lims", dhr3::write_lims}, LayoutCase{"text", dhr3::write_text},
                                           LayoutCase{"json", dhr3::write_json}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// No windows and no crystallisation temperature given: the maximum where crystallisation cuts the α
// background (at the low frequencies) does not move with frequency and is set aside, not called α.
TEST(AnalyseSweep, FindsTheTransitionsWithoutWindows) {
  const auto& sweep = bending_sweep();
  const auto a = analyse_sweep(sweep_of(dhr3::write_lims(sweep)), DmaSettings{});
  EXPECT_TRUE(a.automatic_windows);
  expect_recovered(a, sweep.config);
  EXPECT_THAT(a.note, ::testing::HasSubstr("is not a relaxation"));
}

TEST(AnalyseSweep, FindsTheTransitionsWithoutWindowsInTorsionTo60Hz) {
  const auto sweep = dhr3::simulate_sweep(dhr3::paper_sweep(dhr3::SimGeometry::torsion));
  const auto a = analyse_sweep(sweep_of(dhr3::write_json(sweep)), DmaSettings{});
  expect_recovered(a, sweep.config);
}

TEST(AnalyseSweep, IntervalsOnTheReducedAxisSpanThePeaks) {
  const auto& sweep = bending_sweep();
  const auto a = analyse_sweep(sweep_of(dhr3::write_lims(sweep)), cu_zr_glass_settings());
  const double tg_K = 709.0;
  const auto intervals = transition_intervals_on_reduced_axis(a, tg_K);
  ASSERT_EQ(intervals.size(), 3u);
  const double f_lo = sweep.config.frequencies_Hz.front(), f_hi = sweep.config.frequencies_Hz.back();
  for (const auto& iv : intervals) {
    const auto& want = truth(sweep.config, iv.name);
    // Peaks move up with frequency: the band runs from T_p(0.05 Hz) to T_p(15 Hz).
    EXPECT_NEAR(iv.lo_frequency_Hz, f_lo, 1e-6 * f_lo) << iv.name;
    EXPECT_NEAR(iv.hi_frequency_Hz, f_hi, 1e-6 * f_hi) << iv.name;
    EXPECT_NEAR(iv.lo_K, want.peak_K(f_lo), 2.0) << iv.name;
    EXPECT_NEAR(iv.hi_K, want.peak_K(f_hi), 2.0) << iv.name;
    EXPECT_DOUBLE_EQ(iv.lo_reduced, iv.lo_K / tg_K);
    EXPECT_DOUBLE_EQ(iv.hi_reduced, iv.hi_K / tg_K);
    EXPECT_EQ(iv.frequencies, sweep.config.frequencies_Hz.size());
  }
  EXPECT_LT(intervals[1].hi_reduced, 1.0);  // β lies in the glass
  EXPECT_GT(intervals[2].hi_reduced, 1.0);  // α reaches above T_g
  EXPECT_THROW(transition_intervals_on_reduced_axis(a, 0.0), std::invalid_argument);
}

TEST(AnalyseSweep, ASweepWithoutFrequenciesIsRejected) {
  Sweep empty;
  empty.name = "Conditioning";
  EXPECT_THROW(analyse_sweep(empty, {}), std::invalid_argument);
}

}  // namespace
}  // namespace insitu::dma
