#include "drivers/dhr3/export_watcher.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace insitu::dhr3 {
namespace {

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read " + path.string());
  return std::move(out).str();
}

// Lines of the decoded text, as TriosError::line() counts them (0 when the bytes do not decode).
std::size_t line_count(std::string_view bytes) {
  try {
    const std::string text = decode_to_utf8(bytes);
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) +
           (!text.empty() && text.back() != '\n' ? 1 : 0);
  } catch (const TriosError&) {
    return 0;
  }
}

}  // namespace

std::string_view to_string(ExportEventKind kind) {
  switch (kind) {
    case ExportEventKind::ingested: return "ingested";
    case ExportEventKind::duplicate: return "duplicate";
    case ExportEventKind::incomplete: return "incomplete";
    case ExportEventKind::malformed: return "malformed";
    case ExportEventKind::rejected: return "rejected";
    case ExportEventKind::unreadable: return "unreadable";
  }
  return "?";
}

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed (OpenSSL EVP_Digest)");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

std::string describe_steps(const std::vector<StepReport>& steps) {
  std::string out;
  for (const auto& s : steps) {
    out += (out.empty() ? "" : "; ") + ("step '" + s.name + "': ");
    if (s.curves > 0) out += std::to_string(s.curves) + (s.curves == 1 ? " curve" : " curves");
    if (s.curves > 0 && !s.note.empty()) out += ", left out: ";
    out += s.note;
  }
  return out;
}

ExportCheck check_export(const std::filesystem::path& path, std::string_view bytes, const ParseOptions& parse,
                         const CurveOptions& curves) {
  ExportCheck check;
  IngestedExport ingested;
  try {
    ingested.data = parse_export(bytes, parse);
  } catch (const TriosError& e) {
    const std::string reason = e.what();
    // The parser says "truncated" when the file ends early: typically TRIOS (or a copy) still writing it.
    // A cut inside the last line's tag ("Data" of "Data point") reads as an unknown line instead, so an
    // error on an unterminated last line counts as incomplete too.
    const bool cut_last_line = !bytes.empty() && bytes.back() != '\n' && e.line() > 0 &&
                               e.line() == line_count(bytes);
    check.kind = reason.find("truncated") != std::string::npos || cut_last_line ? ExportEventKind::incomplete
                                                                                 : ExportEventKind::malformed;
    check.message = path.string() + (e.line() > 0 ? ":" + std::to_string(e.line()) : std::string()) + ": " + reason;
    return check;
  }
  ExportCurves found;
  try {
    found = dma_curves(ingested.data, curves, path.filename().string() + ": ");
  } catch (const std::exception& e) {  // a step the curve builder cannot take (TriosError or worse)
    check.kind = ExportEventKind::malformed;
    check.message = path.string() + ": " + e.what();
    return check;
  }
  ingested.curves = std::move(found.curves);
  ingested.steps = std::move(found.steps);
  ingested.path = path;
  ingested.sha256 = sha256_hex(bytes);
  ingested.text = decode_to_utf8(bytes);
  const std::string sample = ingested.data.meta.sample.empty() ? "no sample name" : "sample '" + ingested.data.meta.sample + "'";
  if (ingested.curves.empty()) {
    check.kind = ExportEventKind::rejected;
    check.message = path.string() + ": no DMA curve (" + sample + "): " + describe_steps(ingested.steps);
  } else {
    check.kind = ExportEventKind::ingested;
    check.message = path.string() + ": " + std::string(to_string(ingested.data.layout)) + " export, " + sample + ", " +
                    std::to_string(ingested.curves.size()) + " curves: " + describe_steps(ingested.steps);
  }
  check.result = std::move(ingested);
  return check;
}

namespace {
io::FolderWatchSettings folder_settings(const ExportWatcherSettings& s) {
  io::FolderWatchSettings f;
  f.folder = s.folder;
  f.filter = s.filter;
  f.poll_interval_s = s.poll_interval_s;
  f.stable_polls = s.stable_polls;
  f.include_existing = s.include_existing;
  f.include_existing_since = s.include_existing_since;
  f.use_inotify = s.use_inotify;
  return f;
}
}  // namespace

