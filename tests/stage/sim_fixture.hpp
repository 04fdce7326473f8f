#pragma once
// Shared by the stage tests: a run clock, a simulated stage behind a real pty on its own thread, and a
// way to run a coroutine on a test-owned loop.
#include <filesystem>
#include <optional>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "drivers/io/clock.hpp"
#include "drivers/linkam/driver.hpp"
#include "drivers/linkam/sim/background_stage.hpp"

namespace insitu::testing {

inline std::filesystem::path fresh_temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("insitu-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::shared_ptr<spdlog::logger> quiet_logger(const std::string& name) {
  return std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::null_sink_mt>());
}

// Runs `task` to completion on `io` and returns its result, rethrowing what it threw.
template <typename T>
T run_to_completion(asio::io_context& io, awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) result = std::move(value);
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

inline void run_to_completion(asio::io_context& io, awaitable<void> task) {
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) { failure = e; });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
}

struct StageFixture {
  explicit StageFixture(const std::string& name, double speed)
      : dir(fresh_temp_dir(name)), clock(speed), stage(clock, dir / "ttyLinkam") {}
  ~StageFixture() { std::filesystem::remove_all(dir); }

  linkam::DriverSettings driver_settings() const {
    linkam::DriverSettings s;
    s.url = io::parse_connection_url(stage.url());
    return s;
  }

  std::filesystem::path dir;
  io::RunClock clock;
  linkam::sim::BackgroundStage stage;
};

}  // namespace insitu::testing
