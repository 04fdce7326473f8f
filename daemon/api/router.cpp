#include "daemon/api/router.hpp"

#include <algorithm>
#include <cctype>

#include <boost/beast/websocket/rfc6455.hpp>
#include <fmt/format.h>

#include "daemon/api/openapi.hpp"
#include "daemon/api/request_body.hpp"
#include "daemon/api/token.hpp"
#include "daemon/web/web_assets.hpp"
#include "drivers/io/asio.hpp"

namespace insitu::api {
namespace {

using service::RunAction;

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

// The token of "Bearer TOKEN", if the header is that.
std::optional<std::string_view> bearer_token(std::string_view header) {
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size() || !equal_ignoring_case(header.substr(0, scheme.size()), scheme)) {
    return std::nullopt;
  }
  auto token = header.substr(scheme.size());
  token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
  token = token.substr(0, token.find(' '));
  if (token.empty()) return std::nullopt;
  return token;
}

// The host of "host[:port]" or "[v6]:port".
std::string_view host_of(std::string_view authority) {
  if (authority.starts_with('[')) return authority.substr(1, authority.find(']') - 1);
  return authority.substr(0, authority.find(':'));
}

bool names_loopback(std::string_view host) {
  if (equal_ignoring_case(host, "localhost")) return true;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

// From loopback, reads need no token, but only for what a browser on this machine cannot be made to send: a
// page elsewhere reaches 127.0.0.1 with its own Origin, or with its own name in Host (DNS rebinding).
bool reads_need_no_token(const Request& request, const Peer& peer) {
  if (peer.kind == Peer::Kind::unix_socket) return true;
  if (peer.kind == Peer::Kind::remote) return false;
  const auto host = std_view(request[http::field::host]);
  if (!host.empty() && !names_loopback(host_of(host))) return false;
  const auto origin = std_view(request[http::field::origin]);
  if (origin.empty()) return true;
  const auto scheme_end = origin.find("://");
  return scheme_end != std::string_view::npos && names_loopback(host_of(origin.substr(scheme_end + 3)));
}

std::string method_list(const std::vector<http::verb>& methods) {
  std::string list;
  for (const auto method : methods) list += (list.empty() ? "" : ", ") + std::string(std_view(to_string(method)));
  return list;
}

}  // namespace

Router::Router(service::Control& control, std::string token, std::shared_ptr<spdlog::logger> logger)
    : control_(control), token_(std::move(token)), logger_(std::move(logger)) {}

Response Router::handle(const Request& request, const Peer& peer) {
  if (auto served = page(request)) return std::move(*served);
  return respond(request, peer, answer(request, peer));
}

// The live view's files, to any peer: they are the same code for everyone and carry no data; the data comes
// through the WebSocket, under the read rules.
std::optional<Response> Router::page(const Request& request) const {
  const auto path = target_path(std_view(request.target()));
  const auto match = match_route(request.method(), path);
  if (!match.route || match.route->endpoint != Endpoint::page) return std::nullopt;
  const auto name = path == "/" ? std::string_view("index.html") : path.substr(1);
  const auto body = web::asset(name);
  Response response{http::status::ok, request.version()};
  response.set(http::field::content_type, std::string(web::content_type(name)));
  response.set(http::field::cache_control, "no-cache");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
  response.keep_alive(request.keep_alive());
  response.body() = std::string(body);
  response.prepare_payload();
  return response;
}

std::variant<Response, nlohmann::json> Router::watch(const Request& request, const Peer& peer) {
  if (auto refused = access_refusal(request, peer, false)) return respond(request, peer, *refused);
  try {
    return nlohmann::json{{"type", "hello"}, {"api", "v1"}, {"status", control_.status()}, {"queue", control_.queue()}};
  } catch (const std::exception& e) {
    return respond(request, peer, {500, {{"error", e.what()}, {"status", 500}}});
  }
}

bool Router::is_watch_upgrade(const Request& request) {
  if (!boost::beast::websocket::is_upgrade(request)) return false;
  const auto match = match_route(request.method(), target_path(std_view(request.target())));
  return match.route && match.route->endpoint == Endpoint::watch;
}

Router::Answer Router::answer(const Request& request, const Peer& peer) {
  const auto error = [](unsigned status, const std::string& reason) {
    return Answer{status, {{"error", reason}, {"status", status}}};
  };
  const auto match = match_route(request.method(), target_path(std_view(request.target())));
  if (match.allowed.empty()) return error(404, "no such path");
  if (!match.route) {
    auto refusal = error(405, fmt::format("this path takes {}", method_list(match.allowed)));
    refusal.headers.emplace_back(http::field::allow, method_list(match.allowed));
    return refusal;
  }
  if (auto refused = access_refusal(request, peer, match.route->mutates)) return *refused;
  try {
    return dispatch(*match.route, match.id, request.body());
  } catch (const service::RequestRefused& e) {
    const int status = e.http_status();
    return error(status >= 400 && status <= 599 ? static_cast<unsigned>(status) : 500, e.what());
  } catch (const std::exception& e) {
    return error(500, e.what());
  }
}

std::optional<Router::Answer> Router::access_refusal(const Request& request, const Peer& peer, bool mutates) const {
  if (!mutates && reads_need_no_token(request, peer)) return std::nullopt;
  const auto token = bearer_token(std_view(request[http::field::authorization]));
  if (!token) {
    const std::string reason = "this request needs the header \"Authorization: Bearer TOKEN\"";
    return Answer{401, {{"error", reason}, {"status", 401}}, {{http::field::www_authenticate, "Bearer"}}};
  }
  if (!tokens_equal(*token, token_)) return Answer{403, {{"error", "wrong token"}, {"status", 403}}};
  return std::nullopt;
}

Router::Answer Router::dispatch(const Route& route, std::string_view id_segment, const std::string& body) {
  const auto ok = [](nlohmann::json json) { return Answer{200, std::move(json)}; };
  switch (route.endpoint) {
    case Endpoint::status: return ok(control_.status());
    case Endpoint::queue: return ok(control_.queue());
    case Endpoint::submit: return {201, control_.submit(submit_request(body))};
    case Endpoint::move: {
      const auto id = parse_run_id(id_segment);
      return ok(control_.move(id, move_position(body)));
    }
    case Endpoint::hold: {
      const auto id = parse_run_id(id_segment);
      expect_no_fields(body);
      return ok(control_.hold(id));
    }
    case Endpoint::release: {
      const auto id = parse_run_id(id_segment);
      expect_no_fields(body);
      return ok(control_.release(id));
    }
    case Endpoint::remove: {
      const auto id = parse_run_id(id_segment);
      expect_no_fields(body);
      return ok(control_.remove(id));
    }
    case Endpoint::pause: return act(RunAction::pause, body);
    case Endpoint::resume: return act(RunAction::resume, body);
    case Endpoint::abort: return act(RunAction::abort, body);
    case Endpoint::stop_after_frame: return act(RunAction::stop_after_frame, body);
    case Endpoint::history: return ok(control_.history(std::nullopt));
    case Endpoint::history_run: return ok(control_.history(parse_run_id(id_segment)));
    case Endpoint::run_files: return ok(control_.run_files());
    case Endpoint::openapi: return ok(openapi_document());
    case Endpoint::watch:
    case Endpoint::page: break;
  }
  const std::string reason = "this path is a WebSocket: ask with \"Upgrade: websocket\"";
  return Answer{426, {{"error", reason}, {"status", 426}}, {{http::field::upgrade, "websocket"}}};
}

Router::Answer Router::act(service::RunAction action, const std::string& body) {
  const auto request = action_request(body);
  return {200, control_.act(action, request.id, request.reason)};
}

Response Router::respond(const Request& request, const Peer& peer, const Answer& answer) {
  auto response = json_response(answer.status, answer.body, request.version(), request.keep_alive());
  for (const auto& [field, value] : answer.headers) response.set(field, value);
  if (answer.status >= 400) {
    log_refusal(*logger_, peer, request_line(request), answer.status, answer.body.value("error", ""));
  } else if (request.method() != http::verb::get) {
    logger_->info("API: {} from {}: {}", request_line(request), peer.description, answer.status);
  }
  return response;
}

}  // namespace insitu::api