ExportWatcher::ExportWatcher(asio::any_io_executor loop, asio::any_io_executor file_work, const io::RunClock& clock,
                             ExportWatcherSettings settings, std::shared_ptr<spdlog::logger> logger)
    : file_work_(file_work),
      clock_(clock),
      settings_(std::move(settings)),
      logger_(logger ? std::move(logger) : spdlog::default_logger()),
      watcher_(std::move(loop), std::move(file_work), clock, folder_settings(settings_), logger_) {}

// One export's bytes, read, hashed and parsed off the loop.
struct ReadExport {
  std::string unreadable;  // why it could not be read; the rest is empty then
  std::string sha256;
  ExportCheck check;
};

namespace {
ReadExport read_export(const std::filesystem::path& path, const ParseOptions& parse, const CurveOptions& curves) {
  ReadExport read;
  std::string bytes;
  try {
    bytes = read_bytes(path);
  } catch (const std::exception& e) {
    read.unreadable = e.what();
    return read;
  }
  read.sha256 = sha256_hex(bytes);
  read.check = check_export(path, bytes, parse, curves);
  return read;
}
}  // namespace

awaitable<void> ExportWatcher::run() {
  const auto alive = alive_;
  // One bad file is an event, never the end of the watch: later exports are still taken in.
  while (auto file = co_await watcher_.next()) {
    // On the heap: a ReadExport in the coroutine frame makes GCC 12 report Asio's frame allocator as
    // -Wmismatched-new-delete (as in daemon/api/http_session.cpp).
    auto task = [path = file->path, parse = settings_.parse,
                 curves = settings_.curves]() -> awaitable<std::unique_ptr<ReadExport>> {
      co_return std::make_unique<ReadExport>(read_export(path, parse, curves));
    };
    std::unique_ptr<ReadExport> read;
    std::string failure;
    try {
      read = co_await asio::co_spawn(file_work_, task(), asio::use_awaitable);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!*alive) break;  // the watcher went while the file was read: nothing of it is touched
    try {
      if (read) take(file->path, std::move(*read));
      else emit(ExportEventKind::malformed, file->path.string() + ": " + failure);
    } catch (const std::exception& e) {
      emit(ExportEventKind::malformed, file->path.string() + ": " + e.what());
    }
  }
}

ExportWatcher::~ExportWatcher() { *alive_ = false; }

void ExportWatcher::stop() { watcher_.stop(); }

// Logged here only when no run listens: a run logs the events it is handed with the rest of its documents.
void ExportWatcher::emit(ExportEventKind kind, const std::string& message) {
  if (on_event_) on_event_(kind, message);
  else if (kind == ExportEventKind::ingested) logger_->info("DMA export {}", message);
  else logger_->warn("DMA export {}: {}", to_string(kind), message);
}

void ExportWatcher::take(const std::filesystem::path& path, ReadExport read) {
  if (!read.unreadable.empty()) {
    emit(ExportEventKind::unreadable, read.unreadable);
    return;
  }
  // Content, not name or mtime, decides: a re-save or a copy of an ingested export is not ingested again.
  if (seen_sha256_.contains(read.sha256)) {
    std::string first;
    for (const auto& e : ingested_)
      if (e.sha256 == read.sha256) first = e.path.string();
    emit(ExportEventKind::duplicate,
         path.string() + ": same content as " + first + " (sha256 " + read.sha256 + ")");
    return;
  }
  auto& check = read.check;
  if (check.kind != ExportEventKind::ingested) {
    emit(check.kind, check.message);
    return;
  }
  check.result->ingested_s = clock_.now_s();
  seen_sha256_.insert(read.sha256);
  ingested_.push_back(std::move(*check.result));
  emit(ExportEventKind::ingested, check.message);
  if (on_ingested_) on_ingested_(ingested_.back());
}

}  // namespace insitu::dhr3
