#pragma once
// Arrhenius analysis of transition temperatures: ln f = ln f0 − E_a/(k_B T_p) (dhr3.md §4).

#include <span>
#include <string>
#include <vector>

#include "analysis/dma/cole_cole.hpp"

namespace insitu::dma {

struct ArrheniusFit {
  std::string name;
  double activation_energy_eV = 0.0;
  double activation_energy_sigma_eV = 0.0;  // standard error of the slope × k_B
  double ln_f0 = 0.0;                       // f0 in Hz; α gives an "apparent", unphysically large f0
  double ln_f0_sigma = 0.0;
  double r_squared = 0.0;
  std::size_t points = 0;
};

// Ordinary least squares of ln f against 1/T_p. Needs at least 3 points (for a standard error).
ArrheniusFit fit_arrhenius(const std::string& name, std::span<const double> frequency_Hz,
                           std::span<const double> peak_K);
ArrheniusFit fit_arrhenius(const std::string& name, const std::vector<ColeColeFit>& fits);

// The fits as the paper's Table I ("α  7.51 ± 0.93"), plus f0 and the number of frequencies.
std::string results_table(const std::vector<ArrheniusFit>& fits);

}  // namespace insitu::dma
