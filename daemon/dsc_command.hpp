#pragma once
// `insitu dsc EXPORT… [--mass-mg M] [--run RUN.h5] -o OUT.h5`: DSC text exports (drivers/dsc) into W/g with
// endotherms positive, and with --run beside that run's Δφ_eq on T and T/T_g (paper Fig. 4). Writes /entry_dsc
// (dsc_entry.hpp); prints what each file held (vendor, rows, columns and units, mass, sign, segments).
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <vector>

namespace insitu::daemon {

struct DscOptions {
  std::vector<std::filesystem::path> exports;
  std::optional<double> mass_mg;           // replaces the headers' masses
  std::optional<std::filesystem::path> run;  // the run whose Δφ_eq the heat flow is laid beside
  std::filesystem::path output;            // created exclusively
};

// 0 when every export was read, 1 when one was malformed ("<file>:<line>: <reason>" on err; the rest are still
// written) or the run has no run-level analysis, 2 for no exports or an output that exists or cannot be written.
int run_dsc(const DscOptions& options, std::ostream& out, std::ostream& err);

}  // namespace insitu::daemon
