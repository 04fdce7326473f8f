#include "tests/api/api_fixture.hpp"

#include <cstdlib>

namespace insitu::api::test {

ApiTest::ApiTest()
    : work_(asio::make_work_guard(io_)),
      loop_thread_([this] { io_.run(); }),
      log_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096)),
      logger_(std::make_shared<spdlog::logger>("api-test", log_)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "insitu-api-XXXXXX").string();
  dir_ = ::mkdtemp(pattern.data());
  logger_->set_level(spdlog::level::debug);
}

ApiTest::~ApiTest() {
  on_loop([this] { server_.reset(); });
  work_.reset();
  loop_thread_.join();
  std::filesystem::remove_all(dir_);
}

ApiLimits ApiTest::short_limits() {
  ApiLimits limits;
  limits.idle_timeout = std::chrono::milliseconds(2000);
  limits.request_timeout = std::chrono::milliseconds(800);
  return limits;
}

void ApiTest::start(ApiLimits limits, asio::ip::tcp::endpoint tcp) {
  on_loop([&] {
    ApiSettings settings{tcp, socket_path(), test_token, limits};
    server_ = std::make_unique<ApiServer>(io_.get_executor(), settings, control_, logger_);
    server_->start();
    port_ = server_->tcp_port();
  });
  tcp_address_ = tcp.address();
}

bool ApiTest::logged(std::string_view text) const {
  for (const auto& line : log_->last_formatted()) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace insitu::api::test
