#pragma once
// Every fact of a run as one typed document, shaped on Bluesky's event model: a start, one descriptor per stream,
// events in those streams, stream resources/datums for the frames the run file stores, and a stop. A Run emits
// them on its loop; sinks (run file, console, log, and later the API, notifications, Bluesky export) subscribe.
// The types know nothing of HDF5 or Asio.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "analysis/pipeline/results.hpp"
#include "drivers/detector/exposure.hpp"
#include "drivers/detector/frame_files.hpp"
#include "drivers/io/run_events.hpp"

namespace insitu::dhr3 {
struct IngestedExport;
}

namespace insitu::documents {

enum class Stream { stage, frames, frame_analysis, run_analysis, dma, events };
std::string_view to_string(Stream);

// How a run ended. completed: the whole program ran; completed_with_deviations: it ran, but the stage was off the
// programme by more than the recipe's tolerance for longer than its allowance (RunStop::deviations says when), or a
// recipe suspender paused it (the reason names them);
// aborted: an operator or signal stopped it; failed: the instruments or the program could not go on;
// incomplete_record: the run went through but part of what it took could not be written (a full disk, a writer error).
enum class ExitStatus { completed, completed_with_deviations, aborted, failed, incomplete_record };
std::string_view to_string(ExitStatus);

struct Sample {
  std::string name, composition, treatment, description;
};

struct Instruments {
  std::string stage_model, stage_connection, trigger_connection, frames_folder, dma_folder;
  bool simulated = false;
  double clock_speed = 1.0;
};

struct RunStart {
  std::string uid;
  double time_unix_s = 0;      // wall time of run time 0
  std::string start_time_iso;  // UTC ISO 8601 of run time 0
  std::string recipe_name, recipe_path, recipe_text;
  Sample sample;
  Instruments instruments;
  std::string program_version;
};

// One measured quantity of a stream, as Bluesky's data_keys describe it.
struct DataKey {
  std::string name, dtype, units, source;
  std::vector<std::size_t> shape;  // empty: a scalar
};

struct Descriptor {
  Stream stream;
  std::vector<DataKey> keys;
};

struct StageReading {
  double time_s;
  double time_uncertainty_s;  // the reading was taken within time_s +- this
  double temperature_K;
  double setpoint_K;                 // the programmed temperature at time_s; NaN while no program drives the stage
  std::uint8_t status, error, pump;  // raw T95 SB1, EB1, PB1 bytes
};

struct RunEvent {
  double time_s;
  io::EventKind kind;
  std::string message;
};

// Where the frames are stored: the run file's detector stack, one resource for the whole run.
struct StreamResource {
  std::string uid;
  std::string spec = "NXdetector";  // frames as /entry/instrument/detector/data[N,H,W]
  std::size_t height = 0, width = 0;
};

// One exposure: its record, and its pixels when the file was read (null for a missing or unreadable frame).
struct FrameEvent {
  detector::ExposureRecord record;
  std::shared_ptr<const detector::Frame> pixels;
};

// Frame `index` of the resource holds exposure `sequence`.
struct StreamDatum {
  std::string resource_uid;
  std::uint64_t sequence = 0;
};

// The darks before the series combined: their per-pixel median and bad-pixel mask (NXdetector pixel_mask bits).
struct DarkCombination {
  std::shared_ptr<const std::vector<float>> median;
  std::shared_ptr<const std::vector<std::uint32_t>> pixel_mask;
  std::size_t frames = 0;
};

// The static mask the analysis integrates with from now on (non-zero = masked).
struct AnalysisMask {
  std::shared_ptr<const std::vector<std::uint8_t>> mask;
};

struct FrameAnalysisEvent {
  analysis::FrameAnalysis analysis;
};

struct RunAnalysisEvent {
  analysis::RunAnalysis analysis;
  bool final = false;  // the run's last word
};

// A file in the frame folder that belongs to no frame.
struct OrphanFile {
  std::string path;
};

// A DMA export the run's watcher took in (the run file records it with its fits).
struct DmaExport {
  std::shared_ptr<const dhr3::IngestedExport> data;
};

// A stretch of run time the stage spent off the programme for longer than the recipe allows.
struct Deviation {
  double start_s = 0, end_s = 0;
  double max_deviation_K = 0;  // largest |T - setpoint|
};

struct RunStop {
  double time_s = 0;
  ExitStatus exit_status = ExitStatus::completed;
  std::string reason;
  std::uint64_t readings = 0, events = 0, frames = 0, analysed_frames = 0;
  std::vector<Deviation> deviations;  // in time order; recorded whatever the exit status
};

using Document =
    std::variant<RunStart, Descriptor, StageReading, RunEvent, StreamResource, FrameEvent, StreamDatum, DarkCombination,
                 AnalysisMask, FrameAnalysisEvent, RunAnalysisEvent, OrphanFile, DmaExport, RunStop>;

using Sink = std::function<void(const Document&)>;

// Hands each document to every subscribed sink, in subscription order, on the caller's (the loop's) thread.
// A sink that throws is reported through the failure handler and never stops the others.
class Dispatcher {
 public:
  void subscribe(Sink sink) { sinks_.push_back(std::move(sink)); }
  void on_sink_failure(std::function<void(const std::string&)> handler) { on_failure_ = std::move(handler); }
  void emit(const Document& document) const;

 private:
  std::vector<Sink> sinks_;
  std::function<void(const std::string&)> on_failure_;
};

// The descriptors of a run's streams, from what the run records.
Descriptor stage_descriptor();
Descriptor events_descriptor();
Descriptor frames_descriptor(std::size_t height, std::size_t width);
Descriptor frame_analysis_descriptor();
Descriptor run_analysis_descriptor();
Descriptor dma_descriptor();

// A random UUID (version 4) for start and resource documents.
std::string new_uid();

}  // namespace insitu::documents
