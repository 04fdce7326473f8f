#include "analysis/pdf/pair_entropy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numbers>

#include "analysis/pdf/reduction.hpp"
#include "tests/test_data.hpp"

namespace insitu::analysis {
namespace {

constexpr double pi = std::numbers::pi;
constexpr double rho0 = paper_nominal_rho0_per_cubic_angstrom;

std::vector<double> tabulate(const std::vector<double>& r, auto&& fn) {
  std::vector<double> out(r.size());
  std::transform(r.begin(), r.end(), out.begin(), fn);
  return out;
}

// A glass-like g(r): a hard core at 2.4 A, then a damped oscillation with its first maximum at 2.75 A.
double glass_g(double r) {
  const double cut = 1.0 / (1.0 + std::exp(-(r - 2.4) / 0.07));
  const double shell = 1.0 + 1.8 * std::exp(-(r - 2.75) / 1.6) * std::cos(2.0 * pi * (r - 2.75) / 2.45);
  return std::max(0.0, cut * shell);
}

TEST(PairEntropy, HardSphereStepIsAnalytic) {
  // g = 0 below sigma, 1 above: S = -2 pi rho0 sigma^3 / 3 (k_B per atom).
  const double sigma = 2.5;
  const auto r = r_grid(0.0, 1e-4, 10.0);
  const auto g = tabulate(r, [&](double x) { return x < sigma ? 0.0 : 1.0; });
  const auto s = pair_entropy(r, g, rho0, 10.0);
  const double exact = -2.0 * pi * rho0 * std::pow(sigma, 3) / 3.0;
  EXPECT_NEAR(s.per_atom_k_B, exact, 1e-3 * std::abs(exact));
  EXPECT_NEAR(s.J_per_mol_K, exact * gas_constant_J_per_mol_K, 1e-3 * std::abs(exact) * gas_constant_J_per_mol_K);
}

TEST(PairEntropy, ConstantPlateauUsesTheLogBranch) {
  // g = c on [0, R), 1 beyond: S = -2 pi rho0 (c ln c - c + 1) R^3 / 3.
  const double c = 2.5, big_r = 3.0;
  const auto r = r_grid(0.0, 1e-4, 8.0);
  const auto g = tabulate(r, [&](double x) { return x < big_r ? c : 1.0; });
  const double exact = -2.0 * pi * rho0 * (c * std::log(c) - c + 1.0) * std::pow(big_r, 3) / 3.0;
  EXPECT_NEAR(pair_entropy(r, g, rho0, 8.0).per_atom_k_B, exact, 1e-3 * std::abs(exact));
}

TEST(PairEntropy, NegativeRipplesCountAsTheZeroLimit) {
  const auto r = r_grid(0.0, 0.01, 4.0);
  const auto g_neg = tabulate(r, [](double x) { return x < 2.0 ? -0.3 : 1.0; });
  const auto g_zero = tabulate(r, [](double x) { return x < 2.0 ? 0.0 : 1.0; });
  EXPECT_DOUBLE_EQ(pair_entropy(r, g_neg, rho0, 4.0).per_atom_k_B, pair_entropy(r, g_zero, rho0, 4.0).per_atom_k_B);
}

TEST(PairEntropy, GaussianPeakAgainstFineSimpson) {
  // A Gaussian first shell on a flat background: coarse (0.01 A) trapezoid vs composite Simpson at 1e-5 A.
  auto g_of = [](double x) { return 1.0 + 2.0 * std::exp(-std::pow(x - 2.7, 2) / (2 * 0.15 * 0.15)); };
  const double r_max = 6.0;
  const int n = 600000;
  const double h = r_max / n;
  double simpson = 0.0;
  for (int i = 0; i <= n; ++i) {
    const double x = i * h, g = g_of(x);
    const double w = (i == 0 || i == n) ? 1.0 : (i % 2 ? 4.0 : 2.0);
    simpson += w * (g * std::log(g) - g + 1.0) * x * x;
  }
  simpson *= h / 3.0 * (-2.0 * pi * rho0);
  const auto r = r_grid(0.0, 0.01, r_max);
  const auto s = pair_entropy(r, tabulate(r, g_of), rho0, r_max);
  EXPECT_NEAR(s.per_atom_k_B, simpson, 1e-4 * std::abs(simpson));
  EXPECT_LT(s.per_atom_k_B, 0.0);
}

TEST(PairEntropy, DensityFromSlopeAndGofRInverse) {
  const auto r = r_grid(0.0, 0.01, 2.0);
  const auto big_g = tabulate(r, [](double x) { return -4.0 * pi * rho0 * x; });
  const auto fit = fit_number_density(r, big_g, 0.0, 2.0);
  EXPECT_NEAR(fit.rho0_per_cubic_angstrom, rho0, 1e-12);
  const auto g = pair_correlation(r, big_g, rho0);
  for (double v : g) EXPECT_NEAR(v, 0.0, 1e-12);
  EXPECT_THROW(fit_number_density(r, big_g, 5.0, 6.0), std::invalid_argument);
}

TEST(PairEntropy, RoundTripGlassThroughStructureFactor) {
  // g -> S(Q) on 0 < Q <= 25 -> F -> G -> g: recovers g, the density from the 0.5-1.8 A slope, and S_eq.
  const auto r_fine = r_grid(0.0, 0.005, 30.0);
  const auto g_true = tabulate(r_fine, glass_g);
  std::vector<double> q;
  for (double x = 0.02; x <= 25.0; x += 0.02) q.push_back(x);
  const auto s = structure_factor_from_g(r_fine, g_true, rho0, q);
  std::vector<double> f(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) f[i] = q[i] * (s[i] - 1.0);
  const auto r = r_grid(0.0, 0.01, 12.0);
  const auto big_g = sine_transform(q, f, 0.0, 25.0, r);
  const auto density = fit_number_density(r, big_g, 0.5, 1.8);
  EXPECT_NEAR(density.rho0_per_cubic_angstrom, rho0, 0.01 * rho0);
  const auto g_back = pair_correlation(r, big_g, density.rho0_per_cubic_angstrom);
  double worst = 0.0;
  for (std::size_t i = 0; i < r.size(); ++i)
    if (r[i] >= 1.0) worst = std::max(worst, std::abs(g_back[i] - glass_g(r[i])));
  EXPECT_LT(worst, 0.03);
  const auto s_true = pair_entropy(r, tabulate(r, glass_g), rho0, 10.0);
  const auto s_back = pair_entropy(r, g_back, density.rho0_per_cubic_angstrom, 10.0);
  EXPECT_NEAR(s_back.per_atom_k_B, s_true.per_atom_k_B, 0.02 * std::abs(s_true.per_atom_k_B));
}

TEST(PairEntropy, ReductionRecoversAbsoluteScaleOfSyntheticAlloy) {
  // Forward model of a measurement: I = A (<f^2> + <f>^2 (S - 1) + I_inc) + B for Cu44Zr44Al8Hf2Co2, then the
  // full reduction. Checks the absolute normalisation rule on a case where the truth is known.
  const auto table = FormFactorTable::load(testdata::form_factor_table());
  const Composition alloy{{"Cu", 44}, {"Zr", 44}, {"Al", 8}, {"Hf", 2}, {"Co", 2}};
  const auto r_fine = r_grid(0.0, 0.005, 30.0);
  const auto g_true = tabulate(r_fine, glass_g);
  std::vector<double> q;
  for (double x = 0.3; x <= 24.0; x += 0.01) q.push_back(x);
  const auto s = structure_factor_from_g(r_fine, g_true, rho0, q);
  const auto avg = form_factor_averages(table, alloy, q);
  const auto coherent = coherent_intensity(s, avg);
  const double a = 40.0;
  std::vector<double> intensity(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) intensity[i] = a * (coherent[i] + avg.incoherent[i]);

  ReductionParams p;
  p.qmaxinst_inv_angstrom = 24.0;
  p.qmax_inv_angstrom = 23.0;
  p.rmax_angstrom = 12.0;
  p.composition = alloy;
  const auto pdf = reduce(q, intensity, std::nullopt, p, table);
  std::cout << "[pdf] synthetic alloy: A=" << pdf.intensity_scale << " (true 40), filtered rho0(1-2 A)="
            << fit_number_density_filtered(pdf, 1.0, 2.0).rho0_per_cubic_angstrom << " (true " << rho0 << ")\n";
  EXPECT_NEAR(pdf.intensity_scale, a, 0.05 * a);
  // The hard core starts at 2.4 A; the polynomial-filtered line fit on 1-2 A gives the density.
  EXPECT_NEAR(fit_number_density_filtered(pdf, 1.0, 2.0).rho0_per_cubic_angstrom, rho0, 0.1 * rho0);
  const auto g = pair_correlation(pdf.r, pdf.g, rho0);
  double ss = 0.0, n = 0.0;
  for (std::size_t i = 0; i < pdf.r.size(); ++i)
    if (pdf.r[i] >= 2.0 && pdf.r[i] <= 10.0) {
      ss += std::pow(g[i] - glass_g(pdf.r[i]), 2);
      n += 1.0;
    }
  EXPECT_LT(std::sqrt(ss / n), 0.05);

  // With an extra flat background the optional B term of the scale fit takes it up.
  for (auto& v : intensity) v += 250.0;
  p.scale_fit_flat_background = true;
  const auto with_flat = reduce(q, intensity, std::nullopt, p, table);
  EXPECT_NEAR(with_flat.intensity_scale, a, 0.05 * a);
  EXPECT_NEAR(with_flat.flat_background, 250.0, 0.1 * 250.0);
}

TEST(PairEntropy, CoherentIntensityIsLaueTermAtSEqualsOne) {
  const auto table = FormFactorTable::load(testdata::form_factor_table());
  const std::vector<double> q{1.0, 10.0};
  const auto avg = form_factor_averages(table, {{"Cu", 1}, {"Zr", 1}}, q);
  const auto i1 = coherent_intensity(std::vector<double>{1.0, 1.0}, avg);
  EXPECT_DOUBLE_EQ(i1[1], avg.f2_mean[1]);
  const auto i0 = coherent_intensity(std::vector<double>{0.0, 0.0}, avg);
  EXPECT_NEAR(i0[0], avg.f2_mean[0] - avg.f_mean[0] * avg.f_mean[0], 1e-9);
}

}  // namespace
}  // namespace insitu::analysis
