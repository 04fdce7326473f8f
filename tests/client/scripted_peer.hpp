#pragma once
// A scripted insitud for the client tests: it listens on 127.0.0.1:0 and on a Unix socket, records every request
// (method, target, Authorization, body) and answers each with the canned JSON given for "METHOD TARGET" (in turn
// when several are given; the last one repeats; 404 when none is). A WebSocket upgrade with no canned answer gets
// the canned messages, then the stream stays open until the client closes it.
#include <boost/asio/detached.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "drivers/io/asio.hpp"

namespace insitu::testing {

struct Recorded {
  std::string method;
  std::string target;
  std::string authorization;  // empty when the header was not sent
  std::string body;
};

class ScriptedPeer {
 public:
  explicit ScriptedPeer(const std::filesystem::path& socket)
      : tcp_(io_, {asio::ip::make_address("127.0.0.1"), 0}), unix_(io_, socket.string()) {
    asio::co_spawn(io_, accept_all(tcp_), asio::detached);
    asio::co_spawn(io_, accept_all(unix_), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ScriptedPeer() {
    io_.stop();
    thread_.join();
  }

  void answer(const std::string& method_and_target, int status, nlohmann::json body) {
    const std::lock_guard lock(mutex_);
    answers_[method_and_target].push_back({status, std::move(body)});
  }
  void stream(std::vector<nlohmann::json> messages) {
    const std::lock_guard lock(mutex_);
    messages_ = std::move(messages);
  }
  std::vector<Recorded> requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(tcp_.local_endpoint().port()); }

 private:
  struct Answer {
    int status;
    nlohmann::json body;
  };
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  template <class Acceptor>
  awaitable<void> accept_all(Acceptor& acceptor) {
    for (;;) {
      auto socket = co_await acceptor.async_accept(asio::use_awaitable);
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  template <class Socket>
  awaitable<void> serve(Socket socket) {
    namespace http = boost::beast::http;
    try {
      boost::beast::flat_buffer buffer;
      Request request;
      co_await http::async_read(socket, buffer, request, asio::use_awaitable);
      const auto canned = record(request);
      if (boost::beast::websocket::is_upgrade(request) && !canned) {
        co_await stream_to(std::move(socket), std::move(request));
        co_return;
      }
      const auto [status, body] = canned.value_or(Answer{404, {{"error", "unknown path"}, {"status", 404}}});
      http::response<http::string_body> response{static_cast<http::status>(status), request.version()};
      response.set(http::field::content_type, "application/json");
      response.body() = body.dump();
      response.keep_alive(false);
      response.prepare_payload();
      co_await http::async_write(socket, response, asio::use_awaitable);
    } catch (const std::exception&) {
      // the client went away: nothing to answer
    }
  }

  template <class Socket>
  awaitable<void> stream_to(Socket socket, Request upgrade) {
    boost::beast::websocket::stream<Socket> ws(std::move(socket));
    co_await ws.async_accept(upgrade, asio::use_awaitable);
    std::vector<nlohmann::json> messages;
    {
      const std::lock_guard lock(mutex_);
      messages = messages_;
    }
    for (const auto& message : messages) {
      const auto text = message.dump();
      co_await ws.async_write(asio::buffer(text), asio::use_awaitable);
    }
    boost::beast::flat_buffer buffer;
    for (;;) co_await ws.async_read(buffer, asio::use_awaitable);  // until the client closes (throws then)
  }

  std::optional<Answer> record(const Request& request) {
    const std::lock_guard lock(mutex_);
    const std::string method(request.method_string().data(), request.method_string().size());
    const std::string target(request.target().data(), request.target().size());
    const auto authorization = request[boost::beast::http::field::authorization];
    requests_.push_back({method, target, std::string(authorization.data(), authorization.size()), request.body()});
    auto& queued = answers_[method + " " + target];
    if (queued.empty()) return std::nullopt;
    auto answer = queued.front();
    if (queued.size() > 1) queued.pop_front();
    return answer;
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor tcp_;
  asio::local::stream_protocol::acceptor unix_;
  mutable std::mutex mutex_;
  std::map<std::string, std::deque<Answer>> answers_;
  std::vector<nlohmann::json> messages_;
  std::vector<Recorded> requests_;
  std::thread thread_;
};

}  // namespace insitu::testing
