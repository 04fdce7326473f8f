#pragma once
// The recipe parser's building blocks, shared by its translation units (not a public header): diagnostics that
// collect every problem with its line and column, views of YAML mappings, and readers of typed, range-checked
// values.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "protocols/recipe/recipe.hpp"
#include "protocols/recipe/recipe_format.hpp"

namespace insitu::recipe::fields {

struct Model {
  std::string_view name;
  double min_K, max_K, max_rate_K_per_min;
};
// THMS600: -196..600 degC, settable rates up to 150 K/min (research/linkam.md).
constexpr Model k_models[] = {{"THMS600", 77.0, 873.15, 150.0}};

constexpr double k_default_approach_rate_K_per_min = 50.0;
constexpr double k_default_poll_interval_s = 1.0;
constexpr int k_max_repeat_count = 10000;
// Guards against a nested repeat exploding into millions of segments.
constexpr std::size_t k_max_expanded_segments = 100000;

struct Diagnostic {
  int line, column;
  std::string reason;
};

// Collects every problem found; the parse throws once at the end with all of them.
class Diagnostics {
 public:
  explicit Diagnostics(std::string source) : source_(std::move(source)) {}

  void error(const YAML::Mark& mark, std::string reason) {
    // A null mark (empty document) points at the start of the file.
    const int line = mark.line < 0 ? 1 : mark.line + 1;
    const int column = mark.column < 0 ? 1 : mark.column + 1;
    errors_.push_back({line, column, std::move(reason)});
  }
  bool empty() const { return errors_.empty(); }
  std::size_t count() const { return errors_.size(); }

  [[noreturn]] void raise() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    std::string text;
    for (const auto& e : errors_) {
      if (!text.empty()) text += '\n';
      text += fmt::format("{}:{}:{}: {}", source_, e.line, e.column, e.reason);
    }
    throw RecipeError(text);
  }

 private:
  std::string source_;
  std::vector<Diagnostic> errors_;
};

inline std::string kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return node.Tag() == "!" ? fmt::format("the quoted string \"{}\"", node.Scalar())
                               : fmt::format("'{}'", node.Scalar());
    default:
      return "an undefined value";
  }
}

// One key/value pair of a map, with the key kept for its position.
struct Entry {
  YAML::Node key;
  YAML::Node value;
  std::string name;
  // Where to point for a problem with the value: a missing value has no useful mark of its own.
  YAML::Mark value_mark() const { return value.IsNull() ? key.Mark() : value.Mark(); }
};

// A validated YAML map: unknown and duplicate keys are reported once, lookups return the first.
class MapView {
 public:
  // `allowed`: the keys of the section in the recipe format table.
  MapView(Diagnostics& diag, const YAML::Node& node, YAML::Mark anchor, std::string where,
          const std::vector<std::string_view>& allowed)
      : diag_(diag), anchor_(anchor), where_(std::move(where)) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        diag_.error(key.Mark(), fmt::format("{}: keys must be plain names, got {}", where_, kind_of(key)));
        continue;
      }
      const std::string name = key.Scalar();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string expected;
        for (auto a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(a);
        diag_.error(key.Mark(), fmt::format("unknown key '{}' in {} (expected one of: {})", name, where_, expected));
        continue;
      }
      // yaml-cpp keeps duplicate keys in the map, so they can be detected here.
      const auto first = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == name; });
      if (first != entries_.end()) {
        diag_.error(key.Mark(), fmt::format("duplicate key '{}' (first at line {})", name, first->key.Mark().line + 1));
        continue;
      }
      entries_.push_back({key, it->second, name});
    }
  }

  const Entry* find(std::string_view name) const {
    const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == name; });
    return it == entries_.end() ? nullptr : &*it;
  }
  const Entry* require(std::string_view name) const {
    const Entry* e = find(name);
    if (e == nullptr) diag_.error(anchor_, fmt::format("missing required key '{}' in {}", name, where_));
    return e;
  }

 private:
  Diagnostics& diag_;
  YAML::Mark anchor_;
  std::string where_;
  std::vector<Entry> entries_;
};

// The entry's value as a map, or an error and nullopt; its "missing key" errors point at the entry's key.
inline std::optional<MapView> as_map(Diagnostics& diag, const Entry& entry, std::string where,
                                     const std::vector<std::string_view>& allowed) {
  if (!entry.value.IsMap()) {
    diag.error(entry.value_mark(), fmt::format("{}: expected a map, got {}", entry.name, kind_of(entry.value)));
    return std::nullopt;
  }
  return MapView(diag, entry.value, entry.key.Mark(), std::move(where), allowed);
}

