#include "daemon/client/format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <optional>
#include <vector>

namespace insitu::client {
namespace {

using nlohmann::json;
using Row = std::vector<std::string>;

std::string text(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return "-";
  const auto& value = object[key];
  if (!value.is_string()) return value.dump();
  const auto& string = value.get_ref<const std::string&>();
  return string.empty() ? "-" : string;
}

std::optional<double> number(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number()) return std::nullopt;
  return object[key].get<double>();
}

std::string kelvin(std::optional<double> value) { return value ? fmt::format("{:.1f} K", *value) : "- K"; }

// Columns as wide as the widest cell, in characters (UTF-8 continuation bytes take no room).
std::size_t display_width(const std::string& cell) {
  return static_cast<std::size_t>(std::count_if(cell.begin(), cell.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string table(const Row& headers, const std::vector<Row>& rows) {
  std::vector<std::size_t> widths(headers.size());
  const auto widen = [&](const Row& row) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  };
  widen(headers);
  std::for_each(rows.begin(), rows.end(), widen);
  std::string out;
  const auto add = [&](const Row& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(widths[i] - display_width(row[i]) + 2, ' ');
    }
    out += '\n';
  };
  add(headers);
  std::for_each(rows.begin(), rows.end(), add);
  return out;
}

std::string run_state(const json& run) {
  const auto state = text(run, "state");
  return state == "queued" && run.value("held", false) ? "held" : state;
}

std::string segment(const json& run) {
  const auto name = text(run, "segment");
  const auto index = number(run, "segment_index");
  const auto count = number(run, "segment_count");
  if (!index || !count) return name;
  return fmt::format("{} {:.0f}/{:.0f}", name, *index + 1, *count);  // segment_index is 0-based
}

std::string run_progress_line(const json& run) {
  const auto missing = number(run, "missing_frames").value_or(0);
  const auto s_eq = number(run, "latest_s_eq_J_per_mol_K");
  const auto progress = number(run, "progress");
  const auto eta = number(run, "eta_s");
  return fmt::format("{}  {}  {}  {} → {}  frames {}{}  S_eq {}  {} {}  ETA {}", run_label(run), text(run, "state"),
                     segment(run), kelvin(number(run, "temperature_K")), kelvin(number(run, "setpoint_K")),
                     text(run, "frames"), missing > 0 ? fmt::format(" ({:.0f} missing)", missing) : "",
                     s_eq ? fmt::format("{:.2f} J/(mol K)", *s_eq) : "-", progress_bar(progress.value_or(0)),
                     progress ? fmt::format("{:3.0f}%", std::clamp(*progress, 0.0, 1.0) * 100) : "  -%",
                     eta ? clock_duration(*eta) : "-");
}

std::string queue_counts(const json& status) {
  const auto& queue = status.value("queue", json::object());
  return fmt::format("{} queued, {} held", text(queue, "queued"), text(queue, "held"));
}

std::string stage_line(const json& stage) {
  return fmt::format("stage {} → {}  {}", kelvin(number(stage, "temperature_K")), kelvin(number(stage, "setpoint_K")),
                     text(stage, "state"));
}

}  // namespace

std::string queue_table(const nlohmann::json& runs) {
  if (runs.empty()) return "no runs queued\n";
  std::vector<Row> rows;
  for (const auto& run : runs)
    rows.push_back({text(run, "id"), run_state(run), text(run, "position"), text(run, "sample"), text(run, "recipe"),
                    local_time(run.value("submitted", json()))});
  return table({"ID", "STATE", "POSITION", "SAMPLE", "RECIPE", "SUBMITTED"}, rows);
}

std::string history_table(const nlohmann::json& runs) {
  if (runs.empty()) return "no runs in the history\n";
  std::vector<Row> rows;
  for (const auto& run : runs)
    rows.push_back({text(run, "id"), text(run, "sample"), run_state(run), local_time(run.value("started", json())),
                    local_time(run.value("ended", json())), text(run, "run_file"), text(run, "reason")});
  return table({"ID", "SAMPLE", "STATE", "STARTED", "ENDED", "RUN FILE", "REASON"}, rows);
}

std::string history_entry(const nlohmann::json& run) {
  std::vector<Row> rows;
  for (const auto& state : run.value("states", json::array()))
    rows.push_back({local_time(state.value("time", json())), text(state, "state"), text(state, "reason")});
  return fmt::format("{}  {}\nsource {}  run file {}\n", run_label(run), run_state(run), text(run, "source"),
                     text(run, "run_file")) +
         table({"TIME", "STATE", "REASON"}, rows);
}

std::string status_text(const nlohmann::json& status) {
  const auto& service = status.value("service", json::object());
  const auto simulated =
      service.value("simulated", false) ? fmt::format("  simulated, speed {}", text(service, "speed")) : std::string();
  const auto& run = status.value("run", json());
  return fmt::format("insitud {}  {}  up {}{}\n{}\nrun {}\nqueue {}\n", text(service, "version"),
                     text(service, "state"), clock_duration(number(service, "uptime_s").value_or(0)), simulated,
                     stage_line(status.value("stage", json::object())),
                     run.is_object() ? run_progress_line(run) : "none", queue_counts(status));
}

std::string watch_line(const nlohmann::json& status) {
  const auto& run = status.value("run", json());
  if (run.is_object()) return run_progress_line(run);
  return fmt::format("{}  {}  queue {}", text(status.value("service", json::object()), "state"),
                     stage_line(status.value("stage", json::object())), queue_counts(status));
}

std::string run_label(const nlohmann::json& run) {
  return fmt::format("run {}: {} ({})", text(run, "id"), text(run, "sample"), text(run, "recipe"));
}

std::string run_summary(const nlohmann::json& run) {
  const auto position = run.value("position", json());
  return run_label(run) + ", " + run_state(run) + (position.is_number() ? " at position " + position.dump() : "");
}

std::string progress_bar(double fraction) {
  constexpr int kWidth = 20;
  const auto filled = static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * kWidth));
  return "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "]";
}

std::string clock_duration(double seconds) {
  const auto total = std::isfinite(seconds) ? std::max<long long>(0, std::llround(seconds)) : 0;
  return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
}

std::string local_time(const nlohmann::json& iso_utc) {
  if (!iso_utc.is_string()) return "-";
  const auto& text_utc = iso_utc.get_ref<const std::string&>();
  std::tm utc{};
  if (::strptime(text_utc.c_str(), "%Y-%m-%dT%H:%M:%S", &utc) == nullptr) return text_utc;
  const std::time_t when = ::timegm(&utc);
  std::tm local{};
  ::localtime_r(&when, &local);
  char shown[32];
  std::strftime(shown, sizeof shown, "%Y-%m-%d %H:%M:%S", &local);
  return shown;
}

}  // namespace insitu::client
