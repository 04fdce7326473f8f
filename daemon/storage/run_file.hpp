#pragma once
// One NeXus/HDF5 file per run, written with SWMR so that silx/h5py can follow it live and a crash
// loses at most the records since the last flush. All HDF5 calls run on one writer thread owned by
// the RunFile (the HDF5 library serialises on a global lock and filters run in the calling thread);
// callers, i.e. the Asio loop, only enqueue.
//
// Layout (all built before SWMR starts; SWMR forbids creating objects later), one writer module per stream:
//   run_entry.hpp               /, entry (title, start_time, program_name), recipe, sample, instrument
//   temperature_log_writer.hpp  entry/sample/temperature_log, entry/temperature (the default plot without frames)
//   event_writer.hpp            entry/events
//   detector_layout.hpp         (with a detector layout) entry/instrument/detector, monochromator, entry/data
//   analysis_layout.hpp         (with an analysis layout) entry/analysis (per frame and run level), entry/entropy
// Names, paths and units: schema.hpp. Each stream's commit marker (`time`, `sequence_number`, run/`temperature`) is
// written and flushed last: readers trust rows below its length (run_file_reader.hpp does).
//
// The end of the run (finish): SWMR ends by closing; the file is reopened in regular mode (file_lock.hpp: readers
// holding it do not keep the end out) for end_time, duration and exit_status (never earlier: silx takes an end_time
// as "complete"), then what creates objects: the final analysis parameters and the at_finish writers (the DMA
// entry). A part that cannot be written is named in exit_status ("<status>; run file incomplete: <why>") when the
// file can still take it, and always in error() and finish()'s result.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "daemon/storage/analysis_layout.hpp"
#include "daemon/storage/detector_layout.hpp"
#include "daemon/storage/event_writer.hpp"
#include "daemon/storage/h5.hpp"
#include "daemon/storage/resumed_records.hpp"
#include "daemon/storage/run_entry.hpp"
#include "daemon/storage/temperature_log_writer.hpp"

namespace insitu::storage {

// RunMetadata (run_entry.hpp), TemperatureSample (temperature_log_writer.hpp), RunEvent (event_writer.hpp).

struct RunFileOptions {
  double flush_interval_s = 10.0;  // run time
  // How long finish() waits for another writer to let go of the file (readers never hold it up: file_lock.hpp).
  double finish_deadline_s = 10.0;
};

struct RunFileLayout {
  std::optional<DetectorLayout> detector = std::nullopt;
  std::optional<AnalysisLayout> analysis = std::nullopt;
};

// Counters of the writer thread, for status displays and tests.
struct RunFileStats {
  std::uint64_t samples_committed = 0;  // temperature records flushed (visible to readers, crash-safe)
  std::uint64_t sample_flushes = 0;  // commits of the temperature log
  std::uint64_t events_committed = 0;
  std::uint64_t frames_committed = 0;    // exposure records (with their pixels) visible to readers
  std::uint64_t analysis_rows_committed = 0;
  std::uint64_t analysis_updates = 0;    // run-level rewrites
  std::uint64_t dropped = 0;  // records refused after an error or after finish()
};

class RunFile {
 public:
  // Builds the whole layout, then starts SWMR. Throws h5::Error / std::runtime_error on failure (before the run).
  // Invalid layouts and unavailable explicit frame filters throw here too.
  static std::unique_ptr<RunFile> create(const std::filesystem::path& file, const RunMetadata&, RunFileOptions = {},
                                         RunFileLayout = {});
  // Takes up the file of a run whose writer was killed, without losing a committed record: clears the killed
  // writer's marks (killed_file.hpp), cuts uncommitted rows back to each stream's commit marker (a frame or an
  // analysis row torn by the kill is dropped whole), adds `resumption` as a row of entry/resumptions (the gap: the
  // last committed record's time, the resume time, the 1-based segment) when given, then appends in SWMR mode again
  // (or only finishes: a run closed as interrupted). `layout` is the resumed run's: its detector and analysis must
  // be the file's (std::runtime_error otherwise); an empty layout takes up the stage streams only.
  struct ResumptionRow {
    double resume_time_s;
    std::size_t segment;  // 1-based
  };
  static std::unique_ptr<RunFile> reopen(const std::filesystem::path& file, const RunMetadata&,
                                         std::optional<ResumptionRow> resumption, RunFileOptions = {},
                                         RunFileLayout layout = {});
  // What the records committed before the reopen hold (nothing for a created file).
  const ResumedRecords& resumed() const { return resumed_; }
  // The latest time among the records committed before the reopen (0 for a created file).
  double last_committed_s() const { return resumed_.last_committed_s; }
  ~RunFile();  // finishes with status "aborted" if finish() was not called

  RunFile(const RunFile&) = delete;
  RunFile& operator=(const RunFile&) = delete;

