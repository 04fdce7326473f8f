#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "drivers/io/asio.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/io/simulated_cable.hpp"
#include "drivers/linkam/sim/stage_model.hpp"
#include "drivers/linkam/sim/t95_emulator.hpp"

namespace insitu::linkam::sim {

// Serves a simulated T95 on a pseudo-terminal. The slave end is published as the symlink `link`
// (e.g. <dir>/ttyLinkam) for the driver to open with termios, exactly like a USB-serial adapter.
// The model is advanced to RunClock::now_s() whenever bytes arrive.
//
// Threading: everything runs on the caller's io_context. set_fault() and unplug() may be called from
// any thread (they post). model() and emulator() belong to the io_context's thread: touch them only
// from there, or while the io_context is not running. The server must outlive every run of the
// io_context that serves it (destroy it after run() returned, or from the io thread).
class PtyServer {
 public:
  PtyServer(asio::io_context& io, const io::RunClock& clock, std::filesystem::path link, std::uint64_t seed = 1);
  ~PtyServer();
  PtyServer(const PtyServer&) = delete;
  PtyServer& operator=(const PtyServer&) = delete;

  const std::filesystem::path& link() const { return cable_.link(); }

  void set_fault(Fault fault, bool on);
  void set_byte_error_rate(double probability);  // line noise on the replies (T95Emulator::set_byte_error_rate)
  // Pulls the cable: the master closes (the driver's fd sees a hang-up: EIO on write, EOF/EIO on
  // read) and the symlink disappears. After `down_run_s` of run time a NEW pty is opened and the
  // same symlink points to it. The link comes back in the init state (first command must be `T`);
  // the stage and controller keep running throughout.
  void unplug(double down_run_s) { cable_.unplug(down_run_s); }
  // A power cycle of the controller: the link drops for `down_run_s` (as unplug) and the controller comes back
  // stopped (StageModel::power_cycle). The stage keeps its temperature.
  void power_cycle(double down_run_s);

  StageModel& model() { return model_; }
  T95Emulator& emulator() { return emulator_; }

 private:
  void plugged(std::shared_ptr<io::SimulatedCable::Plug> plug);
  awaitable<void> serve(std::shared_ptr<io::SimulatedCable::Plug> plug);

  asio::io_context& io_;
  const io::RunClock& clock_;
  StageModel model_;
  T95Emulator emulator_;
  io::SimulatedCable cable_;  // last: it plugs in (calls plugged()) on construction
};

}  // namespace insitu::linkam::sim
