#include "drivers/dhr3/trios.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numbers>
#include <regex>

#include <nlohmann/json.hpp>

namespace insitu::dhr3 {
namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

std::string with_line(std::size_t line, const std::string& reason) {
  if (line == 0) return "TRIOS export: " + reason;
  return "TRIOS export line " + std::to_string(line) + ": " + reason;
}

// ---------------------------------------------------------------------------------------------
// Lines and cells

struct Line {
  std::string_view text;
  std::size_t number;  // 1-based
};

struct Lines {
  std::vector<Line> lines;
  bool ends_with_newline = false;
};

Lines split_lines(std::string_view text) {
  Lines out;
  std::size_t start = 0;
  std::size_t number = 1;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    const bool has_nl = end != std::string_view::npos;
    if (!has_nl) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.lines.push_back({line, number++});
    out.ends_with_newline = has_nl;
    start = end + 1;
  }
  return out;
}

std::vector<std::string_view> split_cells(std::string_view line, char delim) {
  std::vector<std::string_view> cells;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = line.find(delim, start);
    if (end == std::string_view::npos) {
      cells.push_back(line.substr(start));
      return cells;
    }
    cells.push_back(line.substr(start, end - start));
    start = end + 1;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_section(std::string_view line) { return line.size() >= 2 && line.front() == '[' && line.back() == ']'; }

std::optional<double> parse_number(std::string_view cell, bool allow_comma) {
  cell = trim(cell);
  if (!cell.empty() && cell.front() == '+') cell.remove_prefix(1);
  double v = 0.0;
  auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ec == std::errc() && p == cell.data() + cell.size() && !cell.empty()) return v;
  if (allow_comma && cell.find(',') != std::string_view::npos && cell.find('.') == std::string_view::npos) {
    std::string copy(cell);
    std::replace(copy.begin(), copy.end(), ',', '.');
    auto [p2, ec2] = std::from_chars(copy.data(), copy.data() + copy.size(), v);
    if (ec2 == std::errc() && p2 == copy.data() + copy.size()) return v;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Units

const std::map<std::string, UnitConversion, std::less<>>& unit_table() {
  constexpr double deg = std::numbers::pi / 180.0;
  constexpr double gram_force_cm_Nm = 9.80665e-5;
  static const std::map<std::string, UnitConversion, std::less<>> table = {
      {"", {"", 1.0, 0.0}},
      {"%", {"1", 0.01, 0.0}},
      {"s", {"s", 1.0, 0.0}},
      {"ms", {"s", 1e-3, 0.0}},
      {"min", {"s", 60.0, 0.0}},
      {"h", {"s", 3600.0, 0.0}},
      {"K", {"K", 1.0, 0.0}},
      {"°C", {"K", 1.0, 273.15}},
      {"Hz", {"Hz", 1.0, 0.0}},
      {"rad/s", {"rad/s", 1.0, 0.0}},
      {"1/s", {"1/s", 1.0, 0.0}},
      {"Pa", {"Pa", 1.0, 0.0}},
      {"kPa", {"Pa", 1e3, 0.0}},
      {"MPa", {"Pa", 1e6, 0.0}},
      {"GPa", {"Pa", 1e9, 0.0}},
      {"1/Pa", {"1/Pa", 1.0, 0.0}},
      {"1/kPa", {"1/Pa", 1e-3, 0.0}},
      {"1/MPa", {"1/Pa", 1e-6, 0.0}},
      {"1/GPa", {"1/Pa", 1e-9, 0.0}},
      {"Pa.s", {"Pa.s", 1.0, 0.0}},
      {"mPa.s", {"Pa.s", 1e-3, 0.0}},
      {"Pa.s²", {"Pa.s²", 1.0, 0.0}},
      {"N", {"N", 1.0, 0.0}},
      {"mN", {"N", 1e-3, 0.0}},
      {"g", {"N", 9.80665e-3, 0.0}},  // TRIOS "Axial force 80.0 g" is gram-force
      {"N.m", {"N.m", 1.0, 0.0}},
      {"mN.m", {"N.m", 1e-3, 0.0}},
      {"µN.m", {"N.m", 1e-6, 0.0}},
      {"g.cm", {"N.m", gram_force_cm_Nm, 0.0}},
      {"N.m/rad", {"N.m/rad", 1.0, 0.0}},
      {"N/m", {"N/m", 1.0, 0.0}},
      {"m", {"m", 1.0, 0.0}},
      {"mm", {"m", 1e-3, 0.0}},
      {"µm", {"m", 1e-6, 0.0}},
      {"rad", {"rad", 1.0, 0.0}},
      {"mrad", {"rad", 1e-3, 0.0}},
      {"°", {"rad", deg, 0.0}},
      {"1/rad", {"1/rad", 1.0, 0.0}},
      {"1/m", {"1/m", 1.0, 0.0}},
      {"1/K", {"1/K", 1.0, 0.0}},
      {"K/min", {"K/s", 1.0 / 60.0, 0.0}},
      {"°C/min", {"K/s", 1.0 / 60.0, 0.0}},
  };
  return table;
}

// ---------------------------------------------------------------------------------------------
// Building typed columns from raw cells

struct RawRow {
  std::vector<std::string_view> cells;
  std::size_t line;
};

struct RawStep {
  std::string name;
  std::optional<std::size_t> declared_points;
  std::vector<std::string> names;
  std::vector<std::string> units;
  std::vector<RawRow> rows;
  std::size_t header_line = 0;
  std::size_t units_line = 0;
};

std::optional<double> temperature_from_step_name(const std::string& name) {
  static const std::regex re(R"(\(\s*([-+]?[0-9]+(?:[.,][0-9]+)?)\s*°C\s*\))");
  std::smatch m;
  if (!std::regex_search(name, m, re)) return std::nullopt;
  std::string v = m[1].str();
  std::replace(v.begin(), v.end(), ',', '.');
  return std::stod(v) + 273.15;
}

Step build_step(const RawStep& raw, bool allow_comma) {
  if (raw.rows.empty())
    throw TriosError(raw.units_line, "step '" + raw.name + "' has column headers but no data rows");
  if (raw.declared_points && *raw.declared_points != raw.rows.size())
    throw TriosError(raw.rows.back().line, "step '" + raw.name + "' declares " + std::to_string(*raw.declared_points) +
                                               " points but has " + std::to_string(raw.rows.size()) +
                                               " (truncated file?)");
  Step step;
  step.name = raw.name;
  step.declared_points = raw.declared_points;
  step.set_temperature_K = temperature_from_step_name(raw.name);
  step.columns.resize(raw.names.size());
  for (std::size_t c = 0; c < raw.names.size(); ++c) {
    Column& col = step.columns[c];
    col.name = raw.names[c];
    col.unit = raw.units[c];
    // A column is text when its first non-empty cell is not a number (status hex, transducer, dates).
    for (const auto& row : raw.rows) {
      const auto cell = trim(row.cells[c]);
      if (cell.empty()) continue;
      col.is_text = !parse_number(cell, allow_comma).has_value();
      break;
    }
    if (col.is_text) {
      col.si_unit = col.unit;
      col.text.reserve(raw.rows.size());
      for (const auto& row : raw.rows) col.text.emplace_back(row.cells[c]);
      continue;
    }
    UnitConversion conv;
    try {
      conv = si_conversion(col.unit);
    } catch (const TriosError&) {
      throw TriosError(raw.units_line, "unknown unit '" + col.unit + "' for column '" + col.name + "'");
    }
    col.si_unit = conv.si_unit;
    col.values.reserve(raw.rows.size());
    for (const auto& row : raw.rows) {
      const auto cell = trim(row.cells[c]);
      if (cell.empty()) {
        col.values.push_back(nan_v);
        continue;
      }
      const auto v = parse_number(cell, allow_comma);
      if (!v)
        throw TriosError(row.line, "bad number '" + std::string(cell) + "' in column '" + col.name + "' (cell " +
                                       std::to_string(c + 1) + ")");
      col.values.push_back(*v * conv.scale + conv.offset);
    }
  }
  return step;
}

void check_row(const RawStep& raw, const RawRow& row, const Lines& lines, std::size_t line_index) {
  if (row.cells.size() == raw.names.size()) return;
  const bool last_line = line_index + 1 == lines.lines.size();
  if (last_line && !lines.ends_with_newline && row.cells.size() < raw.names.size())
    throw TriosError(row.line, "truncated file: last row has " + std::to_string(row.cells.size()) + " of " +
                                   std::to_string(raw.names.size()) + " cells");
  throw TriosError(row.line, "ragged row: " + std::to_string(row.cells.size()) + " cells, expected " +
                                 std::to_string(raw.names.size()) + " in step '" + raw.name + "'");
}

void check_header(const RawStep& raw) {
  if (raw.names.size() != raw.units.size())
    throw TriosError(raw.units_line, "step '" + raw.name + "' has " + std::to_string(raw.names.size()) +
                                         " column names but " + std::to_string(raw.units.size()) + " units");
}

// ---------------------------------------------------------------------------------------------
// Metadata

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

ModulusKind modulus_from_geometry(const Metadata& meta) {
  std::string text = lower(meta.geometry);
  for (const auto& e : meta.entries)
    if (lower(e.section).find("geometry") != std::string::npos &&
        (lower(e.key).find("name") != std::string::npos || lower(e.key).find("type") != std::string::npos))
      text += " " + lower(e.value);
  for (const char* key : {"bending", "3-point", "three point", "three-point", "cantilever", "tension", "axial dma"})
    if (text.find(key) != std::string::npos) return ModulusKind::young_E;
  for (const char* key : {"torsion", "parallel plate", "cone", "concentric", "couette", "plate"})
    if (text.find(key) != std::string::npos) return ModulusKind::shear_G;
  return ModulusKind::unknown;
}

std::string first_value(const Metadata& meta, std::initializer_list<std::pair<std::string_view, std::string_view>> keys) {
  for (const auto& [section, key] : keys)
    if (const auto* e = meta.find(section, key); e && !e->value.empty()) return e->value;
  return {};
}

void fill_text_metadata(Metadata& meta) {
  meta.instrument_name = first_value(meta, {{"Parameters: File Parameters", "Instrument name"},
                                            {"File Parameters", "Instrument name"},
                                            {"Header", "Instrument name"},
                                            {"", "Instrument name"}});
  meta.instrument_type =
      first_value(meta, {{"Parameters: File Parameters", "Instrument type"}, {"File Parameters", "Instrument type"}});
  meta.serial_number = first_value(meta, {{"Parameters: File Parameters", "Instrument serial number"},
                                          {"File Parameters", "Instrument serial number"},
                                          {"Header", "Instrument serial number"}});
  meta.run_date = first_value(meta, {{"Parameters: File Parameters", "Run date"},
                                     {"File Parameters", "Run date"},
                                     {"Header", "Run date"},
                                     {"", "rundate"}});
  meta.procedure = first_value(meta, {{"Procedure", "Procedure name"}, {"", "Procedure name"}});
  meta.geometry = first_value(meta, {{"Geometry: Standard", "Name"}, {"", "Geometry name"}, {"Geometry Parameters", "Name"}});
  meta.sample = first_value(meta, {{"Sample", "Name"}, {"", "Sample name"}});
  meta.trios_version = first_value(meta, {{"Parameters: File Parameters", "Trios version"}, {"File Parameters", "Trios version"}});
  meta.modulus = modulus_from_geometry(meta);
}

// ---------------------------------------------------------------------------------------------
// LIMS layout: [Version] ... [Step] blocks with row labels in column 0.

Export parse_lims(const Lines& lines, const ParseOptions& options) {
  Export ex;
  ex.layout = Layout::lims;
  std::string section;
  std::size_t i = 0;
  const auto& L = lines.lines;
  while (i < L.size()) {
    const Line& line = L[i];
    if (line.text.empty()) {
      ++i;
      continue;
    }
    if (is_section(line.text)) {
      section = std::string(line.text.substr(1, line.text.size() - 2));
      ++i;
      if (section != "Step") continue;
      RawStep raw;
      raw.header_line = line.number;
      bool have_units = false;
      for (; i < L.size() && !is_section(L[i].text) && !L[i].text.empty(); ++i) {
        const Line& l = L[i];
        const auto tab = l.text.find('\t');
        const std::string_view tag = l.text.substr(0, tab);
        const std::string_view rest = tab == std::string_view::npos ? std::string_view{} : l.text.substr(tab + 1);
        if (tag == "Step name") {
          raw.name = std::string(rest);
        } else if (tag == "Number of points") {
          const auto v = parse_number(rest, false);
          if (!v || *v < 0 || std::floor(*v) != *v)
            throw TriosError(l.number, "bad 'Number of points' value '" + std::string(rest) + "'");
          raw.declared_points = static_cast<std::size_t>(*v);
        } else if (tag == "Variables") {
          for (auto c : split_cells(rest, '\t')) raw.names.emplace_back(c);
          raw.units_line = l.number;
        } else if (tag == "Units") {
          if (raw.names.empty()) throw TriosError(l.number, "'Units' line before 'Variables' in step '" + raw.name + "'");
          for (auto c : split_cells(rest, '\t')) raw.units.emplace_back(c);
          raw.units_line = l.number;
          have_units = true;
          check_header(raw);
        } else if (tag == "Data point") {
          if (!have_units)
            throw TriosError(l.number, "data row before the 'Variables' and 'Units' lines in step '" + raw.name + "'");
          RawRow row{split_cells(rest, '\t'), l.number};
          check_row(raw, row, lines, i);
          raw.rows.push_back(std::move(row));
        } else {
          throw TriosError(l.number, "unexpected line in [Step]: '" + std::string(tag) + "'");
        }
      }
      if (!have_units)
        throw TriosError(i < L.size() ? L[i].number : L.back().number,
                         "truncated file: step '" + raw.name + "' ends before its 'Variables' and 'Units' lines");
      ex.steps.push_back(build_step(raw, options.allow_decimal_comma));
      continue;
    }
    const auto tab = line.text.find('\t');
    MetadataEntry e{section, std::string(line.text.substr(0, tab)),
                    tab == std::string_view::npos ? std::string() : std::string(line.text.substr(tab + 1))};
    ex.meta.entries.push_back(std::move(e));
    ++i;
  }
  if (ex.steps.empty()) throw TriosError(L.back().number, "truncated file: LIMS export without any [Step] block");
  fill_text_metadata(ex.meta);
  return ex;
}

// ---------------------------------------------------------------------------------------------
// Plain text / CSV layout: Filename header, sections, lowercase [step] blocks ended by a blank line.

Export parse_plain(const Lines& lines, char delim, const ParseOptions& options) {
  Export ex;
  ex.layout = delim == '\t' ? Layout::text : Layout::csv;
  const bool allow_comma = options.allow_decimal_comma && delim != ',';
  std::string section;
  const auto& L = lines.lines;
  std::size_t i = 0;
  while (i < L.size()) {
    const Line& line = L[i];
    if (line.text.empty()) {
      ++i;
      continue;
    }
    if (is_section(line.text)) {
      section = std::string(line.text.substr(1, line.text.size() - 2));
      ++i;
      if (lower(section) != "step") continue;
      RawStep raw;
      raw.header_line = line.number;
      auto need = [&](const char* what) -> const Line& {
        if (i >= L.size() || L[i].text.empty() || is_section(L[i].text))
          throw TriosError(i < L.size() ? L[i].number : L.back().number,
                           std::string("truncated file: [step] ends before its ") + what + " line");
        return L[i++];
      };
      raw.name = std::string(need("name").text);
      for (auto c : split_cells(need("column").text, delim)) raw.names.emplace_back(c);
      const Line& units = need("units");
      for (auto c : split_cells(units.text, delim)) raw.units.emplace_back(c);
      raw.units_line = units.number;
      check_header(raw);
      for (; i < L.size() && !L[i].text.empty() && !is_section(L[i].text); ++i) {
        RawRow row{split_cells(L[i].text, delim), L[i].number};
        check_row(raw, row, lines, i);
        raw.rows.push_back(std::move(row));
      }
      ex.steps.push_back(build_step(raw, allow_comma));
      continue;
    }
    if (line.text.front() == delim) {
      // Continuation of the previous key (one procedure step per line in the header).
      if (ex.meta.entries.empty()) throw TriosError(line.number, "continuation line before any key");
      auto& prev = ex.meta.entries.back();
      if (!prev.value.empty()) prev.value += '\n';
      prev.value += std::string(trim(line.text.substr(1)));
      ++i;
      continue;
    }
    const auto d = line.text.find(delim);
    ex.meta.entries.push_back({section, std::string(line.text.substr(0, d)),
                               d == std::string_view::npos ? std::string() : std::string(line.text.substr(d + 1))});
    ++i;
  }
  if (ex.steps.empty()) throw TriosError(L.back().number, "truncated file: export without any [step] block");
  fill_text_metadata(ex.meta);
  return ex;
}

// ---------------------------------------------------------------------------------------------
// JSON export (TRIOS >= 5): Results.Processed{ResultsSteps, ColumnHeaders, Rows}.

using ojson = nlohmann::ordered_json;

std::string json_string(const ojson& j, std::initializer_list<const char*> path) {
  const ojson* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object() || !cur->contains(key)) return {};
    cur = &(*cur)[key];
  }
  return cur->is_string() ? cur->get<std::string>() : std::string();
}

