#pragma once
// Line framing with deadlines over a ByteStream: the shape of every ASCII instrument protocol we speak.
#include <chrono>
#include <optional>
#include <string>

#include "drivers/io/byte_stream.hpp"

namespace insitu::io {

enum class LineStatus { ok, timeout, closed };

struct LineResult {
  LineStatus status;
  std::string line;   // without the terminator
  std::error_code error;  // set when closed
};

class LineChannel {
 public:
  // `terminator` ends received lines (CR for the Linkam, LF for SCPI where the preceding CR is stripped).
  LineChannel(ByteStream& stream, char terminator, bool strip_cr_before_terminator = false);

  awaitable<std::error_code> write(std::string_view bytes);
  // Waits up to `timeout` (wall time) for one complete line.
  awaitable<LineResult> read_line(std::chrono::steady_clock::duration timeout);
  // Drops everything received so far, buffered or still in the OS queue.
  void discard_input();

 private:
  std::optional<std::string> take_line();

  ByteStream& stream_;
  char terminator_;
  bool strip_cr_;
  std::string buffer_;
};

}  // namespace insitu::io
