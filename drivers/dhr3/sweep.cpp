#include "drivers/dhr3/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>
#include <regex>
#include <stdexcept>
#include <string>

namespace insitu::dhr3 {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

const Column* numeric(const Step& s, std::string_view name) {
  const auto* c = s.find(name);
  return c && !c->is_text ? c : nullptr;
}

dma::Modulus modulus_of(ModulusKind kind) {
  switch (kind) {
    case ModulusKind::shear_G:
      return dma::Modulus::shear_G;
    case ModulusKind::young_E:
      return dma::Modulus::young_E;
    case ModulusKind::unknown:
      return dma::Modulus::unknown;
  }
  return dma::Modulus::unknown;
}

// Frequencies from the columns, in Hz; empty when the step has neither column.
std::vector<double> column_frequencies(const Step& step) {
  std::vector<double> f;
  if (const auto* c = numeric(step, "Frequency")) {
    f = c->values;
  } else if (const auto* w = numeric(step, "Angular frequency")) {
    f = w->values;
    for (auto& v : f) v /= 2.0 * std::numbers::pi;
  }
  return f;
}

// `rows` grouped by f[row] with a relative tolerance, groups by ascending frequency, rows in file order.
std::vector<FrequencyGroup> group_rows(const std::vector<double>& f, std::vector<std::size_t> rows,
                                       double relative_tolerance) {
  std::erase_if(rows, [&](std::size_t r) { return !std::isfinite(f[r]); });
  std::stable_sort(rows.begin(), rows.end(), [&](std::size_t a, std::size_t b) { return f[a] < f[b]; });
  std::vector<FrequencyGroup> groups;
  double anchor = 0.0;
  for (std::size_t r : rows) {
    if (groups.empty() || std::abs(f[r] - anchor) > relative_tolerance * std::abs(anchor)) {
      groups.push_back({});
      anchor = f[r];
    }
    groups.back().rows.push_back(r);
  }
  for (auto& g : groups) {
    double sum = 0.0;
    for (auto r : g.rows) sum += f[r];
    g.frequency_Hz = sum / static_cast<double>(g.rows.size());
    std::sort(g.rows.begin(), g.rows.end());
  }
  return groups;
}

std::optional<double> parse_decimal(std::string text) {
  std::replace(text.begin(), text.end(), ',', '.');
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The one distinct value among the matches' first group; nullopt when none or several.
std::optional<double> single_match(std::string_view text, const std::regex& re) {
  std::optional<double> found;
  const std::string s(text);
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
    const auto v = parse_decimal((*it)[1].str());
    if (!v || !(*v > 0)) continue;
    if (found && std::abs(*found - *v) > 1e-9 * *v) return std::nullopt;
    found = v;
  }
  return found;
}

// "Frequency 1 Hz" in the procedure text of a one-frequency ramp; a "Multi-frequency 0.1, 1 Hz" list does not
// match. Nullopt unless the metadata names exactly one frequency.
std::optional<double> metadata_frequency(const Metadata& meta) {
  static const std::regex re(R"([Ff]requency\s*:?\s*([0-9]+(?:[.,][0-9]+)?(?:[eE][-+]?[0-9]+)?)\s*Hz)");
  std::optional<double> found;
  for (const auto& e : meta.entries) {
    auto v = single_match(e.value, re);
    if (!v && e.key == "Frequency") v = frequency_in_text(e.value);
    if (!v) continue;
    if (found && std::abs(*found - *v) > 1e-9 * *v) return std::nullopt;
    found = v;
  }
  return found;
}

// Per-row frequency in Hz (NaN where a column cell is empty), or nullopt when nothing names one.
std::optional<std::vector<double>> row_frequencies(const Step& step, std::optional<double> file_frequency_Hz) {
  auto f = column_frequencies(step);
  if (!f.empty()) return f;
  auto named = frequency_in_text(step.name);
  if (!named) named = file_frequency_Hz;
  if (!named) return std::nullopt;
  return std::vector<double>(step.row_count(), *named);
}

struct Segment {
  std::vector<std::size_t> rows;
  dma::Direction direction = dma::Direction::heating;
};

// Splits rows (file order, finite T) where T turns back by at least reversal_K from its running extreme; the
// turning row belongs to the segment it ends.
std::vector<Segment> split_at_reversals(const std::vector<double>& T, const std::vector<std::size_t>& rows,
                                        double reversal_K) {
  std::vector<Segment> out;
  std::size_t start = 0;
  while (start < rows.size()) {
    int dir = 0;
    std::size_t lo = start, hi = start, end = rows.size();
    for (std::size_t p = start + 1; p < rows.size(); ++p) {
      const double t = T[rows[p]];
      if (dir >= 0 && t >= T[rows[hi]]) hi = p;
      if (dir <= 0 && t <= T[rows[lo]]) lo = p;
      if (dir == 0 && T[rows[hi]] - T[rows[lo]] >= reversal_K) dir = hi > lo ? 1 : -1;
      if (dir > 0 && T[rows[hi]] - t >= reversal_K) end = hi + 1;
      if (dir < 0 && t - T[rows[lo]] >= reversal_K) end = lo + 1;
      if (end != rows.size()) break;
    }
    Segment seg;
    seg.rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(start), rows.begin() + static_cast<std::ptrdiff_t>(end));
    const bool falling = dir < 0 || (dir == 0 && T[seg.rows.back()] < T[seg.rows.front()]);
    seg.direction = falling ? dma::Direction::cooling : dma::Direction::heating;
    out.push_back(std::move(seg));
    start = end;
  }
  return out;
}

