#pragma once
// Sample states side by side (paper Fig. 2): S_eq(T) of several runs of one alloy, each shifted by the constant
// that makes it overlap a reference in the supercooled liquid, and the difference ΔS_eq(T) to the reference with
// an uncertainty from the per-frame scatter. The absolute S_eq of a run carries offsets of its own (thickness,
// background, normalisation); in the liquid every state has equilibrated to the same structure, so the liquid is
// where the states are put on one scale.
#include <cstddef>
#include <span>
#include <vector>

namespace insitu::analysis {

// The per-frame scatter of y(T) about its trend: from second differences, which cancel a trend linear over three
// frames, as 1.4826 MAD / sqrt(6) (robust to a damaged frame). For near-uniform spacing; NaN below 5 points.
double frame_scatter(std::span<const double> temperature_K, std::span<const double> y);

struct LocalValue {
  double value = 0.0;
  double sigma = 0.0;  // standard error of the fitted value, from `scatter`
  std::size_t points = 0;
};
// Straight line through the points within [T - half_window_K, T + half_window_K], evaluated at T. NaN value and
// sigma with fewer than 3 points, or when T lies outside the points' range (no extrapolation).
LocalValue local_linear_value(std::span<const double> temperature_K, std::span<const double> y, double at_K,
                              double half_window_K, double scatter);

// The onset of crystallisation: where S_eq, rising through the supercooled liquid, peaks above T_g (the smoothed
// curve's maximum, as the run analysis finds it). NaN when the maximum is within `end_margin_K` of the last point
// (the run ended before crystallising).
double crystallisation_onset_K(std::span<const double> temperature_K, std::span<const double> s_eq_smoothed,
                               double t_g_K, double end_margin_K);

struct LiquidShift {
  double constant = 0.0;  // add to the run's S_eq to overlap the reference
  double sigma = 0.0;
  double window_lo_K = 0.0, window_hi_K = 0.0;
  std::size_t reference_points = 0, run_points = 0;
};
// The least-squares lines of reference and run over [lo_K, hi_K], compared at the window's middle. Throws
// std::invalid_argument naming the side when either has fewer than 3 frames in the window.
LiquidShift liquid_shift(std::span<const double> reference_T_K, std::span<const double> reference_y,
                         double reference_scatter, std::span<const double> run_T_K, std::span<const double> run_y,
                         double run_scatter, double lo_K, double hi_K);

// Linear interpolation of y(x) (x increasing) at `at`; NaN outside [x.front(), x.back()].
double interpolate(std::span<const double> x, std::span<const double> y, double at);

}  // namespace insitu::analysis
