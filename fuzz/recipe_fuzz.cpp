// Recipes as `insitu check` and the API's submit take them: YAML text to a validated recipe and its plan.
// Relative files a recipe names resolve in an empty folder, so only the text itself is exercised.
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "fuzz/scratch_file.hpp"
#include "protocols/recipe/recipe.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto empty_folder = std::filesystem::temp_directory_path() / "insitu-fuzz-recipe-base";
  using namespace insitu::recipe;
  try {
    const auto recipe = parse_recipe(insitu::fuzz::as_text(data, size), "fuzz.yaml", empty_folder);
    (void)format_plan(recipe, estimate_plan(recipe));
  } catch (const RecipeError&) {  // documented: "file:line:column: reason" lines
  }
  return 0;
}
