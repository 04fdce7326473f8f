#include "daemon/summary.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "daemon/storage/run_file_reader.hpp"
#include "daemon/storage/schema.hpp"

namespace insitu::daemon {
namespace {

namespace s = storage::schema;
using storage::RunFileReader;

struct Window {
  std::string label;
  double begin_s, end_s;
};

std::string or_dash(const std::optional<std::string>& text) { return text ? *text : std::string("-"); }

void print_header(std::ostream& out, const RunFileReader& r) {
  const auto title = r.text(s::entry_field::title), program = r.text(s::entry_field::program_name);
  out << fmt::format("sample     {} ({})\n", or_dash(r.text(std::string(s::sample::group) + "/" + s::sample::name)),
                     or_dash(r.text(std::string(s::sample::group) + "/" + s::sample::chemical_formula)));
  out << fmt::format("recipe     {} (sha256 {})\n", or_dash(title),
                     or_dash(r.text(std::string(s::recipe::group) + "/" + s::recipe::checksum)));
  const auto status = r.text(s::entry_field::exit_status);
  out << fmt::format("status     {}; start {}, end {}\n",
                     status ? *status : "running or killed (no end recorded)",
                     or_dash(r.text(s::entry_field::start_time)), or_dash(r.text(s::entry_field::end_time)));
}

// Segments from the events, each ending at the next segment or at the program's end.
std::vector<Window> segment_windows(const storage::EventLog& events, double last_reading_s) {
  std::vector<Window> windows;
  for (std::size_t i = 0; i < events.rows(); ++i) {
    if (events.kind[i] == "segment") {
      if (!windows.empty()) windows.back().end_s = events.time_s[i];
      windows.push_back({events.message[i], events.time_s[i], last_reading_s});
    } else if (events.kind[i] == "state" && !windows.empty() && windows.back().end_s == last_reading_s &&
               (events.message[i].starts_with("program completed") || events.message[i].starts_with("aborted"))) {
      windows.back().end_s = events.time_s[i];
    }
  }
  return windows;
}

void print_stage(std::ostream& out, const storage::TemperatureLog& log, const storage::EventLog& events) {
  const std::size_t n = log.rows();
  if (n == 0) {
    out << "stage log  no readings\n";
    return;
  }
  const auto [lo, hi] = std::minmax_element(log.value_K.begin(), log.value_K.end());
  out << fmt::format("stage log  {} readings over {:.0f} s of run time; T {:.2f} .. {:.2f} K; first {:.2f} K, last "
                     "{:.2f} K\n",
                     n, log.time_s[n - 1] - log.time_s[0], *lo, *hi, log.value_K[0], log.value_K[n - 1]);
  out << "segments   (setpoint tracking: rms and max |T - setpoint|)\n";
  for (const auto& w : segment_windows(events, log.time_s[n - 1])) {
    double sum_sq = 0, max_abs = 0, first_K = NAN, last_K = NAN;
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (log.time_s[i] < w.begin_s || log.time_s[i] > w.end_s || std::isnan(log.setpoint_K[i])) continue;
      const double d = log.value_K[i] - log.setpoint_K[i];
      sum_sq += d * d;
      max_abs = std::max(max_abs, std::abs(d));
      if (count++ == 0) first_K = log.value_K[i];
      last_K = log.value_K[i];
    }
    out << fmt::format("  {}\n    t {:.0f}..{:.0f} s, T {:.2f} -> {:.2f} K, rms {:.3f} K, max {:.3f} K\n", w.label,
                       w.begin_s, w.end_s, first_K, last_K, count ? std::sqrt(sum_sq / count) : NAN, max_abs);
  }
}

// The stretches off the programme the run was labelled by (completed_with_deviations), one line each.
void print_deviations(std::ostream& out, const storage::TemperatureDeviations& d) {
  if (d.rows() == 0) return;
  out << fmt::format("deviations {} stretch(es) off the programme beyond the recipe's tolerance and allowance\n",
                     d.rows());
  out << "  start s      end s   length s   max |T - setpoint| K\n";
  for (std::size_t i = 0; i < d.rows(); ++i)
    out << fmt::format("  {:>7.1f} {:>10.1f} {:>10.1f} {:>12.2f}\n", d.start_s[i], d.end_s[i], d.end_s[i] - d.start_s[i],
                       d.max_deviation_K[i]);
}

void print_frames(std::ostream& out, const RunFileReader& r) {
  const auto frames = r.frames();
  if (!frames) return;
  std::size_t darks = 0, flagged = 0;
  for (std::size_t i = 0; i < frames->rows(); ++i) {
    darks += i < frames->image_key.size() && frames->image_key[i] == 2;
    flagged += i < frames->flags.size() && frames->flags[i] != 0;
  }
  out << fmt::format("frames     {} recorded: {} data, {} dark, {} flagged{}\n", frames->rows(), frames->rows() - darks,
                     darks, flagged, frames->height ? fmt::format("; {}x{} pixels stored", frames->height, frames->width)
                                                    : std::string());
  if (const auto c = r.sample_calibration()) {
    std::string points;
    for (std::size_t i = 0; i < std::min(c->sensor_K.size(), c->sample_K.size()); ++i)
      points += fmt::format("{}{:.2f} -> {:.2f} K", points.empty() ? "" : ", ", c->sensor_K[i], c->sample_K[i]);
    out << fmt::format("sample T   calibrated{}: sensor -> sample {}; frame temperatures and the analysis are the "
                       "sample's, the stage log and setpoints the sensor's\n",
                       c->source.empty() ? "" : " (" + c->source + ")", points);
  }
}

std::string glass_transition(const storage::RunLevelAnalysis& run) {
  if (!std::isfinite(run.t_g_K)) return "T_g not determined";
  if (!std::isfinite(run.t_g_low_K) || !std::isfinite(run.t_g_high_K))
    return fmt::format("T_g {:.1f} K (no interval recorded)", run.t_g_K);
  return fmt::format("T_g {:.1f} K (95 % interval {:.1f}..{:.1f} K)", run.t_g_K, run.t_g_low_K, run.t_g_high_K);
}

void print_analyses(std::ostream& out, const RunFileReader& r) {
  for (const auto& entry : r.analysis_entries()) {
    const auto a = r.analysis(entry);
    if (!a) continue;
    std::size_t smoothed = 0;
    for (double v : a->run.s_eq_smoothed_J_per_mol_K) smoothed += std::isfinite(v);
    out << fmt::format("analysis   {}: {} frames to S_eq; {}; run level {} heating frames ({} smoothed){}\n",
                       entry, a->sequence.size(), glass_transition(a->run), a->run.temperature_K.size(), smoothed,
                       a->source.empty() ? std::string() : "; from " + a->source);
  }
}

void print_events(std::ostream& out, const storage::EventLog& events) {
  const int warnings = events.count("warning"), faults = events.count("fault");
  out << fmt::format("events     {} in all: {} warnings, {} faults\n", events.rows(), warnings, faults);
  for (std::size_t i = 0; i < events.rows(); ++i)
    if (events.kind[i] == "warning" || events.kind[i] == "fault")
      out << fmt::format("  {:>8.1f} s  {:<7} {}\n", events.time_s[i], events.kind[i], events.message[i]);
}

void print_contents(std::ostream& out, const RunFileReader& r) {
  out << fmt::format("file       {}\n", r.path().string());
  if (r.has_run_entry()) {
    print_header(out, r);
    const auto events = r.events();
    if (r.file() && r.has_temperature_log())
      print_stage(out, r.temperature_log(), events);
    print_deviations(out, r.temperature_deviations());
    print_frames(out, r);
    print_analyses(out, r);
    if (events.rows() > 0) print_events(out, events);
  }
  if (r.has_dma_entry()) out << fmt::format("dma        {} holds the fitted TRIOS exports\n", s::entry_dma);
}

}  // namespace

int print_summary(const std::filesystem::path& file, std::ostream& out, std::ostream& err) {
  // Everything is caught here: a file that is not what it claims must end in one line, never in an abort.
  try {
    const RunFileReader reader(file);
    print_contents(out, reader);
    return 0;
  } catch (const std::exception& e) {
    std::string line = e.what();
    std::replace(line.begin(), line.end(), '\n', ' ');
    err << "insitu summary: " << line << "\n";
  } catch (...) {
    err << "insitu summary: " << file.string() << ": unreadable\n";
  }
  return 2;
}

int print_summary(const std::filesystem::path& file) { return print_summary(file, std::cout, std::cerr); }

}  // namespace insitu::daemon
