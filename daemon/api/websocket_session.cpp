#include "daemon/api/websocket_session.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace insitu::api {
namespace {

namespace websocket = boost::beast::websocket;

// What a watcher may send: nothing is expected, so little is read.
constexpr std::size_t inbound_message_max = 4096;
// How long a close frame may wait behind the message under way before the socket is closed under it.
constexpr std::chrono::milliseconds close_grace{1000};

}  // namespace

WebSocketSession::WebSocketSession(std::shared_ptr<ServerState> state, Socket socket, Peer peer)
    : registration_(std::move(state), this),
      ws_(std::move(socket)),
      peer_(std::move(peer)),
      wake_(ws_.get_executor()),
      close_deadline_(ws_.get_executor()) {}

WebSocketSession::~WebSocketSession() {
  if (in_hub_) registration_.state().hub.remove(this);
}

void WebSocketSession::start(std::shared_ptr<WebSocketSession> session, Request upgrade,
                             const nlohmann::json& hello) {
  session->queue(std::make_shared<const std::string>(hello.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  const auto executor = session->ws_.get_executor();
  asio::co_spawn(executor, run(std::move(session), std::move(upgrade)), asio::detached);
}

void WebSocketSession::close() { end({websocket::close_code::going_away, "insitud is stopping"}); }

void WebSocketSession::deliver(const std::shared_ptr<const std::string>& message) {
  if (ending_) return;
  const auto limit = registration_.state().limits.max_ws_queue_bytes;
  if (queued_bytes_ + message->size() > limit) {
    registration_.state().logger->warn("API: watcher {} dropped: {} bytes waiting for it, more than {}",
                                       peer_.description, queued_bytes_ + message->size(), limit);
    end({websocket::close_code::policy_error, "too far behind: messages were dropped"});
    return;
  }
  queue(message);
}

void WebSocketSession::queue(std::shared_ptr<const std::string> message) {
  queued_bytes_ += message->size();
  queue_.push_back(std::move(message));
  wake_.cancel();
}

awaitable<void> WebSocketSession::run(std::shared_ptr<WebSocketSession> self, Request upgrade) {
  const auto& limits = self->registration_.state().limits;
  self->ws_.set_option(websocket::stream_base::timeout{limits.request_timeout, limits.idle_timeout, true});
  self->ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(http::field::server, "insitud"); }));
  self->ws_.read_message_max(inbound_message_max);
  self->ws_.text(true);
  boost::system::error_code ec;
  co_await self->ws_.async_accept(upgrade, asio::redirect_error(asio::use_awaitable, ec));
  if (ec || self->ending_) {
    self->close_socket();
    co_return;
  }
  self->registration_.state().hub.add(self.get());
  self->in_hub_ = true;
  self->registration_.state().logger->info("API: watcher {} connected", self->peer_.description);
  asio::co_spawn(self->ws_.get_executor(), write_queue(self), asio::detached);
  co_await self->read_until_closed();
}

awaitable<void> WebSocketSession::write_queue(std::shared_ptr<WebSocketSession> self) {
  boost::system::error_code ec;
  while (!self->ending_) {
    if (self->queue_.empty()) {
      self->wake_.expires_at(asio::steady_timer::time_point::max());
      co_await self->wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    const auto message = std::move(self->queue_.front());
    self->queue_.pop_front();
    co_await self->ws_.async_write(asio::buffer(*message), asio::redirect_error(asio::use_awaitable, ec));
    self->queued_bytes_ -= message->size();
    if (ec) {
      self->ending_ = true;
      self->close_socket();
    }
  }
}

// Watchers say nothing, but reading is what answers pings and sees the close frame and the idle timeout.
awaitable<void> WebSocketSession::read_until_closed() {
  boost::beast::flat_buffer buffer;
  boost::system::error_code ec;
  while (!ec) {
    co_await ws_.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
    buffer.clear();
  }
  registration_.state().logger->info("API: watcher {} left: {}", peer_.description, ec.message());
  ending_ = true;
  wake_.cancel();
  close_socket();
}

void WebSocketSession::end(const websocket::close_reason& reason) {
  if (ending_) return;
  ending_ = true;
  for (const auto& message : queue_) queued_bytes_ -= message->size();
  queue_.clear();
  wake_.cancel();
  if (!ws_.is_open()) {
    close_socket();
    return;
  }
  ws_.async_close(reason, [self = shared_from_this()](const boost::system::error_code&) { self->close_socket(); });
  close_deadline_.expires_after(close_grace);
  close_deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (const auto self = weak.lock(); self && !ec) self->close_socket();
  });
}

void WebSocketSession::close_socket() {
  boost::system::error_code ignored;
  boost::beast::get_lowest_layer(ws_).close(ignored);
  close_deadline_.cancel();
}

}  // namespace insitu::api
