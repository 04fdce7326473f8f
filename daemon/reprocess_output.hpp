#pragma once
// Where `insitu reprocess` writes, always through the run file's writer modules (daemon/storage), so a reprocessed
// entry and a --frames output carry the names and arrays of a live run:
//   RUN.h5            a new /entry_reprocessed_<n> (NXentry) with analysis (frame_analysis_writer.hpp,
//                     run_analysis_writer.hpp) and the entropy plot; the run's /entry is not touched
//   RUN.h5 -o OUT.h5  OUT.h5:/entry with the analysis
//   --frames -o OUT.h5  OUT.h5 as a run file: run_entry.hpp, the frames as read with their temperatures and times
//                     (detector_layout.hpp), then the analysis; `insitu reprocess OUT.h5` reads it like a run file
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "analysis/pipeline/results.hpp"
#include "daemon/reprocess_command.hpp"
#include "daemon/reprocess_inputs.hpp"
#include "daemon/storage/detector_layout.hpp"
#include "daemon/storage/analysis_layout.hpp"
#include "daemon/storage/h5.hpp"

namespace insitu::daemon {

// The --frames OUT.h5, written as the frames are read; removed unless finish() completes.
class FramesOutput {
 public:
  FramesOutput(const ReprocessOptions& o, const ReprocessInputs& in, const detector::Frame& first);
  FramesOutput(const FramesOutput&) = delete;
  FramesOutput& operator=(const FramesOutput&) = delete;
  ~FramesOutput();

  void write_dark(const std::vector<float>& dark);
  // A frame of another shape or pixel type than the first: std::runtime_error naming the file.
  void append(const detector::Frame& frame, const std::filesystem::path& file, std::uint64_t sequence,
              const FrameTemperature& row, double time_s);
  // The analysis under /entry; closes the file, which is then kept.
  void finish(const storage::AnalysisLayout& layout, const std::vector<analysis::FrameAnalysis>& frames,
              const analysis::RunAnalysis& run);

 private:
  std::filesystem::path path_;
  storage::DetectorLayout layout_;
  std::string start_time_iso_;
  storage::h5::Handle file_;
  std::optional<storage::DetectorWriter> detector_;
  bool kept_ = false;
};

// Writes the analysis into a new entry of RUN.h5 (`output` empty) or into OUT.h5:/entry; returns "FILE:/ENTRY".
std::string write_reprocessed(const ReprocessOptions& o, const storage::AnalysisLayout& layout,
                              const std::vector<analysis::FrameAnalysis>& frames, const analysis::RunAnalysis& run);

// The few lines `insitu reprocess` prints: frames, T range, heating part, T_g with its 95 % interval, where.
void summarise(std::ostream& out, const std::vector<analysis::FrameAnalysis>& frames, const analysis::RunAnalysis& run,
               const std::string& where);

}  // namespace insitu::daemon
