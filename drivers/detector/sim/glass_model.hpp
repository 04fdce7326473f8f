#pragma once
// A Cu44Zr44Al8Hf2Co2-like metallic glass whose pair correlation g(r; T) carries the features the paper reports
// (Spieckermann et al., Figs. 2-3): Debye-Waller broadening linear in T, relaxation of the cryo-rejuvenated glass
// between ~450 and ~650 K (peaks sharpen slightly), a glass transition at 709 K (faster broadening above it, a
// kink in S_eq(T)) and crystallisation near 780 K (sharp peaks grow over ~15 K, S_eq drops). Pure: no I/O.
//
// g(r) = onset(r) * [1 + sum of area-conserving Gaussian shells + damped tail] (1 - x) + g_crystal(r) x, with x the
// crystallised fraction, plus a broad low-amplitude term that keeps S(Q -> 0) at a small positive value
// (the compressibility sum rule) so the rendered intensity near the beam stop is physical.
#include <span>
#include <vector>

#include "analysis/pdf/form_factors.hpp"

namespace insitu::detector::sim {

struct GlassModelConfig {
  double rho0_per_cubic_angstrom = 0.0538345;  // the paper's nominal density
  double r_step_angstrom = 0.01;
  double r_end_angstrom = 25.0;         // g(r) - 1 < 1e-4 beyond ~20 A
  double entropy_r_max_angstrom = 10.0;  // the recipe default r_max for S_eq
  double T_g_K = 709.0;
  double relaxation_start_K = 450.0;
  double relaxation_end_K = 650.0;
  double rejuvenation_sigma2_angstrom2 = 0.003;  // extra static disorder removed by relaxation
  double glass_dw_angstrom2_per_K = 1.2e-5;      // d(sigma^2)/dT of the first shell below T_g
  double liquid_dw_angstrom2_per_K = 4.0e-5;     // ... above T_g
  double T_g_kink_width_K = 1.5;                 // softplus width of the slope change
  double crystallisation_start_K = 772.0;        // smoothstep of the crystallised fraction
  double crystallisation_end_K = 790.0;
  double S0 = 0.03;  // S(Q -> 0) the sum-rule term targets
};

struct GlassState {
  double T_K = 0.0;
  double crystal_fraction = 0.0;
  double first_shell_sigma_angstrom = 0.0;  // of the 2.72 A shell
  std::vector<double> g;                    // on GlassModel::r_angstrom()
};

class GlassModel {
 public:
  explicit GlassModel(GlassModelConfig config = {});

  const GlassModelConfig& config() const { return config_; }
  const std::vector<double>& r_angstrom() const { return r_; }
  // Nominal composition Cu44Zr44Al8Hf2Co2.
  static analysis::Composition composition();

  double crystal_fraction(double T_K) const;
  // sigma^2 of the first shell at T (the other shells scale with it).
  double first_shell_sigma2_angstrom2(double T_K) const;
  GlassState state(double T_K) const;
  // Crystallisation does not undo itself on cooling: the crystal fraction follows the hottest temperature the
  // sample has been at, the glass part the present one.
  GlassState state(double T_K, double hottest_K) const;
  // S_eq / (N k_B) of g(r; T) by analysis::pair_entropy up to config().entropy_r_max_angstrom.
  double pair_entropy_k_B(double T_K) const;
  double pair_entropy_k_B(const GlassState& state) const;

 private:
  std::vector<double> glass_g(double T_K) const;

  GlassModelConfig config_;
  std::vector<double> r_;
  std::vector<double> crystal_g_;  // fully crystallised g(r), temperature independent
  std::vector<double> sum_rule_shape_;
};

}  // namespace insitu::detector::sim
