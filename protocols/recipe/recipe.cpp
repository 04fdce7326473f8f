#include "protocols/recipe/recipe.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <sstream>

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

void expand(const std::vector<Item>& items, const std::string& path, const std::string& passes,
            std::vector<Segment>& out) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string position = path.empty() ? std::to_string(i + 1) : fmt::format("{}.{}", path, i + 1);
    const Item& item = items[i];
    if (const auto* repeat = std::get_if<RepeatItem>(&item.what)) {
      for (long long pass = 1; pass <= repeat->count; ++pass) {
        const std::string p = fmt::format("{}/{}", pass, repeat->count);
        expand(repeat->body, position, passes.empty() ? p : passes + ", " + p, out);
      }
      continue;
    }
    const std::string suffix = passes.empty() ? "" : fmt::format(" (pass {})", passes);
    if (const auto* hold = std::get_if<Hold>(&item.what)) {
      out.push_back({fmt::format("{} hold {}{}", position, format_K(hold->temperature_K), suffix), *hold, item.line});
    } else {
      const auto& ramp = std::get<Ramp>(item.what);
      out.push_back({fmt::format("{} ramp to {}{}", position, format_K(ramp.to_K), suffix), ramp, item.line});
    }
  }
}

std::optional<StageSpec> parse_stage(Diagnostics& diag, const Entry& entry) {
  auto map = as_map(diag, entry, "stage", {"model", "min_K", "max_K", "poll_interval_s", "connection"});
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

Recipe parse_recipe(std::string_view yaml_text, const std::string& source_name) {
  Diagnostics diag(source_name);
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
                    {"insitu_recipe", "name", "sample", "stage", "program", "safe_state", "output"});

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

  if (const Entry* e = top.require("program")) {
    const auto items = parse_program(diag, *e, limits);
    if (expanded_size(items) > k_max_expanded_segments) {
      diag.error(e->key.Mark(), fmt::format("program: expands to more than {} segments", k_max_expanded_segments));
    } else if (diag.empty()) {
      expand(items, "", "", recipe.program);
    }
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
