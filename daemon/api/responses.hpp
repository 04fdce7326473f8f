#pragma once
// Requests, responses and peers as the router and the sessions share them; every answer is JSON.
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

namespace insitu::api {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Beast's string_view (Boost's) as the standard one.
inline std::string_view std_view(boost::beast::string_view text) { return {text.data(), text.size()}; }

struct Peer {
  enum class Kind { unix_socket, loopback, remote };
  Kind kind;
  std::string description;  // for the log: "127.0.0.1:40112", "unix socket (pid 12, uid 1000)"
};

Response json_response(unsigned status, const nlohmann::json& body, unsigned version, bool keep_alive);

// {"error": reason, "status": status}
Response error_response(unsigned status, std::string_view reason, unsigned version, bool keep_alive);

// One warning line with the peer, what it asked (when known) and why it was refused.
void log_refusal(spdlog::logger& logger, const Peer& peer, std::string_view request_line, unsigned status,
                 std::string_view reason);

// "POST /api/v1/queue", cut short and with anything unprintable replaced, for the log.
std::string request_line(const Request& request);

}  // namespace insitu::api
