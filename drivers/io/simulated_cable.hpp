#pragma once
// The serial cable into a simulated instrument: a pseudo-terminal whose slave end is published as a symlink
// for a driver to open with termios, exactly like a USB-serial adapter, and which can be pulled and plugged
// back in (a NEW pty under the same symlink) to exercise a driver's reconnection.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "drivers/io/asio.hpp"
#include "drivers/io/clock.hpp"

namespace insitu::io {

class SimulatedCable {
 public:
  // One plugged-in cable: the master end the simulator serves, plus the slave fd held open so that the master
  // does not read EIO while no driver has the slave open. The simulator's coroutines co-own it, so they may
  // outlive both the cable and the simulator: once pulled() they must leave without touching either.
  class Plug {
   public:
    explicit Plug(asio::io_context& io) : master_(io) {}
    ~Plug();
    Plug(const Plug&) = delete;
    Plug& operator=(const Plug&) = delete;

    // Bytes the driver wrote (at least one), or 0 once the plug is pulled or the read failed: the caller must
    // then leave without touching its simulator, which may be gone.
    awaitable<std::size_t> read_some(asio::mutable_buffer buffer);
    // Writes all of `bytes` towards the driver; false when that failed (the plug was pulled).
    awaitable<bool> write(asio::const_buffer bytes);
    bool pulled() const { return pulled_; }

   private:
    friend class SimulatedCable;
    asio::posix::stream_descriptor master_;
    int slave_fd_ = -1;
    bool pulled_ = false;
  };

  struct Handlers {
    // A new pty is published: start serving it (spawn the coroutines that read and write its master).
    std::function<void(const std::shared_ptr<Plug>&)> plugged;
    // The current pty was pulled (master closed, symlink gone): wake whatever waits on something other than
    // the master. May be empty.
    std::function<void()> pulled;
  };

  // Publishes the first pty at once, at `baud`; `name` prefixes the debug log lines. The handlers run on the
  // io_context's thread (the first `plugged` within this constructor).
  SimulatedCable(asio::io_context& io, const RunClock& clock, std::filesystem::path link, int baud, std::string name,
                 Handlers handlers);
  // Pulls the cable; a pending replug is cancelled.
  ~SimulatedCable();
  SimulatedCable(const SimulatedCable&) = delete;
  SimulatedCable& operator=(const SimulatedCable&) = delete;

  const std::filesystem::path& link() const { return link_; }

  // Pulls the cable: the master closes (the driver's fd sees a hang-up: EIO on write, EOF/EIO on read) and the
  // symlink disappears. After `down_run_s` of run time a NEW pty is published under the same symlink. May be
  // called from any thread (it posts).
  void unplug(double down_run_s);

  // How many times a pty has been published (1 + completed re-plugs). The io_context's thread only.
  int plug_count() const { return plug_count_; }

 private:
  void plug();
  void pull();

  asio::io_context& io_;
  const RunClock& clock_;
  std::filesystem::path link_;
  int baud_;
  std::string name_;
  Handlers handlers_;
  std::shared_ptr<Plug> current_;
  asio::steady_timer replug_timer_;
  int plug_count_ = 0;
  // Shared with the posted unplugs and the replug handler: a timer that already expired is not cancelled by
  // re-arming or cancel(), so its handler checks that the cable still exists and was not unplugged since.
  struct Lifeline {
    bool alive = true;
    std::uint64_t unplugs = 0;
  };
  std::shared_ptr<Lifeline> lifeline_ = std::make_shared<Lifeline>();
};

}  // namespace insitu::io
