#include "drivers/trigger/driver.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/io/loop_thread.hpp"

namespace insitu::trigger {
namespace {

using steady = std::chrono::steady_clock;

// A late `ok` is judged on the wall below this floor: a pty round trip alone can take a fraction of a
// millisecond, which is most of a run second at 600x.
constexpr auto late_reply_floor = std::chrono::milliseconds(20);

double seconds(steady::duration d) { return std::chrono::duration<double>(d).count(); }

// The dialect is printable ASCII: drop NULs, XON/XOFF and 8-bit noise that a line may pick up on the wire.
std::string printable(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (const char c : line) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) out.push_back(c);
  }
  return out;
}

std::string describe(const Reply& reply, std::string_view raw) {
  switch (reply.kind) {
    case ReplyKind::ok: return "ok";
    case ReplyKind::error: return reply.error_text;
    case ReplyKind::value: return fmt::format("'{}'", raw);
  }
  return std::string(raw);
}

void add_reason(TriggerStamp& stamp, const std::string& reason) {
  stamp.uncertain = true;
  if (!stamp.reason.empty()) stamp.reason += "; ";
  stamp.reason += reason;
}

}  // namespace

Driver::Driver(const io::RunClock& clock, DriverSettings settings, std::shared_ptr<spdlog::logger> logger)
    : clock_(clock),
      settings_(std::move(settings)),
      log_(std::move(logger)),
      events_(clock_, log_),
      link_(clock_, events_, "delay generator link",
            {settings_.url, io::SerialSettings{default_baud, io::FlowControl::none}, '\n', true,
             settings_.max_backoff_s}) {
  if (settings_.shutter_channel && *settings_.shutter_channel == settings_.detector.channel)
    throw std::invalid_argument("the shutter channel must differ from the detector channel");
}

Driver::~Driver() = default;

void Driver::close() { link_.close(); }

// Reads until the reply to `command`: its echo is dropped, and for a query a stray `ok` (the late answer to
// an earlier setting) is skipped, since a query never answers ok.
awaitable<Driver::Exchange> Driver::read_reply(const std::string& command, double timeout_s, bool query) {
  ReplyReader reader(command);
  const auto deadline = steady::now() + clock_.io_deadline(timeout_s);
  for (;;) {
    const auto remaining = deadline - steady::now();
    if (remaining <= steady::duration::zero()) co_return Exchange{Outcome::timeout, {}, {}, {}};
    auto result = co_await link_.channel().read_line(remaining);
    if (result.status == io::LineStatus::timeout) co_return Exchange{Outcome::timeout, {}, {}, {}};
    if (result.status == io::LineStatus::closed)
      co_return Exchange{Outcome::closed, {}, result.error.message(), {}};
    const std::string line = printable(result.line);
    if (line.empty()) continue;
    auto reply = reader.accept(line);
    if (!reply) continue;  // the echo
    if (query && reply->kind == ReplyKind::ok) continue;
    co_return Exchange{Outcome::reply, std::move(*reply), line, steady::now()};
  }
}

awaitable<Driver::Exchange> Driver::exchange(const std::string& command, double timeout_s, bool query) {
  io::assert_in_loop();
  link_.channel().discard_input();  // a late reply to an earlier command must not answer this one
  if (auto ec = co_await link_.channel().write(command + std::string(line_terminator)))
    co_return Exchange{Outcome::closed, {}, ec.message(), {}};
  co_return co_await read_reply(command, timeout_s, query);
}

awaitable<bool> Driver::apply(const std::string& command, double timeout_s) {
  for (int attempt = 0; attempt < settings_.attempts_per_command && link_.is_open(); ++attempt) {
    auto ex = co_await exchange(command, timeout_s, false);
    if (ex.outcome == Outcome::closed) {
      link_.drop(ex.detail);
      co_return false;
    }
    if (ex.outcome == Outcome::reply && ex.reply.kind == ReplyKind::ok) co_return true;
    events_.emit(io::EventKind::warning, fmt::format("{}: {}", command,
                                ex.outcome == Outcome::timeout ? "no reply" : describe(ex.reply, ex.detail)));
  }
  co_return false;
}

std::string Driver::shutter_command() const {
  return cmd::channel_polarity(*settings_.shutter_channel, shutter_closed_ ? Polarity::inverted : Polarity::normal);
}