void flatten(const ojson& j, const std::string& section, const std::string& prefix, Metadata& meta) {
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    const ojson& v = it.value();
    if (v.is_object() && v.contains("Value") && v.contains("Unit")) {
      std::string unit = json_string(v, {"Unit", "Name"});
      meta.entries.push_back({section, key, v["Value"].dump() + (unit.empty() ? "" : " " + unit)});
    } else if (v.is_object()) {
      flatten(v, section, key, meta);
    } else if (v.is_string()) {
      meta.entries.push_back({section, key, v.get<std::string>()});
    } else if (v.is_number() || v.is_boolean()) {
      meta.entries.push_back({section, key, v.dump()});
    }
  }
}

std::size_t line_of_offset(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

Export parse_json(std::string_view text) {
  ojson j;
  try {
    j = ojson::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    throw TriosError(line_of_offset(text, offset), "invalid JSON at byte offset " + std::to_string(offset) +
                                                       (offset >= text.size() ? " (truncated file?)" : ""));
  }
  Export ex;
  ex.layout = Layout::json;
  if (!j.is_object() || !j.contains("Results") || !j["Results"].contains("Processed"))
    throw TriosError(0, "JSON export without Results.Processed");
  const ojson& proc = j["Results"]["Processed"];
  for (const char* key : {"ResultsSteps", "ColumnHeaders", "Rows"})
    if (!proc.contains(key)) throw TriosError(0, std::string("JSON export without Results.Processed.") + key);

  Metadata& meta = ex.meta;
  if (j.contains("Procedure") && j["Procedure"].contains("Configuration")) {
    const ojson& cfgs = j["Procedure"]["Configuration"]["InstrumentConfigurations"];
    if (cfgs.is_array() && !cfgs.empty()) {
      const ojson& c = cfgs[0];
      meta.instrument_type = json_string(c, {"Type"});
      meta.serial_number = json_string(c, {"SerialNumber"});
      meta.instrument_name = json_string(c, {"Name"});
      meta.geometry = json_string(c, {"Geometry", "Name"});
      flatten(c, "Instrument", "", meta);
    }
  }
  meta.procedure = json_string(j, {"Procedure", "Name"});
  // The steps' text names what the columns may not (a one-frequency ramp's "Frequency 1 Hz").
  if (j.contains("Procedure") && j["Procedure"].contains("Steps") && j["Procedure"]["Steps"].is_array()) {
    std::size_t n = 0;
    for (const auto& step : j["Procedure"]["Steps"])
      meta.entries.push_back({"Procedure: Steps", "Step " + std::to_string(++n), json_string(step, {"Name"})});
  }
  meta.sample = json_string(j, {"Sample", "Name"});
  meta.run_date = json_string(j, {"StartTime"});
  meta.entries.push_back({"", "StartTime", meta.run_date});
  if (j.contains("Sample")) flatten(j["Sample"], "Sample", "", meta);
  meta.modulus = modulus_from_geometry(meta);

  struct JsonColumn {
    std::string key;
    Column col;
    UnitConversion conv;
  };
  std::vector<JsonColumn> columns;
  for (auto it = proc["ColumnHeaders"].begin(); it != proc["ColumnHeaders"].end(); ++it) {
    if (it.key() == "Results Step Id") continue;
    JsonColumn jc;
    jc.key = it.key();
    const ojson& h = it.value();
    jc.col.name = json_string(h, {"DisplayName"});
    if (jc.col.name.empty()) jc.col.name = it.key();
    jc.col.unit = json_string(h, {"Unit", "Name"});
    const std::string type = json_string(h, {"ValueType"});
    jc.col.is_text = !(type == "Number" || type == "Integer");
    if (jc.col.is_text) {
      jc.col.si_unit = jc.col.unit;
    } else {
      try {
        jc.conv = si_conversion(jc.col.unit);
      } catch (const TriosError&) {
        throw TriosError(0, "unknown unit '" + jc.col.unit + "' for column '" + jc.col.name + "'");
      }
      jc.col.si_unit = jc.conv.si_unit;
    }
    columns.push_back(std::move(jc));
  }

  std::map<std::string, std::size_t> step_index;
  for (const auto& s : proc["ResultsSteps"]) {
    Step step;
    step.name = json_string(s, {"Name"});
    step.set_temperature_K = temperature_from_step_name(step.name);
    for (const auto& jc : columns) step.columns.push_back(jc.col);
    step_index[json_string(s, {"Id"})] = ex.steps.size();
    ex.steps.push_back(std::move(step));
  }
  std::size_t row_number = 0;
  for (const auto& row : proc["Rows"]) {
    ++row_number;
    const std::string id = json_string(row, {"Results Step Id"});
    const auto found = step_index.find(id);
    if (found == step_index.end())
      throw TriosError(0, "JSON row " + std::to_string(row_number) + " refers to unknown step id '" + id + "'");
    Step& step = ex.steps[found->second];
    for (std::size_t c = 0; c < columns.size(); ++c) {
      Column& col = step.columns[c];
      const bool present = row.contains(columns[c].key) && !row[columns[c].key].is_null();
      if (col.is_text) {
        if (!present) {
          col.text.emplace_back();
        } else {
          const ojson& v = row[columns[c].key];
          col.text.push_back(v.is_string() ? v.get<std::string>() : v.dump());
        }
        continue;
      }
      if (!present) {
        col.values.push_back(nan_v);
        continue;
      }
      const ojson& v = row[columns[c].key];
      if (!v.is_number())
        throw TriosError(0, "JSON row " + std::to_string(row_number) + ": bad number " + v.dump() + " in column '" +
                                col.name + "'");
      col.values.push_back(v.get<double>() * columns[c].conv.scale + columns[c].conv.offset);
    }
  }
  for (const auto& step : ex.steps)
    if (step.row_count() == 0) throw TriosError(0, "JSON step '" + step.name + "' has no rows");
  return ex;
}

}  // namespace

