#include "protocols/engine/engine.hpp"

#include <fmt/format.h>

#include <cmath>

#include "drivers/io/loop_condition.hpp"
#include "drivers/io/loop_thread.hpp"

namespace insitu::program {
namespace {

// Thrown inside the program coroutine when an abort was requested; never escapes run().
struct AbortRequested {};
// How long a safe-state command may take to show in the controller's status (run time; at least 3 polls).
constexpr double kConfirmDeadline_s = 10.0;
// The fault recorded when the safe-state path ran out of wall time without the controller answering.
constexpr std::string_view kSafeStateSilent = "safe state not confirmed: controller silent";
// Thrown when the program cannot go on (stage refused a command, link down too long, stage fault).
struct ProgramFailure {
  std::string reason;
};

std::string describe(const recipe::Segment& segment) {
  if (const auto* ramp = std::get_if<recipe::Ramp>(&segment.action))
    return fmt::format("ramp to {:.2f} K at {:g} K/min", ramp->to_K, ramp->rate_K_per_min);
  const auto& hold = std::get<recipe::Hold>(segment.action);
  std::string text =
      fmt::format("hold {:.2f} K (approach {:g} K/min", hold.temperature_K, hold.approach_rate_K_per_min);
  if (hold.duration_s) text += fmt::format(", {:g} s", *hold.duration_s);
  if (hold.until_stable)
    text +=
        fmt::format(", until within ±{:g} K for {:g} s", hold.until_stable->tolerance_K, hold.until_stable->dwell_s);
  return text + ")";
}

}  // namespace

std::string_view to_string(RunState state) {
  switch (state) {
    case RunState::idle:
      return "idle";
    case RunState::running:
      return "running";
    case RunState::paused:
      return "paused";
    case RunState::completed:
      return "completed";
    case RunState::aborted:
      return "aborted";
    case RunState::failed:
      return "failed";
  }
  return "unknown";
}

double SetpointProfile::at(double t_s) const {
  const double span_K = target_K - start_K;
  const double moved_K = rate_K_per_s * std::max(0.0, t_s - t0_s);
  if (moved_K >= std::abs(span_K)) return target_K;
  return start_K + std::copysign(moved_K, span_K);
}

double SetpointProfile::end_s() const {
  if (rate_K_per_s <= 0) return t0_s;
  return t0_s + std::abs(target_K - start_K) / rate_K_per_s;
}

struct Engine::Impl {
  const io::RunClock& clock;
  linkam::Driver& stage;
  const recipe::Recipe& recipe;
  RunObserver& observer;
  EngineSettings settings;
  recipe::Plan plan;

  RunState state = RunState::idle;
  bool pause_requested = false;
  std::optional<std::string> abort_reason;
  std::optional<std::string> failure;  // set by the poller when the stage reports a fault

  std::size_t segment_index = 0;
  double segment_started_s = 0;
  SetpointProfile profile;
  bool profile_active = false;              // no programmed temperature before the first segment or after a stop
  double target_K = 0, rate_K_per_min = 0;  // what the current segment asks of the controller
  std::optional<linkam::Reading> last;

  // Per-segment warnings are raised once.
  bool warned_follow = false, warned_cooling = false, warned_dewar = false;
  std::optional<Deviation> excursion;  // the stretch off the programme going on
  std::vector<Deviation> deviations;   // those longer than the allowance
  bool securing = false;               // the programme is over: readings no longer count against it
  // A hold waiting until the stage is stable: the stage being away from the setpoint is what it waits out (an
  // LN2-limited precool), not a departure from the programme.
  bool awaiting_stability = false;
  std::optional<std::pair<double, double>> dewar_watch;  // (time, temperature) when the signature appeared
  std::uint8_t last_error_byte = linkam::error_bit::always_set;

  bool polling = false;
  std::unique_ptr<asio::steady_timer> poller_done;
  // Wakes the program's waits on a pause, resume, abort, stage fault or reading.
  std::unique_ptr<io::LoopCondition> control;

  void notify() {
    if (control) control->notify();
  }

  Impl(const io::RunClock& c, linkam::Driver& s, const recipe::Recipe& r, RunObserver& o, EngineSettings st)
      : clock(c), stage(s), recipe(r), observer(o), settings(st), plan(recipe::estimate_plan(r)) {}
  ~Impl() { stage.set_reconnect_handler(nullptr); }

