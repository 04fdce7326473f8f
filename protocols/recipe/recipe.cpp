#include "protocols/recipe/recipe.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "drivers/io/connection_url.hpp"

namespace insitu::recipe {
namespace {

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

std::string kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Scalar:
      return node.Tag() == "!" ? fmt::format("the quoted string \"{}\"", node.Scalar())
                               : fmt::format("'{}'", node.Scalar());
    default: return "an undefined value";
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
  MapView(Diagnostics& diag, const YAML::Node& node, YAML::Mark anchor, std::string where,
          std::initializer_list<std::string_view> allowed)
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
std::optional<MapView> as_map(Diagnostics& diag, const Entry& entry, std::string where,
                              std::initializer_list<std::string_view> allowed) {
  if (!entry.value.IsMap()) {
    diag.error(entry.value_mark(), fmt::format("{}: expected a map, got {}", entry.name, kind_of(entry.value)));
    return std::nullopt;
  }
  return MapView(diag, entry.value, entry.key.Mark(), std::move(where), allowed);
}

bool is_yaml_non_finite(std::string_view s) {
  for (std::string_view special : {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
                                   ".nan", ".NaN", ".NAN"}) {
    if (s == special) return true;
  }
  return false;
}

std::optional<double> read_number(Diagnostics& diag, const Entry* entry) {
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

std::optional<long long> read_integer(Diagnostics& diag, const Entry* entry) {
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

std::optional<std::string> read_string(Diagnostics& diag, const Entry* entry) {
  if (entry == nullptr) return std::nullopt;
  if (!entry->value.IsScalar()) {
    diag.error(entry->value_mark(), fmt::format("{}: expected a string, got {}", entry->name, kind_of(entry->value)));
    return std::nullopt;
  }
  return entry->value.Scalar();
}

// Names end up in paths: a conservative character set, and never "." or "..".
std::optional<std::string> read_name(Diagnostics& diag, const Entry* entry) {
  auto name = read_string(diag, entry);
  if (!name) return std::nullopt;
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
std::string either(std::initializer_list<std::string_view> choices) {
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
std::optional<std::size_t> read_choice(Diagnostics& diag, const Entry* entry,
                                       std::initializer_list<std::string_view> choices) {
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
std::optional<bool> read_bool(Diagnostics& diag, const Entry* entry) {
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
std::optional<double> read_number_in(Diagnostics& diag, const Entry* entry, double lo, double hi,
                                     std::string_view unit) {
  auto v = read_number(diag, entry);
  if (!v) return std::nullopt;
  if (*v < lo || *v > hi) {
    const std::string u = unit.empty() ? "" : " " + std::string(unit);
    diag.error(entry->value.Mark(),
               fmt::format("{}: {}{} is outside {}..{}{}", entry->name, *v, u, lo, hi, u));
    return std::nullopt;
  }
  return v;
}

std::optional<long long> read_integer_in(Diagnostics& diag, const Entry* entry, long long lo, long long hi) {
  auto v = read_integer(diag, entry);
  if (!v) return std::nullopt;
  if (*v < lo || *v > hi) {
    diag.error(entry->value.Mark(), fmt::format("{}: must be in {}..{}, got {}", entry->name, lo, hi, *v));
    return std::nullopt;
  }
  return v;
}

// [low, high] with 0 <= low < high.
std::optional<std::pair<double, double>> read_interval(Diagnostics& diag, const Entry* entry,
                                                       std::string_view unit) {
  if (entry == nullptr) return std::nullopt;
  const YAML::Node& v = entry->value;
  if (!v.IsSequence() || v.size() != 2) {
    diag.error(entry->value_mark(),
               fmt::format("{}: expected [low, high], got {}", entry->name,
                           v.IsSequence() ? fmt::format("{} values", v.size()) : kind_of(v)));
    return std::nullopt;
  }
  const Entry low_entry{entry->key, v[0], entry->name};
  const Entry high_entry{entry->key, v[1], entry->name};
  const auto low = read_number(diag, &low_entry);
  const auto high = read_number(diag, &high_entry);
  if (!low || !high) return std::nullopt;
  if (*low < 0.0 || *low >= *high) {
    diag.error(v.Mark(),
               fmt::format("{}: expected 0 <= low < high, got [{}, {}] {}", entry->name, *low, *high, unit));
    return std::nullopt;
  }
  return std::pair{*low, *high};
}

// A channel letter of the delay generator, A..H.
std::optional<char> read_channel(Diagnostics& diag, const Entry* entry) {
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
std::optional<std::string> read_existing_file(Diagnostics& diag, const Entry* entry,
                                              const std::filesystem::path& base) {
  auto text = read_string(diag, entry);
  if (!text) return std::nullopt;
  if (text->empty()) {
    diag.error(entry->value_mark(), fmt::format("{}: must not be empty", entry->name));
    return std::nullopt;
  }
  const std::filesystem::path written(*text);
  const std::filesystem::path resolved =
      (written.is_absolute() ? written : base / written).lexically_normal();
  const std::string where = resolved == written ? "" : fmt::format(" (looked for {})", resolved.string());
  std::error_code ec;
  const auto status = std::filesystem::status(resolved, ec);
  if (!std::filesystem::exists(status)) {
    diag.error(entry->value.Mark(), fmt::format("{}: '{}' does not exist{}", entry->name, *text, where));
    return std::nullopt;
  }
  if (!std::filesystem::is_regular_file(status)) {
    diag.error(entry->value.Mark(),
               fmt::format("{}: '{}' is not a regular file{}", entry->name, *text, where));
    return std::nullopt;
  }
  return resolved.string();
}

bool present(const Entry* entry) { return entry != nullptr && !entry->value.IsNull(); }

std::string format_K(double v) { return fmt::format("{} K", v); }

// What the program checks against: the stage range and rate, when the stage section is valid.
struct Limits {
  std::optional<double> min_K, max_K, max_rate_K_per_min;
};

std::optional<double> read_temperature(Diagnostics& diag, const Entry* entry, const Limits& limits) {
  auto t = read_number(diag, entry);
  if (!t) return std::nullopt;
  if (*t <= 0.0) {
    diag.error(entry->value.Mark(), fmt::format("{}: {} is not an absolute temperature", entry->name, format_K(*t)));
    return std::nullopt;
  }
  if (limits.min_K && (*t < *limits.min_K || *t > *limits.max_K)) {
    diag.error(entry->value.Mark(), fmt::format("{}: {} is outside the stage range {}..{} K", entry->name,
                                                format_K(*t), *limits.min_K, *limits.max_K));
    return std::nullopt;
  }
  return t;
}

std::optional<double> read_rate(Diagnostics& diag, const Entry* entry, const Limits& limits) {
  auto r = read_number(diag, entry);
  if (!r) return std::nullopt;
  const double max = limits.max_rate_K_per_min.value_or(INFINITY);
  if (*r <= 0.0 || *r > max) {
    diag.error(entry->value.Mark(),
               limits.max_rate_K_per_min
                   ? fmt::format("{}: {} K/min is outside (0, {}] K/min", entry->name, *r, max)
                   : fmt::format("{}: {} K/min must be > 0", entry->name, *r));
    return std::nullopt;
  }
  return r;
}

// A number that must be > 0 (or >= 0 when zero_ok).
std::optional<double> read_positive(Diagnostics& diag, const Entry* entry, bool zero_ok = false) {
  auto v = read_number(diag, entry);
  if (!v) return std::nullopt;
  if (zero_ok ? *v < 0.0 : *v <= 0.0) {
    diag.error(entry->value.Mark(), fmt::format("{}: must be {} 0, got {}", entry->name, zero_ok ? ">=" : ">", *v));
    return std::nullopt;
  }
  return v;
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

std::vector<Item> parse_program(Diagnostics& diag, const Entry& entry, const Limits& limits);

std::optional<Hold> parse_hold(Diagnostics& diag, const Entry& entry, const Limits& limits) {
  auto map = as_map(diag, entry, "hold", {"temperature_K", "approach_rate_K_per_min", "duration_s", "until_stable"});
  if (!map) return std::nullopt;
  bool ok = true;
  Hold hold{};
  const auto t = read_temperature(diag, map->require("temperature_K"), limits);
  ok &= t.has_value();
  hold.temperature_K = t.value_or(0.0);
  hold.approach_rate_K_per_min = k_default_approach_rate_K_per_min;
  if (const Entry* e = map->find("approach_rate_K_per_min")) {
    const auto r = read_rate(diag, e, limits);
    ok &= r.has_value();
    hold.approach_rate_K_per_min = r.value_or(0.0);
  }
  if (const Entry* e = map->find("duration_s")) {
    hold.duration_s = read_positive(diag, e);
    ok &= hold.duration_s.has_value();
  }
  if (const Entry* e = map->find("until_stable")) {
    if (auto stable = as_map(diag, *e, "until_stable", {"tolerance_K", "dwell_s", "timeout_s"})) {
      const auto tolerance = read_positive(diag, stable->require("tolerance_K"));
      const auto dwell = read_positive(diag, stable->require("dwell_s"), /*zero_ok=*/true);
      const Entry* timeout_entry = stable->require("timeout_s");
      const auto timeout = read_positive(diag, timeout_entry);
      if (dwell && timeout && *timeout <= *dwell) {
        diag.error(timeout_entry->value.Mark(),
                   fmt::format("timeout_s: {} s leaves no time for the {} s dwell", *timeout, *dwell));
        ok = false;
      } else if (tolerance && dwell && timeout) {
        hold.until_stable = Stabilise{*tolerance, *dwell, *timeout};
      }
      ok &= hold.until_stable.has_value();
    } else {
      ok = false;
    }
  } else if (!map->find("duration_s")) {
    diag.error(entry.key.Mark(), "hold: needs duration_s, until_stable or both");
    ok = false;
  }
  return ok ? std::optional<Hold>(hold) : std::nullopt;
}

std::optional<Ramp> parse_ramp(Diagnostics& diag, const Entry& entry, const Limits& limits) {
  auto map = as_map(diag, entry, "ramp", {"to_K", "rate_K_per_min"});
  if (!map) return std::nullopt;
  const auto to = read_temperature(diag, map->require("to_K"), limits);
  const auto rate = read_rate(diag, map->require("rate_K_per_min"), limits);
  if (!to || !rate) return std::nullopt;
  return Ramp{*to, *rate};
}

std::optional<RepeatItem> parse_repeat(Diagnostics& diag, const Entry& entry, const Limits& limits) {
  auto map = as_map(diag, entry, "repeat", {"count", "program"});
  if (!map) return std::nullopt;
  const Entry* count_entry = map->require("count");
  const auto parsed_count = read_integer(diag, count_entry);
  // A plain value rather than the optional: GCC 12 wrongly warns it may be uninitialised.
  const long long count = parsed_count.value_or(0);
  const bool count_ok = parsed_count.has_value() && count >= 1 && count <= k_max_repeat_count;
  if (parsed_count && !count_ok) {
    diag.error(count_entry->value.Mark(), fmt::format("count: must be in 1..{}, got {}", k_max_repeat_count, count));
  }
  const Entry* program_entry = map->require("program");
  if (program_entry == nullptr) return std::nullopt;
  // Errors inside the body are already recorded; the recipe is then never expanded.
  auto body = parse_program(diag, *program_entry, limits);
  if (!count_ok || body.empty()) return std::nullopt;
  return RepeatItem{count, std::move(body)};
}

std::vector<Item> parse_program(Diagnostics& diag, const Entry& entry, const Limits& limits) {
  std::vector<Item> items;
  if (entry.value.IsNull() || (entry.value.IsSequence() && entry.value.size() == 0)) {
    diag.error(entry.value_mark(), fmt::format("{}: must contain at least one segment", entry.name));
    return items;
  }
  if (!entry.value.IsSequence()) {
    diag.error(entry.value_mark(), fmt::format("{}: expected a list of segments, got {}", entry.name, kind_of(entry.value)));
    return items;
  }
  for (const YAML::Node& node : entry.value) {
    if (!node.IsMap() || node.size() != 1) {
      diag.error(node.Mark(), fmt::format("a segment must be a map with one key (hold, ramp or repeat), got {}",
                                          node.IsMap() ? fmt::format("{} keys", node.size()) : kind_of(node)));
      continue;
    }
    const auto pair = node.begin();
    const Entry segment{pair->first, pair->second, pair->first.IsScalar() ? pair->first.Scalar() : ""};
    const int line = node.Mark().line + 1;
    if (segment.name == "hold") {
      if (auto hold = parse_hold(diag, segment, limits)) items.push_back({*hold, line});
    } else if (segment.name == "ramp") {
      if (auto ramp = parse_ramp(diag, segment, limits)) items.push_back({*ramp, line});
    } else if (segment.name == "repeat") {
      if (auto repeat = parse_repeat(diag, segment, limits)) items.push_back({std::move(*repeat), line});
    } else {
      diag.error(segment.key.Mark(),
                 fmt::format("unknown segment type {} (expected hold, ramp or repeat)", kind_of(segment.key)));
    }
  }
  return items;
}

std::size_t expanded_size(const std::vector<Item>& items) {
  std::size_t n = 0;
  for (const auto& item : items) {
    if (const auto* repeat = std::get_if<RepeatItem>(&item.what)) {
      n += static_cast<std::size_t>(repeat->count) * expanded_size(repeat->body);
    } else {
      ++n;
    }
    n = std::min(n, k_max_expanded_segments + 1);  // saturate: nested counts can overflow
  }
  return n;
}

// `exposed_items` are the 1-based top-level items frames are taken during; nested items inherit `exposed`.
void expand(const std::vector<Item>& items, const std::string& path, const std::string& passes,
            const std::vector<int>& exposed_items, bool exposed, std::vector<Segment>& out) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string position = path.empty() ? std::to_string(i + 1) : fmt::format("{}.{}", path, i + 1);
    const bool item_exposed = path.empty() ? std::find(exposed_items.begin(), exposed_items.end(),
                                                       static_cast<int>(i + 1)) != exposed_items.end()
                                           : exposed;
    const Item& item = items[i];
    if (const auto* repeat = std::get_if<RepeatItem>(&item.what)) {
      for (long long pass = 1; pass <= repeat->count; ++pass) {
        const std::string p = fmt::format("{}/{}", pass, repeat->count);
        expand(repeat->body, position, passes.empty() ? p : passes + ", " + p, exposed_items, item_exposed,
               out);
      }
      continue;
    }
    const std::string suffix = passes.empty() ? "" : fmt::format(" (pass {})", passes);
    if (const auto* hold = std::get_if<Hold>(&item.what)) {
      out.push_back({fmt::format("{} hold {}{}", position, format_K(hold->temperature_K), suffix), *hold,
                     item.line, item_exposed});
    } else {
      const auto& ramp = std::get<Ramp>(item.what);
      out.push_back({fmt::format("{} ramp to {}{}", position, format_K(ramp.to_K), suffix), ramp, item.line,
                     item_exposed});
    }
  }
}

// A melting standard read more than this far off its melting point is a typo or a broken holder, not an offset.
constexpr double k_max_calibration_offset_K = 50.0;

// {source, points: [{sensor_K, sample_K}, ...]}: points within the model's range (not the recipe's narrowed one:
// a calibration is measured once for the stage), sensor_K and sample_K strictly increasing.
std::optional<SampleCalibration> parse_sample_calibration(Diagnostics& diag, const Entry& entry,
                                                          const Model* model) {
  auto map = as_map(diag, entry, "sample_calibration", {"points", "source"});
  if (!map) return std::nullopt;
  const std::size_t errors_before = diag.count();
  std::string source;
  if (auto text = read_string(diag, map->find("source"))) source = *text;
  std::vector<CalibrationPoint> points;
  if (const Entry* points_entry = map->require("points")) {
    const YAML::Node& list = points_entry->value;
    if (!list.IsSequence() || list.size() < 2) {
      diag.error(points_entry->value_mark(),
                 fmt::format("points: expected a list of at least two {{sensor_K, sample_K}}, got {}",
                             list.IsSequence() ? fmt::format("{} point(s)", list.size()) : kind_of(list)));
    } else {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const Entry point{points_entry->key, list[i], fmt::format("points[{}]", i + 1)};
        auto point_map = as_map(diag, point, point.name, {"sensor_K", "sample_K"});
        if (!point_map) continue;
        const Entry* sensor_entry = point_map->require("sensor_K");
        const Entry* sample_entry = point_map->require("sample_K");
        const auto in_range = [&](const Entry* e) -> std::optional<double> {
          return model == nullptr ? read_number(diag, e)
                                  : read_number_in(diag, e, model->min_K, model->max_K, "K");
        };
        const auto sensor = in_range(sensor_entry);
        const auto sample = in_range(sample_entry);
        if (!sensor || !sample) continue;
        const YAML::Mark mark = list[i].Mark();
        if (std::abs(*sample - *sensor) > k_max_calibration_offset_K) {
          diag.error(mark, fmt::format("{}: sample_K {} is {} K from sensor_K {} (at most {} K)", point.name,
                                       *sample, std::abs(*sample - *sensor), *sensor, k_max_calibration_offset_K));
        } else if (!points.empty() && *sensor <= points.back().sensor_K) {
          diag.error(mark, fmt::format("{}: sensor_K {} must be above the previous point's {}", point.name, *sensor,
                                       points.back().sensor_K));
        } else if (!points.empty() && *sample <= points.back().sample_K) {
          diag.error(mark, fmt::format("{}: sample_K {} must be above the previous point's {} (a calibration must "
                                       "increase)",
                                       point.name, *sample, points.back().sample_K));
        }
        points.push_back({*sensor, *sample});
      }
    }
  }
  if (diag.count() != errors_before) return std::nullopt;
  return SampleCalibration(std::move(points), std::move(source));
}

std::optional<StageSpec> parse_stage(Diagnostics& diag, const Entry& entry) {
  auto map = as_map(diag, entry, "stage",
                    {"model", "min_K", "max_K", "poll_interval_s", "connection", "sample_calibration"});
  if (!map) return std::nullopt;
  StageSpec stage{};
  bool ok = true;
  const Entry* model_entry = map->require("model");
  const Model* model = nullptr;
  if (auto name = read_string(diag, model_entry)) {
    for (const auto& m : k_models) {
      if (m.name == *name) model = &m;
    }
    if (model == nullptr) {
      std::string known;
      for (const auto& m : k_models) known += (known.empty() ? "" : ", ") + std::string(m.name);
      diag.error(model_entry->value.Mark(), fmt::format("model: unknown stage model '{}' (known: {})", *name, known));
    }
  }
  ok &= model != nullptr;
  if (model != nullptr) {
    stage.model = std::string(model->name);
    stage.min_K = model->min_K;
    stage.max_K = model->max_K;
    stage.max_rate_K_per_min = model->max_rate_K_per_min;
  }
  // min_K/max_K may only narrow the model's range.
  const Entry* min_entry = map->find("min_K");
  const Entry* max_entry = map->find("max_K");
  for (const Entry* e : {min_entry, max_entry}) {
    if (e == nullptr) continue;
    const auto v = read_number(diag, e);
    ok &= v.has_value();
    if (!v || model == nullptr) continue;
    if (*v < model->min_K || *v > model->max_K) {
      diag.error(e->value.Mark(), fmt::format("{}: {} would widen the {} range {}..{} K", e->name, format_K(*v),
                                              model->name, model->min_K, model->max_K));
      ok = false;
    } else {
      (e == min_entry ? stage.min_K : stage.max_K) = *v;
    }
  }
  if (ok && stage.min_K >= stage.max_K) {
    diag.error(min_entry != nullptr ? min_entry->value.Mark() : max_entry->value.Mark(),
               fmt::format("min_K: {} must be below max_K {}", format_K(stage.min_K), format_K(stage.max_K)));
    ok = false;
  }
  stage.poll_interval_s = k_default_poll_interval_s;
  if (const Entry* e = map->find("poll_interval_s")) {
    const auto v = read_number(diag, e);
    if (v && (*v < 0.1 || *v > 60.0)) {
      diag.error(e->value.Mark(), fmt::format("poll_interval_s: {} s is outside 0.1..60 s", *v));
      ok = false;
    } else if (v) {
      stage.poll_interval_s = *v;
    } else {
      ok = false;
    }
  }
  if (const Entry* e = map->find("connection")) {
    stage.connection = read_string(diag, e);
    if (stage.connection && stage.connection->empty()) {
      diag.error(e->value.Mark(), "connection: must not be empty");
      ok = false;
    }
    ok &= stage.connection.has_value();
  }
  if (const Entry* e = map->find("sample_calibration"); present(e)) {
    stage.sample_calibration = parse_sample_calibration(diag, *e, model);
    ok &= stage.sample_calibration.has_value();
  }
  return ok ? std::optional<StageSpec>(stage) : std::nullopt;
}

void parse_sample(Diagnostics& diag, const Entry& entry, Sample& sample) {
  auto map = as_map(diag, entry, "sample", {"name", "composition", "treatment", "description"});
  if (!map) return;
  sample.name = read_name(diag, map->require("name")).value_or("");
  const Entry* composition_entry = map->require("composition");
  if (auto composition = read_string(diag, composition_entry)) {
    try {
      parse_composition(*composition);
      sample.composition = *composition;
    } catch (const std::invalid_argument& e) {
      diag.error(composition_entry->value.Mark(),
                 fmt::format("composition: bad formula '{}': {}", *composition, e.what()));
    }
  }
  if (const Entry* e = map->find("treatment")) sample.treatment = read_string(diag, e).value_or("");
  if (const Entry* e = map->find("description")) sample.description = read_string(diag, e).value_or("");
}

// The XRD1621 takes a low-active trigger of at least 20 us (research/trigger.md §2); 10 ms is already far
// longer than any converter needs, so anything beyond is a typo (a pulse in ms or us written as s).
constexpr double k_min_pulse_width_s = 20e-6;
constexpr double k_max_pulse_width_s = 0.01;

std::optional<TriggerSpec> parse_trigger(Diagnostics& diag, const Entry& entry) {
  auto map = as_map(diag, entry, "trigger",
                    {"connection", "channel", "pulse_width_s", "polarity", "latency_s", "shutter_channel"});
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  TriggerSpec trigger;
  const Entry* connection = map->require("connection");
  if (auto url = read_string(diag, connection)) {
    try {
      io::parse_connection_url(*url);
      trigger.connection = *url;
    } catch (const std::invalid_argument& e) {
      diag.error(connection->value_mark(), fmt::format("connection: {}", e.what()));
    }
  }
  if (const Entry* e = map->find("channel")) trigger.channel = read_channel(diag, e).value_or('A');
  if (const Entry* e = map->find("pulse_width_s")) {
    trigger.pulse_width_s =
        read_number_in(diag, e, k_min_pulse_width_s, k_max_pulse_width_s, "s").value_or(0.0);
  }
  if (const Entry* e = map->find("polarity")) {
    trigger.polarity =
        read_choice(diag, e, {"normal", "inverted"}).value_or(0) == 0 ? Polarity::normal : Polarity::inverted;
  }
  if (const Entry* e = map->find("latency_s"))
    trigger.latency_s = read_number_in(diag, e, 0.0, 1.0, "s").value_or(0.0);
  if (const Entry* e = map->find("shutter_channel"); present(e)) {
    trigger.shutter_channel = read_channel(diag, e);
    if (trigger.shutter_channel && *trigger.shutter_channel == trigger.channel) {
      diag.error(e->value.Mark(),
                 fmt::format("shutter_channel: {} is already the detector trigger channel", trigger.channel));
    }
  }
  return diag.count() == errors ? std::optional(trigger) : std::nullopt;
}

std::optional<FrameSpec> parse_frames(Diagnostics& diag, const Entry& entry) {
  auto map =
      as_map(diag, entry, "frames",
             {"folder", "pattern", "first_index", "format", "sidecar", "deadline_margin_s", "readout_s"});
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  FrameSpec frames;
  const Entry* folder = map->require("folder");
  if (auto f = read_string(diag, folder)) {
    if (f->empty()) diag.error(folder->value_mark(), "folder: must not be empty");
    frames.folder = *f;
  }
  if (const Entry* e = map->find("pattern")) frames.pattern = read_name(diag, e).value_or("");
  if (const Entry* e = map->find("first_index"))
    frames.first_index = read_integer_in(diag, e, 0, 999999999).value_or(0);
  if (const Entry* e = map->find("format")) {
    frames.format =
        read_choice(diag, e, {"tiff", "edf"}).value_or(0) == 0 ? FrameFormat::tiff : FrameFormat::edf;
  }
  if (const Entry* e = map->find("sidecar")) frames.sidecar = read_bool(diag, e).value_or(false);
  if (const Entry* e = map->find("deadline_margin_s")) {
    frames.deadline_margin_s = read_number_in(diag, e, 0.0, 3600.0, "s").value_or(0.0);
  }
  // 66.6 ms is the fastest XRD1621 (ES) frame; longer than 5 s is no readout time.
  if (const Entry* e = map->find("readout_s"))
    frames.readout_s = read_number_in(diag, e, 0.0666, 5.0, "s").value_or(0.0);
  return diag.count() == errors ? std::optional(frames) : std::nullopt;
}

std::optional<DetectorSettings> parse_detector_settings(Diagnostics& diag, const Entry& entry) {
  auto map = as_map(diag, entry, "settings", {"subframes", "gain_pF", "timing_mode", "binning"});
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  DetectorSettings settings;
  if (const Entry* e = map->find("subframes"))
    settings.subframes = static_cast<int>(read_integer_in(diag, e, 1, 1000).value_or(1));
  if (const Entry* e = map->find("gain_pF")) {
    // The XRD1621's six feedback capacitances.
    constexpr double k_gains_pF[] = {0.25, 0.5, 1.0, 2.0, 4.0, 8.0};
    if (const auto gain = read_number(diag, e)) {
      if (std::find(std::begin(k_gains_pF), std::end(k_gains_pF), *gain) == std::end(k_gains_pF)) {
        diag.error(e->value.Mark(),
                   fmt::format("gain_pF: {} pF is not an XRD1621 gain (0.25, 0.5, 1, 2, 4 or 8 pF)", *gain));
      }
      settings.gain_pF = *gain;
    }
  }
  if (const Entry* e = map->find("timing_mode"))
    settings.timing_mode = static_cast<int>(read_integer_in(diag, e, 0, 7).value_or(0));
  if (const Entry* e = map->find("binning")) {
    if (const auto binning = read_integer(diag, e)) {
      if (*binning != 1 && *binning != 2 && *binning != 4) {
        diag.error(e->value.Mark(), fmt::format("binning: expected 1, 2 or 4, got {}", *binning));
      }
      settings.binning = static_cast<int>(*binning);
    }
  }
  return diag.count() == errors ? std::optional(settings) : std::nullopt;
}

bool has_extension(const std::string& path, std::initializer_list<std::string_view> extensions) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

std::optional<DetectorSpec> parse_detector(Diagnostics& diag, const Entry& entry,
                                           const std::filesystem::path& base) {
  auto map =
      as_map(diag, entry, "detector", {"trigger", "frames", "geometry", "settings", "store_frames", "mask"});
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  DetectorSpec detector;
  if (const Entry* e = map->require("trigger")) {
    if (auto trigger = parse_trigger(diag, *e)) detector.trigger = *trigger;
  }
  if (const Entry* e = map->require("frames")) {
    if (auto frames = parse_frames(diag, *e)) detector.frames = *frames;
  }
  if (const Entry* e = map->find("geometry"); present(e))
    detector.geometry = read_existing_file(diag, e, base);
  if (const Entry* e = map->find("settings")) {
    if (auto settings = parse_detector_settings(diag, *e)) detector.settings = *settings;
  }
  if (const Entry* e = map->find("store_frames")) detector.store_frames = read_bool(diag, e).value_or(true);
  if (const Entry* e = map->find("mask"); present(e)) {
    detector.mask = read_existing_file(diag, e, base);
    if (detector.mask && !has_extension(*detector.mask, {".tif", ".tiff", ".edf"})) {
      diag.error(
          e->value.Mark(),
          fmt::format("mask: expected a TIFF or EDF file (.tif, .tiff, .edf), got '{}'", e->value.Scalar()));
    }
  }
  return diag.count() == errors ? std::optional(detector) : std::nullopt;
}

// `program_items` is the number of top-level program items as written; `detector` is null unless valid.
std::optional<ExposureSpec> parse_exposures(Diagnostics& diag, const Entry& entry, std::size_t program_items,
                                            const DetectorSpec* detector) {
  auto map = as_map(diag, entry, "exposures", {"period_s", "during", "darks"});
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  ExposureSpec exposures{};
  const Entry* period_entry = map->require("period_s");
  const auto period = read_number_in(diag, period_entry, 0.5, 3600.0, "s");
  exposures.period_s = period.value_or(0.0);
  if (period && detector != nullptr) {
    const auto& settings = detector->settings;
    if (*period / settings.subframes < detector->frames.readout_s) {
      diag.error(
          period_entry->value.Mark(),
          fmt::format("period_s: {} s in {} subframe(s) is shorter than the {} s detector readout per frame",
                      *period, settings.subframes, detector->frames.readout_s));
    }
  }

  const Entry* during = map->find("during");
  if (during == nullptr || (during->value.IsScalar() && during->value.Scalar() == "all")) {
    for (std::size_t i = 1; i <= program_items; ++i) exposures.during_items.push_back(static_cast<int>(i));
  } else if (!during->value.IsSequence()) {
    diag.error(during->value_mark(), fmt::format("during: expected all or a list of program items, got {}",
                                                 kind_of(during->value)));
  } else if (during->value.size() == 0) {
    diag.error(during->value_mark(), "during: must list at least one program item");
  } else {
    for (const YAML::Node& node : during->value) {
      const Entry item_entry{during->key, node, "during"};
      const auto item = read_integer(diag, &item_entry);
      if (!item) continue;
      if (*item < 1 || *item > static_cast<long long>(program_items)) {
        diag.error(node.Mark(),
                   fmt::format("during: program item {} does not exist (the program has {} top-level "
                               "item{})",
                               *item, program_items, program_items == 1 ? "" : "s"));
      } else if (std::find(exposures.during_items.begin(), exposures.during_items.end(), *item) !=
                 exposures.during_items.end()) {
        diag.error(node.Mark(), fmt::format("during: program item {} is listed twice", *item));
      } else {
        exposures.during_items.push_back(static_cast<int>(*item));
      }
    }
    std::sort(exposures.during_items.begin(), exposures.during_items.end());
  }

  if (const Entry* e = map->find("darks")) {
    if (auto darks = as_map(diag, *e, "darks", {"before", "after"})) {
      if (const Entry* b = darks->find("before"))
        exposures.darks_before = static_cast<int>(read_integer_in(diag, b, 0, 1000).value_or(0));
      if (const Entry* a = darks->find("after"))
        exposures.darks_after = static_cast<int>(read_integer_in(diag, a, 0, 1000).value_or(0));
      if (detector != nullptr && !detector->trigger.shutter_channel &&
          exposures.darks_before + exposures.darks_after > 0) {
        diag.error(e->key.Mark(), "darks: closing the shutter needs detector.trigger.shutter_channel");
      }
    }
  }
  return diag.count() == errors ? std::optional(exposures) : std::nullopt;
}

// Upper bound on the r grid, so a typo in r_step cannot ask for millions of sine transforms per frame.
constexpr double k_max_r_points = 100000.0;

std::optional<AnalysisSpec::Reduction> parse_reduction(Diagnostics& diag, const Entry& entry,
                                                       const std::filesystem::path& base,
                                                       const AnalysisSpec::Integration& integration) {
  auto map =
      as_map(diag, entry, "reduction",
             {"qmin", "qmax", "qmaxinst", "rpoly", "r_min", "r_step", "r_max", "background", "bgscale"});
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  AnalysisSpec::Reduction reduction{};
  const Entry* qmin_entry = map->require("qmin");
  const Entry* qmax_entry = map->require("qmax");
  const Entry* qmaxinst_entry = map->require("qmaxinst");
  const auto qmin = read_positive(diag, qmin_entry, /*zero_ok=*/true);
  const auto qmax = read_positive(diag, qmax_entry);
  const auto qmaxinst = read_positive(diag, qmaxinst_entry);
  if (qmin && qmax && *qmin >= *qmax) {
    diag.error(qmin_entry->value.Mark(), fmt::format("qmin: {} Å⁻¹ must be below qmax {} Å⁻¹", *qmin, *qmax));
  }
  if (qmax && qmaxinst && *qmax > *qmaxinst) {
    diag.error(qmax_entry->value.Mark(),
               fmt::format("qmax: {} Å⁻¹ must not exceed qmaxinst {} Å⁻¹", *qmax, *qmaxinst));
  }
  if (qmaxinst && integration.q_range_inv_angstrom && *qmaxinst > integration.q_range_inv_angstrom->second) {
    diag.error(qmaxinst_entry->value.Mark(),
               fmt::format("qmaxinst: {} Å⁻¹ is beyond the integration range, which ends at {} Å⁻¹",
                           *qmaxinst, integration.q_range_inv_angstrom->second));
  }
  reduction.qmin_inv_angstrom = qmin.value_or(0.0);
  reduction.qmax_inv_angstrom = qmax.value_or(0.0);
  reduction.qmaxinst_inv_angstrom = qmaxinst.value_or(0.0);
  if (const Entry* e = map->find("rpoly")) reduction.rpoly_angstrom = read_positive(diag, e).value_or(0.0);

  const Entry* r_min_entry = map->find("r_min");
  const Entry* r_step_entry = map->find("r_step");
  const Entry* r_max_entry = map->find("r_max");
  const auto r_min =
      r_min_entry ? read_positive(diag, r_min_entry, /*zero_ok=*/true) : reduction.r_min_angstrom;
  const auto r_step = r_step_entry ? read_positive(diag, r_step_entry) : reduction.r_step_angstrom;
  const auto r_max = r_max_entry ? read_positive(diag, r_max_entry) : reduction.r_max_angstrom;
  if (r_min && r_max && *r_min >= *r_max) {
    diag.error(r_min_entry != nullptr ? r_min_entry->value.Mark() : r_max_entry->value.Mark(),
               fmt::format("r_min: {} Å must be below r_max {} Å", *r_min, *r_max));
  } else if (r_min && r_max && r_step && (*r_max - *r_min) / *r_step > k_max_r_points) {
    diag.error(r_step_entry != nullptr ? r_step_entry->value.Mark() : r_max_entry->value.Mark(),
               fmt::format("r_step: {} Å makes (r_max - r_min) / r_step = {:.0f} points (at most {:.0f})",
                           *r_step, (*r_max - *r_min) / *r_step, k_max_r_points));
  }
  reduction.r_min_angstrom = r_min.value_or(0.0);
  reduction.r_step_angstrom = r_step.value_or(0.0);
  reduction.r_max_angstrom = r_max.value_or(0.0);

  if (const Entry* e = map->find("background"); present(e)) {
    reduction.background = read_existing_file(diag, e, base);
    if (reduction.background && !has_extension(*reduction.background, {".xy", ".chi"})) {
      diag.error(e->value.Mark(),
                 fmt::format("background: expected an I(Q) .xy or .chi file, got '{}'", e->value.Scalar()));
    }
  }
  if (const Entry* e = map->find("bgscale"))
    reduction.bgscale = read_positive(diag, e, /*zero_ok=*/true).value_or(0.0);
  return diag.count() == errors ? std::optional(reduction) : std::nullopt;
}

// Plausible atomic number densities: a value outside is almost surely in the wrong unit (e.g. per cubic
// angstrom).
constexpr double k_min_density_per_cubic_m = 1e27;
constexpr double k_max_density_per_cubic_m = 1e30;

std::optional<AnalysisSpec> parse_analysis(Diagnostics& diag, const Entry& entry,
                                           const std::filesystem::path& base) {
  auto map =
      as_map(diag, entry, "analysis", {"enabled", "integration", "reduction", "density", "entropy", "run"});
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  AnalysisSpec analysis{};
  if (const Entry* e = map->find("enabled")) analysis.enabled = read_bool(diag, e).value_or(false);

  if (const Entry* e = map->find("integration")) {
    if (auto integration =
            as_map(diag, *e, "integration", {"npt", "split", "polarization", "q_range_inv_angstrom"})) {
      auto& out = analysis.integration;
      if (const Entry* n = integration->find("npt"))
        out.npt = static_cast<int>(read_integer_in(diag, n, 100, 20000).value_or(0));
      if (const Entry* s = integration->find("split")) {
        out.split = read_choice(diag, s, {"none", "bbox"}).value_or(1) == 0 ? PixelSplitting::none
                                                                            : PixelSplitting::bbox;
      }
      if (const Entry* p = integration->find("polarization")) {
        out.polarization = present(p) ? read_number_in(diag, p, -1.0, 1.0, "") : std::nullopt;
      }
      if (const Entry* q = integration->find("q_range_inv_angstrom"); present(q)) {
        out.q_range_inv_angstrom = read_interval(diag, q, "Å⁻¹");
      }
    }
  }

  std::optional<AnalysisSpec::Reduction> reduction;
  if (const Entry* e = map->require("reduction")) {
    reduction = parse_reduction(diag, *e, base, analysis.integration);
    if (reduction) analysis.reduction = *reduction;
  }

  if (const Entry* e = map->find("density")) {
    if (auto density = as_map(diag, *e, "density", {"fit_range_angstrom", "nominal_per_cubic_m", "use"})) {
      auto& out = analysis.density;
      if (const Entry* f = density->find("fit_range_angstrom")) {
        if (auto range = read_interval(diag, f, "Å")) {
          if (reduction && range->second > reduction->r_max_angstrom) {
            diag.error(f->value.Mark(),
                       fmt::format("fit_range_angstrom: ends at {} Å, beyond the reduction's r_max {} Å",
                                   range->second, reduction->r_max_angstrom));
          }
          out.fit_range_angstrom = *range;
        }
      }
      if (const Entry* n = density->find("nominal_per_cubic_m"); present(n)) {
        if (auto rho = read_positive(diag, n)) {
          if (*rho < k_min_density_per_cubic_m || *rho > k_max_density_per_cubic_m) {
            diag.error(n->value.Mark(),
                       fmt::format("nominal_per_cubic_m: {} m⁻³ is not an atomic number density "
                                   "({}..{} m⁻³, e.g. 5.38345e28)",
                                   *rho, k_min_density_per_cubic_m, k_max_density_per_cubic_m));
          }
          out.nominal_per_cubic_m = *rho;
        }
      }
      out.use = out.nominal_per_cubic_m ? DensityChoice::nominal : DensityChoice::fit;
      if (const Entry* u = density->find("use")) {
        if (const auto use = read_choice(diag, u, {"nominal", "fit"})) {
          out.use = *use == 0 ? DensityChoice::nominal : DensityChoice::fit;
          if (out.use == DensityChoice::nominal && !present(density->find("nominal_per_cubic_m"))) {
            diag.error(u->value.Mark(), "use: nominal needs nominal_per_cubic_m");
          }
        }
      }
    }
  }

  if (const Entry* e = map->find("entropy")) {
    if (auto entropy = as_map(diag, *e, "entropy", {"r_max_angstrom"})) {
      if (const Entry* r = entropy->find("r_max_angstrom")) {
        if (auto r_max = read_positive(diag, r)) {
          if (reduction && *r_max > reduction->r_max_angstrom) {
            diag.error(r->value.Mark(),
                       fmt::format("r_max_angstrom: {} Å is beyond the reduction's r_max {} Å", *r_max,
                                   reduction->r_max_angstrom));
          }
          analysis.entropy.r_max_angstrom = *r_max;
        }
      }
    }
  }

  if (const Entry* e = map->find("run")) {
    if (auto run = as_map(diag, *e, "run", {"smoothing_window_K", "expected_tg_K"})) {
      if (const Entry* w = run->find("smoothing_window_K"))
        analysis.run.smoothing_window_K = read_positive(diag, w).value_or(0.0);
      if (const Entry* t = run->find("expected_tg_K"); present(t))
        analysis.run.expected_tg_K = read_positive(diag, t);
    }
  }
  return diag.count() == errors ? std::optional(analysis) : std::nullopt;
}

std::optional<DmaSpec> parse_dma(Diagnostics& diag, const Entry& entry) {
  auto map = as_map(diag, entry, "dma", {"folder", "geometry"});
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  DmaSpec dma{};
  const Entry* folder = map->require("folder");
  if (auto f = read_string(diag, folder)) {
    if (f->empty()) diag.error(folder->value_mark(), "folder: must not be empty");
    dma.folder = *f;
  }
  if (const auto g = read_choice(diag, map->require("geometry"), {"three_point_bending", "torsion"})) {
    dma.geometry = *g == 0 ? DmaGeometry::three_point_bending : DmaGeometry::torsion;
  }
  return diag.count() == errors ? std::optional(dma) : std::nullopt;
}

// Where a second YAML document starts, if there is one. YAML::LoadAll is not used: it loops
// forever on some malformed input (e.g. a document starting with ','), so at most two are read.
std::optional<YAML::Mark> second_document_start(std::string_view text) {
  class DocumentStarts : public YAML::EventHandler {
   public:
    std::vector<YAML::Mark> starts;
    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  };
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentStarts handler;
  if (!parser.HandleNextDocument(handler) || !parser.HandleNextDocument(handler) || handler.starts.size() < 2) {
    return std::nullopt;
  }
  return handler.starts[1];
}

}  // namespace

Recipe parse_recipe(std::string_view yaml_text, const std::string& source_name,
                    std::optional<std::filesystem::path> base_directory) {
  Diagnostics diag(source_name);
  const std::filesystem::path base =
      base_directory ? *base_directory : std::filesystem::path(source_name).parent_path();
  YAML::Node root;
  std::optional<YAML::Mark> second_document;
  try {
    root = YAML::Load(std::string(yaml_text));
    second_document = second_document_start(yaml_text);
  } catch (const YAML::ParserException& e) {
    diag.error(e.mark, "YAML syntax error: " + e.msg);
    diag.raise();
  }
  if (!root.IsMap()) {
    // Null covers an empty file, only comments, and text yaml-cpp skips (a stray leading ',').
    diag.error(root.IsNull() ? YAML::Mark::null_mark() : root.Mark(),
               fmt::format("a recipe must be a map, got {}", kind_of(root)));
    diag.raise();
  }
  if (second_document) diag.error(*second_document, "a recipe file holds one YAML document");

  Recipe recipe{};
  recipe.source_path = source_name;
  recipe.text = std::string(yaml_text);
  const MapView top(diag, root, root.Mark(), "recipe",
                    {"insitu_recipe", "name", "sample", "stage", "program", "safe_state", "output",
                     "detector", "exposures", "analysis", "dma"});

  const Entry* version_entry = top.require("insitu_recipe");
  if (const auto version = read_integer(diag, version_entry); version && *version != 1) {
    diag.error(version_entry->value.Mark(),
               fmt::format("insitu_recipe: unsupported format version {} (this build reads 1)", *version));
  }
  recipe.name = read_name(diag, top.require("name")).value_or("");
  if (const Entry* e = top.require("sample")) parse_sample(diag, *e, recipe.sample);

  Limits limits;
  if (const Entry* e = top.require("stage")) {
    if (auto stage = parse_stage(diag, *e)) {
      recipe.stage = *stage;
      limits = {stage->min_K, stage->max_K, stage->max_rate_K_per_min};
    }
  }

  std::vector<Item> items;
  std::size_t program_items = 0;  // top-level items as written, what exposures.during refers to
  const Entry* program_entry = top.require("program");
  if (program_entry != nullptr) {
    items = parse_program(diag, *program_entry, limits);
    if (program_entry->value.IsSequence()) program_items = program_entry->value.size();
    if (expanded_size(items) > k_max_expanded_segments) {
      diag.error(program_entry->key.Mark(),
                 fmt::format("program: expands to more than {} segments", k_max_expanded_segments));
    }
  }

  const Entry* detector_entry = top.find("detector");
  if (detector_entry != nullptr) recipe.detector = parse_detector(diag, *detector_entry, base);
  const DetectorSpec* detector = recipe.detector ? &*recipe.detector : nullptr;
  if (const Entry* e = top.find("exposures")) {
    if (detector_entry == nullptr) diag.error(e->key.Mark(), "exposures: needs a detector section");
    recipe.exposures = parse_exposures(diag, *e, program_items, detector);
  }
  if (const Entry* e = top.find("analysis")) {
    if (detector_entry == nullptr) {
      diag.error(e->key.Mark(), "analysis: needs a detector section");
    } else if (detector != nullptr && !detector->geometry) {
      diag.error(e->key.Mark(), "analysis: needs detector.geometry (the PONI file)");
    }
    recipe.analysis = parse_analysis(diag, *e, base);
  }
  if (const Entry* e = top.find("dma")) recipe.dma = parse_dma(diag, *e);

  if (diag.empty() && program_entry != nullptr) {
    expand(items, "", "", recipe.exposures ? recipe.exposures->during_items : std::vector<int>{}, false,
           recipe.program);
  }

  recipe.safe_state = SafeState::stop;
  if (const Entry* e = top.find("safe_state")) {
    if (const auto state = read_string(diag, e)) {
      if (*state == "stop") {
        recipe.safe_state = SafeState::stop;
      } else if (*state == "hold") {
        recipe.safe_state = SafeState::hold;
      } else {
        diag.error(e->value.Mark(), fmt::format("safe_state: expected stop or hold, got {}", kind_of(e->value)));
      }
    }
  }

  if (const Entry* e = top.require("output")) {
    if (auto output = as_map(diag, *e, "output", {"directory"})) {
      const Entry* dir = output->require("directory");
      if (auto d = read_string(diag, dir)) {
        if (d->empty()) {
          diag.error(dir->value_mark(), "directory: must not be empty");
        }
        recipe.output_directory = *d;
      }
    }
  }

  if (!diag.empty()) diag.raise();
  return recipe;
}

Recipe load_recipe(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecipeError(path.string() + ": cannot open the recipe file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw RecipeError(path.string() + ": cannot read the recipe file");
  return parse_recipe(text.str(), path.string());
}

}  // namespace insitu::recipe
