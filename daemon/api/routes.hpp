#pragma once
// Every route the API serves, in one table: the router dispatches on it and the tests hold the OpenAPI document
// against it.
#include <ostream>  // before Beast: Boost 1.74's string_view uses std::ostream without including it
#include <span>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>

namespace insitu::api {

namespace http = boost::beast::http;

enum class Endpoint {
  status,
  queue,
  submit,
  move,
  hold,
  release,
  remove,
  pause,
  resume,
  abort,
  stop_after_frame,
  history,
  history_run,
  run_files,
  openapi,
  watch,
  page,  // the live view's page, script and style: code, no data, so no token
};

struct Route {
  http::verb method;
  std::string_view path;  // "{id}" stands for one segment, a run id
  Endpoint endpoint;
  bool mutates;  // needs the token from every peer
};

std::span<const Route> routes();

struct RouteMatch {
  const Route* route = nullptr;     // the route of the request's path and method, if any
  std::vector<http::verb> allowed;  // the methods its path has; empty for an unknown path
  std::string_view id;              // the segment in place of "{id}", unparsed
};

// `path` without its query.
RouteMatch match_route(http::verb method, std::string_view path);

// The path part of a request target.
std::string_view target_path(std::string_view target);

}  // namespace insitu::api
