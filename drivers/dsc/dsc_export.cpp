#include "drivers/dsc/dsc_export.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace insitu::dsc {
namespace {

struct Decoded {
  std::string text, encoding;
};

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

// A BOM first, then strict UTF-8, then the 8-bit code page the vendor uses (TA UA: cp437, 0xF8 = °; the others
// cp1252, 0xB0 = °). Only the characters units need are mapped; other bytes above 0x7F become '?'.
Decoded decode(std::string_view bytes) {
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xFF && static_cast<unsigned char>(bytes[1]) == 0xFE) {
    std::string out;
    for (std::size_t i = 2; i + 1 < bytes.size(); i += 2) {
      const unsigned unit = static_cast<unsigned char>(bytes[i]) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
      out += unit < 0x80 ? std::string(1, static_cast<char>(unit)) : unit == 0xB0 ? "°" : unit == 0xB5 ? "µ" : "?";
    }
    return {out, "utf-16le"};
  }
  if (bytes.starts_with("\xEF\xBB\xBF")) return {std::string(bytes.substr(3)), "utf-8"};
  const bool ascii = std::all_of(bytes.begin(), bytes.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return {std::string(bytes), "ascii"};
  if (valid_utf8(bytes)) return {std::string(bytes), "utf-8"};
  const bool cp437 = bytes.find("StartOfData") != std::string_view::npos;
  std::string out;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) out += ch;
    else if (c == (cp437 ? 0xF8 : 0xB0)) out += "°";
    else if (c == (cp437 ? 0xE6 : 0xB5)) out += "µ";
    else out += '?';
  }
  return {out, cp437 ? "cp437" : "cp1252"};
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r' && text[i] != '\n') continue;
    lines.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> out;
  if (separator == ' ') {
    for (std::size_t i = 0; i < s.size();) {
      i = s.find_first_not_of(" \t", i);
      if (i == std::string_view::npos) break;
      const auto e = std::min(s.find_first_of(" \t", i), s.size());
      out.push_back(s.substr(i, e - i));
      i = e;
    }
    return out;
  }
  for (std::size_t start = 0;;) {
    const auto e = s.find(separator, start);
    out.push_back(trim(s.substr(start, e == std::string_view::npos ? std::string_view::npos : e - start)));
    if (e == std::string_view::npos) return out;
    start = e + 1;
  }
}

// "1.18146e+002", ".004166667", "+1", "-3,64e-02" (decimal comma): std::from_chars, never the locale.
std::optional<double> number(std::string_view s, bool decimal_comma = false) {
  s = trim(s);
  std::string buffer(s);
  if (decimal_comma) std::replace(buffer.begin(), buffer.end(), ',', '.');
  std::string_view v = buffer;
  if (v.starts_with('+')) v.remove_prefix(1);
  double out = 0.0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || end != v.data() + v.size() || v.empty()) return std::nullopt;
  return out;
}

// A table as the vendor lays it out: column names, units, and the rows with their 1-based line numbers.
struct Table {
  std::vector<std::string> names, units;
  std::vector<std::vector<double>> rows;
  std::vector<std::size_t> lines;
};

// Reads rows of `fields` numbers from line index `first` until a line that is not one (blank, footer, label).
// A row with a number count other than `fields` is an error with its line.
void read_rows(const std::vector<std::string_view>& lines, std::size_t first, char separator, bool decimal_comma,
               Table& table, const std::string& source) {
  const std::size_t fields = table.names.size();
  for (std::size_t i = first; i < lines.size(); ++i) {
    const auto cells = split(trim(lines[i]), separator);
    if (cells.empty() || !number(cells.front(), decimal_comma)) break;
    std::vector<double> row;
    for (const auto& c : cells) {
      const auto v = number(c, decimal_comma);
      if (!v) throw DscFormatError(fmt::format("{}:{}: '{}' is not a number", source, i + 1, c));
      row.push_back(*v);
    }
    if (row.size() != fields)
      throw DscFormatError(fmt::format("{}:{}: {} fields, expected {} ({})", source, i + 1, row.size(), fields,
                                       fmt::join(table.names, " ")));
    table.rows.push_back(std::move(row));
    table.lines.push_back(i + 1);
  }
}

