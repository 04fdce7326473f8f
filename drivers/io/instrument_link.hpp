#pragma once
// The port of a line-based instrument that may vanish (cable pulled, adapter re-enumerated, unit power-cycled):
// opened from its URL, used by one exchange at a time, dropped when an exchange finds it dead, and reopened no
// sooner than an exponential back-off on the run clock allows. What is said over it, and what a reconnect must
// re-apply, stays with the driver.
#include <memory>
#include <string>

#include "drivers/io/async_mutex.hpp"
#include "drivers/io/byte_stream.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/io/connection_url.hpp"
#include "drivers/io/line_channel.hpp"
#include "drivers/io/run_events.hpp"

namespace insitu::io {

class InstrumentLink {
 public:
  struct Settings {
    ConnectionUrl url;
    SerialSettings serial;  // what the URL does not override
    char terminator = '\n';
    bool strip_cr_before_terminator = false;
    double max_backoff_s = 15.0;  // run time
  };

  // `name` opens the events about the link, e.g. "stage link" -> "stage link pty:/x lost: ...".
  InstrumentLink(const RunClock& clock, const RunEvents& events, std::string name, Settings settings);
  ~InstrumentLink();

  // Exclusive use of the port, for one command and its reply at a time.
  awaitable<AsyncMutex::Lock> lock() { return mutex_.lock(); }

  // Opens the port (as open_byte_stream does, so it throws with the endpoint and the reason).
  awaitable<void> open();
  void close();
  bool is_open() const { return channel_ != nullptr; }
  // Only while open.
  LineChannel& channel() { return *channel_; }
  ByteStream& stream() { return *stream_; }
  std::string describe() const { return stream_->describe(); }

  // An exchange found the link dead: the fault "<name> <endpoint> lost: <why>" is emitted and the link closed; the
  // first reconnect may follow at once, with the back-off restarted. Nothing happens when it is already closed.
  // Until restored(), the link counts as down: a drop during a reconnect's own exchanges (a port that opens but
  // dies in the init) only closes it, so the back-off goes on growing and down_since_s() keeps the first drop.
  void drop(const std::string& why);
  // A connect or reconnect completed (port open, the driver's init done): the next drop is a new outage.
  void restored() { down_ = false; }
  // A reconnect attempt failed: closed, and the next attempt waits out the back-off, which doubles (up to the
  // ceiling) for the one after.
  void reconnect_failed();
  // Whether the back-off allows a reconnect attempt now; wait_to_reconnect() waits (run clock) until it does.
  bool may_reconnect() const { return clock_.now_s() >= next_reconnect_s_; }
  awaitable<void> wait_to_reconnect() const;
  // Run time of the last drop (0 before any).
  double down_since_s() const { return down_since_s_; }

 private:
  const RunClock& clock_;
  const RunEvents& events_;
  std::string name_;
  Settings settings_;
  AsyncMutex mutex_;
  std::unique_ptr<ByteStream> stream_;
  std::unique_ptr<LineChannel> channel_;
  double backoff_s_ = 1.0;
  double next_reconnect_s_ = 0.0;
  double down_since_s_ = 0.0;
  bool down_ = false;  // dropped and not yet restored
};

}  // namespace insitu::io
