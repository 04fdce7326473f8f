#pragma once
// The input of the DMA analysis: a multi-frequency temperature sweep in SI, one series per frequency. Whoever
// reads an instrument's files fills it (drivers/dhr3/sweep.hpp from a TRIOS export); the analysis knows no
// file format.
#include <string>
#include <vector>

namespace insitu::dma {

// The storage and loss moduli are Young's (E′, E″: bending, tension) or shear (G′, G″: torsion).
enum class Modulus { unknown, shear_G, young_E };

// One frequency of the sweep, rows in acquisition order; NaN where the source has an empty cell or lacks the
// quantity. All four vectors have the same length.
struct FrequencySeries {
  double frequency_Hz = 0.0;
  std::vector<double> temperature_K;
  std::vector<double> tan_delta;
  std::vector<double> storage_Pa;
  std::vector<double> loss_Pa;
};

struct Sweep {
  std::string name;  // where it came from, e.g. the export's step name
  Modulus modulus = Modulus::unknown;
  std::vector<FrequencySeries> series;  // ascending frequency
};

}  // namespace insitu::dma
