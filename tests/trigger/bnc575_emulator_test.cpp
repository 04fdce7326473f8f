#include "drivers/trigger/bnc575_emulator.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace insitu::trigger {
namespace {

// Sends one command line and returns the single Response the device owes it.
Response exchange(Bnc575Emulator& device, const std::string& line, double now_s = 0.0) {
  auto responses = device.receive(line + "\r\n", now_s);
  EXPECT_EQ(responses.size(), 1u) << line;
  return responses.empty() ? Response{} : responses.front();
}

std::string reply(Bnc575Emulator& device, const std::string& line, double now_s = 0.0) {
  return exchange(device, line, now_s).bytes;
}

void initialise(Bnc575Emulator& device, const InitConfig& config = {}) {
  EXPECT_EQ(reply(device, cmd::reset()), "ok\r\n");
  for (const std::string& line : init_sequence(config)) EXPECT_EQ(reply(device, line), "ok\r\n") << line;
}

TEST(Bnc575Emulator, IdentifiesAndInitialises) {
  Bnc575Emulator device;
  const Identity id = parse_identity(classify_reply(LineSplitter{}.feed(reply(device, "*IDN?")).at(0)).value);
  EXPECT_EQ(id.model, "575");
  initialise(device);
  const EmulatorState& s = device.state();
  EXPECT_EQ(s.mode, SystemMode::single);
  EXPECT_EQ(s.trigger_mode, TriggerMode::triggered);
  EXPECT_TRUE(s.channels[0].enabled);
  EXPECT_FALSE(s.channels[1].enabled);
  EXPECT_DOUBLE_EQ(s.channels[0].width_s, 1e-4);
  EXPECT_TRUE(s.keypad_locked);
  EXPECT_FALSE(s.run);
  EXPECT_EQ(reply(device, ":INST:CAT?"), "T0, CHA, CHB, CHC, CHD\r\n");
}

TEST(Bnc575Emulator, PerFrameArmTriggerConfirm) {
  Bnc575Emulator device;
  InitConfig config;
  config.detector.delay_s = 1e-3;
  config.echo_channel = ChannelConfig{2};
  initialise(device, config);
  for (int k = 0; k < 3; ++k) {
    const double t_s = 10.0 + 12.0 * k;
    EXPECT_EQ(reply(device, ":PULSE0:STAT ON", t_s - 0.1), "ok\r\n");
    EXPECT_TRUE(device.state().run);
    const Response fired = exchange(device, "*TRG", t_s);
    EXPECT_EQ(fired.bytes, "ok\r\n");
    ASSERT_EQ(fired.pulses.size(), 2u);
    EXPECT_EQ(fired.pulses[0].channel, 1);
    EXPECT_DOUBLE_EQ(fired.pulses[0].t0_s, t_s);
    EXPECT_DOUBLE_EQ(fired.pulses[0].edge_s, t_s + 1e-3);
    EXPECT_DOUBLE_EQ(fired.pulses[0].width_s, 1e-4);
    EXPECT_EQ(fired.pulses[1].channel, 2);
    EXPECT_DOUBLE_EQ(fired.pulses[1].edge_s, t_s);
    // The single shot clears RUN by itself.
    EXPECT_EQ(reply(device, ":PULSE0:STAT?", t_s + 0.01), "0\r\n");
  }
  for (const std::string& line : shutdown_sequence()) EXPECT_EQ(reply(device, line), "ok\r\n");
  EXPECT_FALSE(device.state().keypad_locked);
}

TEST(Bnc575Emulator, TriggerLatencyShiftsT0) {
  EmulatorConfig config;
  config.trigger_latency_s = 2e-3;
  Bnc575Emulator device(config);
  initialise(device);
  reply(device, ":PULSE0:STAT ON", 1.0);
  const Response fired = exchange(device, "*TRG", 2.0);
  // T0 lies in the future: the pulse is reported once the run time reaches it.
  EXPECT_TRUE(fired.pulses.empty());
  const auto pulses = device.advance(2.002);
  ASSERT_EQ(pulses.size(), 1u);
  EXPECT_DOUBLE_EQ(pulses[0].t0_s, 2.002);
}

TEST(Bnc575Emulator, TriggerWhileNotArmed) {
  Bnc575Emulator lenient;
  initialise(lenient);
  const Response ignored = exchange(lenient, "*TRG", 5.0);
  EXPECT_EQ(ignored.bytes, "ok\r\n");
  EXPECT_TRUE(ignored.pulses.empty());

  EmulatorConfig config;
  config.trigger_unarmed_is_error = true;
  Bnc575Emulator strict(config);
  initialise(strict);
  EXPECT_EQ(reply(strict, "*TRG"), "?8\r\n");
}

TEST(Bnc575Emulator, EveryErrorCode) {
  EmulatorConfig config;
  config.trigger_unarmed_is_error = true;
  Bnc575Emulator device(config);
  EXPECT_EQ(reply(device, "PULSE0:STAT ON"), "?1\r\n");
  EXPECT_EQ(reply(device, ":"), "?2\r\n");
  EXPECT_EQ(reply(device, ":PULSE1"), "?2\r\n");
  EXPECT_EQ(reply(device, ":PULSE1::WIDT 1"), "?2\r\n");
  EXPECT_EQ(reply(device, ":PULSE0:FOO 1"), "?3\r\n");
  EXPECT_EQ(reply(device, ":PULSE5:WIDT 0.001"), "?3\r\n");  // 4-channel unit
  EXPECT_EQ(reply(device, ":PULSE1:WID 0.001"), "?3\r\n");   // neither short nor long form
  EXPECT_EQ(reply(device, "*FOO"), "?3\r\n");
  EXPECT_EQ(reply(device, ":PULSE1:WIDT"), "?4\r\n");
  EXPECT_EQ(reply(device, ":PULSE1:WIDT abc"), "?5\r\n");
  EXPECT_EQ(reply(device, ":PULSE1:WIDT 1e-9"), "?5\r\n");
  EXPECT_EQ(reply(device, ":PULSE0:MODE SOMETIMES"), "?5\r\n");
  EXPECT_EQ(reply(device, ":PULSE0:BCO 2.5"), "?5\r\n");
  EXPECT_EQ(reply(device, ":PULSE1:SYNC CHA"), "?5\r\n");  // a channel cannot sync to itself
  EXPECT_EQ(reply(device, ":PULSE1:WIDT? 2"), "?5\r\n");    // a query takes no argument
  EXPECT_EQ(reply(device, ":PULSE1:FOO? 2"), "?3\r\n");     // ... but a bad keyword is reported first
  EXPECT_EQ(reply(device, "*IDN"), "?6\r\n");
  EXPECT_EQ(reply(device, ":INST:CAT"), "?6\r\n");
  EXPECT_EQ(reply(device, "*RST?"), "?7\r\n");
  EXPECT_EQ(reply(device, "*TRG?"), "?7\r\n");
  EXPECT_EQ(reply(device, "*TRG"), "?8\r\n");
  for (int n = 1; n <= 8; ++n) EXPECT_EQ(classify_reply("?" + std::to_string(n)).error_code, n);
}

TEST(Bnc575Emulator, ShortAndLongKeywordsAnyCase) {
  Bnc575Emulator device;
  const std::vector<std::pair<std::string, std::string>> set_then_query{
      {":pulse1:width 0.0002", ":PULS1:WIDT?"},        {":PULS1:WIDT 0.0003", ":pulse1:width?"},
      {":PuLsE2:DeLaY -0.001", ":PULS2:DEL?"},         {":PULS2:DEL 0.002", ":PULSE2:DELAY?"},
      {":PULSE1:POLARITY INV", ":PULS1:POL?"},         {":PULSE0:PERIOD 12", ":PULS0:PER?"},
      {":PULSE0:MODE BURST", ":PULS0:MOD?"},           {":PULS0:MOD SING", ":PULSE0:MODE?"},
      {":PULSE0:TRIGGER:MODE TRIG", ":PULS0:TRIG:MOD?"}, {":PULSE0:TRIGGER:EDGE FALL", ":PULS0:TRIG:EDG?"},
      {":PULS0:TRIG:EDG RISING", ":PULSE0:TRIGGER:EDGE?"}, {":PULSE0:TRIGGER:LEVEL 3.3", ":PULS0:TRIG:LEV?"},
      {":PULSE0:BCOUNTER 7", ":PULS0:BCO?"},           {":PULSE3:STATE ON", ":PULS3:STAT?"},
      {":SYSTEM:KLOCK ON", ":SYST:KLOC?"}};
  const std::vector<std::string> expected{"0.000200000", "0.000300000", "-0.001000000", "0.002000000", "INV",
                                          "12.000000000", "BURS", "SING", "TRIG", "FALL", "RIS", "3.30", "7",
                                          "1", "1"};
  for (std::size_t i = 0; i < set_then_query.size(); ++i) {
    EXPECT_EQ(reply(device, set_then_query[i].first), "ok\r\n") << set_then_query[i].first;
    EXPECT_EQ(reply(device, set_then_query[i].second), expected[i] + "\r\n") << set_then_query[i].second;
  }
  // Times are held on the 5 ns grid.
  EXPECT_EQ(reply(device, ":PULSE1:WIDT 0.0000012341"), "ok\r\n");
  EXPECT_EQ(reply(device, ":PULSE1:WIDT?"), "0.000001235\r\n");
}

TEST(Bnc575Emulator, AnyChunkingGivesTheSameReplies) {
  const std::string script = "*RST\r\n:PULSE0:MODE SING\r\n:PULSE0:TRIG:MODE TRIG\r\n:PULSE1:STAT ON\r\n"
                             ":PULSE0:STAT ON\r\n*TRG\r\n:PULSE0:STAT?\r\n*IDN?\n";
  Bnc575Emulator whole;
  std::string expected;
  for (const Response& r : whole.receive(script, 1.0)) expected += r.bytes;
  EXPECT_EQ(expected, "ok\r\nok\r\nok\r\nok\r\nok\r\nok\r\n0\r\nBNC,575,31415,2.4.1-1.05\r\n");

  for (const std::size_t chunk : {1u, 2u, 3u, 7u}) {
    Bnc575Emulator device;
    std::string got;
    std::size_t pulses = 0;
    for (std::size_t i = 0; i < script.size(); i += chunk) {
      for (const Response& r : device.receive(script.substr(i, chunk), 1.0)) {
        got += r.bytes;
        pulses += r.pulses.size();
      }
    }
    EXPECT_EQ(got, expected) << "chunk " << chunk;
    EXPECT_EQ(pulses, 1u);
  }
}

TEST(Bnc575Emulator, EchoModes) {
  Bnc575Emulator device;
  // The command that turns echo on is not itself echoed; everything after it is, before the reply.
  EXPECT_EQ(reply(device, ":SYST:ECH ON"), "ok\r\n");
  EXPECT_EQ(reply(device, "*RST"), "*RST\r\nok\r\n");  // echo survives *RST (a port setting)
  EXPECT_EQ(reply(device, ":PULSE0:STAT?"), ":PULSE0:STAT?\r\n0\r\n");
  EXPECT_EQ(reply(device, ":SYST:COMM:SER:ECH OFF"), ":SYST:COMM:SER:ECH OFF\r\nok\r\n");
  EXPECT_EQ(reply(device, ":PULSE0:STAT?"), "0\r\n");
  EXPECT_EQ(reply(device, ":SYSTEM:COMMUNICATE:SERIAL:ECHO 1"), "ok\r\n");
  EXPECT_EQ(reply(device, ":SYST:ECH?"), ":SYST:ECH?\r\n1\r\n");

  EmulatorConfig config;
  config.echo = true;
  Bnc575Emulator echoing(config);
  EXPECT_EQ(reply(echoing, "*TRG"), "*TRG\r\nok\r\n");
}

TEST(Bnc575Emulator, HostSideReadsEchoedNoisyRepliesThroughTheCodec) {
  EmulatorConfig config;
  config.echo = true;
  Bnc575Emulator device(config);
  LineSplitter splitter;
  std::vector<std::string> lines = {cmd::identify(), cmd::reset()};
  for (const auto& line : init_sequence({})) lines.push_back(line);
  for (const auto& line : frame_sequence()) lines.push_back(line);
  double t_s = 0.0;
  for (const std::string& line : lines) {
    device.inject(Fault{FaultKind::noise});
    t_s += 0.05;
    const Response response = exchange(device, line, t_s);
    ReplyReader reader(line);
    std::optional<Reply> result;
    for (const std::string& received : splitter.feed(response.bytes)) {
      ASSERT_FALSE(result.has_value()) << "more than one reply to " << line;
      result = reader.accept(received);
    }
    ASSERT_TRUE(result.has_value()) << line;
    EXPECT_TRUE(reader.echo_seen());
    EXPECT_NE(result->kind, ReplyKind::error) << line << " -> " << result->error_text;
  }
  EXPECT_GT(splitter.discarded_bytes(), 0u);
}

TEST(Bnc575Emulator, SingleShotWithInternalTriggerFiresAtOnce) {
  Bnc575Emulator device;
  reply(device, ":PULSE0:MODE SING");
  reply(device, ":PULSE1:STAT ON");
  const Response fired = exchange(device, ":PULSE0:STAT ON", 3.0);
  ASSERT_EQ(fired.pulses.size(), 1u);
  EXPECT_DOUBLE_EQ(fired.pulses[0].t0_s, 3.0);
  EXPECT_FALSE(device.state().run);
}

TEST(Bnc575Emulator, BurstClearsRunAfterTheLastPulse) {
  Bnc575Emulator device;
  for (const char* line : {":PULSE0:MODE BURS", ":PULSE0:BCO 3", ":PULSE0:PER 0.5", ":PULSE0:TRIG:MODE TRIG",
                           ":PULSE1:STAT ON", ":PULSE0:STAT ON"}) {
    EXPECT_EQ(reply(device, line, 0.0), "ok\r\n") << line;
  }
  const Response fired = exchange(device, "*TRG", 1.0);
  ASSERT_EQ(fired.pulses.size(), 1u);
  EXPECT_EQ(reply(device, ":PULSE0:STAT?", 1.2), "1\r\n");
  const auto second = device.advance(1.9);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_DOUBLE_EQ(second[0].t0_s, 1.5);
  const Response last = exchange(device, ":PULSE0:STAT?", 2.0);
  EXPECT_EQ(last.bytes, "0\r\n");
  ASSERT_EQ(last.pulses.size(), 1u);
  EXPECT_DOUBLE_EQ(last.pulses[0].t0_s, 2.0);
  EXPECT_TRUE(device.advance(10.0).empty());
}

TEST(Bnc575Emulator, NormalModeRunsAtThePeriodUntilStopped) {
  Bnc575Emulator device;
  reply(device, ":PULSE0:PER 1");
  reply(device, ":PULSE1:STAT ON");
  EXPECT_EQ(exchange(device, ":PULSE0:STAT ON", 0.0).pulses.size(), 1u);
  const auto pulses = device.advance(3.5);
  ASSERT_EQ(pulses.size(), 3u);
  EXPECT_DOUBLE_EQ(pulses[2].t0_s, 3.0);
  reply(device, ":PULSE0:STAT OFF", 3.6);
  EXPECT_TRUE(device.advance(10.0).empty());
}

TEST(Bnc575Emulator, ResetRestoresDefaults) {
  Bnc575Emulator device;
  reply(device, ":PULSE1:WIDT 0.5");
  reply(device, ":PULSE1:STAT ON");
  reply(device, ":PULSE0:MODE SING");
  EXPECT_EQ(reply(device, "*RST"), "ok\r\n");
  EXPECT_EQ(reply(device, ":PULSE1:WIDT?"), "0.000100000\r\n");
  EXPECT_EQ(reply(device, ":PULSE1:STAT?"), "0\r\n");
  EXPECT_EQ(reply(device, ":PULSE0:MODE?"), "NORM\r\n");
}

TEST(Bnc575Emulator, FaultInjection) {
  Bnc575Emulator device;
  initialise(device);

  device.inject(Fault{FaultKind::drop_reply});
  const Response dropped = exchange(device, ":PULSE0:STAT ON", 1.0);
  EXPECT_TRUE(dropped.bytes.empty());
  EXPECT_TRUE(device.state().run);  // executed all the same

  device.inject(Fault{FaultKind::late_reply, 0.3});
  const Response late = exchange(device, "*TRG", 2.0);
  EXPECT_EQ(late.bytes, "ok\r\n");
  EXPECT_DOUBLE_EQ(late.delay_s, 0.3);
  EXPECT_EQ(late.pulses.size(), 1u);

  device.inject(Fault{FaultKind::invalid_parameter});
  EXPECT_EQ(reply(device, ":PULSE0:STAT ON", 3.0), "?5\r\n");
  EXPECT_FALSE(device.state().run);  // rejected, not executed

  device.inject(Fault{FaultKind::garbage});
  const std::string junk = reply(device, ":PULSE0:STAT ON", 4.0);
  EXPECT_EQ(classify_reply(LineSplitter{}.feed(junk).at(0)).kind, ReplyKind::value);
  EXPECT_TRUE(device.state().run);

  device.inject(Fault{FaultKind::noise});
  const std::string noisy = reply(device, ":PULSE0:STAT?", 5.0);
  EXPECT_NE(noisy, "1\r\n");
  EXPECT_EQ(LineSplitter{}.feed(noisy), (std::vector<std::string>{"1"}));

  // Faults are used up one per command.
  EXPECT_EQ(reply(device, ":PULSE0:STAT?", 6.0), "1\r\n");
}

TEST(Bnc575Emulator, RejectsUnknownChannelCount) {
  EmulatorConfig config;
  config.channel_count = 3;
  EXPECT_THROW(Bnc575Emulator{config}, std::invalid_argument);
}

}  // namespace
}  // namespace insitu::trigger
