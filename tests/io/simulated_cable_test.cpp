#include "drivers/io/simulated_cable.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace insitu::io {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Echoes what the driver side writes, until the plug is pulled.
awaitable<void> echo(std::shared_ptr<SimulatedCable::Plug> plug) {
  std::array<char, 64> buffer{};
  for (;;) {
    const std::size_t n = co_await plug->read_some(asio::buffer(buffer));
    if (n == 0 || !co_await plug->write(asio::buffer(buffer.data(), n))) co_return;
  }
}

// What the driver sees on its fd: bytes, or a hang-up (EOF/EIO), within `timeout`.
struct ClientRead {
  std::string bytes;
  bool hangup = false;
};

class SimulatedCableTest : public ::testing::Test {
 protected:
  SimulatedCableTest() : clock(10.0) {
    char pattern[] = "/tmp/insitu-cable-XXXXXX";
    dir = ::mkdtemp(pattern);
  }
  ~SimulatedCableTest() override { fs::remove_all(dir); }

  SimulatedCable::Handlers handlers() {
    return {.plugged =
                [this](const std::shared_ptr<SimulatedCable::Plug>& plug) {
                  plugs.push_back(plug);
                  asio::co_spawn(io, echo(plug), asio::detached);
                },
            .pulled = [this] { ++pulls; }};
  }

  // Serves the cable while waiting for the client's fd.
  ClientRead read_client(int fd, std::chrono::milliseconds timeout) {
    ClientRead result;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      io.run_for(5ms);
      io.restart();
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) continue;
      std::array<char, 64> buffer{};
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n > 0) return {std::string(buffer.data(), static_cast<std::size_t>(n)), false};
      if (n == 0 || errno != EAGAIN) return {{}, true};
    }
    return result;
  }

  // What a driver opening `link` gets back for `bytes` from the echoing simulator.
  std::string round_trip(const fs::path& link, const std::string& bytes) {
    const int fd = ::open(link.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return "open failed";
    std::string reply = "write failed";
    if (::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()))
      reply = read_client(fd, 2000ms).bytes;
    ::close(fd);
    return reply;
  }

  asio::io_context io;
  RunClock clock;
  fs::path dir;
  std::vector<std::shared_ptr<SimulatedCable::Plug>> plugs;
  int pulls = 0;
};

TEST_F(SimulatedCableTest, PublishesAPtyThatCarriesBytesBothWays) {
  SimulatedCable cable(io, clock, dir / "ttySim", 19200, "test", handlers());
  ASSERT_EQ(plugs.size(), 1U);
  EXPECT_EQ(cable.plug_count(), 1);
  ASSERT_TRUE(fs::is_symlink(cable.link()));
  EXPECT_TRUE(fs::read_symlink(cable.link()).string().starts_with("/dev/pts/"));

  EXPECT_EQ(round_trip(cable.link(), "ping"), "ping");
}

TEST_F(SimulatedCableTest, UnplugHangsUpThenANewPtyAppearsUnderTheSameLink) {
  SimulatedCable cable(io, clock, dir / "ttySim", 38400, "test", handlers());
  const int fd = ::open(cable.link().c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(fd, 0);

  cable.unplug(2.0);  // 200 ms of wall time at 10x
  EXPECT_TRUE(read_client(fd, 1000ms).hangup);
  ::close(fd);
  EXPECT_EQ(pulls, 1);
  EXPECT_TRUE(plugs.front()->pulled());
  EXPECT_FALSE(fs::exists(fs::symlink_status(cable.link())));
  EXPECT_EQ(cable.plug_count(), 1);

  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (plugs.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    io.run_for(10ms);
    io.restart();
  }
  ASSERT_EQ(plugs.size(), 2U);  // a new Plug: the pts number itself may be reused once freed
  EXPECT_EQ(cable.plug_count(), 2);
  EXPECT_FALSE(plugs.back()->pulled());
  ASSERT_TRUE(fs::is_symlink(cable.link()));
  EXPECT_EQ(round_trip(cable.link(), "back"), "back");
}

// A replug timer that has expired but whose completion is still queued is not cancelled by re-arming the timer:
// a second unplug arriving then must still keep the cable out for its own down time.
TEST_F(SimulatedCableTest, AReplugAlreadyDueDoesNotCutShortALaterUnplug) {
  SimulatedCable cable(io, clock, dir / "ttySim", 19200, "test", handlers());
  io.poll();
  io.restart();
  cable.unplug(0.0);  // the replug is due at once
  ASSERT_EQ(io.poll_one(), 1U);
  ASSERT_EQ(pulls, 1);
  std::this_thread::sleep_for(5ms);  // the replug timer expires; the loop has not looked at it yet
  cable.unplug(5.0);                 // out again, for 500 ms of wall time at 10x
  io.run_for(200ms);
  EXPECT_EQ(cable.plug_count(), 1);
  EXPECT_EQ(plugs.size(), 1U);
  EXPECT_FALSE(fs::exists(fs::symlink_status(cable.link())));
}

TEST_F(SimulatedCableTest, DestructionPullsAndCancelsAPendingReplug) {
  {
    SimulatedCable cable(io, clock, dir / "ttySim", 19200, "test", handlers());
    cable.unplug(0.5);
    io.run_for(10ms);  // the pull happens; the replug is 50 ms away
    io.restart();
    EXPECT_EQ(pulls, 1);
  }
  io.run_for(200ms);  // a replug left behind would publish the link again here
  EXPECT_EQ(plugs.size(), 1U);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "ttySim")));

  { SimulatedCable cable(io, clock, dir / "ttySim", 19200, "test", handlers()); }
  EXPECT_EQ(pulls, 2);
  EXPECT_TRUE(plugs.back()->pulled());
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "ttySim")));
}

}  // namespace
}  // namespace insitu::io
