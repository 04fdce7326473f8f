#include "drivers/trigger/scpi_codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace insitu::trigger {
namespace {

TEST(FormatSeconds, FixedPointNineDecimals) {
  EXPECT_EQ(format_seconds(12.0), "12.000000000");
  EXPECT_EQ(format_seconds(1e-4), "0.000100000");
  EXPECT_EQ(format_seconds(0.0), "0.000000000");
  EXPECT_EQ(format_seconds(-0.5), "-0.500000000");
  EXPECT_EQ(format_seconds(1.23e-6), "0.000001230");
}

TEST(FormatSeconds, RoundsToFiveNanosecondGrid) {
  EXPECT_EQ(format_seconds(1.2345e-6), "0.000001235");
  EXPECT_EQ(format_seconds(1.2324e-6), "0.000001230");
  EXPECT_EQ(format_seconds(1.2326e-6), "0.000001235");
  EXPECT_EQ(format_seconds(-1e-9), "0.000000000");  // no "-0"
  EXPECT_EQ(format_seconds(999.999999999), "1000.000000000");
}

TEST(FormatSeconds, RejectsNonFiniteAndHuge) {
  EXPECT_THROW(format_seconds(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  EXPECT_THROW(format_seconds(std::numeric_limits<double>::infinity()), std::invalid_argument);
  EXPECT_THROW(format_seconds(2e6), std::invalid_argument);
}

TEST(Commands, ByteExact) {
  EXPECT_EQ(cmd::identify(), "*IDN?");
  EXPECT_EQ(cmd::reset(), "*RST");
  EXPECT_EQ(cmd::software_trigger(), "*TRG");
  EXPECT_EQ(cmd::system_mode(SystemMode::single), ":PULSE0:MODE SING");
  EXPECT_EQ(cmd::system_mode(SystemMode::burst), ":PULSE0:MODE BURS");
  EXPECT_EQ(cmd::system_mode_query(), ":PULSE0:MODE?");
  EXPECT_EQ(cmd::trigger_mode(TriggerMode::triggered), ":PULSE0:TRIG:MODE TRIG");
  EXPECT_EQ(cmd::trigger_mode(TriggerMode::disabled), ":PULSE0:TRIG:MODE DIS");
  EXPECT_EQ(cmd::trigger_edge(TriggerEdge::rising), ":PULSE0:TRIG:EDGE RIS");
  EXPECT_EQ(cmd::trigger_edge(TriggerEdge::falling), ":PULSE0:TRIG:EDGE FALL");
  EXPECT_EQ(cmd::trigger_level(2.5), ":PULSE0:TRIG:LEV 2.50");
  EXPECT_EQ(cmd::period(12.0), ":PULSE0:PER 12.000000000");
  EXPECT_EQ(cmd::burst_count(3), ":PULSE0:BCO 3");
  EXPECT_EQ(cmd::run(true), ":PULSE0:STAT ON");
  EXPECT_EQ(cmd::run(false), ":PULSE0:STAT OFF");
  EXPECT_EQ(cmd::run_query(), ":PULSE0:STAT?");
  EXPECT_EQ(cmd::channel_sync(1, "T0"), ":PULSE1:SYNC T0");
  EXPECT_EQ(cmd::channel_mode(1, SystemMode::normal), ":PULSE1:CMOD NORM");
  EXPECT_EQ(cmd::channel_width(1, 1e-4), ":PULSE1:WIDT 0.000100000");
  EXPECT_EQ(cmd::channel_width_query(2), ":PULSE2:WIDT?");
  EXPECT_EQ(cmd::channel_delay(2, 0.0), ":PULSE2:DEL 0.000000000");
  EXPECT_EQ(cmd::channel_delay(2, -2.5e-3), ":PULSE2:DEL -0.002500000");
  EXPECT_EQ(cmd::channel_delay_query(1), ":PULSE1:DEL?");
  EXPECT_EQ(cmd::channel_polarity(1, Polarity::inverted), ":PULSE1:POL INV");
  EXPECT_EQ(cmd::channel_polarity(1, Polarity::complement), ":PULSE1:POL COMP");
  EXPECT_EQ(cmd::channel_enable(1, true), ":PULSE1:STAT ON");
  EXPECT_EQ(cmd::channel_enable_query(8), ":PULSE8:STAT?");
  EXPECT_EQ(cmd::keypad_lock(true), ":SYST:KLOC 1");
  EXPECT_EQ(cmd::keypad_lock(false), ":SYST:KLOC 0");
  EXPECT_EQ(cmd::echo(false), ":SYST:COMM:SER:ECH OFF");
}

TEST(Commands, RejectOutOfRange) {
  EXPECT_THROW(cmd::channel_width(0, 1e-4), std::invalid_argument);
  EXPECT_THROW(cmd::channel_width(9, 1e-4), std::invalid_argument);
  EXPECT_THROW(cmd::channel_width(1, 1e-9), std::invalid_argument);
  EXPECT_THROW(cmd::period(1e-8), std::invalid_argument);
  EXPECT_THROW(cmd::period(2000.0), std::invalid_argument);
  EXPECT_THROW(cmd::trigger_level(0.1), std::invalid_argument);
  EXPECT_THROW(cmd::burst_count(0), std::invalid_argument);
}

TEST(Sequences, InitMatchesSection14) {
  InitConfig config;
  config.detector.polarity = Polarity::inverted;
  config.echo_channel = ChannelConfig{2, 5e-4, 1e-6, Polarity::normal};
  const std::vector<std::string> expected{
      ":PULSE0:MODE SING",        ":PULSE0:TRIG:MODE TRIG",   ":PULSE0:TRIG:EDGE RIS",
      ":PULSE0:TRIG:LEV 2.50",    ":PULSE1:SYNC T0",          ":PULSE1:CMOD NORM",
      ":PULSE1:WIDT 0.000100000", ":PULSE1:DEL 0.000000000",  ":PULSE1:POL INV",
      ":PULSE1:STAT ON",          ":PULSE2:SYNC T0",          ":PULSE2:CMOD NORM",
      ":PULSE2:WIDT 0.000500000", ":PULSE2:DEL 0.000001000",  ":PULSE2:POL NORM",
      ":PULSE2:STAT ON",          ":SYST:KLOC 1"};
  EXPECT_EQ(init_sequence(config), expected);
}

TEST(Sequences, InitRejectsShortPulseAndSharedChannel) {
  InitConfig config;
  config.detector.width_s = 10e-6;
  EXPECT_THROW(init_sequence(config), std::invalid_argument);
  config.detector.width_s = 1e-4;
  config.echo_channel = ChannelConfig{1};
  EXPECT_THROW(init_sequence(config), std::invalid_argument);
}

TEST(Sequences, FrameAndShutdown) {
  EXPECT_EQ(frame_sequence(), (std::vector<std::string>{":PULSE0:STAT ON", "*TRG", ":PULSE0:STAT?"}));
  EXPECT_EQ(shutdown_sequence(), (std::vector<std::string>{":PULSE0:STAT OFF", ":SYST:KLOC 0"}));
}

TEST(LineSplitter, CrLfFramingAnyChunking) {
  LineSplitter splitter;
  EXPECT_TRUE(splitter.feed("o").empty());
  EXPECT_TRUE(splitter.feed("k\r").empty());
  EXPECT_TRUE(splitter.has_partial());
  EXPECT_EQ(splitter.feed("\n1\r\n?5\r\nBNC"), (std::vector<std::string>{"ok", "1", "?5"}));
  EXPECT_EQ(splitter.feed(",575\r\n"), (std::vector<std::string>{"BNC,575"}));
  EXPECT_EQ(splitter.discarded_bytes(), 0u);
}

TEST(LineSplitter, ToleratesStrayBytes) {
  LineSplitter splitter;
  const std::string noisy("\0\xff\r\n\r\nok\n\x13o\rk\r\n", 15);
  EXPECT_EQ(splitter.feed(noisy), (std::vector<std::string>{"ok", "ok"}));
  EXPECT_EQ(splitter.discarded_bytes(), 3u);  // NUL, 0xff, DC3
}

TEST(LineSplitter, DiscardsOverlongLineAndRecovers) {
  LineSplitter splitter;
  const std::string junk(LineSplitter::max_line_bytes + 10, 'x');
  EXPECT_TRUE(splitter.feed(junk).empty());
  EXPECT_EQ(splitter.feed("still junk\r\nok\r\n"), (std::vector<std::string>{"ok"}));
  EXPECT_GT(splitter.discarded_bytes(), LineSplitter::max_line_bytes);
}

TEST(LineSplitter, ClearDropsPartial) {
  LineSplitter splitter;
  splitter.feed("stale");
  splitter.clear();
  EXPECT_EQ(splitter.feed("ok\r\n"), (std::vector<std::string>{"ok"}));
  EXPECT_EQ(splitter.discarded_bytes(), 5u);
}

TEST(Replies, Classification) {
  EXPECT_EQ(classify_reply("ok").kind, ReplyKind::ok);
  const Reply value = classify_reply(" 12.000000000 ");
  EXPECT_EQ(value.kind, ReplyKind::value);
  EXPECT_EQ(value.value, "12.000000000");
  EXPECT_EQ(classify_reply("0").value, "0");
  EXPECT_EQ(classify_reply("?").kind, ReplyKind::value);
  EXPECT_EQ(classify_reply("?x").kind, ReplyKind::value);
}

TEST(Replies, EveryErrorCodeHasItsText) {
  const char* fragments[] = {"prefix", "missing command keyword", "invalid command keyword", "missing parameter",
                             "invalid parameter", "query only", "no query form", "current system state"};
  for (int n = 1; n <= 8; ++n) {
    const Reply reply = classify_reply("?" + std::to_string(n));
    EXPECT_EQ(reply.kind, ReplyKind::error);
    EXPECT_EQ(reply.error_code, n);
    EXPECT_NE(reply.error_text.find(fragments[n - 1]), std::string::npos) << reply.error_text;
  }
  const Reply unknown = classify_reply("?9");
  EXPECT_EQ(unknown.kind, ReplyKind::error);
  EXPECT_EQ(unknown.error_code, -1);
  EXPECT_EQ(unknown.error_text, "?9 unknown error");
  EXPECT_EQ(classify_reply("?0").error_code, -1);
}

TEST(Replies, EchoIsDroppedOnlyAsFirstLine) {
  ReplyReader with_echo(":PULSE0:STAT?");
  EXPECT_FALSE(with_echo.accept(":PULSE0:STAT?").has_value());
  EXPECT_TRUE(with_echo.echo_seen());
  const auto reply = with_echo.accept("0");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->value, "0");

  ReplyReader without_echo("*TRG");
  const auto ok = without_echo.accept("ok");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->kind, ReplyKind::ok);

  // A line equal to the command after the echo is the reply itself.
  ReplyReader twice("*IDN?");
  EXPECT_FALSE(twice.accept("*IDN?").has_value());
  ASSERT_TRUE(twice.accept("*IDN?").has_value());
  EXPECT_TRUE(is_echo("*TRG", " *TRG "));
  EXPECT_FALSE(is_echo("*TRG", "*trg"));
}

TEST(Identity, BncAndQuantumComposersForms) {
  const Identity bnc = parse_identity("BNC,575,31415,2.4.1-1.05");
  EXPECT_TRUE(bnc.is_bnc());
  EXPECT_EQ(bnc.model, "575");
  EXPECT_EQ(bnc.serial, "31415");
  EXPECT_EQ(bnc.firmware, "2.4.1-1.05");
  const Identity qc = parse_identity("QC, 9530, 08123, 3.0.4 ");
  EXPECT_TRUE(qc.is_quantum_composers());
  EXPECT_EQ(qc.model, "9530");
  EXPECT_EQ(qc.serial, "08123");
  EXPECT_EQ(qc.firmware, "3.0.4");
  EXPECT_TRUE(parse_identity("Quantum Composers,9520,1,2").is_quantum_composers());
}

TEST(Identity, RejectsWrongShapeOrVendor) {
  EXPECT_THROW(parse_identity("BNC,575,31415"), std::invalid_argument);
  EXPECT_THROW(parse_identity("BNC,575,1,2,3"), std::invalid_argument);
  EXPECT_THROW(parse_identity("Stanford Research Systems,DG645,s/n001,ver1.0"), std::invalid_argument);
  EXPECT_THROW(parse_identity("BNC,505,1,2"), std::invalid_argument);
  try {
    parse_identity("ok");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'ok' has 1 comma-separated fields"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace insitu::trigger