const Column* time_column(const Step& step) {
  for (const char* name : {"Step time", "Run time", "Time"})
    if (const auto* c = numeric(step, name)) return c;
  return nullptr;
}

// |ΔT|/Δt between the segment's ends in K/min; NaN without a time column.
double segment_rate_K_per_min(const std::vector<double>& T, const Column* time, const std::vector<std::size_t>& rows) {
  if (!time) return nan;
  const double dt_s = time->values[rows.back()] - time->values[rows.front()];
  if (!(dt_s > 0)) return nan;
  return std::abs(T[rows.back()] - T[rows.front()]) / dt_s * 60.0;
}

std::string kelvin(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f K", v);
  return buf;
}

std::string hz(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g Hz", f);
  return buf;
}

void add_note(std::string& note, const std::string& text) { note += (note.empty() ? "" : "; ") + text; }

double span_K(const std::vector<double>& T, const std::vector<std::size_t>& rows) {
  const auto [lo, hi] = std::minmax_element(rows.begin(), rows.end(), [&](auto a, auto b) { return T[a] < T[b]; });
  return T[*hi] - T[*lo];
}

struct StepColumns {
  const Column* temperature;
  const Column* tan_delta;
  const Column* storage;
  const Column* loss;
};

dma::FrequencySeries series_of(const StepColumns& c, const std::vector<std::size_t>& rows) {
  auto value = [](const Column* col, std::size_t row) { return col ? col->values[row] : nan; };
  dma::FrequencySeries s;
  for (const auto row : rows) {
    s.temperature_K.push_back(c.temperature->values[row]);
    s.storage_Pa.push_back(value(c.storage, row));
    s.loss_Pa.push_back(value(c.loss, row));
    // Exports without a tan δ column still carry both moduli.
    s.tan_delta.push_back(c.tan_delta ? value(c.tan_delta, row) : s.loss_Pa.back() / s.storage_Pa.back());
  }
  return s;
}

// What a step's segments share: its columns, the rows' frequencies, and where its curves come from.
struct SegmentSource {
  const StepColumns& columns;
  const std::vector<double>& frequencies_Hz;
  const Column* time;
  dma::Modulus modulus;
  std::string source;  // "file.txt: step 'Temperature ramp - 1', "
  const CurveOptions& options;
};

// One curve per frequency of the segment; what is left out goes into the report's note.
void add_segment_curves(const SegmentSource& from, const Segment& seg, const std::string& label, StepReport& report,
                        std::vector<dma::SegmentCurve>& out) {
  const auto& T = from.columns.temperature->values;
  if (span_K(T, seg.rows) < from.options.min_span_K) {
    add_note(report.note, label + " (" + std::to_string(seg.rows.size()) + " rows) spans " + kelvin(span_K(T, seg.rows)) +
                              ": not a temperature sweep");
    return;
  }
  const double rate = segment_rate_K_per_min(T, from.time, seg.rows);
  std::size_t grouped = 0;
  for (const auto& g : group_rows(from.frequencies_Hz, seg.rows, from.options.frequency_relative_tolerance)) {
    grouped += g.rows.size();
    if (g.rows.size() < from.options.min_points) {
      add_note(report.note, label + " at " + hz(g.frequency_Hz) + ": too few points (" + std::to_string(g.rows.size()) + ")");
      continue;
    }
    dma::SegmentCurve c{.series = series_of(from.columns, g.rows), .direction = seg.direction, .rate_K_per_min = rate,
                        .modulus = from.modulus};
    c.series.frequency_Hz = g.frequency_Hz;
    c.series.source = from.source + label;
    out.push_back(std::move(c));
    ++report.curves;
  }
  if (grouped < seg.rows.size())
    add_note(report.note, label + ": " + std::to_string(seg.rows.size() - grouped) + " rows without frequency");
}

