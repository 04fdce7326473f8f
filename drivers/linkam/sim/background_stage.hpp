#pragma once
// The simulated stage on its own thread and io_context, sharing the caller's run clock: how
// `insitu run --simulate` and the tests put a controller behind a real pseudo-terminal.
#include <future>
#include <thread>

#include "drivers/linkam/sim/pty_server.hpp"

namespace insitu::linkam::sim {

class BackgroundStage {
 public:
  BackgroundStage(const io::RunClock& clock, std::filesystem::path link, std::uint64_t seed = 1)
      : server_(io_, clock, std::move(link), seed), work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

  ~BackgroundStage() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  BackgroundStage(const BackgroundStage&) = delete;
  BackgroundStage& operator=(const BackgroundStage&) = delete;

  std::string url() const { return "pty:" + server_.link().string(); }
  void set_fault(Fault fault, bool on) { server_.set_fault(fault, on); }
  void unplug(double down_run_s) { server_.unplug(down_run_s); }

  // Runs `inspect(model)` on the simulator's thread and returns its result (tests: state, back doors).
  template <typename F>
  auto with_model(F inspect) {
    using Result = decltype(inspect(server_.model()));
    std::packaged_task<Result()> task([&] { return inspect(server_.model()); });
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

 private:
  asio::io_context io_;
  PtyServer server_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace insitu::linkam::sim
