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

}  // namespace

WindowTemperature window_temperature(const TemperatureLogView& log, double start_s, double stop_s) {
  if (!(stop_s > start_s)) throw std::invalid_argument("exposure window must end after it starts");
  const auto n = log.time_s.size();
  if (n != log.value_K.size() || n != log.setpoint_K.size())
    throw std::invalid_argument("temperature log columns differ in length");
  WindowTemperature w;
  if (n == 0) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    w.start_K = w.end_K = w.mean_K = w.min_K = w.max_K = w.setpoint_mid_K = nan;
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
  w.mean_K = integral / (stop_s - start_s);
  return w;
}

}  // namespace insitu::detector
