#pragma once
// The output of `insitu dsc`: DSC exports in W/g beside the run's Δφ_eq (paper Fig. 4), in a new file.
//
// /entry_dsc                         NXentry  @default=overlay (with a run) or export_01
//   title
//   export_NN/                       NXcollection (NN from 01, in command-line order)
//     file_name, vendor, encoding, columns[], units[] (as the file names them), rows, marker_rows,
//     heat_flow_source_unit, mass @units mg (NaN when not needed), mass_source, sign_convention
//     ("endotherm positive"), source_exotherm ("up" | "down"), sign_source, header (verbatim), notes[]
//     data/                          NXdata @signal=heat_flow @axes=temperature: temperature (sample) @units K,
//                                    time @units s, program_temperature @units K (when exported), heat_flow @units W/g
//     segments/                      NXcollection: kind[], first_row[], end_row[], rate @units K/min
//   overlay/                         NXdata (with a run) @signal=delta_phi @auxiliary_signals=heat_flow_NN
//                                    @axes=temperature: temperature @units K (the run's heating frames),
//                                    reduced_temperature @units 1 (T/T_g), delta_phi @units W/mol, heat_flow_NN
//                                    @units W/g (export NN's first heating segment, interpolated; NaN outside it),
//                                    glass_transition @units K, run_file
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "daemon/storage/h5.hpp"
#include "drivers/dsc/dsc_export.hpp"

namespace insitu::storage {

struct DscExportRecord {
  std::string file_name;
  dsc::DscCurve curve;
};

struct DscOverlay {
  std::string run_file;
  double glass_transition_K = 0.0;
  std::vector<double> temperature_K, reduced_temperature, delta_phi_W_per_mol;
  std::vector<std::vector<double>> heat_flow_W_per_g;  // one per export
};

// The exports' first heating segments on a run's heating frames (NaN where a segment does not reach).
DscOverlay dsc_overlay(std::string run_file, double glass_transition_K, std::vector<double> temperature_K,
                       std::vector<double> delta_phi_W_per_mol, const std::vector<DscExportRecord>& exports);

// Each file parsed (`mass_mg` for exports in mW whose header has none); one "file:line: reason" in `problems` for
// each that cannot be read or parsed.
std::vector<DscExportRecord> read_dsc_exports(const std::vector<std::filesystem::path>& files,
                                              std::optional<double> mass_mg, std::vector<std::string>& problems);

// Throws h5::Error when /entry_dsc exists or an HDF5 call fails.
void write_dsc_entry(const h5::Handle& file, const std::vector<DscExportRecord>& exports, const DscOverlay* overlay);

}  // namespace insitu::storage
