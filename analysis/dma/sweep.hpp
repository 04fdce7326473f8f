#pragma once
// The input of the DMA analysis: temperature sweeps in SI, one series per frequency. Whoever reads an
// instrument's files fills it (drivers/dhr3/sweep.hpp from a TRIOS export); the analysis knows no file format.
// Curves come one frequency and one monotonic temperature segment at a time (SegmentCurve) from however many
// steps and files a sample was exported in; pool_curves() gathers those that belong in one Arrhenius fit.
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace insitu::dma {

// The storage and loss moduli are Young's (E′, E″: bending, tension) or shear (G′, G″: torsion).
enum class Modulus { unknown, shear_G, young_E };

// Heating and cooling segments are never mixed: peaks lag the set temperature in opposite directions, and
// the glass may change between them (the paper's Fig. 5 cycles).
enum class Direction { heating, cooling };
std::string_view to_string(Direction direction);

// One frequency of the sweep, rows in acquisition order; NaN where the source has an empty cell or lacks the
// quantity. All four vectors have the same length.
struct FrequencySeries {
  double frequency_Hz = 0.0;
  std::string source;  // where the curve came from: file, step, segment
  std::vector<double> temperature_K;
  std::vector<double> tan_delta;
  std::vector<double> storage_Pa;
  std::vector<double> loss_Pa;
};

// One frequency over one monotonic temperature segment of one step.
struct SegmentCurve {
  FrequencySeries series;
  Direction direction = Direction::heating;
  double rate_K_per_min = std::numeric_limits<double>::quiet_NaN();  // |dT/dt|; NaN without a time column
  Modulus modulus = Modulus::unknown;
};

struct Sweep {
  std::string name;  // where it came from, e.g. the export's step name, or "heating at 5 K/min"
  Modulus modulus = Modulus::unknown;
  Direction direction = Direction::heating;
  double rate_K_per_min = std::numeric_limits<double>::quiet_NaN();  // mean of the pooled curves' rates
  std::vector<FrequencySeries> series;  // ascending frequency; a frequency repeats for repeated cycles
};

// The curves of ONE sample pooled into one sweep per direction and rate: curves whose rates lie within
// relative_rate_tolerance of the first curve of a sweep join it (curves without a rate join only each other).
// Sweeps come heating first, then by ascending rate (unknown last).

std::vector<Sweep> pool_curves(const std::vector<SegmentCurve>& curves, double relative_rate_tolerance = 0.2);

}  // namespace insitu::dma
