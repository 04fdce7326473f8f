#include "daemon/api/request_body.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <limits>

#include <fmt/format.h>

namespace insitu::api {
namespace {

[[noreturn]] void bad_request(const std::string& reason) { throw service::RequestRefused(400, reason); }

// The body as an object holding only `allowed` fields; an empty body is an empty object.
nlohmann::json body_object(const std::string& body, std::initializer_list<std::string_view> allowed) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return nlohmann::json::object();
  auto object = nlohmann::json::parse(body, nullptr, false);
  if (object.is_discarded()) bad_request("the body is not well-formed JSON");
  if (!object.is_object()) bad_request("the body must be a JSON object");
  for (const auto& [name, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      bad_request(fmt::format("unknown field \"{}\"", name.substr(0, 64)));
    }
  }
  return object;
}

std::optional<std::int64_t> integer_field(const nlohmann::json& object, const char* name, std::int64_t minimum) {
  const auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  const auto out_of_range = fmt::format("\"{}\" must be an integer of at least {}", name, minimum);
  if (!it->is_number_integer()) bad_request(out_of_range);
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > std::numeric_limits<std::int64_t>::max()) {
    bad_request(out_of_range);
  }
  const auto value = it->get<std::int64_t>();
  if (value < minimum) bad_request(out_of_range);
  return value;
}

std::optional<std::string> string_field(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  if (!it->is_string()) bad_request(fmt::format("\"{}\" must be a string", name));
  return it->get<std::string>();
}

}  // namespace

service::RunId parse_run_id(std::string_view segment) {
  service::RunId id = 0;
  const auto* end = segment.data() + segment.size();
  const auto [stop, error] = std::from_chars(segment.data(), end, id);
  if (error != std::errc{} || stop != end || id <= 0) {
    bad_request(fmt::format("a run id is a positive integer, not \"{}\"", segment.substr(0, 32)));
  }
  return id;
}

nlohmann::json submit_request(const std::string& body) {
  const auto object = body_object(body, {"recipe_path", "recipe_text", "source", "position", "held"});
  const auto path = string_field(object, "recipe_path");
  const auto text = string_field(object, "recipe_text");
  if (path.has_value() == text.has_value()) bad_request("give exactly one of \"recipe_path\" and \"recipe_text\"");
  nlohmann::json request = path ? nlohmann::json{{"recipe_path", *path}} : nlohmann::json{{"recipe_text", *text}};
  if (const auto position = integer_field(object, "position", 0)) request["position"] = *position;
  if (const auto source = string_field(object, "source")) request["source"] = *source;
  if (const auto held = object.find("held"); held != object.end()) {
    if (!held->is_boolean()) bad_request("\"held\" must be true or false");
    request["held"] = held->get<bool>();
  }
  return request;
}

std::int64_t move_position(const std::string& body) {
  const auto position = integer_field(body_object(body, {"position"}), "position", 0);
  if (!position) bad_request("\"position\" is missing");
  return *position;
}

ActionRequest action_request(const std::string& body) {
  const auto object = body_object(body, {"id", "reason"});
  return {integer_field(object, "id", 1), string_field(object, "reason").value_or("")};
}

void expect_no_fields(const std::string& body) { body_object(body, {}); }

}  // namespace insitu::api
