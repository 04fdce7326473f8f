#pragma once
// Stops a run while the disks it writes to still have room, instead of at the first write they refuse: a filling
// disk makes the detector lose frames and the run file's next chunk fail, and a small journal line may go on
// fitting for many frames after that. Each watched folder is checked once a second of wall time (statvfs); the
// first one with less free space than it needs is reported once, and the watch stops. statvfs runs on a worker: a
// network share that stops answering holds that thread, never the loop.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocols/run/documents.hpp"

namespace insitu::daemon {

struct WatchedFolder {
  std::filesystem::path folder;
  std::uint64_t needed_bytes;  // below this much free space, the run stops
};

// Free bytes for an unprivileged writer in the file system holding `folder`; nullopt when it cannot be asked (the
// folder is not there yet, a share that does not answer statvfs).
std::optional<std::uint64_t> free_bytes(const std::filesystem::path& folder);

// What a run keeps free where it writes: room for `frames` more frames of `frame_bytes` each and `margin_bytes`
// for the end records.
std::uint64_t bytes_a_run_keeps_free(std::uint64_t frame_bytes, unsigned frames = 4,
                                     std::uint64_t margin_bytes = std::uint64_t{32} << 20);

class DiskSpaceWatch {
 public:
  using OnLow = std::function<void(const std::string& reason)>;
  // The first check runs as soon as `probes` gets to it; its answer, and `on_low`, on the loop.
  DiskSpaceWatch(boost::asio::any_io_executor loop, boost::asio::any_io_executor probes,
                 std::vector<WatchedFolder> folders, OnLow on_low);
  ~DiskSpaceWatch();
  DiskSpaceWatch(const DiskSpaceWatch&) = delete;
  DiskSpaceWatch& operator=(const DiskSpaceWatch&) = delete;
  // A document sink: the watch ends with the run's stop.
  void operator()(const documents::Document& document);

 private:
  void probe();
  // False once a folder is short of space (reported, and the watch is done).
  bool judge(const std::vector<std::optional<std::uint64_t>>& free);

  boost::asio::any_io_executor loop_, probes_;
  std::vector<WatchedFolder> folders_;
  OnLow on_low_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);  // a probe answering after us finds none
};

}  // namespace insitu::daemon