  void emit(io::EventKind kind, const std::string& message) { observer.on_event({clock.now_s(), kind, message}); }

  double current_K() const { return last ? last->status.temperature_K : profile.at(clock.now_s()); }

  // --- stage monitoring (poller) ---------------------------------------------------------------------

  void on_reading(const linkam::Reading& reading) {
    last = reading;
    notify();
    const auto& s = reading.status;
    const double setpoint_K = profile_active ? profile.at(reading.time_s) : std::nan("");
    observer.on_sample({reading.time_s, reading.time_uncertainty_s, s.temperature_K, setpoint_K, s.status_byte,
                        s.error_byte, s.pump_byte});
    if (state != RunState::running && state != RunState::paused) return;

    const std::uint8_t rising = s.error_byte & ~last_error_byte;
    last_error_byte = s.error_byte;
    if (rising & linkam::error_bit::open_circuit) fail("stage reports an open circuit (sensor or stage cable)");
    if (rising & linkam::error_bit::power_surge) fail("stage reports a power surge");
    if (s.cooling_too_fast() && !warned_cooling) {
      warned_cooling = true;
      emit(io::EventKind::warning,
           fmt::format("controller cannot hold the cooling rate at {:.2f} K (LN2 capacity)", s.temperature_K));
    }
    watch_dewar(reading, setpoint_K);
    watch_following(reading, setpoint_K);
  }

  // An empty dewar shows as the pump at full speed, cooling too fast, and the stage warming above the setpoint.
  void watch_dewar(const linkam::Reading& r, double setpoint_K) {
    const auto& s = r.status;
    const bool signature =
        s.pump_speed() == 30 && s.cooling_too_fast() && !(s.temperature_K <= setpoint_K);  // NaN: no program
    if (!signature) {
      dewar_watch.reset();
      return;
    }
    if (!dewar_watch) dewar_watch = std::make_pair(r.time_s, s.temperature_K);
    if (!warned_dewar && r.time_s - dewar_watch->first >= 30.0 && s.temperature_K > dewar_watch->second + 0.5) {
      warned_dewar = true;
      emit(io::EventKind::fault,
           fmt::format("LN2 dewar appears empty: pump at full speed and the stage warms ({:.2f} -> "
                       "{:.2f} K in {:.0f} s)",
                       dewar_watch->second, s.temperature_K, r.time_s - dewar_watch->first));
    }
  }

  void watch_following(const linkam::Reading& r, double setpoint_K) {
    if (securing || awaiting_stability || std::isnan(setpoint_K)) return;
    track_deviation(r.time_s, r.status.temperature_K - setpoint_K);
    if (state != RunState::running || !excursion || warned_follow) return;
    if (r.time_s - excursion->start_s >= recipe.stage.follow_allowance_s) {
      warned_follow = true;
      emit(io::EventKind::warning,
           fmt::format("stage cannot follow the program: {:+.2f} K from the setpoint {:.2f} K for {:.0f} s",
                       r.status.temperature_K - setpoint_K, setpoint_K, r.time_s - excursion->start_s));
    }
  }

  void track_deviation(double time_s, double deviation_K) {
    const double off_K = std::abs(deviation_K);
    if (off_K <= recipe.stage.follow_tolerance_K) return end_excursion(time_s);
    if (!excursion) excursion = Deviation{time_s, time_s, off_K};
    excursion->end_s = time_s;
    excursion->max_deviation_K = std::max(excursion->max_deviation_K, off_K);
  }

  // The stage is back within the tolerance at `back_s` (or the programme is over): an excursion longer than the
  // allowance is kept and reported.
  void end_excursion(double back_s) {
    if (!excursion) return;
    auto d = *excursion;
    excursion.reset();
    d.end_s = std::max(d.end_s, back_s);
    if (d.end_s - d.start_s <= recipe.stage.follow_allowance_s) return;
    deviations.push_back(d);
    emit(io::EventKind::warning,
         fmt::format("deviation: the stage was off the programme from {:.1f} s to {:.1f} s ({:.0f} s, up to {:.2f} K; "
                     "tolerance {:g} K, allowance {:g} s)",
                     d.start_s, d.end_s, d.end_s - d.start_s, d.max_deviation_K, recipe.stage.follow_tolerance_K,
                     recipe.stage.follow_allowance_s));
  }

