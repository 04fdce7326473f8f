#pragma once
// A multi-frequency DMA temperature sweep from one TRIOS export, analysed end to end: per-frequency
// tan δ / storage / loss modulus against T (SI), Cole–Cole fits per transition, Arrhenius E_a and f0,
// Table I text, and the transition intervals on T and T/T_g for the paper's Fig. 3 overlay beside
// S_eq and Δφ_eq. Pure: takes a parsed export, returns numbers and text.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "analysis/dma/arrhenius.hpp"
#include "analysis/dma/cole_cole.hpp"
#include "drivers/dhr3/trios.hpp"

namespace insitu::dma {

struct DmaSettings {
  // Explicit windows per transition (fit_transition); empty: transitions are found automatically by
  // tracking tan δ maxima across frequencies (see automatic_* below).
  std::vector<TransitionSpec> transitions;
  // Step to analyse; nullopt: the step with a frequency and a temperature column and the most rows.
  std::optional<std::size_t> step_index;
  double frequency_relative_tolerance = 1e-4;
  // Automatic detection: prominence of a tan δ maximum, smoothing, and the largest shift of one
  // transition's peak between neighbouring frequencies.
  double automatic_min_prominence = 1e-3;
  std::size_t automatic_smoothing_points = 9;
  double automatic_max_step_K = 40.0;
  // A track must be seen at this fraction of the frequencies (and at least 3) to count as a transition,
  // and its peaks must shift with frequency like a relaxation: 0 < apparent E_a <= this (α of a metallic
  // glass is 5–10 eV; a maximum pinned by crystallisation gives ~100 eV).
  double automatic_min_coverage = 0.6;
  double automatic_max_activation_eV = 30.0;
  // Fit window half-width cap and the fraction of the gap to the neighbouring peak it may use.
  double automatic_half_window_K = 70.0;
  double automatic_gap_fraction = 0.45;
  // Above this the sample crystallises (caps the α window); nullopt: no cap.
  std::optional<double> crystallisation_K;
};

// Windows tuned for the Cu44Zr44Al8Hf2Co2 glass of the paper (γ, β, α; crystallisation near 790 K).
DmaSettings cu_zr_glass_settings();

// One frequency of the sweep, rows in file order; NaN where the export has an empty cell or lacks the
// column. The modulus is E′/E″ in bending, G′/G″ in torsion (DmaAnalysis::modulus).
struct FrequencySeries {
  double frequency_Hz = 0.0;
  std::vector<double> temperature_K;
  std::vector<double> tan_delta;
  std::vector<double> storage_Pa;
  std::vector<double> loss_Pa;
};

struct TransitionResult {
  std::string name;
  std::vector<ColeColeFit> fits;        // one per frequency where the peak was found and fitted
  std::optional<ArrheniusFit> arrhenius;  // nullopt when fewer than 3 fits (see `note`)
  std::string note;                     // why fits or the Arrhenius fit are missing; empty when complete
};

struct DmaAnalysis {
  std::string step_name;
  dhr3::ModulusKind modulus = dhr3::ModulusKind::unknown;
  bool automatic_windows = false;
  std::vector<FrequencySeries> series;  // ascending frequency
  std::vector<TransitionResult> transitions;  // ascending temperature
  std::string table;                    // results_table() of the Arrhenius fits (paper Table I layout)
  std::string note;                     // automatic detection: maxima that were not taken as transitions
};

// Throws std::invalid_argument when the export holds no multi-frequency temperature sweep (no step with
// Temperature, a frequency column and tan δ or both moduli). Fit failures of single frequencies or
// transitions are recorded in TransitionResult::note, not thrown.
DmaAnalysis analyse_sweep(const dhr3::Export& data, const DmaSettings& settings);

// The temperature interval a transition's peaks span over the measured frequencies (Fig. 3 bands).
struct TransitionInterval {
  std::string name;
  double lo_K = 0.0;
  double hi_K = 0.0;
  double lo_reduced = 0.0;  // T / T_g
  double hi_reduced = 0.0;
  double lo_frequency_Hz = 0.0;  // the frequencies at the two ends
  double hi_frequency_Hz = 0.0;
  std::size_t frequencies = 0;
};
// Transitions without fits are left out. Throws std::invalid_argument for T_g <= 0.
std::vector<TransitionInterval> transition_intervals_on_reduced_axis(const DmaAnalysis& analysis,
                                                                     double glass_transition_K);

}  // namespace insitu::dma