// -----------------------------------------------------------------------------------------------

TriosError::TriosError(std::size_t line, const std::string& reason)
    : std::runtime_error(with_line(line, reason)), line_(line) {}

std::string_view to_string(Layout layout) {
  switch (layout) {
    case Layout::lims: return "lims";
    case Layout::text: return "text";
    case Layout::csv: return "csv";
    case Layout::json: return "json";
  }
  return "?";
}

std::string_view to_string(ModulusKind kind) {
  switch (kind) {
    case ModulusKind::shear_G: return "G";
    case ModulusKind::young_E: return "E";
    case ModulusKind::unknown: return "unknown";
  }
  return "?";
}

std::size_t Step::row_count() const {
  if (columns.empty()) return 0;
  const Column& c = columns.front();
  return c.is_text ? c.text.size() : c.values.size();
}

const Column* Step::find(std::string_view column_name) const {
  for (const auto& c : columns)
    if (c.name == column_name) return &c;
  return nullptr;
}

const Column& Step::at(std::string_view column_name) const {
  if (const auto* c = find(column_name)) return *c;
  throw TriosError(0, "step '" + name + "' has no column '" + std::string(column_name) + "'");
}

const MetadataEntry* Metadata::find(std::string_view section, std::string_view key) const {
  for (const auto& e : entries)
    if (e.section == section && e.key == key) return &e;
  return nullptr;
}

