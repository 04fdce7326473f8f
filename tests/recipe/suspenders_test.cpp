// The recipe's `suspenders:` list: every kind read with its defaults, and each kind of mistake reported at its
// line and column.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "protocols/recipe/recipe.hpp"
#include "tests/recipe/recipe_error.hpp"

namespace insitu::recipe {
namespace {

constexpr std::string_view k_base =
    "insitu_recipe: 1\n"
    "name: test\n"
    "sample: {name: s1, composition: Cu50Zr50}\n"
    "stage: {model: THMS600}\n"
    "program:\n"
    "  - ramp: {to_K: 400, rate_K_per_min: 10}\n"
    "output: {directory: runs}\n"
    "suspenders:\n";                    // line 8
constexpr int k_first_entry_line = 9;  // the first entry appended after k_base

std::string with_suspenders(std::initializer_list<std::string_view> entries) {
  std::string yaml(k_base);
  for (auto e : entries) yaml += std::string(e) + "\n";
  return yaml;
}

// "bad.yaml:LINE:COL: reason" for the single entry `entry`, the column that of `at` in it.
std::string error_at(std::string_view entry, std::string_view at, std::string_view reason) {
  return fmt::format("bad.yaml:{}:{}: {}", k_first_entry_line, entry.find(at) + 1, reason);
}

TEST(Suspenders, EveryKindIsReadWithItsActions) {
  const auto r = parse_recipe(
      with_suspenders({
          "  - {kind: stage_off_programme, band_K: 5, for_s: 60, on_trip: pause, on_clear: resume, settle_s: 30}",
          "  - {kind: dewar_empty, on_trip: pause, on_clear: operator}",
          "  - {kind: controller_error, on_trip: abort}",
          "  - {kind: tango, attribute: \"tango://host:10000/petra/globals/keyword/BeamCurrent\", below: 80,",
          "     for_s: 5, on_trip: pause, on_clear: resume, settle_s: 60, on_read_failure: ignore, timeout_s: 2}",
      }),
      "good.yaml");
  ASSERT_EQ(r.suspenders.size(), 4u);
  const auto& stage = r.suspenders[0];
  EXPECT_EQ(stage.kind, SuspenderKind::stage_off_programme);
  EXPECT_EQ(stage.line, k_first_entry_line);
  EXPECT_DOUBLE_EQ(stage.band_K, 5.0);
  EXPECT_DOUBLE_EQ(stage.for_s, 60.0);
  EXPECT_EQ(stage.on_trip, SuspenderTrip::pause);
  EXPECT_EQ(stage.on_clear, SuspenderClear::resume);
  EXPECT_DOUBLE_EQ(stage.settle_s, 30.0);
  const auto& dewar = r.suspenders[1];
  EXPECT_DOUBLE_EQ(dewar.for_s, 30.0) << "the engine's own dewar warning waits as long";
  EXPECT_EQ(dewar.on_clear, SuspenderClear::wait_for_operator);
  EXPECT_EQ(r.suspenders[2].on_trip, SuspenderTrip::abort);
  const auto& tango = r.suspenders[3];
  EXPECT_EQ(tango.attribute, "tango://host:10000/petra/globals/keyword/BeamCurrent");
  EXPECT_EQ(tango.below, 80.0);
  EXPECT_FALSE(tango.above);
  EXPECT_DOUBLE_EQ(tango.poll_s, 1.0);
  EXPECT_DOUBLE_EQ(tango.timeout_s, 2.0);
  EXPECT_EQ(tango.on_read_failure, ReadFailure::ignore);
  EXPECT_EQ(describe(tango), "tango: tango://host:10000/petra/globals/keyword/BeamCurrent below 80 for 5 s");
  EXPECT_EQ(describe(stage), "stage_off_programme: band 5 K for 60 s");
}

TEST(Suspenders, TangoNamesWithAndWithoutHostAndDatabase) {
  for (std::string_view name : {"a/b/c/BeamCurrent", "tango://localhost:45450/a/b/c/BeamCurrent#dbase=no",
                                "tango://h.example.org:10000/petra/globals/keyword/BeamCurrent#dbase=yes"}) {
    const auto entry = fmt::format("  - {{kind: tango, attribute: \"{}\", above: 1, on_trip: abort}}", name);
    EXPECT_EQ(recipe_error(with_suspenders({entry})), "(no error)") << name;
  }
  for (std::string_view name : {"a/b/BeamCurrent", "a/b/c/d/e", "tango://host/a/b/c/d", "tango://host:x/a/b/c/d",
                                "a/b/c/d#dbase=maybe", "a//c/d", "a/b/c/Beam Current"}) {
    const auto entry = fmt::format("  - {{kind: tango, attribute: \"{}\", above: 1, on_trip: abort}}", name);
    EXPECT_EQ(recipe_error(with_suspenders({entry})),
              error_at(entry, "\"",
                       fmt::format("attribute: '{}' is not a Tango attribute name "
                                   "([tango://host:port/]domain/family/member/attribute[#dbase=no])",
                                   name)));
  }
}

struct BadEntry {
  std::string_view entry, at, reason;
};

TEST(Suspenders, EachMistakeIsReportedWhereItIs) {
  const BadEntry cases[] = {
      {"  - {kind: beam, on_trip: pause}", "beam",
       "kind: expected stage_off_programme, dewar_empty, controller_error, frames_missing or tango, got 'beam'"},
      {"  - {on_trip: pause}", "{",
       "missing required key 'kind' in suspender (one of stage_off_programme, dewar_empty, controller_error, "
       "frames_missing or tango)"},
      {"  - {kind: dewar_empty, on_trip: pause}", "{", "a suspender that pauses needs on_clear: resume or operator"},
      {"  - {kind: dewar_empty, on_trip: wait, on_clear: resume}", "wait",
       "on_trip: expected pause or abort, got 'wait'"},
      {"  - {kind: controller_error, on_trip: abort, on_clear: resume}", "on_clear",
       "on_clear: a suspender that aborts the run never clears"},
      {"  - {kind: controller_error, on_trip: abort, band_K: 5}", "band_K",
       "unknown key 'band_K' in suspender controller_error (expected one of: kind, on_trip, on_clear, settle_s)"},
      {"  - {kind: stage_off_programme, band_K: -1, on_trip: abort}", "-1", "band_K: must be > 0, got -1"},
      {"  - {kind: stage_off_programme, on_trip: abort}", "{",
       "missing required key 'band_K' in suspender stage_off_programme"},
      {"  - {kind: dewar_empty, on_trip: pause, on_clear: operator, settle_s: 10}", "settle_s",
       "settle_s: the operator decides when a run waiting for one resumes"},
      {"  - {kind: dewar_empty, on_trip: pause, on_clear: resume, settle_s: -3}", "-3",
       "settle_s: must be >= 0, got -3"},
      {"  - {kind: tango, attribute: \"a/b/c/d\", below: 80, above: 200, on_trip: abort}", "below",
       "tango: give exactly one of below and above"},
      {"  - {kind: tango, attribute: \"a/b/c/d\", on_trip: abort}", "{", "tango: give exactly one of below and above"},
      {"  - {kind: tango, attribute: \"a/b/c/d\", below: 1, on_trip: abort, on_read_failure: maybe}", "maybe",
       "on_read_failure: expected trip or ignore, got 'maybe'"},
      {"  - {kind: tango, attribute: \"a/b/c/d\", below: 1, poll_s: 0, on_trip: abort}", "0,",
       "poll_s: must be > 0, got 0"},
      {"  - stage_off_programme", "stage", "suspenders: each entry is a map, got 'stage_off_programme'"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(recipe_error(with_suspenders({c.entry})), error_at(c.entry, c.at, c.reason)) << c.entry;
}

TEST(Suspenders, FramesMissingNeedsFramesAndAListIsAList) {
  const std::string_view entry = "  - {kind: frames_missing, count: 0, on_trip: abort}";
  EXPECT_EQ(recipe_error(with_suspenders({entry})),
            error_at(entry, "{", "frames_missing: needs an exposures section (frames to watch)") + "\n" +
                error_at(entry, "0,", "count: must be in 1..1000, got 0"));
  std::string yaml(k_base);
  yaml.replace(yaml.size() - 1, 1, " {kind: tango}\n");
  EXPECT_EQ(recipe_error(yaml), "bad.yaml:8:13: suspenders: expected a list, got a map");
  EXPECT_EQ(parse_recipe(std::string(k_base), "empty.yaml").suspenders.size(), 0u) << "an empty list is none";
}

}  // namespace
}  // namespace insitu::recipe
