#pragma once
// The server on its own loop thread (127.0.0.1:0 and a Unix socket in a temporary directory) over a FakeControl,
// its log kept for the tests to read.
#include <future>
#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/api/server.hpp"
#include "tests/api/api_client.hpp"
#include "tests/api/fake_control.hpp"

namespace insitu::api::test {

class ApiTest : public ::testing::Test {
 protected:
  ApiTest();
  ~ApiTest() override;

  // Limits short enough for tests that wait for them.
  static ApiLimits short_limits();
  void start(ApiLimits limits = short_limits(),
             asio::ip::tcp::endpoint tcp = {asio::ip::make_address("127.0.0.1"), 0});

  // Runs `task` on the loop and waits for it; rethrows what it threw.
  template <class Task>
  auto on_loop(Task task) -> decltype(task()) {
    std::packaged_task<decltype(task())()> packaged(std::move(task));
    auto result = packaged.get_future();
    asio::post(io_, [&packaged] { packaged(); });
    return result.get();
  }

  Endpoint tcp() const { return {asio::ip::tcp::endpoint(tcp_address_, port_), std::nullopt}; }
  Endpoint unix_socket() const { return {std::nullopt, socket_path()}; }
  std::filesystem::path socket_path() const { return dir_ / "insitud.sock"; }
  bool logged(std::string_view text) const;
  void broadcast(const nlohmann::json& message) {
    on_loop([&] { control_.broadcast(message); });
  }

  std::filesystem::path dir_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread loop_thread_;
  FakeControl control_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<ApiServer> server_;
  asio::ip::address tcp_address_;
  std::uint16_t port_ = 0;
};

}  // namespace insitu::api::test