UnitConversion si_conversion(std::string_view unit) {
  const auto& table = unit_table();
  const auto it = table.find(trim(unit));
  if (it == table.end()) throw TriosError(0, "unknown unit '" + std::string(unit) + "'");
  return it->second;
}

namespace {

// The layout the text's first characters name, parsed.
Export parse_layout(const std::string& text, std::string_view head, std::size_t first, const ParseOptions& options) {
  if (head.front() == '{') return parse_json(text);
  const Lines lines = split_lines(text);
  if (head.starts_with("[Version]")) return parse_lims(lines, options);
  if (head.starts_with("Filename\t")) return parse_plain(lines, '\t', options);
  if (head.starts_with("Filename,")) return parse_plain(lines, ',', options);
  if (head.starts_with("Filename;")) return parse_plain(lines, ';', options);
  throw TriosError(line_of_offset(text, first),
                   "unrecognised export: expected '[Version]', 'Filename' followed by a separator, or '{'");
}

}  // namespace

Export parse_export(std::string_view bytes, const ParseOptions& options) {
  if (bytes.empty()) throw TriosError(0, "empty file");
  if (bytes.substr(0, 4) == "\xD0\xCF\x11\xE0")
    throw TriosError(0, "unsupported format: OLE2 compound file (.xls or Rheology Advantage .rsl), export as text");
  if (bytes.substr(0, 2) == "PK") throw TriosError(0, "unsupported format: zip container (.xlsx), export as text");
  SourceEncoding enc{};
  const std::string text = decode_to_utf8(bytes, &enc);
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw TriosError(0, "empty file");
  const std::string_view head = std::string_view(text).substr(first);
  Export ex;
  try {
    ex = parse_layout(text, head, first, options);
  } catch (const TriosError&) {
    throw;
  } catch (const std::exception& e) {  // a number past double's range (1e400) in either layout, and its like
    throw TriosError(0, std::string("unreadable value: ") + e.what());
  }
  ex.encoding = enc;
  return ex;
}

}  // namespace insitu::dhr3
