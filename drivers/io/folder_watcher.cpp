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


// What the watcher looks at, shared read-only between the loop and the file-work thread.
struct FolderView {
  fs::path folder;
  NameFilter filter;
  std::optional<std::string> sidecar_suffix;
  FileValidator validator;

  bool is_sidecar(const std::string& name) const {
    return sidecar_suffix && !sidecar_suffix->empty() && name.size() > sidecar_suffix->size() &&
           name.compare(name.size() - sidecar_suffix->size(), sidecar_suffix->size(), *sidecar_suffix) == 0;
  }
  bool has_sidecar(const fs::path& path) const {
    return sidecar_suffix && stat_regular(fs::path(path.string() + *sidecar_suffix)).has_value();
  }
};

// One file as a look found it.
struct Seen {
  fs::path path;
  FileStat stat;
  bool sidecar_present = false;
  bool moved_in = false;
};

// The regular files in the folder that pass the filter; an error when it cannot be listed right now (an unmounted
// share), in which case nothing is concluded from this look. Runs off the loop.
struct Listing {
  std::vector<Seen> files;
  std::optional<std::string> error;
};

Listing list_folder(const FolderView& view) {
  Listing listing;
  std::error_code ec;
  std::set<std::string> sidecars;
  for (fs::directory_iterator it(view.folder, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (view.is_sidecar(name)) {
      if (stat_regular(it->path())) sidecars.insert(name);
    } else if (view.filter.matches(name)) {
      if (auto st = stat_regular(it->path())) listing.files.push_back({it->path(), *st});
    }
  }
  if (ec) return {{}, ec.message()};
  if (view.sidecar_suffix)
    for (auto& seen : listing.files)
      seen.sidecar_present = sidecars.contains(seen.path.filename().string() + *view.sidecar_suffix);
  return listing;
}

// The files inotify named (name, renamed into the folder); a sidecar stands for its data file. Runs off the loop.
std::vector<Seen> look_at_names(const FolderView& view, const std::map<std::string, bool>& names) {
  std::vector<Seen> seen;
  std::set<std::string> looked;  // a file and its sidecar named together are one look
  for (const auto& [name, moved_in] : names) {
    const bool sidecar = view.is_sidecar(name);
    const auto data = sidecar ? name.substr(0, name.size() - view.sidecar_suffix->size()) : name;
    if (!view.filter.matches(data) || !looked.insert(data).second) continue;
    const fs::path path = view.folder / data;
    if (auto st = stat_regular(path)) seen.push_back({path, *st, view.has_sidecar(path), moved_in && !sidecar});
  }
  return seen;
}

// A file that may be ready: its validator's answer (when it met a completion rule) and its fingerprint (when it
// may be delivered: not "not yet" or past its deadline). Runs off the loop.
struct Candidate {
  fs::path path;
  std::optional<Completion> completed_by;
  bool past_deadline = false;
};

struct Judged {
  std::optional<ReadyCheck> check;
  std::optional<std::string> fingerprint;
  std::string unreadable;  // why there is no fingerprint: deleted since the look
};

Judged judge(const FolderView& view, const Candidate& candidate) {
  Judged judged;
  if (candidate.completed_by) {
    try {
      judged.check = view.validator ? view.validator(candidate.path) : ReadyCheck::complete();
    } catch (const std::exception& ex) {
      judged.check = ReadyCheck::corrupt(fmt::format("validator threw: {}", ex.what()));
    }
  }
  const bool not_yet = judged.check && judged.check->state == ReadyCheck::State::not_yet;
  if (not_yet && !candidate.past_deadline) return judged;
  try {
    judged.fingerprint = edge_sha256(candidate.path);
  } catch (const std::exception& ex) {
    judged.unreadable = ex.what();
  }
  return judged;
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

// All state lives here, on the loop, shared with the coroutines, so the FolderWatcher can be destroyed while a
// timer, a read or a look is still pending: the coroutines wake up, see `stopped_` and leave without touching
// anything else (the clock and the folder may be gone by then). Listings, stat(2), validators and fingerprints
// run on the file-work executor: a share that stops answering holds that thread, never the loop.
class FolderWatcher::Impl : public std::enable_shared_from_this<FolderWatcher::Impl> {
 public:
  Impl(asio::any_io_executor loop, asio::any_io_executor file_work, const RunClock& clock,
       FolderWatchSettings settings, std::shared_ptr<spdlog::logger> logger)
      : loop_(loop),
        file_work_(std::move(file_work)),
        clock_(clock),
        settings_(std::move(settings)),
        view_(std::make_shared<const FolderView>(FolderView{settings_.folder,
                                                            NameFilter(settings_.filter, settings_.filter_is_regex),
                                                            settings_.sidecar_suffix, settings_.validator})),
        log_(logger ? std::move(logger) : spdlog::default_logger()),
        poll_timer_(loop),
        inotify_(loop) {
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
    asio::co_spawn(loop_, look_loop(self), asio::detached);
    if (inotify_.is_open()) asio::co_spawn(loop_, inotify_loop(self), asio::detached);
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
      auto waiter = std::make_shared<asio::steady_timer>(loop_, asio::steady_timer::time_point::max());
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
    bool sidecar_present = false;
    std::string not_yet_reason;
  };

  // Runs `job` on the file-work executor; the caller resumes on the loop with its result.
  template <typename Job>
  awaitable<std::invoke_result_t<Job&>> off_loop(Job job) {
    using Result = std::invoke_result_t<Job&>;
    auto task = [job = std::move(job)]() mutable -> awaitable<Result> { co_return job(); };
    Result result = co_await asio::co_spawn(file_work_, task(), asio::use_awaitable);
    co_return result;
  }

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

  // Said once per outage, not twice a second while a share is away.
  bool listed(const Listing& listing) {
    if (listing.error) {
      if (listing_ok_) log_->warn("folder watcher: cannot list {}: {}", settings_.folder.string(), *listing.error);
      listing_ok_ = false;
      return false;
    }
    if (!listing_ok_) log_->info("folder watcher: {} can be listed again", settings_.folder.string());
    listing_ok_ = true;
    return true;
  }

  bool modified_since_wanted(const FileStat& st) const {
    const auto& since = settings_.include_existing_since;
    return since && std::chrono::file_clock::to_sys(st.mtime) >= *since;
  }

  // The one look made on the caller's thread, while the watch is set up: its failure is the constructor's.
  void baseline() {
    const auto listing = list_folder(*view_);
    if (!listed(listing))
      throw std::runtime_error(fmt::format("folder watcher: cannot list {}", settings_.folder.string()));
    const double now_s = clock_.now_s();
    for (const auto& seen : listing.files) {
      Entry e;
      e.stat = seen.stat;
      e.first_seen_s = now_s;
      e.detected_by = Detection::existing;
      e.state = settings_.include_existing || modified_since_wanted(seen.stat) ? State::pending : State::settled;
      entries_.emplace(seen.path, e);
    }
    // Existing files are judged on the first poll like any other; stability counts from here.
  }

  // Every look at the folder happens here, one at a time, so an entry is only changed between awaits by this
  // coroutine: a poll tick each interval, and inotify's files as soon as they are named.
  awaitable<void> look_loop([[maybe_unused]] std::shared_ptr<Impl> self) {
    auto next_tick = std::chrono::steady_clock::now() + poll_interval();
    for (;;) {
      if (named_.empty() && !rescan_) {
        // A member timer rather than RunClock::sleep_for, so stop() and inotify wake the loop at once.
        poll_timer_.expires_at(next_tick);
        boost::system::error_code ec;
        co_await poll_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (stopped_) co_return;
      if (rescan_ || !named_.empty()) co_await look_at_named();
      if (stopped_) co_return;
      if (std::chrono::steady_clock::now() >= next_tick) {
        co_await poll();
        next_tick = std::chrono::steady_clock::now() + poll_interval();
      }
    }
  }

  std::chrono::steady_clock::duration poll_interval() const {
    return clock_.io_deadline(settings_.poll_interval_s, settings_.poll_wall_floor);
  }

  awaitable<Listing> list() {
    const auto list_job = [view = view_] { return list_folder(*view); };
    Listing listing = co_await off_loop(list_job);
    co_return listing;
  }

  awaitable<void> poll() {
    const auto listing = co_await list();
    if (stopped_ || !listed(listing)) co_return;
    std::set<fs::path> present;
    for (const auto& seen : listing.files) present.insert(seen.path);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (present.contains(it->first)) {
        ++it;
        continue;
      }
      if (it->second.state != State::settled)
        log_->debug("folder watcher: {} vanished before it was complete; dropped", it->first.string());
      it = entries_.erase(it);
    }
    co_await observe(listing.files, Detection::poll, /*poll_tick=*/true);
  }

  // What inotify named since the last look, or the whole folder after its queue overflowed; no poll tick.
  awaitable<void> look_at_named() {
    if (std::exchange(rescan_, false)) {
      named_.clear();
      const auto listing = co_await list();
      if (stopped_ || !listed(listing)) co_return;
      co_await observe(listing.files, Detection::inotify, false);
      co_return;
    }
    const auto look = [view = view_, names = std::exchange(named_, {})] { return look_at_names(*view, names); };
    const auto seen = co_await off_loop(look);
    if (stopped_) co_return;
    co_await observe(seen, Detection::inotify, false);
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
      poll_timer_.cancel();  // the look loop takes the named files now
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
        rescan_ = true;
        continue;
      }
      if (header.mask & IN_IGNORED) {  // the folder went away (unmounted, deleted): polling carries on
        boost::system::error_code ignored;
        inotify_.close(ignored);
        fall_back("inotify watch removed by the kernel");
        return false;
      }
      if (header.len == 0 || (header.mask & IN_ISDIR)) continue;
      named_[std::string(name)] |= (header.mask & IN_MOVED_TO) != 0;
    }
    return true;
  }

  // One look at some files. Only poll ticks advance the stability count: an inotify event says "something
  // happened", which is no evidence that the writer is done.
  awaitable<void> observe(const std::vector<Seen>& files, Detection how, bool poll_tick) {
    const double now_s = clock_.now_s();
    std::vector<fs::path> looked_at;
    for (const auto& seen : files) {
      auto [it, inserted] = entries_.try_emplace(seen.path);
      Entry& e = it->second;
      if (inserted) {
        e.stat = seen.stat;
        e.first_seen_s = now_s;
        e.detected_by = how;
        log_->debug("folder watcher: new file {} ({}, {} bytes)", seen.path.string(), to_string(how), seen.stat.size);
      } else if (seen.stat != e.stat) {
        e.stat = seen.stat;
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
      if (seen.moved_in) e.renamed_in = true;
      e.sidecar_present = seen.sidecar_present;
      if (e.state != State::settled) looked_at.push_back(seen.path);
    }
    co_await evaluate(looked_at, now_s);
  }

  std::optional<Completion> completion(const Entry& e) const {
    if (e.sidecar_present) return Completion::sidecar;
    if (e.renamed_in) return Completion::rename;
    if (e.stable_count >= settings_.stable_polls && e.stat.size > 0) return Completion::stable_polls;  // not empty
    return std::nullopt;
  }

  bool past_deadline(const Entry& e, double now_s) const {
    return e.state == State::pending && settings_.complete_deadline_s &&
           now_s - e.first_seen_s > *settings_.complete_deadline_s;
  }

  // Files that met a completion rule go to their validator, and those past their deadline are given up, off the
  // loop; the rest wait for the next look.
  awaitable<void> evaluate(const std::vector<fs::path>& paths, double now_s) {
    std::vector<Candidate> candidates;
    for (const auto& path : paths) {
      Entry& e = entries_.at(path);
      const auto completed_by = completion(e);
      const bool overdue = past_deadline(e, now_s);
      if (!completed_by) e.not_yet_reason = waiting_reason(e);
      if (completed_by || overdue) candidates.push_back({path, completed_by, overdue});
    }
    if (candidates.empty()) co_return;
    const auto judge_all = [view = view_, candidates] {
      std::vector<Judged> out;
      for (const auto& candidate : candidates) out.push_back(judge(*view, candidate));
      return out;
    };
    const auto judged = co_await off_loop(judge_all);
    if (stopped_) co_return;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const auto it = entries_.find(candidates[i].path);
      if (it != entries_.end() && it->second.state != State::settled)
        conclude(candidates[i], it->second, judged[i], now_s);
    }
  }

  std::string waiting_reason(const Entry& e) const {
    if (e.stat.size == 0) return "still empty";
    if (e.stable_count == 0) return "still changing";
    return fmt::format("stable for only {} of {} polls", e.stable_count, settings_.stable_polls);
  }

  void conclude(const Candidate& candidate, Entry& e, const Judged& judged, double now_s) {
    const auto& path = candidate.path;
    if (!judged.fingerprint && !judged.unreadable.empty()) {  // deleted since the look: the next poll drops it
      log_->debug("folder watcher: {}", judged.unreadable);
      return;
    }
    if (const auto& check = judged.check) {
      if (check->state == ReadyCheck::State::complete)
        return finish(path, e, *candidate.completed_by, FileVerdict::complete, {}, *judged.fingerprint, now_s);
      if (check->state == ReadyCheck::State::corrupt)
        return finish(path, e, *candidate.completed_by, FileVerdict::corrupt, check->reason, *judged.fingerprint,
                      now_s);
      e.not_yet_reason = "validator says not yet: " + check->reason;
    }
    if (candidate.past_deadline && e.state == State::pending && judged.fingerprint)
      finish(path, e, Completion::deadline, FileVerdict::timed_out,
             fmt::format("not complete {:.1f} s after first seen ({} bytes): {}", now_s - e.first_seen_s,
                         e.stat.size, e.not_yet_reason),
             *judged.fingerprint, now_s);
  }

  void finish(const fs::path& path, Entry& e, Completion how, FileVerdict verdict, std::string reason,
              std::string fingerprint, double now_s) {
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

  asio::any_io_executor loop_;
  asio::any_io_executor file_work_;
  const RunClock& clock_;
  FolderWatchSettings settings_;
  std::shared_ptr<const FolderView> view_;
  std::shared_ptr<spdlog::logger> log_;
  asio::steady_timer poll_timer_;
  asio::posix::stream_descriptor inotify_;
  std::string mode_note_;
  bool listing_ok_ = true;
  bool stopped_ = false;

  std::map<std::string, bool> named_;  // file names inotify reported since the last look: renamed in?
  bool rescan_ = false;                // inotify's queue overflowed: look at the whole folder
  std::map<fs::path, Entry> entries_;
  std::set<std::string> delivered_;  // path|size|mtime|fingerprint of everything handed over
  std::deque<WatchedFile> ready_;
  std::shared_ptr<asio::steady_timer> waiter_;
};

FolderWatcher::FolderWatcher(asio::any_io_executor loop, asio::any_io_executor file_work, const RunClock& clock,
                             FolderWatchSettings settings, std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_shared<Impl>(std::move(loop), std::move(file_work), clock, std::move(settings),
                                   std::move(logger))) {
  impl_->start();
}

FolderWatcher::~FolderWatcher() { impl_->stop(); }

awaitable<std::optional<WatchedFile>> FolderWatcher::next() { return impl_->next(impl_); }

void FolderWatcher::stop() { impl_->stop(); }

WatchMode FolderWatcher::mode() const { return impl_->mode(); }

std::string FolderWatcher::mode_note() const { return impl_->mode_note(); }

}  // namespace insitu::io
