#pragma once
// `insitu export RUN.h5 --format xy|chi|gr [--frames 0-10,15] [--entry E] [-o DIR]`: per-frame results as the text
// files diffraction and PDF programs read, through RunFileReader.
//   xy   Q (1/angstrom), I, sigma: pyFAI's 1-D writer (its `# ` header: calibration, corrections, the frame)
//   chi  2theta (degrees), I, sigma: the same header, pyFAI's default radial unit (needs the run's wavelength)
//   gr   r (angstrom), G (1/angstrom^2): PDFgetX3's layout (`key = value` parameters, `#### start data`, `#L r G`),
//        every header line behind `#`, so numpy.loadtxt reads it as pdfgui does
// Files are named <sample>_frame<NNNNN>_<T>K.<format> in DIR (default: the run file's folder) and never overwrite
// a file. --frames takes sequence numbers and ranges: a range takes the analysed frames in it (darks are skipped),
// a single number must be an analysed frame.
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace insitu::daemon {

struct ExportOptions {
  std::filesystem::path run_file;
  std::string format;                         // xy, chi, gr
  std::optional<std::string> frames;          // "0-10,15"; nullopt: every analysed frame
  std::optional<std::filesystem::path> output_dir;
  std::string entry = "/entry";               // or /entry_reprocessed_<n>
};

// 0 every selected frame written; 1 a frame named alone has no analysis (a dark, a failed or a pending analysis: one
// line each; the others are written); 2 nothing written: not a run file, no analysis, a bad --frames or --format,
// chi without a wavelength, a file that exists, an output folder that cannot be made. Prints one line per file.
int run_export(const ExportOptions& options, std::ostream& out, std::ostream& err);

}  // namespace insitu::daemon