struct Roles {
  std::optional<std::size_t> time, sample, program, heat_flow;
};

double temperature_offset(const std::string& unit, const std::string& source, const std::string& column) {
  if (unit == "K") return 0.0;
  if (unit.ends_with("C")) return 273.15;  // °C, or a re-saved file's replacement character before C
  throw DscFormatError(fmt::format("{}:0: column {}: temperature unit '{}' is neither °C nor K", source, column, unit));
}

double time_scale(const std::string& unit, const std::string& source) {
  if (unit == "s") return 1.0;
  if (unit == "min") return 60.0;
  throw DscFormatError(fmt::format("{}:0: time unit '{}' is neither s nor min", source, unit));
}

// Fills the curve's SI columns from the table; heat flow to W/g with the mass when the export is in mW.
void to_curve(const Table& t, const Roles& roles, const std::string& source, DscCurve& c) {
  if (!roles.heat_flow)
    throw DscFormatError(fmt::format("{}:0: no heat-flow column (columns: {})", source, fmt::join(t.names, ", ")));
  if (!roles.sample)
    throw DscFormatError(fmt::format("{}:0: no sample temperature column (columns: {})", source, fmt::join(t.names, ", ")));
  if (!roles.time) throw DscFormatError(fmt::format("{}:0: no time column (columns: {})", source, fmt::join(t.names, ", ")));
  if (t.rows.empty()) throw DscFormatError(fmt::format("{}:0: no data rows", source));
  c.columns = t.names;
  c.units = t.units;
  const std::string hf_unit = t.units[*roles.heat_flow];
  double hf_scale = 1.0;
  if (hf_unit == "mW") {
    if (!c.mass_mg || !(*c.mass_mg > 0.0))
      throw DscFormatError(fmt::format("{}:0: heat flow in mW and no usable sample mass in the header ({}): give --mass-mg",
                                       source, c.mass_mg ? fmt::format("{} mg", *c.mass_mg) : "none"));
    hf_scale = 1.0 / *c.mass_mg;
  } else if (hf_unit == "mW/mg" || hf_unit == "W/g" || hf_unit == "Wg^-1") {
    c.mass_source.clear();
  } else {
    throw DscFormatError(fmt::format("{}:0: heat-flow unit '{}' is not mW, mW/mg or W/g (uncalibrated µV is refused)",
                                     source, hf_unit));
  }
  c.heat_flow_source_unit = hf_unit;
  const double t_scale = time_scale(t.units[*roles.time], source);
  const double s_offset = temperature_offset(t.units[*roles.sample], source, t.names[*roles.sample]);
  const double p_offset = roles.program ? temperature_offset(t.units[*roles.program], source, t.names[*roles.program]) : 0;
  const double sign = c.source_exo_up ? -1.0 : 1.0;  // endotherms positive
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto& r = t.rows[i];
    c.time_s.push_back(r[*roles.time] * t_scale);
    c.sample_K.push_back(r[*roles.sample] + s_offset);
    if (roles.program) c.program_K.push_back(r[*roles.program] + p_offset);
    c.heat_flow_W_per_g.push_back(sign * r[*roles.heat_flow] * hf_scale);
  }
  c.rows = t.rows.size();
  c.segments = split_segments(c.time_s, c.program_K.empty() ? c.sample_K : c.program_K);
}

std::optional<double> mass_in(std::string_view line) {  // "name, 4.9292 mg"
  const auto mg = line.rfind(" mg");
  if (mg == std::string_view::npos) return std::nullopt;
  const auto start = line.find_last_of(" ,", mg - 1);
  return number(line.substr(start == std::string_view::npos ? 0 : start + 1, mg - (start + 1)));
}

