#include "tests/api/api_client.hpp"

#include <sys/socket.h>

#include <boost/beast/core/buffers_to_string.hpp>

namespace insitu::api::test {
namespace {

constexpr timeval io_limit{5, 0};

asio::io_context& client_io() {
  static asio::io_context io;  // never run: the clients block
  return io;
}

}  // namespace

ClientSocket connect(const Endpoint& where, std::optional<int> receive_buffer) {
  const auto endpoint = where.tcp ? asio::generic::stream_protocol::endpoint(*where.tcp)
                                  : asio::generic::stream_protocol::endpoint(
                                        asio::local::stream_protocol::endpoint(where.unix_socket->string()));
  ClientSocket socket(client_io());
  socket.open(endpoint.protocol());
  if (receive_buffer) socket.set_option(asio::socket_base::receive_buffer_size(*receive_buffer));
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &io_limit, sizeof io_limit);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &io_limit, sizeof io_limit);
  socket.connect(endpoint);
  return socket;
}

Reply HttpClient::call(http::verb method, const std::string& target, const std::string& body,
                       std::optional<std::string> token) {
  http::request<http::string_body> request{method, target, 11};
  if (token) request.set(http::field::authorization, "Bearer " + *token);
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.body() = body;
  return send(std::move(request));
}

Reply HttpClient::send(http::request<http::string_body> request) {
  if (request.find(http::field::host) == request.end()) request.set(http::field::host, host_);
  if (request.find(http::field::content_length) == request.end() && request.method() != http::verb::get) {
    request.prepare_payload();
  }
  http::write(socket_, request);
  return read_reply();
}

Reply HttpClient::read_reply() {
  Reply reply;
  http::read(socket_, buffer_, reply);
  return reply;
}

void HttpClient::write_raw(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes.data(), bytes.size())); }

bool HttpClient::closed_by_server() {
  char byte = 0;
  boost::system::error_code ec;
  socket_.read_some(asio::buffer(&byte, 1), ec);
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

nlohmann::json json_of(const Reply& reply) { return nlohmann::json::parse(reply.body()); }

Reply upgrade_answer(const Endpoint& where, const std::vector<std::pair<http::field, std::string>>& headers) {
  http::request<http::string_body> request{http::verb::get, "/api/v1/ws", 11};
  request.set(http::field::upgrade, "websocket");
  request.set(http::field::connection, "Upgrade");
  request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  request.set(http::field::sec_websocket_version, "13");
  for (const auto& [field, value] : headers) request.set(field, value);
  return HttpClient(where).send(request);
}

WatchClient::WatchClient(const Endpoint& where, const WatchOptions& options)
    : ws_(connect(where, options.receive_buffer)) {
  ws_.set_option(websocket::stream_base::decorator([options](websocket::request_type& request) {
    if (options.token) request.set(http::field::authorization, "Bearer " + *options.token);
    if (options.origin) request.set(http::field::origin, *options.origin);
  }));
  ws_.handshake(where.host(), "/api/v1/ws");
}

nlohmann::json WatchClient::read() {
  buffer_.clear();
  ws_.read(buffer_);
  return nlohmann::json::parse(boost::beast::buffers_to_string(buffer_.data()));
}

}  // namespace insitu::api::test