  // The driver got the link back. A controller it found stopped mid-programme (a power cycle) was started again
  // and ramps from where the stage is: so does the programme, never jumping to where the setpoint had got to.
  // What the stage did while the link was down is unknown, so the outage counts as off the programme when the
  // stage came back away from the old setpoint.
  void on_reconnected(const linkam::Reconnection& r) {
    const double t_s = r.found.time_s;
    const double found_K = r.found.status.temperature_K;
    if (r.restarted && profile_active && !securing) {
      const double programmed_K = profile.at(t_s);
      if (std::abs(found_K - programmed_K) > recipe.stage.follow_tolerance_K) {
        track_deviation(last ? last->time_s : t_s, found_K - programmed_K);
        track_deviation(t_s, found_K - programmed_K);
      }
      profile = SetpointProfile{t_s, found_K, profile.target_K, profile.rate_K_per_s};
      emit(io::EventKind::state,
           fmt::format("program continues from the stage's {:.2f} K (the setpoint had reached {:.2f} K): toward "
                       "{:.2f} K at {:g} K/min",
                       found_K, programmed_K, profile.target_K, profile.rate_K_per_s * 60.0));
    }
    on_reading(r.found);
  }

  void fail(const std::string& reason) {
    emit(io::EventKind::fault, reason);
    if (!failure) failure = reason;
    notify();
  }

  awaitable<void> poll_loop() {
    double next_s = clock.now_s();
    while (polling) {
      if (auto reading = co_await stage.read_status()) on_reading(*reading);
      next_s = std::max(next_s + recipe.stage.poll_interval_s, clock.now_s());
      co_await clock.sleep_until(next_s);
    }
  }

  // --- commands ------------------------------------------------------------------------------------

  // Delivers one stage command, waiting out a lost link for up to link_grace_s. During the program an abort
  // request interrupts the wait; while securing the stage nothing does.
  template <typename MakeCommand>
  awaitable<void> deliver(MakeCommand make_command, bool interruptible = true) {
    std::optional<double> first_failure_s;
    for (;;) {
      try {
        co_await make_command();
        co_return;
      } catch (const linkam::LimitRefused& e) {
        throw ProgramFailure{e.what()};
      } catch (const linkam::DriverError& e) {
        if (interruptible && abort_reason) throw AbortRequested{};
        if (stage.given_up()) throw ProgramFailure{std::string(kSafeStateSilent)};
        const double now_s = clock.now_s();
        if (!first_failure_s) {
          first_failure_s = now_s;
          emit(io::EventKind::fault, fmt::format("{}; retrying while the link is down", e.what()));
        }
        if (now_s - *first_failure_s > settings.link_grace_s)
          throw ProgramFailure{fmt::format("stage link down for more than {:g} s", settings.link_grace_s)};
      }
      if (interruptible && abort_reason) throw AbortRequested{};
      co_await clock.sleep_for(recipe.stage.poll_interval_s);
    }
  }

  awaitable<void> head_for(double new_target_K, double new_rate_K_per_min) {
    target_K = new_target_K;
    rate_K_per_min = new_rate_K_per_min;
    co_await deliver([&] { return stage.set_rate(rate_K_per_min); });
    co_await deliver([&] { return stage.set_limit(target_K); });
    co_await deliver([&] { return stage.start(); });
    // A running controller ramps on from its own setpoint, which is the programmed temperature; an idle one
    // starts from wherever the stage is, read after the commands: the stage may have moved while they went out (a
    // resumed run's controller carries on its last ramp).
    if (!profile_active)
      if (auto reading = co_await stage.read_status()) on_reading(*reading);
    const double now_s = clock.now_s();
    const double start_K = profile_active ? profile.at(now_s) : current_K();
    profile = SetpointProfile{now_s, start_K, linkam::quantize_limit_K(target_K), rate_K_per_min / 60.0};
    profile_active = true;
  }

