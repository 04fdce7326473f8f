#pragma once
// One watcher: the hello, then every broadcast, through its own queue. A watcher that falls more than
// max_ws_queue_bytes behind is closed (policy error) without holding up the loop or the other watchers.
#include <deque>
#include <memory>
#include <string>

#include <boost/beast/websocket/stream.hpp>

#include "daemon/api/server_state.hpp"

namespace insitu::api {

class WebSocketSession : public Session,
                         public WebSocketHub::Watcher,
                         public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(std::shared_ptr<ServerState> state, Socket socket, Peer peer);
  ~WebSocketSession() override;  // leaves the hub

  // Completes the upgrade; `hello` is the first message, then come the broadcasts.
  static void start(std::shared_ptr<WebSocketSession> session, Request upgrade, const nlohmann::json& hello);
  void close() override;
  void deliver(const std::shared_ptr<const std::string>& message) override;

 private:
  static awaitable<void> run(std::shared_ptr<WebSocketSession> self, Request upgrade);
  static awaitable<void> write_queue(std::shared_ptr<WebSocketSession> self);
  awaitable<void> read_until_closed();
  void queue(std::shared_ptr<const std::string> message);
  // No more messages; a close frame with `reason`, and the socket closed if the frame cannot get through.
  void end(const boost::beast::websocket::close_reason& reason);
  void close_socket();

  SessionRegistration registration_;
  boost::beast::websocket::stream<Socket> ws_;
  Peer peer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;  // the queue and the message being written
  asio::steady_timer wake_;       // the writer sleeps on it; cancel() wakes it
  asio::steady_timer close_deadline_;
  bool in_hub_ = false;
  bool ending_ = false;
};

}  // namespace insitu::api
