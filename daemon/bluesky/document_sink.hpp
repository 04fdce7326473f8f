#pragma once
// The run's documents as Bluesky event-model documents: a JSON-lines file beside the run file (one `[name, doc]`
// a line, as bluesky's JSONL serializer writes them) and/or a ZeroMQ publisher shared by the runs of a process.
#include <filesystem>
#include <fstream>
#include <optional>

#include <spdlog/logger.h>

#include "daemon/bluesky/event_model.hpp"
#include "daemon/bluesky/zmq_publisher.hpp"

namespace insitu::daemon::bluesky {

struct Output {
  bool jsonl = false;                  // RUN.documents.jsonl beside run file RUN.h5
  ZmqPublisher* publisher = nullptr;   // owned by the process (insitu run, insitud), outlives its runs
};

// The JSON-lines file of a run file: run.h5 -> run.documents.jsonl.
std::filesystem::path jsonl_path(const std::filesystem::path& run_file);

class DocumentSink {
 public:
  DocumentSink(const io::RunClock& clock, RunFileFrames frames, Output output, std::shared_ptr<spdlog::logger> log);
  void operator()(const documents::Document& document);

 private:
  EventModelComposer composer_;
  std::optional<std::ofstream> jsonl_;
  std::filesystem::path jsonl_path_;
  ZmqPublisher* publisher_;
  std::shared_ptr<spdlog::logger> log_;
  std::uint64_t written_ = 0;
};

}  // namespace insitu::daemon::bluesky
