#include "protocols/run/suspenders.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

#include "drivers/detector/exposure.hpp"
#include "drivers/linkam/codec.hpp"

namespace insitu::program {
namespace {

using recipe::SuspenderKind;

// How often settle times and external reads are looked at (run time); readings and frames are seen as they come.
constexpr double kTick_s = 1.0;
// EB1 bits that mean the controller or its stage is in trouble (cooling too fast is the LN2 limit, not an error).
constexpr std::uint8_t kControllerErrorBits =
    linkam::error_bit::open_circuit | linkam::error_bit::power_surge | linkam::error_bit::link_error;
constexpr std::uint32_t kFrameTrouble =
    detector::exposure_flag::missing | detector::exposure_flag::late | detector::exposure_flag::truncated;
constexpr int kFullPumpSpeed = 30;

std::string error_bits(std::uint8_t error) {
  std::string text;
  const auto add = [&](std::uint8_t bit, std::string_view name) {
    if (error & bit) text += (text.empty() ? "" : ", ") + std::string(name);
  };
  add(linkam::error_bit::open_circuit, "open circuit");
  add(linkam::error_bit::power_surge, "power surge");
  add(linkam::error_bit::link_error, "link error");
  return text;
}

}  // namespace

bool is_suspender_event(const documents::RunEvent& event) { return event.message.starts_with(kSuspenderEventPrefix); }

struct Suspenders::Impl : std::enable_shared_from_this<Impl> {
  enum class Phase { armed, tripped, settling, awaiting_operator };
  struct Watch {
    recipe::Suspender spec;
    std::string name;  // "suspender 2 (tango: ...)"
    Phase phase = Phase::armed;
    std::optional<double> holding_since;   // the condition has been seen since (for the frames' flags)
    std::optional<double> counting_since;  // what for_s counts from (restarted by an operator's resume)
    std::optional<std::size_t> interval;   // its open entry in `intervals`
    double settle_until_s = 0;
    std::string detail;  // the condition as last seen
    // frames_missing: whether each data frame since frames_from_s was troubled, by exposure start. Frames are
    // recorded out of order (a missing one only at its deadline), so the streak is looked for in exposure order.
    std::map<double, bool> frames;
    double frames_from_s = -std::numeric_limits<double>::infinity();
    std::unique_ptr<ExternalSignal> signal;  // tango
    bool read_pending = false, read_failing = false;
    double next_read_s = 0;
  };

  asio::any_io_executor loop;
  const io::RunClock& clock;
  SuspenderActions actions;
  std::vector<Watch> watches;
  std::vector<std::pair<double, double>> intervals;  // condition seen holding; open ones end at +inf
  bool active = false, suspended = false, operator_paused = false;
  std::size_t suspensions = 0;
  std::vector<std::string> tripped_by;

  Impl(asio::any_io_executor l, const io::RunClock& c, SuspenderActions a)
      : loop(std::move(l)), clock(c), actions(std::move(a)) {}

  bool busy(const Watch& w) const { return w.phase != Phase::armed; }
  void event(io::EventKind kind, const std::string& message) { actions.event(kind, message); }

  // The condition of `w` seen holding (since `since_s`) or not at `now_s`.
  void update(Watch& w, double now_s, bool holding, std::string detail, std::optional<double> since_s = {}) {
    if (!active) return;
    if (!holding) {
      if (w.interval) intervals[*w.interval].second = now_s;
      w.interval.reset();
      w.holding_since.reset();
      w.counting_since.reset();
      if (w.phase == Phase::tripped && w.spec.on_trip == recipe::SuspenderTrip::pause) clear(w, now_s);
      return;
    }
    w.detail = std::move(detail);
    if (!w.holding_since) {
      w.holding_since = w.counting_since = since_s.value_or(now_s);
      w.interval = intervals.size();
      intervals.emplace_back(*w.holding_since, std::numeric_limits<double>::infinity());
    }
    if (w.phase == Phase::armed && now_s - *w.counting_since >= w.spec.for_s) {
      trip(w, now_s);
    } else if (w.phase == Phase::settling) {
      w.phase = Phase::tripped;
      event(io::EventKind::warning, fmt::format("{} tripped again during its settle time: {}", w.name, w.detail));
    }
  }

