#include "drivers/io/line_channel.hpp"

#include <array>
#include <memory>

namespace insitu::io {

LineChannel::LineChannel(ByteStream& stream, char terminator, bool strip_cr_before_terminator)
    : stream_(stream), terminator_(terminator), strip_cr_(strip_cr_before_terminator) {}

awaitable<std::error_code> LineChannel::write(std::string_view bytes) {
  std::error_code ec;
  co_await stream_.write_all(asio::buffer(bytes.data(), bytes.size()), ec);
  co_return ec;
}

std::optional<std::string> LineChannel::take_line() {
  const auto end = buffer_.find(terminator_);
  if (end == std::string::npos) return std::nullopt;
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 1);
  if (strip_cr_ && !line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

awaitable<LineResult> LineChannel::read_line(std::chrono::steady_clock::duration timeout) {
  if (auto line = take_line()) co_return LineResult{LineStatus::ok, std::move(*line), {}};

  // The watchdog cancels the pending read when the deadline passes. When the read completes in the same poll
  // as the deadline (a loaded machine), the expiry is already queued and cancel() cannot stop it: the handler
  // then runs after we returned, when the caller may have dropped the link and freed the stream, or started
  // the next read. So it acts only while this read is still waiting, which `finished` records on every exit
  // (a destroyed frame included).
  struct Watch {
    bool expired = false;
    bool finished = false;
  };
  auto watch = std::make_shared<Watch>();
  struct FinishOnExit {
    std::shared_ptr<Watch> watch;
    ~FinishOnExit() { watch->finished = true; }
  } finish_on_exit{watch};
  asio::steady_timer watchdog(co_await asio::this_coro::executor);
  watchdog.expires_after(timeout);
  watchdog.async_wait([watch, &stream = stream_](const boost::system::error_code& ec) {
    if (ec || watch->finished) return;
    watch->expired = true;
    stream.cancel();
  });

  std::array<char, 512> chunk{};
  for (;;) {
    std::error_code ec;
    const auto n = co_await stream_.read_some(asio::buffer(chunk), ec);
    // Bytes that came with the deadline are kept: a reply that made it is a reply.
    if (!ec) {
      buffer_.append(chunk.data(), n);
      if (auto line = take_line()) {
        watchdog.cancel();
        co_return LineResult{LineStatus::ok, std::move(*line), {}};
      }
    }
    if (watch->expired) co_return LineResult{LineStatus::timeout, {}, {}};
    if (ec) {
      watchdog.cancel();
      co_return LineResult{LineStatus::closed, {}, ec};
    }
  }
}

void LineChannel::discard_input() {
  buffer_.clear();
  stream_.discard_input();
}

}  // namespace insitu::io
