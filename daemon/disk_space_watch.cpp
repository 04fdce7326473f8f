#include "daemon/disk_space_watch.hpp"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <chrono>
#include <utility>

namespace insitu::daemon {

std::optional<std::uint64_t> free_bytes(const std::filesystem::path& folder) {
  struct statvfs fs {};
  if (::statvfs(folder.c_str(), &fs) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
}

std::uint64_t bytes_a_run_keeps_free(std::uint64_t frame_bytes, unsigned frames, std::uint64_t margin_bytes) {
  return frames * frame_bytes + margin_bytes;
}

DiskSpaceWatch::DiskSpaceWatch(boost::asio::any_io_executor loop, std::vector<WatchedFolder> folders, OnLow on_low)
    : folders_(std::move(folders)), on_low_(std::move(on_low)), timer_(std::move(loop)) {
  schedule(std::chrono::steady_clock::duration::zero());
}

DiskSpaceWatch::~DiskSpaceWatch() { timer_.cancel(); }

void DiskSpaceWatch::operator()(const documents::Document& document) {
  if (!std::holds_alternative<documents::RunStop>(document)) return;
  stopped_ = true;
  timer_.cancel();
}

void DiskSpaceWatch::schedule(std::chrono::steady_clock::duration after) {
  timer_.expires_after(after);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    if (check()) schedule(std::chrono::seconds(1));
  });
}

// False once a folder is short of space (reported, and the watch is done).
bool DiskSpaceWatch::check() {
  constexpr double kMiB = 1 << 20;
  for (const auto& [folder, needed] : folders_) {
    const auto free = free_bytes(folder);
    if (!free || *free >= needed) continue;
    stopped_ = true;
    on_low_(fmt::format("disk full: {:.1f} MiB free in {}, below the {:.0f} MiB a run keeps free there", *free / kMiB,
                        folder.string(), needed / kMiB));
    return false;
  }
  return true;
}

}  // namespace insitu::daemon
