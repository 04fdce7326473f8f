#include "analysis/dma/arrhenius.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace insitu::dma {

ArrheniusFit fit_arrhenius(const std::string& name, std::span<const double> frequency_Hz,
                           std::span<const double> peak_K) {
  if (frequency_Hz.size() != peak_K.size())
    throw std::invalid_argument("Arrhenius fit '" + name + "': frequency and peak lists differ in length");
  const std::size_t n = peak_K.size();
  if (n < 3)
    throw std::invalid_argument("Arrhenius fit '" + name + "': need at least 3 frequencies, got " + std::to_string(n));
  // Linear regression y = c + m x with x = 1/T_p, y = ln f.
  double sx = 0, sy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!(peak_K[i] > 0) || !(frequency_Hz[i] > 0))
      throw std::invalid_argument("Arrhenius fit '" + name + "': non-positive frequency or temperature");
    sx += 1.0 / peak_K[i];
    sy += std::log(frequency_Hz[i]);
  }
  const double mx = sx / n, my = sy / n;
  double sxx = 0, sxy = 0, syy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double dx = 1.0 / peak_K[i] - mx, dy = std::log(frequency_Hz[i]) - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (!(sxx > 0)) throw std::invalid_argument("Arrhenius fit '" + name + "': all peak temperatures are equal");
  const double slope = sxy / sxx;
  const double intercept = my - slope * mx;
  double ssr = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double e = std::log(frequency_Hz[i]) - (intercept + slope / peak_K[i]);
    ssr += e * e;
  }
  const double s2 = ssr / static_cast<double>(n - 2);
  ArrheniusFit fit;
  fit.name = name;
  fit.activation_energy_eV = -slope * boltzmann_eV_per_K;
  fit.activation_energy_sigma_eV = std::sqrt(s2 / sxx) * boltzmann_eV_per_K;
  fit.ln_f0 = intercept;
  fit.ln_f0_sigma = std::sqrt(s2 * (1.0 / n + mx * mx / sxx));
  fit.r_squared = syy > 0 ? 1.0 - ssr / syy : 1.0;
  fit.points = n;
  return fit;
}

ArrheniusFit fit_arrhenius(const std::string& name, const std::vector<ColeColeFit>& fits) {
  std::vector<double> f, T;
  for (const auto& c : fits) {
    f.push_back(c.frequency_Hz);
    T.push_back(c.peak_K);
  }
  return fit_arrhenius(name, f, T);
}

namespace {
std::string greek(const std::string& name) {
  if (name == "alpha") return "α";
  if (name == "beta") return "β";
  if (name == "gamma") return "γ";
  return name;
}
}  // namespace

std::string results_table(const std::vector<ArrheniusFit>& fits) {
  std::string out = "Relaxation\tActivation Energy E_A [eV]\tf0 [Hz]\tfrequencies\n";
  char buf[160];
  for (const auto& f : fits) {
    // ln f0 of the α process exceeds double range easily; print the power of ten instead.
    const double log10_f0 = f.ln_f0 / std::log(10.0);
    const double mant = std::pow(10.0, log10_f0 - std::floor(log10_f0));
    std::snprintf(buf, sizeof buf, "%s\t%.2f ± %.2f\t%.2fe%+d\t%zu\n", greek(f.name).c_str(), f.activation_energy_eV,
                  f.activation_energy_sigma_eV, mant, static_cast<int>(std::floor(log10_f0)), f.points);
    out += buf;
  }
  return out;
}

}  // namespace insitu::dma
