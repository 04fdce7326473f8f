#pragma once
// Parsers for TA Instruments TRIOS exports (DHR-3, ARES-G2, Discovery): the "Export to LIMS" text
// layout, the plain text/CSV layout and the JSON export. Pure: takes bytes, returns tables.
// Layouts, quirks and evidence: shared/research/dhr3.md §1 and §6.

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace insitu::dhr3 {

// Bad input. line() is 1-based in the decoded (UTF-8) text; 0 when no line applies.
class TriosError : public std::runtime_error {
 public:
  TriosError(std::size_t line, const std::string& reason);
  std::size_t line() const { return line_; }

 private:
  std::size_t line_;
};

enum class Layout { lims, text, csv, json };
enum class SourceEncoding { utf8, utf8_bom, utf16le, utf16be, cp1252 };
// Storage/Loss modulus columns carry the same names in torsion and bending; the geometry decides.
enum class ModulusKind { unknown, shear_G, young_E };

std::string_view to_string(Layout layout);
std::string_view to_string(ModulusKind kind);

struct Column {
  std::string name;
  std::string unit;     // as written in the export ("°C", "MPa", "" for unitless)
  std::string si_unit;  // after normalisation ("K", "Pa"); text columns keep `unit`
  bool is_text = false;
  std::vector<double> values;     // SI; NaN for an empty cell (numeric columns only)
  std::vector<std::string> text;  // raw cells (text columns only)
};

struct Step {
  std::string name;
  std::optional<std::size_t> declared_points;  // LIMS "Number of points"
  std::optional<double> set_temperature_K;     // from names like "Frequency sweep (150.0 °C)"
  std::vector<Column> columns;

  std::size_t row_count() const;
  const Column* find(std::string_view column_name) const;
  const Column& at(std::string_view column_name) const;  // throws TriosError(0, ...) if absent
};

struct MetadataEntry {
  std::string section;  // "" for the text layout's leading header lines
  std::string key;
  std::string value;
};

struct Metadata {
  std::string instrument_name;
  std::string instrument_type;
  std::string serial_number;
  std::string run_date;  // as written (locale dependent, or ISO-8601 in JSON)
  std::string procedure;
  std::string geometry;
  std::string sample;
  std::string trios_version;
  ModulusKind modulus = ModulusKind::unknown;
  std::vector<MetadataEntry> entries;  // every key/value in file order, duplicates kept

  const MetadataEntry* find(std::string_view section, std::string_view key) const;
};

struct Export {
  Layout layout = Layout::text;
  SourceEncoding encoding = SourceEncoding::utf8;
  Metadata meta;
  std::vector<Step> steps;
};

struct ParseOptions {
  // Accept "1,5" as 1.5 in tab- or semicolon-separated files (comma-locale PCs).
  bool allow_decimal_comma = true;
};

// Decodes BOM-marked UTF-8/UTF-16, plain UTF-8, or cp1252 (fallback when not valid UTF-8) to UTF-8.
std::string decode_to_utf8(std::string_view bytes, SourceEncoding* detected = nullptr);

Export parse_export(std::string_view bytes, const ParseOptions& options = {});

struct UnitConversion {
  std::string si_unit;
  double scale = 1.0;
  double offset = 0.0;  // si = value * scale + offset
};
// Throws TriosError(0, "unknown unit ...") for a unit it does not know.
UnitConversion si_conversion(std::string_view unit);

}  // namespace insitu::dhr3
