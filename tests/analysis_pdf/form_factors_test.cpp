#include "analysis/pdf/form_factors.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "tests/test_data.hpp"

namespace insitu::analysis {
namespace {

const FormFactorTable& table() {
  static const FormFactorTable t = FormFactorTable::load(testdata::form_factor_table());
  return t;
}

TEST(FormFactors, ForwardLimitIsElectronCount) {
  // f0(0) = sum a + c; research note §3 gives 28.99 (Cu), 39.98 (Zr), 71.97 (Hf).
  EXPECT_NEAR(table().f0("Cu", 0.0), 28.99, 0.01);
  EXPECT_NEAR(table().f0("Zr", 0.0), 39.98, 0.01);
  EXPECT_NEAR(table().f0("Hf", 0.0), 71.97, 0.01);
  EXPECT_EQ(table().coefficients("Ni").atomic_number, 28);
  EXPECT_TRUE(table().contains("Cu2+"));
}

TEST(FormFactors, MatchesCoefficientsAtFiniteQ) {
  // Al row from research note §3, evaluated by hand at Q = 4 pi (k = 1).
  const double a[] = {4.730796, 2.313951, 1.541980, 1.117564, 3.154754};
  const double b[] = {3.628931, 43.051167, 0.095960, 108.932388, 1.555918};
  double expected = 0.139509;
  for (int i = 0; i < 5; ++i) expected += a[i] * std::exp(-b[i]);
  EXPECT_NEAR(table().f0("Al", 4.0 * std::numbers::pi), expected, 1e-12);
  EXPECT_LT(table().f0("Cu", 20.0), table().f0("Cu", 5.0));
}

TEST(FormFactors, CompositionAverages) {
  const Composition alloy{{"Cu", 44}, {"Zr", 44}, {"Al", 8}, {"Hf", 2}, {"Co", 2}};
  const std::vector<double> q{0.0, 3.0, 15.0};
  const auto avg = form_factor_averages(table(), alloy, q);
  for (std::size_t i = 0; i < q.size(); ++i) {
    double f = 0, f2 = 0;
    for (const auto& [s, n] : alloy) {
      f += n / 100.0 * table().f0(s, q[i]);
      f2 += n / 100.0 * std::pow(table().f0(s, q[i]), 2);
    }
    EXPECT_NEAR(avg.f_mean[i], f, 1e-9);
    EXPECT_NEAR(avg.f2_mean[i], f2, 1e-9);
    EXPECT_GE(avg.f2_mean[i], avg.f_mean[i] * avg.f_mean[i]);  // Cauchy-Schwarz: Laue term is non-negative
  }
  EXPECT_NEAR(avg.incoherent[0], 0.0, 0.05);  // no Compton scattering in the forward direction
}

TEST(FormFactors, RejectsBadInput) {
  EXPECT_THROW(table().f0("Xx", 1.0), std::out_of_range);
  EXPECT_THROW(form_factor_averages(table(), {}, std::vector<double>{1.0}), std::invalid_argument);
  EXPECT_THROW(form_factor_averages(table(), {{"Cu", -1.0}}, std::vector<double>{1.0}), std::invalid_argument);
  try {
    FormFactorTable::parse("#S 29 Cu\n#N 11\n1 2 3\n", "bad.dat");
    FAIL() << "expected a parse error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.dat:3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace insitu::analysis
