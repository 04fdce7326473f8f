#pragma once
// Cole–Cole fits of DMA loss peaks in the temperature domain (shared/research/dhr3.md §4).
// With an Arrhenius τ(T), ln(ωτ) = (E_a/k_B)(1/T − 1/T_p), so at fixed frequency tan δ(T) is a
// Cole–Cole peak in 1/T centred on T_p(f):
//   tan δ(T) = A·L(z)/L(0) + baseline(T),  z = q·(1/T − 1/T_p),  q = a·E_a/k_B,
//   L(z) = sin(aπ/2) / (2 cosh z + 2 cos(aπ/2)).
// Pure numerics; the solver is Eigen's LevenbergMarquardt.

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace insitu::dma {

inline constexpr double boltzmann_eV_per_K = 8.617333262e-5;

// tan δ(T) at one frequency, in acquisition order.
struct Curve {
  double frequency_Hz = 0.0;
  std::vector<double> temperature_K;
  std::vector<double> tan_delta;
};

struct FitOptions {
  // a is nearly degenerate with q and the baseline in a single-frequency fit (dhr3.md §4), so it is
  // held at initial_shape_a unless asked; T_p does not depend on it (the peak is symmetric in 1/T).
  bool fit_shape = false;
  double initial_shape_a = 0.5;
  // Exponential high-temperature background c·exp((T − T_hi)/scale), for the α peak; 0 disables it.
  double exp_background_scale_K = 0.0;
  std::size_t smoothing_points = 5;  // moving average used only for the initial guess
};

struct ColeColeFit {
  double frequency_Hz = 0.0;
  double peak_K = 0.0;
  double peak_sigma_K = 0.0;  // standard error from the fit covariance
  double amplitude = 0.0;     // tan δ height above the baseline
  double width_q_K = 0.0;     // q = a·E_a/k_B
  double shape_a = 0.0;
  double window_lo_K = 0.0;
  double window_hi_K = 0.0;
  std::size_t points = 0;
  double rms_residual = 0.0;
};

// Fits the points with lo_K <= T <= hi_K. Throws std::invalid_argument (too few points, no peak)
// or std::runtime_error (solver failure).
ColeColeFit fit_cole_cole(const Curve& curve, double lo_K, double hi_K, const FitOptions& options = {});

// Temperature of the highest interior local maximum of the smoothed curve in [lo_K, hi_K];
// nullopt when the maximum sits on the range edge (no peak inside).
std::optional<double> find_peak(const Curve& curve, double lo_K, double hi_K, std::size_t smoothing_points = 5);

// Automatic detection: interior maxima of the smoothed curve whose prominence (height above the
// higher of the two neighbouring minima) is at least min_prominence, sorted by temperature.
std::vector<double> find_peaks(const Curve& curve, double min_prominence, std::size_t smoothing_points = 5);

// How to find and window one transition at every frequency: the peak is searched in
// [search_lo_K, search_hi_K], the fit window is [T_peak − below_K, min(T_peak + above_K, upper_limit_K)]
// (crystallisation caps the α window).
struct TransitionSpec {
  std::string name;
  double search_lo_K = 0.0;
  double search_hi_K = 0.0;
  double below_K = 50.0;
  double above_K = 50.0;
  double upper_limit_K = std::numeric_limits<double>::infinity();
  FitOptions fit;
};

// One fit per curve where a peak is found inside the search range.
std::vector<ColeColeFit> fit_transition(const std::vector<Curve>& curves, const TransitionSpec& spec);

}  // namespace insitu::dma