  // Thread-safe enqueue; flushed when the record's time_s is >= flush_interval_s past the last flush.
  void append(const TemperatureSample&);
  // Events are flushed promptly (they are rare and important), with the samples queued before them.
  void append(const RunEvent&);
  // One exposure and its pixels (H*W native-endian uint16/uint32, row-major; empty when the frame is missing or
  // frames are not stored), committed promptly with sequence_number last. Throws std::logic_error without a
  // detector layout, std::invalid_argument when the pixels are not one frame.
  void append(const detector::ExposureRecord&, std::span<const std::uint8_t> raw_pixels);
  // Pre-created [H,W] datasets of the detector layout, written (again) when known.
  void set_pixel_mask(std::vector<std::uint32_t> mask);
  void set_dark_median(std::vector<float> dark);
  // The analysis layout's static mask (analysis/mask), written (again) when it changes; its masked-pixel count
  // replaces parameters/mask_pixels at finish (parameters cannot be rewritten under SWMR). std::logic_error
  // without an analysis mask in the layout, std::invalid_argument when it is not one frame.
  void set_analysis_mask(std::vector<std::uint8_t> mask);
  // A file in the frame folder that belongs to no frame (detector/orphan_files). Acquisition knows its orphans
  // only when it ends, so a killed run has none listed.
  void append_orphan_file(std::string path);
  // One analysed frame; throws std::logic_error without an analysis layout, std::invalid_argument when the
  // curves do not match the layout's axes.
  void append(const analysis::FrameAnalysis&);
  // Replaces the run-level results (only the latest of several queued updates is written).
  void update(const analysis::RunAnalysis&);
  // `writer` runs on the writer thread after SWMR has ended and the file is reopened in regular mode (it may
  // create objects), after end_time/duration/exit_status. Register before finish(); errors go to error().
  void at_finish(std::function<void(const h5::Handle& file)> writer);
  // Holds `bytes` more of the disk for the end of the run (what an at_finish writer will write), beside the 1 MiB
  // held from the start. False when the disk has no more room: the end may then be lost, and finish() says what.
  bool reserve_for_finish(std::uint64_t bytes);
  // The frame filter chosen at create (nullopt without a detector layout).
  std::optional<h5::Filter> frame_filter() const;
  // Drains the queue, ends SWMR (close), reopens in regular mode for the at_finish writers and end_time, duration,
  // exit_status; joins the thread. Returns true when everything the run handed over is in the file, false when any
  // part was lost (error() says what). Later calls do nothing and return the same.
  bool finish(double end_time_s, const std::string& exit_status);
  // First writer-thread error (e.g. disk full), if any; later appends are dropped and counted.
  std::optional<std::string> error() const;
  RunFileStats stats() const;
  const std::filesystem::path& path() const;

 private:
  struct Finish {
    double end_time_s;
    std::string exit_status;
  };
  struct Frame {
    detector::ExposureRecord record;
    std::vector<std::uint8_t> pixels;
  };
  struct PixelMask {
    std::vector<std::uint32_t> mask;
  };
  struct DarkMedian {
    std::vector<float> dark;
  };
  struct AnalysisMask {
    std::vector<std::uint8_t> mask;
  };
  struct OrphanFile {
    std::string path;
  };
  using Item = std::variant<TemperatureSample, RunEvent, Frame, PixelMask, DarkMedian, AnalysisMask, OrphanFile,
                            analysis::FrameAnalysis, analysis::RunAnalysis, Finish>;
  struct Writer;

  RunFile(std::filesystem::path file, RunMetadata metadata, RunFileOptions options, RunFileLayout layout);
  void enqueue(Item item);
  static std::unique_ptr<RunFile> start_writer(std::unique_ptr<RunFile> run, std::function<void(RunFile&)> build);
  void run_writer();
  void write(Item& item);  // one record on the writer thread
  void commit(bool all);
  void end_run(const Finish& finish);
  void fail(const std::string& message);

  std::filesystem::path path_;
  RunMetadata metadata_;
  RunFileOptions options_;
  RunFileLayout layout_;
  std::optional<h5::Filter> frame_filter_;
  ResumedRecords resumed_;
  std::unique_ptr<Writer> writer_;  // HDF5 state; touched only by the writer thread after create()
  std::filesystem::path end_reserve_;  // room held on the file's disk for the end of the run; empty: none

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  std::size_t queued_bytes_ = 0;  // frame pixels in the queue
  std::vector<std::function<void(const h5::Handle&)>> finish_writers_;
  bool finishing_ = false;
  double last_time_s_ = 0.0;  // latest record time, for the end_time of an aborted run
  std::optional<std::string> error_;
  RunFileStats stats_;
  std::thread thread_;
};

}  // namespace insitu::storage