  // One poll period of waiting, with pause, abort and stage faults handled. Returns the run time spent paused.
  awaitable<double> tick() {
    const std::function<bool()> interrupted = [this] { return abort_reason || failure || pause_requested; };
    co_await control->wait_for(interrupted, clock,
                               recipe.stage.poll_interval_s);
    if (abort_reason) throw AbortRequested{};
    if (failure) throw ProgramFailure{*failure};
    if (!pause_requested) co_return 0.0;

    const double paused_at_s = clock.now_s();
    co_await deliver([&] { return stage.hold_current(); });
    const double held_K = current_K();
    profile = SetpointProfile{paused_at_s, held_K, held_K, 0.0};
    state = RunState::paused;
    emit(io::EventKind::state, fmt::format("paused at {:.2f} K", held_K));
    const std::function<bool()> pause_over = [this] { return !pause_requested || abort_reason || failure; };
    while (pause_requested) {
      co_await control->wait_for(pause_over, clock, 60.0);
      if (abort_reason) throw AbortRequested{};
      if (failure) throw ProgramFailure{*failure};
    }
    state = RunState::running;
    emit(io::EventKind::state, "resumed");
    co_await head_for(target_K, rate_K_per_min);
    co_return clock.now_s() - paused_at_s;
  }

  // --- segments ------------------------------------------------------------------------------------

  awaitable<void> run_ramp(const recipe::Ramp& ramp) {
    co_await head_for(ramp.to_K, ramp.rate_K_per_min);
    while (clock.now_s() < profile.end_s()) co_await tick();
  }

  // A hold resumed after an interruption ends when it would have: its setpoint reached the hold temperature at the
  // approach rate from where the segment began, and the controller held on while nothing read it.
  double resumed_hold_end_s(const recipe::Hold& hold, const ResumePoint& resume) const {
    const double approach_K = std::isfinite(resume.segment_start_K) ? std::abs(hold.temperature_K - resume.segment_start_K) : 0.0;
    const double approach_s = approach_K / (hold.approach_rate_K_per_min / 60.0);
    return std::max(profile.end_s(), resume.segment_started_s + approach_s + *hold.duration_s);
  }

  awaitable<void> run_hold(const recipe::Hold& hold) {
    co_await head_for(hold.temperature_K, hold.approach_rate_K_per_min);
    double deadline_s = clock.now_s() + (hold.until_stable ? hold.until_stable->timeout_s : 0.0);
    std::optional<double> hold_ends_s;  // the duration counts from when the setpoint reaches the hold temperature
    if (const auto& resume = settings.resume_from; resume && resume->segment_index == segment_index && hold.duration_s)
      hold_ends_s = resumed_hold_end_s(hold, *resume);
    std::optional<double> stable_since_s;
    awaiting_stability = hold.until_stable.has_value();
    if (awaiting_stability) end_excursion(clock.now_s());
    for (;;) {
      const double paused_s = co_await tick();
      deadline_s += paused_s;
      if (hold_ends_s) *hold_ends_s += paused_s;
      if (paused_s > 0) stable_since_s.reset();
      const double now_s = clock.now_s();
      if (!hold_ends_s && hold.duration_s && now_s >= profile.end_s()) hold_ends_s = now_s + *hold.duration_s;
      const bool duration_done = !hold.duration_s || (hold_ends_s && now_s >= *hold_ends_s);

      bool stable_done = true;
      if (hold.until_stable) {
        const auto& criterion = *hold.until_stable;
        if (std::abs(current_K() - hold.temperature_K) <= criterion.tolerance_K) {
          if (!stable_since_s) stable_since_s = now_s;
        } else {
          stable_since_s.reset();
        }
        stable_done = stable_since_s && now_s - *stable_since_s >= criterion.dwell_s;
        if (stable_done) awaiting_stability = false;  // from here on, departures count
        if (!stable_done && now_s >= deadline_s) {
          emit(io::EventKind::warning,
               fmt::format("not stable within ±{:g} K of {:.2f} K after {:g} s (at {:.2f} K); going on",
                           criterion.tolerance_K, hold.temperature_K, criterion.timeout_s, current_K()));
          stable_done = true;
          awaiting_stability = false;
        }
      }
      if (duration_done && stable_done) co_return;
    }
  }

  // The resumed segment keeps its start; its event says it is the programme's continuation after the gap.
  std::string begin_segment() {
    const auto& resume = settings.resume_from;
    const bool resumed = resume && resume->segment_index == segment_index;
    segment_started_s = resumed ? resume->segment_started_s : clock.now_s();
    if (!resumed) return {};
    return fmt::format(" (resumed after an interruption, from the stage's {:.2f} K; the segment began at {:.1f} s)",
                       current_K(), resume->segment_started_s);
  }

