#pragma once
// Blocking clients of the API for the tests, over TCP or the Unix socket: HTTP requests, raw bytes and WebSocket
// watchers. Every read gives up after a few seconds, so a server that does not answer fails the test.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "drivers/io/asio.hpp"

namespace insitu::api::test {

namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using ClientSocket = asio::generic::stream_protocol::socket;
using Reply = http::response<http::string_body>;

inline const std::string test_token(64, 'c');

struct Endpoint {
  std::optional<asio::ip::tcp::endpoint> tcp;
  std::optional<std::filesystem::path> unix_socket;
  std::string host() const { return tcp ? tcp->address().to_string() : "localhost"; }
};

// A connected socket; `receive_buffer` (bytes) is set before connecting, which is when it counts.
ClientSocket connect(const Endpoint& where, std::optional<int> receive_buffer = std::nullopt);

class HttpClient {
 public:
  explicit HttpClient(const Endpoint& where) : host_(where.host()), socket_(connect(where)) {}

  Reply call(http::verb method, const std::string& target, const std::string& body = "",
             std::optional<std::string> token = std::nullopt);
  // Sends as given, with Host and the payload's size filled in when missing.
  Reply send(http::request<http::string_body> request);
  Reply read_reply();
  void write_raw(std::string_view bytes);
  // True when the server closes the connection (EOF or reset) before sending anything more.
  bool closed_by_server();
  ClientSocket& socket() { return socket_; }

 private:
  std::string host_;
  ClientSocket socket_;
  boost::beast::flat_buffer buffer_;
};

nlohmann::json json_of(const Reply& reply);

// The answer to a WebSocket upgrade request to the watch path, with `headers` added, over plain HTTP.
Reply upgrade_answer(const Endpoint& where, const std::vector<std::pair<http::field, std::string>>& headers);

struct WatchOptions {
  std::optional<std::string> token = std::nullopt;
  std::optional<std::string> origin = std::nullopt;
  std::optional<int> receive_buffer = std::nullopt;  // bytes
};

class WatchClient {
 public:
  // Throws boost::system::system_error when the upgrade is refused.
  explicit WatchClient(const Endpoint& where, const WatchOptions& options = {});
  nlohmann::json read();
  websocket::stream<ClientSocket>& stream() { return ws_; }

 private:
  websocket::stream<ClientSocket> ws_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace insitu::api::test
