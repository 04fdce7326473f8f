#pragma once
// Run events (kind "fault", "warning", "state", "segment", "info") go to the run record and to the log at the
// level their kind deserves.
#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "drivers/io/clock.hpp"

namespace insitu::io {

inline void log_run_event(spdlog::logger& log, const std::string& kind, const std::string& message) {
  if (kind == "fault") log.error(message);
  else if (kind == "warning") log.warn(message);
  else log.info(message);
}

using RunEventHandler = std::function<void(double time_s, const std::string& kind, const std::string& message)>;

// A driver's events: each is logged, and handed with its run time to the handler the run record sets (if any).
class RunEvents {
 public:
  RunEvents(const RunClock& clock, std::shared_ptr<spdlog::logger> log) : clock_(clock), log_(std::move(log)) {}

  void set_handler(RunEventHandler handler) { handler_ = std::move(handler); }

  void emit(const std::string& kind, const std::string& message) const {
    log_run_event(*log_, kind, message);
    if (handler_) handler_(clock_.now_s(), kind, message);
  }

 private:
  const RunClock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  RunEventHandler handler_;
};

}  // namespace insitu::io
