#include "daemon/run_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <optional>

#include "daemon/bluesky/zmq_publisher.hpp"
#include "daemon/console.hpp"
#include "daemon/host.hpp"
#include "daemon/run_session.hpp"

namespace insitu::daemon {
namespace {

std::string_view signal_name(int signal) {
  return signal == SIGINT ? "SIGINT" : signal == SIGHUP ? "SIGHUP" : "SIGTERM";
}

int exit_code(SessionEnd end) {
  switch (end) {
    case SessionEnd::completed:
      return run_completed;
    case SessionEnd::aborted_or_failed:
      return run_aborted_or_failed;
    case SessionEnd::record_incomplete:
      return run_record_incomplete;
    case SessionEnd::completed_with_deviations:
      return run_completed_with_deviations;
  }
  return run_aborted_or_failed;
}

// SIGINT, SIGTERM and SIGHUP (the terminal went) abort, the stage put in its safe state first; SIGUSR1 pauses,
// SIGUSR2 resumes. One that came while the session was being prepared waited (blocked) for the loop; an abort then
// reaches the run as soon as it starts.
void control_by_signals(Host& host, RunSession& session) {
  host.on_signal([&session](int signal) {
    auto* run = session.run();
    if (signal == SIGUSR1 || signal == SIGUSR2) {
      if (run && signal == SIGUSR1) run->pause();
      if (run && signal == SIGUSR2) run->resume();
      return;
    }
    session.abort(fmt::format("signal {}", signal_name(signal)));
  });
}

// The control signals blocked for the whole command, so that none kills the process before the run exists (they
// wait until the loop runs); any still pending at the end (one that came as the run closed) is taken, so that the
// exit code stays the run's.
class ControlSignalsHeld {
 public:
  ControlSignalsHeld() = default;
  ~ControlSignalsHeld() {
    const auto control = ControlSignalsBlocked::signals();
    const timespec no_wait{};
    while (sigtimedwait(&control, nullptr, &no_wait) > 0) {
    }
  }
  ControlSignalsHeld(const ControlSignalsHeld&) = delete;
  ControlSignalsHeld& operator=(const ControlSignalsHeld&) = delete;

 private:
  ControlSignalsBlocked blocked_;
};

// The abort signal already waiting, if any: one that came before anything of the run exists.
std::optional<int> pending_abort_signal() {
  sigset_t pending;
  sigpending(&pending);
  for (int s : {SIGINT, SIGTERM, SIGHUP})
    if (sigismember(&pending, s) == 1) return s;
  return std::nullopt;
}

}  // namespace

int run_recipe(const RunOptions& options, const SimulationSettings& simulation) {
  const ControlSignalsHeld held;
  recipe::Recipe recipe;
  try {
    recipe = recipe::load_recipe(options.recipe_path);
  } catch (const recipe::RecipeError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return run_not_started;
  } catch (const std::exception& e) {
    fmt::print(stderr, "cannot read the recipe: {}\n", e.what());
    return run_not_started;
  }
  const bool live_status = options.live_status.value_or(::isatty(STDOUT_FILENO) == 1);
  SessionSettings settings;
  settings.recipe_source = std::filesystem::absolute(options.recipe_path).string();
  settings.output = options.output.value_or(std::filesystem::path(recipe.output_directory));
  settings.linkam_url = options.linkam_url;
  settings.analysis_workers = options.analysis_workers;
  settings.live_status = live_status;
  settings.log_sinks = {console_log_sink(live_status)};
  settings.simulate = options.simulate;
  settings.simulation = simulation;
  if (const auto signal = pending_abort_signal()) {
    fmt::print(stderr, "{} before the run started: nothing done\n", signal_name(*signal));
    return run_not_started;
  }
  // Bound before the run is prepared, so that subscribers already waiting are connected when the start goes out.
  std::unique_ptr<bluesky::ZmqPublisher> publisher;
  try {
    if (options.bluesky_zmq) publisher = std::make_unique<bluesky::ZmqPublisher>(*options.bluesky_zmq);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return run_not_started;
  }
  settings.bluesky = {options.bluesky_jsonl, publisher.get()};
  const io::RunClock clock(options.speed);
  Host host;
  std::unique_ptr<RunSession> session;
  try {
    session = std::make_unique<RunSession>(host, clock, std::move(recipe), std::move(settings));
  } catch (const SessionNotStarted& e) {
    fmt::print(stderr, "{}\n", e.what());
    return run_not_started;
  }
  control_by_signals(host, *session);
  SessionEnd end = SessionEnd::aborted_or_failed;
  host.run([&]() -> awaitable<void> { end = co_await session->execute(); }());
  if (live_status)
    fmt::print("run {} after {:.0f} s of run time; file {}\n", documents::to_string(session->stop().exit_status),
               session->stop().time_s, session->file_path().string());
  return exit_code(end);
}

}  // namespace insitu::daemon