bool is_heat_flow_unit(const std::string& u) { return u == "mW" || u == "W/g" || u == "Wg^-1" || u == "mW/mg"; }

std::vector<std::string> unit_cells(std::string_view line) {  // "[s] [°C]" -> {"s", "°C"}
  std::vector<std::string> out;
  for (const auto& cell : split(line, ' ')) {
    std::string u(cell);
    if (u.starts_with('[')) u.erase(0, 1);
    if (u.ends_with(']')) u.pop_back();
    out.push_back(u);
  }
  return out;
}

// STARe: a column line ("Index t Ts Tr Value" or the table export's user order) and a [unit] line below it.
Table stare_table(const std::vector<std::string_view>& lines, std::size_t header, const std::string& source) {
  Table t;
  for (const auto& n : split(lines[header], ' ')) t.names.emplace_back(n);
  t.units = unit_cells(lines[header + 1]);
  if (t.units.size() + 1 == t.names.size() && t.names.front() == "Index") t.units.insert(t.units.begin(), "#");
  if (t.units.size() != t.names.size())
    throw DscFormatError(fmt::format("{}:{}: {} units for {} columns", source, header + 2, t.units.size(), t.names.size()));
  read_rows(lines, header + 2, ' ', false, t, source);
  return t;
}

Roles stare_roles(const Table& t) {
  Roles r;
  for (std::size_t i = 0; i < t.names.size(); ++i) {
    const auto& n = t.names[i];
    if (n == "t") r.time = i;
    else if (n == "Ts") r.sample = i;
    else if (n == "Tr") r.program = i;
    else if ((n == "Value" || n == "HF") && is_heat_flow_unit(t.units[i])) r.heat_flow = i;
  }
  return r;
}

DscCurve parse_stare(const std::vector<std::string_view>& lines, const std::string& source, DscCurve c) {
  c.sign_source = "STARe default (exo up: endotherms negative; the files do not say)";
  std::optional<std::size_t> chosen;
  std::vector<std::size_t> headers;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    const auto cells = split(lines[i], ' ');
    if (!cells.empty() && cells.front() == "Index" && trim(lines[i + 1]).starts_with('[')) headers.push_back(i);
    if (!c.mass_mg && (trim(lines[i]) == "SampleID:" || trim(lines[i]) == "Sample:")) {
      c.mass_mg = mass_in(lines[i + 1]);
      if (c.mass_mg) c.mass_source = "header";
    }
  }
  if (headers.empty()) throw DscFormatError(source + ":0: STARe export without an 'Index' column line");
  Table table;
  for (auto h : headers) {
    Table t = stare_table(lines, h, source);
    if (!chosen && stare_roles(t).heat_flow) {
      chosen = h;
      table = std::move(t);
    } else {
      c.notes.push_back(fmt::format("line {}: a curve in [{}] ({} rows) is not heat flow, not used", h + 1,
                                    fmt::join(t.units, "] ["), t.rows.size()));
    }
  }
  if (!chosen) throw DscFormatError(source + ":0: no heat-flow curve in this STARe export (" + c.notes.front() + ")");
  c.header = std::string(lines.front().data(), lines[*chosen].data() - lines.front().data());
  to_curve(table, stare_roles(table), source, c);
  return c;
}

}  // namespace

std::string_view to_string(SegmentKind kind) {
  switch (kind) {
    case SegmentKind::heating: return "heating";
    case SegmentKind::cooling: return "cooling";
    case SegmentKind::isothermal: return "isothermal";
  }
  return "?";
}

