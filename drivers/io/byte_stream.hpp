#pragma once
// The async byte stream every driver talks through, whatever is at the other end.
#include <memory>
#include <string>
#include <system_error>

#include "drivers/io/asio.hpp"
#include "drivers/io/connection_url.hpp"

namespace insitu::io {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads at least one byte; on failure (EOF, EIO after an unplug, cancellation) sets ec and returns 0.
  virtual awaitable<std::size_t> read_some(asio::mutable_buffer buffer, std::error_code& ec) = 0;
  virtual awaitable<void> write_all(asio::const_buffer buffer, std::error_code& ec) = 0;
  // Waits until the bytes written have left the output queue (serial and pty only; no-op on TCP).
  virtual awaitable<void> drain(std::error_code& ec) = 0;
  // Drops bytes received but not yet read (stale replies before a resync).
  virtual void discard_input() = 0;
  virtual void cancel() = 0;
  virtual std::string describe() const = 0;
};

// Opens the endpoint a URL names; `defaults` gives the port settings the URL does not override.
// Throws std::system_error / std::runtime_error with the endpoint and the reason, one line:
// "cannot open serial port /dev/ttyUSB9: No such file or directory", "cannot open pty PATH: not a terminal",
// "no USB serial adapter 0403:6001 is plugged in (serial ports: ...)".
awaitable<std::unique_ptr<ByteStream>> open_byte_stream(const ConnectionUrl& url, SerialSettings defaults);

// Opens and at once closes the serial port or pty a URL names (a TCP URL is std::logic_error: not probed), to tell
// before a run whether the port is there; throws as open_byte_stream does.
void probe_port(const ConnectionUrl& url, SerialSettings defaults);

}  // namespace insitu::io
