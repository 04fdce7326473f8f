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
#include "protocols/recipe/recipe_sections.hpp"
#include "protocols/recipe/yaml_fields.hpp"

namespace insitu::recipe {
namespace {
using namespace fields;
using namespace sections;

std::vector<Item> parse_program(Diagnostics& diag, const Entry& entry, const Limits& limits);

std::optional<Hold> parse_hold(Diagnostics& diag, const Entry& entry, const Limits& limits) {
  auto map = as_section(diag, entry, "hold", format::section("hold"));
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
    hold.duration_s = read_number_in(diag, e, format::section("hold"));
    ok &= hold.duration_s.has_value();
  }
  if (const Entry* e = map->find("until_stable")) {
    const auto& stable_format = format::section("until_stable");
    if (auto stable = as_section(diag, *e, "until_stable", stable_format)) {
      const auto tolerance = read_number_in(diag, stable->require("tolerance_K"), stable_format);
      const auto dwell = read_number_in(diag, stable->require("dwell_s"), stable_format);
      const Entry* timeout_entry = stable->require("timeout_s");
      const auto timeout = read_number_in(diag, timeout_entry, stable_format);
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
  auto map = as_section(diag, entry, "ramp", format::section("ramp"));
  if (!map) return std::nullopt;
  const auto to = read_temperature(diag, map->require("to_K"), limits);
  const auto rate = read_rate(diag, map->require("rate_K_per_min"), limits);
  if (!to || !rate) return std::nullopt;
  return Ramp{*to, *rate};
}

std::optional<RepeatItem> parse_repeat(Diagnostics& diag, const Entry& entry, const Limits& limits) {
  auto map = as_section(diag, entry, "repeat", format::section("repeat"));
  if (!map) return std::nullopt;
  const auto parsed_count = read_integer_in(diag, map->require("count"), format::section("repeat"));
  // A plain value rather than the optional: GCC 12 wrongly warns it may be uninitialised.
  const long long count = parsed_count.value_or(0);
  const bool count_ok = parsed_count.has_value();
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
    diag.error(entry.value_mark(),
               fmt::format("{}: expected a list of segments, got {}", entry.name, kind_of(entry.value)));
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
        expand(repeat->body, position, passes.empty() ? p : passes + ", " + p, exposed_items, item_exposed, out);
      }
      continue;
    }
    const std::string suffix = passes.empty() ? "" : fmt::format(" (pass {})", passes);
    if (const auto* hold = std::get_if<Hold>(&item.what)) {
      out.push_back({fmt::format("{} hold {}{}", position, format_K(hold->temperature_K), suffix), *hold, item.line,
                     item_exposed});
    } else {
      const auto& ramp = std::get<Ramp>(item.what);
      out.push_back(
          {fmt::format("{} ramp to {}{}", position, format_K(ramp.to_K), suffix), ramp, item.line, item_exposed});
    }
  }
}

// A melting standard read more than this far off its melting point is a typo or a broken holder, not an offset.
constexpr double k_max_calibration_offset_K = 50.0;

