#pragma once
// g(r) from G(r) (paper Eq. 1), the number density from the low-r slope, the pair-entropy measure S_eq (Eq. 2),
// and the forward transform g(r) -> S(Q) -> coherent I(Q) used by tests and the detector simulator.
#include <cstddef>
#include <span>
#include <vector>

#include "analysis/pdf/form_factors.hpp"

namespace insitu::analysis {

inline constexpr double boltzmann_J_per_K = 1.380649e-23;
inline constexpr double gas_constant_J_per_mol_K = 8.314462618;
// Spieckermann et al., Methods: nominal density of Cu44Zr44Al8Hf2Co2, 5.38345e28 m^-3.
inline constexpr double paper_nominal_rho0_per_cubic_angstrom = 0.0538345;

// g(r) = G(r) / (4 pi rho0 r) + 1; at r = 0 the limit G/r -> -4 pi rho0 gives g = 0.
std::vector<double> pair_correlation(std::span<const double> r_angstrom, std::span<const double> g_reduced,
                                     double rho0_per_cubic_angstrom);

struct DensityFit {
  double rho0_per_cubic_angstrom = 0.0;
  double rms_residual = 0.0;  // of G about -4 pi rho0 r, inverse square angstrom
  std::size_t points = 0;
};
// Least squares of G(r) = -4 pi rho0 r (a line through the origin) on r_lo <= r <= r_hi.
DensityFit fit_number_density(std::span<const double> r_angstrom, std::span<const double> g_reduced,
                              double r_lo_angstrom, double r_hi_angstrom);

struct PairEntropy {
  double per_atom_k_B = 0.0;     // S_eq / (N k_B)
  double J_per_mol_K = 0.0;      // S_eq * N_A = per_atom_k_B * R
};
// S_eq = -2 pi rho0 k_B * integral_0^{r_max} [g ln g - g + 1] r^2 dr (trapezoid on the given grid, r <= r_max).
// Points with g <= epsilon take the g -> 0 limit of the integrand, r^2 (truncation ripples make g < 0 at low r).
PairEntropy pair_entropy(std::span<const double> r_angstrom, std::span<const double> g_of_r,
                         double rho0_per_cubic_angstrom, double r_max_angstrom, double epsilon = 1e-10);

// S(Q) = 1 + (4 pi rho0 / Q) * integral r (g(r) - 1) sin(Q r) dr (trapezoid on the r grid).
std::vector<double> structure_factor_from_g(std::span<const double> r_angstrom, std::span<const double> g_of_r,
                                            double rho0_per_cubic_angstrom, std::span<const double> q_inv_angstrom);

// Coherent intensity per atom in electron units: I(Q) = <f^2> + <f>^2 (S - 1) (the reduction's A = 1, B = 0).
std::vector<double> coherent_intensity(std::span<const double> s_of_q, const FormFactorAverages& averages);

}  // namespace insitu::analysis
