#include "daemon/api/http_session.hpp"

#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "daemon/api/websocket_session.hpp"

namespace insitu::api {
namespace {

// How long a closing connection still reads what its peer sends: closing with unread bytes resets the
// connection, and the peer could lose the answer it was sent.
constexpr std::chrono::milliseconds linger_time{1000};

bool is_http_error(const boost::system::error_code& ec) {
  return ec.category() == make_error_code(http::error::end_of_stream).category();
}

}  // namespace

HttpSession::HttpSession(std::shared_ptr<ServerState> state, Socket socket, Peer peer)
    : registration_(std::move(state), this),
      socket_(std::move(socket)),
      peer_(std::move(peer)),
      deadline_(socket_.get_executor()) {}

void HttpSession::start(std::shared_ptr<HttpSession> session) {
  const auto executor = session->socket_.get_executor();
  asio::co_spawn(executor, serve(std::move(session)), asio::detached);
}

void HttpSession::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  deadline_.cancel();
}

awaitable<void> HttpSession::serve(std::shared_ptr<HttpSession> self) {
  auto& state = self->registration_.state();
  for (;;) {
    if (!co_await self->wait_for_request()) co_return;
    auto request = co_await self->read_request();
    if (!request || state.stopping) co_return;
    if (Router::is_watch_upgrade(*request)) {
      co_await self->upgrade(std::move(*request));
      co_return;
    }
    const Response response = state.router.handle(*request, self->peer_);
    if (!co_await self->write(response)) co_return;
    if (!response.keep_alive()) {
      co_await self->close_after_answer();
      co_return;
    }
  }
}

// Until the next request's first byte; false when the connection stayed idle too long or was closed.
awaitable<bool> HttpSession::wait_for_request() {
  if (buffer_.size() > 0) co_return true;  // pipelined
  boost::system::error_code ec;
  arm_deadline(registration_.state().limits.idle_timeout);
  co_await socket_.async_wait(Socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
  disarm_deadline();
  co_return !ec;
}

// The whole request within request_timeout of its first byte; nothing when it was refused or the peer went.
awaitable<std::optional<Request>> HttpSession::read_request() {
  const auto& limits = registration_.state().limits;
  Parser parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  boost::system::error_code ec;
  arm_deadline(limits.request_timeout);
  co_await http::async_read_header(socket_, buffer_, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && !parser.is_done() && boost::beast::iequals(parser.get()[http::field::expect], "100-continue")) {
    const http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
    co_await http::async_write(socket_, go_on, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!ec) co_await http::async_read(socket_, buffer_, parser, asio::redirect_error(asio::use_awaitable, ec));
  disarm_deadline();
  if (!ec) co_return parser.release();
  co_await answer_read_failure(ec, parser);
  co_return std::nullopt;
}

awaitable<void> HttpSession::answer_read_failure(boost::system::error_code ec, const Parser& parser) {
  const auto& limits = registration_.state().limits;
  const std::string what = parser.is_header_done() ? request_line(parser.get()) : "request";
  if (deadline_passed_) {
    co_await refuse(408, fmt::format("the request was not complete within {} ms", limits.request_timeout.count()),
                    what);
  } else if (ec == http::error::body_limit) {
    co_await refuse(413, fmt::format("the body is larger than {} bytes", limits.max_body_bytes), what);
  } else if (ec == http::error::header_limit) {
    co_await refuse(413, fmt::format("the headers are larger than {} bytes", limits.max_header_bytes), what);
  } else if (is_http_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
    co_await refuse(400, "malformed HTTP request: " + ec.message(), what);
  }  // else the peer closed or reset the connection: no one to answer
}

awaitable<void> HttpSession::upgrade(Request request) {
  auto watch = registration_.state().router.watch(request, peer_);
  if (const auto* refusal = std::get_if<Response>(&watch)) {
    if (co_await write(*refusal)) co_await close_after_answer();
    co_return;
  }
  auto session = std::make_shared<WebSocketSession>(registration_.shared_state(), std::move(socket_), peer_);
  WebSocketSession::start(std::move(session), std::move(request), std::get<nlohmann::json>(watch));
}

awaitable<bool> HttpSession::write(const Response& response) {
  boost::system::error_code ec;
  arm_deadline(registration_.state().limits.request_timeout);
  co_await http::async_write(socket_, response, asio::redirect_error(asio::use_awaitable, ec));
  disarm_deadline();
  co_return !ec;
}

awaitable<void> HttpSession::refuse(unsigned status, const std::string& reason, const std::string& what) {
  log_refusal(*registration_.state().logger, peer_, what, status, reason);
  const Response response = error_response(status, reason, 11, false);
  if (co_await write(response)) co_await close_after_answer();
}

awaitable<void> HttpSession::close_after_answer() {
  boost::system::error_code ec;
  socket_.shutdown(Socket::shutdown_send, ec);
  // On the heap: a 4 KiB array in the coroutine frame makes GCC 12 at -O1 (sanitizer presets) report Asio's frame
  // allocator as -Wmismatched-new-delete.
  std::vector<char> discarded(4096);
  arm_deadline(linger_time);
  while (!ec) co_await socket_.async_read_some(asio::buffer(discarded), asio::redirect_error(asio::use_awaitable, ec));
  disarm_deadline();
  socket_.close(ec);
}

void HttpSession::arm_deadline(std::chrono::milliseconds duration) {
  deadline_passed_ = false;
  const unsigned generation = ++deadline_generation_;
  deadline_.expires_after(duration);
  deadline_.async_wait([weak = weak_from_this(), generation](const boost::system::error_code& ec) {
    const auto self = weak.lock();
    if (ec || !self || self->deadline_generation_ != generation) return;
    self->deadline_passed_ = true;
    boost::system::error_code ignored;
    self->socket_.cancel(ignored);
  });
}

void HttpSession::disarm_deadline() {
  ++deadline_generation_;
  deadline_.cancel();
}

}  // namespace insitu::api
