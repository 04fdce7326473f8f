#pragma once
// The per-frame analysis of an NXentry (the run's /entry, a reprocessed /entry_reprocessed_<n>, or the /entry of a
// -o / --frames output). It sits beside the raw data as an NXprocess rather than in a second NXentry with definition
// NXazint1d: it holds more than NXazint1d (S(Q), G(r), S_eq), so claiming that definition would be false, but the
// integration datasets keep the NXazint1d names (I, I_errors, radial_axis).
//
//   <entry>/analysis:NXprocess  program, version, date, source (what a reprocessing read; "" live)
//     parameters:NXparameters   one string dataset per analysis parameter (from the layout, at create time)
//     radial_axis[nQ] @units=1/angstrom, Q_reduced[nQr] @units=1/angstrom, r[nr] @units=angstrom
//     per frame, [N] rows:  I[N,nQ], I_errors[N,nQ] @units=counts, S_of_Q[N,nQr] @units=1,
//       F_of_Q[N,nQr] @units=1/angstrom, G_of_r[N,nr] @units=1/angstrom^2, g_of_r[N,nr] @units=1,
//       rho0_fit[N], rho0_nominal[N] @units=1/angstrom^3, S_eq[N] @units=J/(mol K), S_eq_k_B[N] @units=1,
//       temperature[N] @units=K, analysis_time[N] @units=s,
//       sequence_number[N] (appended and flushed last: the commit marker)
//     every axis and signal has a short @long_name ("T (K)", "Q (1/angstrom)"); longer text is in @description
//     NXdata of each per-frame curve, @axes=["frame", Q or r] @temperature_indices=0, linking the curve, its axis,
//       frame (-> sequence_number) and temperature: integrated (I, I_errors, radial_axis: NXazint1d names),
//       structure_factor (S_of_Q), reduced_structure_factor (F_of_Q), reduced_pdf (G_of_r), pair_distribution
//       (g_of_r); entropy: S_eq against temperature of every frame (heating and cooling)
//     form_factors:NXcollection @source  (when the layout has them) the Waasmaier-Kirfel coefficients used for the
//       composition: element[n], atomic_number[n], a[n,5] @units=1, c[n] @units=1, b[n,5] @units=angstrom^2
//     background:NXnote  type, file_name, data: the background I(Q) file verbatim (only when the analysis has one)
//     mask[H,W] uint8 (when the layout has a mask shape): the static mask the integration used, non-zero = masked;
//       parameters/mask_pixels counts it
// The run level (analysis/run, analysis/run_parameters) is run_analysis_writer.hpp's.
#include <cstdint>
#include <span>
#include <string>

#include "analysis/pipeline/results.hpp"
#include "daemon/storage/analysis_layout.hpp"
#include "daemon/storage/h5.hpp"

namespace insitu::storage {

// Creates the layout above under `entry_path` (an existing NXentry; regular or pre-SWMR mode) and appends to it.
// One writer thread owns it.
class FrameAnalysisWriter {
 public:
  FrameAnalysisWriter(const h5::Handle& file, const std::string& entry_path, const AnalysisLayout& layout,
                      const ProcessInfo& process);
  // The per-frame rows a killed writer left (regular mode, before SWMR starts again), cut back to the commit marker
  // (sequence_number) so that a frame torn by the kill is dropped whole. std::runtime_error when a curve's width is
  // not the layout's axis.
  static FrameAnalysisWriter reopen(const h5::Handle& file, const std::string& entry_path,
                                    const AnalysisLayout& layout);

  const h5::Handle& process() const { return process_; }
  void append(const analysis::FrameAnalysis& frame);  // sequence_number last; every dataset flushed
  // Rewrites analysis/mask (allowed under SWMR); throws std::invalid_argument when it is not mask_height x width.
  void write_mask(std::span<const std::uint8_t> mask);
  void close();  // closes every dataset, throwing on failure

 private:
  explicit FrameAnalysisWriter(const AnalysisLayout& layout) : layout_(layout) {}
  AnalysisLayout layout_;
  h5::Handle process_, intensity_, intensity_sigma_, structure_factor_, reduced_structure_factor_, reduced_pdf_,
      pair_distribution_, rho0_fit_, rho0_nominal_, s_eq_, s_eq_k_B_, temperature_, analysis_time_, sequence_number_,
      mask_;
};

}  // namespace insitu::storage
