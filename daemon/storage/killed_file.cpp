#include "daemon/storage/killed_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "daemon/storage/h5.hpp"

namespace insitu::storage {
namespace {

constexpr off_t kMarkByte = off_t{1} << 62;  // far past any file's end: no reader or writer of the data locks it

struct flock mark_range(short type) {
  struct flock range {};
  range.l_type = type;
  range.l_whence = SEEK_SET;
  range.l_start = kMarkByte;
  range.l_len = 1;
  return range;
}

// HDF5's open with its "clear status flags" property (h5clear's), then the end of allocation set to the file's size.
void clear_status_flags(const std::filesystem::path& file) {
  h5::Handle fapl(h5::check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate(fapl)"));
  hbool_t clear = true;
  h5::check(H5Pset(fapl.get(), "clear_status_flags", &clear), "H5Pset(clear_status_flags)");
  h5::Handle opened(h5::check(H5Fopen(file.c_str(), H5F_ACC_RDWR, fapl.get()), "H5Fopen (clearing the status flags)"));
  h5::check(H5Fincrement_filesize(opened.get(), 0), "H5Fincrement_filesize");
  opened.close();
}

bool opens_for_writing(const std::filesystem::path& file) {
  try {
    h5::open_file(file, h5::Access::read_write);
    return true;
  } catch (const h5::Error&) {
    return false;
  }
}

}  // namespace

WriterMark::WriterMark(const std::filesystem::path& file) : fd_(::open(file.c_str(), O_RDWR | O_CLOEXEC)) {
  if (fd_ < 0) throw std::runtime_error(file.string() + ": " + std::strerror(errno));
  auto range = mark_range(F_WRLCK);
  if (::fcntl(fd_, F_OFD_SETLK, &range) != 0) {
    ::close(fd_);
    throw std::runtime_error(file.string() + ": another process writes it");
  }
}

WriterMark::~WriterMark() { ::close(fd_); }

bool writer_alive(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  auto range = mark_range(F_WRLCK);
  const bool held = ::fcntl(fd, F_OFD_GETLK, &range) == 0 && range.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

Recovery recover_killed_file(const std::filesystem::path& file) {
  if (writer_alive(file))
    throw std::runtime_error(file.string() + ": still being written by a running insitu; recover it once the run has "
                                             "ended (or been killed)");
  if (opens_for_writing(file)) return Recovery::not_needed;
  // Marked open by a SWMR writer (a killed run) or by a regular one (the end of a run, cut by a kill or a full disk).
  clear_status_flags(file);
  const h5::Handle writable = h5::open_file(file, h5::Access::read_write);  // throws when the recovery did not take
  return Recovery::recovered;
}

}  // namespace insitu::storage
