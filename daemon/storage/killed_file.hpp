#pragma once
// Run files whose writer was killed (kill -9, power loss, OOM killer) while it wrote them.
//
// Such a file's superblock still says "open for SWMR writing": readers open it with SWMR read (RunFileReader does),
// but HDF5 refuses any write. `h5clear -s` clears that mark yet keeps the superblock's end of allocation, which an
// SWMR writer never updates: HDF5 truncates the file to it on the next close and every frame and reading is gone.
// recover_killed_file() clears the mark and moves the end of allocation to the file's size (what `h5clear -s
// --increment=0` does), so nothing is lost.
//
// The end of a run reopens the file outside SWMR to write what creates objects; cut there (a kill, a full disk), it
// leaves a "open for writing" mark that no reader can open past, SWMR or not. The same recovery clears it.
#include <filesystem>

namespace insitu::storage {

// Held by a RunFile while it writes: an open-file-description lock (fcntl F_OFD_SETLK) on one byte far past the end
// of run.h5. HDF5's locks are flock() locks, which these never meet (and an SWMR writer drops them); the kernel
// releases this one when the writer ends, however it ends. So a file still being written is told from a killed one.
class WriterMark {
 public:
  explicit WriterMark(const std::filesystem::path& file);  // throws std::runtime_error when another writer holds it
  ~WriterMark();
  WriterMark(const WriterMark&) = delete;
  WriterMark& operator=(const WriterMark&) = delete;

 private:
  int fd_ = -1;
};

// Whether a live process holds the file's WriterMark.
bool writer_alive(const std::filesystem::path& file);

enum class Recovery { not_needed, recovered };

// Makes a killed run's file writable again, in place. Throws std::runtime_error when a writer still holds it or
// HDF5 cannot open it at all (h5::Error).
Recovery recover_killed_file(const std::filesystem::path& file);

}  // namespace insitu::storage
