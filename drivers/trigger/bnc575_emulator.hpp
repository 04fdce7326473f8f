#pragma once
// Device side of a BNC 575 (research/trigger.md §1.2-1.4): host bytes in (any chunking) -> reply bytes out,
// with the pulse outputs reported as timestamped events that drive the detector simulator. Pure and
// deterministic: the caller passes the run time; nothing sleeps.

#include <array>
#include <deque>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/trigger/scpi_codec.hpp"

namespace insitu::trigger {

// One output pulse on one enabled channel. T0 is the system pulse; the channel edge is T0 + delay.
struct PulseEvent {
  int channel = 0;  // 1..8 = A..H
  double t0_s = 0.0;
  double edge_s = 0.0;
  double width_s = 0.0;
  Polarity polarity = Polarity::normal;
};

// Faults applied, in FIFO order, to the next commands received.
enum class FaultKind {
  drop_reply,         // the command is executed but nothing (not even the echo) comes back
  late_reply,         // the reply comes back after delay_s
  invalid_parameter,  // "?5" and the command is not executed
  noise,              // stray bytes (NUL, 0xff, ...) precede the reply; a tolerant splitter recovers
  garbage,            // the reply line is replaced by a junk line; the command is executed
};

struct Fault {
  FaultKind kind = FaultKind::drop_reply;
  double delay_s = 0.0;  // late_reply only
};

// A simulator console's `NAME` (drop, error, garbage, noise) or `late DELAY_S`; nullopt for anything else.
std::optional<Fault> read_fault(std::istream& words);

struct ChannelState {
  double width_s = 1e-4;
  double delay_s = 0.0;
  Polarity polarity = Polarity::normal;
  bool enabled = false;
  SystemMode mode = SystemMode::normal;
  std::string sync = "T0";
};

struct EmulatorState {
  bool run = false;  // the front-panel RUN flag (:PULSE0:STAT)
  SystemMode mode = SystemMode::normal;
  TriggerMode trigger_mode = TriggerMode::disabled;
  TriggerEdge trigger_edge = TriggerEdge::rising;
  double trigger_level_V = 2.5;
  double period_s = 1e-3;
  unsigned burst_count = 1;
  bool echo = false;
  bool keypad_locked = false;
  std::array<ChannelState, 8> channels{};  // index 0 = channel A
};

struct EmulatorConfig {
  std::string identity = "BNC,575,31415,2.4.1-1.05";
  int channel_count = 4;
  bool echo = false;  // echo at power-up (DB-9 port)
  // *TRG while not armed: "ok" and no pulse (default), or "?8" [uncertain, §1.4].
  bool trigger_unarmed_is_error = false;
  // Instrument latency from the end of "*TRG" to T0.
  double trigger_latency_s = 0.0;
};

// What the device sends back for one received command line.
struct Response {
  std::string command;   // the line as received, without terminator
  std::string bytes;     // echo (if on) + reply, CR LF framed; empty when the reply is dropped
  double delay_s = 0.0;  // send `bytes` this long after receipt (late-reply fault)
  std::vector<PulseEvent> pulses;  // pulses due up to the receipt time, including those this command fired
};

class Bnc575Emulator {
 public:
  explicit Bnc575Emulator(EmulatorConfig config = {});

  // Host bytes arriving at run time now_s; one Response per completed line (exactly one reply per line).
  std::vector<Response> receive(std::string_view bytes, double now_s);
  // Pulses from the rate generator (NORM, or BURS, after the run started) with T0 <= now_s.
  std::vector<PulseEvent> advance(double now_s);

  void inject(Fault fault) { faults_.push_back(fault); }
  const EmulatorState& state() const { return state_; }

 private:
  Response handle_line(const std::string& line, double now_s);
  // Each returns the reply line without terminator: "ok", a value or "?n".
  std::string execute(std::string_view line, double now_s);
  std::string dispatch(const std::string& header, std::string_view param, bool query, double now_s);
  std::string execute_common(const std::string& header, std::string_view param, bool query, double now_s);
  std::string execute_pulse(int channel, const std::vector<std::string>& nodes, std::string_view param,
                            bool query, double now_s);
  std::string execute_system(const std::vector<std::string>& nodes, std::string_view param, bool query);
  void reset();
  void start_generator(double t0_s, int count);
  // Moves the rate generator's pulses with T0 <= now_s into pending_.
  void generate(double now_s);
  void emit_t0(double t0_s);

  EmulatorConfig config_;
  EmulatorState state_;
  LineSplitter splitter_;
  std::deque<Fault> faults_;
  std::optional<double> next_t0_s_;  // the rate generator's next T0
  int remaining_t0_ = 0;             // T0s left in the current run; < 0 = unlimited
  std::vector<PulseEvent> pending_;
};

}  // namespace insitu::trigger
