#include "drivers/linkam/sim/t95_emulator.hpp"

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/test_data.hpp"

namespace insitu::linkam::sim {
namespace {

using namespace std::string_literals;

StageModel::Config quiet() {
  StageModel::Config config;
  config.noise_K = 0.0;
  return config;
}

class T95EmulatorTest : public ::testing::Test {
 protected:
  // Each call moves run time on by 0.1 s, like a driver pacing its commands.
  std::string send(std::string_view bytes) { return emulator.feed(bytes, t += 0.1); }
  std::string status_at(double T_K) {
    model.set_temperature_K(T_K);
    return send("T\r");
  }

  StageModel model{1, quiet()};
  T95Emulator emulator{model};
  double t = 0.0;
};

TEST_F(T95EmulatorTest, IgnoresEverythingBeforeTheFirstT) {
  EXPECT_EQ(send("Pm0\r"), "");
  EXPECT_EQ(send("R11000\rL1-1800\rS\r"), "");
  EXPECT_TRUE(model.pump_auto());
  EXPECT_DOUBLE_EQ(model.rate_K_per_min(), 5.0);
  EXPECT_EQ(model.state(), ControllerState::stopped);
  EXPECT_FALSE(emulator.initialised());
  EXPECT_EQ(send("T\r").size(), 11u);
  EXPECT_EQ(send("Pm0\r"), "\r");
  EXPECT_FALSE(model.pump_auto());
}

TEST_F(T95EmulatorTest, StatusReplyLayoutAndHexEncoding) {
  EXPECT_EQ(status_at(273.15), "\x01\x80\xC0\x80\x80\x80"s "0000\r");
  EXPECT_EQ(status_at(93.15), "\x01\x80\xC0\x80\x80\x80"s "F8F8\r");   // -180.0 C
  EXPECT_EQ(status_at(873.15), "\x01\x80\xC0\x80\x80\x80"s "1770\r");  // 600.0 C
  EXPECT_EQ(status_at(77.15), "\x01\x80\xC0\x80\x80\x80"s "F858\r");   // -196.0 C, the manual's example
  EXPECT_EQ(status_at(294.95).substr(6), "00DA\r");                    // 21.8 C: uppercase hex
}

TEST_F(T95EmulatorTest, NegativeTenthsAreTwosComplement) {
  EXPECT_EQ(status_at(273.05).substr(6), "FFFF\r");  // -0.1 C
  EXPECT_EQ(status_at(263.15).substr(6), "FF9C\r");  // -10.0 C
}

TEST_F(T95EmulatorTest, SetCommandsAcceptPaddedAndUnpadded) {
  send("T\r");
  EXPECT_EQ(send("R11000\r"), "\r");
  EXPECT_DOUBLE_EQ(model.rate_K_per_min(), 10.0);
  EXPECT_EQ(send("R10500\r"), "\r");
  EXPECT_DOUBLE_EQ(model.rate_K_per_min(), 5.0);
  EXPECT_EQ(send("R1050\r"), "\r");
  EXPECT_DOUBLE_EQ(model.rate_K_per_min(), 0.5);
  EXPECT_EQ(send("R11\r"), "\r");
  EXPECT_DOUBLE_EQ(model.rate_K_per_min(), 0.01);
  EXPECT_EQ(send("R115000\r"), "\r");
  EXPECT_DOUBLE_EQ(model.rate_K_per_min(), 150.0);

  EXPECT_EQ(send("L1-1800\r"), "\r");
  EXPECT_NEAR(model.limit_K(), 93.15, 1e-9);
  EXPECT_EQ(send("L1-0500\r"), "\r");
  EXPECT_NEAR(model.limit_K(), 223.15, 1e-9);
  EXPECT_EQ(send("L1-050\r"), "\r");  // printf("%04i", -50)
  EXPECT_NEAR(model.limit_K(), 268.15, 1e-9);
  EXPECT_EQ(send("L10250\r"), "\r");
  EXPECT_NEAR(model.limit_K(), 298.15, 1e-9);
  EXPECT_EQ(send("L1250\r"), "\r");
  EXPECT_NEAR(model.limit_K(), 298.15, 1e-9);
  EXPECT_EQ(send("L16000\r"), "\r");
  EXPECT_NEAR(model.limit_K(), 873.15, 1e-9);
  EXPECT_EQ(send("L1-1960\r"), "\r");
  EXPECT_NEAR(model.limit_K(), 77.15, 1e-9);
  EXPECT_EQ(send("L10\r"), "\r");
  EXPECT_NEAR(model.limit_K(), 273.15, 1e-9);
}

TEST_F(T95EmulatorTest, ControlAndPumpCommands) {
  send("T\r");
  EXPECT_EQ(send("L1500\rS\r"), "\r\r");
  EXPECT_EQ(model.state(), ControllerState::heating);
  EXPECT_EQ(send("O\r"), "\r");
  EXPECT_EQ(model.state(), ControllerState::holding_current);
  EXPECT_EQ(send("H\r"), "\r");
  EXPECT_EQ(model.state(), ControllerState::heating);
  EXPECT_EQ(send("O\rC\r"), "\r\r");
  EXPECT_EQ(model.state(), ControllerState::heating);
  EXPECT_EQ(send("Pm0\rPN\r"), "\r\r");
  EXPECT_EQ(static_cast<unsigned char>(send("T\r")[2]), 0x80 | 30);
  EXPECT_EQ(send("PA\r"), "\r");  // 'A' = '0' + 17
  EXPECT_EQ(static_cast<unsigned char>(send("T\r")[2]), 0x80 | 17);
  EXPECT_EQ(send("P0\r"), "\r");
  EXPECT_EQ(static_cast<unsigned char>(send("T\r")[2]), 0x80);
  EXPECT_EQ(send("Pa0\r"), "\r");
  EXPECT_TRUE(model.pump_auto());
  EXPECT_EQ(send("E\r"), "\r");
  EXPECT_EQ(send("T\r")[0], '\x01');
}

TEST_F(T95EmulatorTest, RepeatedStartThenStopStops) {
  send("T\r");
  EXPECT_EQ(send("L1500\rS\rS\rE\r"), "\r\r\r\r");
  EXPECT_EQ(model.state(), ControllerState::stopped);
  emulator.feed("", t + 60.0);
  EXPECT_EQ(model.state(), ControllerState::stopped);  // Lewis restarts here by itself; we must not
}

TEST_F(T95EmulatorTest, InvalidOrOutOfRangeInputGetsNoReply) {
  send("T\r");
  send("R11000\rL1-1000\r");
  for (const char* bad : {"R10", "R115001", "R1", "R1-5", "R1 1000", "R11000x", "R12000000", "L16001",
                          "L1-1961", "L1+100", "L1", "L1-", "L1--5", "L11e3", "XYZ", "t", "T ", " T", "s", "P/",
                          "PO", "Pa1", "Pm", "P", "", "TT", "SS", "E0"}) {
    EXPECT_EQ(send(std::string(bad) + "\r"), "") << "'" << bad << "'";
  }
  EXPECT_DOUBLE_EQ(model.rate_K_per_min(), 10.0);
  EXPECT_NEAR(model.limit_K(), 173.15, 1e-9);
  EXPECT_EQ(model.state(), ControllerState::stopped);
  EXPECT_EQ(send("T\r").size(), 11u);
}

TEST_F(T95EmulatorTest, AnyChunkingGivesTheSameReplies) {
  const std::string stream = "T\rR11000\rL1-1800\rS\rT\rXYZ\rO\rT\r";
  StageModel whole_model(1, quiet());
  T95Emulator whole(whole_model);
  const std::string expected = whole.feed(stream, 1.0);
  std::string got;
  for (const char c : stream) got += emulator.feed(std::string_view(&c, 1), 1.0);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(expected.size(), 11u + 3u + 11u + 1u + 11u);
  EXPECT_EQ(send("R1"), "");
  EXPECT_EQ(send("20"), "");
  EXPECT_EQ(send("00\r"), "\r");
  EXPECT_DOUBLE_EQ(model.rate_K_per_min(), 20.0);
}

TEST_F(T95EmulatorTest, LineFeedsAndStrayBytesDoNotDesynchronise) {
  EXPECT_EQ(send("T\r\n").size(), 11u);
  EXPECT_EQ(send("\nR11000\r\n"), "\r");
  EXPECT_EQ(send("\x01\x02\xFFjunk\rT\r").size(), 11u);
  EXPECT_EQ(send(std::string(500, 'x')), "");  // a runaway line without CR ...
  EXPECT_EQ(send("\rT\r").size(), 11u);        // ... ends at its CR, and the next command is clean
}

TEST_F(T95EmulatorTest, SilenceFaultDropsEverything) {
  send("T\r");
  model.set_fault(Fault::silence, true);
  EXPECT_EQ(send("T\r"), "");
  EXPECT_EQ(send("R11000\r"), "");
  EXPECT_EQ(send("R1"), "");
  model.set_fault(Fault::silence, false);
  EXPECT_DOUBLE_EQ(model.rate_K_per_min(), 5.0);
  EXPECT_EQ(send("00\r"), "");  // the half line sent during the fault was lost: "00" is invalid
  EXPECT_EQ(send("T\r").size(), 11u);
}

TEST_F(T95EmulatorTest, GarbageFaultCorruptsButStillEndsLinesWithCr) {
  send("T\r");
  const std::string clean = send("T\r");
  model.set_fault(Fault::garbage, true);
  int corrupted = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string reply = emulator.feed("T\r", t);  // same run time: only the wire changes
    ASSERT_FALSE(reply.empty());
    ASSERT_EQ(reply.back(), '\r');
    ASSERT_EQ(reply.find('\r'), reply.size() - 1);
    if (reply != clean) ++corrupted;
  }
  EXPECT_EQ(corrupted, 100);
  EXPECT_EQ(send("XYZ\r"), "");  // no reply stays no reply
  model.set_fault(Fault::garbage, false);
  EXPECT_EQ(emulator.feed("T\r", t), clean);
}

TEST_F(T95EmulatorTest, LineNoiseCorruptsTheGivenFractionOfReplyBytes) {
  send("T\r");
  const std::string clean = send("T\r");
  emulator.set_byte_error_rate(0.01);
  std::size_t bytes = 0, changed = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string reply = emulator.feed("T\r", t);  // same run time: only the wire changes
    ASSERT_EQ(reply.size(), clean.size());  // bytes are replaced, never added or dropped
    for (std::size_t k = 0; k < reply.size(); ++k) changed += reply[k] != clean[k];
    bytes += reply.size();
  }
  // 1 % of 220000 bytes is 2200 (σ ≈ 47); a replacement equal to the original (1/256) hides a few.
  EXPECT_NEAR(static_cast<double>(changed) / static_cast<double>(bytes), 0.01 * 255.0 / 256.0, 0.001);
  emulator.set_byte_error_rate(0.0);
  EXPECT_EQ(emulator.feed("T\r", t), clean);
}

