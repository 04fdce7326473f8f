#include "daemon/disk_space_watch.hpp"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <boost/asio/post.hpp>

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

DiskSpaceWatch::DiskSpaceWatch(boost::asio::any_io_executor loop, boost::asio::any_io_executor probes,
                               std::vector<WatchedFolder> folders, OnLow on_low)
    : loop_(loop), probes_(std::move(probes)), folders_(std::move(folders)), on_low_(std::move(on_low)),
      timer_(std::move(loop)) {
  probe();
}

DiskSpaceWatch::~DiskSpaceWatch() { timer_.cancel(); }

void DiskSpaceWatch::operator()(const documents::Document& document) {
  if (!std::holds_alternative<documents::RunStop>(document)) return;
  stopped_ = true;
  timer_.cancel();
}

// One probe in flight at a time; the next is due a second after the answer.
void DiskSpaceWatch::probe() {
  // On the worker only the captured copies are touched: the watch may be gone before the answer. The loop counts the
  // probe as its work until the answer is posted.
  auto loop = boost::asio::prefer(loop_, boost::asio::execution::outstanding_work.tracked);
  boost::asio::post(probes_, [this, loop, folders = folders_, alive = std::weak_ptr<const bool>(alive_)] {
    std::vector<std::optional<std::uint64_t>> free;
    for (const auto& watched : folders) free.push_back(free_bytes(watched.folder));
    boost::asio::post(loop, [this, alive, free = std::move(free)] {
      if (alive.expired() || stopped_ || !judge(free)) return;
      timer_.expires_after(std::chrono::seconds(1));
      timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopped_) probe();
      });
    });
  });
}

bool DiskSpaceWatch::judge(const std::vector<std::optional<std::uint64_t>>& free) {
  constexpr double kMiB = 1 << 20;
  for (std::size_t i = 0; i < folders_.size(); ++i) {
    const auto& [folder, needed] = folders_[i];
    if (!free[i] || *free[i] >= needed) continue;
    stopped_ = true;
    on_low_(fmt::format("disk full: {:.1f} MiB free in {}, below the {:.0f} MiB a run keeps free there",
                        *free[i] / kMiB, folder.string(), needed / kMiB));
    return false;
  }
  return true;
}

}  // namespace insitu::daemon
