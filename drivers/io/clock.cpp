#include "drivers/io/clock.hpp"

#include <stdexcept>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace insitu::io {

RunClock::RunClock(double speed)
    : speed_(speed), wall_origin_(wall_clock::now()), utc_origin_(std::chrono::system_clock::now()) {
  if (!(speed > 0.0)) throw std::invalid_argument("run clock speed must be positive");
}

RunClock::RunClock(double speed, std::chrono::system_clock::time_point utc_origin) : RunClock(speed) {
  wall_origin_ -= std::chrono::duration_cast<wall_clock::duration>(std::chrono::system_clock::now() - utc_origin);
  utc_origin_ = utc_origin;
}

double RunClock::now_s() const {
  return run_s_at(wall_clock::now());
}

double RunClock::run_s_at(wall_clock::time_point wall) const {
  return std::chrono::duration<double>(wall - wall_origin_).count() * speed_;
}

RunClock::wall_clock::time_point RunClock::wall_time_at(double run_s) const {
  return wall_origin_ + wall_duration(run_s);
}

RunClock::wall_clock::duration RunClock::wall_duration(double run_s) const {
  return std::chrono::duration_cast<wall_clock::duration>(std::chrono::duration<double>(run_s / speed_));
}

RunClock::wall_clock::duration RunClock::io_deadline(double run_s, wall_clock::duration floor) const {
  return std::max(wall_duration(run_s), floor);
}

std::string RunClock::iso8601_at(double run_s) const {
  return iso8601_utc(utc_origin_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                       std::chrono::duration<double>(run_s)));
}

awaitable<void> RunClock::sleep_until(double run_s) const {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(wall_time_at(run_s));
  co_await timer.async_wait(asio::use_awaitable);
}

awaitable<void> RunClock::sleep_for(double run_s) const { co_await sleep_until(now_s() + run_s); }

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  // fmt 9 prints whole seconds for time points, so the milliseconds are formatted apart.
  const auto whole_s = std::chrono::floor<std::chrono::seconds>(t);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - whole_s).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", whole_s, ms);
}

}  // namespace insitu::io
