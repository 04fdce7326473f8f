#include "drivers/detector/exposure.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace insitu::detector {
namespace {

// Linear interpolation in a sorted column; constant beyond the ends.
double interpolate(std::span<const double> t, std::span<const double> y, double at) {
  const auto upper = std::upper_bound(t.begin(), t.end(), at);
  if (upper == t.begin()) return y.front();
  if (upper == t.end()) return y.back();
  const auto i = static_cast<std::size_t>(upper - t.begin());
  const double w = (at - t[i - 1]) / (t[i] - t[i - 1]);
  return y[i - 1] + w * (y[i] - y[i - 1]);
}

// Moving an edge by dt changes the mean by (T(edge) - mean)·dt/window: for a ramp, half the rate times dt.
double edge_uncertainty_K(const WindowTemperature& w, double window_s, double start_uncertainty_s,
                          double stop_uncertainty_s) {
  return (std::abs(w.mean_K - w.start_K) * start_uncertainty_s + std::abs(w.end_K - w.mean_K) * stop_uncertainty_s) /
         window_s;
}

// A reading stamped dt off moves the interpolated curve near it by about slope·dt, and the mean by at most that
// (the trapezoid weights sum to the window): the bound is the largest slope·dt among the readings that shape the
// window, the slope taken across each reading's neighbours.
double reading_stamp_uncertainty_K(const TemperatureLogView& log, double start_s, double stop_s) {
  const auto& t = log.time_s;
  const auto& y = log.value_K;
  if (log.time_uncertainty_s.empty() || t.size() < 2) return 0.0;
  const auto first = static_cast<std::size_t>(std::upper_bound(t.begin(), t.end(), start_s) - t.begin());
  const auto last = static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), stop_s) - t.begin());
  const std::size_t lo = first == 0 ? 0 : first - 1, hi = std::min(last, t.size() - 1);
  double bound_K = 0.0;
  for (std::size_t i = lo; i <= hi; ++i) {
    const std::size_t a = i == 0 ? 0 : i - 1, b = std::min(i + 1, t.size() - 1);
    const double slope_K_per_s = std::abs(y[b] - y[a]) / (t[b] - t[a]);
    bound_K = std::max(bound_K, slope_K_per_s * log.time_uncertainty_s[i]);
  }
  return bound_K;
}

}  // namespace

WindowTemperature window_temperature(const TemperatureLogView& log, double start_s, double stop_s,
                                     double start_uncertainty_s, double stop_uncertainty_s) {
  if (!(stop_s > start_s)) throw std::invalid_argument("exposure window must end after it starts");
  const auto n = log.time_s.size();
  if (n != log.value_K.size() || n != log.setpoint_K.size() ||
      (!log.time_uncertainty_s.empty() && n != log.time_uncertainty_s.size()))
    throw std::invalid_argument("temperature log columns differ in length");
  WindowTemperature w;
  if (n == 0) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    w.start_K = w.end_K = w.mean_K = w.mean_uncertainty_K = w.min_K = w.max_K = w.setpoint_mid_K = nan;
    return w;
  }
  w.covered = log.time_s.front() <= start_s && log.time_s.back() >= stop_s;
  w.start_K = interpolate(log.time_s, log.value_K, start_s);
  w.end_K = interpolate(log.time_s, log.value_K, stop_s);
  w.setpoint_mid_K = interpolate(log.time_s, log.setpoint_K, 0.5 * (start_s + stop_s));

  // Trapezoid over the window edges and every reading strictly inside.
  double integral = 0, t_prev = start_s, y_prev = w.start_K;
  w.min_K = std::min(w.start_K, w.end_K);
  w.max_K = std::max(w.start_K, w.end_K);
  auto i = static_cast<std::size_t>(std::upper_bound(log.time_s.begin(), log.time_s.end(), start_s) -
                                    log.time_s.begin());
  for (; i < n && log.time_s[i] < stop_s; ++i) {
    integral += 0.5 * (y_prev + log.value_K[i]) * (log.time_s[i] - t_prev);
    t_prev = log.time_s[i];
    y_prev = log.value_K[i];
    w.min_K = std::min(w.min_K, y_prev);
    w.max_K = std::max(w.max_K, y_prev);
  }
  integral += 0.5 * (y_prev + w.end_K) * (stop_s - t_prev);
  const double window_s = stop_s - start_s;
  w.mean_K = integral / window_s;
  w.mean_uncertainty_K = edge_uncertainty_K(w, window_s, start_uncertainty_s, stop_uncertainty_s) +
                         reading_stamp_uncertainty_K(log, start_s, stop_s);
  return w;
}

}  // namespace insitu::detector
