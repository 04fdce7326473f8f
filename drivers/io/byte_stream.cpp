#include "drivers/io/byte_stream.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "drivers/io/pty.hpp"
#include "drivers/io/serial_ports.hpp"

namespace insitu::io {
namespace {

// A pseudo-terminal opened with termios: raw mode, the port's speed recorded for symmetry with real ports.
int open_pty(const std::string& path, const SerialSettings& settings) {
  const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open pty " + path);
  termios tio{};
  if (::tcgetattr(fd, &tio) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(fmt::format("cannot open pty {}: not a terminal ({})", path, std::strerror(err)));
  }
  ::cfmakeraw(&tio);
  ::cfsetispeed(&tio, termios_speed(settings.baud));
  ::cfsetospeed(&tio, termios_speed(settings.baud));
  tio.c_cflag |= CLOCAL | CREAD;
  if (settings.flow == FlowControl::rts_cts) tio.c_cflag |= CRTSCTS;
  ::tcsetattr(fd, TCSANOW, &tio);
  return fd;
}

// Reading, writing and cancelling are the same for every Asio stream; draining and discarding are not.
template <typename AsyncStream>
class AsioByteStream : public ByteStream {
 public:
  AsioByteStream(AsyncStream stream, std::string name) : stream_(std::move(stream)), name_(std::move(name)) {}

  awaitable<std::size_t> read_some(asio::mutable_buffer buffer, std::error_code& ec) override {
    boost::system::error_code bec;
    const auto n = co_await stream_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, bec));
    ec = bec;
    co_return n;
  }

  awaitable<void> write_all(asio::const_buffer buffer, std::error_code& ec) override {
    boost::system::error_code bec;
    co_await asio::async_write(stream_, buffer, asio::redirect_error(asio::use_awaitable, bec));
    ec = bec;
  }

  void cancel() override { stream_.cancel(); }
  std::string describe() const override { return name_; }

 protected:
  AsyncStream stream_;
  std::string name_;
};

class FdStream final : public AsioByteStream<asio::posix::stream_descriptor> {
 public:
  FdStream(asio::any_io_executor ex, int fd, std::string name)
      : AsioByteStream(asio::posix::stream_descriptor(ex, fd), std::move(name)) {}

  awaitable<void> drain(std::error_code& ec) override {
    // Poll the output queue instead of tcdrain(), which would block the loop for the whole transmission.
    asio::steady_timer timer(stream_.get_executor());
    for (;;) {
      int pending = 0;
      if (::ioctl(stream_.native_handle(), TIOCOUTQ, &pending) != 0) {
        ec = std::error_code(errno, std::generic_category());
        co_return;
      }
      if (pending == 0) co_return;
      timer.expires_after(std::chrono::microseconds(200));
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  void discard_input() override { ::tcflush(stream_.native_handle(), TCIFLUSH); }
};

class TcpStream final : public AsioByteStream<asio::ip::tcp::socket> {
 public:
  TcpStream(asio::ip::tcp::socket socket, std::string name) : AsioByteStream(std::move(socket), std::move(name)) {
    stream_.set_option(asio::ip::tcp::no_delay(true));
  }

  awaitable<void> drain(std::error_code& ec) override {
    ec.clear();
    co_return;
  }

  void discard_input() override {
    boost::system::error_code ec;
    std::array<char, 256> sink{};
    while (stream_.available(ec) > 0 && !ec) stream_.read_some(asio::buffer(sink), ec);
  }
};

// A serial port or pty as a non-blocking fd, and its name for describe().
struct OpenedPort {
  int fd = -1;
  std::string name;
};

OpenedPort open_port(const ConnectionUrl& url, SerialSettings settings) {
  if (url.baud) settings.baud = *url.baud;
  if (url.flow) settings.flow = *url.flow;
  if (url.kind == ConnectionUrl::Kind::pty) return {open_pty(url.path, settings), url.to_string()};
  if (url.kind != ConnectionUrl::Kind::serial) throw std::logic_error("open_port: not a serial port or pty");
  const std::string device = url.usb ? find_usb_serial_port(*url.usb) : url.path;
  return {open_serial_port(device, settings), fmt::format("{} ({})", url.to_string(), device)};
}

}  // namespace

void probe_port(const ConnectionUrl& url, SerialSettings defaults) { ::close(open_port(url, defaults).fd); }

awaitable<std::unique_ptr<ByteStream>> open_byte_stream(const ConnectionUrl& url, SerialSettings defaults) {
  auto ex = co_await asio::this_coro::executor;
  switch (url.kind) {
    case ConnectionUrl::Kind::pty:
    case ConnectionUrl::Kind::serial: {
      auto port = open_port(url, defaults);
      co_return std::make_unique<FdStream>(ex, port.fd, std::move(port.name));
    }
    case ConnectionUrl::Kind::tcp: {
      asio::ip::tcp::resolver resolver(ex);
      const auto endpoints =
          co_await resolver.async_resolve(url.host, std::to_string(url.port), asio::use_awaitable);
      asio::ip::tcp::socket socket(ex);
      co_await asio::async_connect(socket, endpoints, asio::use_awaitable);
      co_return std::make_unique<TcpStream>(std::move(socket), url.to_string());
    }
  }
  throw std::logic_error("unknown connection kind");
}

}  // namespace insitu::io
