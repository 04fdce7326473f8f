#include "drivers/io/connection_url.hpp"

#include <gtest/gtest.h>

namespace insitu::io {
namespace {

TEST(ConnectionUrl, ParsesEveryScheme) {
  const auto serial = parse_connection_url("serial:///dev/ttyUSB0?baud=19200");
  EXPECT_EQ(serial.kind, ConnectionUrl::Kind::serial);
  EXPECT_EQ(serial.path, "/dev/ttyUSB0");
  EXPECT_EQ(serial.baud, 19200);
  EXPECT_EQ(serial.to_string(), "serial:///dev/ttyUSB0");

  const auto usb = parse_connection_url("serial://usb?vid=0403&pid=6001&serial=FT1ABC&flow=rtscts");
  ASSERT_TRUE(usb.usb);
  EXPECT_EQ(usb.usb->vid, 0x0403);
  EXPECT_EQ(usb.usb->pid, 0x6001);
  EXPECT_EQ(usb.usb->serial_number, "FT1ABC");
  EXPECT_EQ(usb.flow, FlowControl::rts_cts);
  EXPECT_EQ(usb.to_string(), "serial://usb?vid=0403&pid=6001&serial=FT1ABC");

  const auto pty = parse_connection_url("pty:/tmp/run/ttyLinkam");
  EXPECT_EQ(pty.kind, ConnectionUrl::Kind::pty);
  EXPECT_EQ(pty.path, "/tmp/run/ttyLinkam");

  const auto tcp = parse_connection_url("tcp://moxa.beamline:4001");
  EXPECT_EQ(tcp.kind, ConnectionUrl::Kind::tcp);
  EXPECT_EQ(tcp.host, "moxa.beamline");
  EXPECT_EQ(tcp.port, 4001);
}

TEST(ConnectionUrl, ExplainsWhatIsWrong) {
  auto message = [](const char* url) {
    try {
      parse_connection_url(url);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("ttyUSB0"), "connection URL 'ttyUSB0': unknown scheme (use serial://, pty: or tcp://)");
  EXPECT_EQ(message("serial://ttyUSB0"),
            "connection URL 'serial://ttyUSB0': serial needs an absolute device path (serial:///dev/ttyUSB0)");
  EXPECT_EQ(message("serial://usb?vid=0403"), "connection URL 'serial://usb?vid=0403': serial://usb needs vid= and pid=");
  EXPECT_EQ(message("tcp://host"), "connection URL 'tcp://host': tcp needs host:port");
  EXPECT_EQ(message("tcp://host:99999"), "connection URL 'tcp://host:99999': port '99999' is not a number");
  EXPECT_EQ(message("pty:"), "connection URL 'pty:': empty pty path");
  EXPECT_EQ(message("pty:/x?parity=odd"), "connection URL 'pty:/x?parity=odd': unknown option 'parity'");
  EXPECT_EQ(message("pty:/x?flow=xon"), "connection URL 'pty:/x?flow=xon': flow must be none or rtscts");
}

}  // namespace
}  // namespace insitu::io
