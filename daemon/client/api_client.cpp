#include "daemon/client/api_client.hpp"

#include <algorithm>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <csignal>
#include <exception>
#include <utility>

#include "drivers/io/asio.hpp"

namespace insitu::client {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::use_awaitable;
using UnixStream = beast::basic_stream<asio::local::stream_protocol>;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

constexpr const char* kEventsPath = "/api/v1/ws";

template <class Address>
struct StreamFor;
template <>
struct StreamFor<std::filesystem::path> {
  using type = UnixStream;
};
template <>
struct StreamFor<Endpoint::Tcp> {
  using type = beast::tcp_stream;
};

// What every exchange with one endpoint shares.
struct Peer {
  std::string where;  // Endpoint::describe(), for error lines
  std::string host;   // the Host header
  std::optional<std::string> token;
  std::chrono::seconds timeout;
};

std::string describe(const boost::system::error_code& error, std::chrono::seconds timeout) {
  if (error == beast::error::timeout) return "no answer within " + std::to_string(timeout.count()) + " s";
  return error.message();
}

awaitable<void> connect(UnixStream& stream, std::filesystem::path socket) {
  co_await stream.async_connect(asio::local::stream_protocol::endpoint(socket.string()), use_awaitable);
}

awaitable<void> connect(beast::tcp_stream& stream, Endpoint::Tcp tcp) {
  asio::ip::tcp::resolver resolver(stream.get_executor());
  const auto addresses = co_await resolver.async_resolve(tcp.host, tcp.port, use_awaitable);
  co_await stream.async_connect(addresses, use_awaitable);
}

// Connects within the timeout; any failure is the one "cannot reach" line.
template <class Stream, class Address>
awaitable<void> open(Stream& stream, Address address, Peer peer) {
  try {
    stream.expires_after(peer.timeout);
    co_await connect(stream, std::move(address));
  } catch (const boost::system::system_error& e) {
    throw Unreachable("cannot reach insitud at " + peer.where + ": " + describe(e.code(), peer.timeout) +
                      " (is insitud running?)");
  }
}

template <class Address>
awaitable<HttpResponse> exchange(Address address, HttpRequest request, Peer peer) {
  typename StreamFor<Address>::type stream(co_await asio::this_coro::executor);
  co_await open(stream, std::move(address), peer);
  HttpResponse response;
  try {
    stream.expires_after(peer.timeout);
    co_await http::async_write(stream, request, use_awaitable);
    beast::flat_buffer buffer;
    co_await http::async_read(stream, buffer, response, use_awaitable);
  } catch (const boost::system::system_error& e) {
    throw Unreachable("no answer from insitud at " + peer.where + ": " + describe(e.code(), peer.timeout));
  }
  co_return response;
}

// The answer's "error" when it has one (every API error does), else the status line's reason.
std::string refusal_reason(const HttpResponse& answer) {
  const auto body = nlohmann::json::parse(answer.body(), nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) return body["error"];
  return std::string(answer.reason().data(), answer.reason().size());
}

Response interpret(const HttpResponse& answer, const std::string& where) {
  const int status = static_cast<int>(answer.result_int());
  if (status < 200 || status >= 300) throw Refused(status, refusal_reason(answer));
  auto body = nlohmann::json::parse(answer.body(), nullptr, false);
  if (body.is_discarded())
    throw Unreachable("insitud at " + where + " answered HTTP " + std::to_string(status) + " with no JSON");
  return {status, std::move(body)};
}

template <class Address>
awaitable<void> read_events(Address address, Peer peer, ApiClient::MessageHandler on_message) {
  websocket::stream<typename StreamFor<Address>::type> ws(co_await asio::this_coro::executor);
  co_await open(beast::get_lowest_layer(ws), std::move(address), peer);
  beast::get_lowest_layer(ws).expires_never();  // the WebSocket's own timeouts from here on
  ws.set_option(websocket::stream_base::timeout{peer.timeout, peer.timeout, true});
  ws.set_option(websocket::stream_base::decorator([token = peer.token](websocket::request_type& upgrade) {
    if (token) upgrade.set(http::field::authorization, "Bearer " + *token);
  }));
  websocket::response_type upgrade_answer;
  try {
    co_await ws.async_handshake(upgrade_answer, peer.host, kEventsPath, use_awaitable);
  } catch (const boost::system::system_error& e) {
    if (upgrade_answer.result_int() != 0)
      throw Refused(static_cast<int>(upgrade_answer.result_int()), refusal_reason(upgrade_answer));
    throw Unreachable("no answer from insitud at " + peer.where + ": " + describe(e.code(), peer.timeout));
  }
  beast::flat_buffer buffer;
  for (bool more = true; more;) {
    try {
      co_await ws.async_read(buffer, use_awaitable);
    } catch (const boost::system::system_error& e) {
      const auto why = e.code() == websocket::error::closed ? std::string(ws.reason().reason.c_str())
                                                            : describe(e.code(), peer.timeout);
      throw Unreachable("insitud at " + peer.where + " ended the stream" + (why.empty() ? "" : ": " + why));
    }
    const auto message = nlohmann::json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
    buffer.consume(buffer.size());
    if (message.is_discarded()) throw Unreachable("insitud at " + peer.where + " sent a message that is no JSON");
    more = on_message(message);
  }
  boost::system::error_code ignored;  // the watcher has what it wanted; a close that fails changes nothing
  co_await ws.async_close(websocket::close_code::normal, asio::redirect_error(use_awaitable, ignored));
}

Peer peer_of(const Endpoint& endpoint, const std::optional<std::string>& token, std::chrono::seconds timeout) {
  const auto where = endpoint.describe();
  const bool tcp = std::holds_alternative<Endpoint::Tcp>(endpoint.address);
  return {where, tcp ? where.substr(std::string("http://").size()) : "localhost", token, timeout};
}

// Runs `task` to its end on `io`; its exception, if any, is rethrown here.
template <class T>
T run_to_end(asio::io_context& io, awaitable<T> task) {
  std::exception_ptr failure;
  T result{};
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    failure = e;
    result = std::move(value);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return result;
}

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

Endpoint Endpoint::unix_socket(std::filesystem::path socket) { return Endpoint{std::move(socket)}; }

Endpoint Endpoint::parse(const std::string& url) {
  const auto refused = std::invalid_argument("--server " + url + ": expected http://HOST:PORT or unix:PATH");
  if (url.starts_with("unix:")) {
    if (url.size() == 5) throw refused;
    return unix_socket(url.substr(5));
  }
  const std::string scheme = "http://";
  if (!url.starts_with(scheme)) throw refused;
  auto rest = url.substr(scheme.size());
  if (rest.ends_with('/')) rest.pop_back();
  Tcp tcp{rest, "80"};
  const auto bracket = rest.find(']');  // [IPv6]:port
  const auto colon = rest.rfind(':');
  if (rest.starts_with('[') && bracket != std::string::npos) {
    tcp.host = rest.substr(1, bracket - 1);
    if (bracket + 1 < rest.size()) tcp.port = rest[bracket + 1] == ':' ? rest.substr(bracket + 2) : "";
  } else if (colon != std::string::npos) {
    tcp.host = rest.substr(0, colon);
    tcp.port = rest.substr(colon + 1);
  }
  if (tcp.host.empty() || tcp.host.find('/') != std::string::npos || !all_digits(tcp.port)) throw refused;
  return Endpoint{std::move(tcp)};
}

std::string Endpoint::describe() const {
  if (const auto* socket = std::get_if<std::filesystem::path>(&address)) return "unix:" + socket->string();
  const auto& tcp = std::get<Tcp>(address);
  const bool ipv6 = tcp.host.find(':') != std::string::npos;
  return "http://" + (ipv6 ? "[" + tcp.host + "]" : tcp.host) + ":" + tcp.port;
}

Refused::Refused(int status, const std::string& reason)
    : std::runtime_error(reason + " (HTTP " + std::to_string(status) + ")"), status_(status), reason_(reason) {}

ApiClient::ApiClient(Endpoint endpoint, std::optional<std::string> token, std::chrono::seconds timeout)
    : endpoint_(std::move(endpoint)), token_(std::move(token)), timeout_(timeout) {}

Response ApiClient::get(const std::string& path) const { return request(Method::get, path, std::nullopt); }

Response ApiClient::post(const std::string& path, const std::optional<nlohmann::json>& body) const {
  return request(Method::post, path, body);
}

Response ApiClient::del(const std::string& path) const { return request(Method::del, path, std::nullopt); }

Response ApiClient::request(Method method, const std::string& path, const std::optional<nlohmann::json>& body) const {
  static constexpr int kHttp11 = 11;
  const auto verb = method == Method::get    ? http::verb::get
                    : method == Method::post ? http::verb::post
                                             : http::verb::delete_;
  const auto peer = peer_of(endpoint_, token_, timeout_);
  HttpRequest request{verb, path, kHttp11};
  request.set(http::field::host, peer.host);
  request.set(http::field::user_agent, "insitu");
  request.set(http::field::accept, "application/json");
  if (token_) request.set(http::field::authorization, "Bearer " + *token_);
  if (body) {
    request.set(http::field::content_type, "application/json");
    request.body() = body->dump();
  }
  request.prepare_payload();
  asio::io_context io;
  const auto answer = std::visit([&](const auto& address) { return run_to_end(io, exchange(address, request, peer)); },
                                 endpoint_.address);
  return interpret(answer, peer.where);
}

bool ApiClient::stream_events(const MessageHandler& on_message) const {
  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool interrupted = false;
  std::exception_ptr failure;
  signals.async_wait([&](const boost::system::error_code& error, int) {
    if (error) return;
    interrupted = true;
    io.stop();  // the stream goes with the loop
  });
  const auto peer = peer_of(endpoint_, token_, timeout_);
  std::visit(
      [&](const auto& address) {
        asio::co_spawn(io, read_events(address, peer, on_message), [&](std::exception_ptr e) {
          failure = e;
          signals.cancel();
        });
      },
      endpoint_.address);
  io.run();
  if (interrupted) return true;
  if (failure) std::rethrow_exception(failure);
  return false;
}

}  // namespace insitu::client
