// The recipe's `suspenders:` list: what trips each one, what it does then, and when the run goes on.
#include <fmt/format.h>

#include "protocols/recipe/recipe_sections.hpp"

namespace insitu::recipe {

std::string_view to_string(SuspenderKind kind) {
  switch (kind) {
    case SuspenderKind::stage_off_programme:
      return "stage_off_programme";
    case SuspenderKind::dewar_empty:
      return "dewar_empty";
    case SuspenderKind::controller_error:
      return "controller_error";
    case SuspenderKind::frames_missing:
      return "frames_missing";
    case SuspenderKind::tango:
      return "tango";
  }
  return "unknown";
}

std::string describe(const Suspender& s) {
  switch (s.kind) {
    case SuspenderKind::stage_off_programme:
      return fmt::format("stage_off_programme: band {:g} K for {:g} s", s.band_K, s.for_s);
    case SuspenderKind::dewar_empty:
      return fmt::format("dewar_empty: for {:g} s", s.for_s);
    case SuspenderKind::controller_error:
      return "controller_error";
    case SuspenderKind::frames_missing:
      return fmt::format("frames_missing: {} in a row", s.count);
    case SuspenderKind::tango:
      return fmt::format("tango: {} {} {:g} for {:g} s", s.attribute, s.below ? "below" : "above",
                         s.below.value_or(s.above.value_or(0.0)), s.for_s);
  }
  return "unknown";
}

namespace sections {
using namespace fields;
namespace {

constexpr std::string_view k_kinds[] = {"stage_off_programme", "dewar_empty", "controller_error", "frames_missing",
                                        "tango"};
// The dewar signature (pump at full speed, cooling too fast, stage above its setpoint) is also what a stage just
// short of its LN2 capacity shows for a moment: by default it must last as long as the engine's own warning wants.
constexpr double k_default_dewar_for_s = 30.0;
constexpr long long k_max_frames_count = 1000;

// [tango://host:port/]domain/family/member/attribute[#dbase=no|#dbase=yes]: the form Tango's clients accept.
bool valid_tango_attribute(std::string_view name) {
  if (const auto hash = name.find('#'); hash != std::string_view::npos) {
    const auto option = name.substr(hash);
    if (option != "#dbase=no" && option != "#dbase=yes") return false;
    name = name.substr(0, hash);
  }
  constexpr std::string_view scheme = "tango://";
  if (name.starts_with(scheme)) {
    name.remove_prefix(scheme.size());
    const auto slash = name.find('/');
    const auto host = name.substr(0, slash);
    const auto colon = host.find(':');
    if (slash == std::string_view::npos || colon == std::string_view::npos || colon == 0 ||
        colon + 1 == host.size() ||
        !std::all_of(host.begin() + colon + 1, host.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    name.remove_prefix(slash + 1);
  }
  int parts = 0;
  for (std::size_t start = 0;; ++parts) {
    const auto slash = name.find('/', start);
    const auto part = name.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (part.empty() || std::any_of(part.begin(), part.end(), [](char c) { return c <= ' ' || c == '#'; }))
      return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts + 1 == 4;
}

// The keys each kind takes besides kind, on_trip, on_clear and settle_s.
std::initializer_list<std::string_view> keys_of(SuspenderKind kind) {
  static const std::initializer_list<std::string_view> stage = {"kind", "on_trip", "on_clear", "settle_s",
                                                                    "band_K", "for_s"};
  static const std::initializer_list<std::string_view> dewar = {"kind", "on_trip", "on_clear", "settle_s",
                                                                    "for_s"};
  static const std::initializer_list<std::string_view> plain = {"kind", "on_trip", "on_clear", "settle_s"};
  static const std::initializer_list<std::string_view> frames = {"kind", "on_trip", "on_clear", "settle_s",
                                                                     "count"};
  static const std::initializer_list<std::string_view> tango = {
      "kind", "on_trip", "on_clear", "settle_s", "attribute", "below", "above", "for_s", "poll_s", "timeout_s",
      "on_read_failure"};
  switch (kind) {
    case SuspenderKind::stage_off_programme:
      return stage;
    case SuspenderKind::dewar_empty:
      return dewar;
    case SuspenderKind::controller_error:
      return plain;
    case SuspenderKind::frames_missing:
      return frames;
    case SuspenderKind::tango:
      return tango;
  }
  return plain;
}

void parse_tango(Diagnostics& diag, const MapView& map, const YAML::Mark& where, Suspender& s) {
  const Entry* attribute = map.require("attribute");
  if (auto a = read_string(diag, attribute)) {
    if (!valid_tango_attribute(*a))
      diag.error(attribute->value_mark(),
                 fmt::format("attribute: '{}' is not a Tango attribute name "
                             "([tango://host:port/]domain/family/member/attribute[#dbase=no])",
                             *a));
    s.attribute = *a;
  }
  const Entry* below = map.find("below");
  const Entry* above = map.find("above");
  if ((below == nullptr) == (above == nullptr)) {
    diag.error(below ? below->key.Mark() : above ? above->key.Mark() : where,
               "tango: give exactly one of below and above");
  }
  s.below = read_number(diag, below);
  s.above = read_number(diag, above);
  if (const Entry* e = map.find("for_s")) s.for_s = read_duration(diag, e, true).value_or(0.0);
  if (const Entry* e = map.find("poll_s")) s.poll_s = read_duration(diag, e).value_or(1.0);
  if (const Entry* e = map.find("timeout_s")) s.timeout_s = read_duration(diag, e).value_or(3.0);
  if (const Entry* e = map.find("on_read_failure"))
    s.on_read_failure = read_choice(diag, e, {"trip", "ignore"}).value_or(0) == 0 ? ReadFailure::trip
                                                                                   : ReadFailure::ignore;
}

void parse_actions(Diagnostics& diag, const MapView& map, const YAML::Mark& where, Suspender& s) {
  const auto trip = read_choice(diag, map.require("on_trip"), {"pause", "abort"});
  s.on_trip = trip.value_or(0) == 0 ? SuspenderTrip::pause : SuspenderTrip::abort;
  const Entry* clear = map.find("on_clear");
  const Entry* settle = map.find("settle_s");
  if (trip && s.on_trip == SuspenderTrip::abort) {
    for (const Entry* e : {clear, settle})
      if (e != nullptr)
        diag.error(e->key.Mark(), fmt::format("{}: a suspender that aborts the run never clears", e->name));
    return;
  }
  if (clear == nullptr) {
    if (trip) diag.error(where, "a suspender that pauses needs on_clear: resume or operator");
    return;
  }
  const auto choice = read_choice(diag, clear, {"resume", "operator"});
  s.on_clear = choice.value_or(0) == 0 ? SuspenderClear::resume : SuspenderClear::wait_for_operator;
  if (settle != nullptr && choice && s.on_clear == SuspenderClear::wait_for_operator)
    diag.error(settle->key.Mark(), "settle_s: the operator decides when a run waiting for one resumes");
  else if (settle != nullptr)
    s.settle_s = read_duration(diag, settle, true).value_or(0.0);
}

std::optional<Suspender> parse_one(Diagnostics& diag, const YAML::Node& node, bool exposures) {
  if (!node.IsMap()) {
    diag.error(node.Mark(), fmt::format("suspenders: each entry is a map, got {}", kind_of(node)));
    return std::nullopt;
  }
  const std::size_t errors = diag.count();
  Suspender s;
  s.line = node.Mark().line + 1;
  // The kind decides which keys belong: read it before the map is checked.
  std::optional<std::size_t> kind;
  for (auto it = node.begin(); it != node.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == "kind") {
      const Entry entry{it->first, it->second, "kind"};
      kind = read_choice(diag, &entry, {k_kinds[0], k_kinds[1], k_kinds[2], k_kinds[3], k_kinds[4]});
      if (!kind) return std::nullopt;
    }
  if (!kind) {
    diag.error(node.Mark(), fmt::format("missing required key 'kind' in suspender (one of {})",
                                        either({k_kinds[0], k_kinds[1], k_kinds[2], k_kinds[3], k_kinds[4]})));
    return std::nullopt;
  }
  s.kind = static_cast<SuspenderKind>(*kind);
  const MapView map(diag, node, node.Mark(), fmt::format("suspender {}", k_kinds[*kind]), keys_of(s.kind));
  switch (s.kind) {
    case SuspenderKind::stage_off_programme:
      s.band_K = read_positive(diag, map.require("band_K")).value_or(0.0);
      if (const Entry* e = map.find("for_s")) s.for_s = read_duration(diag, e, true).value_or(0.0);
      break;
    case SuspenderKind::dewar_empty:
      s.for_s = k_default_dewar_for_s;
      if (const Entry* e = map.find("for_s")) s.for_s = read_duration(diag, e, true).value_or(0.0);
      break;
    case SuspenderKind::controller_error:
      break;
    case SuspenderKind::frames_missing:
      s.count = static_cast<int>(read_integer_in(diag, map.require("count"), 1, k_max_frames_count).value_or(0));
      if (!exposures) diag.error(node.Mark(), "frames_missing: needs an exposures section (frames to watch)");
      break;
    case SuspenderKind::tango:
      parse_tango(diag, map, node.Mark(), s);
      break;
  }
  parse_actions(diag, map, node.Mark(), s);
  return diag.count() == errors ? std::optional(s) : std::nullopt;
}

}  // namespace

std::vector<Suspender> parse_suspenders(Diagnostics& diag, const Entry& entry, bool exposures) {
  std::vector<Suspender> out;
  if (entry.value.IsNull()) return out;
  if (!entry.value.IsSequence()) {
    diag.error(entry.value_mark(), fmt::format("suspenders: expected a list, got {}", kind_of(entry.value)));
    return out;
  }
  for (const auto& node : entry.value)
    if (auto s = parse_one(diag, node, exposures)) out.push_back(std::move(*s));
  return out;
}

}  // namespace sections
}  // namespace insitu::recipe
