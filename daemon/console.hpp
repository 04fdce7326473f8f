#pragma once
// What a person sees of a run: its log (every event at the level its kind deserves, to the run's log file and
// the terminal) and, on a terminal, a live status line.
#include <spdlog/logger.h>

#include <filesystem>
#include <memory>
#include <string>

#include "drivers/io/asio.hpp"
#include "protocols/run/documents.hpp"
#include "protocols/run/run.hpp"

namespace insitu::daemon {

// The console's share of a run's log. On a terminal with a live status line only warnings and worse reach it, each
// clearing the status line first; otherwise every line from info up.
spdlog::sink_ptr console_log_sink(bool live_status);

// The run's documents in the log: its events, and a line at start and stop.
class LogSink {
 public:
  explicit LogSink(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}
  void operator()(const documents::Document& document) const;

 private:
  std::shared_ptr<spdlog::logger> log_;
};

// Segment, temperature, setpoint, frames, elapsed time and ETA, redrawn five times a second until the stop.
class StatusLine {
 public:
  StatusLine(asio::any_io_executor loop, const program::Run& run);
  ~StatusLine();
  void operator()(const documents::Document& document);

 private:
  void draw();
  void schedule();

  const program::Run& run_;
  asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace insitu::daemon
