#pragma once
// What `insitu watch` prints from the status messages. On a terminal the current run's line is redrawn in place and
// a finished run's line is left above the next; elsewhere (a pipe, a log) a plain line per change, at most one a
// second, so that the output stays readable.
#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace insitu::client {

class WatchDisplay {
 public:
  using Clock = std::chrono::steady_clock;

  WatchDisplay(std::ostream& out, bool redraw) : out_(out), redraw_(redraw) {}

  void show(const nlohmann::json& status, Clock::time_point now);
  void finish();  // ends a redrawn line

 private:
  std::ostream& out_;
  bool redraw_;
  bool line_open_ = false;
  nlohmann::json shown_run_;  // id and state of the run last shown, null when idle
  std::string shown_line_;
  Clock::time_point shown_at_{};
};

}  // namespace insitu::client
