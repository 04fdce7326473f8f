#pragma once
// What an analysis NXprocess records and the writer of a whole one: per frame (frame_analysis_writer.hpp) and run
// level (run_analysis_writer.hpp). The live run file, `insitu reprocess RUN.h5` (a new /entry_reprocessed_<n>) and
// `insitu reprocess --frames` / `-o OUT.h5` (/entry) all write it through AnalysisWriter, so their names and arrays
// are the same. Parameters, form factors, background, mask and the detector geometry (detector_layout.hpp) are all
// `insitu reprocess` needs besides the frames: a run file reprocesses identically wherever it is copied.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "analysis/pdf/form_factors.hpp"
#include "analysis/pipeline/results.hpp"
#include "daemon/storage/h5.hpp"
#include "daemon/storage/run_analysis_writer.hpp"  // write_parameters

namespace insitu::storage {

struct AnalysisLayout {
  analysis::AnalysisAxes axes;
  std::map<std::string, std::string> parameters;
  // The coefficients of the composition's elements as the analysis uses them (empty: not recorded) and the table
  // they came from.
  std::vector<std::pair<std::string, analysis::WaasKirfCoefficients>> form_factors = {};
  std::string form_factor_source = {};
  std::string background_text = {}, background_file_name = {};  // the background I(Q) file verbatim ("" = none)
  // mask_height 0: no mask dataset. `mask`: its content at create (empty: nothing masked); write_mask replaces it.
  std::size_t mask_height = 0, mask_width = 0;
  std::vector<std::uint8_t> mask = {};
};

// Throws std::invalid_argument when a per-frame vector does not match the layout's axes.
void check_frame_analysis(const AnalysisLayout&, const analysis::FrameAnalysis&);

struct ProcessInfo {
  std::string program = "insitu", version, date_iso;  // date: when the analysis was made
  std::string source = {};                           // what a reprocessing read ("" for a live run)
};

// Writes the layout's form_factors and background groups (those it has) under the NXprocess `proc`.
void write_analysis_inputs(const h5::Handle& proc, const AnalysisLayout& layout);

class FrameAnalysisWriter;
class RunAnalysisWriter;

// The analysis NXprocess of one entry, per frame and run level. One writer thread owns it.
class AnalysisWriter {
 public:
  AnalysisWriter(const h5::Handle& file, const std::string& entry_path, const AnalysisLayout& layout,
                 const ProcessInfo& process);
  // The analysis a killed writer left (regular mode, before SWMR starts again): per-frame rows cut back to their
  // commit marker (FrameAnalysisWriter::reopen), the run level opened for the next update.
  static AnalysisWriter reopen(const h5::Handle& file, const std::string& entry_path, const AnalysisLayout& layout);
  AnalysisWriter(AnalysisWriter&&) noexcept;
  ~AnalysisWriter();

  void append(const analysis::FrameAnalysis& frame);  // sequence_number last; every dataset flushed
  void update(const analysis::RunAnalysis& run);      // all run-level rows replaced; temperature last
  // Rewrites analysis/mask (allowed under SWMR); throws std::invalid_argument when it is not mask_height x width.
  void write_mask(std::span<const std::uint8_t> mask);
  std::uint64_t frames() const { return frames_; }
  void close();  // closes every dataset, throwing on failure

 private:
  AnalysisWriter() = default;
  std::unique_ptr<FrameAnalysisWriter> frames_writer_;
  std::unique_ptr<RunAnalysisWriter> run_writer_;
  std::uint64_t frames_ = 0;
};

// Writes the closed analysis group of `entry_path` under `file` as reprocessing produces it: every frame, then the
// run level and its parameters (regular mode).
void write_analysis(const h5::Handle& file, const std::string& entry_path, const AnalysisLayout& layout,
                    const ProcessInfo& process, const std::vector<analysis::FrameAnalysis>& frames,
                    const analysis::RunAnalysis& run);

}  // namespace insitu::storage
