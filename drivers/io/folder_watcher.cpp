#include "drivers/io/folder_watcher.hpp"

#include <fnmatch.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

namespace insitu::io {
namespace fs = std::filesystem;

namespace {

class NameFilter {
 public:
  NameFilter(std::string filter, bool is_regex) : glob_(std::move(filter)), is_regex_(is_regex) {
    if (!is_regex_) return;
    try {
      regex_.emplace(glob_, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw std::runtime_error(fmt::format("folder watcher: bad filter regex '{}': {}", glob_, e.what()));
    }
  }
  bool matches(const std::string& name) const {
    if (is_regex_) return std::regex_match(name, *regex_);
    return ::fnmatch(glob_.c_str(), name.c_str(), 0) == 0;
  }

 private:
  std::string glob_;
  bool is_regex_;
  std::optional<std::regex> regex_;
};

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
  }
  void update(const void* data, std::size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest.data(), &len);
    std::string out;
    out.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

std::ifstream open_for_hash(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  return in;
}

// Hashes up to `n` bytes from the stream's position; returns how many were read.
std::uintmax_t hash_stream(std::ifstream& in, Sha256& sha, std::uintmax_t n) {
  std::vector<char> chunk(64 * 1024);
  std::uintmax_t total = 0;
  while (total < n && in) {
    const auto want = static_cast<std::streamsize>(std::min<std::uintmax_t>(chunk.size(), n - total));
    in.read(chunk.data(), want);
    const auto got = in.gcount();
    if (got <= 0) break;
    sha.update(chunk.data(), static_cast<std::size_t>(got));
    total += static_cast<std::uintmax_t>(got);
  }
  return total;
}

struct FileStat {
  std::uintmax_t size = 0;
  fs::file_time_type mtime;
  ino_t inode = 0;  // a file renamed over another of equal size and mtime is still a change
  bool operator==(const FileStat&) const = default;
};

// One stat(2) per file and poll: std::filesystem would take three and cannot see the inode.
std::optional<FileStat> stat_regular(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const std::chrono::sys_time<std::chrono::nanoseconds> mtime{std::chrono::seconds(st.st_mtim.tv_sec) +
                                                              std::chrono::nanoseconds(st.st_mtim.tv_nsec)};
  return FileStat{static_cast<std::uintmax_t>(st.st_size),
                  std::chrono::time_point_cast<fs::file_time_type::duration>(std::chrono::file_clock::from_sys(mtime)),
                  st.st_ino};
}

}  // namespace

std::string content_sha256(const fs::path& path) {
  auto in = open_for_hash(path);
  Sha256 sha;
  hash_stream(in, sha, std::numeric_limits<std::uintmax_t>::max());
  if (in.bad()) throw std::runtime_error(fmt::format("read error in {}", path.string()));
  return sha.hex();
}

std::string edge_sha256(const fs::path& path, std::uintmax_t edge_bytes) {
  auto in = open_for_hash(path);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot stat {}: {}", path.string(), ec.message()));
  Sha256 sha;
  const std::uint64_t size_le = size;  // the size is part of the fingerprint: a truncated copy differs
  sha.update(&size_le, sizeof size_le);
  if (size <= 2 * edge_bytes) {
    hash_stream(in, sha, size);
  } else {
    hash_stream(in, sha, edge_bytes);
    in.seekg(static_cast<std::streamoff>(size - edge_bytes));
    hash_stream(in, sha, edge_bytes);
  }
  if (in.bad()) throw std::runtime_error(fmt::format("read error in {}", path.string()));
  return sha.hex();
}

bool filter_matches(const std::string& filter, bool is_regex, const std::string& name) {
  return NameFilter(filter, is_regex).matches(name);
}

const char* to_string(Detection d) {
  switch (d) {
    case Detection::inotify: return "inotify";
    case Detection::poll: return "poll";
    case Detection::existing: return "existing";
  }
  return "?";
}

const char* to_string(Completion c) {
  switch (c) {
    case Completion::stable_polls: return "stable_polls";
    case Completion::sidecar: return "sidecar";
    case Completion::rename: return "rename";
    case Completion::deadline: return "deadline";
  }
  return "?";
}

const char* to_string(FileVerdict v) {
  switch (v) {
    case FileVerdict::complete: return "complete";
    case FileVerdict::corrupt: return "corrupt";
    case FileVerdict::timed_out: return "timed_out";
  }
  return "?";
}

// All state lives here, shared with the coroutines, so the FolderWatcher can be destroyed while a timer or
// a read is still pending: the coroutines wake up cancelled, see `stopped_` and leave without touching
// anything else (the clock and the folder may be gone by then).
class FolderWatcher::Impl : public std::enable_shared_from_this<FolderWatcher::Impl> {
 public:
  Impl(asio::any_io_executor executor, const RunClock& clock, FolderWatchSettings settings,
       std::shared_ptr<spdlog::logger> logger)
      : executor_(executor),
        clock_(clock),
        settings_(std::move(settings)),
        filter_(settings_.filter, settings_.filter_is_regex),
        log_(logger ? std::move(logger) : spdlog::default_logger()),
        poll_timer_(executor),
        inotify_(executor) {
    if (settings_.stable_polls < 1) throw std::invalid_argument("folder watcher: stable_polls must be >= 1");
    if (!(settings_.poll_interval_s > 0)) throw std::invalid_argument("folder watcher: poll_interval_s must be > 0");
    std::error_code ec;
    if (!fs::is_directory(settings_.folder, ec))
      throw std::runtime_error(fmt::format("folder watcher: {} is not a directory{}", settings_.folder.string(),
                                           ec ? ": " + ec.message() : std::string()));
    // The watch goes in before the baseline listing so nothing written in between is missed.
    if (settings_.use_inotify) {
      open_inotify();
    } else {
      mode_note_ = "inotify disabled by settings";
    }
    baseline();
  }

