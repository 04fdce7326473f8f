#include "daemon/storage/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

namespace insitu::storage {
namespace {

enum class Holders { none, readers, writer };

// Probes the flock() state of `path` with a descriptor of our own. With readers only, `fd` keeps a shared lock.
Holders probe(int fd) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
    return Holders::none;
  }
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) return Holders::readers;
  return Holders::writer;
}

}  // namespace

ReopenedFile::ReopenedFile(ReopenedFile&& other) noexcept : lock_fd_(other.lock_fd_), file_(std::move(other.file_)) {
  other.lock_fd_ = -1;
}

ReopenedFile::~ReopenedFile() {
  file_ = h5::Handle();  // closes quietly (a destructor cannot report); close() is the reporting path
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void ReopenedFile::close() {
  file_.close();
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

ReopenedFile reopen_for_writing(const std::filesystem::path& path, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::string last_error;
  for (;;) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("reopen " + path.string() + ": " + std::strerror(errno));
    const Holders holders = probe(fd);
    try {
      if (holders == Holders::readers) return ReopenedFile(h5::open_file(path, h5::Access::read_write_unlocked), fd);
      ::close(fd);
      if (holders == Holders::none) return ReopenedFile(h5::open_file(path, h5::Access::read_write), -1);
      last_error = "another process holds it open for writing";
    } catch (const h5::Error& e) {  // e.g. a reader took its lock between the probe and the open: probe again
      if (holders == Holders::readers) ::close(fd);
      last_error = e.what();
    }
    if (std::chrono::steady_clock::now() >= until)
      throw std::runtime_error("reopen " + path.string() + " for the end of the run: " + last_error);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace insitu::storage
