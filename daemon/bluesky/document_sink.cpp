#include "daemon/bluesky/document_sink.hpp"

#include <stdexcept>

namespace insitu::daemon::bluesky {

std::filesystem::path jsonl_path(const std::filesystem::path& run_file) {
  auto path = run_file;
  return path.replace_extension(".documents.jsonl");
}

DocumentSink::DocumentSink(const io::RunClock& clock, RunFileFrames frames, Output output,
                           std::shared_ptr<spdlog::logger> log)
    : composer_(clock, frames), publisher_(output.publisher), log_(std::move(log)) {
  if (!output.jsonl) return;
  jsonl_path_ = jsonl_path(frames.run_file);
  jsonl_.emplace(jsonl_path_);
  if (!*jsonl_) throw std::runtime_error("cannot write " + jsonl_path_.string());
}

void DocumentSink::operator()(const documents::Document& document) {
  const auto composed = composer_.compose(document);
  for (const auto& [name, doc] : composed) {
    const std::string serialized = doc.dump();
    if (publisher_) publisher_->publish(name, serialized);
    if (jsonl_) {
      // A line a document, flushed, so that a reader following the file sees each as it happens.
      *jsonl_ << "[\"" << name << "\", " << serialized << "]\n" << std::flush;
      if (!*jsonl_) {
        // The run file holds the record: losing its event-model copy is worth an error, not the run.
        if (log_) log_->error("bluesky: cannot write {}; its documents stop here", jsonl_path_.string());
        jsonl_.reset();
      }
    }
    ++written_;
  }
  if (std::holds_alternative<documents::RunStop>(document) && log_) {
    if (publisher_)
      log_->info("bluesky: {} event-model documents; on {}: {} sent so far, {} dropped", written_,
                 publisher_->endpoint(), publisher_->sent(), publisher_->dropped());
    else
      log_->info("bluesky: {} event-model documents", written_);
  }
}

}  // namespace insitu::daemon::bluesky
