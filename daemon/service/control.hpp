#pragma once
// What the control API may ask of insitud. The API server (daemon/api) parses and authorises requests and turns
// these calls' JSON into responses; the service (daemon/service) implements them. Every call runs on the loop.
// The JSON shapes are the API's (docs/api.md, and the OpenAPI document the server serves).
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace insitu::service {

using RunId = std::int64_t;

// A request the service refuses: `http_status` is the 4xx/5xx the API answers with, what() the reason.
class RequestRefused : public std::runtime_error {
 public:
  RequestRefused(int http_status, const std::string& reason) : std::runtime_error(reason), status_(http_status) {}
  int http_status() const { return status_; }

 private:
  int status_;
};

enum class RunAction { pause, resume, abort, stop_after_frame };

class Control {
 public:
  virtual ~Control() = default;

  virtual nlohmann::json status() const = 0;  // service, stage, current run, queue counts
  virtual nlohmann::json queue() const = 0;   // {"runs": [run, ...]}: running first, then queued in order
  // {"recipe_path": "relative/to/recipes/root.yaml"} or {"recipe_text": "..."}, optional "position" (0 = next);
  // validated before it is accepted. Returns the queued run.
  virtual nlohmann::json submit(const nlohmann::json& request) = 0;
  virtual nlohmann::json move(RunId id, std::int64_t position) = 0;  // returns the run
  virtual nlohmann::json hold(RunId id) = 0;
  virtual nlohmann::json release(RunId id) = 0;
  virtual nlohmann::json remove(RunId id) = 0;  // queued or held runs only
  // On the running run; `id`, when given, must be it (409 otherwise).
  virtual nlohmann::json act(RunAction action, std::optional<RunId> id, const std::string& reason) = 0;
  virtual nlohmann::json history(std::optional<RunId> id) const = 0;  // {"runs": [run with "states"]} or one run
  virtual nlohmann::json run_files() const = 0;                      // {"files": [{"path", "size_bytes", ...}]}

  // Everything watchers should see, as it happens: {"type": "status"|"queue"|"document"|"notification", ...}.
  using Broadcast = std::function<void(const nlohmann::json& message)>;
  virtual void on_broadcast(Broadcast listener) = 0;
};

}  // namespace insitu::service
