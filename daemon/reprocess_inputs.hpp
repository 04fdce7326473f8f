#pragma once
// What `insitu reprocess` analyses with (reprocess_command.hpp): the settings, geometry and form factors, from a
// run file's own record (read through storage::RunFileReader) or from the --frames flags.
#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "analysis/integration/geometry.hpp"
#include "analysis/pdf/form_factors.hpp"
#include "analysis/pipeline/frame_pipeline.hpp"
#include "daemon/reprocess_command.hpp"
#include "daemon/storage/analysis_layout.hpp"
#include "daemon/storage/run_file_reader.hpp"
#include "drivers/detector/frame_files.hpp"

namespace insitu::daemon {

struct ReprocessInputs {
  analysis::PipelineSettings settings;
  analysis::Geometry geometry;  // fitted to the frames (height, width, binned pixel size)
  analysis::FormFactorTable form_factors;
  std::string form_factor_source;  // the file, or the run file's form_factors group, they came from
  bool recorded_parameters = false;  // RUN.h5 mode: false when the file records none (defaults and flags alone)
};

// Defaults, then `base` (a run file's record), then the flags, then --set in order; the form factors default to
// the table a live run uses (form_factor_table_path()).
analysis::PipelineSettings settings_from(const ReprocessOptions& o, analysis::PipelineSettings base = {});

// RUN.h5 mode: the run file's geometry, parameters, form factors, background and mask, overridden by the flags.
ReprocessInputs run_file_inputs(const ReprocessOptions& o, const storage::RunFileReader& run, std::size_t height,
                                std::size_t width);
// --frames mode: everything from the flags; `first` is the first frame, read from `first_path` (its shape fits the
// geometry and mask).
ReprocessInputs frames_inputs(const ReprocessOptions& o, const detector::Frame& first,
                              const std::filesystem::path& first_path);

// A PONI of the whole detector applied to binned frames: the pixels grow by the binning factor.
analysis::Geometry fit_to_frames(analysis::Geometry g, std::size_t height, std::size_t width, const std::string& poni);

// What the analysis NXprocess records: grids, parameters, the composition's coefficients, background and mask.
storage::AnalysisLayout reprocess_layout(const ReprocessInputs& in, analysis::AnalysisAxes axes, std::size_t height,
                                         std::size_t width);

std::string read_text(const std::filesystem::path& path);
std::vector<float> to_float(const detector::Frame& frame);

}  // namespace insitu::daemon
