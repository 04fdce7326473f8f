#pragma once
// Run events (faults, warnings, state and segment changes, information) go to the run record and to the log at
// the level their kind deserves.
#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "drivers/io/clock.hpp"

namespace insitu::io {

enum class EventKind { segment, state, warning, fault, info };

constexpr std::string_view to_string(EventKind kind) {
  switch (kind) {
    case EventKind::segment:
      return "segment";
    case EventKind::state:
      return "state";
    case EventKind::warning:
      return "warning";
    case EventKind::fault:
      return "fault";
    case EventKind::info:
      return "info";
  }
  return "info";
}

inline void log_run_event(spdlog::logger& log, EventKind kind, const std::string& message) {
  if (kind == EventKind::fault)
    log.error(message);
  else if (kind == EventKind::warning)
    log.warn(message);
  else
    log.info(message);
}

using RunEventHandler = std::function<void(double time_s, EventKind kind, const std::string& message)>;

// A driver's events: handed with their run time to the handler the run sets (the run logs them with the rest of
// its documents), or logged here when no run listens.
class RunEvents {
 public:
  RunEvents(const RunClock& clock, std::shared_ptr<spdlog::logger> log) : clock_(clock), log_(std::move(log)) {}

  void set_handler(RunEventHandler handler) { handler_ = std::move(handler); }

  void emit(EventKind kind, const std::string& message) const {
    if (handler_)
      handler_(clock_.now_s(), kind, message);
    else
      log_run_event(*log_, kind, message);
  }

 private:
  const RunClock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  RunEventHandler handler_;
};

}  // namespace insitu::io
