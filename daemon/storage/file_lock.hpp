#pragma once
// Reopening a finished SWMR file in regular mode while readers hold it (RunFile's end of run).
//
// HDF5 1.10.8 (Debian 12) guards files with flock(): a read-write open takes LOCK_EX, a read-only open LOCK_SH and
// keeps it while the file is open, SWMR readers (h5py swmr=True) included; an SWMR writer holds none once SWMR has
// started. So the regular-mode reopen at the end of a run ("unable to lock file, errno = 11") is refused for as long
// as any locking reader keeps the file open, and end_time, exit_status, run_parameters and the at_finish writers
// (the DMA entry) would be lost. Readers never write, so what the lock protects them from is only seeing the file
// change under them, which a reader of a file being written must expect anyway (silx and h5py SWMR readers do).
// A second writer is another matter: it would corrupt the file. Hence:
//   - nobody holds a lock: open with HDF5's own locking, as usual;
//   - only shared locks are held (readers): take a shared lock of our own, which keeps any writer out until we
//     close, and open with HDF5's locking off;
//   - an exclusive lock is held (another writer): wait up to the deadline, then fail (the caller reports it).
// Non-SWMR readers cannot open the file while it is open for writing (its superblock says so), so they are only
// seen here when they open it in the moment between the SWMR close and the reopen.
#include <chrono>
#include <filesystem>

#include "daemon/storage/h5.hpp"

namespace insitu::storage {

// The reopened file and, when readers held it, the shared lock that keeps writers out while it is open.
class ReopenedFile {
 public:
  ReopenedFile(h5::Handle file, int lock_fd) : lock_fd_(lock_fd), file_(std::move(file)) {}
  ReopenedFile(ReopenedFile&& other) noexcept;
  ReopenedFile(const ReopenedFile&) = delete;
  ReopenedFile& operator=(const ReopenedFile&) = delete;
  ReopenedFile& operator=(ReopenedFile&&) = delete;
  ~ReopenedFile();

  const h5::Handle& file() const { return file_; }
  void close();  // the file first (throwing on failure), then our lock

 private:
  int lock_fd_ = -1;
  h5::Handle file_;  // declared last: closed before the lock is released
};

// Throws std::runtime_error (or h5::Error) when the file cannot be reopened for writing before `deadline`.
ReopenedFile reopen_for_writing(const std::filesystem::path& path, std::chrono::milliseconds deadline);

}  // namespace insitu::storage
