#pragma once
// The recipe format (protocols/recipe/recipe_format.hpp, the table the parser reads its keys and limits from) as a
// JSON Schema (draft-07, what YAML language servers read): `insitu schema recipe > config/recipe.schema.json`.
#include <nlohmann/json.hpp>

namespace insitu::daemon {

nlohmann::ordered_json recipe_json_schema();

}  // namespace insitu::daemon
