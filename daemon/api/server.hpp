#pragma once
// insitud's control API: HTTP/1.1 + JSON and a WebSocket of the service's messages (docs/api.md), on a TCP
// address and on a Unix socket, all on the service's loop (single-threaded).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "daemon/service/control.hpp"
#include "drivers/io/asio.hpp"

namespace insitu::api {

struct ApiLimits {
  std::size_t max_body_bytes = 64 * 1024;     // 413 beyond
  std::size_t max_header_bytes = 8 * 1024;    // 413 beyond
  std::size_t max_connections = 64;           // HTTP and WebSocket together; 503 beyond
  std::chrono::milliseconds idle_timeout{30'000};     // a keep-alive connection with no request; a silent watcher
  std::chrono::milliseconds request_timeout{10'000};  // from a request's first byte to its end (408), and a write
  std::size_t max_ws_queue_bytes = 4 * 1024 * 1024;   // a watcher with more waiting is dropped
};

struct ApiSettings {
  std::optional<asio::ip::tcp::endpoint> tcp;            // port 0: any free port (tcp_port() says which)
  std::optional<std::filesystem::path> unix_socket;      // a stale socket file there is replaced; mode 0660
  std::string token;                                     // load_or_create_token()
  ApiLimits limits = {};
};

struct ServerState;

class ApiServer {
 public:
  // Everything runs on `loop`; `control` is called there and must outlive the server.
  ApiServer(asio::any_io_executor loop, ApiSettings settings, service::Control& control,
            std::shared_ptr<spdlog::logger> logger);
  ~ApiServer();  // stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Listens on the settings' addresses and subscribes to the service's broadcasts. Throws std::runtime_error
  // (one line) when an address cannot be had.
  void start();
  // Closes the listeners and every connection; watchers get a close frame. Control is not called after this.
  void stop();

  std::uint16_t tcp_port() const { return tcp_port_; }

 private:
  void listen_tcp(const asio::ip::tcp::endpoint& endpoint);
  void listen_unix(const std::filesystem::path& path);

  asio::any_io_executor loop_;
  ApiSettings settings_;
  service::Control& control_;
  std::shared_ptr<ServerState> state_;
  std::uint16_t tcp_port_ = 0;
  bool started_ = false;
  bool unix_socket_bound_ = false;  // the socket file is ours to remove
};

}  // namespace insitu::api
