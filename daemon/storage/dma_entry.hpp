#pragma once
// The DMA NXentry: ingested TRIOS exports (verbatim text + sha256), their sweeps in SI, Cole–Cole and
// Arrhenius results, Table I, and the Fig. 3 overlay intervals. The exports come parsed (dhr3::ExportWatcher,
// dhr3::check_export) and are fitted here (analyse_exports) before they are written into an OPEN file in regular
// (non-SWMR) mode: at the end of a run (RunFile::at_finish) or by `insitu dma`.
//
// /entry_dma                       NXentry   @default=export_01
//   title, export_count
//   overlay/                       NXcollection  (only with a glass transition temperature)
//     glass_transition_temperature @units K
//     transition[], export[], interval_lo/hi @units K, reduced_lo/hi @units 1, frequency_lo/hi @units Hz
//   export_NN/                     NXcollection  (NN from 01, in ingestion order)
//     file_name, sha256, text, layout, encoding, step_name, windows ("automatic" | "settings"), detection_note
//     metadata/                    NXcollection: instrument_name, instrument_type, serial_number, geometry,
//                                  modulus_kind ("G" | "E" | "unknown"), sample, run_date, procedure, trios_version
//     frequency_NN/                NXdata @signal=tan_delta @axes=temperature
//       frequency @units Hz, temperature @units K, tan_delta @units 1, storage_modulus, loss_modulus @units Pa
//     fits/<transition>/           NXcollection: frequency @units Hz, peak_temperature(_sigma) @units K,
//                                  amplitude, width_q @units K, shape_a, window_lo/hi @units K, points,
//                                  rms_residual, note
//     arrhenius/                   NXcollection: transition[], activation_energy(_sigma) @units eV,
//                                  f0 @units Hz (inf beyond double range), log10_f0, ln_f0(_sigma), r_squared, points
//     table_I                      the printed Table I text
#include <optional>
#include <vector>

#include "analysis/dma/overlay.hpp"
#include "daemon/storage/h5.hpp"
#include "drivers/dhr3/export_watcher.hpp"

namespace insitu::storage {

// One export_NN group: the ingested export and the fits of its sweep.
struct AnalysedExport {
  dhr3::IngestedExport source;
  dma::DmaAnalysis analysis;
};

// dma::analyse_sweep of each export's sweep, in order (fit failures are notes in the analysis, not thrown).
std::vector<AnalysedExport> analyse_exports(std::vector<dhr3::IngestedExport> exports,
                                            const dma::DmaSettings& settings);

// Throws h5::Error if /entry_dma exists already or any HDF5 call fails.
void write_dma_entry(const h5::Handle& file, const std::vector<AnalysedExport>& exports,
                     std::optional<double> glass_transition_K);

}  // namespace insitu::storage
