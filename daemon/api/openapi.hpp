#pragma once
// The OpenAPI 3.0 description of the API (docs/api.md), served at /api/v1/openapi.json. The tests hold it
// against the route table and the running server.
#include <nlohmann/json.hpp>

namespace insitu::api {

const nlohmann::json& openapi_document();

}  // namespace insitu::api
