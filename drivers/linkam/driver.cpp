#include "drivers/linkam/driver.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "drivers/io/loop_thread.hpp"

namespace insitu::linkam {
namespace {

constexpr int kBaud = 19200;

// A set command is acknowledged by an empty line; the Lewis emulator sends the Python artefact b''.
bool is_acknowledgement(std::string_view line) { return line.empty() || line == "b''"; }

// The commands that take a controller found in `found` to what `intent` asks of it; none when it is there already.
// `S` only ever goes to a stopped controller: what a T95 does with `S` while it ramps is unknown (an emulator latched).
std::vector<std::string> commands_for(RunIntent intent, const Status& found, std::optional<double> limit_K) {
  const bool stopped = found.state == ControllerState::stopped;
  const bool holding = found.state == ControllerState::holding_current;
  switch (intent) {
    case RunIntent::none:
      return {};
    case RunIntent::running:
      if (stopped) return {start_command()};
      if (holding && limit_K) return {*limit_K >= found.temperature_K ? heat_command() : cool_command()};
      if (holding) return {start_command()};
      return {};
    case RunIntent::holding:
      if (stopped) return {start_command(), hold_command()};  // a stopped controller holds nothing: run, then hold
      if (holding) return {};
      return {hold_command()};
    case RunIntent::stopped:
      if (stopped) return {};
      return {stop_command()};
  }
  return {};
}

std::string_view describe(RunIntent intent) {
  switch (intent) {
    case RunIntent::none: return "idle";
    case RunIntent::running: return "running a ramp";
    case RunIntent::holding: return "holding";
    case RunIntent::stopped: return "stopped";
  }
  return "unknown";
}

}  // namespace

Driver::Driver(const io::RunClock& clock, DriverSettings settings, std::shared_ptr<spdlog::logger> logger)
    : clock_(clock),
      settings_(std::move(settings)),
      log_(std::move(logger)),
      events_(clock_, log_),
      link_(clock_, events_, "stage link",
            {settings_.url, io::SerialSettings{kBaud, io::FlowControl::none}, kTerminator, false,
             settings_.max_backoff_s}) {}

Driver::~Driver() = default;

void Driver::close() { link_.close(); }

awaitable<void> Driver::pace() {
  const double ready_s = last_command_s_ + settings_.command_gap_s;
  if (clock_.now_s() < ready_s) co_await clock_.sleep_until(ready_s);
}

awaitable<Driver::Exchange> Driver::exchange(const std::string& command) {
  io::assert_in_loop();
  co_await pace();
  last_command_s_ = clock_.now_s();
  if (auto ec = co_await link_.channel().write(frame(command)))
    co_return Exchange{Outcome::closed, ec.message()};
  auto reply = co_await link_.channel().read_line(clock_.io_deadline(settings_.reply_timeout_s));
  switch (reply.status) {
    case io::LineStatus::ok: co_return Exchange{Outcome::ok, std::move(reply.line)};
    case io::LineStatus::timeout: co_return Exchange{Outcome::timeout, {}};
    case io::LineStatus::closed: co_return Exchange{Outcome::closed, reply.error.message()};
  }
  co_return Exchange{Outcome::closed, "unknown line status"};
}

// `T` until a well-formed status comes back: the controller ignores everything before its first `T`, and
// after a timeout a late reply may still be in flight, so stale input is dropped first.
awaitable<std::optional<Reading>> Driver::greet() {
  for (int attempt = 0; attempt < settings_.attempts_per_command && link_.is_open() && !given_up(); ++attempt) {
    link_.channel().discard_input();
    co_await pace();
    const double sent_s = clock_.now_s();
    auto ex = co_await exchange(status_command());
    const double received_s = clock_.now_s();
    if (ex.outcome == Outcome::closed) {
      link_.drop(ex.line);
      co_return std::nullopt;
    }
    if (ex.outcome != Outcome::ok) continue;
    if (const auto decoded = decode_status(ex.line); decoded.status) {
      trusted_ = Reading{0.5 * (sent_s + received_s), 0.5 * (received_s - sent_s), *decoded.status};
      co_return trusted_;
    }
  }
  co_return std::nullopt;
}

awaitable<void> Driver::connect() {
  auto lock = co_await link_.lock();
  co_await link_.open();
  if (!(co_await greet())) {
    const std::string where = settings_.url.to_string();
    close();
    throw DriverError(fmt::format("no valid reply to T from the Linkam controller at {}", where));
  }
  link_.restored();
  log_->info("connected to Linkam T95 at {}", link_.describe());
}

// The back-off; once a deadline is set (an abort), waited in slices so that the deadline ends the wait.
awaitable<void> Driver::wait_to_reconnect() {
  if (!give_up_at_) co_await link_.wait_to_reconnect();
  constexpr double kSliceWall_s = 0.25;
  while (!link_.may_reconnect() && !given_up()) co_await clock_.sleep_for(kSliceWall_s * clock_.speed());
}

awaitable<bool> Driver::try_reconnect(bool wait_for_backoff) {
  if (given_up()) co_return false;
  if (!link_.may_reconnect()) {
    if (!wait_for_backoff) co_return false;
    co_await wait_to_reconnect();
    if (given_up()) co_return false;
  }
  try {
    co_await link_.open();
  } catch (const std::exception& e) {
    log_->debug("reconnect to {} failed: {}", settings_.url.to_string(), e.what());
  }
  std::optional<Reading> found;
  if (link_.is_open()) found = co_await greet();
  // The controller may have kept running its program while the link was down, or been power-cycled: give it
  // back what we had asked for, then bring its run state back to what it was told last.
  std::optional<bool> restarted;
  if (found && co_await reapply_settings()) restarted = co_await restore_run_state(*found);
  if (!restarted) {
    link_.reconnect_failed();
    co_return false;
  }
  link_.restored();
  const auto& st = found->status;
  events_.emit(io::EventKind::info,
               fmt::format("stage link {} restored: the controller read {} at {:.2f} K (pump {}, speed {}); rate, "
                           "limit{} re-applied",
                           link_.describe(), to_string(st.state), st.temperature_K,
                           st.pump_auto() ? "automatic" : "manual", st.pump_speed(), pump_ ? " and pump mode" : ""));
  if (on_reconnect_) on_reconnect_(Reconnection{*found, *restarted});
  co_return true;
}

awaitable<bool> Driver::reapply_settings() {
  if (rate_K_per_min_ && !co_await set_exchange(rate_command(*rate_K_per_min_))) co_return false;
  if (limit_K_ && !co_await set_exchange(limit_command(*limit_K_))) co_return false;
  if (!pump_) co_return true;
  const std::string mode_command = pump_->first == PumpMode::automatic ? pump_auto_command() : pump_manual_command();
  if (!co_await set_exchange(mode_command)) co_return false;
  if (pump_->first == PumpMode::manual) {
    const std::string speed_command = pump_speed_command(pump_->second);
    if (!co_await set_exchange(speed_command)) co_return false;
  }
  co_return true;
}

// nullopt: a command was not delivered; otherwise whether a stopped controller was started again.
awaitable<std::optional<bool>> Driver::restore_run_state(const Reading& found) {
  const auto& st = found.status;
  const auto commands = commands_for(intent_, st, limit_K_);
  if (commands.empty()) co_return false;
  const bool stopped_mid_run =
      st.state == ControllerState::stopped && (intent_ == RunIntent::running || intent_ == RunIntent::holding);
  if (stopped_mid_run)
    events_.emit(io::EventKind::fault,
                 fmt::format("the controller came back stopped at {:.2f} K while it was {} (power-cycled?); "
                             "started again from the stage's temperature",
                             st.temperature_K, describe(intent_)));
  else
    events_.emit(io::EventKind::warning, fmt::format("the controller came back {} while it should be {}; sending {}",
                                                     to_string(st.state), describe(intent_), fmt::join(commands, ", ")));
  for (const auto& command : commands)
    if (!co_await set_exchange(command)) co_return std::nullopt;
  co_return stopped_mid_run;
}

awaitable<std::optional<Reading>> Driver::read_status() {
  auto lock = co_await link_.lock();
  if (!link_.is_open() && !co_await try_reconnect(false)) co_return std::nullopt;
  co_return co_await read_status_locked();
}

bool Driver::plausible_after(const Reading& from, const Reading& to) const {
  constexpr std::uint8_t kFatalBits = error_bit::open_circuit | error_bit::power_surge;
  constexpr double kMargin_K = 5.0;  // sensor noise and quantisation are tenths of a kelvin
  if (to.status.error_byte & ~from.status.error_byte & kFatalBits) return false;
  const double reach_K = settings_.limits.max_rate_K_per_min / 60.0 * std::abs(to.time_s - from.time_s) + kMargin_K;
  return std::abs(to.status.temperature_K - from.status.temperature_K) <= reach_K;
}

awaitable<std::optional<Reading>> Driver::read_status_locked() {
  // The T95 protocol has no checksum: one corrupted byte on a noisy line can read as an open circuit, or as a
  // temperature hundreds of kelvin off that the log would keep. A reading that raises a fault bit or jumps further
  // than the stage can move is taken only once the next kConfirmations readings, asked for at once, agree with it
  // (what the stage really does persists); one the next reading contradicts is dropped with a warning.
  constexpr int kConfirmations = 2;
  std::optional<Reading> doubted;
  int confirmations = 0, failures = 0;
  for (int attempt = 0; attempt < settings_.attempts_per_command + kConfirmations && failures <
                            settings_.attempts_per_command && !given_up(); ++attempt) {
    co_await pace();  // so that the stamp below brackets the exchange itself, not the pacing
    const double sent_s = clock_.now_s();
    auto ex = co_await exchange(status_command());
    const double received_s = clock_.now_s();
    if (ex.outcome == Outcome::closed) {
      link_.drop(ex.line);
      co_return std::nullopt;
    }
    if (ex.outcome == Outcome::ok) {
      const auto decoded = decode_status(ex.line);
      if (decoded.status && received_s - sent_s <= 2 * settings_.max_stamp_uncertainty_s) {
        const Reading reading{0.5 * (sent_s + received_s), 0.5 * (received_s - sent_s), *decoded.status};
        if (trusted_ && !plausible_after(*trusted_, reading)) {
          const bool agrees = doubted && plausible_after(*doubted, reading);
          if (!agrees) {
            doubted = reading;
            confirmations = 0;
            continue;
          }
          if (++confirmations < kConfirmations) continue;
        } else if (doubted) {
          events_.emit(io::EventKind::warning,
                       fmt::format("a reading of {:.2f} K (EB1 0x{:02x}) not confirmed by the next one: dropped as "
                                   "line noise",
                                   doubted->status.temperature_K, doubted->status.error_byte));
        }
        trusted_ = reading;
        co_return reading;
      }
      if (decoded.status) {
        ++restamped_readings_;
        log_->debug("reading took {:.3f} s of run time; asking again", received_s - sent_s);
        continue;
      }
      events_.emit(io::EventKind::warning, fmt::format("bad reply to T ({}): {} bytes", to_string(*decoded.error), ex.line.size()));
    } else {
      events_.emit(io::EventKind::warning, "no reply to T within the reply timeout");
    }
    ++failures;
    link_.channel().discard_input();
  }
  if (failures == settings_.attempts_per_command)
    link_.drop(fmt::format("{} exchanges in a row failed", settings_.attempts_per_command));
  co_return std::nullopt;
}

// One set command with its acknowledgement; false means "resync and retry".
awaitable<bool> Driver::set_exchange(const std::string& command) {
  auto ex = co_await exchange(command);
  if (ex.outcome == Outcome::ok && is_acknowledgement(ex.line)) co_return true;
  if (ex.outcome == Outcome::closed) link_.drop(ex.line);
  co_return false;
}

awaitable<void> Driver::send_set_command(const std::string& command) {
  auto lock = co_await link_.lock();
  for (int attempt = 0; attempt < settings_.attempts_per_command && !given_up(); ++attempt) {
    if (!link_.is_open() && !co_await try_reconnect(true)) continue;
    if (co_await set_exchange(command)) co_return;
    if (link_.is_open()) {
      events_.emit(io::EventKind::warning, fmt::format("command {} not acknowledged; resynchronising", command));
      co_await greet();
    }
  }
  throw DriverError(fmt::format("Linkam command {} could not be delivered to {}{}", command,
                                settings_.url.to_string(), given_up() ? " before the deadline" : ""));
}

awaitable<void> Driver::set_rate(double rate_K_per_min) {
  if (!(rate_K_per_min >= kMinRate_K_per_min && rate_K_per_min <= settings_.limits.max_rate_K_per_min))
    throw LimitRefused(fmt::format("refusing ramp rate {} K/min: the stage allows {}..{} K/min", rate_K_per_min,
                                  kMinRate_K_per_min, settings_.limits.max_rate_K_per_min));
  const auto command = rate_command(rate_K_per_min);
  co_await send_set_command(command);
  rate_K_per_min_ = rate_K_per_min;
}

awaitable<void> Driver::set_limit(double limit_K) {
  // The check is on the value the controller will use, so rounding to 0.1 °C cannot cross a limit.
  const double quantized_K = quantize_limit_K(limit_K);
  if (!(quantized_K >= settings_.limits.min_K - 1e-9 && quantized_K <= settings_.limits.max_K + 1e-9))
    throw LimitRefused(fmt::format("refusing limit {:.2f} K: the stage allows {:.2f}..{:.2f} K", limit_K,
                                  settings_.limits.min_K, settings_.limits.max_K));
  co_await send_set_command(limit_command(limit_K));
  limit_K_ = limit_K;
}

awaitable<void> Driver::start() {
  // Set first: a reconnect on the way restores the ramp by itself, and the reading below then finds it running.
  intent_ = RunIntent::running;
  auto lock = co_await link_.lock();
  for (int attempt = 0; attempt < settings_.attempts_per_command && !given_up(); ++attempt) {
    if (!link_.is_open() && !co_await try_reconnect(true)) continue;
    const auto reading = co_await read_status_locked();
    if (!reading) continue;
    bool delivered = true;
    for (const auto& command : commands_for(RunIntent::running, reading->status, limit_K_))
      if (!(delivered = co_await set_exchange(command))) break;
    if (delivered) co_return;
    if (link_.is_open()) co_await greet();
  }
  throw DriverError(fmt::format("the Linkam controller at {} could not be started", settings_.url.to_string()));
}

// The safe states go out whatever the controller reads: `E` and `O` are harmless when repeated.
awaitable<void> Driver::stop() {
  intent_ = RunIntent::stopped;
  co_await send_set_command(stop_command());
}

awaitable<void> Driver::hold_current() {
  intent_ = RunIntent::holding;
  co_await send_set_command(hold_command());
}

awaitable<void> Driver::set_pump(PumpMode mode, int manual_speed) {
  // Named first: GCC 12 mishandles a temporary from ?: inside co_await (double free).
  const std::string mode_command = mode == PumpMode::automatic ? pump_auto_command() : pump_manual_command();
  co_await send_set_command(mode_command);
  if (mode == PumpMode::manual) co_await send_set_command(pump_speed_command(manual_speed));
  pump_ = std::make_pair(mode, manual_speed);
}

}  // namespace insitu::linkam
