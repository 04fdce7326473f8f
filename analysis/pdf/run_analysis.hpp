#pragma once
// Run-level analysis of S_eq(T): smoothing and dS_eq/dT, the equivalent heat flow (paper Eq. 3), T_g from a
// continuous two-segment fit, and features of the heat flow on a T/T_g axis. All O(N * window) or O(N^2) with
// N ~ 400 frames per ramp, i.e. well under a millisecond: cheap enough to re-run after every frame.
#include <span>
#include <vector>

namespace insitu::analysis {

struct SmoothedSeries {
  std::vector<double> value;       // smoothed y(T)
  std::vector<double> derivative;  // dy/dT, per kelvin
};
// Savitzky-Golay generalised to a non-uniform grid: at each T_i a least-squares polynomial of `order` in (T - T_i)
// over the points with |T - T_i| <= window_K / 2; the fit's constant and linear terms are y and dy/dT.
// T must increase strictly; throws if a window holds fewer than order + 2 points.
SmoothedSeries local_polynomial_smooth(std::span<const double> temperature_K, std::span<const double> y,
                                       double window_K, int order = 2);

// Least-squares slope of T(t): the measured heating rate beta_h in K/s.
double heating_rate_K_per_s(std::span<const double> time_s, std::span<const double> temperature_K);

// Delta phi_eq = T * dS_eq/dT * beta_h (Eq. 3). With S in J mol^-1 K^-1 and beta_h in K/s the result is in
// W/mol (J mol^-1 s^-1); with S in k_B per atom it is in k_B K s^-1 per atom.
std::vector<double> equivalent_heat_flow(std::span<const double> temperature_K, std::span<const double> dS_dT,
                                         double beta_h_K_per_s);

// Isolated outliers of a series in acquisition order: points above (or below) both neighbours by more than
// threshold_sigma robust standard deviations of the frame-to-frame differences (1.4826 * their median absolute
// deviation about the median difference, the trend, over the 50 differences around the point). A point on a monotonic stretch lies between its neighbours, so
// steps, kinks and the steep fall of crystallisation are never flagged, only one-frame spikes: a damaged or half-read
// frame. The two end points and series shorter than 5 are never flagged.
std::vector<bool> isolated_outliers(std::span<const double> y, double threshold_sigma = 5.0);

struct HingeFit {
  double T_break_K = 0.0;
  double ci_low_K = 0.0;   // profile-likelihood interval of the break temperature
  double ci_high_K = 0.0;
  double value_at_break = 0.0;
  double slope_below = 0.0;  // per kelvin
  double slope_above = 0.0;
  double residual_rms = 0.0;
  std::size_t outliers = 0;  // points left out by fit_hinge_robust
};
// Continuous two-segment linear fit y = c + s1 min(T - Tb, 0) + s2 max(T - Tb, 0). Tb is found by a scan over
// every data interval followed by a golden-section refinement; the interval is {Tb : n ln(RSS(Tb)/RSS_min) <=
// chi2_1(confidence)} (profile likelihood, Gaussian errors). Needs >= 3 points on each side of the break.
HingeFit fit_hinge(std::span<const double> temperature_K, std::span<const double> y, double confidence = 0.95);

// fit_hinge that leaves out gross outliers (a damaged or half-read frame gives an S_eq off by many times the
// per-frame noise, and one such point moves a least-squares break by tens of kelvin): after each fit, points whose
// residual exceeds threshold_sigma robust standard deviations (1.4826 * median |residual|) are dropped and the
// fit is repeated until none is (at most a tenth of the points go). With Gaussian noise a 5 sigma threshold drops a
// point in ~1 of 10^6.
HingeFit fit_hinge_robust(std::span<const double> temperature_K, std::span<const double> y,
                          double threshold_sigma = 5.0, double confidence = 0.95);

struct HeatFlowFeature {
  enum class Kind { peak, slope_change };
  Kind kind = Kind::peak;
  double T_K = 0.0;
  double T_over_Tg = 0.0;
  double value = 0.0;       // the heat flow at T_K
  double prominence = 0.0;  // of the peak in phi, or of the maximum of |d2 phi/dT2| for a slope change
};
// Peaks: local maxima of phi with topographic prominence >= min_peak_prominence. Slope changes (kinks): local
// maxima of |d2 phi/dT2| (two passes of local_polynomial_smooth over window_K) with prominence
// >= min_curvature_prominence_per_K2. Peaks also produce curvature maxima; read kinks away from peaks.
std::vector<HeatFlowFeature> heat_flow_features(std::span<const double> temperature_K, std::span<const double> phi,
                                                double T_g_K, double min_peak_prominence,
                                                double min_curvature_prominence_per_K2, double window_K);

}  // namespace insitu::analysis
