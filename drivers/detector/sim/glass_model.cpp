#include "drivers/detector/sim/glass_model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numbers>
#include <stdexcept>

#include "analysis/pdf/pair_entropy.hpp"

namespace insitu::detector::sim {
namespace {

constexpr double pi = std::numbers::pi;

double smoothstep(double x, double x0, double x1) {
  const double u = std::clamp((x - x0) / (x1 - x0), 0.0, 1.0);
  return u * u * (3.0 - 2.0 * u);
}

double softplus(double x, double width) {
  const double u = x / width;
  return u > 30.0 ? x : width * std::log1p(std::exp(u));
}

// Excluded-volume onset: g = 0 below the hard-core distance.
double onset(double r, double r_core) { return 1.0 / (1.0 + std::exp(-(r - r_core) / 0.09)); }

struct Shell {
  double r_angstrom;
  double height;          // peak height of the Gaussian term at sigma0 (negative: a minimum)
  double sigma0_angstrom;  // static width at T = 0
  double dw_scale;        // relative Debye-Waller growth: distant pairs move less coherently
};

// Split first shell (Cu-Cu/Cu-Zr ~2.7 A, Zr-Zr ~3.1 A), split second shell (4.55/5.2 A) and the minima between.
constexpr std::array<Shell, 6> glass_shells{{
    {2.72, 2.00, 0.120, 1.0},
    {3.12, 1.05, 0.160, 1.3},
    {3.85, -0.70, 0.550, 1.6},
    {4.55, 0.40, 0.300, 2.0},
    {5.20, 0.30, 0.320, 2.2},
    {6.20, -0.075, 0.550, 2.5},
}};
// Depths of the two minima were fitted so that the running coordination 4 pi rho0 int r^2 (g - 1) dr settles
// at -1 beyond ~7 A; S(Q) of this simple model still dips slightly below 0 near 2 A^-1 (the renderer floors it).

}  // namespace

analysis::Composition GlassModel::composition() {
  return {{"Cu", 44.0}, {"Zr", 44.0}, {"Al", 8.0}, {"Hf", 2.0}, {"Co", 2.0}};
}

GlassModel::GlassModel(GlassModelConfig config) : config_(config) {
  if (!(config_.r_step_angstrom > 0.0) || !(config_.r_end_angstrom > config_.entropy_r_max_angstrom)) {
    throw std::invalid_argument("glass model: need r_step > 0 and r_end > entropy_r_max");
  }
  if (!(config_.relaxation_end_K > config_.relaxation_start_K) ||
      !(config_.crystallisation_end_K > config_.crystallisation_start_K)) {
    throw std::invalid_argument("glass model: relaxation and crystallisation ranges must be increasing");
  }
  const auto n = static_cast<std::size_t>(std::floor(config_.r_end_angstrom / config_.r_step_angstrom + 1e-9)) + 1;
  r_.resize(n);
  for (std::size_t i = 0; i < n; ++i) r_[i] = static_cast<double>(i) * config_.r_step_angstrom;

  // Crystal: a bcc (B2-like) lattice at the nominal density, shells broadened with distance and a ~5 A
  // Gaussian coherence envelope beyond 6 A (nanocrystals), so g -> 1 well before r_end.
  const double rho0 = config_.rho0_per_cubic_angstrom;
  const double a = std::cbrt(2.0 / rho0);
  const double reach = config_.r_end_angstrom + 2.0;
  const int m = static_cast<int>(std::ceil(reach / a)) + 1;
  std::map<long long, int> shells;  // distance in 1e-4 A -> count
  for (int i = -m; i <= m; ++i)
    for (int j = -m; j <= m; ++j)
      for (int k = -m; k <= m; ++k)
        for (int basis = 0; basis < 2; ++basis) {
          const double h = 0.5 * basis;
          const double d = a * std::sqrt((i + h) * (i + h) + (j + h) * (j + h) + (k + h) * (k + h));
          if (d > 0.1 && d <= reach) ++shells[std::llround(d * 1e4)];
        }
  crystal_g_.assign(n, 0.0);
  for (const auto& [key, count] : shells) {
    const double d = static_cast<double>(key) * 1e-4;
    const double sigma = 0.10 + 0.008 * d;
    const double weight = count / (4.0 * pi * rho0 * d * d * std::sqrt(2.0 * pi) * sigma);
    const auto lo = static_cast<std::size_t>(std::max(0.0, (d - 6.0 * sigma) / config_.r_step_angstrom));
    const auto hi = std::min(n, static_cast<std::size_t>((d + 6.0 * sigma) / config_.r_step_angstrom) + 2);
    for (std::size_t i = lo; i < hi; ++i) {
      const double u = (r_[i] - d) / sigma;
      crystal_g_[i] += weight * std::exp(-0.5 * u * u);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double beyond = std::max(r_[i] - 6.0, 0.0);
    crystal_g_[i] = 1.0 + (crystal_g_[i] - 1.0) * std::exp(-0.5 * beyond * beyond / 25.0);
  }

  sum_rule_shape_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double u = (r_[i] - 9.0) / 2.5;
    sum_rule_shape_[i] = std::exp(-u * u);
  }
}

double GlassModel::crystal_fraction(double T_K) const {
  return smoothstep(T_K, config_.crystallisation_start_K, config_.crystallisation_end_K);
}

double GlassModel::first_shell_sigma2_angstrom2(double T_K) const {
  const double sigma0 = glass_shells[0].sigma0_angstrom;
  const double thermal = config_.glass_dw_angstrom2_per_K * T_K +
                         (config_.liquid_dw_angstrom2_per_K - config_.glass_dw_angstrom2_per_K) *
                             softplus(T_K - config_.T_g_K, config_.T_g_kink_width_K);
  const double rejuvenation =
      config_.rejuvenation_sigma2_angstrom2 *
      (1.0 - smoothstep(T_K, config_.relaxation_start_K, config_.relaxation_end_K));
  return sigma0 * sigma0 + thermal + rejuvenation;
}

std::vector<double> GlassModel::glass_g(double T_K) const {
  const double extra = first_shell_sigma2_angstrom2(T_K) - glass_shells[0].sigma0_angstrom * glass_shells[0].sigma0_angstrom;
  std::array<double, glass_shells.size()> sigma{}, height{};
  for (std::size_t s = 0; s < glass_shells.size(); ++s) {
    const Shell& shell = glass_shells[s];
    sigma[s] = std::sqrt(shell.sigma0_angstrom * shell.sigma0_angstrom + shell.dw_scale * extra);
    height[s] = shell.height * shell.sigma0_angstrom / sigma[s];  // area-conserving: coordination stays
  }
  // The damped tail (medium-range order) loses amplitude with the same Debye-Waller factor as the shells.
  const double tail_amplitude = 0.10 * std::exp(-0.5 * 3.0 * extra * std::pow(2.0 * pi / 2.3, 2));
  std::vector<double> g(r_.size());
  for (std::size_t i = 0; i < r_.size(); ++i) {
    const double r = r_[i];
    double value = 1.0;
    for (std::size_t s = 0; s < glass_shells.size(); ++s) {
      const double u = (r - glass_shells[s].r_angstrom) / sigma[s];
      if (std::abs(u) < 8.0) value += height[s] * std::exp(-0.5 * u * u);
    }
    value += tail_amplitude * smoothstep(r, 5.8, 6.6) * std::exp(-(r - 6.4) / 1.9) * std::cos(2.0 * pi * (r - 6.4) / 2.3);
    g[i] = onset(r, 2.30) * value;
  }
  return g;
}

GlassState GlassModel::state(double T_K) const { return state(T_K, T_K); }

GlassState GlassModel::state(double T_K, double hottest_K) const {
  if (!std::isfinite(T_K) || T_K <= 0.0) throw std::invalid_argument("glass model: temperature must be positive");
  GlassState out;
  out.T_K = T_K;
  out.crystal_fraction = crystal_fraction(std::max(T_K, hottest_K));
  out.first_shell_sigma_angstrom = std::sqrt(first_shell_sigma2_angstrom2(T_K));
  out.g = glass_g(T_K);
  const double x = out.crystal_fraction;
  for (std::size_t i = 0; i < out.g.size(); ++i) out.g[i] = (1.0 - x) * out.g[i] + x * crystal_g_[i];

  // Sum rule: S(0) = 1 + 4 pi rho0 int r^2 (g - 1) dr. A broad term around 9 A sets it without touching
  // S(Q) above ~1 A^-1 (amplitude ~1e-2, so S_eq moves by < 1e-3 k_B).
  double integral = 0.0, shape_integral = 0.0;
  for (std::size_t i = 1; i < r_.size(); ++i) {
    const double h = r_[i] - r_[i - 1];
    const double r0 = r_[i - 1], r1 = r_[i];
    integral += 0.5 * h * (r0 * r0 * (out.g[i - 1] - 1.0) + r1 * r1 * (out.g[i] - 1.0));
    shape_integral += 0.5 * h * (r0 * r0 * sum_rule_shape_[i - 1] + r1 * r1 * sum_rule_shape_[i]);
  }
  const double target = (config_.S0 - 1.0) / (4.0 * pi * config_.rho0_per_cubic_angstrom);
  const double c = (target - integral) / shape_integral;
  for (std::size_t i = 0; i < out.g.size(); ++i) out.g[i] += c * sum_rule_shape_[i];
  return out;
}

double GlassModel::pair_entropy_k_B(const GlassState& s) const {
  return analysis::pair_entropy(r_, s.g, config_.rho0_per_cubic_angstrom, config_.entropy_r_max_angstrom)
      .per_atom_k_B;
}

double GlassModel::pair_entropy_k_B(double T_K) const { return pair_entropy_k_B(state(T_K)); }

}  // namespace insitu::detector::sim
