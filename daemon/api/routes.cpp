#include "daemon/api/routes.hpp"

#include <array>

namespace insitu::api {
namespace {

using http::verb;

constexpr std::array route_table{
    Route{verb::get, "/api/v1/status", Endpoint::status, false},
    Route{verb::get, "/api/v1/queue", Endpoint::queue, false},
    Route{verb::post, "/api/v1/queue", Endpoint::submit, true},
    Route{verb::post, "/api/v1/queue/{id}/move", Endpoint::move, true},
    Route{verb::post, "/api/v1/queue/{id}/hold", Endpoint::hold, true},
    Route{verb::post, "/api/v1/queue/{id}/release", Endpoint::release, true},
    Route{verb::delete_, "/api/v1/queue/{id}", Endpoint::remove, true},
    Route{verb::post, "/api/v1/run/pause", Endpoint::pause, true},
    Route{verb::post, "/api/v1/run/resume", Endpoint::resume, true},
    Route{verb::post, "/api/v1/run/abort", Endpoint::abort, true},
    Route{verb::post, "/api/v1/run/stop-after-frame", Endpoint::stop_after_frame, true},
    Route{verb::get, "/api/v1/history", Endpoint::history, false},
    Route{verb::get, "/api/v1/history/{id}", Endpoint::history_run, false},
    Route{verb::get, "/api/v1/runfiles", Endpoint::run_files, false},
    Route{verb::get, "/api/v1/openapi.json", Endpoint::openapi, false},
    Route{verb::get, "/api/v1/ws", Endpoint::watch, false},
    Route{verb::get, "/", Endpoint::page, false},
    Route{verb::get, "/live.js", Endpoint::page, false},
    Route{verb::get, "/live.css", Endpoint::page, false},
};

constexpr std::string_view id_segment = "/{id}";

// Whether `path` fits `pattern`; the segment standing for "{id}" goes to `id`.
bool fits(std::string_view pattern, std::string_view path, std::string_view& id) {
  while (!pattern.empty() && !path.empty()) {
    const auto pattern_end = pattern.find('/', 1);
    const auto path_end = path.find('/', 1);
    const auto pattern_segment = pattern.substr(0, pattern_end);
    const auto path_segment = path.substr(0, path_end);
    if (pattern_segment == id_segment) {
      if (path_segment.size() < 2) return false;
      id = path_segment.substr(1);
    } else if (pattern_segment != path_segment) {
      return false;
    }
    pattern.remove_prefix(pattern_segment.size());
    path.remove_prefix(path_segment.size());
  }
  return pattern.empty() && path.empty();
}

}  // namespace

std::span<const Route> routes() { return route_table; }

RouteMatch match_route(http::verb method, std::string_view path) {
  RouteMatch match;
  for (const Route& route : route_table) {
    std::string_view id;
    if (!fits(route.path, path, id)) continue;
    match.allowed.push_back(route.method);
    if (route.method == method) {
      match.route = &route;
      match.id = id;
    }
  }
  return match;
}

std::string_view target_path(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace insitu::api
