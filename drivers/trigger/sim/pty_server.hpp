#pragma once
// Serves a simulated BNC 575 (Bnc575Emulator) on a pseudo-terminal, published as a symlink (e.g.
// <dir>/ttyBNC) for the driver to open like a USB virtual COM port at 38400 8N1. Replies honour the
// emulator's late-reply delay on the run clock and leave in order, as from a UART; the output pulses go to a
// subscriber at their edge time: the simulated TTL into the detector simulator.
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "drivers/io/asio.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/io/simulated_cable.hpp"
#include "drivers/trigger/bnc575_emulator.hpp"

namespace insitu::trigger::sim {

// Threading: everything runs on the caller's io_context. inject(), set_echo() and unplug() may be called
// from any thread (they post). emulator() and received() belong to the io_context's thread. The pulse
// handler runs on that thread too. The server must outlive every run of the io_context that serves it.
class PtyServer {
 public:
  using PulseHandler = std::function<void(const PulseEvent&)>;

  PtyServer(asio::io_context& io, const io::RunClock& clock, std::filesystem::path link,
            EmulatorConfig config = {}, PulseHandler on_pulse = {});
  ~PtyServer();
  PtyServer(const PtyServer&) = delete;
  PtyServer& operator=(const PtyServer&) = delete;

  const std::filesystem::path& link() const { return cable_.link(); }

  // Applies `fault` to the next command line whose text starts with `command_prefix` (case-insensitive;
  // empty = the very next line), e.g. inject({FaultKind::drop_reply}, "*TRG").
  void inject(Fault fault, std::string command_prefix = {});
  // Turns the DB-9 echo on or off as the front panel would (the emulator's own :SYST:COMM:SER:ECH).
  void set_echo(bool on);
  // Pulls the cable: the master closes (the driver sees EIO/EOF) and the symlink disappears; after
  // `down_run_s` of run time a NEW pty appears under the same symlink. The unit keeps its state.
  void unplug(double down_run_s) { cable_.unplug(down_run_s); }

  Bnc575Emulator& emulator() { return emulator_; }
  // Every command line received, in order (without terminator), across re-plugs.
  const std::vector<std::string>& received() const { return received_; }
  // How many times a pty has been published (1 + completed re-plugs).
  int plug_count() const { return cable_.plug_count(); }

 private:
  struct Outbox;
  struct TargetedFault {
    std::string prefix;  // upper case
    Fault fault;
  };

  void plugged(const std::shared_ptr<io::SimulatedCable::Plug>& plug);
  void pulled();
  awaitable<void> serve(std::shared_ptr<io::SimulatedCable::Plug> plug);
  // Sends the plug's replies in order, each not before its due time.
  static awaitable<void> write_replies(std::shared_ptr<io::SimulatedCable::Plug> plug, std::shared_ptr<Outbox> outbox);
  void handle_bytes(std::string_view bytes);
  void handle_responses(std::vector<Response> responses, double now_s);
  void schedule_pulses(std::vector<PulseEvent> pulses);
  void arm_pulse_timer();
  void deliver_due_pulses();
  void keep_generator_polled();

  asio::io_context& io_;
  const io::RunClock& clock_;
  Bnc575Emulator emulator_;
  PulseHandler on_pulse_;
  std::shared_ptr<Outbox> outbox_;  // the current plug's
  asio::steady_timer pulse_timer_;
  asio::steady_timer poll_timer_;
  bool polling_ = false;
  std::multimap<double, PulseEvent> pending_pulses_;  // by edge time (run s)
  std::deque<TargetedFault> faults_;
  std::string partial_line_;
  std::vector<std::string> received_;
  io::SimulatedCable cable_;  // last: it calls plugged() on construction and pulled() on destruction
};

}  // namespace insitu::trigger::sim