  void start() {
    auto self = shared_from_this();
    asio::co_spawn(executor_, poll_loop(self), asio::detached);
    if (inotify_.is_open()) asio::co_spawn(executor_, inotify_loop(self), asio::detached);
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    poll_timer_.cancel();
    boost::system::error_code ignored;
    inotify_.close(ignored);
    if (waiter_) waiter_->cancel();
  }

  awaitable<std::optional<WatchedFile>> next([[maybe_unused]] std::shared_ptr<Impl> self) {
    while (ready_.empty() && !stopped_) {
      if (waiter_) throw std::logic_error("folder watcher: next() is already awaited");
      // Boost 1.74 has no channels: park on a timer that a delivery or stop() cancels.
      auto waiter = std::make_shared<asio::steady_timer>(executor_, asio::steady_timer::time_point::max());
      waiter_ = waiter;
      boost::system::error_code ec;
      co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (waiter_ == waiter) waiter_.reset();
    }
    if (ready_.empty()) co_return std::nullopt;
    WatchedFile file = std::move(ready_.front());
    ready_.pop_front();
    co_return file;
  }

  WatchMode mode() const { return inotify_.is_open() ? WatchMode::inotify_and_poll : WatchMode::poll_only; }
  std::string mode_note() const { return mode_note_; }

 private:
  // pending: not complete yet; overdue: reported timed_out, still watched so a late completion is
  // delivered too; settled: delivered (or baseline) and only looked at again if it changes.
  enum class State { pending, overdue, settled };

  struct Entry {
    FileStat stat;
    State state = State::pending;
    int stable_count = 0;
    double first_seen_s = 0;
    Detection detected_by = Detection::poll;
    bool renamed_in = false;
    std::string not_yet_reason;
  };

