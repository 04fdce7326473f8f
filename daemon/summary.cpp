#include "daemon/summary.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "daemon/storage/h5.hpp"

namespace insitu::daemon {
namespace {

namespace h5 = storage::h5;

std::string optional_string(const h5::Handle& entry, const std::string& path) {
  return h5::exists(entry, path) ? h5::read_string(entry, path) : std::string("-");
}

struct Window {
  std::string label;
  double begin_s, end_s;
};

}  // namespace

int print_summary(const std::filesystem::path& run_file) {
  h5::Handle file;
  try {
    file = h5::open_file(run_file, h5::Access::read);
  } catch (const h5::Error&) {
    // Still being written (SWMR) or left by a crash before h5clear: read what was flushed.
    file = h5::open_file(run_file, h5::Access::swmr_read);
  }
  const auto entry = h5::open_group(file, "/entry");
  const auto log = h5::open_group(entry, "sample/temperature_log");
  const auto time_s = h5::read_1d<double>(h5::open_dataset(log, "time"));
  const auto value_K = h5::read_1d<double>(h5::open_dataset(log, "value"));
  const auto setpoint_K = h5::read_1d<double>(h5::open_dataset(log, "setpoint"));
  const auto events = h5::open_group(entry, "events");
  const auto event_time_s = h5::read_1d<double>(h5::open_dataset(events, "time"));
  const auto event_kind = h5::read_strings(h5::open_dataset(events, "kind"));
  const auto event_message = h5::read_strings(h5::open_dataset(events, "message"));
  // Rows below the length of `time` are committed (it is appended last).
  const std::size_t n = std::min({time_s.size(), value_K.size(), setpoint_K.size()});
  const std::size_t n_events = std::min({event_time_s.size(), event_kind.size(), event_message.size()});

  fmt::print("run file   {}\n", run_file.string());
  fmt::print("sample     {} ({})\n", optional_string(entry, "sample/name"),
             optional_string(entry, "sample/chemical_formula"));
  fmt::print("recipe     {} (sha256 {})\n", optional_string(entry, "title"),
             optional_string(entry, "recipe/checksum"));
  fmt::print("status     {}; start {}, end {}\n", optional_string(entry, "exit_status"),
             optional_string(entry, "start_time"), optional_string(entry, "end_time"));
  if (n == 0) {
    fmt::print("stage log  no readings\n");
    return 1;
  }
  const auto [lo, hi] = std::minmax_element(value_K.begin(), value_K.begin() + static_cast<long>(n));
  fmt::print("stage log  {} readings over {:.0f} s of run time; T {:.2f} .. {:.2f} K; first {:.2f} K, last {:.2f} K\n",
             n, time_s[n - 1] - time_s[0], *lo, *hi, value_K[0], value_K[n - 1]);

  std::vector<Window> windows;
  int warnings = 0, faults = 0;
  for (std::size_t i = 0; i < n_events; ++i) {
    if (event_kind[i] == "segment") {
      if (!windows.empty()) windows.back().end_s = event_time_s[i];
      windows.push_back({event_message[i], event_time_s[i], time_s[n - 1]});
    } else if (event_kind[i] == "state" && !windows.empty() && windows.back().end_s == time_s[n - 1] &&
               (event_message[i].starts_with("program completed") || event_message[i].starts_with("aborted"))) {
      windows.back().end_s = event_time_s[i];
    }
    warnings += event_kind[i] == "warning";
    faults += event_kind[i] == "fault";
  }
  fmt::print("segments   (setpoint tracking: rms and max |T - setpoint|)\n");
  for (const auto& w : windows) {
    double sum_sq = 0, max_abs = 0;
    std::size_t count = 0;
    double first_K = NAN, last_K = NAN;
    for (std::size_t i = 0; i < n; ++i) {
      if (time_s[i] < w.begin_s || time_s[i] > w.end_s || std::isnan(setpoint_K[i])) continue;
      const double d = value_K[i] - setpoint_K[i];
      sum_sq += d * d;
      max_abs = std::max(max_abs, std::abs(d));
      if (count++ == 0) first_K = value_K[i];
      last_K = value_K[i];
    }
    fmt::print("  {}\n    t {:.0f}..{:.0f} s, T {:.2f} -> {:.2f} K, rms {:.3f} K, max {:.3f} K\n", w.label, w.begin_s,
               w.end_s, first_K, last_K, count ? std::sqrt(sum_sq / count) : NAN, max_abs);
  }
  if (h5::exists(entry, "instrument/detector/sequence_number")) {
    const auto detector = h5::open_group(entry, "instrument/detector");
    const auto keys = h5::read_1d<std::int32_t>(h5::open_dataset(detector, "image_key"));
    const auto flags = h5::read_1d<std::uint32_t>(h5::open_dataset(detector, "flags"));
    const std::size_t frames = h5::rows(h5::open_dataset(detector, "sequence_number"));
    std::size_t darks = 0, flagged = 0;
    for (std::size_t i = 0; i < std::min({frames, keys.size(), flags.size()}); ++i) {
      darks += keys[i] == 2;
      flagged += flags[i] != 0;
    }
    fmt::print("frames     {} recorded: {} data, {} dark, {} flagged\n", frames, frames - darks, darks, flagged);
  }
  if (h5::exists(entry, "sample/temperature_calibration")) {
    const auto cal = h5::open_group(entry, "sample/temperature_calibration");
    const auto sensor_K = h5::read_1d<double>(h5::open_dataset(cal, "sensor"));
    const auto sample_K = h5::read_1d<double>(h5::open_dataset(cal, "sample"));
    const std::string source = optional_string(entry, "sample/temperature_calibration/source");
    std::string points;
    for (std::size_t i = 0; i < std::min(sensor_K.size(), sample_K.size()); ++i)
      points += fmt::format("{}{:.2f} -> {:.2f} K", points.empty() ? "" : ", ", sensor_K[i], sample_K[i]);
    fmt::print("sample T   calibrated{}: sensor -> sample {}; frame temperatures and the analysis are the sample's, "
               "the stage log and setpoints the sensor's\n",
               source.empty() ? "" : " (" + source + ")", points);
  }
  if (h5::exists(entry, "analysis/run/T_g")) {
    const auto run = h5::open_group(entry, "analysis/run");
    const auto tg = h5::read_1d<double>(h5::open_dataset(run, "T_g"));
    const auto tg_low = h5::read_1d<double>(h5::open_dataset(run, "T_g_low"));
    const auto tg_high = h5::read_1d<double>(h5::open_dataset(run, "T_g_high"));
    const std::size_t analysed = h5::rows(h5::open_dataset(entry, "analysis/sequence_number"));
    if (!tg.empty() && std::isfinite(tg[0]))
      fmt::print("analysis   {} frames to S_eq; T_g {:.1f} K (95 % interval {:.1f}..{:.1f} K); default plot S_eq(T)\n",
                 analysed, tg[0], tg_low[0], tg_high[0]);
    else
      fmt::print("analysis   {} frames to S_eq; T_g not determined\n", analysed);
  }
  if (h5::exists(file, "/entry_dma")) fmt::print("dma        /entry_dma holds the fitted TRIOS exports\n");
  fmt::print("events     {} in all: {} warnings, {} faults\n", n_events, warnings, faults);
  for (std::size_t i = 0; i < n_events; ++i)
    if (event_kind[i] == "warning" || event_kind[i] == "fault")
      fmt::print("  {:>8.1f} s  {:<7} {}\n", event_time_s[i], event_kind[i], event_message[i]);
  return 0;
}

}  // namespace insitu::daemon
