// The shared link state of the drivers, over a real pseudo-terminal: drop and its event, the reconnect back-off.
#include "drivers/io/instrument_link.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "drivers/io/pty.hpp"

namespace insitu::io {
namespace {

namespace fs = std::filesystem;

class InstrumentLinkTest : public ::testing::Test {
 protected:
  InstrumentLinkTest()
      : clock(20.0),
        events(clock, std::make_shared<spdlog::logger>("link", std::make_shared<spdlog::sinks::null_sink_mt>())) {
    char pattern[] = "/tmp/insitu-link-XXXXXX";
    dir = ::mkdtemp(pattern);
    pty = publish_pty(dir / "ttyDev", 19200);
    events.set_handler(
        [this](double, EventKind kind, const std::string& message) { seen.emplace_back(to_string(kind), message); });
  }
  ~InstrumentLinkTest() override {
    ::close(pty.master_fd);
    ::close(pty.slave_fd);
    fs::remove_all(dir);
  }

  InstrumentLink make_link() {
    return InstrumentLink(
        clock, events, "test link",
        {parse_connection_url("pty:" + (dir / "ttyDev").string()), SerialSettings{19200}, '\r', false, 4.0});
  }

  // Runs `body` to completion on the fixture's loop, which outlives the links a test opens on it.
  template <typename F>
  void run(F body) {
    io.restart();
    asio::co_spawn(io, body(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.run();
  }

  asio::io_context io;
  RunClock clock;
  RunEvents events;
  fs::path dir;
  PublishedPty pty;
  std::vector<std::pair<std::string, std::string>> seen;
};

TEST_F(InstrumentLinkTest, DropEmitsOneFaultAndCloses) {
  auto link = make_link();
  EXPECT_FALSE(link.is_open());
  link.drop("never open");  // nothing to lose
  EXPECT_TRUE(seen.empty());

  run([&]() -> awaitable<void> { co_await link.open(); });
  ASSERT_TRUE(link.is_open());
  const std::string where = link.describe();
  link.drop("EIO");
  EXPECT_FALSE(link.is_open());
  link.drop("again");
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].first, "fault");
  EXPECT_EQ(seen[0].second, "test link " + where + " lost: EIO");
  EXPECT_TRUE(link.may_reconnect());  // the first attempt after a drop is not held back
  EXPECT_NEAR(link.down_since_s(), clock.now_s(), 1.0);
}

TEST_F(InstrumentLinkTest, BackoffDoublesUpToItsCeilingAndRestartsAfterADrop) {
  auto link = make_link();
  std::vector<double> waits_s;
  const auto failed_then_wait = [&]() -> awaitable<void> {
    link.reconnect_failed();
    const double failed_s = clock.now_s();
    EXPECT_FALSE(link.may_reconnect());
    co_await link.wait_to_reconnect();
    EXPECT_TRUE(link.may_reconnect());
    waits_s.push_back(clock.now_s() - failed_s);
  };
  run([&]() -> awaitable<void> {
    for (int i = 0; i < 4; ++i) co_await failed_then_wait();
    co_await link.open();
    link.drop("EOF");
    co_await failed_then_wait();
  });
  ASSERT_EQ(waits_s.size(), 5U);
  const std::vector<double> expected_s{1.0, 2.0, 4.0, 4.0, 1.0};
  for (std::size_t i = 0; i < expected_s.size(); ++i) EXPECT_GE(waits_s[i], expected_s[i] - 1e-6) << i;
  // Without the ceiling the fourth wait would be 8 s, without the restart after a drop the last one 4 s.
  EXPECT_LT(waits_s[3], 7.0);
  EXPECT_LT(waits_s[4], 3.0);
}

// A port that opens but dies in the reconnect's init (the unit is powered but not answering): one fault for the
// outage, the back-off keeps growing and the outage keeps its start, so a driver's give-up time can be reached.
TEST_F(InstrumentLinkTest, ALinkThatDiesInItsReconnectKeepsBackingOffFromTheFirstDrop) {
  auto link = make_link();
  std::vector<double> waits_s;
  double first_drop_s = 0.0;
  run([&]() -> awaitable<void> {
    co_await link.open();
    link.restored();
    link.drop("EIO");
    first_drop_s = link.down_since_s();
    for (int attempt = 0; attempt < 3; ++attempt) {
      co_await link.wait_to_reconnect();
      co_await link.open();
      link.drop("no reply to the init");
      EXPECT_FALSE(link.is_open());
      EXPECT_EQ(link.down_since_s(), first_drop_s) << attempt;
      link.reconnect_failed();
      const double failed_s = clock.now_s();
      co_await link.wait_to_reconnect();
      waits_s.push_back(clock.now_s() - failed_s);
    }
    co_await link.open();
    link.restored();
    link.drop("EOF");  // a new outage
  });
  ASSERT_EQ(waits_s.size(), 3U);
  const std::vector<double> expected_s{1.0, 2.0, 4.0};
  for (std::size_t i = 0; i < expected_s.size(); ++i) EXPECT_GE(waits_s[i], expected_s[i] - 1e-6) << i;
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_NE(seen[0].second.find("lost: EIO"), std::string::npos);
  EXPECT_NE(seen[1].second.find("lost: EOF"), std::string::npos);
  EXPECT_GT(link.down_since_s(), first_drop_s);
}

}  // namespace
}  // namespace insitu::io