// {source, points: [{sensor_K, sample_K}, ...]}: points within the model's range (not the recipe's narrowed one:
// a calibration is measured once for the stage), sensor_K and sample_K strictly increasing.
std::optional<SampleCalibration> parse_sample_calibration(Diagnostics& diag, const Entry& entry, const Model* model) {
  auto map = as_section(diag, entry, "sample_calibration", format::section("stage.sample_calibration"));
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
        auto point_map = as_section(diag, point, point.name, format::section("stage.sample_calibration.points"));
        if (!point_map) continue;
        const Entry* sensor_entry = point_map->require("sensor_K");
        const Entry* sample_entry = point_map->require("sample_K");
        const auto in_range = [&](const Entry* e) -> std::optional<double> {
          return model == nullptr ? read_number(diag, e) : read_number_in(diag, e, model->min_K, model->max_K, "K");
        };
        const auto sensor = in_range(sensor_entry);
        const auto sample = in_range(sample_entry);
        if (!sensor || !sample) continue;
        const YAML::Mark mark = list[i].Mark();
        if (std::abs(*sample - *sensor) > k_max_calibration_offset_K) {
          diag.error(mark, fmt::format("{}: sample_K {} is {} K from sensor_K {} (at most {} K)", point.name, *sample,
                                       std::abs(*sample - *sensor), *sensor, k_max_calibration_offset_K));
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

// The pump mode and the following band; false when any of them is wrong.
bool parse_stage_control(Diagnostics& diag, const MapView& map, StageSpec& stage) {
  bool ok = true;
  const Entry* pump = map.find("pump");
  if (pump) {
    const auto choice = read_choice_in(diag, pump, format::section("stage"));
    ok &= choice.has_value();
    if (choice) stage.pump = *choice == 0 ? LnpPump::automatic : LnpPump::manual;
  }
  if (const Entry* e = map.find("pump_speed")) {
    const auto speed = read_integer_in(diag, e, format::section("stage"));
    ok &= speed.has_value();
    if (speed) stage.pump_speed = static_cast<int>(*speed);
    if (speed && stage.pump != LnpPump::manual) {
      diag.error(e->value.Mark(), "pump_speed: only with pump: manual (the automatic pump sets its own speed)");
      ok = false;
    }
  } else if (ok && stage.pump == LnpPump::manual) {
    diag.error(pump->value.Mark(), "pump: manual needs pump_speed (0..30)");
    ok = false;
  }
  if (const Entry* e = map.find("follow_tolerance_K")) {
    const auto v = read_number_in(diag, e, format::section("stage"));
    ok &= v.has_value();
    if (v) stage.follow_tolerance_K = *v;
  }
  if (const Entry* e = map.find("follow_allowance_s")) {
    const auto v = read_number_in(diag, e, format::section("stage"));
    ok &= v.has_value();
    if (v) stage.follow_allowance_s = *v;
  }
  return ok;
}

std::optional<StageSpec> parse_stage(Diagnostics& diag, const Entry& entry) {
  auto map = as_section(diag, entry, "stage", format::section("stage"));
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
    const auto v = read_number_in(diag, e, format::section("stage"));
    ok &= v.has_value();
    if (v) stage.poll_interval_s = *v;
  }
  if (const Entry* e = map->find("connection")) {
    stage.connection = read_string(diag, e);
    if (stage.connection && stage.connection->empty()) {
      diag.error(e->value.Mark(), "connection: must not be empty");
      ok = false;
    }
    ok &= stage.connection.has_value();
  }
  ok &= parse_stage_control(diag, *map, stage);
  if (const Entry* e = map->find("sample_calibration"); present(e)) {
    stage.sample_calibration = parse_sample_calibration(diag, *e, model);
    ok &= stage.sample_calibration.has_value();
  }
  return ok ? std::optional<StageSpec>(stage) : std::nullopt;
}

std::string state_label(const SampleState& s) {
  if (s.deformation == Deformation::none) return fmt::format("as cast + stored ({:g} K)", s.storage_temperature_K);
  return fmt::format("HPT {} rot. ({:g} K) + stored ({:g} K)", s.rotations, s.deformation_temperature_K.value_or(0),
                     s.storage_temperature_K);
}

// {label?, deformation: none | HPT, rotations, deformation_temperature_K, storage_temperature_K}: an HPT state
// needs rotations >= 1 and its deformation temperature; an undeformed one may have neither.
std::optional<SampleState> parse_sample_state(Diagnostics& diag, const Entry& entry) {
  const auto& state_format = format::section("sample.state");
  auto map = as_section(diag, entry, "sample.state", state_format);
  if (!map) return std::nullopt;
  SampleState state;
  bool ok = true;
  const Entry* deformation_entry = map->require("deformation");
  const auto deformation = read_choice_in(diag, deformation_entry, state_format);
  ok &= deformation.has_value();
  state.deformation = deformation == 1 ? Deformation::hpt : Deformation::none;
  const auto storage = read_number_in(diag, map->require("storage_temperature_K"), state_format);
  ok &= storage.has_value();
  state.storage_temperature_K = storage.value_or(0.0);
  const Entry* rotations_entry = map->find("rotations");
  const Entry* temperature_entry = map->find("deformation_temperature_K");
  if (state.deformation == Deformation::hpt) {
    const auto rotations = read_integer_in(diag, map->require("rotations"), state_format);
    state.deformation_temperature_K = read_number_in(diag, map->require("deformation_temperature_K"), state_format);
    ok &= rotations.has_value() && state.deformation_temperature_K.has_value();
    state.rotations = static_cast<int>(rotations.value_or(0));
  } else if (deformation) {
    for (const Entry* e : {rotations_entry, temperature_entry}) {
      if (!present(e) || (e == rotations_entry && e->value.IsScalar() && e->value.Scalar() == "0")) continue;
      diag.error(e->value_mark(), fmt::format("{}: given for deformation: none (as cast)", e->name));
      ok = false;
    }
  }
  if (const Entry* e = map->find("label")) {
    const auto label = read_string(diag, e);
    ok &= label.has_value() && !label->empty();
    if (label && label->empty()) diag.error(e->value_mark(), "label: empty (leave it out for a generated one)");
    state.label = label.value_or("");
  }
  if (!ok) return std::nullopt;
  if (state.label.empty()) state.label = state_label(state);
  return state;
}

void parse_sample(Diagnostics& diag, const Entry& entry, Sample& sample) {
  auto map = as_section(diag, entry, "sample", format::section("sample"));
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
  if (const Entry* e = map->find("state"); present(e)) sample.state = parse_sample_state(diag, *e);
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

// yaml-cpp keeps an alias as a shared node, so a few lines of anchors can stand for billions of nodes ("billion
// laughs") that every walk of the recipe would visit. The largest real recipe has a few hundred nodes.
constexpr std::size_t k_max_yaml_nodes = 100'000;

// Nodes as the recipe's walks see them (aliases expanded), counted up to the budget.
bool within_node_budget(const YAML::Node& node, std::size_t& budget) {
  if (budget == 0) return false;
  --budget;
  if (node.IsSequence()) {
    for (const auto& child : node)
      if (!within_node_budget(child, budget)) return false;
  } else if (node.IsMap()) {
    for (const auto& pair : node)
      if (!within_node_budget(pair.first, budget) || !within_node_budget(pair.second, budget)) return false;
  }
  return true;
}

OnInterruption read_on_interruption(Diagnostics& diag, const Entry* e) {
  if (!e) return OnInterruption::abort;
  const auto policy = read_string(diag, e);
  if (!policy) return OnInterruption::abort;
  for (const auto p : {OnInterruption::abort, OnInterruption::resume, OnInterruption::hold})
    if (*policy == to_string(p)) return p;
  diag.error(e->value.Mark(), fmt::format("on_interruption: expected resume, hold or abort, got {}", *policy));
  return OnInterruption::abort;
}

}  // namespace

std::string_view to_string(OnInterruption policy) {
  switch (policy) {
    case OnInterruption::resume:
      return "resume";
    case OnInterruption::hold:
      return "hold";
    case OnInterruption::abort:
      break;
  }
  return "abort";
}

std::string_view to_string(Deformation deformation) {
  return deformation == Deformation::hpt ? "HPT" : "none";
}

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
  if (std::size_t budget = k_max_yaml_nodes; !within_node_budget(root, budget)) {
    diag.error(root.Mark(), fmt::format("the recipe expands to more than {} YAML nodes (anchors and aliases?)",
                                        k_max_yaml_nodes));
    diag.raise();
  }

  Recipe recipe{};
  recipe.source_path = source_name;
  recipe.text = std::string(yaml_text);
  const MapView top(diag, root, root.Mark(), "recipe", format::keys(format::recipe_format()));

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
  if (const Entry* e = top.find("dsc")) recipe.dsc = parse_dsc(diag, *e, base);
  if (const Entry* e = top.find("suspenders"))
    recipe.suspenders = parse_suspenders(diag, *e, top.find("exposures") != nullptr);

  if (diag.empty() && program_entry != nullptr) {
    expand(items, "", "", recipe.exposures ? recipe.exposures->during_items : std::vector<int>{}, false,
           recipe.program);
  }

  recipe.safe_state = SafeState::stop;
  if (const Entry* e = top.find("safe_state")) {
    if (const auto state = read_choice_in(diag, e, format::recipe_format()))
      recipe.safe_state = *state == 0 ? SafeState::stop : SafeState::hold;
  }

  recipe.on_interruption = read_on_interruption(diag, top.find("on_interruption"));

  if (const Entry* e = top.require("output")) {
    if (auto output = as_section(diag, *e, "output", format::section("output"))) {
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
