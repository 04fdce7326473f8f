#pragma once
// The simulated delay generator on its own thread and io_context, sharing the caller's run clock: how
// `insitu run --simulate` and the tests put a BNC 575 behind a real pseudo-terminal. Pulses reach `on_pulse`
// on the simulator's thread at their edge time.
#include <future>
#include <thread>

#include "drivers/trigger/sim/pty_server.hpp"

namespace insitu::trigger::sim {

class BackgroundTrigger {
 public:
  BackgroundTrigger(const io::RunClock& clock, std::filesystem::path link, EmulatorConfig config = {},
                    PtyServer::PulseHandler on_pulse = {})
      : server_(io_, clock, std::move(link), std::move(config), std::move(on_pulse)),
        work_(asio::make_work_guard(io_)),
        thread_([this] { io_.run(); }) {}

  ~BackgroundTrigger() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  BackgroundTrigger(const BackgroundTrigger&) = delete;
  BackgroundTrigger& operator=(const BackgroundTrigger&) = delete;

  std::string url() const { return "pty:" + server_.link().string(); }
  void inject(Fault fault, std::string command_prefix = {}) { server_.inject(fault, std::move(command_prefix)); }
  void set_echo(bool on) { server_.set_echo(on); }
  void unplug(double down_run_s) { server_.unplug(down_run_s); }

  // Runs `inspect(server)` on the simulator's thread and returns its result (tests: emulator state, the
  // commands received).
  template <typename F>
  auto with_server(F inspect) {
    using Result = decltype(inspect(server_));
    std::packaged_task<Result()> task([&] { return inspect(server_); });
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

}  // namespace insitu::trigger::sim
