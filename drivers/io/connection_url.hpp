#pragma once
// Where a driver's bytes go, chosen by a URL shared by every driver:
//   serial:///dev/ttyUSB0[?baud=19200]                  a real port, opened and configured with libserialport
//   serial://usb?vid=0403&pid=6001[&serial=FT1X2Y3Z]    the same, found by USB identity on every (re)open, so a
//                                                        re-plugged adapter is found again under a new /dev name
//   pty:/path/to/link                                    a pseudo-terminal (libserialport 0.1.1 refuses ptys)
//   tcp://host:port                                      a serial-over-Ethernet server (e.g. a Moxa NPort)
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace insitu::io {

enum class FlowControl { none, rts_cts };

struct SerialSettings {
  int baud = 9600;
  FlowControl flow = FlowControl::none;  // every working T95 driver runs without handshake
};

struct UsbIdentity {
  std::uint16_t vid = 0;
  std::uint16_t pid = 0;
  std::optional<std::string> serial_number;
};

struct ConnectionUrl {
  enum class Kind { serial, pty, tcp } kind;
  std::string path;                 // serial device or pty path
  std::optional<UsbIdentity> usb;   // serial://usb?...
  std::string host;                 // tcp
  std::uint16_t port = 0;           // tcp
  std::optional<int> baud;          // ?baud= overrides the driver's default
  std::optional<FlowControl> flow;  // ?flow=none|rtscts

  std::string to_string() const;
};

// Throws std::invalid_argument with the reason.
ConnectionUrl parse_connection_url(std::string_view url);

}  // namespace insitu::io
