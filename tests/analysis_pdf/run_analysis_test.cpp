#include "analysis/pdf/run_analysis.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>

namespace insitu::analysis {
namespace {

// The paper's ramp: 93.15 -> 873.15 K at 10 K/min with 12 s frames (2 K apart), with a little timing jitter so
// the grid is non-uniform.
std::vector<double> ramp_temperatures(std::mt19937& rng) {
  std::uniform_real_distribution<double> jitter(-0.4, 0.4);
  std::vector<double> t;
  for (double x = 93.15; x <= 873.15; x += 2.0) t.push_back(x + jitter(rng));
  return t;
}

TEST(RunAnalysis, LocalPolynomialIsExactForQuadraticsOnNonUniformGrid) {
  std::mt19937 rng(1);
  const auto t = ramp_temperatures(rng);
  std::vector<double> y(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) y[i] = 3.0 - 0.01 * t[i] + 2e-5 * t[i] * t[i];
  const auto sm = local_polynomial_smooth(t, y, 30.0, 2);
  for (std::size_t i = 0; i < t.size(); ++i) {
    EXPECT_NEAR(sm.value[i], y[i], 1e-9);
    EXPECT_NEAR(sm.derivative[i], -0.01 + 4e-5 * t[i], 1e-10);
  }
}

TEST(RunAnalysis, SmoothingReducesNoiseOnDerivative) {
  std::mt19937 rng(2);
  const auto t = ramp_temperatures(rng);
  std::normal_distribution<double> noise(0.0, 0.002);
  std::vector<double> y(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) y[i] = -1.0 + 1e-4 * t[i] + noise(rng);
  const auto sm = local_polynomial_smooth(t, y, 40.0, 2);
  double ss_smooth = 0.0, ss_raw = 0.0;
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    ss_smooth += std::pow(sm.derivative[i] - 1e-4, 2);
    ss_raw += std::pow((y[i + 1] - y[i]) / (t[i + 1] - t[i]) - 1e-4, 2);
  }
  EXPECT_LT(std::sqrt(ss_smooth), 0.1 * std::sqrt(ss_raw));
  EXPECT_THROW(local_polynomial_smooth(t, y, 3.0, 2), std::invalid_argument);
}

TEST(RunAnalysis, HeatingRateAndEquivalentHeatFlow) {
  std::vector<double> time_s, temp_K;
  for (int i = 0; i < 100; ++i) {
    time_s.push_back(12.0 * i);
    temp_K.push_back(93.15 + 12.0 * i / 6.0 + (i % 2 ? 0.05 : -0.05));
  }
  const double beta = heating_rate_K_per_s(time_s, temp_K);
  EXPECT_NEAR(beta, 10.0 / 60.0, 1e-4);
  const auto phi = equivalent_heat_flow(std::vector<double>{700.0}, std::vector<double>{0.002}, beta);
  EXPECT_NEAR(phi[0], 700.0 * 0.002 * beta, 1e-12);  // J/(mol K^2) * K * K/s = W/mol
}

TEST(RunAnalysis, HingeRecoversGlassTransitionWithinInterval) {
  // S_eq(T) with a kink at 709 K (slope 4e-4 -> 1.6e-3 per K) and noise; repeated over seeds to check coverage.
  constexpr double tg = 709.0;
  int covered = 0;
  constexpr int trials = 20;
  for (int seed = 0; seed < trials; ++seed) {
    std::mt19937 rng(100 + seed);
    const auto t = ramp_temperatures(rng);
    std::normal_distribution<double> noise(0.0, 0.01);
    std::vector<double> y(t.size());
    for (std::size_t i = 0; i < t.size(); ++i)
      y[i] = -3.0 + 4e-4 * (t[i] - tg) + (t[i] > tg ? 1.2e-3 * (t[i] - tg) : 0.0) + noise(rng);
    const auto fit = fit_hinge(t, y);
    EXPECT_LE(fit.ci_low_K, fit.T_break_K);
    EXPECT_GE(fit.ci_high_K, fit.T_break_K);
    EXPECT_LT(fit.ci_high_K - fit.ci_low_K, 60.0);
    EXPECT_NEAR(fit.T_break_K, tg, 30.0);
    EXPECT_NEAR(fit.slope_below, 4e-4, 1e-4);
    EXPECT_NEAR(fit.slope_above, 1.6e-3, 2e-4);
    if (fit.ci_low_K <= tg && tg <= fit.ci_high_K) ++covered;
    if (seed == 0)
      std::cout << "[pdf] hinge: T_g=" << fit.T_break_K << " K, 95 % CI [" << fit.ci_low_K << ", " << fit.ci_high_K
                << "] K (true 709 K, noise 0.01, 391 points)\n";
  }
  std::cout << "[pdf] hinge: 95 % interval covered 709 K in " << covered << "/" << trials << " noisy trials\n";
  EXPECT_GE(covered, 16);  // nominal 95 %: 19 of 20; allow sampling scatter
}

TEST(RunAnalysis, HingeExactOnNoiselessKink) {
  std::vector<double> t, y;
  for (int i = 0; i < 50; ++i) {
    t.push_back(600.0 + 4.0 * i);
    y.push_back(t.back() < 713.0 ? 1.0 : 1.0 + 0.01 * (t.back() - 713.0));
  }
  const auto fit = fit_hinge(t, y);
  EXPECT_NEAR(fit.T_break_K, 713.0, 1e-3);
  EXPECT_NEAR(fit.slope_above, 0.01, 1e-8);
  EXPECT_THROW(fit_hinge(std::vector<double>{1, 2, 3}, std::vector<double>{1, 2, 3}), std::invalid_argument);
}

// One damaged frame (S_eq off by ~40 times the noise, as a half-read frame gives) moves the least-squares break by
// tens of kelvin; the robust fit drops it and no other point.
TEST(RunAnalysis, RobustHingeDropsADamagedFrame) {
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 0.002);
  std::vector<double> t, y;
  for (double T = 650.0; T <= 770.0; T += 2.0) {
    t.push_back(T);
    y.push_back(-1.6 + 3e-4 * (T - 709.0) + (T > 709.0 ? 7e-4 * (T - 709.0) : 0.0) + noise(rng));
  }
  const std::size_t damaged = 44;  // 738 K, in the liquid
  y[damaged] -= 0.08;
  const auto plain = fit_hinge(t, y);
  const auto robust = fit_hinge_robust(t, y);
  EXPECT_GT(std::abs(plain.T_break_K - 709.0), 8.0);
  EXPECT_NEAR(robust.T_break_K, 709.0, 4.0);
  EXPECT_EQ(robust.outliers, 1u);
  y[damaged] += 0.08;  // clean data: nothing dropped, the plain fit
  const auto clean = fit_hinge_robust(t, y);
  EXPECT_EQ(clean.outliers, 0u);
  EXPECT_DOUBLE_EQ(clean.T_break_K, fit_hinge(t, y).T_break_K);
  EXPECT_THROW(fit_hinge_robust(t, y, 0.0), std::invalid_argument);
}