awaitable<void> Driver::initialise() {
  std::optional<Identity> identity;
  std::string last_answer = "no reply";
  for (int attempt = 0; attempt < settings_.attempts_per_command && link_.is_open() && !identity; ++attempt) {
    auto ex = co_await exchange(cmd::identify(), settings_.reply_timeout_s, true);
    if (ex.outcome == Outcome::closed) link_.drop(ex.detail);
    if (ex.outcome != Outcome::reply) continue;
    last_answer = describe(ex.reply, ex.detail);
    if (ex.reply.kind != ReplyKind::value) continue;
    try {
      identity = parse_identity(ex.reply.value);
    } catch (const std::invalid_argument& e) {
      last_answer = e.what();  // garbage on the line, or another instrument on this port
    }
  }
  if (!identity) throw DriverError(fmt::format("*IDN? at {}: {}", settings_.url.to_string(), last_answer));

  std::vector<std::string> commands{cmd::reset()};
  const InitConfig init{settings_.detector, std::nullopt, settings_.trigger_level_V, false};
  for (auto& c : init_sequence(init)) commands.push_back(std::move(c));
  if (settings_.shutter_channel) {
    // Enabled with the shortest pulse the unit makes (10 ns, far below a shutter's response): an enabled
    // output has a defined rest level, set by the polarity.
    const int ch = *settings_.shutter_channel;
    commands.push_back(cmd::channel_sync(ch, "T0"));
    commands.push_back(cmd::channel_mode(ch, SystemMode::normal));
    commands.push_back(cmd::channel_width(ch, 1e-8));
    commands.push_back(cmd::channel_delay(ch, 0.0));
    commands.push_back(shutter_command());
    commands.push_back(cmd::channel_enable(ch, true));
  }
  if (settings_.lock_keypad) commands.push_back(cmd::keypad_lock(true));
  for (const auto& command : commands) {
    const double timeout_s = command == cmd::reset() ? settings_.reset_timeout_s : settings_.reply_timeout_s;
    if (!co_await apply(command, timeout_s))
      throw DriverError(fmt::format("delay generator at {} did not accept {}", settings_.url.to_string(), command));
  }
  identity_ = std::move(identity);
}

awaitable<void> Driver::connect() {
  auto lock = co_await link_.lock();
  std::string failure;
  try {
    co_await link_.open();
    co_await initialise();
  } catch (const DriverError& e) {
    failure = e.what();
  } catch (const std::exception& e) {
    failure = fmt::format("cannot open the delay generator at {}: {}", settings_.url.to_string(), e.what());
  }
  if (!failure.empty()) {
    close();
    throw DriverError(failure);
  }
  link_.restored();
  log_->info("connected to {} {} (serial {}, firmware {}) at {}", identity_->vendor, identity_->model,
             identity_->serial, identity_->firmware, settings_.url.to_string());
}

