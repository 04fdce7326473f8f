#pragma once
// The simulated stage's true temperature over run time, recorded at every integration step so that other
// simulators (the detector) can ask for the true mean over an exposure window. Thread-safe: the stage writes
// on its thread, the detector reads on another.
#include <cstddef>
#include <mutex>
#include <vector>

namespace insitu::linkam::sim {

class TemperatureHistory {
 public:
  // Appends (t, T). Times must not decrease (std::invalid_argument otherwise); an equal time records a step.
  void record(double run_s, double T_K);

  // Time-weighted mean of the piecewise-linear T(t) over [t0, t1] (trapezoid over the recorded steps, the
  // window edges interpolated). Outside the recorded span T is held at the first/last value. t1 == t0 gives
  // T(t0). Throws std::logic_error when nothing has been recorded and std::invalid_argument if t1 < t0.
  double mean_K(double t0_s, double t1_s) const;
  double at_K(double run_s) const;

  std::size_t size() const;
  // Drops samples older than `before_s` (keeps the last one before it so means stay exact).
  void forget_before(double before_s);

 private:
  double at_locked(double run_s) const;

  mutable std::mutex mutex_;
  std::vector<double> time_s_;
  std::vector<double> temperature_K_;
};

}  // namespace insitu::linkam::sim
