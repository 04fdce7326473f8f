#pragma once
// One HTTP connection: requests read within their limits and deadlines, answered by the router, kept alive as
// the client asks; an upgrade to the watch path becomes a WebSocketSession.
#include <chrono>
#include <memory>
#include <optional>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include "daemon/api/server_state.hpp"

namespace insitu::api {

class HttpSession : public Session, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<ServerState> state, Socket socket, Peer peer);
  static void start(std::shared_ptr<HttpSession> session);
  void close() override;

 private:
  using Parser = http::request_parser<http::string_body>;

  static awaitable<void> serve(std::shared_ptr<HttpSession> self);
  awaitable<bool> wait_for_request();
  awaitable<std::optional<Request>> read_request();
  awaitable<void> answer_read_failure(boost::system::error_code ec, const Parser& parser);
  awaitable<void> upgrade(Request request);
  awaitable<bool> write(const Response& response);
  awaitable<void> refuse(unsigned status, const std::string& reason, const std::string& what);
  awaitable<void> close_after_answer();
  // Past the deadline the socket's operations are cancelled and deadline_passed_ says why.
  void arm_deadline(std::chrono::milliseconds duration);
  void disarm_deadline();

  SessionRegistration registration_;
  Socket socket_;
  Peer peer_;
  boost::beast::flat_buffer buffer_;
  asio::steady_timer deadline_;
  unsigned deadline_generation_ = 0;  // a stale expiry (one that raced its cancel) is ignored
  bool deadline_passed_ = false;
};

}  // namespace insitu::api
