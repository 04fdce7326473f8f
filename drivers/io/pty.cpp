#include "drivers/io/pty.hpp"

#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

namespace insitu::io {
namespace {

std::system_error sys_error(const std::string& what) { return std::system_error(errno, std::generic_category(), what); }

}  // namespace

speed_t termios_speed(int baud) {
  switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    default: throw std::invalid_argument(fmt::format("unsupported baud rate {}", baud));
  }
}

PublishedPty publish_pty(const std::filesystem::path& link, int baud) {
  PublishedPty pty;
  std::array<char, 128> name{};
  if (::openpty(&pty.master_fd, &pty.slave_fd, name.data(), nullptr, nullptr) != 0) throw sys_error("openpty");
  pty.slave_path = name.data();
  const auto fail = [&](const std::string& what) {
    const auto error = sys_error(what + " " + pty.slave_path);
    ::close(pty.master_fd);
    ::close(pty.slave_fd);
    return error;
  };
  termios tio{};
  if (::tcgetattr(pty.slave_fd, &tio) != 0) throw fail("tcgetattr");
  ::cfmakeraw(&tio);
  ::cfsetspeed(&tio, termios_speed(baud));
  if (::tcsetattr(pty.slave_fd, TCSANOW, &tio) != 0) throw fail("tcsetattr");
  // Non-blocking on both ends: a writer must never stall on a pty nobody reads.
  for (const int fd : {pty.master_fd, pty.slave_fd}) {
    if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) throw fail("fcntl O_NONBLOCK");
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  const std::filesystem::path tmp = link.string() + ".new";
  std::filesystem::remove(tmp);
  std::filesystem::create_symlink(pty.slave_path, tmp);
  std::filesystem::rename(tmp, link);
  return pty;
}

}  // namespace insitu::io
