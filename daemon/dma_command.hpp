#pragma once
// `insitu dma EXPORT|FOLDER… -o OUT.h5 [--tg KELVIN] [--sample NAME]`: offline analysis of TRIOS exports into a
// new HDF5 file with the same /entry_dma the daemon writes at the end of a run, and the paper's Table I on
// stdout. A sample's exports are pooled whatever their shape (one step per frequency, heating and cooling
// segments, one file per frequency or rate); exports of different samples never are.
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "analysis/dma/overlay.hpp"

namespace insitu::daemon {

struct DmaOptions {
  std::vector<std::filesystem::path> exports;   // files, and folders (their files, by name, hidden ones skipped)
  std::filesystem::path output;                 // created exclusively: an existing file is never overwritten
  std::optional<double> glass_transition_K;     // adds the T/T_g overlay
  // Takes only the exports of this sample (metadata sample name); exports without a sample name are taken as it.
  std::optional<std::string> sample;
  dma::DmaSettings settings;                    // default: transitions found automatically
};

// Every export is processed and every step of it listed on `out`, used or with the reason it is not; a bad
// export gets a message on `err` ("<file>:<line>: <reason>") and the rest still go into the output (no output
// when no curve is left). Returns 0 when every export gave curves, 1 when any failed, gave none, or repeats an
// earlier one's content, 2 when the output cannot be written (exists already, HDF5 error) or no exports were
// given.
int run_dma(const DmaOptions& options, std::ostream& out, std::ostream& err);

}  // namespace insitu::daemon
