#pragma once
// Pseudo-terminals, the simulators' stand-in for a serial cable.
#include <termios.h>

#include <filesystem>
#include <string>

namespace insitu::io {

// termios speed for a baud rate; throws std::invalid_argument for one a serial port would not use.
speed_t termios_speed(int baud);

struct PublishedPty {
  int master_fd = -1;  // the device side (the simulator serves it)
  int slave_fd = -1;   // kept open so the master sees no EIO before a driver connects
  std::string slave_path;
};

// Opens a raw pty pair at `baud`, both ends non-blocking and close-on-exec, and points `link` at the slave
// atomically (a driver never sees a half-made link). Throws std::system_error.
PublishedPty publish_pty(const std::filesystem::path& link, int baud);

}  // namespace insitu::io
