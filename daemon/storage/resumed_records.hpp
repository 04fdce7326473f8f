#pragma once
// What the part of a run before its process died left in the run file, read when the file is taken up again
// (RunFile::reopen, after the torn rows are cut): where frame numbering goes on, the darks the data frames are
// corrected with, and the per-frame analysis rows the run-level analysis starts from.
#include <cstdint>
#include <optional>
#include <vector>

#include "daemon/storage/h5.hpp"

namespace insitu::storage {

struct ResumedRecords {
  double last_committed_s = 0;  // the latest time among the committed readings, events and exposure windows
  std::uint64_t frames = 0;     // committed exposure records (darks, data, missing)
  std::optional<std::uint64_t> last_frame_sequence;
  std::vector<float> dark_median;  // H*W; empty: the darks' median was never written (or no detector)
  std::vector<std::uint32_t> pixel_mask;  // H*W, written with the dark median
  struct AnalysedFrame {
    std::uint64_t sequence;
    double time_s;  // mid-exposure (run time), as the run-level analysis takes it
    double temperature_K, s_eq_J_per_mol_K;
  };
  std::vector<AnalysedFrame> analysed;  // in the file's order (frame order)
  // Data frames committed after the last analysed one (their analysis was in flight at the kill), with their
  // stored pixels (empty when the run does not store frames), for the resumed run to analyse.
  struct UnanalysedFrame {
    std::uint64_t sequence;
    double start_s, stop_s;
    double mean_K;  // the stage sensor's, as the exposure record has it
    std::vector<float> pixels;
  };
  std::vector<UnanalysedFrame> unanalysed_data_frames;
};

// From `entry` (an open /entry in any mode) whose streams are aligned to their commit markers.
ResumedRecords read_resumed_records(const h5::Handle& entry);

}  // namespace insitu::storage
