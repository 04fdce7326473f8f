#include "drivers/io/connection_url.hpp"

#include <charconv>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

namespace insitu::io {
namespace {

std::map<std::string, std::string> parse_query(std::string_view query, std::string_view url) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto item = query.substr(0, amp);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw std::invalid_argument(fmt::format("connection URL '{}': query item '{}' is not key=value", url, item));
    out.emplace(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return out;
}

template <typename T>
T parse_number(const std::string& text, int base, std::string_view what, std::string_view url) {
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc{} || ptr != text.data() + text.size())
    throw std::invalid_argument(fmt::format("connection URL '{}': {} '{}' is not a number", url, what, text));
  return value;
}

}  // namespace

ConnectionUrl parse_connection_url(std::string_view url) {
  ConnectionUrl out{};
  const auto q = url.find('?');
  const std::string_view base = url.substr(0, q);
  auto query = parse_query(q == std::string_view::npos ? std::string_view{} : url.substr(q + 1), url);

  if (base.starts_with("serial://")) {
    out.kind = ConnectionUrl::Kind::serial;
    out.path = std::string(base.substr(9));
    if (out.path == "usb") {
      UsbIdentity usb;
      if (!query.contains("vid") || !query.contains("pid"))
        throw std::invalid_argument(fmt::format("connection URL '{}': serial://usb needs vid= and pid=", url));
      usb.vid = parse_number<std::uint16_t>(query.at("vid"), 16, "vid", url);
      usb.pid = parse_number<std::uint16_t>(query.at("pid"), 16, "pid", url);
      if (query.contains("serial")) usb.serial_number = query.at("serial");
      query.erase("vid");
      query.erase("pid");
      query.erase("serial");
      out.usb = usb;
      out.path.clear();
    } else if (!out.path.starts_with('/')) {
      throw std::invalid_argument(
          fmt::format("connection URL '{}': serial needs an absolute device path (serial:///dev/ttyUSB0)", url));
    }
  } else if (base.starts_with("pty:")) {
    out.kind = ConnectionUrl::Kind::pty;
    out.path = std::string(base.substr(4));
    if (out.path.empty()) throw std::invalid_argument(fmt::format("connection URL '{}': empty pty path", url));
  } else if (base.starts_with("tcp://")) {
    out.kind = ConnectionUrl::Kind::tcp;
    const auto hostport = base.substr(6);
    const auto colon = hostport.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      throw std::invalid_argument(fmt::format("connection URL '{}': tcp needs host:port", url));
    out.host = std::string(hostport.substr(0, colon));
    out.port = parse_number<std::uint16_t>(std::string(hostport.substr(colon + 1)), 10, "port", url);
  } else {
    throw std::invalid_argument(
        fmt::format("connection URL '{}': unknown scheme (use serial://, pty: or tcp://)", url));
  }

  if (query.contains("baud")) {
    out.baud = parse_number<int>(query.at("baud"), 10, "baud", url);
    query.erase("baud");
  }
  if (query.contains("flow")) {
    const auto& f = query.at("flow");
    if (f == "none") out.flow = FlowControl::none;
    else if (f == "rtscts") out.flow = FlowControl::rts_cts;
    else throw std::invalid_argument(fmt::format("connection URL '{}': flow must be none or rtscts", url));
    query.erase("flow");
  }
  if (!query.empty())
    throw std::invalid_argument(fmt::format("connection URL '{}': unknown option '{}'", url, query.begin()->first));
  return out;
}

std::string ConnectionUrl::to_string() const {
  switch (kind) {
    case Kind::serial:
      if (usb)
        return fmt::format("serial://usb?vid={:04x}&pid={:04x}{}", usb->vid, usb->pid,
                           usb->serial_number ? "&serial=" + *usb->serial_number : "");
      return "serial://" + path;
    case Kind::pty: return "pty:" + path;
    case Kind::tcp: return fmt::format("tcp://{}:{}", host, port);
  }
  return {};
}

}  // namespace insitu::io
