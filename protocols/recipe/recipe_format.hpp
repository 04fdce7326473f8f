#pragma once
// The recipe format as one table: every section, its keys, and each key's kind, limits, unit, choices and whether
// it is required. The parser takes its allowed keys and its static limits from here, and `insitu schema recipe`
// turns the same table into config/recipe.schema.json, so the two cannot drift. What depends on other values
// (temperatures within the stage's range, rates up to its model's, qmin < qmax, ...) stays in the parser; the
// table carries the widest static bounds of those (every known stage model's range).
#include <limits>
#include <string_view>
#include <vector>

namespace insitu::recipe::format {

enum class Kind {
  map,        // a section: `section` names it
  program,    // a list of one-key maps: hold, ramp or repeat (sections "hold", "ramp", "repeat")
  list,       // a list of maps of `section` (at least `min` items)
  number,
  integer,
  boolean,
  string,
  name,       // a string of letters, digits, '_', '.', '-' (it ends up in paths)
  choice,     // one of `choices`, in the order the parser maps them to its enums
  channel,    // a delay-generator channel letter, A..H
  interval,   // [low, high] with 0 <= low < high
  file,       // a path to an existing file, relative to the recipe's folder
  item_list,  // `all` or a list of 1-based program item numbers
};

inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

struct Section;

struct Field {
  std::string_view name;
  Kind kind;
  bool required = false;
  std::string_view description;
  std::string_view unit = {};
  double min = -kUnbounded, max = kUnbounded;  // inclusive, for numbers and integers (and list sizes: min)
  bool min_exclusive = false;                  // > min rather than >= min
  std::vector<std::string_view> choices = {};  // choice
  std::vector<double> values = {};             // a number or integer that may only take these values
  bool nullable = false;                       // `key:` with no value reads as absent
  const Section* section = nullptr;            // map, list
};

struct Section {
  std::string_view name;  // the dotted path from the top ("detector.trigger"), "recipe" for the top
  std::string_view description;
  std::vector<Field> fields;
};

// The top of a recipe.
const Section& recipe_format();
// A section by its dotted path ("stage", "detector.trigger", "hold"); throws std::out_of_range for an unknown one.
const Section& section(std::string_view path);
// A key of a section; throws std::out_of_range for an unknown one (a parser bug, not a recipe error).
const Field& field(const Section& section, std::string_view name);
// The keys of a section, in table order (the parser's "expected one of" list).
std::vector<std::string_view> keys(const Section& section);

}  // namespace insitu::recipe::format
