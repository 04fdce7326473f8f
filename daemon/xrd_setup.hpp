#pragma once
// From a recipe's detector, exposure and analysis sections to the objects a run needs: the detector geometry,
// the run-file layout, the acquisition plan and the analysis settings.
#include <filesystem>

#include "analysis/integration/geometry.hpp"
#include "analysis/pipeline/frame_pipeline.hpp"
#include "daemon/acquisition.hpp"
#include "daemon/storage/detector_layout.hpp"
#include "protocols/recipe/recipe.hpp"

namespace insitu::daemon {

// The Waasmaier–Kirfel table as Debian's python3-periodictable ships it (INSITU_FORM_FACTORS overrides).
std::filesystem::path form_factor_table_path();

// The PONI geometry for the detector as binned by the recipe (pixel size × binning, 2048/binning pixels a side).
analysis::Geometry detector_geometry(const recipe::DetectorSpec& detector);

storage::DetectorLayout detector_layout(const recipe::DetectorSpec& detector, const analysis::Geometry& geometry);
analysis::PipelineSettings pipeline_settings(const recipe::Recipe& recipe);
AcquisitionPlan acquisition_plan(const recipe::Recipe& recipe, const std::filesystem::path& frames_folder);

}  // namespace insitu::daemon
