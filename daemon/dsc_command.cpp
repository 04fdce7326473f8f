#include "daemon/dsc_command.hpp"

#include <fmt/format.h>

#include <ostream>

#include "daemon/storage/dsc_entry.hpp"
#include "daemon/storage/run_file_reader.hpp"

namespace insitu::daemon {
namespace {

std::string describe(const std::filesystem::path& path, const dsc::DscCurve& c) {
  std::string columns;
  for (std::size_t i = 0; i < c.columns.size(); ++i)
    columns += fmt::format("{}{} [{}]", i ? ", " : "", c.columns[i], c.units[i]);
  std::string text = fmt::format("{}: {} ({}), {} rows{}, columns {}\n  heat flow from {}", path.string(), c.vendor,
                                 c.encoding, c.rows,
                                 c.marker_rows ? fmt::format(" ({} marker rows skipped)", c.marker_rows) : "", columns,
                                 c.heat_flow_source_unit);
  if (!c.mass_source.empty()) text += fmt::format(" / {} mg ({})", *c.mass_mg, c.mass_source);
  text += fmt::format(" -> W/g, endotherms positive; source exo {}: {}\n", c.source_exo_up ? "up" : "down", c.sign_source);
  for (const auto& s : c.segments) {
    const auto& T = c.program_K.empty() ? c.sample_K : c.program_K;
    text += fmt::format("  {} rows {}-{}: {:.1f} -> {:.1f} K at {:.2f} K/min\n", dsc::to_string(s.kind), s.begin + 1,
                        s.end, T[s.begin], T[s.end - 1], s.rate_K_per_min);
  }
  for (const auto& n : c.notes) text += "  note: " + n + "\n";
  return text;
}

std::optional<storage::DscOverlay> overlay_of(const std::filesystem::path& run,
                                              const std::vector<storage::DscExportRecord>& exports, std::ostream& err) {
  const storage::RunFileReader reader(run);
  const auto analysis = reader.analysis();
  if (!analysis || analysis->run.temperature_K.empty()) {
    err << "insitu dsc: " << run.string() << ": no run-level analysis (delta phi_eq) to lay the heat flow beside\n";
    return std::nullopt;
  }
  return storage::dsc_overlay(run.string(), analysis->run.t_g_K, analysis->run.temperature_K,
                              analysis->run.delta_phi_W_per_mol, exports);
}

}  // namespace

int run_dsc(const DscOptions& options, std::ostream& out, std::ostream& err) {
  if (options.exports.empty()) {
    err << "insitu dsc: no export files given\n";
    return 2;
  }
  if (std::filesystem::exists(options.output)) {
    err << "insitu dsc: " << options.output.string() << " exists already (never overwritten)\n";
    return 2;
  }
  std::vector<std::string> problems;
  const auto good = storage::read_dsc_exports(options.exports, options.mass_mg, problems);
  for (const auto& p : problems) err << p << "\n";
  for (const auto& e : good) out << describe(e.file_name, e.curve);
  bool failed = !problems.empty();
  if (good.empty()) {
    err << "insitu dsc: no export could be read; " << options.output.string() << " not written\n";
    return 1;
  }
  std::optional<storage::DscOverlay> overlay;
  if (options.run && !(overlay = overlay_of(*options.run, good, err))) failed = true;
  try {
    auto file = storage::h5::create_file(options.output);
    storage::write_dsc_entry(file, good, overlay ? &*overlay : nullptr);
    file.close();
  } catch (const std::exception& e) {
    err << "insitu dsc: writing " << options.output.string() << ": " << e.what() << "\n";
    std::filesystem::remove(options.output);
    return 2;
  }
  out << "wrote " << options.output.string() << " (/entry_dsc, " << good.size() << " export"
      << (good.size() == 1 ? "" : "s") << (overlay ? ", overlay on " + options.run->string() : "") << ")\n";
  return failed ? 1 : 0;
}

}  // namespace insitu::daemon
