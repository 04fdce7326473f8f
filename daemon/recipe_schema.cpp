#include "daemon/recipe_schema.hpp"

#include <cmath>
#include <string>

#include "protocols/recipe/recipe_format.hpp"

namespace insitu::daemon {
namespace {

using nlohmann::ordered_json;
using recipe::format::Field;
using recipe::format::Kind;
using recipe::format::Section;

std::string definition_name(const Section& section) { return std::string(section.name); }
ordered_json definition_ref(const std::string& name) { return {{"$ref", "#/definitions/" + name}}; }

std::string description(const Field& f) {
  std::string text(f.description);
  if (!f.unit.empty()) text += " [" + std::string(f.unit) + "]";
  return text;
}

void add_limits(ordered_json& out, const Field& f) {
  if (!f.values.empty()) {
    out["enum"] = ordered_json::array();
    for (double v : f.values) out["enum"].push_back(f.kind == Kind::integer ? ordered_json(std::lround(v)) : ordered_json(v));
    return;
  }
  const auto bound = [&](double v) { return f.kind == Kind::integer ? ordered_json(std::llround(v)) : ordered_json(v); };
  if (std::isfinite(f.min)) out[f.min_exclusive ? "exclusiveMinimum" : "minimum"] = bound(f.min);
  if (std::isfinite(f.max)) out["maximum"] = bound(f.max);
}

ordered_json value_schema(const Field& f) {
  switch (f.kind) {
    case Kind::map:
      return definition_ref(definition_name(*f.section));
    case Kind::program:
      return definition_ref("program");
    case Kind::list:
      return {{"type", "array"}, {"minItems", std::llround(f.min)}, {"items", definition_ref(definition_name(*f.section))}};
    case Kind::number:
    case Kind::integer: {
      ordered_json out{{"type", f.kind == Kind::number ? "number" : "integer"}};
      add_limits(out, f);
      return out;
    }
    case Kind::boolean:
      return {{"type", "boolean"}};
    case Kind::string:
      return {{"type", "string"}};
    case Kind::name:
      return {{"type", "string"}, {"pattern", "^[A-Za-z0-9_.-]+$"}, {"not", {{"enum", ordered_json::array({".", ".."})}}}};
    case Kind::choice:
      return {{"type", "string"}, {"enum", f.choices}};
    case Kind::channel:
      return {{"type", "string"}, {"enum", {"A", "B", "C", "D", "E", "F", "G", "H"}}};
    case Kind::interval:
      return {{"type", "array"}, {"minItems", 2}, {"maxItems", 2}, {"items", {{"type", "number"}, {"minimum", 0}}}};
    case Kind::file:
      return {{"type", "string"}, {"minLength", 1}};
    case Kind::item_list:
      return {{"oneOf",
               {{{"const", "all"}},
                {{"type", "array"},
                 {"minItems", 1},
                 {"uniqueItems", true},
                 {"items", {{"type", "integer"}, {"minimum", 1}}}}}}};
  }
  return ordered_json::object();
}

ordered_json field_schema(const Field& f) {
  ordered_json value = value_schema(f);
  // draft-07 ignores the siblings of a $ref: a described or nullable reference is wrapped.
  if (value.contains("$ref")) value = {{"allOf", ordered_json::array({value})}};
  value["description"] = description(f);
  if (!f.nullable) return value;
  return {{"description", description(f)}, {"anyOf", ordered_json::array({value, {{"type", "null"}}})}};
}

ordered_json section_schema(const Section& section) {
  ordered_json properties = ordered_json::object();
  ordered_json required = ordered_json::array();
  for (const auto& f : section.fields) {
    properties[std::string(f.name)] = field_schema(f);
    if (f.required) required.push_back(f.name);
  }
  return {{"type", "object"},
          {"description", section.description},
          {"properties", properties},
          {"required", required},
          {"additionalProperties", false}};
}

void collect(const Section& section, ordered_json& definitions) {
  for (const auto& f : section.fields)
    if (f.section && !definitions.contains(definition_name(*f.section))) collect(*f.section, definitions);
  definitions[definition_name(section)] = section_schema(section);
}

// A program: a list of one-key maps, each a hold, a ramp or a repeat (whose body is a program again).
ordered_json program_schema(ordered_json& definitions) {
  ordered_json segments = ordered_json::array();
  for (std::string_view kind : {"hold", "ramp", "repeat"}) {
    const Section& section = recipe::format::section(kind);
    collect(section, definitions);
    segments.push_back({{"type", "object"},
                        {"properties", {{std::string(kind), definition_ref(definition_name(section))}}},
                        {"required", ordered_json::array({kind})},
                        {"additionalProperties", false}});
  }
  return {{"type", "array"},
          {"minItems", 1},
          {"description", "segments in order: hold, ramp or repeat, one key each"},
          {"items", {{"oneOf", segments}}}};
}

}  // namespace

nlohmann::ordered_json recipe_json_schema() {
  ordered_json definitions = ordered_json::object();
  definitions["program"] = program_schema(definitions);
  const Section& top = recipe::format::recipe_format();
  for (const auto& f : top.fields)
    if (f.section) collect(*f.section, definitions);
  ordered_json schema = section_schema(top);
  schema.erase("description");
  ordered_json out{{"$schema", "http://json-schema.org/draft-07/schema#"},
                   {"title", "insitu recipe"},
                   {"description", std::string(top.description) +
                                       ". Generated by `insitu schema recipe` from the table the recipe parser "
                                       "reads; limits that depend on other values (the stage's range and rate, "
                                       "qmin < qmax, ...) are checked by `insitu check`."}};
  for (auto& [key, value] : schema.items()) out[key] = value;
  out["definitions"] = definitions;
  return out;
}

}  // namespace insitu::daemon
