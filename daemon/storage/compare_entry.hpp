#pragma once
// The output of `insitu compare`: sample states side by side (paper Figs. 1c, 2, 3b), in a new file.
//
// /entry_compare                    NXentry  @default=entropy
//   title, reference (label of the reference state), table (the printed table), warnings[]
//   state_NN/                       NXcollection (NN from 01, in command-line order)
//     file_name, label, sample_name, chemical_formula, treatment, deformation, rotations,
//     deformation_temperature, storage_temperature @units K (NaN when the run file does not say),
//     glass_transition, crystallisation_onset, liquid_window_lo, liquid_window_hi @units K,
//     liquid_window_source ("found" | "given"), shift, shift_sigma, frame_scatter @units J/(mol K),
//     pdf_temperature @units K (the frame G(r) is taken from)
//   entropy/                        NXdata @signal=S_eq_01 @auxiliary_signals @axes=temperature
//     temperature @units K, S_eq_NN, S_eq_NN_errors @units J/(mol K): shifted onto the reference
//   entropy_reduced/                NXdata: reduced_temperature (T/T_g of each state) @units 1, S_eq_NN
//   delta_entropy/                  NXdata: temperature, delta_S_eq_NN, delta_S_eq_NN_errors (all but the reference)
//   heat_flow/, heat_flow_reduced/  NXdata: temperature or reduced_temperature, delta_phi_NN @units W/mol
//   pair_distribution/              NXdata: r @units angstrom, G_NN @units 1/angstrom^2
#include <optional>
#include <string>
#include <vector>

#include "daemon/storage/h5.hpp"
#include "daemon/storage/run_file_reader.hpp"

namespace insitu::storage {

struct ComparedState {
  std::string file_name, label;
  SampleRecord sample;
  double glass_transition_K = 0, crystallisation_onset_K = 0, window_lo_K = 0, window_hi_K = 0;
  bool window_given = false;
  double shift = 0, shift_sigma = 0, frame_scatter = 0;  // J/(mol K)
  std::vector<double> s_eq, s_eq_sigma, delta_s_eq, delta_s_eq_sigma;  // on Comparison::temperature_K
  std::vector<double> s_eq_reduced;                                   // on Comparison::reduced_temperature
  std::vector<double> delta_phi, delta_phi_reduced;                   // W/mol
  double pdf_temperature_K = 0;
  std::vector<double> g_of_r;  // on Comparison::r_angstrom
};

struct Comparison {
  std::size_t reference = 0;  // index into states
  std::vector<double> temperature_K, reduced_temperature, r_angstrom;
  std::vector<ComparedState> states;
  std::string table;
  std::vector<std::string> warnings;
};

// Throws h5::Error when /entry_compare exists or an HDF5 call fails.
void write_compare_entry(const h5::Handle& file, const Comparison& comparison);

}  // namespace insitu::storage
