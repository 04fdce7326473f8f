#include "analysis/pdf/pair_entropy.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace insitu::analysis {

namespace {

void require_same_size(std::size_t a, std::size_t b, const char* what) {
  if (a != b) throw std::invalid_argument(std::string(what) + ": array sizes differ (" + std::to_string(a) + " vs " +
                                          std::to_string(b) + ")");
}

void require_positive_density(double rho0, const char* what) {
  if (!(rho0 > 0.0)) throw std::invalid_argument(std::string(what) + ": rho0 must be positive, got " + std::to_string(rho0));
}

}  // namespace

std::vector<double> pair_correlation(std::span<const double> r, std::span<const double> g_reduced, double rho0) {
  require_same_size(r.size(), g_reduced.size(), "pair_correlation");
  require_positive_density(rho0, "pair_correlation");
  std::vector<double> g(r.size());
  for (std::size_t i = 0; i < r.size(); ++i)
    g[i] = r[i] > 0.0 ? g_reduced[i] / (4.0 * std::numbers::pi * rho0 * r[i]) + 1.0 : 0.0;
  return g;
}

DensityFit fit_number_density(std::span<const double> r, std::span<const double> g_reduced, double r_lo, double r_hi) {
  require_same_size(r.size(), g_reduced.size(), "fit_number_density");
  double srr = 0.0, srg = 0.0;
  DensityFit out;
  for (std::size_t i = 0; i < r.size(); ++i)
    if (r[i] >= r_lo && r[i] <= r_hi) {
      srr += r[i] * r[i];
      srg += r[i] * g_reduced[i];
      ++out.points;
    }
  if (out.points < 2 || !(srr > 0.0))
    throw std::invalid_argument("fit_number_density: fewer than 2 points with r > 0 in [" + std::to_string(r_lo) +
                                ", " + std::to_string(r_hi) + "]");
  const double slope = srg / srr;
  out.rho0_per_cubic_angstrom = -slope / (4.0 * std::numbers::pi);
  double ss = 0.0;
  for (std::size_t i = 0; i < r.size(); ++i)
    if (r[i] >= r_lo && r[i] <= r_hi) ss += std::pow(g_reduced[i] - slope * r[i], 2);
  out.rms_residual = std::sqrt(ss / static_cast<double>(out.points));
  return out;
}

PairEntropy pair_entropy(std::span<const double> r, std::span<const double> g, double rho0, double r_max,
                         double epsilon) {
  require_same_size(r.size(), g.size(), "pair_entropy");
  require_positive_density(rho0, "pair_entropy");
  auto integrand = [&](std::size_t i) {
    const double r2 = r[i] * r[i];
    if (g[i] <= epsilon) return r2;
    return (g[i] * std::log(g[i]) - g[i] + 1.0) * r2;
  };
  double integral = 0.0;
  std::size_t used = 0;
  for (std::size_t i = 0; i + 1 < r.size() && r[i + 1] <= r_max; ++i) {
    if (!(r[i + 1] > r[i])) throw std::invalid_argument("pair_entropy: r must increase at index " + std::to_string(i + 1));
    integral += 0.5 * (r[i + 1] - r[i]) * (integrand(i) + integrand(i + 1));
    ++used;
  }
  if (used == 0) throw std::invalid_argument("pair_entropy: no grid interval below r_max = " + std::to_string(r_max));
  PairEntropy out;
  out.per_atom_k_B = -2.0 * std::numbers::pi * rho0 * integral;
  out.J_per_mol_K = out.per_atom_k_B * gas_constant_J_per_mol_K;
  return out;
}

std::vector<double> structure_factor_from_g(std::span<const double> r, std::span<const double> g, double rho0,
                                            std::span<const double> q) {
  require_same_size(r.size(), g.size(), "structure_factor_from_g");
  require_positive_density(rho0, "structure_factor_from_g");
  std::vector<double> weight(r.size(), 0.0);
  for (std::size_t i = 0; i + 1 < r.size(); ++i) {
    const double h = 0.5 * (r[i + 1] - r[i]);
    weight[i] += h;
    weight[i + 1] += h;
  }
  for (std::size_t i = 0; i < r.size(); ++i) weight[i] *= r[i] * (g[i] - 1.0);
  std::vector<double> s(q.size());
  for (std::size_t j = 0; j < q.size(); ++j) {
    if (!(q[j] > 0.0)) throw std::invalid_argument("structure_factor_from_g: Q must be positive at index " + std::to_string(j));
    double sum = 0.0;
    for (std::size_t i = 0; i < r.size(); ++i) sum += weight[i] * std::sin(q[j] * r[i]);
    s[j] = 1.0 + 4.0 * std::numbers::pi * rho0 / q[j] * sum;
  }
  return s;
}

std::vector<double> coherent_intensity(std::span<const double> s, const FormFactorAverages& averages) {
  require_same_size(s.size(), averages.f_mean.size(), "coherent_intensity");
  std::vector<double> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    out[i] = averages.f2_mean[i] + averages.f_mean[i] * averages.f_mean[i] * (s[i] - 1.0);
  return out;
}

}  // namespace insitu::analysis
