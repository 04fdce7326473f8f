#pragma once
// Who is at the other end of an accepted connection, and whether it is on this machine.
#include <optional>

#include "daemon/api/responses.hpp"
#include "drivers/io/asio.hpp"

namespace insitu::api {

// Nothing when the peer has already gone.
std::optional<Peer> tcp_peer(const asio::ip::tcp::socket& socket);
Peer unix_peer(asio::local::stream_protocol::socket& socket);

}  // namespace insitu::api
