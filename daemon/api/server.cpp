#include "daemon/api/server.hpp"

#include <sys/stat.h>

#include <sstream>
#include <stdexcept>
#include <vector>

#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "daemon/api/http_session.hpp"
#include "daemon/api/peer.hpp"
#include "daemon/api/server_state.hpp"

namespace insitu::api {
namespace {

using asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

// After an accept error (out of file descriptors), before the next accept.
constexpr std::chrono::milliseconds accept_retry{100};

std::string describe(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address().to_string();
  return endpoint.address().is_v6() ? fmt::format("[{}]:{}", address, endpoint.port())
                                    : fmt::format("{}:{}", address, endpoint.port());
}

template <class Protocol>
std::optional<Socket> generic_socket(asio::basic_stream_socket<Protocol>& socket) {
  boost::system::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return std::nullopt;
  const auto executor = socket.get_executor();
  return Socket(executor, asio::generic::stream_protocol(protocol), socket.release());
}

// Past the connection limit: a 503 written without waiting (it fits an empty socket buffer), then closed.
void turn_away(ServerState& state, Socket& socket, const Peer& peer) {
  const auto reason = fmt::format("more than {} connections", state.limits.max_connections);
  log_refusal(*state.logger, peer, "connection", 503, reason);
  std::ostringstream answer;
  answer << error_response(503, reason, 11, false);
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(answer.str()), ec);
  socket.shutdown(Socket::shutdown_both, ec);
  socket.close(ec);
}

void admit(const std::shared_ptr<ServerState>& state, Socket socket, Peer peer) {
  if (state->sessions.size() >= state->limits.max_connections) {
    turn_away(*state, socket, peer);
    return;
  }
  HttpSession::start(std::make_shared<HttpSession>(state, std::move(socket), std::move(peer)));
}

std::optional<Peer> peer_of(tcp::socket& socket) { return tcp_peer(socket); }
std::optional<Peer> peer_of(unix_stream::socket& socket) { return unix_peer(socket); }

template <class Acceptor>
awaitable<void> accept_connections(std::shared_ptr<ServerState> state, Acceptor& acceptor) {
  asio::steady_timer pause(acceptor.get_executor());
  for (;;) {
    boost::system::error_code ec;
    auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      state->logger->error("API: accepting a connection failed: {}", ec.message());
      pause.expires_after(accept_retry);
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto peer = peer_of(socket);
    auto generic = generic_socket(socket);
    if (peer && generic) admit(state, std::move(*generic), std::move(*peer));
  }
}

// A socket file left by a server that is gone is replaced; anything else in the way is an error.
void clear_stale_socket(asio::any_io_executor loop, const std::filesystem::path& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return;
  if (!S_ISSOCK(info.st_mode)) throw std::runtime_error(fmt::format("{} exists and is not a socket", path.string()));
  unix_stream::socket probe(loop);
  boost::system::error_code ec;
  probe.connect(unix_stream::endpoint(path.string()), ec);
  if (!ec) throw std::runtime_error(fmt::format("another server answers on {}", path.string()));
  std::filesystem::remove(path);
}

}  // namespace

ApiServer::ApiServer(asio::any_io_executor loop, ApiSettings settings, service::Control& control,
                     std::shared_ptr<spdlog::logger> logger)
    : loop_(std::move(loop)),
      settings_(std::move(settings)),
      control_(control),
      state_(std::make_shared<ServerState>(settings_.limits, Router(control, settings_.token, logger), logger)) {}

ApiServer::~ApiServer() { stop(); }

void ApiServer::start() {
  if (started_) return;
  started_ = true;
  if (settings_.tcp) listen_tcp(*settings_.tcp);
  if (settings_.unix_socket) listen_unix(*settings_.unix_socket);
  control_.on_broadcast([weak = std::weak_ptr<ServerState>(state_)](const nlohmann::json& message) {
    if (const auto state = weak.lock(); state && !state->stopping) state->hub.broadcast(message);
  });
}

void ApiServer::stop() {
  if (state_->stopping) return;
  state_->stopping = true;
  boost::system::error_code ignored;
  if (state_->tcp_acceptor) state_->tcp_acceptor->close(ignored);
  if (state_->unix_acceptor) state_->unix_acceptor->close(ignored);
  const std::vector<Session*> sessions(state_->sessions.begin(), state_->sessions.end());
  for (Session* session : sessions) session->close();
  std::error_code not_removed;  // gone already: nothing to do
  if (unix_socket_bound_) std::filesystem::remove(*settings_.unix_socket, not_removed);
  if (started_) state_->logger->info("API: stopped");
}

void ApiServer::listen_tcp(const tcp::endpoint& endpoint) {
  auto& acceptor = state_->tcp_acceptor.emplace(loop_);
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(fmt::format("API: cannot listen on {}: {}", describe(endpoint), ec.message()));
  tcp_port_ = acceptor.local_endpoint().port();
  asio::co_spawn(loop_, accept_connections(state_, acceptor), asio::detached);
  state_->logger->info("API: listening on {}", describe(acceptor.local_endpoint()));
}

void ApiServer::listen_unix(const std::filesystem::path& path) {
  try {
    clear_stale_socket(loop_, path);
    auto& acceptor = state_->unix_acceptor.emplace(loop_);
    acceptor.open(unix_stream());
    acceptor.bind(unix_stream::endpoint(path.string()));
    unix_socket_bound_ = true;
    // Before listen(), so that no one connects while the mode is still the umask's.
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                           std::filesystem::perms::group_read | std::filesystem::perms::group_write);
    acceptor.listen(asio::socket_base::max_listen_connections);
    asio::co_spawn(loop_, accept_connections(state_, acceptor), asio::detached);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("API: cannot listen on unix socket {}: {}", path.string(), e.what()));
  }
  state_->logger->info("API: listening on unix socket {}", path.string());
}

}  // namespace insitu::api
