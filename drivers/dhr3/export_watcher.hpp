#pragma once
// Ingests TRIOS exports (DHR-3 DMA sweeps) from the export folder named in the recipe: the DHR-3 has no
// public live interface (dhr3.md §3, §6.7), so the operator saves "Export to LIMS"/text/JSON files there.
// A file is ingested once it is complete (size-stable per io::FolderWatcher, then parses cleanly with
// dhr3::parse_export) and never twice: identical content (sha256 of the bytes), whether re-saved or copied
// under another name, is reported as a duplicate. A truncated or malformed file is reported (file, line,
// reason) and watched on: a later complete version of it is ingested. It watches and parses only: each export
// is handed out with its DMA curves (dhr3::dma_curves), and the consumer pools and fits them (analysis/dma). Its
// state lives on the loop; each export is read, hashed and parsed on the file-work executor.
#include <cstddef>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/dma/sweep.hpp"
#include "drivers/dhr3/sweep.hpp"
#include "drivers/dhr3/trios.hpp"
#include "drivers/io/asio.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/io/folder_watcher.hpp"

namespace spdlog {
class logger;
}

namespace insitu::dhr3 {

struct IngestedExport {
  std::filesystem::path path;
  std::string sha256;  // of the file's bytes, lower-case hex
  std::string text;    // the export decoded to UTF-8 (what is archived)
  Export data;
  std::vector<dma::SegmentCurve> curves;  // dma_curves(data): every frequency and heating/cooling segment, in SI
  std::vector<StepReport> steps;          // every step: used, or why not
  double ingested_s = 0.0;  // RunClock::now_s()
};

enum class ExportEventKind {
  ingested,    // parsed, with a DMA sweep (on_ingested follows)
  duplicate,   // same content as an export already ingested
  incomplete,  // parse error that looks like a file still being written ("truncated file"); watched on
  malformed,   // any other parse error; watched on (a corrected save is ingested)
  rejected,    // parses, but no step gives a DMA curve (each step's reason in the message)
  unreadable,  // I/O error reading the file
};
std::string_view to_string(ExportEventKind kind);

struct ExportWatcherSettings {
  std::filesystem::path folder;
  std::string filter = "*";  // glob on the file name, as io::FolderWatchSettings::filter
  double poll_interval_s = 0.5;  // run seconds
  int stable_polls = 2;
  bool include_existing = false;  // ingest exports already in the folder at start
  std::optional<std::chrono::system_clock::time_point> include_existing_since;  // ... those saved since then
  bool use_inotify = true;
  ParseOptions parse;
  CurveOptions curves;
};

// The outcome for one file's bytes. Pure (no I/O): the watcher and `insitu dma` share it.
struct ExportCheck {
  ExportEventKind kind = ExportEventKind::ingested;
  std::string message;                  // "<file>:<line>: <reason>" for parse errors
  // Set when kind is ingested, or rejected (parsed, with the step reports and no curve).
  std::optional<IngestedExport> result;
};
ExportCheck check_export(const std::filesystem::path& path, std::string_view bytes, const ParseOptions& parse,
                         const CurveOptions& curves);

// "step 'A': 7 curves; step 'B': not a temperature sweep: …" for messages.
std::string describe_steps(const std::vector<StepReport>& steps);

// SHA-256 of bytes as lower-case hex.
std::string sha256_hex(std::string_view bytes);

struct ReadExport;

class ExportWatcher {
 public:
  using IngestedHandler = std::function<void(const IngestedExport&)>;
  using EventHandler = std::function<void(ExportEventKind, const std::string& message)>;

  // Throws std::runtime_error when the folder does not exist (from io::FolderWatcher).
  ExportWatcher(asio::any_io_executor loop, asio::any_io_executor file_work, const io::RunClock& clock,
                ExportWatcherSettings settings, std::shared_ptr<spdlog::logger> logger = nullptr);
  ~ExportWatcher();  // a run() still reading a file returns without touching it
  ExportWatcher(const ExportWatcher&) = delete;
  ExportWatcher& operator=(const ExportWatcher&) = delete;

  // Called on the loop; set before run().
  void on_ingested(IngestedHandler handler) { on_ingested_ = std::move(handler); }
  void on_event(EventHandler handler) { on_event_ = std::move(handler); }

  // Delivers files until stop(), then those already complete, each read and parsed on the file-work executor. One
  // run() at a time.
  awaitable<void> run();
  void stop();

  // Everything ingested so far, in order (for the end-of-run writer).
  const std::vector<IngestedExport>& ingested() const { return ingested_; }
  io::WatchMode mode() const { return watcher_.mode(); }

 private:
  void take(const std::filesystem::path& path, ReadExport read);
  void emit(ExportEventKind kind, const std::string& message);

  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  asio::any_io_executor file_work_;
  const io::RunClock& clock_;
  ExportWatcherSettings settings_;
  std::shared_ptr<spdlog::logger> logger_;
  io::FolderWatcher watcher_;
  std::set<std::string> seen_sha256_;
  std::vector<IngestedExport> ingested_;
  IngestedHandler on_ingested_;
  EventHandler on_event_;
};

}  // namespace insitu::dhr3
