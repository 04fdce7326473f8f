#pragma once
// The run-level analysis of an analysis NXprocess (frame_analysis_writer.hpp), rewritten in place on every update:
//   <entry>/analysis/run:NXcollection  one row per frame of the heating part, in temperature order:
//       temperature[M] @units=K (written last: rows below its length are complete), S_eq_smoothed[M] @units=J/(mol K),
//       dS_eq_dT[M] @units=J/(mol K^2), delta_phi[M] @units=W/mol (NaN where the smoothing had too few frames);
//       T_g, T_g_low, T_g_high, crystallisation_onset @units=K, heating_rate @units=K/s as 1-element datasets (NaN
//       until determined; the onset stays NaN while S_eq_smoothed peaks at the ramp's last frame);
//       feature_kind/feature_temperature @units=K/feature_reduced_temperature @units=1/feature_value @units=W/mol [F]
//     entropy, entropy_derivative, heat_flow:NXdata  S_eq_smoothed, dS_eq_dT, delta_phi against temperature (links)
//   <entry>/entropy:NXdata  the entry's default plot (<entry>@default=entropy): S_eq[K] of the heating frames up to
//       the crystallisation onset against T[K] @units=K, S_eq_smoothed[K] as an auxiliary signal, title; its own
//       datasets, rewritten with the run level, T last. Cut at the onset, the glass and the supercooled liquid fill
//       the plot instead of the crystal's much lower S_eq; the cooling leg is in analysis/entropy.
//   <entry>/analysis/run_parameters:NXparameters  the last RunAnalysis::parameters (creates objects: regular mode,
//       i.e. at the end of a live run)
#include <map>
#include <string>

#include "analysis/pipeline/results.hpp"
#include "daemon/storage/h5.hpp"

namespace insitu::storage {

// The run level with its curves one row per heating frame: a curve the analysis could not compute yet (empty)
// becomes NaN rows. std::invalid_argument when a non-empty curve has another length than temperature_K.
analysis::RunAnalysis align_run_analysis(analysis::RunAnalysis run);

// Where the default plot ends: the onset of crystallisation (the smoothed S_eq's peak above T_g), NaN while the
// peak is the ramp's last frame or T_g is unknown.
double crystallisation_onset_K(const analysis::RunAnalysis& aligned);

// Creates <process>/run and <entry>/entropy (regular or pre-SWMR mode) and rewrites them. One writer thread owns it.
class RunAnalysisWriter {
 public:
  RunAnalysisWriter(const h5::Handle& entry, const h5::Handle& process);
  // The run level a killed writer left: rewritten whole by the next update, so only opened.
  static RunAnalysisWriter reopen(const h5::Handle& entry, const h5::Handle& process);
  void update(const analysis::RunAnalysis& run);  // aligned first; every dataset flushed, temperature last
  void close();

 private:
  RunAnalysisWriter() = default;
  h5::Handle temperature_, s_eq_smoothed_, ds_eq_dT_, delta_phi_, t_g_, t_g_low_, t_g_high_, heating_rate_, onset_,
      feature_kind_, feature_temperature_, feature_reduced_temperature_, feature_value_, plot_temperature_, plot_s_eq_,
      plot_s_eq_smoothed_;
};

// Writes `parameters` as datasets of an NXparameters group `name` under `parent` (regular mode only: creates
// objects), replacing datasets that exist: an integer as int64 (a count, or with schema::parameter_units' @units),
// another number or space-separated numbers as double with those @units; text, and non-integers whose key has no
// units there, as a string.
void write_parameters(const h5::Handle& parent, const std::string& name,
                      const std::map<std::string, std::string>& parameters);

}  // namespace insitu::storage
