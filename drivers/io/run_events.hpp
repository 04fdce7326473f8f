#pragma once
// Run events (kind "fault", "warning", "state", "segment", "info") go to the run record and to the log at the
// level their kind deserves.
#include <string>

#include <spdlog/logger.h>

namespace insitu::io {

inline void log_run_event(spdlog::logger& log, const std::string& kind, const std::string& message) {
  if (kind == "fault") log.error(message);
  else if (kind == "warning") log.warn(message);
  else log.info(message);
}

}  // namespace insitu::io
