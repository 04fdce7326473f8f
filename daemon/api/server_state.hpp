#pragma once
// What the server and its sessions share (internal to daemon/api). Co-owned by every session, so that a session
// that ends after the ApiServer has gone still finds it.
#include <memory>
#include <optional>
#include <unordered_set>

#include <spdlog/logger.h>

#include "daemon/api/router.hpp"
#include "daemon/api/server.hpp"
#include "daemon/api/websocket_hub.hpp"
#include "drivers/io/asio.hpp"

namespace insitu::api {

// TCP and Unix-socket connections alike, once accepted.
using Socket = asio::generic::stream_protocol::socket;

class Session {
 public:
  virtual ~Session() = default;
  virtual void close() = 0;  // the server is stopping
};

struct ServerState {
  ServerState(ApiLimits limits_, Router router_, std::shared_ptr<spdlog::logger> logger_)
      : limits(limits_), logger(std::move(logger_)), router(std::move(router_)) {}

  ApiLimits limits;
  std::shared_ptr<spdlog::logger> logger;
  Router router;
  WebSocketHub hub;
  std::unordered_set<Session*> sessions;  // every open connection, HTTP or WebSocket
  std::optional<asio::ip::tcp::acceptor> tcp_acceptor;
  std::optional<asio::local::stream_protocol::acceptor> unix_acceptor;
  bool stopping = false;
};

// A session's place among the server's connections, for the session's lifetime.
class SessionRegistration {
 public:
  SessionRegistration(std::shared_ptr<ServerState> state, Session* session)
      : state_(std::move(state)), session_(session) {
    state_->sessions.insert(session_);
  }
  ~SessionRegistration() { state_->sessions.erase(session_); }
  SessionRegistration(const SessionRegistration&) = delete;
  SessionRegistration& operator=(const SessionRegistration&) = delete;

  ServerState& state() const { return *state_; }
  const std::shared_ptr<ServerState>& shared_state() const { return state_; }

 private:
  std::shared_ptr<ServerState> state_;
  Session* session_;
};

}  // namespace insitu::api
