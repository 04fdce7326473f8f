#pragma once
// `insitu check RECIPE [--simulate] [--linkam URL] [--output DIR]`: everything `insitu run` with the same options
// will need, checked before any hardware moves: the recipe (its plan goes to `out`), the output folder, the folders
// and files the recipe names (detector frames folder, DMA export folder, mask, background), the geometry (PONI) file,
// the form-factor table, and the ports (stage, trigger), which are opened and closed again. With --simulate the ports
// and the instruments' folders are the simulators' and are not checked. Every problem is one line on `err`, all of
// them, not just the first; what was found in order is one line each on `out`.
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace insitu::daemon {

struct CheckOptions {
  std::filesystem::path recipe_path;
  bool simulate = false;
  std::optional<std::string> linkam_url;        // as `insitu run --linkam`
  std::optional<std::filesystem::path> output;  // as `insitu run --output`
};

// 0 when ready, 2 when anything `insitu run` needs is missing or wrong.
int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err);

}  // namespace insitu::daemon