// A recipe section: its keys from the recipe format table.
inline std::optional<MapView> as_section(Diagnostics& diag, const Entry& entry, std::string where,
                                         const format::Section& section) {
  return as_map(diag, entry, std::move(where), format::keys(section));
}

inline bool is_yaml_non_finite(std::string_view s) {
  for (std::string_view special :
       {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"}) {
    if (s == special) return true;
  }
  return false;
}

inline std::optional<double> read_number(Diagnostics& diag, const Entry* entry) {
  if (entry == nullptr) return std::nullopt;
  const YAML::Node& v = entry->value;
  if (!v.IsScalar() || v.Tag() == "!") {
    diag.error(entry->value_mark(), fmt::format("{}: expected a number, got {}", entry->name, kind_of(v)));
    return std::nullopt;
  }
  std::string_view text = v.Scalar();
  if (is_yaml_non_finite(text)) {
    diag.error(v.Mark(), fmt::format("{}: non-finite number '{}'", entry->name, text));
    return std::nullopt;
  }
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);  // YAML allows it, from_chars does not
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) {
    diag.error(v.Mark(), fmt::format("{}: number '{}' is out of range", entry->name, v.Scalar()));
    return std::nullopt;
  }
  if (ec != std::errc{} || end != text.data() + text.size()) {
    diag.error(v.Mark(), fmt::format("{}: expected a number, got {}", entry->name, kind_of(v)));
    return std::nullopt;
  }
  if (!std::isfinite(value)) {  // from_chars accepts "inf" and "nan" spelled the C way
    diag.error(v.Mark(), fmt::format("{}: non-finite number '{}'", entry->name, v.Scalar()));
    return std::nullopt;
  }
  return value;
}

inline std::optional<long long> read_integer(Diagnostics& diag, const Entry* entry) {
  if (entry == nullptr) return std::nullopt;
  const YAML::Node& v = entry->value;
  long long value = 0;
  bool ok = v.IsScalar() && v.Tag() != "!";
  if (ok) {
    std::string_view text = v.Scalar();
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    ok = ec == std::errc{} && end == text.data() + text.size();
  }
  if (!ok) {
    diag.error(entry->value_mark(), fmt::format("{}: expected an integer, got {}", entry->name, kind_of(v)));
    return std::nullopt;
  }
  return value;
}

inline std::optional<std::string> read_string(Diagnostics& diag, const Entry* entry) {
  if (entry == nullptr) return std::nullopt;
  if (!entry->value.IsScalar()) {
    diag.error(entry->value_mark(), fmt::format("{}: expected a string, got {}", entry->name, kind_of(entry->value)));
    return std::nullopt;
  }
  return entry->value.Scalar();
}

// Names end up in paths: a conservative character set, and never "." or "..".
// Names become file and folder names (run directories add a time stamp): they must fit NAME_MAX (255 bytes).
constexpr std::size_t k_max_name_bytes = 200;

