#pragma once
#include <chrono>
#include <string>

#include "drivers/io/asio.hpp"

namespace insitu::io {

// Run time: seconds since the run clock's origin, advancing `speed` times faster than wall time.
// The event loop's timers, the drivers and the simulators all read the same RunClock, so a 2 h
// protocol runs in seconds with the simulator (speed 600) and the same code drives hardware at 1x.
class RunClock {
 public:
  using wall_clock = std::chrono::steady_clock;

  explicit RunClock(double speed = 1.0);
  // A clock whose origin was at `utc_origin` (a run resumed after its process died): run time goes on from
  // (now - utc_origin) x speed, so the resumed part's times continue the first part's.
  RunClock(double speed, std::chrono::system_clock::time_point utc_origin);

  double speed() const { return speed_; }
  // Seconds of run time since the origin.
  double now_s() const;
  // The wall-clock instant at which run time `run_s` is reached.
  wall_clock::time_point wall_time_at(double run_s) const;
  // The run time at a wall-clock instant (e.g. where another clock of the same process has its origin).
  double run_s_at(wall_clock::time_point wall) const;
  // How long `run_s` seconds of run time last on the wall.
  wall_clock::duration wall_duration(double run_s) const;
  // Wall duration for an I/O deadline: run time scaled, but never below `floor`, because a port,
  // a pty and the scheduler do not get faster when the run clock does.
  wall_clock::duration io_deadline(double run_s,
                                    wall_clock::duration floor = std::chrono::milliseconds(200)) const;
  // UTC of the origin, and ISO 8601 of run time `run_s` (origin + run_s: simulated time when accelerated).
  std::chrono::system_clock::time_point utc_origin() const { return utc_origin_; }
  std::string iso8601_at(double run_s) const;

  awaitable<void> sleep_until(double run_s) const;
  awaitable<void> sleep_for(double run_s) const;

 private:
  double speed_;
  wall_clock::time_point wall_origin_;
  std::chrono::system_clock::time_point utc_origin_;
};

// ISO 8601 UTC with milliseconds, e.g. 2026-11-24T18:26:11.123Z.
std::string iso8601_utc(std::chrono::system_clock::time_point t);

}  // namespace insitu::io
