#pragma once
// `insitu dma EXPORT… -o OUT.h5 [--tg KELVIN]`: offline analysis of TRIOS exports into a new HDF5 file
// with the same /entry_dma the daemon writes at the end of a run, and the paper's Table I on stdout.
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <vector>

#include "analysis/dma/overlay.hpp"

namespace insitu::daemon {

struct DmaOptions {
  std::vector<std::filesystem::path> exports;
  std::filesystem::path output;                 // created exclusively: an existing file is never overwritten
  std::optional<double> glass_transition_K;     // adds the T/T_g overlay
  dma::DmaSettings settings;                    // default: transitions found automatically
};

// Every export is processed; a bad one gets a message on `err` ("<file>:<line>: <reason>") and the rest still
// go into the output (no output when none is good). Returns 0 when all were ingested, 1 when any failed or
// repeats an earlier one's content, 2 when the output cannot be written (exists already, HDF5 error) or no
// exports were given.
int run_dma(const DmaOptions& options, std::ostream& out, std::ostream& err);

}  // namespace insitu::daemon
