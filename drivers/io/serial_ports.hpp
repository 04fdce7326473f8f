#pragma once
// Real serial ports through libserialport: enumeration with USB identity, and opening with settings.
#include <optional>
#include <string>
#include <vector>

#include "drivers/io/connection_url.hpp"

namespace insitu::io {

struct SerialPortInfo {
  std::string device;       // /dev/ttyUSB0
  std::string description;  // as the OS reports it
  std::string transport;    // native, usb, bluetooth
  std::optional<UsbIdentity> usb;
  std::string manufacturer, product;
};

std::vector<SerialPortInfo> list_serial_ports();

// "serial ports: /dev/ttyS0, /dev/ttyUSB0 (usb 0403:6001 serial FT1ABC)", or "no serial ports found".
std::string describe_ports(const std::vector<SerialPortInfo>& ports);

// The device path currently carrying this USB identity; throws std::runtime_error if none is plugged in,
// naming the ports there are (describe_ports).
std::string find_usb_serial_port(const UsbIdentity&);

// Opens and configures (baud, 8N1, flow control, RTS/DTR up) a real port; returns a non-blocking fd owned by
// the caller. Throws std::system_error / std::runtime_error, one line with the OS's reason:
// "cannot open serial port /dev/ttyUSB9: No such file or directory"; a setting the port refuses:
// "serial port /dev/ttyUSB0: baud rate: ...".
int open_serial_port(const std::string& device, const SerialSettings&);

}  // namespace insitu::io