std::vector<Segment> split_segments(const std::vector<double>& t, const std::vector<double>& T, double min_rate,
                                     std::size_t min_rows) {
  const std::size_t n = std::min(t.size(), T.size()), k = 5;
  std::vector<SegmentKind> kind(n, SegmentKind::isothermal);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t a = i >= k ? i - k : 0, b = std::min(n - 1, i + k);
    const double rate = t[b] > t[a] ? (T[b] - T[a]) / (t[b] - t[a]) * 60.0 : 0.0;
    kind[i] = rate > min_rate ? SegmentKind::heating : rate < -min_rate ? SegmentKind::cooling : SegmentKind::isothermal;
  }
  std::vector<Segment> out;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && kind[j] == kind[i]) ++j;
    if (j - i >= min_rows && t[j - 1] > t[i]) {
      Segment s{kind[i], i, j, (T[j - 1] - T[i]) / (t[j - 1] - t[i]) * 60.0};
      out.push_back(s);
    }
    i = j;
  }
  return out;
}

namespace {
DscCurve parse_ta_ua(const std::vector<std::string_view>& lines, const std::string& source, DscCurve c);
DscCurve parse_netzsch(const std::vector<std::string_view>& lines, const std::string& source, DscCurve c);
}  // namespace

DscCurve parse_dsc_export(std::string_view bytes, const std::string& source, std::optional<double> mass_mg) {
  const auto decoded = decode(bytes);
  const auto lines = split_lines(decoded.text);
  DscCurve c;
  c.encoding = decoded.encoding;
  const auto has = [&](std::string_view marker) { return decoded.text.find(marker) != std::string::npos; };
  const bool netzsch = has("#FORMAT") || std::any_of(lines.begin(), lines.end(), [](auto l) { return l.starts_with("##"); });
  if (netzsch) c.vendor = "NETZSCH Proteus ASCII";
  else if (has("StartOfData") && has("Sig1")) c.vendor = "TA Instruments Universal Analysis text";
  else if (!lines.empty() && trim(lines.front()).starts_with("Index")) c.vendor = "Mettler Toledo STARe table export";
  else if (has("Index") && (has("Curve:") || has("Curve Values:"))) c.vendor = "Mettler Toledo STARe curve export";
  else throw DscFormatError(source + ":1: not a DSC export this build reads (STARe, TA Universal Analysis, NETZSCH)");
  if (mass_mg) c.mass_mg = mass_mg;
  if (c.vendor.starts_with("NETZSCH")) c = parse_netzsch(lines, source, std::move(c));
  else if (c.vendor.starts_with("TA")) c = parse_ta_ua(lines, source, std::move(c));
  else c = parse_stare(lines, source, std::move(c));
  if (mass_mg) c.mass_source = c.heat_flow_source_unit == "mW" ? "command line" : "";
  return c;
}

namespace {

// TA UA: Key<TAB>value lines (Size, Exotherm, SigN "Name (unit)"), StartOfData, TAB rows; negative time = marker.
DscCurve parse_ta_ua(const std::vector<std::string_view>& lines, const std::string& source, DscCurve c) {
  Table t;
  std::size_t start = lines.size();
  for (std::size_t i = 0; i < lines.size() && start == lines.size(); ++i) {
    const auto cells = split(lines[i], '\t');
    const std::string_view key = cells.front();
    if (key == "StartOfData") start = i + 1;
    else if (key == "Size" && cells.size() >= 2 && !c.mass_mg) {
      c.mass_mg = number(cells[1]);
      if (c.mass_mg) c.mass_source = "header";
    } else if (key == "Exotherm" && cells.size() >= 2) {
      c.source_exo_up = cells[1] != "Down";
      c.sign_source = "header Exotherm " + std::string(cells[1]);
    } else if (key.starts_with("Sig") && key.size() > 3 && std::isdigit(static_cast<unsigned char>(key[3])) &&
               cells.size() >= 2) {
      const std::string_view sig = cells[1];
      const auto open = sig.rfind('(');
      t.names.emplace_back(trim(sig.substr(0, open)));
      t.units.emplace_back(open == std::string_view::npos ? "" : sig.substr(open + 1, sig.rfind(')') - open - 1));
    }
  }
  if (start == lines.size()) throw DscFormatError(source + ":0: no StartOfData line");
  if (c.sign_source.empty()) c.sign_source = "TA default (exo up; no Exotherm line)";
  c.header = std::string(lines.front().data(), lines[start - 1].data() - lines.front().data());
  read_rows(lines, start, '\t', false, t, source);
  Table data{t.names, t.units, {}, {}};
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    if (t.rows[i].front() < 0.0) {  // "-1 <T> 0" / "-3 <n> 0": a segment or cycle boundary
      ++c.marker_rows;
      continue;
    }
    data.rows.push_back(t.rows[i]);
    data.lines.push_back(t.lines[i]);
  }
  if (c.marker_rows) c.notes.push_back(fmt::format("{} marker rows (negative time) skipped", c.marker_rows));
  Roles roles;
  for (std::size_t i = 0; i < data.names.size(); ++i) {
    if (data.names[i] == "Time") roles.time = i;
    else if (data.names[i] == "Temperature") roles.sample = i;
    else if (data.names[i] == "Heat Flow") roles.heat_flow = i;
  }
  to_curve(data, roles, source, c);
  return c;
}

