#include "drivers/linkam/sim/temperature_history.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <string>

namespace insitu::linkam::sim {

void TemperatureHistory::record(double run_s, double T_K) {
  std::lock_guard lock(mutex_);
  if (!time_s_.empty() && run_s < time_s_.back()) {
    throw std::invalid_argument("temperature history: time " + std::to_string(run_s) + " s is before the last sample " +
                                std::to_string(time_s_.back()) + " s");
  }
  time_s_.push_back(run_s);
  temperature_K_.push_back(T_K);
}

std::size_t TemperatureHistory::size() const {
  std::lock_guard lock(mutex_);
  return time_s_.size();
}

void TemperatureHistory::forget_before(double before_s) {
  std::lock_guard lock(mutex_);
  const auto first_kept = std::lower_bound(time_s_.begin(), time_s_.end(), before_s);
  if (first_kept == time_s_.begin()) return;
  const auto drop = std::distance(time_s_.begin(), first_kept) - 1;
  time_s_.erase(time_s_.begin(), time_s_.begin() + drop);
  temperature_K_.erase(temperature_K_.begin(), temperature_K_.begin() + drop);
}

double TemperatureHistory::at_locked(double run_s) const {
  if (time_s_.empty()) throw std::logic_error("temperature history: nothing recorded yet");
  if (run_s <= time_s_.front()) return temperature_K_.front();
  if (run_s >= time_s_.back()) return temperature_K_.back();
  // Last sample at or before run_s (after a step recorded at one time, the later value holds).
  const auto hi = static_cast<std::size_t>(std::distance(time_s_.begin(),
                                                         std::upper_bound(time_s_.begin(), time_s_.end(), run_s)));
  const std::size_t lo = hi - 1;
  const double span = time_s_[hi] - time_s_[lo];
  const double w = span > 0.0 ? (run_s - time_s_[lo]) / span : 1.0;
  return temperature_K_[lo] + w * (temperature_K_[hi] - temperature_K_[lo]);
}

double TemperatureHistory::at_K(double run_s) const {
  std::lock_guard lock(mutex_);
  return at_locked(run_s);
}

double TemperatureHistory::mean_K(double t0_s, double t1_s) const {
  if (t1_s < t0_s) throw std::invalid_argument("temperature history: window ends before it starts");
  std::lock_guard lock(mutex_);
  const double T0 = at_locked(t0_s);
  if (t1_s == t0_s) return T0;
  // Trapezoid over the polyline t0, every sample strictly inside, t1.
  double area = 0.0, t_prev = t0_s, T_prev = T0;
  auto it = std::upper_bound(time_s_.begin(), time_s_.end(), t0_s);
  for (; it != time_s_.end() && *it < t1_s; ++it) {
    const auto i = static_cast<std::size_t>(std::distance(time_s_.begin(), it));
    area += 0.5 * (*it - t_prev) * (T_prev + temperature_K_[i]);
    t_prev = *it;
    T_prev = temperature_K_[i];
  }
  area += 0.5 * (t1_s - t_prev) * (T_prev + at_locked(t1_s));
  return area / (t1_s - t0_s);
}

}  // namespace insitu::linkam::sim