TEST(T95Emulator, NoisyReadingsStayWithinQuantisationAndNoise) {
  StageModel model(5);
  T95Emulator emulator(model);
  for (double t = 0.5; t < 30.0; t += 0.5) {
    const std::string reply = emulator.feed("T\r", t);
    ASSERT_EQ(reply.size(), 11u);
    const auto tenths = static_cast<std::int16_t>(std::stoul(reply.substr(6, 4), nullptr, 16));
    EXPECT_NEAR(tenths / 10.0 + 273.15, model.temperature_K(), 0.05 + 0.05 + 1e-9);
  }
}

// Replays the requests of the Lewis wire capture and compares what both devices should agree on:
// framing, SB1 and the manual pump byte. Known, deliberate differences: set commands get a bare CR
// (Lewis: b''\r), the negative limit is accepted (Lewis ignores it, so its row is skipped to keep
// the two ramps comparable), and temperatures/EB1/auto PB1 come from our physics.
TEST(T95Emulator, AgreesWithTheLewisTranscriptOnFramingAndStatus) {
  std::ifstream file(testdata::path("linkam/lewis_linkam_t95_wire_transcript.tsv"));
  ASSERT_TRUE(file) << "missing Lewis transcript";
  StageModel model(1);
  T95Emulator emulator(model);
  std::string row;
  std::getline(file, row);  // header
  int compared = 0;
  while (std::getline(file, row)) {
    std::istringstream cols(row);
    std::string t_s, request, reply_hex;
    std::getline(cols, t_s, '\t');
    std::getline(cols, request, '\t');
    std::getline(cols, reply_hex, '\t');
    if (request == "L1-1800") continue;
    const std::string reply = emulator.feed(request + "\r", std::stod(t_s));
    std::vector<unsigned> lewis;
    std::istringstream hex(reply_hex);
    for (std::string byte; hex >> byte;) {
      if (byte.size() == 2 && std::isxdigit(static_cast<unsigned char>(byte[0]))) lewis.push_back(std::stoul(byte, nullptr, 16));
    }
    SCOPED_TRACE(t_s + " " + request);
    if (lewis.empty()) {
      EXPECT_EQ(reply, "");
    } else if (request == "T") {
      ASSERT_EQ(lewis.size(), 11u);
      ASSERT_EQ(reply.size(), 11u);
      EXPECT_EQ(static_cast<unsigned char>(reply[0]), lewis[0]) << "SB1";
      if (!model.pump_auto()) {
        EXPECT_EQ(static_cast<unsigned char>(reply[2]), lewis[2]) << "PB1";
      }
      EXPECT_EQ(reply.substr(3, 3), "\x80\x80\x80");
      EXPECT_EQ(reply.back(), '\r');
    } else {
      EXPECT_EQ(reply, "\r");
    }
    ++compared;
  }
  EXPECT_EQ(compared, 20);
}

}  // namespace
}  // namespace insitu::linkam::sim
