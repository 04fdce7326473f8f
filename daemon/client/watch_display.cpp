#include "daemon/client/watch_display.hpp"

#include "daemon/client/format.hpp"

namespace insitu::client {
namespace {

nlohmann::json run_identity(const nlohmann::json& status) {
  const auto& run = status.value("run", nlohmann::json());
  if (!run.is_object()) return nullptr;
  return {run.value("id", nlohmann::json()), run.value("state", nlohmann::json())};
}

}  // namespace

void WatchDisplay::show(const nlohmann::json& status, Clock::time_point now) {
  const auto line = watch_line(status);
  const auto run = run_identity(status);
  if (redraw_) {
    const auto id = [](const nlohmann::json& identity) { return identity.is_null() ? identity : identity[0]; };
    const bool other_run = id(run) != id(shown_run_);  // idle counts as a run of its own
    if (line_open_ && other_run) out_ << '\n';
    out_ << "\r\x1b[K" << line << std::flush;
    line_open_ = true;
  } else {
    // A new run or state is shown at once; T, frames and ETA at most once a second.
    if (line == shown_line_) return;
    if (run == shown_run_ && now - shown_at_ < std::chrono::seconds(1)) return;
    out_ << line << '\n' << std::flush;
  }
  shown_run_ = run;
  shown_line_ = line;
  shown_at_ = now;
}

void WatchDisplay::finish() {
  if (line_open_) out_ << '\n' << std::flush;
  line_open_ = false;
}

}  // namespace insitu::client
