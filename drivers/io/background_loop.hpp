#pragma once
// A simulated instrument on its own thread and io_context, sharing the caller's run clock: how
// `insitu run --simulate` and the tests put a device behind a real pseudo-terminal. `Server` is constructed
// with the io_context first, then the given arguments, and must have `link()` (the pty path it publishes).
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "drivers/io/asio.hpp"

namespace insitu::io {

template <typename Server>
class BackgroundLoop {
 public:
  template <typename... Args>
  explicit BackgroundLoop(Args&&... args)
      : server_(io_, std::forward<Args>(args)...), work_(asio::make_work_guard(io_)), thread_([this] { serve(); }) {}

  ~BackgroundLoop() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  // The pty path the server publishes; fixed for the server's life, so any thread may read it.
  const std::filesystem::path& link() const { return server_.link(); }
  std::string url() const { return "pty:" + link().string(); }

  // Runs `inspect(server)` on the simulator's thread and returns its result.
  template <typename F>
  auto on_loop(F inspect) {
    using Result = decltype(inspect(server_));
    std::packaged_task<Result()> task([&] { return inspect(server_); });
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

 protected:
  // Only for the calls the server itself makes thread-safe (they post to its loop).
  Server& server() { return server_; }

 private:
  // A handler that throws (a simulator's bug, a full disk under the files it writes) is said on stderr and the
  // instrument goes on: an exception leaving the thread would end the whole process, the run's safe state unsent.
  void serve() {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "simulated instrument: %s\n", e.what());
      }
    }
  }

  asio::io_context io_;
  Server server_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace insitu::io