// NETZSCH: #KEY:value header (compact, or padded with the separator before the value), a ##column line of
// Name/unit cells, rows to a blank line.
DscCurve parse_netzsch(const std::vector<std::string_view>& lines, const std::string& source, DscCurve c) {
  char separator = ';';
  bool decimal_comma = false;
  std::string exo;
  std::size_t column_line = lines.size();
  for (std::size_t i = 0; i < lines.size() && column_line == lines.size(); ++i) {
    if (lines[i].starts_with("##")) {
      column_line = i;
      break;
    }
    if (!lines[i].starts_with('#')) continue;
    const auto colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = trim(lines[i].substr(1, colon - 1));
    std::string_view value = trim(lines[i].substr(colon + 1));
    if (!value.empty() && (value.front() == ',' || value.front() == ';' || value.front() == '\t')) value = trim(value.substr(1));
    while (!value.empty() && (value.back() == ';' || value.back() == ',')) value.remove_suffix(1);
    if (key == "SEPARATOR") separator = value == "COMMA" ? ',' : value == "TAB" ? '\t' : ';';
    else if (key == "DECIMAL") decimal_comma = value == "COMMA";
    else if (key == "EXO") exo = value;
    else if (key == "SAMPLE MASS /mg" && !c.mass_mg) {
      c.mass_mg = number(value, true);
      if (c.mass_mg) c.mass_source = "header";
    }
  }
  if (column_line == lines.size()) throw DscFormatError(source + ":0: no ## column line");
  c.sign_source = "NETZSCH files show endotherms negative whatever #EXO says (#EXO " + (exo.empty() ? "absent" : exo) + ")";
  c.header = std::string(lines.front().data(), lines[column_line].data() - lines.front().data());
  Table t;
  Roles roles;
  for (const auto& cell : split(lines[column_line].substr(2), separator)) {
    // The unit follows the last '/' outside parentheses: "DSC(subtr.2)/(mW/mg)", "Temp./°C", "Segment".
    std::size_t slash = std::string_view::npos;
    for (std::size_t k = 0, depth = 0; k < cell.size(); ++k) {
      depth += cell[k] == '(';
      depth -= cell[k] == ')' && depth > 0;
      if (cell[k] == '/' && depth == 0) slash = k;
    }
    std::string unit(slash == std::string_view::npos ? "" : cell.substr(slash + 1));
    if (unit.starts_with('(') && unit.ends_with(')')) unit = unit.substr(1, unit.size() - 2);
    const std::string name(cell.substr(0, slash));
    if (name.starts_with("Temp")) roles.sample = t.names.size();
    else if (name.starts_with("Time")) roles.time = t.names.size();
    else if (name.starts_with("DSC")) roles.heat_flow = t.names.size();
    t.names.push_back(name);
    t.units.push_back(unit);
  }
  read_rows(lines, column_line + 1, separator, decimal_comma, t, source);
  to_curve(t, roles, source, c);
  return c;
}

}  // namespace

}  // namespace insitu::dsc
