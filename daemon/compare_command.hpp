#pragma once
// `insitu compare RUN.h5… [--reference RUN.h5] -o OUT.h5`: sample states of one alloy side by side (paper Figs.
// 1c, 2, 3b). Each run's heating S_eq(T) is put on a common T and T/T_g grid (a local straight line through the
// frames within ±half_window_K of each point), shifted by the constant that overlaps the reference in the
// supercooled liquid (between T_g and the crystallisation onset, found per run, or --liquid-window), and compared
// with the reference: ΔS_eq(T) ± the uncertainty propagated from each run's per-frame scatter. The runs'
// Δφ_eq are placed side by side on both axes, and G(r) of each at --pdf-temperature. Labels and treatments come
// from the run files' sample section (the recipe's sample.state). The output is /entry_compare (compare_entry.hpp)
// and a table on `out`.
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <utility>
#include <vector>

namespace insitu::daemon {

struct CompareOptions {
  std::vector<std::filesystem::path> runs;
  std::optional<std::filesystem::path> reference;  // default: the first run (added when not among runs)
  std::filesystem::path output;                    // created exclusively
  std::optional<std::pair<double, double>> liquid_window_K;  // replaces the found windows
  std::vector<double> table_temperatures_K{300.0, 400.0, 500.0, 600.0};
  double pdf_temperature_K = 300.0;
  double step_K = 2.0;          // of the common temperature grid
  double half_window_K = 10.0;  // of the local fits; also the margin of the liquid window inside T_g..onset
  bool force = false;           // compare different compositions or wavelengths anyway
};

// Returns 0 on success, 1 when a run cannot be compared (no analysis, no liquid window, a different composition or
// wavelength without --force), 2 for bad options or an output that exists; one-line reasons on `err`.
int run_compare(const CompareOptions& options, std::ostream& out, std::ostream& err);

}  // namespace insitu::daemon
