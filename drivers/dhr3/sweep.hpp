#pragma once
// From a parsed TRIOS export to what the DMA analysis takes (analysis/dma/sweep.hpp): the step that is a
// multi-frequency temperature sweep, its rows grouped by frequency, in SI. Pure.
#include <cstddef>
#include <optional>
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

struct SweepOptions {
  // Step to take; nullopt: the step with Temperature, a frequency column and tan δ (or both moduli) that has
  // the most rows.
  std::optional<std::size_t> step_index;
  double frequency_relative_tolerance = 1e-4;
};

// One series per frequency (ascending), rows in file order; tan δ = E″/E′ where the export has the moduli
// but no tan δ column; the modulus kind from the export's geometry. Throws std::invalid_argument when the
// export holds no multi-frequency temperature sweep (or options.step_index names a step that is not one).
dma::Sweep dma_sweep(const Export& data, const SweepOptions& options = {});

}  // namespace insitu::dhr3
