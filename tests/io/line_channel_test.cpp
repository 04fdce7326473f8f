// Line framing and deadlines over a real pseudo-terminal pair.
#include "drivers/io/line_channel.hpp"

#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

namespace insitu::io {
namespace {

class PtyPair : public ::testing::Test {
 protected:
  void SetUp() override {
    int slave = -1;
    ASSERT_EQ(::openpty(&master_, &slave, nullptr, nullptr, nullptr), 0);
    termios tio{};
    ::tcgetattr(slave, &tio);
    ::cfmakeraw(&tio);
    ::tcsetattr(slave, TCSANOW, &tio);
    char name[256];
    ASSERT_EQ(::ttyname_r(slave, name, sizeof name), 0);
    slave_path_ = name;
    ::close(slave);
  }
  void TearDown() override { ::close(master_); }

  std::unique_ptr<ByteStream> open_slave() {
    std::unique_ptr<ByteStream> stream;
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          stream = co_await open_byte_stream(parse_connection_url("pty:" + slave_path_), SerialSettings{19200});
        },
        asio::detached);
    io_.run();
    io_.restart();
    return stream;
  }

  LineResult read_line(LineChannel& channel, std::chrono::milliseconds timeout) {
    LineResult result{};
    asio::co_spawn(
        io_, [&]() -> awaitable<void> { result = co_await channel.read_line(timeout); }, asio::detached);
    io_.run();
    io_.restart();
    return result;
  }

  void device_sends(std::string_view bytes) { ASSERT_EQ(::write(master_, bytes.data(), bytes.size()), ssize_t(bytes.size())); }

  asio::io_context io_;
  int master_ = -1;
  std::string slave_path_;
};

TEST_F(PtyPair, SplitsLinesAcrossChunksAndKeepsTheRest) {
  auto stream = open_slave();
  LineChannel channel(*stream, '\r');
  device_sends("ab");
  device_sends("c\rdef\r");
  auto first = read_line(channel, std::chrono::seconds(1));
  EXPECT_EQ(first.status, LineStatus::ok);
  EXPECT_EQ(first.line, "abc");
  auto second = read_line(channel, std::chrono::seconds(1));
  EXPECT_EQ(second.line, "def");
}

TEST_F(PtyPair, TimesOutWithoutATerminatorAndDiscardsStaleInput) {
  auto stream = open_slave();
  LineChannel channel(*stream, '\r');
  device_sends("partial");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = read_line(channel, std::chrono::milliseconds(100));
  EXPECT_EQ(r.status, LineStatus::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
  channel.discard_input();
  device_sends("fresh\r");
  EXPECT_EQ(read_line(channel, std::chrono::seconds(1)).line, "fresh");
}

TEST_F(PtyPair, StripsTheCarriageReturnOfCrLfLines) {
  auto stream = open_slave();
  LineChannel channel(*stream, '\n', true);
  device_sends("ok\r\n1\r\n");
  EXPECT_EQ(read_line(channel, std::chrono::seconds(1)).line, "ok");
  EXPECT_EQ(read_line(channel, std::chrono::seconds(1)).line, "1");
}

TEST_F(PtyPair, AClosedMasterIsReportedAsClosed) {
  auto stream = open_slave();
  LineChannel channel(*stream, '\r');
  ::close(master_);
  master_ = ::open("/dev/null", O_RDONLY);  // keep TearDown's close harmless
  auto r = read_line(channel, std::chrono::seconds(1));
  EXPECT_EQ(r.status, LineStatus::closed);
  EXPECT_TRUE(r.error);
}

// A loaded machine: the loop is descheduled across the deadline while the reply comes in, so the reply and the
// expiry are seen in the same poll. The reply counts, and the expiry (already queued when the read returned)
// must not cancel the read that follows it.
TEST_F(PtyPair, AReplyArrivingWithTheDeadlineCountsAndTheNextReadIsNotCancelled) {
  auto stream = open_slave();
  LineChannel channel(*stream, '\r');
  constexpr auto timeout = std::chrono::milliseconds(100);
  LineResult first{}, second{};
  asio::co_spawn(
      io_,
      [&]() -> awaitable<void> {
        first = co_await channel.read_line(timeout);
        second = co_await channel.read_line(timeout);
      },
      asio::detached);
  asio::steady_timer stall(io_, timeout / 4), later(io_);
  stall.async_wait([&](const boost::system::error_code&) {
    device_sends("first\r");
    std::this_thread::sleep_for(timeout);
    later.expires_after(timeout / 4);
    later.async_wait([&](const boost::system::error_code&) { device_sends("second\r"); });
  });
  io_.run();
  io_.restart();
  EXPECT_EQ(first.status, LineStatus::ok);
  EXPECT_EQ(first.line, "first");
  EXPECT_EQ(second.status, LineStatus::ok) << second.error.message();
  EXPECT_EQ(second.line, "second");
}

TEST_F(PtyPair, OpeningSomethingThatIsNotATerminalFails) {
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> { co_await open_byte_stream(parse_connection_url("pty:/dev/null"), SerialSettings{}); },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  EXPECT_TRUE(failure);
}

}  // namespace
}  // namespace insitu::io

namespace insitu::io {
namespace {

// A serial-over-Ethernet server on loopback (port 0): what a Moxa NPort looks like to the driver.
TEST(TcpStream, ExchangesLinesWithASerialServerOnLoopback) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  const auto port = acceptor.local_endpoint().port();
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto peer = co_await acceptor.async_accept(asio::use_awaitable);
        std::string request;
        co_await asio::async_read_until(peer, asio::dynamic_buffer(request), '\r', asio::use_awaitable);
        const std::string reply = "got " + request;
        co_await asio::async_write(peer, asio::buffer(reply), asio::use_awaitable);
      },
      asio::detached);
  std::string line;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto stream = co_await open_byte_stream(parse_connection_url("tcp://127.0.0.1:" + std::to_string(port)),
                                                SerialSettings{});
        LineChannel channel(*stream, '\r');
        co_await channel.write("T\r");
        line = (co_await channel.read_line(std::chrono::seconds(2))).line;
      },
      asio::detached);
  io.run();
  EXPECT_EQ(line, "got T");
}

}  // namespace
}  // namespace insitu::io
