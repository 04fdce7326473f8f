#pragma once
// From a parsed request to its answer: the route, the peer's right to it, the body's fields, the Control call.
// Runs on the loop, as Control's calls must.
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "daemon/api/responses.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/service/control.hpp"

namespace insitu::api {

class Router {
 public:
  Router(service::Control& control, std::string token, std::shared_ptr<spdlog::logger> logger);

  // The answer to a request that is not a WebSocket upgrade. Refusals are logged with the peer.
  Response handle(const Request& request, const Peer& peer);

  // For an upgrade to the watch path: the refusal to answer instead, or the hello message the watcher gets first.
  std::variant<Response, nlohmann::json> watch(const Request& request, const Peer& peer);

  static bool is_watch_upgrade(const Request& request);

 private:
  struct Answer {
    unsigned status;
    nlohmann::json body;
    std::vector<std::pair<http::field, std::string>> headers = {};
  };

  Answer answer(const Request& request, const Peer& peer);
  std::optional<Response> page(const Request& request) const;
  std::optional<Answer> access_refusal(const Request& request, const Peer& peer, bool mutates) const;
  Answer dispatch(const Route& route, std::string_view id_segment, const std::string& body);
  Answer act(service::RunAction action, const std::string& body);
  Response respond(const Request& request, const Peer& peer, const Answer& answer);

  service::Control& control_;
  std::string token_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace insitu::api
