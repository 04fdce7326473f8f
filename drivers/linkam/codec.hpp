#pragma once
// Linkam T95 ASCII protocol (RS-232, 19200 8N1, CR framing): pure encoding and decoding, no I/O.
// Byte layouts follow shared/research/linkam.md §1.2–1.3.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace insitu::linkam {

inline constexpr char kTerminator = '\r';
inline constexpr double kZeroCelsius_K = 273.15;

// Status byte SB1: one value, not a bit field.
enum class ControllerState : std::uint8_t {
  stopped = 0x01,
  heating = 0x10,
  cooling = 0x20,
  holding_limit = 0x30,        // reached the limit (end of ramp)
  holding_limit_timer = 0x40,  // profile hold timer running
  holding_current = 0x50,      // after `O`
};

// Error byte EB1: 0x80 is always set; the rest are flags.
namespace error_bit {
inline constexpr std::uint8_t always_set = 0x80;
inline constexpr std::uint8_t cooling_too_fast = 0x01;
inline constexpr std::uint8_t open_circuit = 0x02;
inline constexpr std::uint8_t power_surge = 0x04;
inline constexpr std::uint8_t no_exit_300 = 0x08;
inline constexpr std::uint8_t link_error = 0x20;
}  // namespace error_bit

struct Status {
  ControllerState state;
  std::uint8_t status_byte;  // SB1 as received
  std::uint8_t error_byte;   // EB1 as received
  std::uint8_t pump_byte;    // PB1 as received
  double temperature_K;

  bool cooling_too_fast() const { return error_byte & error_bit::cooling_too_fast; }
  bool open_circuit() const { return error_byte & error_bit::open_circuit; }
  bool power_surge() const { return error_byte & error_bit::power_surge; }
  bool link_error() const { return error_byte & error_bit::link_error; }
  int pump_speed() const { return pump_byte & 0x1F; }  // 0..30
  bool pump_auto() const { return pump_byte & 0x40; }  // undocumented, seen on real units
  // Heating, cooling or at its limit: the controller is executing a ramp and needs no `S`.
  bool ramping() const {
    return state == ControllerState::heating || state == ControllerState::cooling ||
           state == ControllerState::holding_limit || state == ControllerState::holding_limit_timer;
  }
};

// Why a reply to `T` was rejected; the driver flushes and resyncs on any of these.
enum class ReplyError { too_short, too_long, bad_hex, unknown_state, missing_high_bit };
std::string_view to_string(ReplyError);
std::string_view to_string(ControllerState);

struct DecodeResult {
  std::optional<Status> status;
  std::optional<ReplyError> error;
};

// Decodes the line of a `T` reply (without its CR): 3 status bytes, 3 reserved, 4 hex digits of int16(°C×10).
DecodeResult decode_status(std::string_view line);

// Commands, each returned without the CR terminator (see frame()).
std::string status_command();                          // "T"
std::string rate_command(double rate_K_per_min);       // "R1" + rate×100 (0.01..150.00 K/min)
std::string limit_command(double limit_K);             // "L1" + signed tenths of °C
std::string start_command();                           // "S"
std::string stop_command();                            // "E"
std::string hold_command();                            // "O": hold the current temperature
std::string heat_command();                            // "H": resume heating after `O`
std::string cool_command();                            // "C": resume cooling after `O`
std::string pump_auto_command();                       // "Pa0"
std::string pump_manual_command();                     // "Pm0"
std::string pump_speed_command(int speed);             // "P" + chr(0x30 + speed), speed 0..30
std::string frame(std::string_view command);           // command + CR

// What the controller will actually use for a requested value (0.1 °C and 0.01 K/min resolution).
double quantize_limit_K(double limit_K);
double quantize_rate_K_per_min(double rate_K_per_min);

inline constexpr double kMinRate_K_per_min = 0.01;
inline constexpr double kMaxRate_K_per_min = 150.0;

}  // namespace insitu::linkam
