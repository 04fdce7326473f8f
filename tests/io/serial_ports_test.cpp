// A port that is not there says which port and why, before and during a run.
#include "drivers/io/serial_ports.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "drivers/io/byte_stream.hpp"
#include "drivers/io/pty.hpp"

namespace insitu::io {
namespace {

template <typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

const std::string kMissing = "/dev/ttyUSB-insitu-test-missing";

TEST(SerialPorts, AMissingPortIsNamedWithTheReason) {
  const std::string expected = "cannot open serial port " + kMissing + ": No such file or directory";
  EXPECT_EQ(message_of([] { open_serial_port(kMissing, {}); }), expected);
  EXPECT_EQ(message_of([] { probe_port(parse_connection_url("serial://" + kMissing), {}); }), expected);
}

// A file that is there but is no serial port: named, with libserialport's or the OS's reason.
TEST(SerialPorts, AFileThatIsNoSerialPortIsNamed) {
  const auto file = std::filesystem::temp_directory_path() / ("insitu-not-a-port-" + std::to_string(::getpid()));
  std::ofstream(file) << "x";
  const auto message = message_of([&] { open_serial_port(file.string(), {}); });
  std::filesystem::remove(file);
  EXPECT_EQ(message.rfind("cannot open serial port " + file.string() + ": ", 0), 0u) << message;
}

TEST(SerialPorts, AMissingOrWrongPtyIsNamedWithTheReason) {
  EXPECT_EQ(message_of([] { probe_port(parse_connection_url("pty:" + kMissing), {}); }),
            "cannot open pty " + kMissing + ": No such file or directory");
  EXPECT_EQ(message_of([] { probe_port(parse_connection_url("pty:/dev/null"), {}); }),
            "cannot open pty /dev/null: not a terminal (Inappropriate ioctl for device)");
  EXPECT_THROW(probe_port(parse_connection_url("tcp://localhost:4001"), {}), std::logic_error);
}

TEST(SerialPorts, AProbeOpensAPtyThatIsThere) {
  const auto link = std::filesystem::temp_directory_path() / ("insitu-probe-" + std::to_string(::getpid()));
  const auto pty = publish_pty(link, 9600);
  EXPECT_NO_THROW(probe_port(parse_connection_url("pty:" + link.string()), {}));
  ::close(pty.master_fd);
  ::close(pty.slave_fd);
  std::filesystem::remove(link);
}

TEST(SerialPorts, AnAdapterThatIsNotPluggedInListsThePortsThatAre) {
  const UsbIdentity wanted{0xffff, 0xfffe, "NOT-THERE"};
  EXPECT_EQ(
      message_of([&] { find_usb_serial_port(wanted); }),
      "no USB serial adapter ffff:fffe serial NOT-THERE is plugged in (" + describe_ports(list_serial_ports()) + ")");
  EXPECT_EQ(describe_ports({}), "no serial ports found");
  SerialPortInfo native{"/dev/ttyS0", "", "native", std::nullopt, "", ""};
  SerialPortInfo usb{"/dev/ttyUSB0", "", "usb", UsbIdentity{0x0403, 0x6001, "FT1ABC"}, "", ""};
  EXPECT_EQ(describe_ports({native, usb}), "serial ports: /dev/ttyS0, /dev/ttyUSB0 (usb 0403:6001 serial FT1ABC)");
}

}  // namespace
}  // namespace insitu::io
