#pragma once
// Watches a folder for instrument output files (detector frames, TRIOS exports) and hands each one over
// once it is complete. Polling is the source of truth: writes made by another host over SMB/NFS raise no
// inotify events, so the poll loop always runs; inotify (when available) only makes detection faster.
// Its state lives on the loop (a single-threaded io_context or a strand); it starts no threads. Listings, stat(2),
// validators and fingerprints run on a file-work executor, so a share that stops answering holds that executor, not
// the loop; only the baseline listing at construction runs on the caller's thread. Both executors must outlive it.
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "drivers/io/asio.hpp"
#include "drivers/io/clock.hpp"

namespace spdlog {
class logger;
}

namespace insitu::io {

// A validator's answer about one file (e.g. "does libtiff parse it yet?").
struct ReadyCheck {
  enum class State { complete, not_yet, corrupt };
  State state = State::complete;
  std::string reason;

  static ReadyCheck complete() { return {State::complete, {}}; }
  static ReadyCheck not_yet(std::string why) { return {State::not_yet, std::move(why)}; }
  static ReadyCheck corrupt(std::string why) { return {State::corrupt, std::move(why)}; }
};

using FileValidator = std::function<ReadyCheck(const std::filesystem::path&)>;

struct FolderWatchSettings {
  std::filesystem::path folder;
  // Matched against the file name only: a glob (fnmatch: `*.tif`, `frame-?????.tif`) or, when
  // `filter_is_regex`, an ECMAScript regex that must match the whole name.
  std::string filter = "*";
  bool filter_is_regex = false;
  double poll_interval_s = 0.5;  // run seconds
  // The poll never runs more often than this on the wall, so an accelerated clock (600x) does not spin.
  std::chrono::steady_clock::duration poll_wall_floor = std::chrono::milliseconds(10);
  // A non-empty file is complete once size, mtime and inode were unchanged over this many consecutive polls ...
  int stable_polls = 2;
  // ... or at once when `<file><sidecar_suffix>` exists (QXRD writes `x.tif.metadata` after closing x.tif),
  // or at once when it was renamed into the folder (writers publish finished files by rename).
  std::optional<std::string> sidecar_suffix;
  bool use_inotify = true;
  bool include_existing = false;  // deliver files already present at construction
  // Deliver those of them last modified at or after this moment (a resumed run's files from before its restart).
  std::optional<std::chrono::system_clock::time_point> include_existing_since;
  // Consulted once a file is otherwise complete, on the file-work executor; "not yet" keeps it pending and asks
  // again next poll.
  FileValidator validator;
  // A file still pending this long (run seconds) after it was first seen is delivered as timed_out; it stays
  // watched, and if it completes later it is delivered again as complete (or corrupt): a late file.
  std::optional<double> complete_deadline_s;
};

enum class Detection { inotify, poll, existing };
enum class Completion { stable_polls, sidecar, rename, deadline };
enum class FileVerdict { complete, corrupt, timed_out };

struct WatchedFile {
  std::filesystem::path path;
  std::uintmax_t size_bytes = 0;
  std::filesystem::file_time_type mtime;
  std::string fingerprint_sha256;  // SHA-256 of the size and the first and last 64 KiB (whole file if small)
  double first_seen_s = 0;         // RunClock::now_s() when the file (or its latest rewrite) was first seen
  double ready_s = 0;              // RunClock::now_s() when it was declared complete / corrupt / timed out
  Detection detected_by = Detection::poll;
  Completion completed_by = Completion::stable_polls;
  FileVerdict verdict = FileVerdict::complete;
  std::string reason;  // why corrupt or timed out
};

enum class WatchMode { inotify_and_poll, poll_only };

class FolderWatcher {
 public:
  // Throws std::runtime_error when the folder does not exist or cannot be listed, or the filter regex is bad.
  // Files present now are the baseline (ignored unless `include_existing`, or until they change).
  FolderWatcher(asio::any_io_executor loop, asio::any_io_executor file_work, const RunClock& clock,
                FolderWatchSettings settings, std::shared_ptr<spdlog::logger> logger = nullptr);
  ~FolderWatcher();  // stops; pending next() returns nullopt
  FolderWatcher(const FolderWatcher&) = delete;
  FolderWatcher& operator=(const FolderWatcher&) = delete;

  // The next delivered file, in detection order. A completion (complete or corrupt) is delivered at most
  // once per (path, size, mtime, fingerprint); a rewrite with any of those changed is delivered again.
  // Returns nullopt once stopped and drained. One caller at a time.
  awaitable<std::optional<WatchedFile>> next();
  void stop();

  WatchMode mode() const;
  // Why inotify is not in use (empty while it is).
  std::string mode_note() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// SHA-256 (lower-case hex) of a whole file, for callers that dedupe on content across renames and
// rewrites (DHR-3 exports). Throws std::runtime_error naming the file when it cannot be read.
std::string content_sha256(const std::filesystem::path& path);

// SHA-256 (lower-case hex) of the size and the first and last `edge_bytes` of a file (the whole file when
// it is no longer than 2 * edge_bytes): cheap enough for every delivery, sensitive to truncation and appends.
std::string edge_sha256(const std::filesystem::path& path, std::uintmax_t edge_bytes = 64 * 1024);

// Whether `name` (a bare file name) passes a glob or regex filter as in FolderWatchSettings.
bool filter_matches(const std::string& filter, bool is_regex, const std::string& name);

const char* to_string(Detection d);
const char* to_string(Completion c);
const char* to_string(FileVerdict v);

}  // namespace insitu::io
