#pragma once
// BNC 575 delay generator on the Asio loop (research/trigger.md §1.2-1.4, §5): one command in flight, exactly
// one CR LF reply per command (an echo of the command is dropped), `?n` turned into readable errors, the
// single-shot init, one software-triggered shot per frame boundary with a run-clock timestamp taken around
// the write of `*TRG` (never on its `ok`), and reconnection (back-off, init re-run) when the port vanishes.
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <spdlog/logger.h>

#include "drivers/io/clock.hpp"
#include "drivers/io/instrument_link.hpp"
#include "drivers/io/run_events.hpp"
#include "drivers/trigger/scpi_codec.hpp"

namespace insitu::trigger {

inline constexpr int default_baud = 38400;  // 8N1, no handshake (§1.2)

struct DriverSettings {
  io::ConnectionUrl url;
  ChannelConfig detector{};  // channel A: the detector's frame trigger (width >= 20 us)
  // Channel B as the shutter line for darks, or none. Convention (see Driver::set_shutter): the channel is
  // always enabled with a 10 ns pulse; closed = inverted polarity (rests HIGH), open = normal (rests LOW).
  std::optional<int> shutter_channel;
  double trigger_level_V = 2.5;
  bool lock_keypad = true;  // :SYST:KLOC 1 while connected, released by shutdown()

  // Calibrated delay from the end of the `*TRG` write to the channel A edge (instrument parse + output),
  // in run seconds (equal to real seconds on hardware); measure once with a scope (§5).
  double trigger_latency_s = 0.0;
  double reply_timeout_s = 1.0;    // run time; RunClock::io_deadline keeps it >= 200 ms on the wall
  double reset_timeout_s = 3.0;    // *RST takes longer
  // An `ok` to *TRG later than this (run time, but never less than 20 ms wall) flags the shot.
  double late_reply_s = 0.2;
  double slow_write_wall_s = 5e-3;    // write + drain of *TRG longer than this (wall) flags the shot
  double stamp_margin_wall_s = 1e-3;  // added to the interval: UART shift-out / USB frame (wall)
  int attempts_per_command = 3;       // for settings (arm, init, shutter) before the link counts as lost
  double max_backoff_s = 15.0;        // reconnect back-off ceiling (run time)
  double give_up_after_s = 60.0;      // a link down this long (run time) makes fire() throw
};

// When the frame boundary happened, on the run clock. t_trigger_s = t_after_s + trigger_latency_s.
// uncertainty_s = (t_after_s - t_before_s) + stamp_margin_wall_s (scaled to run time by the clock's speed):
// the last byte left the host somewhere in [t_before_s, t_after_s] (this thread may have been descheduled between
// the drain and reading the clock), so the stamp at the end of that interval is known to its whole length; the
// margin covers the UART shift-out and the USB frame that the drain cannot see. A failed shot still returns a stamp, with `uncertain` and `reason`.
struct TriggerStamp {
  double t_before_s = 0.0;   // run clock just before writing *TRG
  double t_after_s = 0.0;    // run clock after the output queue drained
  double t_trigger_s = 0.0;
  double uncertainty_s = 0.0;
  double write_wall_s = 0.0;  // wall time the write + drain took
  bool uncertain = false;
  std::string reason;  // why it is uncertain ("; "-separated); empty otherwise
};

// A link that stayed down (or a device that is not a BNC 575 family unit); bad single shots never throw.
class DriverError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Driver {
 public:
  using EventHandler = io::RunEventHandler;

  Driver(const io::RunClock& clock, DriverSettings settings, std::shared_ptr<spdlog::logger> logger);
  ~Driver();

  // Events (kind: "fault", "warning", "info") for the run record: link lost/restored, flagged shots, ?n.
  void set_event_handler(EventHandler handler) { events_.set_handler(std::move(handler)); }

  // Opens the port and runs the init (§1.4): *IDN? check, *RST, SING + software trigger, channel A, the
  // shutter channel (left open), keypad lock. Throws DriverError on failure.
  awaitable<void> connect();
  void close();
  bool connected() const { return link_.is_open(); }
  // The unit's *IDN? answer from the last init.
  const std::optional<Identity>& identity() const { return identity_; }

  // One frame boundary: arm (:PULSE0:STAT ON), *TRG stamped around write + drain, then, once t_trigger_s has
  // passed, confirm (:PULSE0:STAT? -> 0).
  // Reconnects first if the link is down; throws DriverError only if it stays down for give_up_after_s.
  awaitable<TriggerStamp> fire();

  // Shutter for darks on the shutter channel: closed = output rests high. Remembered and re-applied after a
  // reconnect. Throws DriverError without a shutter channel or when the setting cannot be delivered.
  awaitable<void> set_shutter(bool closed);
  bool shutter_closed() const { return shutter_closed_; }

  // Disarm (:PULSE0:STAT OFF) and unlock the keypad. Best effort: false (and a warning) if not acknowledged.
  awaitable<bool> shutdown();

  const DriverSettings& settings() const { return settings_; }

 private:
  enum class Outcome { reply, timeout, closed };
  struct Exchange {
    Outcome outcome = Outcome::timeout;
    Reply reply;
    std::string detail;  // the raw line, or the I/O error
    std::chrono::steady_clock::time_point received{};
  };

  awaitable<Exchange> read_reply(const std::string& command, double timeout_s, bool query);
  awaitable<Exchange> exchange(const std::string& command, double timeout_s, bool query);
  // A setting acknowledged with ok, retried; false when it never was (the link may have been dropped).
  awaitable<bool> apply(const std::string& command, double timeout_s);
  awaitable<void> initialise();
  awaitable<bool> try_reconnect();
  awaitable<void> ensure_link();
  awaitable<bool> arm();
  std::string shutter_command() const;

  const io::RunClock& clock_;
  DriverSettings settings_;
  std::shared_ptr<spdlog::logger> log_;
  io::RunEvents events_;
  io::InstrumentLink link_;
  std::optional<Identity> identity_;
  bool shutter_closed_ = false;
};

}  // namespace insitu::trigger
