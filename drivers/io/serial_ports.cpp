#include "drivers/io/serial_ports.hpp"

#include <fcntl.h>
#include <libserialport.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

namespace insitu::io {
namespace {

struct PortDeleter {
  void operator()(sp_port* p) const { sp_free_port(p); }
};
using PortPtr = std::unique_ptr<sp_port, PortDeleter>;

struct PortListDeleter {
  void operator()(sp_port** list) const { sp_free_port_list(list); }
};

// libserialport's reason for the last failure: the OS's (strerror) for SP_ERR_FAIL.
std::string reason_of(sp_return r) {
  switch (r) {
    case SP_ERR_ARG: return "invalid argument (libserialport)";
    case SP_ERR_MEM: return "out of memory (libserialport)";
    case SP_ERR_SUPP: return "not supported (libserialport)";
    default: break;
  }
  char* message = sp_last_error_message();
  std::string reason = message ? message : "unknown error";
  sp_free_error_message(message);
  return reason;
}

void check(sp_return r, std::string_view what, std::string_view device) {
  if (r >= SP_OK) return;
  throw std::runtime_error(fmt::format("serial port {}: {}: {}", device, what, reason_of(r)));
}

SerialPortInfo describe(sp_port* port) {
  SerialPortInfo info;
  info.device = sp_get_port_name(port);
  if (const char* d = sp_get_port_description(port)) info.description = d;
  switch (sp_get_port_transport(port)) {
    case SP_TRANSPORT_USB: {
      info.transport = "usb";
      int vid = 0, pid = 0;
      if (sp_get_port_usb_vid_pid(port, &vid, &pid) == SP_OK) {
        UsbIdentity usb{static_cast<std::uint16_t>(vid), static_cast<std::uint16_t>(pid), std::nullopt};
        if (const char* s = sp_get_port_usb_serial(port)) usb.serial_number = s;
        info.usb = usb;
      }
      if (const char* m = sp_get_port_usb_manufacturer(port)) info.manufacturer = m;
      if (const char* p = sp_get_port_usb_product(port)) info.product = p;
      break;
    }
    case SP_TRANSPORT_BLUETOOTH: info.transport = "bluetooth"; break;
    default: info.transport = "native"; break;
  }
  return info;
}

}  // namespace

std::vector<SerialPortInfo> list_serial_ports() {
  sp_port** raw = nullptr;
  if (sp_list_ports(&raw) != SP_OK) return {};
  std::unique_ptr<sp_port*, PortListDeleter> list(raw);
  std::vector<SerialPortInfo> out;
  for (sp_port** p = raw; *p; ++p) out.push_back(describe(*p));
  return out;
}

std::string describe_ports(const std::vector<SerialPortInfo>& ports) {
  if (ports.empty()) return "no serial ports found";
  std::string out = "serial ports:";
  for (const auto& p : ports) {
    out += (&p == &ports.front() ? " " : ", ") + p.device;
    if (p.usb)
      out += fmt::format(" (usb {:04x}:{:04x}{})", p.usb->vid, p.usb->pid,
                         p.usb->serial_number ? " serial " + *p.usb->serial_number : "");
  }
  return out;
}

std::string find_usb_serial_port(const UsbIdentity& wanted) {
  const auto ports = list_serial_ports();
  for (const auto& port : ports) {
    if (!port.usb || port.usb->vid != wanted.vid || port.usb->pid != wanted.pid) continue;
    if (wanted.serial_number && port.usb->serial_number != wanted.serial_number) continue;
    return port.device;
  }
  throw std::runtime_error(fmt::format("no USB serial adapter {:04x}:{:04x}{} is plugged in ({})", wanted.vid,
                                       wanted.pid, wanted.serial_number ? " serial " + *wanted.serial_number : "",
                                       describe_ports(ports)));
}

int open_serial_port(const std::string& device, const SerialSettings& settings) {
  // For a device that is not there libserialport says no more than "invalid argument"; the OS says why.
  if (::access(device.c_str(), F_OK) != 0)
    throw std::runtime_error(fmt::format("cannot open serial port {}: {}", device, std::strerror(errno)));
  sp_port* raw = nullptr;
  if (const auto r = sp_get_port_by_name(device.c_str(), &raw); r != SP_OK)
    throw std::runtime_error(fmt::format("cannot open serial port {}: not a serial port: {}", device, reason_of(r)));
  PortPtr port(raw);
  if (const auto r = sp_open(port.get(), SP_MODE_READ_WRITE); r != SP_OK)
    throw std::runtime_error(fmt::format("cannot open serial port {}: {}", device, reason_of(r)));
  check(sp_set_baudrate(port.get(), settings.baud), "baud rate", device);
  check(sp_set_bits(port.get(), 8), "data bits", device);
  check(sp_set_parity(port.get(), SP_PARITY_NONE), "parity", device);
  check(sp_set_stopbits(port.get(), 1), "stop bits", device);
  check(sp_set_flowcontrol(port.get(), settings.flow == FlowControl::rts_cts ? SP_FLOWCONTROL_RTSCTS
                                                                              : SP_FLOWCONTROL_NONE),
        "flow control", device);
  if (settings.flow == FlowControl::none) {
    check(sp_set_rts(port.get(), SP_RTS_ON), "RTS", device);
    check(sp_set_dtr(port.get(), SP_DTR_ON), "DTR", device);
  }
  int fd = -1;
  check(sp_get_port_handle(port.get(), &fd), "handle", device);
  // Asio owns a duplicate; libserialport's own descriptor closes with the port below.
  const int owned = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (owned < 0) throw std::system_error(errno, std::generic_category(), "serial port " + device + ": dup");
  sp_close(port.get());
  ::fcntl(owned, F_SETFL, ::fcntl(owned, F_GETFL) | O_NONBLOCK);
  return owned;
}

}  // namespace insitu::io
