// The simulated BNC 575 on a pty, seen by a plain termios client: framing, echo, late and dropped replies,
// pulse delivery at the edge time, the rate generator, and unplug/replug under the same path.
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/trigger_sim/trigger_fixture.hpp"

namespace insitu::testing {
namespace {

using namespace std::chrono_literals;
using trigger::Fault;
using trigger::FaultKind;

class PtyClient {
 public:
  explicit PtyClient(const std::filesystem::path& link) : fd_(::open(link.c_str(), O_RDWR | O_NOCTTY)) {
    if (fd_ < 0) throw std::runtime_error("cannot open " + link.string());
    termios tio{};
    ::tcgetattr(fd_, &tio);
    ::cfmakeraw(&tio);
    ::tcsetattr(fd_, TCSANOW, &tio);
  }
  ~PtyClient() { ::close(fd_); }

  void send(const std::string& line) {
    const std::string bytes = line + "\r\n";
    ASSERT_EQ(::write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  // False when the port is gone (EIO after the master closed).
  bool try_send(const std::string& line) {
    const std::string bytes = line + "\r\n";
    return ::write(fd_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  }
  // Everything that arrives until `lines` CR LF lines are in, or `limit` of wall time passed.
  std::string read_lines(int lines, std::chrono::milliseconds limit = 500ms) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (count_lines(out) < lines) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) continue;
      char buf[256];
      const auto n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  std::string ask(const std::string& line) {
    send(line);
    return read_lines(1);
  }

 private:
  static int count_lines(const std::string& s) {
    int n = 0;
    for (std::size_t i = 0; (i = s.find("\r\n", i)) != std::string::npos; i += 2) ++n;
    return n;
  }
  int fd_;
};

TEST(TriggerPtyServer, AnswersEachLineWithOneCrLfLine) {
  TriggerFixture fx("bnc-framing", 60.0);
  PtyClient c(fx.dir / "ttyBNC");
  EXPECT_EQ(c.ask("*IDN?"), "BNC,575,31415,2.4.1-1.05\r\n");
  EXPECT_EQ(c.ask(":PULS1:WIDT 0.000100000"), "ok\r\n");
  EXPECT_EQ(c.ask(":PULSE1:WIDTH?"), "0.000100000\r\n");
  EXPECT_EQ(c.ask("PULSE1:STAT ON"), "?1\r\n");
  EXPECT_EQ(fx.received().back(), "PULSE1:STAT ON");
}

TEST(TriggerPtyServer, EchoesWhenTurnedOn) {
  TriggerFixture fx("bnc-echo", 60.0);
  PtyClient c(fx.dir / "ttyBNC");
  fx.unit.set_echo(true);
  EXPECT_TRUE(fx.state().echo);
  c.send("*RST");
  EXPECT_EQ(c.read_lines(2), "*RST\r\nok\r\n");
}

TEST(TriggerPtyServer, LateRepliesWaitOnTheRunClockAndKeepTheirOrder) {
  TriggerFixture fx("bnc-late", 600.0);
  PtyClient c(fx.dir / "ttyBNC");
  fx.unit.inject({FaultKind::late_reply, 60.0}, "*TRG");  // 100 ms wall at 600x
  const auto t0 = std::chrono::steady_clock::now();
  c.send("*TRG");
  c.send("*IDN?");
  EXPECT_EQ(c.read_lines(1, 50ms), "") << "nothing before the late reply is due";
  const std::string both = c.read_lines(2, 500ms);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 95ms);
  EXPECT_EQ(both, "ok\r\nBNC,575,31415,2.4.1-1.05\r\n");
}

TEST(TriggerPtyServer, DroppedReplyAndTargetedFaults) {
  TriggerFixture fx("bnc-faults", 60.0);
  PtyClient c(fx.dir / "ttyBNC");
  fx.unit.inject({FaultKind::drop_reply}, ":pulse0:stat?");  // case-insensitive prefix
  fx.unit.inject({FaultKind::invalid_parameter}, "*TRG");
  EXPECT_EQ(c.ask(":PULSE0:MODE SING"), "ok\r\n") << "faults wait for their command";
  c.send(":PULSE0:STAT?");
  EXPECT_EQ(c.read_lines(1, 100ms), "");
  EXPECT_EQ(c.ask("*TRG"), "?5\r\n");
  EXPECT_EQ(c.ask("*TRG"), "ok\r\n");
}

TEST(TriggerPtyServer, DeliversPulsesAtTheirEdgeTime) {
  trigger::EmulatorConfig config;
  config.trigger_latency_s = 2.0;
  TriggerFixture fx("bnc-pulses", 60.0, config);
  PtyClient c(fx.dir / "ttyBNC");
  for (const char* line : {":PULSE0:MODE SING", ":PULSE0:TRIG:MODE TRIG", ":PULSE1:DEL 5.000000000",
                           ":PULSE1:STAT ON", ":PULSE2:STAT ON", ":PULSE0:STAT ON"})
    ASSERT_EQ(c.ask(line), "ok\r\n") << line;
  const double sent_s = fx.clock.now_s();
  EXPECT_EQ(c.ask("*TRG"), "ok\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // 12 s run: past both edges
  const auto a = fx.pulses.on_channel(1);
  const auto b = fx.pulses.on_channel(2);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NEAR(a[0].event.t0_s, sent_s + 2.0, 0.5);
  EXPECT_DOUBLE_EQ(a[0].event.edge_s, a[0].event.t0_s + 5.0);
  EXPECT_DOUBLE_EQ(b[0].event.edge_s, b[0].event.t0_s);
  for (const auto& p : {a[0], b[0]}) {
    EXPECT_GE(p.delivered_s, p.event.edge_s);
    // 3 s run = 50 ms wall: on time, not held back until the next command.
    EXPECT_LT(p.delivered_s, p.event.edge_s + 3.0) << "channel " << p.event.channel << " delivered late";
  }
  EXPECT_FALSE(fx.state().run) << "SING cleared RUN after the shot";
}

TEST(TriggerPtyServer, RateGeneratorPulsesWithoutFurtherCommands) {
  TriggerFixture fx("bnc-rate", 60.0);
  PtyClient c(fx.dir / "ttyBNC");
  for (const char* line : {":PULSE0:PER 1.000000000", ":PULSE1:STAT ON", ":PULSE0:STAT ON"})
    ASSERT_EQ(c.ask(line), "ok\r\n") << line;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // 6 s run
  EXPECT_EQ(c.ask(":PULSE0:STAT OFF"), "ok\r\n");
  const auto a = fx.pulses.on_channel(1);
  ASSERT_GE(a.size(), 5u);
  ASSERT_LE(a.size(), 8u);
  for (std::size_t i = 1; i < a.size(); ++i) EXPECT_NEAR(a[i].event.edge_s - a[i - 1].event.edge_s, 1.0, 1e-9);
}

TEST(TriggerPtyServer, UnplugClosesThePtyAndReplugsUnderTheSamePath) {
  TriggerFixture fx("bnc-unplug", 600.0);
  const auto link = fx.dir / "ttyBNC";
  {
    PtyClient c(link);
    EXPECT_EQ(c.ask(":SYST:KLOC 1"), "ok\r\n");
    fx.unit.unplug(30.0);  // 50 ms wall
    EXPECT_EQ(fx.plug_count(), 1);
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(link)));
    EXPECT_FALSE(c.try_send("*IDN?")) << "the old pty is hung up";
  }
  for (int i = 0; i < 100 && fx.plug_count() < 2; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(fx.plug_count(), 2);
  PtyClient again(link);
  EXPECT_EQ(again.ask("*IDN?"), "BNC,575,31415,2.4.1-1.05\r\n");
  EXPECT_TRUE(fx.state().keypad_locked) << "the unit kept its state while the cable was out";
}

}  // namespace
}  // namespace insitu::testing