// One reconnect attempt once the back-off has passed; the init is re-run because the unit may have been
// power-cycled or touched at the front panel while the link was down.
awaitable<bool> Driver::try_reconnect() {
  co_await link_.wait_to_reconnect();
  std::string why;
  try {
    co_await link_.open();
    co_await initialise();
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (!why.empty() || !link_.is_open()) {
    log_->debug("reconnect to {} failed: {}", settings_.url.to_string(), why);
    link_.reconnect_failed();
    co_return false;
  }
  link_.restored();
  events_.emit(io::EventKind::info, fmt::format("delay generator link {} restored after {:.1f} s; init re-run", link_.describe(),
                                   clock_.now_s() - link_.down_since_s()));
  co_return true;
}

awaitable<void> Driver::ensure_link() {
  while (!link_.is_open()) {
    if (clock_.now_s() - link_.down_since_s() > settings_.give_up_after_s)
      throw DriverError(fmt::format("delay generator at {} unreachable for {:.0f} s", settings_.url.to_string(),
                                    clock_.now_s() - link_.down_since_s()));
    co_await try_reconnect();
  }
}

// Arms the unit; a lost `ok` is not fatal if the unit reads back armed.
awaitable<bool> Driver::arm() {
  for (int attempt = 0; attempt < settings_.attempts_per_command && link_.is_open(); ++attempt) {
    auto ex = co_await exchange(cmd::run(true), settings_.reply_timeout_s, false);
    if (ex.outcome == Outcome::closed) {
      link_.drop(ex.detail);
      co_return false;
    }
    if (ex.outcome == Outcome::reply && ex.reply.kind == ReplyKind::ok) co_return true;
    events_.emit(io::EventKind::warning, fmt::format("arm: {}", ex.outcome == Outcome::timeout ? "no reply" : describe(ex.reply, ex.detail)));
    auto state = co_await exchange(cmd::run_query(), settings_.reply_timeout_s, true);
    if (state.outcome == Outcome::closed) {
      link_.drop(state.detail);
      co_return false;
    }
    if (state.outcome == Outcome::reply && state.reply.kind == ReplyKind::value && state.reply.value == "1")
      co_return true;
  }
  co_return false;
}

awaitable<TriggerStamp> Driver::fire() {
  auto lock = co_await link_.lock();
  TriggerStamp stamp;
  // A link lost while arming means nothing was triggered yet: restore it and try the shot again.
  bool armed = false;
  for (int attempt = 0; attempt < settings_.attempts_per_command; ++attempt) {
    co_await ensure_link();
    armed = co_await arm();
    if (armed || link_.is_open()) break;
  }
  if (!link_.is_open()) co_await ensure_link();
  // Triggered anyway: the unit may be armed without saying so, and a missing boundary is worse than a
  // flagged one.
  if (!armed) add_reason(stamp, "arm not confirmed");

  const std::string trigger = cmd::software_trigger();
  const std::string bytes = trigger + std::string(line_terminator);
  link_.channel().discard_input();
  std::error_code ec;
  const auto wall_before = steady::now();
  stamp.t_before_s = clock_.now_s();
  ec = co_await link_.channel().write(bytes);
  if (!ec) co_await link_.stream().drain(ec);
  stamp.t_after_s = clock_.now_s();
  const auto wall_after = steady::now();

  stamp.write_wall_s = seconds(wall_after - wall_before);
  stamp.t_trigger_s = stamp.t_after_s + settings_.trigger_latency_s;
  stamp.uncertainty_s =
      (stamp.t_after_s - stamp.t_before_s) + settings_.stamp_margin_wall_s * clock_.speed();
  if (stamp.write_wall_s > settings_.slow_write_wall_s)
    add_reason(stamp, fmt::format("write of *TRG took {:.1f} ms", stamp.write_wall_s * 1e3));

  auto finish = [&](const std::string& why) {
    if (!why.empty()) add_reason(stamp, why);
    if (stamp.uncertain) events_.emit(io::EventKind::warning, fmt::format("trigger at {:.3f} s uncertain: {}", stamp.t_trigger_s,
                                                     stamp.reason));
    return stamp;
  };
  if (ec) {
    link_.drop(ec.message());
    co_return finish("link lost while writing *TRG");
  }

  auto ack = co_await read_reply(trigger, settings_.reply_timeout_s, false);
  if (ack.outcome == Outcome::closed) {
    link_.drop(ack.detail);
    co_return finish("link lost before the ok to *TRG");
  }
  if (ack.outcome == Outcome::timeout) {
    add_reason(stamp, "no ok to *TRG");
  } else if (ack.reply.kind != ReplyKind::ok) {
    add_reason(stamp, fmt::format("*TRG answered {}", describe(ack.reply, ack.detail)));
  } else {
    const auto late = clock_.io_deadline(settings_.late_reply_s, late_reply_floor);
    if (ack.received - wall_after > late) {
      add_reason(stamp, fmt::format("ok to *TRG late ({:.1f} ms)", seconds(ack.received - wall_after) * 1e3));
      // A unit that answers late may have acted on *TRG late too, at any moment until its ok: the stamp's
      // uncertainty says so (the fault night saw pulses 55 ms of wall time after a 20 ms stamp).
      stamp.uncertainty_s = std::max(stamp.uncertainty_s, (stamp.t_after_s - stamp.t_before_s) +
                                                              seconds(ack.received - wall_after) * clock_.speed());
    }
  }

  // RUN clears only once T0 is out: asking before the shot is due would read a spurious 1.
  if (clock_.now_s() < stamp.t_trigger_s) co_await clock_.sleep_until(stamp.t_trigger_s);
  auto confirm = co_await exchange(cmd::run_query(), settings_.reply_timeout_s, true);
  if (confirm.outcome == Outcome::closed) {
    link_.drop(confirm.detail);
    co_return finish("link lost before the confirmation");
  }
  if (confirm.outcome == Outcome::timeout) co_return finish("no reply to :PULSE0:STAT?");
  if (confirm.reply.kind != ReplyKind::value || (confirm.reply.value != "0" && confirm.reply.value != "1"))
    co_return finish(fmt::format(":PULSE0:STAT? answered {}", describe(confirm.reply, confirm.detail)));
  if (confirm.reply.value == "1") co_return finish("still armed after *TRG (no shot)");
  co_return finish({});
}

awaitable<void> Driver::set_shutter(bool closed) {
  if (!settings_.shutter_channel) throw DriverError("no shutter channel is configured on the delay generator");
  auto lock = co_await link_.lock();
  shutter_closed_ = closed;  // also what a reconnect re-applies
  for (int attempt = 0; attempt < settings_.attempts_per_command; ++attempt) {
    co_await ensure_link();
    if (co_await apply(shutter_command(), settings_.reply_timeout_s)) {
      events_.emit(io::EventKind::info, closed ? "shutter closed" : "shutter open");
      co_return;
    }
  }
  throw DriverError(fmt::format("shutter could not be {} at {}", closed ? "closed" : "opened",
                                settings_.url.to_string()));
}

awaitable<bool> Driver::shutdown() {
  auto lock = co_await link_.lock();
  if (!link_.is_open()) {
    events_.emit(io::EventKind::warning, "delay generator not connected at shutdown: not disarmed, keypad not unlocked");
    co_return false;
  }
  bool ok = true;
  for (const auto& command : shutdown_sequence()) {
    if (!link_.is_open() || !co_await apply(command, settings_.reply_timeout_s)) ok = false;
  }
  if (!ok) events_.emit(io::EventKind::warning, "delay generator shutdown not acknowledged");
  co_return ok;
}

}  // namespace insitu::trigger
