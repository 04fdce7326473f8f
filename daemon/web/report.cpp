#include "daemon/web/report.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "daemon/storage/run_file_reader.hpp"
#include "daemon/summary.hpp"
#include "daemon/web/report_plots.hpp"
#include "daemon/web/view_data.hpp"
#include "daemon/web/web_assets.hpp"
#include "drivers/detector/exposure.hpp"

namespace insitu::web {
namespace {

using nlohmann::json;

constexpr std::size_t kStagePoints = 5000;  // the stage log thinned to this many readings
constexpr std::size_t kReportCurves = 8;    // the waterfall's frames: the last ones of the run
constexpr std::size_t kReportEvents = 500;

json stage_json(const storage::TemperatureLog& log) {
  return {{"time_s", thinned(log.time_s, kStagePoints)},
          {"temperature_K", thinned(log.value_K, kStagePoints)},
          {"setpoint_K", thinned(log.setpoint_K, kStagePoints)}};
}

void add_events(const storage::EventLog& events, json& data) {
  json& segments = data["segments"] = json::array();
  json& rows = data["events"] = json::array();
  for (std::size_t i = 0; i < events.rows(); ++i) {
    if (events.kind[i] == "segment") segments.push_back({{"time_s", events.time_s[i]}, {"label", events.message[i]}});
    if (rows.size() < kReportEvents)
      rows.push_back({{"time_s", events.time_s[i]}, {"kind", events.kind[i]}, {"message", events.message[i]}});
  }
}

// The run's last stored data frame (not a dark) with the analysis mask, or null when the frames are not stored.
json last_frame(const storage::RunFileReader& reader) {
  const auto frames = reader.frames();
  if (!frames || frames->height == 0) return nullptr;
  std::size_t row = frames->rows();
  while (row > 0 && frames->image_key[row - 1] != detector::image_data) --row;
  if (row-- == 0) return nullptr;
  const auto pixels = reader.frame_pixels(row);
  const auto mask = reader.analysis_mask().value_or(std::vector<std::uint8_t>{});
  const std::size_t width = frames->width;
  auto preview = frame_preview(
      frames->height, width, [&](std::size_t r, std::size_t c) { return static_cast<double>(pixels[r * width + c]); },
      mask);
  preview["sequence"] = frames->sequence[row];
  return preview;
}

void add_analysis(const storage::RunFileReader& reader, json& data) {
  data["curves"] = json::array();
  data["frame_entropy"] = {{"temperature_K", json::array()}, {"s_eq_J_per_mol_K", json::array()}};
  data["run_analysis"] = nullptr;
  const auto analysis = reader.analysis();
  if (!analysis) return;
  const std::size_t rows = analysis->sequence.size();
  for (std::size_t row = rows > kReportCurves ? rows - kReportCurves : 0; row < rows; ++row) {
    const auto c = reader.frame_curves(row);
    auto curves = frame_curves({c.q_inv_angstrom, c.q_reduced_inv_angstrom, c.r_angstrom}, c.intensity, c.s_of_q,
                               c.g_per_angstrom2);
    curves["sequence"] = analysis->sequence[row];
    data["curves"].push_back(std::move(curves));
  }
  data["frame_entropy"] = {{"temperature_K", numbers(analysis->temperature_K)},
                           {"s_eq_J_per_mol_K", numbers(analysis->s_eq_J_per_mol_K)}};
  const auto& run = analysis->run;
  data["run_analysis"] = {{"temperature_K", numbers(run.temperature_K)},
                          {"s_eq_smoothed_J_per_mol_K", numbers(run.s_eq_smoothed_J_per_mol_K)},
                          {"delta_phi_W_per_mol", numbers(run.delta_phi_W_per_mol)},
                          {"glass_transition_K", std::isfinite(run.t_g_K) ? json(run.t_g_K) : json(nullptr)}};
}

std::string summary_text(const std::filesystem::path& file) {
  std::ostringstream out, err;
  daemon::print_summary(file, out, err);
  return out.str() + err.str();
}

std::string title_of(const storage::RunFileReader& reader) {
  const auto sample = reader.sample().name;
  const auto name = reader.path().parent_path().filename().string();
  return sample.empty() ? "insitu report: " + name : fmt::format("insitu report: {} ({})", sample, name);
}

// JSON inside <script>: "</" would end the element, so it is written "<\/" (the same string to a JSON parser).
std::string script_safe(std::string text) {
  for (std::size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3)) text.insert(at + 1, "\\");
  return text;
}

std::string escaped_html(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

}  // namespace

json report_data(const storage::RunFileReader& reader) {
  json data{{"title", title_of(reader)},
            {"file", reader.path().string()},
            {"written", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(
                                                                  std::chrono::system_clock::now()))},
            {"summary_text", summary_text(reader.path())}};
  data["stage"] = stage_json(reader.temperature_log());
  add_events(reader.events(), data);
  data["frame"] = last_frame(reader);
  add_analysis(reader, data);
  data["plots"] = report_plots(reader);
  return data;
}

std::string report_html(const std::filesystem::path& run_file) {
  const storage::RunFileReader reader(run_file);
  const auto data = report_data(reader);
  return fmt::format(
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
      "content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{}\n</style>\n</head>\n<body>\n"
      "<div id=\"app\"></div>\n<script type=\"application/json\" id=\"insitu-report-data\">{}</script>\n"
      "<script>\n{}\n</script>\n</body>\n</html>\n",
      escaped_html(data["title"].get<std::string>()), asset("report.css"), script_safe(data.dump()),
      asset("report.js"));
}

// Through a temporary file beside `output`, so a reader never sees half a report.
void write_html(const std::string& html, const std::filesystem::path& output) {
  auto temporary = output;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << html;
    out.close();
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write", temporary.string()));
  }
  std::filesystem::rename(temporary, output);
}

void write_report(const std::filesystem::path& run_file, const std::filesystem::path& output) {
  write_html(report_html(run_file), output);
}

int report_command(const std::filesystem::path& run_file, const std::filesystem::path& output, std::ostream& out,
                   std::ostream& err) {
  const auto target = output.empty() ? run_file.parent_path() / "report.html" : output;
  std::string html;
  try {
    html = report_html(run_file);
  } catch (const std::exception& e) {
    err << "insitu report: " << e.what() << "\n";
    return 2;
  }
  try {
    write_html(html, target);
  } catch (const std::exception& e) {
    err << "insitu report: " << e.what() << "\n";
    return 1;
  }
  out << target.string() << "\n";
  return 0;
}

}  // namespace insitu::web
