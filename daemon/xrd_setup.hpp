#pragma once
// From a recipe's detector, exposure and analysis sections to the objects a run needs: the detector geometry,
// the run-file layout, the acquisition plan and the analysis settings.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "analysis/integration/geometry.hpp"
#include "analysis/pipeline/frame_pipeline.hpp"
#include "daemon/storage/analysis_layout.hpp"
#include "daemon/storage/detector_layout.hpp"
#include "protocols/recipe/recipe.hpp"

namespace insitu::daemon {

// The Waasmaier–Kirfel table as Debian's python3-periodictable ships it (INSITU_FORM_FACTORS overrides).
std::filesystem::path form_factor_table_path();

// The PONI geometry for the detector as binned by the recipe (pixel size × binning, 2048/binning pixels a side).
analysis::Geometry detector_geometry(const recipe::DetectorSpec& detector);

// With the calibration (the binned geometry and the PONI file verbatim) when the detector has a geometry file.
storage::DetectorLayout detector_layout(const recipe::DetectorSpec& detector, const analysis::Geometry& geometry);
// A static mask image as pyFAI and Dioptas write it (any frame format read_frame takes; non-zero = masked) as
// 0/1 bytes, row-major. std::runtime_error "mask PATH is HxW pixels, <frames_described>" when it is not
// height x width; frames_described names the frames it must fit, with their shape.
std::vector<std::uint8_t> read_static_mask(const std::filesystem::path& path, std::size_t height, std::size_t width,
                                           const std::string& frames_described);
// Reads the background file (if any) into background_text: the run file stores the bytes the analysis used.
// Reads detector.mask (if any) into mask, non-zero = masked; std::runtime_error naming the file and both
// shapes when it is not the shape of the detector's (binned) frames.
analysis::PipelineSettings pipeline_settings(const recipe::Recipe& recipe);
// Everything the run file records of the analysis: grids, parameters, the form-factor coefficients of the
// composition's elements (from settings.form_factor_file), the background file's content and the static mask
// (settings.mask, shaped like the detector's frames).
storage::AnalysisLayout analysis_layout(const analysis::PipelineSettings& settings, analysis::AnalysisAxes axes,
                                        const analysis::Geometry& geometry);

}  // namespace insitu::daemon