  awaitable<void> run_program() {
    const std::size_t first = settings.resume_from ? settings.resume_from->segment_index : 0;
    for (segment_index = first; segment_index < recipe.program.size(); ++segment_index) {
      const auto& segment = recipe.program[segment_index];
      const std::string resumed = begin_segment();
      warned_follow = warned_cooling = warned_dewar = false;
      emit(io::EventKind::segment, fmt::format("segment {}/{} {}: {}{}", segment_index + 1, recipe.program.size(),
                                               segment.label, describe(segment), resumed));
      if (const auto* ramp = std::get_if<recipe::Ramp>(&segment.action))
        co_await run_ramp(*ramp);
      else
        co_await run_hold(std::get<recipe::Hold>(segment.action));
    }
  }

  void give_up_on_silence() {
    const auto limit = std::chrono::duration<double>(settings.safe_state_wall_s);
    stage.give_up_at(io::RunClock::wall_clock::now() +
                     std::chrono::duration_cast<io::RunClock::wall_clock::duration>(limit));
  }

  awaitable<void> secure_stage() {
    securing = true;
    give_up_on_silence();
    end_excursion(clock.now_s());
    const bool hold = recipe.safe_state == recipe::SafeState::hold;
    try {
      if (hold) {
        co_await deliver([&] { return stage.hold_current(); }, false);
        profile = SetpointProfile{clock.now_s(), current_K(), current_K(), 0.0};
      } else {
        co_await deliver([&] { return stage.stop(); }, false);
        profile_active = false;
      }
      co_await confirm_safe_state(hold);
    } catch (const ProgramFailure& f) {
      emit(io::EventKind::fault, f.reason == kSafeStateSilent
                                     ? f.reason
                                     : fmt::format("could not put the stage in its safe state: {}", f.reason));
    }
  }

  // Reads the controller back until it reports the safe state (each reading goes to the log, so the run's record
  // ends with one taken after the command); a controller that does not confirm within the deadline is a fault.
  awaitable<void> confirm_safe_state(bool hold) {
    const auto wanted = hold ? linkam::ControllerState::holding_current : linkam::ControllerState::stopped;
    const double deadline_s = clock.now_s() + std::max(kConfirmDeadline_s, 3 * recipe.stage.poll_interval_s);
    std::optional<linkam::Reading> reading;
    bool answered = false;
    for (;;) {
      reading = co_await stage.read_status();
      if (reading) on_reading(*reading);
      if (reading && reading->status.state == wanted) break;
      answered = answered || reading;
      if (!answered && stage.given_up()) {
        emit(io::EventKind::fault, std::string(kSafeStateSilent));
        co_return;
      }
      if (clock.now_s() >= deadline_s || stage.given_up()) {
        emit(io::EventKind::fault,
             fmt::format("the controller did not confirm the safe state ({}) within {:g} s: {}", hold ? "hold" : "stop",
                         std::max(kConfirmDeadline_s, 3 * recipe.stage.poll_interval_s),
                         reading ? fmt::format("it reads {} at {:.2f} K", linkam::to_string(reading->status.state),
                                               reading->status.temperature_K)
                                 : std::string("no reading")));
        co_return;
      }
      co_await clock.sleep_for(std::min(1.0, recipe.stage.poll_interval_s));
    }
    emit(io::EventKind::state,
         fmt::format("{}; the controller reads {} at {:.2f} K",
                     hold ? "stage holding its current temperature (safe state: hold)"
                          : "stage controller stopped (safe state: stop)",
                     linkam::to_string(reading->status.state), reading->status.temperature_K));
  }

