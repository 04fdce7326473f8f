#include "daemon/host.hpp"

#include <pthread.h>

#include "drivers/io/loop_thread.hpp"

namespace insitu::daemon {

sigset_t ControlSignalsBlocked::signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  return set;
}

ControlSignalsBlocked::ControlSignalsBlocked() {
  const auto set = signals();
  pthread_sigmask(SIG_BLOCK, &set, &previous_);
}

ControlSignalsBlocked::~ControlSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

Host::Host() : signals_(io_, SIGINT, SIGTERM, SIGHUP) {
  signals_.add(SIGUSR1);
  signals_.add(SIGUSR2);
}

Host::~Host() {
  analysis_.reset();
  readers_.join();
  background_.join();
  blocking_clients_.join();
  simulation_.reset();
}

Simulation& Host::start_simulation(const io::RunClock& clock, const std::filesystem::path& dir) {
  simulation_ = std::make_unique<Simulation>(clock, dir);
  return *simulation_;
}

Simulation& Host::start_simulation(const io::RunClock& clock, const std::filesystem::path& dir,
                                   std::string external_stage_url) {
  simulation_ = std::make_unique<Simulation>(clock, dir, std::move(external_stage_url));
  return *simulation_;
}

PooledAnalysis& Host::start_analysis(const PipelineWorkers& pipelines, std::size_t workers,
                                     std::size_t queue_capacity) {
  analysis_ =
      std::make_unique<PooledAnalysis>(io_.get_executor(), pipelines, AnalysisPoolOptions{workers, queue_capacity});
  return *analysis_;
}

void Host::wait_for_signal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (on_signal_) on_signal_(signal);
    wait_for_signal();
  });
}

void Host::run(awaitable<void> task) {
  std::exception_ptr failure;
  bool done = false;
  wait_for_signal();
  asio::co_spawn(io_, std::move(task), [this, &failure, &done](std::exception_ptr error) {
    failure = error;
    done = true;
    signals_.cancel();
  });
  io::LoopThread::Guard on_loop;
  const auto control = ControlSignalsBlocked::signals();
  pthread_sigmask(SIG_UNBLOCK, &control, nullptr);
  while (!done && io_.run_one()) {
  }
  pthread_sigmask(SIG_BLOCK, &control, nullptr);
  // What the task left behind (cancelled timers, reads being closed, results in flight) completes now, while
  // everything it touches still exists; nothing new is started. The limit only guards against a leaked timer.
  constexpr auto kDrainLimit = std::chrono::seconds(2);
  const auto deadline = std::chrono::steady_clock::now() + kDrainLimit;
  while (io_.run_one_until(deadline)) {
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace insitu::daemon
