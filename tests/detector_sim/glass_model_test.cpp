#include "drivers/detector/sim/glass_model.hpp"

#include <gtest/gtest.h>

#include <random>

#include "analysis/pdf/run_analysis.hpp"

using insitu::detector::sim::GlassModel;

namespace {
const GlassModel& model() {
  static const GlassModel m;
  return m;
}
}  // namespace

TEST(GlassModel, DebyeWallerBroadensTheFirstShellAndLowersItsPeak) {
  const auto cold = model().state(100.0), warm = model().state(400.0);
  EXPECT_GT(warm.first_shell_sigma_angstrom, cold.first_shell_sigma_angstrom);
  EXPECT_LT(warm.g[272], cold.g[272]);  // g at 2.72 A
  EXPECT_NEAR(cold.g[0], 0.0, 1e-6);
  EXPECT_NEAR(cold.g.back(), 1.0, 1e-3);
  EXPECT_GT(model().pair_entropy_k_B(400.0), model().pair_entropy_k_B(100.0));
}

TEST(GlassModel, RejuvenatedGlassRelaxesBetween450And650K) {
  EXPECT_LT(model().first_shell_sigma2_angstrom2(640.0), model().first_shell_sigma2_angstrom2(460.0));
  EXPECT_LT(model().pair_entropy_k_B(620.0), model().pair_entropy_k_B(480.0));
}

TEST(GlassModel, EntropySlopeChangesAtTgAndAHingeFitFindsItFromNoisyPoints) {
  std::vector<double> T, S;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 0.0015);
  for (double t = 660.0; t <= 765.0; t += 2.0) {  // 2 K per 12 s frame at 10 K/min
    T.push_back(t);
    S.push_back(model().pair_entropy_k_B(t) + noise(rng));
  }
  const auto fit = insitu::analysis::fit_hinge(T, S);
  EXPECT_NEAR(fit.T_break_K, 709.0, 3.0);
  EXPECT_GT(fit.slope_above, 2.5 * fit.slope_below);
  EXPECT_GT(fit.slope_below, 0.0);
}

TEST(GlassModel, CrystallisationDropsTheEntropySharply) {
  EXPECT_EQ(model().crystal_fraction(770.0), 0.0);
  EXPECT_EQ(model().crystal_fraction(795.0), 1.0);
  const double before = model().pair_entropy_k_B(770.0), after = model().pair_entropy_k_B(792.0);
  EXPECT_LT(after, before - 5.0);
  EXPECT_GT(model().state(795.0).g[289], model().state(770.0).g[289]);  // bcc nearest neighbours, 2.89 A
}

namespace insitu::detector::sim {
namespace {

TEST(GlassModel, CrystallisationStaysOnCooling) {
  const GlassModel model;
  EXPECT_EQ(model.state(300.0).crystal_fraction, 0.0);
  const auto cooled = model.state(300.0, 873.15);  // heated to 873 K, then cooled back
  EXPECT_GT(cooled.crystal_fraction, 0.99);
  EXPECT_LT(model.pair_entropy_k_B(cooled), model.pair_entropy_k_B(300.0) - 5.0);
}

}  // namespace
}  // namespace insitu::detector::sim
