#pragma once
#include <filesystem>
#include <iosfwd>

namespace insitu::daemon {

// `insitu summary FILE`: prints what a file insitu wrote holds (a live, killed or finished run, reprocessed
// entries, a `reprocess --frames` / `-o` output, an `insitu dma` file): sample, recipe, times, temperature range,
// per-segment setpoint tracking, frames, every analysis with T_g and its interval, the DMA entry, warnings and
// faults. Anything else (not HDF5, truncated, another program's HDF5) gets one line on `err` and exit code 2; it
// never aborts. Returns the process exit code (0 printed).
int print_summary(const std::filesystem::path& file, std::ostream& out, std::ostream& err);
int print_summary(const std::filesystem::path& file);  // on stdout and stderr

}  // namespace insitu::daemon
