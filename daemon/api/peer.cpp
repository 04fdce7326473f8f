#include "daemon/api/peer.hpp"

#include <sys/socket.h>

#include <fmt/format.h>

namespace insitu::api {
namespace {

bool is_loopback(const asio::ip::address& address) {
  if (address.is_loopback()) return true;
  if (!address.is_v6() || !address.to_v6().is_v4_mapped()) return false;
  return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback();
}

}  // namespace

std::optional<Peer> tcp_peer(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return std::nullopt;
  const auto& address = endpoint.address();
  const auto description = address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), endpoint.port())
                                           : fmt::format("{}:{}", address.to_string(), endpoint.port());
  return Peer{is_loopback(address) ? Peer::Kind::loopback : Peer::Kind::remote, description};
}

Peer unix_peer(asio::local::stream_protocol::socket& socket) {
  ucred credentials{};
  socklen_t size = sizeof credentials;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return {Peer::Kind::unix_socket, "unix socket"};
  return {Peer::Kind::unix_socket, fmt::format("unix socket (pid {}, uid {})", credentials.pid, credentials.uid)};
}

}  // namespace insitu::api