inline std::optional<std::string> read_name(Diagnostics& diag, const Entry* entry) {
  auto name = read_string(diag, entry);
  if (!name) return std::nullopt;
  if (name->size() > k_max_name_bytes) {
    diag.error(entry->value.Mark(), fmt::format("{}: {} bytes long; a name has at most {} (it names files)",
                                                entry->name, name->size(), k_max_name_bytes));
    return std::nullopt;
  }
  const bool charset_ok = !name->empty() && std::all_of(name->begin(), name->end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
  if (!charset_ok || *name == "." || *name == "..") {
    diag.error(entry->value.Mark(),
               fmt::format("{}: '{}' is not a valid name (use letters, digits, '_', '.', '-')", entry->name, *name));
    return std::nullopt;
  }
  return name;
}

// 2..N choices as "a or b" / "a, b or c", for messages.
inline std::string either(const std::vector<std::string_view>& choices) {
  std::string text;
  std::size_t i = 0;
  for (auto c : choices) {
    if (i > 0) text += i + 1 == choices.size() ? " or " : ", ";
    text += c;
    ++i;
  }
  return text;
}

// The index of the entry's value among `choices`.
inline std::optional<std::size_t> read_choice(Diagnostics& diag, const Entry* entry,
                                              const std::vector<std::string_view>& choices) {
  auto text = read_string(diag, entry);
  if (!text) return std::nullopt;
  const auto it = std::find(choices.begin(), choices.end(), *text);
  if (it == choices.end()) {
    diag.error(entry->value_mark(),
               fmt::format("{}: expected {}, got {}", entry->name, either(choices), kind_of(entry->value)));
    return std::nullopt;
  }
  return static_cast<std::size_t>(it - choices.begin());
}

// YAML 1.2 core booleans only: yes/no/on/off are too easy to write by accident.
inline std::optional<bool> read_bool(Diagnostics& diag, const Entry* entry) {
  if (entry == nullptr) return std::nullopt;
  const YAML::Node& v = entry->value;
  if (v.IsScalar() && v.Tag() != "!") {
    const std::string& t = v.Scalar();
    if (t == "true" || t == "True" || t == "TRUE") return true;
    if (t == "false" || t == "False" || t == "FALSE") return false;
  }
  diag.error(entry->value_mark(), fmt::format("{}: expected true or false, got {}", entry->name, kind_of(v)));
  return std::nullopt;
}

// A number within [lo, hi]; `unit` is appended to the numbers in the message.
inline std::optional<double> read_number_in(Diagnostics& diag, const Entry* entry, double lo, double hi,
                                            std::string_view unit) {
  auto v = read_number(diag, entry);
  if (!v) return std::nullopt;
  if (*v < lo || *v > hi) {
    const std::string u = unit.empty() ? "" : " " + std::string(unit);
    diag.error(entry->value.Mark(), fmt::format("{}: {}{} is outside {}..{}{}", entry->name, *v, u, lo, hi, u));
    return std::nullopt;
  }
  return v;
}

inline std::optional<long long> read_integer_in(Diagnostics& diag, const Entry* entry, long long lo, long long hi) {
  auto v = read_integer(diag, entry);
  if (!v) return std::nullopt;
  if (*v < lo || *v > hi) {
    diag.error(entry->value.Mark(), fmt::format("{}: must be in {}..{}, got {}", entry->name, lo, hi, *v));
    return std::nullopt;
  }
  return v;
}

// [low, high] with 0 <= low < high.
inline std::optional<std::pair<double, double>> read_interval(Diagnostics& diag, const Entry* entry,
                                                              std::string_view unit) {
  if (entry == nullptr) return std::nullopt;
  const YAML::Node& v = entry->value;
  if (!v.IsSequence() || v.size() != 2) {
    diag.error(entry->value_mark(), fmt::format("{}: expected [low, high], got {}", entry->name,
                                                v.IsSequence() ? fmt::format("{} values", v.size()) : kind_of(v)));
    return std::nullopt;
  }
  const Entry low_entry{entry->key, v[0], entry->name};
  const Entry high_entry{entry->key, v[1], entry->name};
  const auto low = read_number(diag, &low_entry);
  const auto high = read_number(diag, &high_entry);
  if (!low || !high) return std::nullopt;
  if (*low < 0.0 || *low >= *high) {
    diag.error(v.Mark(), fmt::format("{}: expected 0 <= low < high, got [{}, {}] {}", entry->name, *low, *high, unit));
    return std::nullopt;
  }
  return std::pair{*low, *high};
}

// A channel letter of the delay generator, A..H.
inline std::optional<char> read_channel(Diagnostics& diag, const Entry* entry) {
  auto text = read_string(diag, entry);
  if (!text) return std::nullopt;
  if (text->size() != 1 || (*text)[0] < 'A' || (*text)[0] > 'H') {
    diag.error(entry->value_mark(),
               fmt::format("{}: expected a channel letter A..H, got {}", entry->name, kind_of(entry->value)));
    return std::nullopt;
  }
  return (*text)[0];
}

// A file the recipe refers to, resolved against the recipe's directory; it must exist (it is not read).
inline std::optional<std::string> read_existing_file(Diagnostics& diag, const Entry* entry,
                                                     const std::filesystem::path& base) {
  auto text = read_string(diag, entry);
  if (!text) return std::nullopt;
  if (text->empty()) {
    diag.error(entry->value_mark(), fmt::format("{}: must not be empty", entry->name));
    return std::nullopt;
  }
  const std::filesystem::path written(*text);
  const std::filesystem::path resolved = (written.is_absolute() ? written : base / written).lexically_normal();
  const std::string where = resolved == written ? "" : fmt::format(" (looked for {})", resolved.string());
  std::error_code ec;
  const auto status = std::filesystem::status(resolved, ec);
  if (!std::filesystem::exists(status)) {
    diag.error(entry->value.Mark(), fmt::format("{}: '{}' does not exist{}", entry->name, *text, where));
    return std::nullopt;
  }
  if (!std::filesystem::is_regular_file(status)) {
    diag.error(entry->value.Mark(), fmt::format("{}: '{}' is not a regular file{}", entry->name, *text, where));
    return std::nullopt;
  }
  return resolved.string();
}

inline bool present(const Entry* entry) { return entry != nullptr && !entry->value.IsNull(); }

inline std::string format_K(double v) { return fmt::format("{} K", v); }

// What the program checks against: the stage range and rate, when the stage section is valid.
struct Limits {
  std::optional<double> min_K, max_K, max_rate_K_per_min;
};

inline std::optional<double> read_temperature(Diagnostics& diag, const Entry* entry, const Limits& limits) {
  auto t = read_number(diag, entry);
  if (!t) return std::nullopt;
  if (*t <= 0.0) {
    diag.error(entry->value.Mark(), fmt::format("{}: {} is not an absolute temperature", entry->name, format_K(*t)));
    return std::nullopt;
  }
  if (limits.min_K && (*t < *limits.min_K || *t > *limits.max_K)) {
    diag.error(entry->value.Mark(), fmt::format("{}: {} is outside the stage range {}..{} K", entry->name, format_K(*t),
                                                *limits.min_K, *limits.max_K));
    return std::nullopt;
  }
  return t;
}

// Below this no stage controls a rate (the T95 sets 0.01 K/min steps), and a ramp of 1 K would outlast a year.
constexpr double k_min_rate_K_per_min = 1e-3;

inline std::optional<double> read_rate(Diagnostics& diag, const Entry* entry, const Limits& limits) {
  auto r = read_number(diag, entry);
  if (!r) return std::nullopt;
  const double max = limits.max_rate_K_per_min.value_or(INFINITY);
  if (*r < k_min_rate_K_per_min || *r > max) {
    diag.error(entry->value.Mark(),
               limits.max_rate_K_per_min
                   ? fmt::format("{}: {} K/min is outside [{}, {}] K/min", entry->name, *r, k_min_rate_K_per_min, max)
                   : fmt::format("{}: {} K/min must be >= {}", entry->name, *r, k_min_rate_K_per_min));
    return std::nullopt;
  }
  return r;
}

// A number that must be > 0 (or >= 0 when zero_ok).
inline std::optional<double> read_positive(Diagnostics& diag, const Entry* entry, bool zero_ok = false) {
  auto v = read_number(diag, entry);
  if (!v) return std::nullopt;
  if (zero_ok ? *v < 0.0 : *v <= 0.0) {
    diag.error(entry->value.Mark(), fmt::format("{}: must be {} 0, got {}", entry->name, zero_ok ? ">=" : ">", *v));
    return std::nullopt;
  }
  return v;
}

// No experiment on the stage lasts a year; past it a time is a typo (and sums of such overflow the plan).
constexpr double k_max_duration_s = 365.25 * 86400.0;

// A time span in s: > 0 (>= 0 when zero_ok) and at most a year.
inline std::optional<double> read_duration(Diagnostics& diag, const Entry* entry, bool zero_ok = false) {
  auto v = read_positive(diag, entry, zero_ok);
  if (v && *v > k_max_duration_s) {
    diag.error(entry->value.Mark(),
               fmt::format("{}: {} s is longer than a year ({} s)", entry->name, *v, k_max_duration_s));
    return std::nullopt;
  }
  return v;
}

// The entry's value within its key's static limits in the recipe format table (section's key entry->name).
inline std::optional<double> read_number_in(Diagnostics& diag, const Entry* entry, const format::Section& section) {
  if (entry == nullptr) return std::nullopt;
  const auto& f = format::field(section, entry->name);
  if (f.unit == "s" && f.min == 0.0 && f.max == k_max_duration_s) return read_duration(diag, entry, !f.min_exclusive);
  if (f.min == 0.0 && f.max == format::kUnbounded) return read_positive(diag, entry, !f.min_exclusive);
  return read_number_in(diag, entry, f.min, f.max, f.unit);
}

inline std::optional<long long> read_integer_in(Diagnostics& diag, const Entry* entry, const format::Section& section) {
  if (entry == nullptr) return std::nullopt;
  const auto& f = format::field(section, entry->name);
  return read_integer_in(diag, entry, static_cast<long long>(f.min), static_cast<long long>(f.max));
}

// The index of the entry's value among its key's choices in the recipe format table.
inline std::optional<std::size_t> read_choice_in(Diagnostics& diag, const Entry* entry,
                                                 const format::Section& section) {
  if (entry == nullptr) return std::nullopt;
  return read_choice(diag, entry, format::field(section, entry->name).choices);
}

// The program before repeats are expanded, so each problem is reported once.
struct Item;
struct RepeatItem {
  long long count;
  std::vector<Item> body;
};
struct Item {
  std::variant<Hold, Ramp, RepeatItem> what;
  int line;
};

}  // namespace insitu::recipe::fields
