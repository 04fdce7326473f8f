#pragma once
// The analysis part of a run file, under an NXentry (the run's /entry, a reprocessed /entry_reprocessed_<n>, or
// the /entry of a standalone analysis file). It sits beside the raw data as an NXprocess rather than in a second
// NXentry with definition NXazint1d: it holds more than NXazint1d (S(Q), G(r), S_eq), so claiming that
// definition would be false, but the integration datasets keep the NXazint1d names (I, I_errors, radial_axis).
//
//   <entry>/analysis:NXprocess  program, version, date
//     parameters:NXparameters   one string dataset per analysis parameter (from the layout, at create time)
//     radial_axis[nQ] @units=1/angstrom, Q_reduced[nQr] @units=1/angstrom, r[nr] @units=angstrom
//     per frame, [N] rows:  I[N,nQ], I_errors[N,nQ], S_of_Q[N,nQr], F_of_Q[N,nQr] @units=1/angstrom,
//       G_of_r[N,nr] @units=1/angstrom^2, g_of_r[N,nr], rho0_fit[N], rho0_nominal[N] @units=1/angstrom^3,
//       S_eq[N] @units=J/(mol K), S_eq_k_B[N], temperature[N] @units=K, analysis_time[N] @units=s,
//       sequence_number[N] (appended and flushed last: the commit marker)
//     integrated:NXdata  @signal=I @axes=[".","radial_axis"]: links to I, I_errors, radial_axis (NXazint1d names)
//     run:NXcollection   rewritten in place on every update (shrinks and grows): temperature[M] (written last),
//       S_eq_smoothed[M], dS_eq_dT[M], delta_phi[M]; T_g, T_g_low, T_g_high, heating_rate as 1-element datasets
//       (NaN until the first update); feature_kind/feature_temperature/feature_reduced_temperature/feature_value[F]
//     run_parameters:NXparameters  the last RunAnalysis::parameters, written at finish (regular mode)
//     form_factors:NXcollection @source  (when the layout has them) the Waasmaier-Kirfel coefficients used for the
//       composition: element[n], atomic_number[n], a[n,5], c[n], b[n,5] (f0 = c + sum a_i exp(-b_i (Q/4 pi)^2))
//     background:NXnote  type, file_name, data: the background I(Q) file verbatim (only when the analysis has one)
//     mask[H,W] uint8 (when the layout has a mask shape): the static mask the integration used, non-zero = masked
//       (the recipe's mask, and the darks' bad pixels once known); parameters/mask_pixels counts it
//   Parameters, form factors, background, mask and the detector geometry (detector_layout.hpp) are all `insitu
//   reprocess` needs besides the frames: a run file reprocesses identically wherever it is copied.
//   <entry>/entropy:NXdata  @signal=S_eq @axes=temperature: links to analysis/S_eq and analysis/temperature,
//     and <entry>@default=entropy, so viewers open S_eq(T).
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "analysis/pdf/form_factors.hpp"
#include "analysis/pipeline/results.hpp"
#include "daemon/storage/h5.hpp"

namespace insitu::storage {

struct AnalysisLayout {
  analysis::AnalysisAxes axes;
  std::map<std::string, std::string> parameters;
  // The coefficients of the composition's elements as the analysis uses them (empty: not recorded) and the table
  // they came from.
  std::vector<std::pair<std::string, analysis::WaasKirfCoefficients>> form_factors = {};
  std::string form_factor_source = {};
  std::string background_text = {}, background_file_name = {};  // the background I(Q) file verbatim ("" = none)
  // mask_height 0: no mask dataset. `mask`: its content at create (empty: nothing masked); write_mask replaces it.
  std::size_t mask_height = 0, mask_width = 0;
  std::vector<std::uint8_t> mask = {};
};

// Throws std::invalid_argument when a per-frame vector does not match the layout's axes.
void check_frame_analysis(const AnalysisLayout&, const analysis::FrameAnalysis&);
// Throws std::invalid_argument when the run-level columns differ in length.
void check_run_analysis(const analysis::RunAnalysis&);

struct ProcessInfo {
  std::string program = "insitu", version, date_iso;  // date: when the analysis was made
};

// Creates the layout above under `entry_path` (an existing NXentry; regular or pre-SWMR mode) and writes to it.
// Not thread-safe: one writer thread owns it.
class AnalysisWriter {
 public:
  AnalysisWriter(const h5::Handle& file, const std::string& entry_path, const AnalysisLayout& layout,
                 const ProcessInfo& process);

  void append(const analysis::FrameAnalysis& frame);  // sequence_number last; every dataset flushed
  void update(const analysis::RunAnalysis& run);      // all run-level rows replaced; temperature last
  // Rewrites analysis/mask (allowed under SWMR); throws std::invalid_argument when it is not mask_height x width.
  void write_mask(std::span<const std::uint8_t> mask);
  std::uint64_t frames() const { return frames_; }
  void close();  // closes every dataset, throwing on failure

 private:
  AnalysisLayout layout_;
  std::uint64_t frames_ = 0;
  h5::Handle intensity_, intensity_sigma_, structure_factor_, reduced_structure_factor_, reduced_pdf_,
      pair_distribution_, rho0_fit_, rho0_nominal_, s_eq_, s_eq_k_B_, temperature_, analysis_time_,
      sequence_number_;
  h5::Handle run_temperature_, run_s_eq_smoothed_, run_ds_eq_dT_, run_delta_phi_, run_t_g_, run_t_g_low_, run_t_g_high_,
      run_heating_rate_, feature_kind_, feature_temperature_, feature_reduced_temperature_, feature_value_, mask_;
};

// Writes the layout's form_factors and background groups (those it has) under the NXprocess `proc`, as
// AnalysisWriter does: for writers of their own analysis group that must reprocess like a run file.
void write_analysis_inputs(const h5::Handle& proc, const AnalysisLayout& layout);

// Writes `parameters` as string datasets of an NXparameters group `name` under `parent` (regular mode only:
// creates objects). Replaces datasets that already exist.
void write_parameters(const h5::Handle& parent, const std::string& name,
                      const std::map<std::string, std::string>& parameters);

}  // namespace insitu::storage
