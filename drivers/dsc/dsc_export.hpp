#pragma once
// DSC text exports (research/dsc.md): Mettler Toledo STARe curve exports (SW 13 and 17) and table exports, TA
// Universal Analysis text, NETZSCH Proteus ASCII. The vendor is found by content, never by the file name; columns
// by name and unit, never by position. Every export becomes heat flow in W/g (mW needs the sample mass: from the
// header, or the command line, which wins) with endotherms POSITIVE (the sign Δφ_eq has: entropy taken up), against
// time in s and the sample (and, when exported, program) temperature in K, split into heating, cooling and
// isothermal segments by the temperature's slope. Pure: no I/O.
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace insitu::dsc {

// "<file>:<line>: <reason>" (line 0 when the problem is the whole file).
class DscFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class SegmentKind { heating, cooling, isothermal };
struct Segment {
  SegmentKind kind = SegmentKind::isothermal;
  std::size_t begin = 0, end = 0;  // rows [begin, end)
  double rate_K_per_min = 0.0;     // least-squares slope of the temperature
};

struct DscCurve {
  std::string vendor;    // "Mettler Toledo STARe curve export", ...
  std::string encoding;  // "utf-16le", "cp1252", "cp437", "ascii"
  std::vector<std::string> columns, units;  // as the file names them (units with the degree sign as "°")
  std::size_t rows = 0, marker_rows = 0;    // data rows used; TA's negative-time marker rows skipped
  std::vector<double> time_s, sample_K, program_K, heat_flow_W_per_g;  // program_K empty when not exported
  std::string heat_flow_source_unit;        // "mW", "mW/mg" or "W/g"
  std::optional<double> mass_mg;
  std::string mass_source;                  // "header", "command line" or "" (not needed: already per gram)
  bool source_exo_up = true;                // the export's own sign
  std::string sign_source;                  // how that sign was decided
  std::vector<Segment> segments;
  std::string header;                       // the text before the data, verbatim (decoded)
  std::vector<std::string> notes;           // what was read but not used (other curves, markers)
};

// `mass_mg` from the command line replaces the header's. Throws DscFormatError.
DscCurve parse_dsc_export(std::string_view bytes, const std::string& source_name, std::optional<double> mass_mg);

// Rows of steady slope (|rate| above min_rate_K_per_min heats or cools) of at least min_rows rows, in order.
std::vector<Segment> split_segments(const std::vector<double>& time_s, const std::vector<double>& temperature_K,
                                    double min_rate_K_per_min = 0.5, std::size_t min_rows = 10);

std::string_view to_string(SegmentKind kind);

}  // namespace insitu::dsc