  awaitable<void> set_pump() {
    const bool automatic = recipe.stage.pump == recipe::LnpPump::automatic;
    const auto mode = automatic ? linkam::PumpMode::automatic : linkam::PumpMode::manual;
    const int speed = recipe.stage.pump_speed;
    const std::function<awaitable<void>()> command = [this, mode, speed] { return stage.set_pump(mode, speed); };
    co_await deliver(command);
    emit(io::EventKind::info, automatic ? std::string("LN2 pump: automatic")
                                        : fmt::format("LN2 pump: manual at speed {}/30", speed));
  }
};

Engine::Engine(const io::RunClock& clock, linkam::Driver& stage, const recipe::Recipe& recipe, RunObserver& observer,
               EngineSettings settings)
    : impl_(std::make_unique<Impl>(clock, stage, recipe, observer, settings)) {}

Engine::~Engine() = default;

awaitable<RunState> Engine::run() {
  io::assert_in_loop();
  auto& m = *impl_;
  auto executor = co_await asio::this_coro::executor;
  m.state = RunState::running;
  m.emit(io::EventKind::state, fmt::format("running recipe {} ({} segments, about {:.0f} s)", m.recipe.name,
                                           m.recipe.program.size(), m.plan.total_s));

  m.control = std::make_unique<io::LoopCondition>(executor);
  m.polling = true;
  m.poller_done = std::make_unique<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
  asio::co_spawn(executor, m.poll_loop(), [&m](std::exception_ptr error) {
    if (error) m.fail("stage poller stopped unexpectedly");
    m.polling = false;
    m.poller_done->cancel();
  });

  m.stage.set_reconnect_handler([&m](const linkam::Reconnection& r) { m.on_reconnected(r); });
  RunState outcome = RunState::completed;
  try {
    co_await m.set_pump();
    // Wait for a first reading so the first segment starts from a measured temperature.
    const std::function<bool()> first_reading = [&m] { return m.last || m.abort_reason; };
    while (!m.last && !m.abort_reason) co_await m.control->wait_for(first_reading, m.clock, 60.0);
    if (m.abort_reason) throw AbortRequested{};
    co_await m.run_program();
    m.emit(io::EventKind::state, "program completed");
  } catch (const AbortRequested&) {
    outcome = RunState::aborted;
    m.emit(io::EventKind::state, fmt::format("aborted: {}", *m.abort_reason));
  } catch (const ProgramFailure& f) {
    outcome = RunState::failed;
    if (!m.failure) m.failure = f.reason;
    m.emit(io::EventKind::fault, fmt::format("run failed: {}", f.reason));
  }
  co_await m.secure_stage();

  if (m.polling) {
    m.polling = false;
    boost::system::error_code ec;
    co_await m.poller_done->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  m.stage.set_reconnect_handler(nullptr);
  m.state = outcome;
  co_return outcome;
}

void Engine::pause() {
  io::assert_in_loop();
  // Asked before the programme starts, the pause takes effect at its first tick.
  if (impl_->state == RunState::running || impl_->state == RunState::idle) impl_->pause_requested = true;
  impl_->notify();
}

void Engine::resume() {
  io::assert_in_loop();
  impl_->pause_requested = false;
  impl_->notify();
}

void Engine::abort(const std::string& reason) {
  io::assert_in_loop();
  if (!impl_->abort_reason) impl_->abort_reason = reason;
  // A command waiting on a silent controller must not hold the abort up past the safe-state budget.
  if (impl_->state == RunState::running || impl_->state == RunState::paused) impl_->give_up_on_silence();
  impl_->notify();
}

const std::vector<Deviation>& Engine::deviations() const { return impl_->deviations; }

std::string Engine::end_reason() const {
  if (impl_->abort_reason) return *impl_->abort_reason;
  return impl_->failure.value_or("");
}

Progress Engine::progress() const {
  const auto& m = *impl_;
  Progress p;
  p.state = m.state;
  p.segment_index = m.segment_index;
  p.segment_count = m.recipe.program.size();
  p.time_s = m.clock.now_s();
  if (m.segment_index < m.recipe.program.size()) p.segment_label = m.recipe.program[m.segment_index].label;
  if (m.last) p.temperature_K = m.last->status.temperature_K;
  p.setpoint_K = m.profile_active ? m.profile.at(p.time_s) : std::nan("");
  if (m.segment_index < m.plan.segments.size()) {
    double left_s = std::max(0.0, m.plan.segments[m.segment_index].duration_s - (p.time_s - m.segment_started_s));
    for (std::size_t i = m.segment_index + 1; i < m.plan.segments.size(); ++i) left_s += m.plan.segments[i].duration_s;
    p.eta_s = left_s;
  }
  return p;
}

}  // namespace insitu::program
