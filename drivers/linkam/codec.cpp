#include "drivers/linkam/codec.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace insitu::linkam {
namespace {

constexpr std::size_t kStatusLength = 10;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // the Lewis emulator sends lowercase
  return -1;
}

bool known_state(std::uint8_t sb1) {
  switch (static_cast<ControllerState>(sb1)) {
    case ControllerState::stopped:
    case ControllerState::heating:
    case ControllerState::cooling:
    case ControllerState::holding_limit:
    case ControllerState::holding_limit_timer:
    case ControllerState::holding_current:
      return true;
  }
  return false;
}

long tenths_of_celsius(double limit_K) { return std::lround((limit_K - kZeroCelsius_K) * 10.0); }
long hundredths(double rate_K_per_min) { return std::lround(rate_K_per_min * 100.0); }

}  // namespace

std::string_view to_string(ReplyError e) {
  switch (e) {
    case ReplyError::too_short: return "status reply shorter than 10 bytes";
    case ReplyError::too_long: return "status reply longer than 10 bytes";
    case ReplyError::bad_hex: return "status reply temperature is not 4 hex digits";
    case ReplyError::unknown_state: return "status reply has an unknown controller state byte";
    case ReplyError::missing_high_bit: return "status reply error/pump byte lacks bit 0x80";
  }
  return "unknown reply error";
}

std::string_view to_string(ControllerState state) {
  switch (state) {
    case ControllerState::stopped: return "stopped";
    case ControllerState::heating: return "heating";
    case ControllerState::cooling: return "cooling";
    case ControllerState::holding_limit: return "holding at the limit";
    case ControllerState::holding_limit_timer: return "holding the limit time";
    case ControllerState::holding_current: return "holding the current temperature";
  }
  return "unknown";
}

DecodeResult decode_status(std::string_view line) {
  if (line.size() < kStatusLength) return {std::nullopt, ReplyError::too_short};
  if (line.size() > kStatusLength) return {std::nullopt, ReplyError::too_long};
  const auto sb1 = static_cast<std::uint8_t>(line[0]);
  const auto eb1 = static_cast<std::uint8_t>(line[1]);
  const auto pb1 = static_cast<std::uint8_t>(line[2]);
  if (!known_state(sb1)) return {std::nullopt, ReplyError::unknown_state};
  if (!(eb1 & 0x80) || !(pb1 & 0x80)) return {std::nullopt, ReplyError::missing_high_bit};
  unsigned raw = 0;
  for (std::size_t i = 6; i < 10; ++i) {
    const int d = hex_digit(line[i]);
    if (d < 0) return {std::nullopt, ReplyError::bad_hex};
    raw = raw * 16 + static_cast<unsigned>(d);
  }
  const auto tenths = static_cast<std::int16_t>(static_cast<std::uint16_t>(raw));  // two's complement
  return {Status{static_cast<ControllerState>(sb1), sb1, eb1, pb1, tenths / 10.0 + kZeroCelsius_K},
          std::nullopt};
}

std::string status_command() { return "T"; }

std::string rate_command(double rate_K_per_min) {
  const long n = hundredths(rate_K_per_min);
  if (!std::isfinite(rate_K_per_min) || n < 1 || n > 15000)
    throw std::out_of_range(fmt::format("ramp rate {} K/min is outside 0.01..150 K/min", rate_K_per_min));
  return fmt::format("R1{}", n);
}

std::string limit_command(double limit_K) {
  if (!std::isfinite(limit_K)) throw std::out_of_range("limit temperature is not a number");
  const long n = tenths_of_celsius(limit_K);
  // The controller's reading range (−196.0..1500.0 °C); stage limits are the driver's business.
  if (n < -1960 || n > 15000)
    throw std::out_of_range(fmt::format("limit {} K is outside the T95 range 77.15..1773.15 K", limit_K));
  return fmt::format("L1{}", n);
}

std::string start_command() { return "S"; }
std::string stop_command() { return "E"; }
std::string hold_command() { return "O"; }
std::string heat_command() { return "H"; }
std::string cool_command() { return "C"; }
std::string pump_auto_command() { return "Pa0"; }
std::string pump_manual_command() { return "Pm0"; }

std::string pump_speed_command(int speed) {
  if (speed < 0 || speed > 30) throw std::out_of_range(fmt::format("pump speed {} is outside 0..30", speed));
  return std::string("P") + static_cast<char>(0x30 + speed);
}

std::string frame(std::string_view command) { return std::string(command) + kTerminator; }

double quantize_limit_K(double limit_K) { return tenths_of_celsius(limit_K) / 10.0 + kZeroCelsius_K; }
double quantize_rate_K_per_min(double rate_K_per_min) { return hundredths(rate_K_per_min) / 100.0; }

}  // namespace insitu::linkam
