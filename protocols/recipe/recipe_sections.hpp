#pragma once
// The recipe's instrument and analysis sections (detector, exposures, analysis, DMA), parsed apart from the
// stage program (recipe.cpp). Internal to the recipe parser.
#include <cstddef>
#include <filesystem>
#include <optional>

#include "protocols/recipe/yaml_fields.hpp"

namespace insitu::recipe::sections {

// Relative paths in the section resolve against `base`, the recipe's folder.
std::optional<DetectorSpec> parse_detector(fields::Diagnostics& diag, const fields::Entry& entry,
                                           const std::filesystem::path& base);
std::optional<ExposureSpec> parse_exposures(fields::Diagnostics& diag, const fields::Entry& entry,
                                            std::size_t program_items, const DetectorSpec* detector);
std::optional<AnalysisSpec> parse_analysis(fields::Diagnostics& diag, const fields::Entry& entry,
                                           const std::filesystem::path& base);
std::optional<DmaSpec> parse_dma(fields::Diagnostics& diag, const fields::Entry& entry);
std::optional<DscSpec> parse_dsc(fields::Diagnostics& diag, const fields::Entry& entry,
                                 const std::filesystem::path& base);

// `exposures`: whether the recipe takes frames (frames_missing needs them).
std::vector<Suspender> parse_suspenders(fields::Diagnostics& diag, const fields::Entry& entry, bool exposures);

}  // namespace insitu::recipe::sections
