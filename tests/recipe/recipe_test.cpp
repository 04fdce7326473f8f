#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

#include "protocols/recipe/recipe.hpp"
#include "tests/recipe/recipe_error.hpp"

namespace insitu::recipe {
namespace {

// A valid recipe; the bad-recipe tests swap single lines, so line numbers below refer to this.
constexpr std::string_view k_good =
    "insitu_recipe: 1\n"                                                   // 1
    "name: test\n"                                                         // 2
    "sample:\n"                                                            // 3
    "  name: s1\n"                                                         // 4
    "  composition: Cu50Zr50\n"                                            // 5
    "stage:\n"                                                             // 6
    "  model: THMS600\n"                                                   // 7
    "  min_K: 90\n"                                                        // 8
    "program:\n"                                                           // 9
    "  - hold:\n"                                                          // 10
    "      temperature_K: 93.15\n"                                         // 11
    "      until_stable: {tolerance_K: 1.0, dwell_s: 60, timeout_s: 3600}\n"  // 12
    "  - ramp: {to_K: 873.15, rate_K_per_min: 10}\n"                       // 13
    "safe_state: stop\n"                                                   // 14
    "output:\n"                                                            // 15
    "  directory: runs\n";                                                 // 16

// k_good with 1-based line `line` replaced by `text` (an empty text deletes the line).
std::string with_line(int line, std::string_view text) {
  std::istringstream in{std::string(k_good)};
  std::string out, current;
  for (int n = 1; std::getline(in, current); ++n) {
    if (n != line) {
      out += current + '\n';
    } else if (!text.empty()) {
      out += std::string(text) + '\n';
    }
  }
  return out;
}

std::string error_of(const std::string& yaml) { return recipe_error(yaml); }

TEST(Recipe, TheBaseRecipeIsValid) {
  const Recipe r = parse_recipe(k_good, "good.yaml");
  EXPECT_EQ(r.name, "test");
  EXPECT_EQ(r.text, k_good);
  EXPECT_EQ(r.source_path, "good.yaml");
  EXPECT_DOUBLE_EQ(r.stage.min_K, 90.0);        // narrowed
  EXPECT_DOUBLE_EQ(r.stage.max_K, 873.15);      // model
  EXPECT_DOUBLE_EQ(r.stage.poll_interval_s, 1.0);  // default
  EXPECT_FALSE(r.stage.connection);
  EXPECT_FALSE(r.stage.sample_calibration);  // absent: frame temperatures are the sensor's
  ASSERT_EQ(r.program.size(), 2u);
  const auto& hold = std::get<Hold>(r.program[0].action);
  EXPECT_DOUBLE_EQ(hold.approach_rate_K_per_min, 50.0);  // default
  EXPECT_FALSE(hold.duration_s);
  ASSERT_TRUE(hold.until_stable);
  EXPECT_DOUBLE_EQ(hold.until_stable->timeout_s, 3600.0);
  EXPECT_EQ(r.program[0].line, 10);
  EXPECT_EQ(r.program[1].line, 13);
}

TEST(Recipe, LoadsTheCryoHeatingExample) {
  const Recipe r = load_recipe(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  EXPECT_EQ(r.name, "cryo-heating");
  EXPECT_EQ(r.sample.name, "Cu44Zr44Al8Hf2Co2-cryo");
  EXPECT_EQ(r.sample.composition, "Cu44Zr44Al8Hf2Co2");
  EXPECT_EQ(r.sample.treatment, "cryogenically cycled 15x (77 K / 300 K)");
  EXPECT_EQ(r.stage.model, "THMS600");
  EXPECT_DOUBLE_EQ(r.stage.min_K, 77.0);
  EXPECT_DOUBLE_EQ(r.stage.max_rate_K_per_min, 150.0);
  EXPECT_EQ(r.stage.connection, "serial:///dev/ttyUSB0");
  EXPECT_EQ(r.safe_state, SafeState::stop);
  EXPECT_EQ(r.output_directory, "runs");
  ASSERT_EQ(r.program.size(), 3u);
  EXPECT_EQ(r.program[0].label, "1 hold 93.15 K");
  EXPECT_EQ(r.program[1].label, "2 ramp to 873.15 K");
  EXPECT_EQ(r.program[2].label, "3 ramp to 300 K");
  const auto& precool = std::get<Hold>(r.program[0].action);
  EXPECT_DOUBLE_EQ(precool.temperature_K, 93.15);
  EXPECT_DOUBLE_EQ(precool.approach_rate_K_per_min, 50.0);
  ASSERT_TRUE(precool.until_stable);
  EXPECT_DOUBLE_EQ(precool.until_stable->tolerance_K, 1.0);
  EXPECT_DOUBLE_EQ(precool.until_stable->dwell_s, 60.0);
  const auto& heat = std::get<Ramp>(r.program[1].action);
  EXPECT_DOUBLE_EQ(heat.to_K, 873.15);
  EXPECT_DOUBLE_EQ(heat.rate_K_per_min, 10.0);
  const auto& cool = std::get<Ramp>(r.program[2].action);
  EXPECT_DOUBLE_EQ(cool.to_K, 300.0);
  EXPECT_DOUBLE_EQ(cool.rate_K_per_min, 50.0);
}

TEST(Recipe, LoadsTheQuickCheckExample) {
  const Recipe r = load_recipe(INSITU_SOURCE_DIR "/config/recipes/quick-check.yaml");
  EXPECT_EQ(r.name, "quick-check");
  ASSERT_EQ(r.program.size(), 3u);
  EXPECT_EQ(std::get<Hold>(r.program[0].action).duration_s, 60.0);
  EXPECT_DOUBLE_EQ(std::get<Ramp>(r.program[1].action).to_K, 320.0);
  EXPECT_DOUBLE_EQ(std::get<Ramp>(r.program[2].action).to_K, 300.0);
}

TEST(Recipe, MissingFileNamesThePath) {
  EXPECT_THROW(
      {
        try {
          load_recipe("/nonexistent/recipe.yaml");
        } catch (const RecipeError& e) {
          EXPECT_STREQ(e.what(), "/nonexistent/recipe.yaml: cannot open the recipe file");
          throw;
        }
      },
      RecipeError);
}

TEST(RecipeErrors, YamlSyntaxError) {
  EXPECT_EQ(error_of(with_line(13, "  - ramp: {to_K: 873.15, rate_K_per_min: 10")),
            "bad.yaml:14:11: YAML syntax error: end of map flow not found");
}

TEST(RecipeErrors, UnknownKey) {
  EXPECT_EQ(error_of(with_line(8, "  min_k: 90")),
            "bad.yaml:8:3: unknown key 'min_k' in stage (expected one of: model, min_K, max_K, poll_interval_s, "
            "connection, pump, pump_speed, follow_tolerance_K, follow_allowance_s, sample_calibration)");
}

TEST(RecipeErrors, DuplicateKey) {
  EXPECT_EQ(error_of(with_line(14, "name: other")), "bad.yaml:14:1: duplicate key 'name' (first at line 2)");
}

TEST(RecipeErrors, StringWhereANumberBelongs) {
  EXPECT_EQ(error_of(with_line(13, "  - ramp: {to_K: 873.15, rate_K_per_min: fast}")),
            "bad.yaml:13:42: rate_K_per_min: expected a number, got 'fast'");
  EXPECT_EQ(error_of(with_line(11, "      temperature_K: \"93.15\"")),
            "bad.yaml:11:22: temperature_K: expected a number, got the quoted string \"93.15\"");
}

TEST(RecipeErrors, MissingRequiredKey) {
  EXPECT_EQ(error_of(with_line(5, "")), "bad.yaml:3:1: missing required key 'composition' in sample");
  EXPECT_EQ(error_of(with_line(16, "  directory:")), "bad.yaml:16:3: directory: expected a string, got nothing");
}

TEST(RecipeErrors, TemperatureOutsideTheNarrowedStageRange) {
  EXPECT_EQ(error_of(with_line(11, "      temperature_K: 85")),
            "bad.yaml:11:22: temperature_K: 85 K is outside the stage range 90..873.15 K");
  EXPECT_EQ(error_of(with_line(13, "  - ramp: {to_K: 900, rate_K_per_min: 10}")),
            "bad.yaml:13:18: to_K: 900 K is outside the stage range 90..873.15 K");
}

TEST(RecipeErrors, NarrowingMayNotWiden) {
  EXPECT_EQ(error_of(with_line(8, "  min_K: 50")), "bad.yaml:8:10: min_K: 50 K would widen the THMS600 range 77..873.15 K");
  EXPECT_EQ(error_of(with_line(8, "  min_K: 500\n  max_K: 400")),
            "bad.yaml:8:10: min_K: 500 K must be below max_K 400 K");
}

TEST(Recipe, PumpAndFollowingBandDefaultsAndValues) {
  const Recipe defaults = parse_recipe(k_good, "good.yaml");
  EXPECT_EQ(defaults.stage.pump, LnpPump::automatic);
  EXPECT_DOUBLE_EQ(defaults.stage.follow_tolerance_K, 2.0);
  EXPECT_DOUBLE_EQ(defaults.stage.follow_allowance_s, 60.0);
  const Recipe set = parse_recipe(
      with_line(8, "  min_K: 90\n  pump: manual\n  pump_speed: 12\n  follow_tolerance_K: 1.5\n  follow_allowance_s: 30"),
      "good.yaml");
  EXPECT_EQ(set.stage.pump, LnpPump::manual);
  EXPECT_EQ(set.stage.pump_speed, 12);
  EXPECT_DOUBLE_EQ(set.stage.follow_tolerance_K, 1.5);
  EXPECT_DOUBLE_EQ(set.stage.follow_allowance_s, 30.0);
}

TEST(RecipeErrors, PumpAndFollowingBand) {
  EXPECT_EQ(error_of(with_line(8, "  pump: fast")), "bad.yaml:8:9: pump: expected automatic or manual, got 'fast'");
  EXPECT_EQ(error_of(with_line(8, "  pump: manual")), "bad.yaml:8:9: pump: manual needs pump_speed (0..30)");
  EXPECT_EQ(error_of(with_line(8, "  pump_speed: 5")),
            "bad.yaml:8:15: pump_speed: only with pump: manual (the automatic pump sets its own speed)");
  EXPECT_EQ(error_of(with_line(8, "  pump: manual\n  pump_speed: 31")), "bad.yaml:9:15: pump_speed: must be in 0..30, got 31");
  EXPECT_EQ(error_of(with_line(8, "  follow_tolerance_K: 0")),
            "bad.yaml:8:23: follow_tolerance_K: 0 K is outside 0.1..100 K");
  EXPECT_EQ(error_of(with_line(8, "  follow_allowance_s: -1")),
            "bad.yaml:8:23: follow_allowance_s: -1 s is outside 0..86400 s");
}

TEST(RecipeErrors, RatesOutOfRange) {
  EXPECT_EQ(error_of(with_line(13, "  - ramp: {to_K: 873.15, rate_K_per_min: 200}")),
            "bad.yaml:13:42: rate_K_per_min: 200 K/min is outside [0.001, 150] K/min");
  EXPECT_EQ(error_of(with_line(13, "  - ramp: {to_K: 873.15, rate_K_per_min: 0}")),
            "bad.yaml:13:42: rate_K_per_min: 0 K/min is outside [0.001, 150] K/min");
  EXPECT_EQ(error_of(with_line(11, "      temperature_K: 93.15\n      approach_rate_K_per_min: -5")),
            "bad.yaml:12:32: approach_rate_K_per_min: -5 K/min is outside [0.001, 150] K/min");
}

TEST(RecipeErrors, ValuesNoExperimentHas) {
  EXPECT_EQ(error_of(with_line(13, "  - ramp: {to_K: 873.15, rate_K_per_min: 1e-300}")),
            "bad.yaml:13:42: rate_K_per_min: 1e-300 K/min is outside [0.001, 150] K/min");
  EXPECT_EQ(error_of(with_line(12, "      duration_s: 1e30")),
            "bad.yaml:12:19: duration_s: 1e+30 s is longer than a year (31557600 s)");
  EXPECT_EQ(error_of(with_line(12, "      until_stable: {tolerance_K: 1.0, dwell_s: 60, timeout_s: 4e7}")),
            "bad.yaml:12:64: timeout_s: 40000000 s is longer than a year (31557600 s)");
  EXPECT_EQ(error_of(with_line(4, "  name: " + std::string(201, 'x'))),
            "bad.yaml:4:9: name: 201 bytes long; a name has at most 200 (it names files)");
  EXPECT_EQ(error_of(with_line(4, "  name: " + std::string(200, 'x'))), "(no error)");
  EXPECT_EQ(error_of(with_line(4, "  name: a/b")),
            "bad.yaml:4:9: name: 'a/b' is not a valid name (use letters, digits, '_', '.', '-')");
}

// "Billion laughs": nine levels of nine aliases stand for 9^9 holds. yaml-cpp shares aliased nodes, so the text
// loads at once; walking it would not end. The recipe is refused before any walk.
TEST(RecipeErrors, AliasBombIsRefused) {
  std::string yaml = with_line(13, "  - repeat: {count: 1, program: &l0 [{hold: {temperature_K: 300, duration_s: 1}}"
                                   ", {hold: {temperature_K: 300, duration_s: 1}}]}");
  for (int level = 1; level <= 9; ++level) {
    std::string items;
    for (int i = 0; i < 9; ++i) items += fmt::format("{}{{repeat: {{count: 1, program: *l{}}}}}", i ? ", " : "", level - 1);
    yaml.insert(yaml.find("safe_state:"), fmt::format("  - repeat: {{count: 1, program: &l{} [{}]}}\n", level, items));
  }
  EXPECT_EQ(error_of(yaml), "bad.yaml:1:1: the recipe expands to more than 100000 YAML nodes (anchors and aliases?)");
  // Anchors within the budget stay allowed.
  EXPECT_EQ(error_of(with_line(13, "  - ramp: &r {to_K: 873.15, rate_K_per_min: 10}\n  - ramp: *r")), "(no error)");
}

TEST(RecipeErrors, EmptyProgram) {
  std::string yaml = with_line(9, "program: []");
  const auto segments_at = yaml.find("  - hold:");
  yaml.erase(segments_at, yaml.find("safe_state:") - segments_at);  // lines 10-13
  EXPECT_EQ(error_of(yaml), "bad.yaml:9:10: program: must contain at least one segment");
}

TEST(RecipeErrors, RepeatCountBelowOne) {
  EXPECT_EQ(error_of(with_line(13, "  - repeat: {count: 0, program: [{ramp: {to_K: 300, rate_K_per_min: 10}}]}")),
            "bad.yaml:13:21: count: must be in 1..10000, got 0");
}

TEST(RecipeErrors, HoldWithNeitherDurationNorUntilStable) {
  EXPECT_EQ(error_of(with_line(12, "")), "bad.yaml:10:5: hold: needs duration_s, until_stable or both");
}

TEST(RecipeErrors, NonFiniteNumbers) {
  EXPECT_EQ(error_of(with_line(11, "      temperature_K: .inf")), "bad.yaml:11:22: temperature_K: non-finite number '.inf'");
  EXPECT_EQ(error_of(with_line(11, "      temperature_K: nan")), "bad.yaml:11:22: temperature_K: non-finite number 'nan'");
}

TEST(RecipeErrors, BadComposition) {
  EXPECT_EQ(error_of(with_line(5, "  composition: Cu50Xx50")),
            "bad.yaml:5:16: composition: bad formula 'Cu50Xx50': at offset 4: unknown element 'Xx'");
}

// The paper's Table II: the sample state is validated and labels the run.
TEST(RecipeSampleState, TableTwoStatesAreReadAndLabelled) {
  const auto state_of = [](std::string_view state) {
    return parse_recipe(with_line(5, "  composition: Cu50Zr50\n  state: " + std::string(state)), "s.yaml").sample.state;
  };
  const auto as_cast = state_of("{deformation: none, storage_temperature_K: 300}");
  ASSERT_TRUE(as_cast);
  EXPECT_EQ(as_cast->deformation, Deformation::none);
  EXPECT_EQ(as_cast->label, "as cast + stored (300 K)");
  EXPECT_FALSE(as_cast->deformation_temperature_K);
  const auto hpt = state_of("{deformation: HPT, rotations: 20, deformation_temperature_K: 77, storage_temperature_K: 77}");
  ASSERT_TRUE(hpt);
  EXPECT_EQ(hpt->rotations, 20);
  EXPECT_EQ(hpt->deformation_temperature_K, 77.0);
  EXPECT_EQ(hpt->label, "HPT 20 rot. (77 K) + stored (77 K)");
  const auto named = state_of("{label: \"HPT (RT) + stored (LN2)\", deformation: HPT, rotations: 20, "
                              "deformation_temperature_K: 300, storage_temperature_K: 77}");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->label, "HPT (RT) + stored (LN2)");
  EXPECT_FALSE(parse_recipe(k_good, "s.yaml").sample.state);
}

TEST(RecipeErrors, SampleStateIsValidatedWithItsPosition) {
  const auto state_error = [](std::string_view state) {
    return error_of(with_line(5, "  composition: Cu50Zr50\n  state: " + std::string(state)));
  };
  EXPECT_EQ(state_error("{deformation: HPT, deformation_temperature_K: 77, storage_temperature_K: 77}"),
            "bad.yaml:6:3: missing required key 'rotations' in sample.state");
  EXPECT_EQ(state_error("{deformation: HPT, rotations: 0, deformation_temperature_K: 77, storage_temperature_K: 77}"),
            "bad.yaml:6:40: rotations: must be in 1..1000, got 0");
  EXPECT_EQ(state_error("{deformation: none, rotations: 5, storage_temperature_K: 300}"),
            "bad.yaml:6:41: rotations: given for deformation: none (as cast)");
  EXPECT_EQ(state_error("{deformation: ECAP, storage_temperature_K: 300}"),
            "bad.yaml:6:24: deformation: expected none or HPT, got 'ECAP'");
  EXPECT_EQ(state_error("{deformation: none, storage_temperature_K: -5}"),
            "bad.yaml:6:53: storage_temperature_K: -5 K is outside 1..1000 K");
  EXPECT_EQ(state_error("{deformation: none}"), "bad.yaml:6:3: missing required key 'storage_temperature_K' in sample.state");
}

TEST(RecipeErrors, UnsupportedVersionAndBadName) {
  EXPECT_EQ(error_of(with_line(1, "insitu_recipe: 2")),
            "bad.yaml:1:16: insitu_recipe: unsupported format version 2 (this build reads 1)");
  EXPECT_EQ(error_of(with_line(2, "name: my recipe")),
            "bad.yaml:2:7: name: 'my recipe' is not a valid name (use letters, digits, '_', '.', '-')");
}

TEST(RecipeErrors, UnknownModelSafeStateAndSegment) {
  EXPECT_EQ(error_of(with_line(7, "  model: THMS350")),
            "bad.yaml:7:10: model: unknown stage model 'THMS350' (known: THMS600)");
  EXPECT_EQ(error_of(with_line(14, "safe_state: warm")), "bad.yaml:14:13: safe_state: expected stop or hold, got 'warm'");
  EXPECT_EQ(error_of(with_line(13, "  - wait: 60")),
            "bad.yaml:13:5: unknown segment type 'wait' (expected hold, ramp or repeat)");
}

TEST(RecipeErrors, StabiliseTimeoutShorterThanDwell) {
  EXPECT_EQ(error_of(with_line(12, "      until_stable: {tolerance_K: 1.0, dwell_s: 60, timeout_s: 30}")),
            "bad.yaml:12:64: timeout_s: 30 s leaves no time for the 60 s dwell");
}

TEST(RecipeErrors, NotARecipeAtAll) {
  EXPECT_EQ(error_of(""), "bad.yaml:1:1: a recipe must be a map, got nothing");
  EXPECT_EQ(error_of("# only a comment\n"), "bad.yaml:1:1: a recipe must be a map, got nothing");
  // yaml-cpp reads this as an empty document (and its LoadAll never returns on it).
  EXPECT_EQ(error_of(", x\n"), "bad.yaml:1:1: a recipe must be a map, got nothing");
  EXPECT_EQ(error_of("- hold\n- ramp\n"), "bad.yaml:1:1: a recipe must be a map, got a list");
}

TEST(RecipeErrors, OneDocumentPerFile) {
  EXPECT_EQ(error_of(std::string(k_good) + "---\nname: second\n"), "bad.yaml:17:1: a recipe file holds one YAML document");
}

TEST(RecipeErrors, AllErrorsAreReportedInSourceOrder) {
  std::string yaml = with_line(13, "  - ramp: {to_K: 1000, rate_K_per_min: 10}");
  yaml = [&] {
    std::string s = yaml;
    s.replace(s.find("min_K: 90"), 9, "min_K: 90\n  colour: blue");
    s.replace(s.find("name: s1"), 8, "name: s1/x");
    return s;
  }();
  EXPECT_EQ(error_of(yaml),
            "bad.yaml:4:9: name: 's1/x' is not a valid name (use letters, digits, '_', '.', '-')\n"
            "bad.yaml:9:3: unknown key 'colour' in stage (expected one of: model, min_K, max_K, poll_interval_s, "
            "connection, pump, pump_speed, follow_tolerance_K, follow_allowance_s, sample_calibration)\n"
            "bad.yaml:14:18: to_K: 1000 K is outside the stage range 90..873.15 K");
}

TEST(RecipeRepeat, ExpandsWithPositionAndPassLabels) {
  const std::string yaml = with_line(13,
                                     "  - repeat:\n"                                      // 13
                                     "      count: 2\n"                                   // 14
                                     "      program:\n"                                   // 15
                                     "        - ramp: {to_K: 300, rate_K_per_min: 20}\n"  // 16
                                     "        - repeat:\n"                                // 17
                                     "            count: 3\n"                             // 18
                                     "            program:\n"                             // 19
                                     "              - hold: {temperature_K: 120, duration_s: 30}\n"  // 20
                                     "  - ramp: {to_K: 873.15, rate_K_per_min: 10}");     // 21
  const Recipe r = parse_recipe(yaml, "repeat.yaml");
  std::vector<std::string> labels;
  std::vector<int> lines;
  for (const auto& s : r.program) {
    labels.push_back(s.label);
    lines.push_back(s.line);
  }
  const std::vector<std::string> expected_labels = {
      "1 hold 93.15 K",
      "2.1 ramp to 300 K (pass 1/2)",
      "2.2.1 hold 120 K (pass 1/2, 1/3)",
      "2.2.1 hold 120 K (pass 1/2, 2/3)",
      "2.2.1 hold 120 K (pass 1/2, 3/3)",
      "2.1 ramp to 300 K (pass 2/2)",
      "2.2.1 hold 120 K (pass 2/2, 1/3)",
      "2.2.1 hold 120 K (pass 2/2, 2/3)",
      "2.2.1 hold 120 K (pass 2/2, 3/3)",
      "3 ramp to 873.15 K",
  };
  EXPECT_EQ(labels, expected_labels);
  EXPECT_EQ(lines, (std::vector<int>{10, 16, 20, 20, 20, 16, 20, 20, 20, 21}));
  EXPECT_DOUBLE_EQ(std::get<Hold>(r.program[4].action).duration_s.value(), 30.0);
}

TEST(RecipeRepeat, ErrorsInsideARepeatAreReportedOnce) {
  EXPECT_EQ(error_of(with_line(13, "  - repeat: {count: 5, program: [{ramp: {to_K: 300, rate_K_per_min: 151}}]}")),
            "bad.yaml:13:69: rate_K_per_min: 151 K/min is outside [0.001, 150] K/min");
}

TEST(RecipeRepeat, RefusesToExpandIntoMillionsOfSegments) {
  EXPECT_EQ(error_of(with_line(13,
                               "  - repeat: {count: 10000, program: [{repeat: {count: 10000, program: "
                               "[{ramp: {to_K: 300, rate_K_per_min: 10}}]}}]}")),
            "bad.yaml:9:1: program: expands to more than 100000 segments");
}

}  // namespace
}  // namespace insitu::recipe