  void trip(Watch& w, double now_s) {
    w.phase = Phase::tripped;
    const auto what = fmt::format("{} tripped at {:.1f} s: {} (since {:.1f} s)", w.name, now_s, w.detail,
                                  *w.holding_since);
    if (w.spec.on_trip == recipe::SuspenderTrip::abort) {
      event(io::EventKind::warning, what + "; aborting the run");
      actions.abort(what);
      return;
    }
    if (w.spec.kind == SuspenderKind::frames_missing) forget_frames(w, now_s);  // the frames after it tell anew
    if (operator_paused) {
      event(io::EventKind::warning, what + "; the run stays paused (by the operator)");
    } else if (suspended) {
      event(io::EventKind::warning, what + "; the run stays paused");
    } else {
      event(io::EventKind::warning, what + "; pausing the run (no exposures, the stage holds its temperature)");
      ++suspensions;
      if (std::find(tripped_by.begin(), tripped_by.end(), w.name) == tripped_by.end()) tripped_by.push_back(w.name);
      actions.pause();
    }
    suspended = true;
  }

  void clear(Watch& w, double now_s) {
    if (w.spec.on_clear == recipe::SuspenderClear::wait_for_operator) {
      w.phase = Phase::awaiting_operator;
      event(io::EventKind::info,
            fmt::format("{} cleared at {:.1f} s; the run waits for an operator to resume it", w.name, now_s));
      return;
    }
    w.phase = Phase::settling;
    w.settle_until_s = now_s + w.spec.settle_s;
    event(io::EventKind::info,
          fmt::format("{} cleared at {:.1f} s; resuming after {:g} s clear", w.name, now_s, w.spec.settle_s));
    settle(now_s);
  }

  void settle(double now_s) {
    for (auto& w : watches) {
      if (w.phase != Phase::settling || now_s < w.settle_until_s) continue;
      w.phase = Phase::armed;
      if (!suspended || operator_paused) continue;
      if (std::any_of(watches.begin(), watches.end(), [this](const Watch& o) { return busy(o); })) continue;
      suspended = false;
      event(io::EventKind::info, fmt::format("{} settled: resuming the run", w.name));
      actions.resume();
    }
  }

  void observe_stage(const documents::StageReading& r) {
    const double off_K = r.temperature_K - r.setpoint_K;  // NaN while no programme drives the stage
    for (auto& w : watches) {
      switch (w.spec.kind) {
        case SuspenderKind::stage_off_programme:
          update(w, r.time_s, std::abs(off_K) > w.spec.band_K,
                 fmt::format("the stage {:+.2f} K from the setpoint {:.2f} K", off_K, r.setpoint_K));
          break;
        case SuspenderKind::dewar_empty:
          update(w, r.time_s,
                 (r.pump & 0x1F) == kFullPumpSpeed && (r.error & linkam::error_bit::cooling_too_fast) && off_K > 0,
                 fmt::format("LN2 dewar empty? pump at full speed, cooling too fast, the stage {:+.2f} K above the "
                             "setpoint",
                             off_K));
          break;
        case SuspenderKind::controller_error:
          update(w, r.time_s, (r.error & kControllerErrorBits) != 0,
                 fmt::format("the controller reports {} (EB1 0x{:02X})", error_bits(r.error), r.error));
          break;
        default:
          break;
      }
    }
  }

  static void forget_frames(Watch& w, double from_s) {
    w.frames.clear();
    w.frames_from_s = from_s;
  }

  // The first run of at least `count` troubled frames in exposure order: (its first frame's start, its length).
  static std::optional<std::pair<double, int>> troubled_run(const Watch& w) {
    int length = 0;
    double start_s = 0;
    for (const auto& [frame_start_s, troubled] : w.frames) {
      if (!troubled) {
        length = 0;
        continue;
      }
      if (length++ == 0) start_s = frame_start_s;
      if (length >= w.spec.count) return std::pair{start_s, length};
    }
    return std::nullopt;
  }

  void observe_frame(const detector::ExposureRecord& record) {
    if (record.image_key != detector::image_data) return;
    for (auto& w : watches) {
      if (w.spec.kind != SuspenderKind::frames_missing || record.start_s < w.frames_from_s) continue;
      w.frames[record.start_s] = (record.flags & kFrameTrouble) != 0;
      const auto run = troubled_run(w);
      if (!run) continue;
      update(w, clock.now_s(), true,
             fmt::format("{} frames in a row missing, late or unreadable from {:.1f} s", w.spec.count, run->first),
             run->first);
    }
  }