// The curves of one step, appended to `out`; the report says what was used and what not, and why.
StepReport step_curves(const Step& step, const Export& data, std::optional<double> file_frequency_Hz,
                       const CurveOptions& options, const std::string& source_prefix,
                       std::vector<dma::SegmentCurve>& out) {
  StepReport report{.name = step.name, .rows = step.row_count(), .curves = 0, .note = {}};
  const StepColumns cols{numeric(step, "Temperature"), numeric(step, "Tan(delta)"), numeric(step, "Storage modulus"),
                         numeric(step, "Loss modulus")};
  if (!cols.tan_delta && !(cols.storage && cols.loss)) {
    report.note = "not an oscillation step: no tan δ, nor storage and loss modulus";
    return report;
  }
  if (!cols.temperature) {
    report.note = "not a temperature sweep: no Temperature column";
    return report;
  }
  const auto& T = cols.temperature->values;
  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < T.size(); ++r)
    if (std::isfinite(T[r])) rows.push_back(r);
  if (rows.size() < 2 || span_K(T, rows) < options.min_span_K) {
    report.note = "not a temperature sweep: temperature spans " + kelvin(rows.empty() ? 0.0 : span_K(T, rows));
    return report;
  }
  const auto frequencies = row_frequencies(step, file_frequency_Hz);
  if (!frequencies) {
    report.note = "no frequency: no Frequency or Angular frequency column, none in the step name or the file's metadata";
    return report;
  }
  if (rows.size() < report.rows) add_note(report.note, std::to_string(report.rows - rows.size()) + " rows without temperature");
  const SegmentSource source{cols, *frequencies, time_column(step), modulus_of(data.meta.modulus),
                             source_prefix + "step '" + step.name + "', ", options};
  std::size_t heating = 0, cooling = 0;
  for (const auto& seg : split_at_reversals(T, rows, options.reversal_K)) {
    const bool up = seg.direction == dma::Direction::heating;
    const std::string label = std::string(to_string(seg.direction)) + " " + std::to_string(up ? ++heating : ++cooling);
    add_segment_curves(source, seg, label, report, out);
  }
  if (report.curves == 0 && report.note.empty()) report.note = "no curve";
  return report;
}

}  // namespace

std::optional<double> frequency_in_text(std::string_view text) {
  static const std::regex re(R"((?:^|[^0-9A-Za-z.,])([0-9]+(?:[.,][0-9]+)?(?:[eE][-+]?[0-9]+)?)\s*Hz\b)");
  return single_match(text, re);
}

std::vector<FrequencyGroup> group_by_frequency(const Step& step, double relative_tolerance) {
  const auto f = column_frequencies(step);
  if (f.empty())
    throw TriosError(0, "step '" + step.name + "' has no numeric 'Frequency' or 'Angular frequency' column");
  std::vector<std::size_t> rows(f.size());
  for (std::size_t r = 0; r < rows.size(); ++r) rows[r] = r;
  return group_rows(f, std::move(rows), relative_tolerance);
}

std::vector<FrequencyCurve> frequency_curves(const Step& step, std::string_view y_column, double relative_tolerance) {
  const Column& t = step.at("Temperature");
  const Column& y = step.at(y_column);
  if (t.is_text || y.is_text)
    throw TriosError(0, "step '" + step.name + "': Temperature and y columns must be numeric");
  std::vector<FrequencyCurve> out;
  for (const auto& g : group_by_frequency(step, relative_tolerance)) {
    FrequencyCurve c;
    c.frequency_Hz = g.frequency_Hz;
    for (auto r : g.rows) {
      if (!std::isfinite(t.values[r]) || !std::isfinite(y.values[r])) continue;
      c.temperature_K.push_back(t.values[r]);
      c.y.push_back(y.values[r]);
    }
    out.push_back(std::move(c));
  }
  return out;
}

ExportCurves dma_curves(const Export& data, const CurveOptions& options, const std::string& source_prefix) {
  ExportCurves out;
  const auto file_frequency = metadata_frequency(data.meta);
  for (const auto& step : data.steps)
    out.steps.push_back(step_curves(step, data, file_frequency, options, source_prefix, out.curves));
  return out;
}

}  // namespace insitu::dhr3
