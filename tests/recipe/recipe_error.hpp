#pragma once
// The recipe tests' view of a bad recipe: the exact message parse_recipe gives for it.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "protocols/recipe/recipe.hpp"

namespace insitu::recipe {

// RecipeError's message for `yaml` read as `source_name` (relative files against `base_directory`), or
// "(no error)" when the recipe is valid.
inline std::string recipe_error(const std::string& yaml, const std::string& source_name = "bad.yaml",
                                std::optional<std::filesystem::path> base_directory = std::nullopt) {
  try {
    parse_recipe(yaml, source_name, std::move(base_directory));
  } catch (const RecipeError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace insitu::recipe
