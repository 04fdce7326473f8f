#include "daemon/api/openapi.hpp"

#include <string>
#include <vector>

namespace insitu::api {
namespace {

using nlohmann::json;

json ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }
json nullable(json schema) {
  schema["nullable"] = true;
  return schema;
}
json object(json properties, const std::vector<std::string>& required = {}) {
  json schema = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}
json array_of(json items) { return {{"type", "array"}, {"items", std::move(items)}}; }
json integer(int minimum) { return {{"type", "integer"}, {"minimum", minimum}}; }
const json text = {{"type", "string"}};
const json number = {{"type", "number"}};
const json date_time = {{"type", "string"}, {"format", "date-time"}};

json reply(const std::string& description, json schema) {
  return {{"description", description}, {"content", {{"application/json", {{"schema", std::move(schema)}}}}}};
}

json run_schema() {
  const json states = {"queued", "running", "paused", "completed", "completed_with_deviations",
                       "aborted", "failed", "interrupted", "removed"};
  return object({{"id", integer(1)}, {"recipe", text}, {"sample", text}, {"treatment", text},
                 {"state", {{"type", "string"}, {"enum", states}}}, {"held", {{"type", "boolean"}}},
                 {"position", nullable(integer(0))}, {"source", text}, {"submitted", date_time},
                 {"started", nullable(date_time)}, {"ended", nullable(date_time)}, {"reason", text},
                 {"run_file", nullable(text)}},
                {"id", "recipe", "state", "held", "position", "submitted"});
}

json status_schema() {
  const json service = object({{"version", text}, {"state", {{"type", "string"}, {"enum", {"idle", "running", "stopping"}}}},
                               {"uptime_s", number}, {"simulated", {{"type", "boolean"}}}, {"speed", number}});
  const json stage = object({{"temperature_K", number}, {"setpoint_K", number}, {"state", text}, {"read", date_time}});
  const json run = object({{"id", integer(1)}, {"sample", text}, {"recipe", text}, {"state", text},
                           {"segment", text}, {"segment_index", integer(0)}, {"segment_count", integer(0)},
                           {"temperature_K", number}, {"setpoint_K", number}, {"frames", integer(0)},
                           {"missing_frames", integer(0)}, {"latest_s_eq_J_per_mol_K", nullable(number)},
                           {"progress", number}, {"eta_s", nullable(number)}});
  return object({{"service", service}, {"stage", stage}, {"run", nullable(run)},
                 {"queue", object({{"queued", integer(0)}, {"held", integer(0)}})}},
                {"service", "run", "queue"});
}

json schemas() {
  json with_states = object({{"states", array_of(object({{"state", text}, {"time", date_time}, {"reason", text}},
                                                        {"state", "time"}))}},
                            {"states"});
  json submit = object({{"recipe_path", text}, {"recipe_text", text}, {"source", text}, {"position", integer(0)},
                        {"held", {{"type", "boolean"}}}});
  submit["oneOf"] = {{{"required", {"recipe_path"}}}, {{"required", {"recipe_text"}}}};
  json move = object({{"position", integer(0)}}, {"position"});
  json action = object({{"id", integer(1)}, {"reason", text}});
  for (json* body : {&submit, &move, &action}) (*body)["additionalProperties"] = false;
  const json file = object({{"id", integer(1)}, {"path", text}, {"size_bytes", integer(0)}, {"modified", date_time}},
                           {"path", "size_bytes"});
  return {{"Error", object({{"error", text}, {"status", integer(400)}}, {"error", "status"})},
          {"Run", run_schema()},
          {"RunWithStates", {{"allOf", {ref("Run"), with_states}}}},
          {"Runs", object({{"runs", array_of(ref("Run"))}}, {"runs"})},
          {"History", object({{"runs", array_of(ref("RunWithStates"))}}, {"runs"})},
          {"Status", status_schema()},
          {"RunFiles", object({{"files", array_of(file)}}, {"files"})},
          {"SubmitRequest", submit},
          {"MoveRequest", move},
          {"ActionRequest", action}};
}

struct Operation {
  std::string id;
  std::string summary;
  json responses;
  bool mutates = false;
  std::string body_schema = {};  // a request body of this schema
  bool body_required = false;
};

json operation(const Operation& op, bool has_run_id) {
  json responses = op.responses;
  responses["401"] = reply(op.mutates ? "no token" : "no token, and the peer is not loopback", ref("Error"));
  responses["403"] = reply("wrong token", ref("Error"));
  if (has_run_id || !op.body_schema.empty()) responses["400"] = reply("malformed JSON, fields or run id", ref("Error"));
  if (has_run_id) responses["404"] = reply("no such run", ref("Error"));
  responses["default"] = reply("refused (408 slow, 413 too large, 409 conflict, 503 busy) or failed", ref("Error"));
  json result = {{"operationId", op.id}, {"summary", op.summary}, {"responses", std::move(responses)}};
  // Reads go without the token from loopback and the Unix socket only.
  result["security"] = op.mutates ? json::array({{{"bearer", json::array()}}})
                                  : json::array({json::object(), {{"bearer", json::array()}}});
  if (has_run_id) result["parameters"] = {{{"$ref", "#/components/parameters/RunId"}}};
  if (!op.body_schema.empty()) {
    result["requestBody"] = {{"required", op.body_required},
                             {"content", {{"application/json", {{"schema", ref(op.body_schema)}}}}}};
  }
  return result;
}

json run_action(const std::string& verb, const std::string& summary) {
  return {{"post", operation({"run_" + verb, summary, {{"200", reply("the run", ref("Run"))}}, true, "ActionRequest"},
                             false)}};
}

json watch_operation() {
  json op = operation({"watch", "WebSocket of everything watchers should see", {}, false}, false);
  op["description"] =
      "Upgrade to a WebSocket of JSON text frames: first {\"type\": \"hello\", \"api\": \"v1\", \"status\": Status, "
      "\"queue\": Runs}, then {\"type\": \"status\"|\"queue\"|\"document\"|\"notification\", ...} as they happen. "
      "A watcher that falls too far behind is closed (policy error).";
  op["responses"]["101"] = {{"description", "switching to the WebSocket protocol"}};
  op["responses"]["426"] = reply("not an upgrade request", ref("Error"));
  return op;
}

// The live view's files: the same code for every peer, no data in them, so no token (docs/api.md).
json page_operation(const std::string& id, const std::string& summary, const std::string& media_type) {
  return {{"get",
           {{"operationId", id},
            {"summary", summary},
            {"security", json::array({json::object()})},
            {"responses", {{"200", {{"description", summary}, {"content", {{media_type, json::object()}}}}}}}}}};
}

json paths() {
  const auto get = [](const std::string& id, const std::string& summary, const std::string& schema, bool run_id) {
    return json{{"get", operation({id, summary, {{"200", reply(summary, ref(schema))}}}, run_id)}};
  };
  json queue = get("queue", "the running run, then the queued runs in order", "Runs", false);
  queue["post"] = operation({"submit", "queue a recipe", {{"201", reply("the queued run", ref("Run"))},
                             {"422", reply("recipe refused: file:line:column reason", ref("Error"))}},
                             true, "SubmitRequest", true}, false);
  const auto on_run = [](const std::string& id, const std::string& summary, const std::string& body) {
    return operation({id, summary, {{"200", reply("the run", ref("Run"))}}, true, body, !body.empty()}, true);
  };
  return {{"/api/v1/status", get("status", "the service, the stage, the current run, the queue's counts", "Status", false)},
          {"/api/v1/queue", queue},
          {"/api/v1/queue/{id}/move", {{"post", on_run("move", "move a queued run to a position", "MoveRequest")}}},
          {"/api/v1/queue/{id}/hold", {{"post", on_run("hold", "hold a queued run", "")}}},
          {"/api/v1/queue/{id}/release", {{"post", on_run("release", "release a held run", "")}}},
          {"/api/v1/queue/{id}", {{"delete", on_run("remove", "remove a queued or held run", "")}}},
          {"/api/v1/run/pause", run_action("pause", "pause the running run")},
          {"/api/v1/run/resume", run_action("resume", "resume the paused run")},
          {"/api/v1/run/abort", run_action("abort", "abort the running run")},
          {"/api/v1/run/stop-after-frame", run_action("stop_after_frame", "end the run after its current frame")},
          {"/api/v1/history", get("history", "every run with its state changes", "History", false)},
          {"/api/v1/history/{id}", get("history_run", "one run with its state changes", "RunWithStates", true)},
          {"/api/v1/runfiles", get("run_files", "the run files under the data root", "RunFiles", false)},
          {"/api/v1/openapi.json", {{"get", operation({"openapi", "this document", {{"200", {{"description",
                                   "the OpenAPI 3.0 document"}}}}}, false)}}},
          {"/api/v1/ws", {{"get", watch_operation()}}},
          {"/", page_operation("live_page", "the live view (charts fed by /api/v1/ws)", "text/html")},
          {"/live.js", page_operation("live_script", "the live view's script (uPlot and the charts)", "text/javascript")},
          {"/live.css", page_operation("live_style", "the live view's style", "text/css")}};
}

json build_document() {
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "insitud control API"}, {"version", "1"},
                    {"description", "Queue, run control and watching of insitud (docs/api.md). Every error is "
                                    "{\"error\": reason, \"status\": code}."}}},
          {"paths", paths()},
          {"components",
           {{"schemas", schemas()},
            {"parameters", {{"RunId", {{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", integer(1)}}}}},
            {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"},
                                             {"description", "the token in STATE_DIR/token"}}}}}}}};
}

}  // namespace

const json& openapi_document() {
  static const json document = build_document();
  return document;
}

}  // namespace insitu::api
