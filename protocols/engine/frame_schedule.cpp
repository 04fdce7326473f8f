#include "protocols/engine/frame_schedule.hpp"

#include <cmath>
#include <stdexcept>

namespace insitu::program {

FrameSchedule::FrameSchedule(double period_s, double opened_s) : period_s_(period_s), next_s_(opened_s + period_s) {
  if (!(period_s > 0) || !std::isfinite(period_s))
    throw std::invalid_argument("frame schedule: the period must be a positive number of seconds");
}

std::optional<double> FrameSchedule::fired(double fired_s) {
  const double late_s = fired_s - next_s_;
  if (late_s > period_s_ / 2) {
    next_s_ = fired_s + period_s_;
    return late_s;
  }
  next_s_ += period_s_;
  return std::nullopt;
}

}  // namespace insitu::program
