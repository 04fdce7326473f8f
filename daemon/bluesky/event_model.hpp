#pragma once
// A run's documents as Bluesky event-model documents (the schemas of bluesky/event-model): `start`, a `descriptor`
// per stream (sent before the stream's first event, so that array shapes are those of the data), `event`s of the
// stage, events, frames, frame_analysis, run_analysis and dma streams, `stream_resource` / `stream_datum` that point
// into the run file's frame stack, and `stop`. The darks' median, the masks and orphan files stay in the run file.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/io/clock.hpp"
#include "protocols/run/documents.hpp"

namespace insitu::daemon::bluesky {

struct NamedDocument {
  std::string name;  // start, descriptor, event, stream_resource, stream_datum, stop
  nlohmann::json doc;
};

struct RunFileFrames {
  std::filesystem::path run_file;  // absolute
  bool stored = false;             // the run file keeps the pixels (else no resource and no datums)
};

class EventModelComposer {
 public:
  EventModelComposer(const io::RunClock& clock, RunFileFrames frames);

  // The event-model documents one insitu document becomes (none for what the run file alone keeps).
  std::vector<NamedDocument> compose(const documents::Document& document);

 private:
  struct StreamState {
    documents::Descriptor descriptor;
    std::string uid;  // empty until the descriptor is sent
    std::uint64_t events = 0;
  };

  double unix_time(double run_time_s) const { return start_unix_s_ + run_time_s; }
  double now() const;
  void event(std::vector<NamedDocument>& out, documents::Stream stream, double time, nlohmann::json data);
  nlohmann::json descriptor_doc(StreamState& state, const nlohmann::json& first_data, double time);
  std::vector<NamedDocument> start(const documents::RunStart& s);
  std::vector<NamedDocument> stream_resource(const documents::StreamResource& r);
  std::vector<NamedDocument> stream_datum(const documents::StreamDatum& d);
  std::vector<NamedDocument> stop(const documents::RunStop& s);

  const io::RunClock& clock_;
  RunFileFrames frames_;
  std::string start_uid_;
  double start_unix_s_ = 0;
  std::map<documents::Stream, StreamState> streams_;
  std::unordered_map<std::uint64_t, std::uint64_t> frame_seq_num_;  // exposure sequence -> frames event seq_num
  std::optional<std::string> resource_uid_;
  std::uint64_t datums_ = 0;
};

// Bluesky's exit_status for insitu's: success, abort or fail.
std::string_view exit_status(documents::ExitStatus status);

}  // namespace insitu::daemon::bluesky
