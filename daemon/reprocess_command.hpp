#pragma once
// `insitu reprocess`: re-runs the frame and run analysis offline.
//   insitu reprocess RUN.h5 [--poni FILE] [--form-factors FILE] [--mask FILE] [--set key=value ...] [-o OUT.h5]
//       raw frames of a run file (/entry/instrument/detector/{data, image_key, sequence_number, start_time,
//       stop_time, dark_median, frame_temperature/T_mean}); without -o a new NXentry /entry_reprocessed_<n> is added
//       to RUN.h5 (raw data untouched), with -o OUT.h5 the analysis goes to OUT.h5:/entry; either way with the names
//       and run-level arrays of a live run (reprocess_output.hpp). Everything else comes from the run file itself: the detector geometry
//       (detector/geometry), the analysis parameters (analysis/parameters), the form-factor coefficients
//       (analysis/form_factors), the background (analysis/background) and the static mask (analysis/mask; a file
//       that counts a mask in mask_pixels but does not store it is refused). --poni and --form-factors replace the
//       stored geometry and coefficients, --composition/--background/--set the recorded parameters; a run file
//       without a geometry or coefficients needs the flag (the error names it). A whole-detector PONI is scaled to
//       binned frames. --mask FILE is OR'ed into the stored mask (it never unmasks the darks' bad pixels).
//   insitu reprocess --frames DIR --poni FILE --temperatures CSV --composition FORMULA [--background FILE]
//       [--dark FILE] [--mask FILE] [--frame-period S] [--set key=value ...] -o OUT.h5
//       TIFF/EDF frames taken elsewhere; the CSV has `file,T_start_K,T_end_K[,time_s]` rows (a header line is
//       allowed); without a time column frame i is at i * frame-period (default 12 s, the paper's exposure).
//       --mask FILE is the static mask (TIFF/EDF, non-zero = masked, the frames' shape). OUT.h5 is a run file: the
//       frames as read, their temperatures and times, the dark, geometry, parameters, form factors and mask, so
//       `insitu reprocess OUT.h5` reproduces it; a failed run leaves no OUT.h5.
// Both modes take --form-factors FILE (DABAX f0_WaasKirf.dat; with --frames it defaults to the table a live run uses,
// form_factor_table_path()) and --workers N; --help prints the usage.
// Prints a short summary (frames, T range, T_g with its 95 % interval) on `out`; errors on `err`; exit code 1 for a
// failed run, 2 for bad arguments.
#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace insitu::daemon {

struct ReprocessOptions {
  std::filesystem::path run_file;  // run-file mode when set
  std::filesystem::path frames_dir, temperatures_csv, dark_file;  // --frames mode
  std::filesystem::path mask_file;  // --mask: the static mask (--frames), or pixels added to the stored one (RUN.h5)
  std::string composition;
  std::filesystem::path poni, background_file, output;  // poni: required with --frames, an override for RUN.h5
  std::filesystem::path form_factor_file;  // --form-factors: DABAX f0_WaasKirf.dat (or --set form_factor_file=)
  std::vector<std::string> overrides;  // key=value, applied in order after the defaults
  double frame_period_s = 12.0;
  std::size_t workers = 0;  // 0: AnalysisPool::default_workers()
};

// Parses the arguments after `reprocess`; throws std::invalid_argument with a usage hint on bad arguments.
ReprocessOptions parse_reprocess_args(const std::vector<std::string>& args);

// Runs it; returns the process exit code (0 ok, 1 error, message on err).
int run_reprocess(const ReprocessOptions& options, std::ostream& out, std::ostream& err);
// Convenience for main.cpp: parse + run.
int run_reprocess(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

struct FrameTemperature {
  std::string file;
  double T_start_K = 0, T_end_K = 0;
  std::optional<double> time_s;
  int line = 0;
};
// The --temperatures CSV; errors name "path:line: why".
std::vector<FrameTemperature> parse_temperature_csv(const std::string& text, const std::string& source_name);

}  // namespace insitu::daemon
