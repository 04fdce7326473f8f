#include "drivers/linkam/codec.hpp"

#include <cmath>

#include <gtest/gtest.h>

namespace insitu::linkam {
namespace {

std::string status_line(std::uint8_t sb1, std::uint8_t eb1, std::uint8_t pb1, std::string_view hex) {
  std::string line{char(sb1), char(eb1), char(pb1), char(0x80), char(0x80), char(0x80)};
  return line + std::string(hex);
}

TEST(LinkamCodec, EncodesTheCryogenicProtocolCommands) {
  EXPECT_EQ(limit_command(93.15), "L1-1800");
  EXPECT_EQ(limit_command(873.15), "L16000");
  EXPECT_EQ(limit_command(273.15), "L10");
  EXPECT_EQ(limit_command(300.0), "L1269");  // 26.85 °C rounds to 26.9 °C
  EXPECT_EQ(rate_command(10.0), "R11000");
  EXPECT_EQ(rate_command(50.0), "R15000");
  EXPECT_EQ(rate_command(0.01), "R11");
  EXPECT_EQ(rate_command(150.0), "R115000");
  EXPECT_EQ(status_command(), "T");
  EXPECT_EQ(start_command(), "S");
  EXPECT_EQ(stop_command(), "E");
  EXPECT_EQ(hold_command(), "O");
  EXPECT_EQ(pump_auto_command(), "Pa0");
  EXPECT_EQ(pump_manual_command(), "Pm0");
  EXPECT_EQ(frame("R11000"), "R11000\r");
}

TEST(LinkamCodec, PumpSpeedCharactersRunFromZeroToN) {
  EXPECT_EQ(pump_speed_command(0), "P0");
  EXPECT_EQ(pump_speed_command(9), "P9");
  EXPECT_EQ(pump_speed_command(10), "P:");
  EXPECT_EQ(pump_speed_command(16), "P@");
  EXPECT_EQ(pump_speed_command(17), "PA");  // the Lewis transcript's 'A' = speed 17
  EXPECT_EQ(pump_speed_command(30), "PN");
  EXPECT_THROW(pump_speed_command(31), std::out_of_range);
  EXPECT_THROW(pump_speed_command(-1), std::out_of_range);
}

TEST(LinkamCodec, RejectsValuesTheControllerCannotTake) {
  EXPECT_THROW(rate_command(0.0), std::out_of_range);
  EXPECT_THROW(rate_command(150.01), std::out_of_range);
  EXPECT_THROW(rate_command(std::nan("")), std::out_of_range);
  EXPECT_THROW(limit_command(77.0), std::out_of_range);  // −196.15 °C is below the reading range
  EXPECT_THROW(limit_command(std::nan("")), std::out_of_range);
}

TEST(LinkamCodec, QuantisesLikeTheController) {
  EXPECT_NEAR(quantize_limit_K(300.0), 300.05, 1e-9);
  EXPECT_NEAR(quantize_limit_K(93.15), 93.15, 1e-9);
  EXPECT_NEAR(quantize_rate_K_per_min(10.004), 10.0, 1e-12);
}

TEST(LinkamCodec, DecodesTheLewisTranscriptStatus) {
  // Row 1 of tests/data/linkam/lewis_linkam_t95_wire_transcript.tsv: 01 80 80 80 80 80 30 30 66 30.
  const auto r = decode_status(status_line(0x01, 0x80, 0x80, "00f0"));
  ASSERT_TRUE(r.status);
  EXPECT_EQ(r.status->state, ControllerState::stopped);
  EXPECT_NEAR(r.status->temperature_K, 297.15, 1e-9);
  EXPECT_FALSE(r.status->cooling_too_fast());
}

TEST(LinkamCodec, DecodesNegativeTemperaturesAsTwosComplement) {
  EXPECT_NEAR(decode_status(status_line(0x30, 0x80, 0x80, "F8F8")).status->temperature_K, 93.15, 1e-9);
  EXPECT_NEAR(decode_status(status_line(0x30, 0x80, 0x80, "F858")).status->temperature_K, 77.15, 1e-9);
  EXPECT_NEAR(decode_status(status_line(0x30, 0x80, 0x80, "3A98")).status->temperature_K, 1773.15, 1e-9);
  EXPECT_NEAR(decode_status(status_line(0x30, 0x80, 0x80, "FFFF")).status->temperature_K, 273.05, 1e-9);
  EXPECT_NEAR(decode_status(status_line(0x30, 0x80, 0x80, "f8f8")).status->temperature_K, 93.15, 1e-9);
}

TEST(LinkamCodec, DecodesStatusErrorAndPumpBytes) {
  // Lewis: cooling faster than 50 °C/min -> EB1 0x81, PB1 0x9e (speed 30).
  const auto s = *decode_status(status_line(0x20, 0x81, 0x9E, "00F3")).status;
  EXPECT_EQ(s.state, ControllerState::cooling);
  EXPECT_TRUE(s.cooling_too_fast());
  EXPECT_EQ(s.pump_speed(), 30);
  EXPECT_FALSE(s.pump_auto());
  const auto a = *decode_status(status_line(0x50, 0x82, 0xC5, "0000")).status;
  EXPECT_EQ(a.state, ControllerState::holding_current);
  EXPECT_TRUE(a.open_circuit());
  EXPECT_TRUE(a.pump_auto());
  EXPECT_EQ(a.pump_speed(), 5);
  const auto b = *decode_status(status_line(0x10, 0xA4, 0x80, "0000")).status;
  EXPECT_TRUE(b.power_surge());
  EXPECT_TRUE(b.link_error());
}

TEST(LinkamCodec, RejectsMalformedStatusReplies) {
  EXPECT_EQ(decode_status("").error, ReplyError::too_short);
  EXPECT_EQ(decode_status(status_line(0x01, 0x80, 0x80, "00F")).error, ReplyError::too_short);
  EXPECT_EQ(decode_status(status_line(0x01, 0x80, 0x80, "00F00")).error, ReplyError::too_long);
  EXPECT_EQ(decode_status(status_line(0x01, 0x80, 0x80, "00G0")).error, ReplyError::bad_hex);
  EXPECT_EQ(decode_status(status_line(0x02, 0x80, 0x80, "0000")).error, ReplyError::unknown_state);
  EXPECT_EQ(decode_status(status_line(0x01, 0x00, 0x80, "0000")).error, ReplyError::missing_high_bit);
  EXPECT_EQ(decode_status("b''").error, ReplyError::too_short);  // a set acknowledgement from Lewis
}

}  // namespace
}  // namespace insitu::linkam
