#pragma once
// The DMA NXentry: ingested TRIOS exports (verbatim text + sha256, and what became of every step), their curves
// pooled per sample into sweeps (one per heating/cooling direction and rate), Cole–Cole and Arrhenius results,
// Table I, and the Fig. 3 overlay intervals. The exports come parsed (dhr3::ExportWatcher, dhr3::check_export)
// and are pooled and fitted here (analyse_exports) before they are written into an OPEN file in regular
// (non-SWMR) mode: at the end of a run (RunFile::at_finish) or by `insitu dma`. Exports of different samples
// (metadata sample name) are never pooled.
//
// /entry_dma                       NXentry   @default=sample_01
//   title, export_count, sample_count
//   overlay/                       NXcollection  (only with a glass transition temperature)
//     glass_transition_temperature @units K
//     transition[], sample[], set[], interval_lo/hi @units K, reduced_lo/hi @units 1, frequency_lo/hi @units Hz
//   export_NN/                     NXcollection  (NN from 01, in ingestion order; exports without a curve too)
//     file_name, sha256, text, layout, encoding, sample
//     metadata/                    NXcollection: instrument_name, instrument_type, serial_number, geometry,
//                                  modulus_kind ("G" | "E" | "unknown"), sample, run_date, procedure, trios_version
//     steps/                       NXcollection: name[], rows[], curves[] (0: not used), note[] (why not, or
//                                  what was left out)
//   sample_NN/                     NXcollection  @default=set_01: name, exports[] (export_NN)
//     set_NN/                      NXcollection  @default=curve_01 (heating first, then by rate)
//       title, direction ("heating" | "cooling"), rate @units K/min (|dT/dt|, NaN when the exports have no time),
//       windows ("automatic" | "settings"), detection_note, table_I (the printed Table I text)
//       curve_NN/                  NXdata @signal=tan_delta @axes=temperature (ascending frequency)
//         source (file, step, segment), frequency @units Hz, temperature @units K, tan_delta @units 1,
//         storage_modulus, loss_modulus @units Pa
//       fits/<transition>/         NXcollection: frequency @units Hz, peak_temperature(_sigma) @units K,
//                                  amplitude, width_q @units K, shape_a, window_lo/hi @units K, points,
//                                  rms_residual, note
//       arrhenius/                 NXcollection: transition[], activation_energy(_sigma) @units eV,
//                                  f0 @units Hz (inf beyond double range), log10_f0, ln_f0(_sigma), r_squared, points
#include <optional>
#include <string>
#include <vector>

#include "analysis/dma/overlay.hpp"
#include "daemon/storage/h5.hpp"
#include "drivers/dhr3/export_watcher.hpp"

namespace insitu::storage {

// One direction and rate of one sample: the pooled sweep and its fits.
struct AnalysedSet {
  dma::Sweep sweep;
  dma::DmaAnalysis analysis;
};

struct AnalysedSample {
  std::string name;
  std::vector<std::size_t> exports;  // indices into DmaResults::exports
  std::vector<AnalysedSet> sets;
};

struct DmaResults {
  std::vector<dhr3::IngestedExport> exports;  // in ingestion order
  std::vector<AnalysedSample> samples;        // in order of their first export; only samples with curves
};

// The export's sample: its metadata sample name, or `unnamed_as` when it has none.
std::string sample_of(const dhr3::IngestedExport& e, const std::string& unnamed_as);

// Pools the curves of each sample (dma::pool_curves) and fits every set (dma::analyse_sweep); fit failures are
// notes in the analysis, not thrown.
DmaResults analyse_exports(std::vector<dhr3::IngestedExport> exports, const dma::DmaSettings& settings,
                           const std::string& unnamed_as = "unnamed");

// Throws h5::Error if /entry_dma exists already or any HDF5 call fails.
void write_dma_entry(const h5::Handle& file, const DmaResults& results, std::optional<double> glass_transition_K);

}  // namespace insitu::storage
