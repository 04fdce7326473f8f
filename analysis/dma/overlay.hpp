#pragma once
// A multi-frequency DMA temperature sweep analysed end to end: Cole–Cole fits of tan δ(T) per transition,
// Arrhenius E_a and f0, Table I text, and the transition intervals on T and T/T_g for the paper's Fig. 3
// overlay beside S_eq and Δφ_eq. Pure: takes a dma::Sweep (analysis/dma/sweep.hpp), returns numbers and text.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "analysis/dma/arrhenius.hpp"
#include "analysis/dma/cole_cole.hpp"
#include "analysis/dma/sweep.hpp"

namespace insitu::dma {

struct DmaSettings {
  // Explicit windows per transition (fit_transition); empty: transitions are found automatically by
  // tracking tan δ maxima across frequencies (see automatic_* below).
  std::vector<TransitionSpec> transitions;
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

struct TransitionResult {
  std::string name;
  std::vector<ColeColeFit> fits;        // one per frequency where the peak was found and fitted
  std::optional<ArrheniusFit> arrhenius;  // nullopt when fewer than 3 fits (see `note`)
  std::string note;                     // why fits or the Arrhenius fit are missing; empty when complete
};

struct DmaAnalysis {
  bool automatic_windows = false;
  std::vector<TransitionResult> transitions;  // ascending temperature
  std::string table;                    // results_table() of the Arrhenius fits (paper Table I layout)
  std::string note;                     // automatic detection: maxima that were not taken as transitions
};

// Fits tan δ(T) of every frequency (rows with NaN temperature or tan δ are left out). Throws
// std::invalid_argument when the sweep has no frequency. Fit failures of single frequencies or transitions
// are recorded in TransitionResult::note, not thrown.
DmaAnalysis analyse_sweep(const Sweep& sweep, const DmaSettings& settings);

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
