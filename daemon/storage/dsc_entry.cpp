#include "daemon/storage/dsc_entry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "analysis/pdf/state_comparison.hpp"
#include "daemon/storage/schema.hpp"
#include "daemon/storage/small_datasets.hpp"

namespace insitu::storage {
namespace {

namespace s = schema;

void write_export(const h5::Handle& entry, std::size_t index, const DscExportRecord& e) {
  const auto& c = e.curve;
  const auto g = h5::create_group(entry, numbered("export", index), s::nx::collection);
  h5::write_string(g, "file_name", e.file_name);
  h5::write_string(g, "vendor", c.vendor);
  h5::write_string(g, "encoding", c.encoding);
  write_strings(g, "columns", c.columns);
  write_strings(g, "units", c.units);
  h5::write_scalar(g, "rows", static_cast<std::int64_t>(c.rows));
  h5::write_scalar(g, "marker_rows", static_cast<std::int64_t>(c.marker_rows));
  h5::write_string(g, "heat_flow_source_unit", c.heat_flow_source_unit);
  h5::write_scalar(g, "mass", c.mass_mg && !c.mass_source.empty() ? *c.mass_mg : std::nan(""), "mg");
  h5::write_string(g, "mass_source", c.mass_source);
  h5::write_string(g, "sign_convention", "endotherm positive");
  h5::write_string(g, "source_exotherm", c.source_exo_up ? "up" : "down");
  h5::write_string(g, "sign_source", c.sign_source);
  h5::write_string(g, "header", c.header);
  write_strings(g, "notes", c.notes);

  const auto data = h5::create_group(g, "data", s::nx::data);
  write_column(data, "temperature", c.sample_K, s::unit::kelvin);
  write_column(data, "time", c.time_s, s::unit::second);
  if (!c.program_K.empty()) write_column(data, "program_temperature", c.program_K, s::unit::kelvin);
  write_column(data, "heat_flow", c.heat_flow_W_per_g, "W/g");
  h5::set_attribute(data, s::attr::signal, "heat_flow");
  h5::set_attribute(data, s::attr::axes, "temperature");

  const auto segments = h5::create_group(g, "segments", s::nx::collection);
  std::vector<std::string> kind;
  std::vector<std::int64_t> first, end;
  std::vector<double> rate;
  for (const auto& seg : c.segments) {
    kind.emplace_back(dsc::to_string(seg.kind));
    first.push_back(static_cast<std::int64_t>(seg.begin));
    end.push_back(static_cast<std::int64_t>(seg.end));
    rate.push_back(seg.rate_K_per_min);
  }
  write_strings(segments, "kind", kind);
  write_column(segments, "first_row", first, nullptr);
  write_column(segments, "end_row", end, nullptr);
  write_column(segments, "rate", rate, "K/min");
}

void write_overlay(const h5::Handle& entry, const DscOverlay& o) {
  const auto g = h5::create_group(entry, "overlay", s::nx::data);
  h5::write_string(g, "run_file", o.run_file);
  h5::write_scalar(g, "glass_transition", o.glass_transition_K, s::unit::kelvin);
  write_column(g, "temperature", o.temperature_K, s::unit::kelvin);
  write_column(g, "reduced_temperature", o.reduced_temperature, "1");
  write_column(g, "delta_phi", o.delta_phi_W_per_mol, s::unit::heat_flow);
  std::vector<std::string> auxiliary;
  for (std::size_t i = 0; i < o.heat_flow_W_per_g.size(); ++i) {
    auxiliary.push_back(numbered("heat_flow", i));
    write_column(g, auxiliary.back(), o.heat_flow_W_per_g[i], "W/g");
  }
  h5::set_attribute(g, s::attr::signal, "delta_phi");
  if (!auxiliary.empty()) h5::set_attribute(g, "auxiliary_signals", auxiliary);
  h5::set_attribute(g, s::attr::axes, "temperature");
}

}  // namespace

void write_dsc_entry(const h5::Handle& file, const std::vector<DscExportRecord>& exports, const DscOverlay* overlay) {
  if (h5::exists(file, "entry_dsc")) throw h5::Error("write_dsc_entry: /entry_dsc exists already");
  auto entry = h5::create_group(file, "entry_dsc", s::nx::entry);
  h5::set_attribute(h5::open_group(file, "/"), s::attr::nx_class, s::nx::root);
  h5::set_attribute(h5::open_group(file, "/"), s::attr::default_, "entry_dsc");
  h5::set_attribute(entry, s::attr::default_, overlay ? "overlay" : numbered("export", 0) + "/data");
  h5::write_string(entry, s::entry_field::title, "DSC heat flow (insitu dsc)");
  for (std::size_t i = 0; i < exports.size(); ++i) write_export(entry, i, exports[i]);
  if (overlay) write_overlay(entry, *overlay);
}

// The first heating segment on the run's temperatures (sample temperature axis), NaN where it does not reach.
std::vector<double> first_heating_on(const dsc::DscCurve& c, const std::vector<double>& at_K) {
  std::vector<double> out(at_K.size(), std::nan(""));
  for (const auto& s : c.segments) {
    if (s.kind != dsc::SegmentKind::heating) continue;
    std::vector<double> T, hf;
    for (std::size_t i = s.begin; i < s.end; ++i)
      if (T.empty() || c.sample_K[i] > T.back()) T.push_back(c.sample_K[i]), hf.push_back(c.heat_flow_W_per_g[i]);
    for (std::size_t k = 0; k < at_K.size(); ++k) out[k] = analysis::interpolate(T, hf, at_K[k]);
    break;
  }
  return out;
}

DscOverlay dsc_overlay(std::string run_file, double glass_transition_K, std::vector<double> temperature_K,
                       std::vector<double> delta_phi_W_per_mol, const std::vector<DscExportRecord>& exports) {
  DscOverlay o;
  o.run_file = std::move(run_file);
  o.glass_transition_K = glass_transition_K;
  o.temperature_K = std::move(temperature_K);
  o.delta_phi_W_per_mol = std::move(delta_phi_W_per_mol);
  for (double T : o.temperature_K) o.reduced_temperature.push_back(T / o.glass_transition_K);
  for (const auto& e : exports) o.heat_flow_W_per_g.push_back(first_heating_on(e.curve, o.temperature_K));
  return o;
}

std::vector<DscExportRecord> read_dsc_exports(const std::vector<std::filesystem::path>& files,
                                              std::optional<double> mass_mg, std::vector<std::string>& problems) {
  std::vector<DscExportRecord> good;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    if (in) bytes << in.rdbuf();
    if (!in) {
      problems.push_back(path.string() + ":0: cannot read");
      continue;
    }
    try {
      good.push_back({path.string(), dsc::parse_dsc_export(bytes.str(), path.string(), mass_mg)});
    } catch (const dsc::DscFormatError& e) {
      problems.push_back(e.what());
    } catch (const std::exception& e) {  // what the parser did not foresee costs this file, never the others
      problems.push_back(path.string() + ":0: " + e.what());
    }
  }
  return good;
}

}  // namespace insitu::storage