// A spike is flagged; a steep monotonic drop (crystallisation: -20 over 9 frames), a step, a kink and the noisier
// crystal after it are not.
TEST(RunAnalysis, IsolatedOutliersAreSpikesNotTrends) {
  std::mt19937 rng(8);
  std::normal_distribution<double> noise(0.0, 0.002);
  std::vector<double> y;
  for (int i = 0; i < 200; ++i) {
    double v = -1.6 + 3e-4 * i + (i > 80 ? 7e-4 * (i - 80) : 0.0) + (i >= 120 ? -0.5 : 0.0);
    if (i >= 150) v -= 20.0 * std::min(1.0, (i - 150) / 9.0);
    y.push_back(v + (i >= 165 ? 50.0 : 1.0) * noise(rng));  // the crystal's S_eq is far noisier
  }
  y[60] -= 0.05;  // a damaged frame, 25 sigma off
  const auto flagged = isolated_outliers(y);
  ASSERT_EQ(flagged.size(), y.size());
  EXPECT_TRUE(flagged[60]);
  EXPECT_EQ(std::count(flagged.begin(), flagged.end(), true), 1);
  const auto short_series = isolated_outliers(std::vector<double>{1, 2, 9});
  EXPECT_EQ(std::count(short_series.begin(), short_series.end(), true), 0);
}

TEST(RunAnalysis, HeatFlowFeaturesOnTgAxis) {
  // Two peaks (520 K and 650 K) on a baseline that changes slope at 760 K.
  std::vector<double> t, phi;
  for (double x = 300.0; x <= 860.0; x += 1.0) {
    t.push_back(x);
    phi.push_back(0.5 * std::exp(-std::pow(x - 520.0, 2) / (2 * 8.0 * 8.0)) +
                  0.3 * std::exp(-std::pow(x - 650.0, 2) / (2 * 8.0 * 8.0)) + (x > 760.0 ? 0.01 * (x - 760.0) : 0.0));
  }
  const auto features = heat_flow_features(t, phi, 709.0, 0.1, 2e-4, 10.0);
  std::vector<double> peaks, kinks;
  for (const auto& f : features) (f.kind == HeatFlowFeature::Kind::peak ? peaks : kinks).push_back(f.T_K);
  ASSERT_EQ(peaks.size(), 2u);
  EXPECT_NEAR(peaks[0], 520.0, 2.0);
  EXPECT_NEAR(peaks[1], 650.0, 2.0);
  bool kink_found = false;
  for (double k : kinks) kink_found |= std::abs(k - 760.0) <= 6.0;
  EXPECT_TRUE(kink_found);
  for (const auto& f : features) EXPECT_DOUBLE_EQ(f.T_over_Tg, f.T_K / 709.0);
}

}  // namespace
}  // namespace insitu::analysis