  void open_inotify() {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      fall_back(fmt::format("inotify_init1 failed: {}", std::strerror(errno)));
      return;
    }
    if (::inotify_add_watch(fd, settings_.folder.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
      const int err = errno;
      ::close(fd);
      fall_back(fmt::format("inotify_add_watch({}) failed: {}", settings_.folder.string(), std::strerror(err)));
      return;
    }
    inotify_.assign(fd);
  }

  void fall_back(std::string why) {
    mode_note_ = std::move(why);
    log_->info("folder watcher {}: {}; polling only", settings_.folder.string(), mode_note_);
  }

  bool is_sidecar(const std::string& name) const {
    const auto& suffix = settings_.sidecar_suffix;
    return suffix && !suffix->empty() && name.size() > suffix->size() &&
           name.compare(name.size() - suffix->size(), suffix->size(), *suffix) == 0;
  }

  bool wanted(const std::string& name) const { return !is_sidecar(name) && filter_.matches(name); }

  // Regular files in the folder that pass the filter; nullopt when the folder cannot be listed right now
  // (an unmounted share), in which case nothing is concluded from this poll.
  std::optional<std::map<fs::path, FileStat>> list() {
    std::error_code ec;
    std::map<fs::path, FileStat> files;
    for (fs::directory_iterator it(settings_.folder, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (!wanted(it->path().filename().string())) continue;
      if (auto st = stat_regular(it->path())) files.emplace(it->path(), *st);
    }
    // Said once per outage, not twice a second while a share is away.
    if (ec) {
      if (listing_ok_) log_->warn("folder watcher: cannot list {}: {}", settings_.folder.string(), ec.message());
      listing_ok_ = false;
      return std::nullopt;
    }
    if (!listing_ok_) log_->info("folder watcher: {} can be listed again", settings_.folder.string());
    listing_ok_ = true;
    return files;
  }

  bool modified_since_wanted(const FileStat& st) const {
    const auto& since = settings_.include_existing_since;
    return since && std::chrono::file_clock::to_sys(st.mtime) >= *since;
  }

  void baseline() {
    auto files = list();
    if (!files) throw std::runtime_error(fmt::format("folder watcher: cannot list {}", settings_.folder.string()));
    const double now_s = clock_.now_s();
    for (const auto& [path, st] : *files) {
      Entry e;
      e.stat = st;
      e.first_seen_s = now_s;
      e.detected_by = Detection::existing;
      e.state = settings_.include_existing || modified_since_wanted(st) ? State::pending : State::settled;
      entries_.emplace(path, e);
    }
    // Existing files are judged on the first poll like any other; stability counts from here.
  }

  awaitable<void> poll_loop([[maybe_unused]] std::shared_ptr<Impl> self) {
    for (;;) {
      // A member timer rather than RunClock::sleep_for, so stop() wakes the loop at once.
      poll_timer_.expires_after(clock_.io_deadline(settings_.poll_interval_s, settings_.poll_wall_floor));
      boost::system::error_code ec;
      co_await poll_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped_) co_return;
      poll_once();
    }
  }

  void poll_once() {
    auto files = list();
    if (!files) return;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (files->count(it->first)) {
        ++it;
        continue;
      }
      if (it->second.state != State::settled)
        log_->debug("folder watcher: {} vanished before it was complete; dropped", it->first.string());
      it = entries_.erase(it);
    }
    for (const auto& [path, st] : *files) observe(path, st, Detection::poll, /*poll_tick=*/true, false);
  }

