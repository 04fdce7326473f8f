#pragma once
// From a parsed TRIOS export to what the DMA analysis takes (analysis/dma/sweep.hpp): every temperature sweep
// step as curves of one frequency and one heating or cooling segment, in SI, and a report on every step. Pure.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/dma/sweep.hpp"
#include "drivers/dhr3/trios.hpp"

namespace insitu::dhr3 {

// Rows of a multi-frequency sweep grouped by the "Frequency" column (or "Angular frequency" / 2π),
// with a relative tolerance so float32 artefacts (0.100000001490116) join their nominal frequency.
struct FrequencyGroup {
  double frequency_Hz = 0.0;  // mean of the members
  std::vector<std::size_t> rows;
};
std::vector<FrequencyGroup> group_by_frequency(const Step& step, double relative_tolerance = 1e-4);

// One y(T) curve per frequency, rows in file order, rows with NaN in x or y skipped.
struct FrequencyCurve {
  double frequency_Hz = 0.0;
  std::vector<double> temperature_K;
  std::vector<double> y;
};
std::vector<FrequencyCurve> frequency_curves(const Step& step, std::string_view y_column = "Tan(delta)",
                                             double relative_tolerance = 1e-4);

struct CurveOptions {
  double frequency_relative_tolerance = 1e-4;
  double min_span_K = 20.0;      // a step or segment spanning less is not a temperature sweep
  double reversal_K = 2.0;       // dT/dt has changed sign once T moved back this far from its extreme
  std::size_t min_points = 10;   // a curve with fewer is left out ("too few points")
};

// What became of one step: curves taken from it, or why not (and what of it was left out).
struct StepReport {
  std::string name;
  std::size_t rows = 0;
  std::size_t curves = 0;  // 0: the step is not used
  std::string note;        // why not used, or what was left out; empty when every row went into a curve
};

struct ExportCurves {
  std::vector<dma::SegmentCurve> curves;  // in step order, then segment, then ascending frequency
  std::vector<StepReport> steps;          // every step of the export, in file order
};

// Every temperature sweep of the export as curves of one frequency and one heating or cooling segment (a step
// that holds a cycle is split where dT/dt changes sign). The frequency of a row comes from the "Frequency"
// column, else "Angular frequency" / 2π, else the step name ("Temperature ramp - 1 - 0.05 Hz"), else the one
// frequency the file's metadata names ("Frequency 1 Hz" in the procedure). Rates from the step's time column.
// tan δ = E″/E′ where the export has the moduli but no tan δ column; the modulus kind from the geometry.
// `source_prefix` starts each curve's source ("file.txt: ").
ExportCurves dma_curves(const Export& data, const CurveOptions& options = {}, const std::string& source_prefix = {});

// "… - 0.05 Hz", "1,0 Hz": the one frequency written in a text; nullopt when none or several.
std::optional<double> frequency_in_text(std::string_view text);

}  // namespace insitu::dhr3
