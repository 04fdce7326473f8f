#include "daemon/api/responses.hpp"

#include <algorithm>

#include <boost/beast/http/field.hpp>

namespace insitu::api {
namespace {

constexpr std::size_t logged_target_chars = 160;

}  // namespace

Response json_response(unsigned status, const nlohmann::json& body, unsigned version, bool keep_alive) {
  Response response{static_cast<http::status>(status), version};
  response.set(http::field::server, "insitud");
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(keep_alive);
  // Replace rather than throw on bytes that are not UTF-8 (file names, recipe text echoed in a reason).
  response.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.prepare_payload();
  return response;
}

Response error_response(unsigned status, std::string_view reason, unsigned version, bool keep_alive) {
  return json_response(status, {{"error", reason}, {"status", status}}, version, keep_alive);
}

void log_refusal(spdlog::logger& logger, const Peer& peer, std::string_view request_line, unsigned status,
                 std::string_view multi_line_reason) {
  // One log line a refusal, whatever the reason holds (a recipe's errors come one a line).
  std::string reason(multi_line_reason);
  std::replace(reason.begin(), reason.end(), '\n', ' ');
  if (status >= 500) {
    logger.error("API: {} from {} failed with {}: {}", request_line, peer.description, status, reason);
  } else {
    logger.warn("API: {} from {} refused with {}: {}", request_line, peer.description, status, reason);
  }
}

std::string request_line(const Request& request) {
  std::string line(std_view(request.method_string()));
  line += ' ';
  const std::string_view target = std_view(request.target());
  line += target.substr(0, logged_target_chars);
  if (target.size() > logged_target_chars) line += "...";
  std::replace_if(line.begin(), line.end(), [](unsigned char c) { return c < 0x20 || c >= 0x7f; }, '?');
  return line;
}

}  // namespace insitu::api
