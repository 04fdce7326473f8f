#pragma once
// Linkam T95 driver on the Asio loop: one command in flight, reply deadlines with resync, and reconnection
// when the port vanishes: T first, then the rate, limit and pump mode re-applied, then the controller's run state
// (SB1 of that first reading) compared with what it was last asked to do and restored (a power-cycled controller
// comes back stopped). `S` goes out only to a stopped controller, never to one that is already ramping.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "drivers/io/clock.hpp"
#include "drivers/io/instrument_link.hpp"
#include "drivers/io/run_events.hpp"
#include "drivers/linkam/codec.hpp"

namespace insitu::linkam {

struct StageLimits {
  double min_K = 77.0;  // THMS600 with LN2
  double max_K = 873.15;
  double max_rate_K_per_min = kMaxRate_K_per_min;
};

struct DriverSettings {
  io::ConnectionUrl url;
  StageLimits limits;
  double reply_timeout_s = 1.0;        // run time; never below the clock's I/O floor on the wall
  double command_gap_s = 0.2;          // pacing between commands (run time)
  int attempts_per_command = 3;        // before the link counts as lost
  double max_backoff_s = 15.0;         // reconnect back-off ceiling (run time)
  // A reading is stamped midway between request and reply; one whose exchange took longer than twice this is
  // not trusted (its time is unknown by more than this) and is asked for again.
  double max_stamp_uncertainty_s = 0.25;
};

struct Reading {
  double time_s;              // run clock, midway between request and reply
  double time_uncertainty_s;  // half the exchange: the reading was taken somewhere within it
  Status status;
};

enum class PumpMode { automatic, manual };

// What the controller was last asked to do: run a ramp (start), hold (hold_current) or stop.
enum class RunIntent { none, running, holding, stopped };

// The link came back: what the controller said first, before anything was restored.
struct Reconnection {
  Reading found;
  // It was found stopped while it should have been running, and was started again: it ramps on from the
  // temperature the stage is at, not from where its setpoint had got to.
  bool restarted = false;
};

// Failures the caller must see: a command beyond the stage limits (never sent), or a link that stayed down.
class DriverError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A command refused before anything was sent because it would take the stage beyond its limits.
class LimitRefused : public DriverError {
  using DriverError::DriverError;
};

class Driver {
 public:
  using EventHandler = io::RunEventHandler;

  Driver(const io::RunClock& clock, DriverSettings settings, std::shared_ptr<spdlog::logger> logger);
  ~Driver();

  // Events (kind: "fault", "warning", "info") for the run record: link lost, reconnected, bad replies.
  void set_event_handler(EventHandler handler) { events_.set_handler(std::move(handler)); }
  // Called on the loop after every reconnection, once the controller's state is restored.
  void set_reconnect_handler(std::function<void(const Reconnection&)> handler) { on_reconnect_ = std::move(handler); }

  // Opens the port and sends `T` (the controller ignores anything before it). Throws on failure.
  awaitable<void> connect();
  void close();
  bool connected() const { return link_.is_open(); }

  // One `T` exchange; nullopt when no valid reply came after resyncs and a reconnect attempt.
  awaitable<std::optional<Reading>> read_status();

  // Set commands: each checked against the stage limits before anything is sent, retried with resync,
  // and remembered so a reconnect re-applies them. Throw DriverError when they cannot be delivered.
  awaitable<void> set_rate(double rate_K_per_min);
  awaitable<void> set_limit(double limit_K);
  // Makes the controller ramp toward the limit: reads SB1 first and sends `S` only when it is stopped, `H`/`C`
  // when it holds the current temperature (after `O`), nothing when it already ramps or sits at its limit.
  awaitable<void> start();
  awaitable<void> stop();
  awaitable<void> hold_current();
  awaitable<void> set_pump(PumpMode mode, int manual_speed = 0);
  RunIntent intent() const { return intent_; }
  // From the wall-clock instant `deadline` on, commands and readings fail at once rather than wait out reply
  // timeouts and the reconnect back-off: an abort and the safe-state path must end even with a silent controller.
  void give_up_at(io::RunClock::wall_clock::time_point deadline) { give_up_at_ = deadline; }
  bool given_up() const { return give_up_at_ && io::RunClock::wall_clock::now() >= *give_up_at_; }

  const DriverSettings& settings() const { return settings_; }
  // Readings asked for again because their exchange took too long to be stamped (scheduler stalls, a slow link).
  std::uint64_t restamped_readings() const { return restamped_readings_; }

 private:
  enum class Outcome { ok, timeout, closed };
  struct Exchange {
    Outcome outcome;
    std::string line;
  };

  awaitable<Exchange> exchange(const std::string& command);
  awaitable<bool> set_exchange(const std::string& command);
  awaitable<std::optional<Reading>> greet();
  awaitable<std::optional<Reading>> read_status_locked();
  // `to` could follow `from`: no fault bit raised, no jump beyond the stage's fastest rate.
  bool plausible_after(const Reading& from, const Reading& to) const;
  awaitable<bool> try_reconnect(bool wait_for_backoff);
  awaitable<bool> reapply_settings();
  awaitable<std::optional<bool>> restore_run_state(const Reading& found);
  awaitable<void> send_set_command(const std::string& command);
  awaitable<void> pace();
  awaitable<void> wait_to_reconnect();

  const io::RunClock& clock_;
  DriverSettings settings_;
  std::shared_ptr<spdlog::logger> log_;
  io::RunEvents events_;
  io::InstrumentLink link_;
  double last_command_s_ = -1e300;
  std::uint64_t restamped_readings_ = 0;
  std::optional<Reading> trusted_;  // the last reading given out (or found on connecting): the next is judged by it

  // What the controller should be doing, re-applied after a reconnect.
  std::optional<double> rate_K_per_min_;
  std::optional<double> limit_K_;
  std::optional<std::pair<PumpMode, int>> pump_;
  RunIntent intent_ = RunIntent::none;
  std::function<void(const Reconnection&)> on_reconnect_;
  std::optional<io::RunClock::wall_clock::time_point> give_up_at_;
};

}  // namespace insitu::linkam
