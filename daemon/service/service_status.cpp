// What the service shows of itself: the status object (API, WebSocket at 1 Hz) and systemd's status line and
// watchdog.
#include <fmt/format.h>

#include <cmath>

#include "daemon/service/service.hpp"
#include "daemon/service/systemd.hpp"

namespace insitu::service {
namespace {

using nlohmann::json;

json optional_number(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json(*v) : json(nullptr);
}

constexpr auto kStatusEvery = std::chrono::seconds(1);

}  // namespace

json Service::current_run_json() const {
  if (!current_) return nullptr;
  const auto& q = current_->queued;
  json run{{"id", q.id}, {"sample", q.submission.sample}, {"recipe", q.submission.recipe},
           {"state", to_string(queue_.run(q.id).state)}};
  const auto* live = current_->session->run();
  if (!live) return run;
  const auto s = live->status();
  const auto& p = s.program;
  const double elapsed_s = p.time_s, total_s = p.time_s + p.eta_s;
  run.update(json{{"segment", p.segment_label},
              {"segment_index", p.segment_index},
              {"segment_count", p.segment_count},
              {"temperature_K", optional_number(p.temperature_K)},
              {"setpoint_K", optional_number(p.setpoint_K)},
              {"frames", s.frames.data_frames},
              {"missing_frames", s.frames.missing},
              {"latest_s_eq_J_per_mol_K", optional_number(s.latest_s_eq_J_per_mol_K)},
              {"progress", total_s > 0 ? elapsed_s / total_s : 0.0},
              {"eta_s", p.eta_s},
              {"run_time_s", p.time_s}});
  return run;
}

json Service::status() const {
  std::int64_t queued = 0, held = 0;
  for (const auto& run : queue_.list_queue()) {
    if (run.state != RunState::queued) continue;
    ++queued;
    if (run.held) ++held;
  }
  json stage{{"state", "unknown"}, {"temperature_K", nullptr}, {"setpoint_K", nullptr}, {"read", nullptr}};
  if (idle_) {
    const auto& v = idle_->view();
    stage = {{"state", v.state},
             {"temperature_K", optional_number(v.temperature_K)},
             {"setpoint_K", optional_number(v.setpoint_K)},
             {"read", v.read.empty() ? json(nullptr) : json(v.read)}};
  }
  const auto run = current_run_json();
  if (!run.is_null() && run.contains("temperature_K"))
    stage = {{"state", "in a run"},
             {"temperature_K", run["temperature_K"]},
             {"setpoint_K", run["setpoint_K"]},
             {"read", nullptr}};
  return {{"service",
           {{"version", INSITU_VERSION},
            {"state", stopping_ ? "stopping" : (current_ ? "running" : "idle")},
            {"uptime_s", clock_.now_s() / clock_.speed()},
            {"simulated", config_.simulate},
            {"speed", config_.speed}}},
          {"stage", stage},
          {"run", run},
          {"queue", {{"queued", queued}, {"held", held}}}};
}

std::string Service::status_line() const {
  if (stopping_) return "stopping";
  const auto run = current_run_json();
  if (run.is_null()) return fmt::format("idle, {} queued", status()["queue"]["queued"].get<std::int64_t>());
  std::string line = fmt::format("run {} {} ({})", run["id"].get<std::int64_t>(), run["state"].get<std::string>(),
                                 run["sample"].get<std::string>());
  if (run.contains("frames") && run["temperature_K"].is_number())
    line += fmt::format(": {} at {:.1f} K, {} frames", run["segment"].get<std::string>(),
                        run["temperature_K"].get<double>(), run["frames"].get<std::uint64_t>());
  return line;
}

// Once a second: the status to watchers and to systemd, and the watchdog's keep-alive (WatchdogSec ≥ 2 s).
void Service::schedule_status() {
  status_timer_.expires_after(kStatusEvery);
  status_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    if (!listeners_.empty()) broadcast({{"type", "status"}, {"status", status()}});
    notify_status(status_line());
    if (watchdog_interval()) notify_watchdog();
    schedule_status();
  });
}

}  // namespace insitu::service
