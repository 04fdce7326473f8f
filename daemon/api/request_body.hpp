#pragma once
// The JSON bodies the API takes, checked field by field: a wrong type, an unknown field or malformed JSON is
// service::RequestRefused with 400, so nothing unchecked reaches the service.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/service/control.hpp"

namespace insitu::api {

// A run id from a path segment: a positive decimal integer.
service::RunId parse_run_id(std::string_view segment);

// {"recipe_path": "..."} or {"recipe_text": "..."}, optional "position" >= 0: the object Control::submit takes.
nlohmann::json submit_request(const std::string& body);

// {"position": N >= 0}
std::int64_t move_position(const std::string& body);

struct ActionRequest {
  std::optional<service::RunId> id;
  std::string reason;
};
// Optional {"id": N > 0, "reason": "..."}; an empty body is no fields.
ActionRequest action_request(const std::string& body);

// Empty, or an object without fields.
void expect_no_fields(const std::string& body);

}  // namespace insitu::api
