#pragma once
// What the inline analysis produces, per frame and per run: the contract between the analysis pipeline, the run
// file and `insitu reprocess`. Units are in the names; grids are fixed for a run (set by the recipe and geometry).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace insitu::analysis {

// The axes every frame of a run shares.
struct AnalysisAxes {
  std::vector<double> q_inv_angstrom;          // integration grid, I(Q) [nQ]
  std::vector<double> q_reduced_inv_angstrom;  // reduction grid, S(Q) and F(Q) [nQr]
  std::vector<double> r_angstrom;              // G(r) and g(r) [nr]
};

struct FrameAnalysis {
  std::uint64_t sequence = 0;  // the frame's sequence number in the run
  double temperature_K = 0;    // the frame's time-weighted mean stage temperature
  std::vector<double> intensity, intensity_sigma;  // I(Q) and its Poisson sigma [nQ]
  std::vector<double> structure_factor;            // S(Q) [nQr]
  std::vector<double> reduced_structure_factor;    // F(Q) = Q[S(Q) - 1], 1/angstrom [nQr]
  std::vector<double> reduced_pdf;                 // G(r), 1/angstrom^2 [nr]
  std::vector<double> pair_distribution;           // g(r) with the density used for S_eq [nr]
  double rho0_fit_per_cubic_angstrom = 0;          // from the G(r) slope on the recipe's range
  double rho0_nominal_per_cubic_angstrom = 0;      // from the recipe's nominal number density
  double s_eq_k_B = 0;                             // per atom, Eq. 2 (with the density the recipe selects)
  double s_eq_J_per_mol_K = 0;
  double analysis_time_s = 0;                      // wall time the frame took (backlog and latency reporting)
};

// Run level: recomputed as frames arrive and final at the end of the run.
struct RunAnalysis {
  std::vector<double> temperature_K;           // frames in temperature order (heating part)
  std::vector<double> s_eq_J_per_mol_K;        // those frames' S_eq as measured (the smoothing's input)
  std::vector<double> s_eq_smoothed_J_per_mol_K;
  std::vector<double> ds_eq_dT_J_per_mol_K2;
  std::vector<double> delta_phi_W_per_mol;     // Eq. 3: T dS_eq/dT beta_h
  double heating_rate_K_per_s = 0;             // measured beta_h
  double glass_transition_K = 0;               // T_g from the continuous two-segment fit
  double glass_transition_low_K = 0;           // its confidence interval
  double glass_transition_high_K = 0;
  struct Feature {
    std::string kind;  // "peak", "slope change"
    double temperature_K, reduced_temperature;  // T and T/T_g
    double value;
  };
  std::vector<Feature> features;
  std::map<std::string, std::string> parameters;  // every analysis parameter used, as text, for the record
};

}  // namespace insitu::analysis
