#pragma once
// The one owner of the event loop: the io_context, the signal set and every thread of the process (frame
// readers, analysis workers, blocking clients, simulators; the run file's writer belongs to the file it writes). Drivers, the
// engine, the acquisition and the run run on this loop; workers post their results back to it.
#include <csignal>
#include <functional>
#include <memory>

#include "daemon/analysis_pool.hpp"
#include "daemon/simulation.hpp"
#include "drivers/io/asio.hpp"

namespace insitu::daemon {

// SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 blocked in the thread that makes it, from then until it goes: threads
// started meanwhile inherit the mask, so these signals interrupt only the loop (which unblocks them while it runs),
// never a worker's or a simulator's system call.
class ControlSignalsBlocked {
 public:
  ControlSignalsBlocked();
  ~ControlSignalsBlocked();  // the mask as it was
  ControlSignalsBlocked(const ControlSignalsBlocked&) = delete;
  ControlSignalsBlocked& operator=(const ControlSignalsBlocked&) = delete;
  static sigset_t signals();

 private:
  sigset_t previous_;
};

class Host {
 public:
  Host();
  ~Host();  // stops the analysis workers and joins every thread
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  asio::any_io_executor loop() { return io_.get_executor(); }
  // Frame files are read and darks combined here, off the loop.
  asio::any_io_executor frame_readers() { return readers_.get_executor(); }
  // Slow file work off the loop: a run's HTML report between runs, the disk-space probes during one.
  asio::any_io_executor background() { return background_.get_executor(); }
  // Client libraries that block (Tango's reads, each bounded by its timeout) here, off the loop.
  asio::any_io_executor blocking_clients() { return blocking_clients_.get_executor(); }

  // The simulated instruments for --simulate, alive until the host goes (the stage's pty under `dir`).
  Simulation& start_simulation(const io::RunClock& clock, const std::filesystem::path& dir);
  // The detector side only, the stage at `external_stage_url`; the fault console under `dir`.
  Simulation& start_simulation(const io::RunClock& clock, const std::filesystem::path& dir,
                               std::string external_stage_url);
  Simulation* simulation() { return simulation_.get(); }
  // `workers` analysis threads over the pipelines, results posted to the loop.
  PooledAnalysis& start_analysis(const PipelineWorkers& pipelines, std::size_t workers, std::size_t queue_capacity);

  // SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 go to `handler` on the loop while run() runs.
  void on_signal(std::function<void(int signal)> handler) { on_signal_ = std::move(handler); }

  // Runs the loop on this thread until `task` completes and what it leaves behind has run; rethrows what the
  // task threw. The task ends its own work (closes its instruments) before it completes.
  void run(awaitable<void> task);

 private:
  void wait_for_signal();

  ControlSignalsBlocked blocked_;  // first: every thread below starts with the control signals blocked
  asio::io_context io_;
  asio::signal_set signals_;
  std::function<void(int)> on_signal_;
  asio::thread_pool readers_{1};
  asio::thread_pool background_{1};
  asio::thread_pool blocking_clients_{1};
  std::unique_ptr<Simulation> simulation_;
  std::unique_ptr<PooledAnalysis> analysis_;
};

}  // namespace insitu::daemon