  void on_signal(std::size_t index, const SignalValue& v) {
    auto& w = watches[index];
    w.read_pending = false;
    if (!active) return;
    const double now_s = clock.now_s();
    const bool trip_on_failure = w.spec.on_read_failure == recipe::ReadFailure::trip;
    if (!v.value) {
      if (!w.read_failing)
        event(io::EventKind::warning, fmt::format("{}: cannot read {}: {} ({})", w.name, w.spec.attribute, v.error,
                                                  trip_on_failure ? "counts as tripping" : "ignored"));
      w.read_failing = true;
      if (trip_on_failure) update(w, now_s, true, "cannot read the attribute: " + v.error);
      return;
    }
    if (w.read_failing) event(io::EventKind::info, fmt::format("{}: {} read again", w.name, w.spec.attribute));
    w.read_failing = false;
    const double x = *v.value;
    const bool holding = w.spec.below ? x < *w.spec.below : x > *w.spec.above;
    update(w, now_s, holding, fmt::format("{} = {:g}", w.spec.attribute, x));
  }

  void read_signals(double now_s) {
    for (std::size_t i = 0; i < watches.size(); ++i) {
      auto& w = watches[i];
      if (!w.signal || w.read_pending || now_s < w.next_read_s) continue;
      w.read_pending = true;
      w.next_read_s = now_s + w.spec.poll_s;
      w.signal->read([weak = weak_from_this(), loop = loop, i](SignalValue v) {
        asio::post(loop, [weak, i, v = std::move(v)] {
          if (auto self = weak.lock()) self->on_signal(i, v);
        });
      });
    }
  }

  awaitable<void> watch_loop(std::shared_ptr<Impl> self) {
    double tick_s = kTick_s;
    for (const auto& w : watches)
      if (w.signal) tick_s = std::min(tick_s, w.spec.poll_s);
    while (active) {
      const double now_s = clock.now_s();
      read_signals(now_s);
      // A frames_missing suspender has paused the run: no frames come to say more, so its condition is over.
      for (auto& w : watches)
        if (w.spec.kind == SuspenderKind::frames_missing && w.phase == Phase::tripped && !troubled_run(w))
          update(w, now_s, false, "");
      settle(now_s);
      co_await clock.sleep_for(tick_s);
    }
    (void)self;
  }
};

Suspenders::Suspenders(asio::any_io_executor loop, const io::RunClock& clock,
                       const std::vector<recipe::Suspender>& specs, SuspenderActions actions,
                       const ExternalSignalFactory& signals)
    : impl_(std::make_shared<Impl>(std::move(loop), clock, std::move(actions))) {
  for (std::size_t i = 0; i < specs.size(); ++i) {
    Impl::Watch w;
    w.spec = specs[i];
    w.name = fmt::format("{}{} ({})", kSuspenderEventPrefix, i + 1, recipe::describe(specs[i]));
    if (w.spec.kind == SuspenderKind::tango) {
      if (!signals) throw std::runtime_error(w.name + ": this program cannot read Tango attributes");
      w.signal = signals(w.spec);
    }
    impl_->watches.push_back(std::move(w));
  }
}

Suspenders::~Suspenders() { impl_->active = false; }

void Suspenders::start() {
  if (impl_->active) return;
  impl_->active = true;
  asio::co_spawn(impl_->loop, impl_->watch_loop(impl_), asio::detached);
}

void Suspenders::stop() {
  auto& m = *impl_;
  if (!m.active) return;
  const double now_s = m.clock.now_s();
  for (auto& w : m.watches)
    if (w.interval) m.intervals[*w.interval].second = now_s;
  m.active = false;
}

void Suspenders::observe(const documents::Document& document) {
  if (!impl_->active) return;
  if (const auto* r = std::get_if<documents::StageReading>(&document)) impl_->observe_stage(*r);
  if (const auto* f = std::get_if<documents::FrameEvent>(&document)) impl_->observe_frame(f->record);
}

void Suspenders::operator_paused() { impl_->operator_paused = true; }

void Suspenders::operator_resumed() {
  auto& m = *impl_;
  m.operator_paused = false;
  if (!m.suspended) return;
  m.suspended = false;
  const double now_s = m.clock.now_s();
  for (auto& w : m.watches) {
    if (!m.busy(w)) continue;
    w.phase = Impl::Phase::armed;
    if (w.spec.kind == SuspenderKind::frames_missing) Impl::forget_frames(w, now_s);
    if (w.counting_since) w.counting_since = now_s;
    m.event(io::EventKind::info, fmt::format("{}: the operator resumed the run; the suspension ends", w.name));
  }
}

std::uint32_t Suspenders::window_flags(double start_s, double stop_s) const {
  for (const auto& [from_s, to_s] : impl_->intervals)
    if (start_s < to_s && stop_s > from_s) return detector::exposure_flag::suspended;
  return 0;
}

std::size_t Suspenders::suspensions() const { return impl_->suspensions; }
const std::vector<std::string>& Suspenders::tripped_by() const { return impl_->tripped_by; }

}  // namespace insitu::program
