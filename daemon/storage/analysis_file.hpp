#pragma once
// Analysis results outside a live run, for `insitu reprocess`: the same layout code as the run file's analysis
// part (analysis_layout.hpp), written in regular (non-SWMR) mode.
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "analysis/pipeline/results.hpp"
#include "daemon/storage/analysis_layout.hpp"
#include "daemon/storage/run_file.hpp"

namespace insitu::storage {

// Adds a NEW entry /entry_reprocessed_<n> (n = 1, 2, ...: the first free) to a finished run file and returns its
// name. The entry holds title, start_time (= process.date_iso), program_name @version, a soft link `sample` ->
// /entry/sample (with the per-frame temperatures and the stage log), and the analysis layout, filled with
// `frames` and, if given, `run` (its parameters go to analysis/run_parameters). Nothing under /entry is touched
// and the root @default still points at the raw entry. Inputs are checked before the file is opened; if writing
// fails, the partial entry is unlinked and the error rethrown.
std::string add_reprocessed_entry(const std::filesystem::path& run_file, const AnalysisLayout& layout,
                                  const ProcessInfo& process, std::span<const analysis::FrameAnalysis> frames,
                                  const std::optional<analysis::RunAnalysis>& run);

// Creates a fresh file (never overwrites) for frames taken elsewhere: / @default=entry, /entry:NXentry with title,
// start_time, program_name, sample:NXsample (name, chemical_formula, description, treatment from `metadata`) and
// the analysis layout, filled like add_reprocessed_entry.
void create_analysis_file(const std::filesystem::path& file, const RunMetadata& metadata, const AnalysisLayout& layout,
                          const ProcessInfo& process, std::span<const analysis::FrameAnalysis> frames,
                          const std::optional<analysis::RunAnalysis>& run);

}  // namespace insitu::storage
