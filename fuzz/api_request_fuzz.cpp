// The API's request handling: raw bytes through Beast's parser with the server's limits, then the router with its
// access rules and JSON bodies, against a fake service. Anything but an answer (an exception, a crash) is a bug:
// the router must turn every request into a response. The first byte chooses the peer (socket, loopback, remote).
#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/api/router.hpp"
#include "daemon/api/server.hpp"
#include "fuzz/scratch_file.hpp"
#include "tests/api/fake_control.hpp"

namespace {

insitu::api::Peer peer_from(std::uint8_t selector) {
  using Kind = insitu::api::Peer::Kind;
  static constexpr Kind kinds[] = {Kind::unix_socket, Kind::loopback, Kind::remote};
  return {kinds[selector % 3], "fuzz"};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace http = boost::beast::http;
  if (size == 0) return 0;
  static insitu::api::test::FakeControl control;
  static insitu::api::Router router(control, "0123456789abcdef0123456789abcdef",
                                    std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>()));
  static const insitu::api::ApiLimits limits;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data + 1, size - 1), ec);
  if (ec || !parser.is_done()) return 0;
  const auto request = parser.release();
  const auto peer = peer_from(data[0]);
  if (insitu::api::Router::is_watch_upgrade(request)) {
    (void)router.watch(request, peer);
  } else {
    (void)router.handle(request, peer);
  }
  return 0;
}
