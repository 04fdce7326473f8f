#pragma once
#include <filesystem>

namespace insitu::daemon {

// Prints what a run file holds: sample, recipe, times, temperature range, per-segment setpoint tracking,
// warnings and faults. Returns a process exit code.
int print_summary(const std::filesystem::path& run_file);

}  // namespace insitu::daemon