  awaitable<void> inotify_loop([[maybe_unused]] std::shared_ptr<Impl> self) {
    std::vector<char> buffer(64 * 1024);
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = co_await inotify_.async_read_some(asio::buffer(buffer),
                                                              asio::redirect_error(asio::use_awaitable, ec));
      if (stopped_) co_return;
      if (ec) {
        const auto why = fmt::format("inotify read failed: {}", ec.message());
        inotify_.close(ec);
        fall_back(why);
        co_return;
      }
      if (!handle_events(buffer.data(), n)) co_return;
    }
  }

  // Parses one read's worth of inotify records (kept out of the coroutine: inotify_event has a flexible
  // array member, which a coroutine frame cannot hold). Returns false once the watch is gone.
  bool handle_events(const char* data, std::size_t n) {
    for (std::size_t offset = 0; offset + sizeof(inotify_event) <= n;) {
      inotify_event header{};
      std::memcpy(&header, data + offset, sizeof header);
      const char* name = data + offset + sizeof header;
      offset += sizeof header + header.len;
      if (header.mask & IN_Q_OVERFLOW) {
        log_->debug("folder watcher: inotify queue overflow; rescanning");
        poll_once_without_tick();
        continue;
      }
      if (header.mask & IN_IGNORED) {  // the folder went away (unmounted, deleted): polling carries on
        boost::system::error_code ignored;
        inotify_.close(ignored);
        fall_back("inotify watch removed by the kernel");
        return false;
      }
      if (header.len == 0 || (header.mask & IN_ISDIR)) continue;
      on_event(std::string(name), (header.mask & IN_MOVED_TO) != 0);
    }
    return true;
  }

  void poll_once_without_tick() {
    auto files = list();
    if (!files) return;
    for (const auto& [path, st] : *files) observe(path, st, Detection::inotify, false, false);
  }

  void on_event(const std::string& name, bool moved_in) {
    if (is_sidecar(name)) {
      // The sidecar names its data file: look at that one now instead of at the next poll.
      const fs::path data = settings_.folder / name.substr(0, name.size() - settings_.sidecar_suffix->size());
      if (!filter_.matches(data.filename().string())) return;
      if (auto st = stat_regular(data)) observe(data, *st, Detection::inotify, false, false);
      return;
    }
    if (!filter_.matches(name)) return;
    const fs::path path = settings_.folder / name;
    if (auto st = stat_regular(path)) observe(path, *st, Detection::inotify, false, moved_in);
  }

  // One look at one file. Only poll ticks advance the stability count: an inotify event says "something
  // happened", which is no evidence that the writer is done.
  void observe(const fs::path& path, const FileStat& st, Detection how, bool poll_tick, bool moved_in) {
    const double now_s = clock_.now_s();
    auto [it, inserted] = entries_.try_emplace(path);
    Entry& e = it->second;
    if (inserted) {
      e.stat = st;
      e.first_seen_s = now_s;
      e.detected_by = how;
      log_->debug("folder watcher: new file {} ({}, {} bytes)", path.string(), to_string(how), st.size);
    } else if (st != e.stat) {
      e.stat = st;
      e.stable_count = 0;
      e.renamed_in = false;
      if (e.state == State::settled) {  // rewritten after delivery (or after the baseline): judge it afresh
        e.state = State::pending;
        e.first_seen_s = now_s;
        e.detected_by = how;
      }
    } else if (poll_tick && e.state != State::settled) {
      ++e.stable_count;
    }
    if (moved_in) e.renamed_in = true;
    if (e.state != State::settled) evaluate(path, e, now_s);
  }

  void evaluate(const fs::path& path, Entry& e, double now_s) {
    std::optional<Completion> how;
    if (settings_.sidecar_suffix && stat_regular(fs::path(path.string() + *settings_.sidecar_suffix)))
      how = Completion::sidecar;
    else if (e.renamed_in)
      how = Completion::rename;
    else if (e.stable_count >= settings_.stable_polls && e.stat.size > 0)  // created, nothing written yet
      how = Completion::stable_polls;

    if (how) {
      const ReadyCheck check = validate(path);
      if (check.state == ReadyCheck::State::complete) return finish(path, e, *how, FileVerdict::complete, {}, now_s);
      if (check.state == ReadyCheck::State::corrupt)
        return finish(path, e, *how, FileVerdict::corrupt, check.reason, now_s);
      e.not_yet_reason = "validator says not yet: " + check.reason;
    } else {
      e.not_yet_reason = e.stat.size == 0       ? "still empty"
                         : e.stable_count == 0 ? "still changing"
                                               : fmt::format("stable for only {} of {} polls", e.stable_count,
                                                             settings_.stable_polls);
    }
    if (e.state == State::pending && settings_.complete_deadline_s &&
        now_s - e.first_seen_s > *settings_.complete_deadline_s) {
      finish(path, e, Completion::deadline, FileVerdict::timed_out,
             fmt::format("not complete {:.1f} s after first seen ({} bytes): {}", now_s - e.first_seen_s,
                         e.stat.size, e.not_yet_reason),
             now_s);
    }
  }

  ReadyCheck validate(const fs::path& path) const {
    if (!settings_.validator) return ReadyCheck::complete();
    try {
      return settings_.validator(path);
    } catch (const std::exception& ex) {
      return ReadyCheck::corrupt(fmt::format("validator threw: {}", ex.what()));
    }
  }

  void finish(const fs::path& path, Entry& e, Completion how, FileVerdict verdict, std::string reason, double now_s) {
    std::string fingerprint;
    try {
      fingerprint = edge_sha256(path);
    } catch (const std::exception& ex) {  // deleted between the stat and now: the next poll drops it
      log_->debug("folder watcher: {}", ex.what());
      return;
    }
    if (verdict == FileVerdict::timed_out) {
      e.state = State::overdue;
    } else {
      e.state = State::settled;
      auto key = fmt::format("{}|{}|{}|{}", path.string(), e.stat.size, e.stat.mtime.time_since_epoch().count(),
                             fingerprint);
      if (!delivered_.insert(std::move(key)).second) {
        log_->debug("folder watcher: {} unchanged since it was delivered; not again", path.string());
        return;
      }
    }
    WatchedFile file;
    file.path = path;
    file.size_bytes = e.stat.size;
    file.mtime = e.stat.mtime;
    file.fingerprint_sha256 = std::move(fingerprint);
    file.first_seen_s = e.first_seen_s;
    file.ready_s = now_s;
    file.detected_by = e.detected_by;
    file.completed_by = how;
    file.verdict = verdict;
    file.reason = std::move(reason);
    if (verdict == FileVerdict::complete)
      log_->debug("folder watcher: {} complete ({}, {} bytes)", path.string(), to_string(how), file.size_bytes);
    else
      log_->warn("folder watcher: {} {}: {}", path.string(), to_string(verdict), file.reason);
    ready_.push_back(std::move(file));
    if (waiter_) waiter_->cancel();
  }

  asio::any_io_executor executor_;
  const RunClock& clock_;
  FolderWatchSettings settings_;
  NameFilter filter_;
  std::shared_ptr<spdlog::logger> log_;
  asio::steady_timer poll_timer_;
  asio::posix::stream_descriptor inotify_;
  std::string mode_note_;
  bool listing_ok_ = true;
  bool stopped_ = false;

  std::map<fs::path, Entry> entries_;
  std::set<std::string> delivered_;  // path|size|mtime|fingerprint of everything handed over
  std::deque<WatchedFile> ready_;
  std::shared_ptr<asio::steady_timer> waiter_;
};

FolderWatcher::FolderWatcher(asio::any_io_executor executor, const RunClock& clock, FolderWatchSettings settings,
                             std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_shared<Impl>(std::move(executor), clock, std::move(settings), std::move(logger))) {
  impl_->start();
}

FolderWatcher::~FolderWatcher() { impl_->stop(); }

awaitable<std::optional<WatchedFile>> FolderWatcher::next() { return impl_->next(impl_); }

void FolderWatcher::stop() { impl_->stop(); }

WatchMode FolderWatcher::mode() const { return impl_->mode(); }

std::string FolderWatcher::mode_note() const { return impl_->mode_note(); }

}  // namespace insitu::io
