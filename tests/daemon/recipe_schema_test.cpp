// config/recipe.schema.json is what `insitu schema recipe` generates from the recipe format table (the one the
// parser reads its keys and limits from), every shipped recipe names it on its first line and validates against it
// (python3-jsonschema, as a YAML language server checks), and a recipe the parser refuses for a key or a limit of
// the table is refused by the schema too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <regex>

#include "daemon/recipe_schema.hpp"
#include "protocols/recipe/recipe.hpp"
#include "tests/storage/child.hpp"

namespace insitu::testing {
namespace {

namespace fs = std::filesystem;
const fs::path kSchema = INSITU_SOURCE_DIR "/config/recipe.schema.json";

fs::path fresh_dir() {
  const auto dir = fs::temp_directory_path() / ("insitu-test-recipe-schema-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "recipes");
  return dir;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct Validation {
  int exit_code;
  std::string output;
};

Validation validate(const std::vector<fs::path>& recipes) {
  std::vector<std::string> args{"/usr/bin/python3", INSITU_SOURCE_DIR "/tests/daemon/validate_recipes.py",
                                kSchema.string()};
  for (const auto& r : recipes) args.push_back(r.string());
  storage::testing::Child child(args);
  std::string output;
  while (auto line = child.read_line(std::chrono::seconds(30))) output += *line + "\n";
  const int status = child.wait();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::vector<fs::path> shipped_recipes() {
  std::vector<fs::path> recipes;
  for (const auto& e : fs::directory_iterator(INSITU_SOURCE_DIR "/config/recipes"))
    if (e.path().extension() == ".yaml") recipes.push_back(e.path());
  std::sort(recipes.begin(), recipes.end());
  return recipes;
}

TEST(RecipeSchema, ShippedFileIsTheGeneratedOne) {
  EXPECT_EQ(read_text(kSchema), daemon::recipe_json_schema().dump(2) + "\n")
      << "regenerate it: insitu schema recipe > config/recipe.schema.json";
}

TEST(RecipeSchema, EveryShippedRecipeValidates) {
  const auto recipes = shipped_recipes();
  ASSERT_GE(recipes.size(), 2u);
  const auto result = validate(recipes);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  for (const auto& r : recipes) EXPECT_THAT(result.output, ::testing::HasSubstr("ok " + r.string()));
}

// Each edit breaks one rule of the table; the parser and the schema both refuse the recipe.
TEST(RecipeSchema, RefusesWhatTheParserRefuses) {
  const auto dir = fresh_dir();
  const std::string quick = read_text(INSITU_SOURCE_DIR "/config/recipes/quick-check.yaml");
  const std::vector<std::pair<std::string, std::string>> edits{
      {"safe_state: stop", "safe_state: park"},                                 // a choice
      {"  max_K: 330", "  max_K: 330\n  poll_interval_s: 100"},                  // a limit
      {"  max_K: 330", "  max_K: 330\n  pumps: automatic"},                      // an unknown key
      {"  composition: Cu50Zr50\n", ""},                                         // a required key
      {"  - hold: {temperature_K: 300, duration_s: 60}", "  - hold: {temperature_K: 300, duration_s: 0}"},
  };
  std::vector<fs::path> edited;
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const auto& [from, to] = edits[i];
    ASSERT_NE(quick.find(from), std::string::npos) << from;
    std::string text = quick;
    text.replace(text.find(from), from.size(), to);
    // The first line names the shipped schema by its absolute path, as the copy is elsewhere.
    edited.push_back(dir / "recipes" / ("edit" + std::to_string(i) + ".yaml"));
    std::ofstream(edited.back()) << std::regex_replace(
        text, std::regex("\\$schema=\\.\\./recipe\\.schema\\.json"), "$schema=" + kSchema.string());
    EXPECT_THROW(recipe::load_recipe(edited.back()), recipe::RecipeError) << to;
  }
  const auto result = validate(edited);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  for (const auto& path : edited) EXPECT_THAT(result.output, ::testing::HasSubstr("invalid " + path.string()));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace insitu::testing
