#include "drivers/linkam/sim/pty_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace insitu::linkam::sim {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A plain termios client, the way the driver opens a serial port.
int open_client(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fd;
  termios tio{};
  ::tcgetattr(fd, &tio);
  ::cfmakeraw(&tio);
  ::cfsetspeed(&tio, B19200);
  ::tcsetattr(fd, TCSANOW, &tio);
  return fd;
}

struct ReadResult {
  std::string bytes;
  bool hangup = false;
};

// Reads until a CR arrives, the peer hangs up, or `timeout` of wall time passes.
ReadResult read_line(int fd, std::chrono::milliseconds timeout) {
  ReadResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (result.bytes.empty() || result.bytes.back() != '\r') {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[64];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      result.bytes.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EAGAIN) {
      result.hangup = true;
      break;
    }
  }
  return result;
}

bool send(int fd, std::string_view bytes) {
  return ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
}

class PtyServerTest : public ::testing::Test {
 protected:
  explicit PtyServerTest(double speed = 20.0) : clock(speed) {
    char pattern[] = "/tmp/insitu-linkam-sim-XXXXXX";
    dir = ::mkdtemp(pattern);
    server = std::make_unique<PtyServer>(io, clock, dir / "ttyLinkam", 42);
    io_thread = std::thread([this] { io.run(); });
  }
  ~PtyServerTest() override {
    work.reset();
    io.stop();
    io_thread.join();
    server.reset();
    fs::remove_all(dir);
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  io::RunClock clock;
  fs::path dir;
  std::unique_ptr<PtyServer> server;
  std::thread io_thread;
};

TEST_F(PtyServerTest, TermiosClientGetsAStatusReply) {
  ASSERT_TRUE(fs::is_symlink(server->link()));
  EXPECT_TRUE(fs::read_symlink(server->link()).string().starts_with("/dev/pts/"));
  const int fd = open_client(server->link());
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_TRUE(send(fd, "T\r"));
  const ReadResult reply = read_line(fd, 2000ms);
  ASSERT_EQ(reply.bytes.size(), 11u);
  EXPECT_EQ(reply.bytes[0], '\x01');
  EXPECT_EQ(reply.bytes.substr(3, 3), "\x80\x80\x80");
  const auto tenths = static_cast<std::int16_t>(std::stoul(reply.bytes.substr(6, 4), nullptr, 16));
  EXPECT_NEAR(tenths / 10.0, 295.0 - 273.15, 0.2);
  ASSERT_TRUE(send(fd, "R11000\r"));
  EXPECT_EQ(read_line(fd, 2000ms).bytes, "\r");
  ::close(fd);

  // A driver that closes and reopens the port finds the device still there.
  const int again = open_client(server->link());
  ASSERT_GE(again, 0);
  ASSERT_TRUE(send(again, "T\r"));
  EXPECT_EQ(read_line(again, 2000ms).bytes.size(), 11u);
  ::close(again);
}

TEST_F(PtyServerTest, UnplugHangsUpAndTheLinkComesBackToANewPty) {
  const fs::path old_target = fs::read_symlink(server->link());
  const int fd = open_client(server->link());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send(fd, "T\r"));
  ASSERT_EQ(read_line(fd, 2000ms).bytes.size(), 11u);

  server->unplug(10.0);  // 0.5 s of wall time at 20x
  EXPECT_TRUE(read_line(fd, 2000ms).hangup);
  EXPECT_FALSE(send(fd, "T\r"));
  EXPECT_EQ(errno, EIO);
  EXPECT_FALSE(fs::exists(fs::symlink_status(server->link())));

  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!fs::exists(server->link()) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(fs::exists(server->link()));
  EXPECT_NE(fs::read_symlink(server->link()), old_target);  // ours is still open, so it is a new pty
  ::close(fd);

  const int fresh = open_client(server->link());
  ASSERT_GE(fresh, 0);
  ASSERT_TRUE(send(fresh, "R11000\r"));
  EXPECT_EQ(read_line(fresh, 300ms).bytes, "");  // back in the init state: `T` must come first
  ASSERT_TRUE(send(fresh, "T\r"));
  EXPECT_EQ(read_line(fresh, 2000ms).bytes.size(), 11u);
  ::close(fresh);
}

TEST_F(PtyServerTest, FaultsSetFromAnotherThread) {
  const int fd = open_client(server->link());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send(fd, "T\r"));
  ASSERT_EQ(read_line(fd, 2000ms).bytes.size(), 11u);

  server->set_fault(Fault::silence, true);
  ASSERT_TRUE(send(fd, "T\r"));
  EXPECT_EQ(read_line(fd, 300ms).bytes, "");
  server->set_fault(Fault::silence, false);
  ASSERT_TRUE(send(fd, "T\r"));
  EXPECT_EQ(read_line(fd, 2000ms).bytes.size(), 11u);

  server->set_fault(Fault::open_circuit, true);
  ASSERT_TRUE(send(fd, "T\r"));
  const std::string reply = read_line(fd, 2000ms).bytes;
  ASSERT_EQ(reply.size(), 11u);
  EXPECT_EQ(static_cast<unsigned char>(reply[1]), 0x82);
  ::close(fd);
}

}  // namespace
}  // namespace insitu::linkam::sim
