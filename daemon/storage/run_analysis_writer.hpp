#pragma once
// The run-level analysis of an analysis NXprocess (frame_analysis_writer.hpp), rewritten in place on every update:
//   <entry>/analysis/run:NXcollection  one row per frame of the heating part, in temperature order:
//       temperature[M] @units=K (written last: rows below its length are complete), S_eq_smoothed[M] @units=J/(mol K),
//       dS_eq_dT[M] @units=J/(mol K^2), delta_phi[M] @units=W/mol (NaN where the smoothing had too few frames);
//       T_g, T_g_low, T_g_high @units=K, heating_rate @units=K/s as 1-element datasets (NaN until determined);
//       feature_kind/feature_temperature @units=K/feature_reduced_temperature/feature_value @units=W/mol [F]
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

// Creates <process>/run (regular or pre-SWMR mode) and rewrites it. One writer thread owns it.
class RunAnalysisWriter {
 public:
  explicit RunAnalysisWriter(const h5::Handle& process);
  void update(const analysis::RunAnalysis& run);  // aligned first; every dataset flushed, temperature last
  void close();

 private:
  h5::Handle temperature_, s_eq_smoothed_, ds_eq_dT_, delta_phi_, t_g_, t_g_low_, t_g_high_, heating_rate_,
      feature_kind_, feature_temperature_, feature_reduced_temperature_, feature_value_;
};

// Writes `parameters` as string datasets of an NXparameters group `name` under `parent` (regular mode only:
// creates objects). Replaces datasets that already exist.
void write_parameters(const h5::Handle& parent, const std::string& name,
                      const std::map<std::string, std::string>& parameters);

}  // namespace insitu::storage
