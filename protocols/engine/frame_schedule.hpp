#pragma once
// When the frame boundaries of a series of exposures are due. Pure: the caller passes run times.
#include <optional>

namespace insitu::program {

// One boundary every period from the boundary that opened the series, so a boundary that fires a little late
// does not shift the ones after it (the loop's jitter does not accumulate into the frame count). A boundary
// that fires more than half a period late (the event loop or the machine stalled) restarts the schedule from
// itself: catching up would fire the missed boundaries back to back, as frames too short to use. So, as long as
// no boundary fires before it is due, every frame lasts at least half a period.
class FrameSchedule {
 public:
  // `opened_s`: when the boundary that opened the series fired. Throws std::invalid_argument unless period_s > 0.
  FrameSchedule(double period_s, double opened_s);

  double period_s() const { return period_s_; }
  // When the next boundary is due.
  double next_s() const { return next_s_; }
  // The boundary due at next_s() fired at `fired_s`. Returns how late it was when that restarted the schedule,
  // nullopt when the schedule keeps its grid.
  std::optional<double> fired(double fired_s);

 private:
  double period_s_;
  double next_s_;
};

}  // namespace insitu::program
