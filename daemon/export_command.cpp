#include "daemon/export_command.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <numbers>
#include <ostream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "daemon/storage/run_file_reader.hpp"

namespace insitu::daemon {
namespace {

namespace fs = std::filesystem;
using storage::RunFileReader;

// A refusal before anything is written: exit 2.
struct Refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FrameRange {
  std::uint64_t first, last;
  bool single;
};

std::uint64_t frame_number(const std::string& list, const std::string& word) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (word.empty() || ec != std::errc() || end != word.data() + word.size())
    throw Refused(fmt::format("--frames '{}': '{}' is not a frame number", list, word));
  return v;
}

// "0-10,15" -> {0..10 range, 15 single}.
std::vector<FrameRange> parse_frames(const std::string& list) {
  std::vector<FrameRange> out;
  std::size_t at = 0;
  while (at <= list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, comma - at);
    const std::size_t dash = item.find('-');
    if (dash == std::string::npos) {
      const auto n = frame_number(list, item);
      out.push_back({n, n, true});
    } else {
      const auto first = frame_number(list, item.substr(0, dash)), last = frame_number(list, item.substr(dash + 1));
      if (last < first) throw Refused(fmt::format("--frames '{}': the range {} runs backwards", list, item));
      out.push_back({first, last, false});
    }
    at = comma + 1;
  }
  return out;
}

// Why a frame named alone has no analysis row.
std::string missing_reason(const std::optional<storage::FrameRecords>& frames, std::uint64_t sequence) {
  if (frames)
    for (std::size_t i = 0; i < frames->rows(); ++i)
      if (frames->sequence[i] == sequence)
        return frames->image_key[i] == 2 ? "is a dark frame, which is not analysed"
                                         : "has no analysis (it failed, or the run has not analysed it yet)";
  return "is not in the run";
}

struct Selection {
  std::vector<std::size_t> rows;  // analysis rows, in sequence order
  std::vector<std::string> problems;
};

Selection select_rows(const RunFileReader& reader, const storage::AnalysisRecord& a,
                      const std::optional<std::string>& list) {
  Selection out;
  if (!list) {
    for (std::size_t i = 0; i < a.sequence.size(); ++i) out.rows.push_back(i);
    return out;
  }
  const auto frames = reader.frames();
  for (const auto& range : parse_frames(*list)) {
    const std::size_t before = out.rows.size();
    for (std::size_t i = 0; i < a.sequence.size(); ++i)
      if (a.sequence[i] >= range.first && a.sequence[i] <= range.last) out.rows.push_back(i);
    if (out.rows.size() > before) continue;
    if (range.single)
      out.problems.push_back(fmt::format("frame {} {}", range.first, missing_reason(frames, range.first)));
    else
      throw Refused(fmt::format("--frames {}-{}: no analysed frame in the range", range.first, range.last));
  }
  std::sort(out.rows.begin(), out.rows.end());
  out.rows.erase(std::unique(out.rows.begin(), out.rows.end()), out.rows.end());
  return out;
}

std::string file_stem(const RunFileReader& reader) {
  std::string name = reader.sample().name;
  if (name.empty()) name = reader.path().stem().string();
  for (char& c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  return name;
}

std::string parameter(const std::map<std::string, std::string>& p, const std::string& key) {
  const auto it = p.find(key);
  return it == p.end() ? "None" : it->second;
}

struct FrameContext {
  const RunFileReader& reader;
  const storage::AnalysisRecord& analysis;
  const std::optional<analysis::Geometry>& geometry;
  std::string entry;
};

// pyFAI's 1-D header (DefaultAiWriter.make_headers with the geometry's calibration block), then the frame.
std::string pyfai_header(const FrameContext& c, std::size_t row, const fs::path& file) {
  std::vector<std::string> lines;
  if (const auto& g = c.geometry) {
    lines = {"== pyFAI calibration ==",
             fmt::format("Distance Sample to Detector: {} m", g->distance_m),
             fmt::format("PONI: {:.3e}, {:.3e} m", g->poni1_m, g->poni2_m),
             fmt::format("Rotations: {:.6f} {:.6f} {:.6f} rad", g->rot1_rad, g->rot2_rad, g->rot3_rad),
             "",
             fmt::format("Detector {}\t PixelSize= {:.3e}, {:.3e} m", g->detector, g->pixel1_m, g->pixel2_m),
             "",
             fmt::format("Wavelength: {} m", g->wavelength_m)};
  }
  const auto& p = c.analysis.parameters;
  const auto mask = p.find("mask_pixels");
  lines.push_back(fmt::format("Mask applied: {}", mask != p.end() && mask->second != "0" ? "True" : "False"));
  lines.push_back(fmt::format("Polarization factor: {}", parameter(p, "polarization")));
  lines.push_back("Normalization factor: None");
  lines.push_back("");
  lines.push_back("== insitu ==");
  lines.push_back(fmt::format("Run file: {}", c.reader.path().string()));
  lines.push_back(fmt::format("Entry: {}", c.entry));
  lines.push_back(fmt::format("Frame: {}", c.analysis.sequence[row]));
  lines.push_back(fmt::format("Temperature: {:.2f} K", c.analysis.temperature_K[row]));
  std::string out;
  for (const auto& line : lines) out += "# " + line + "\n";
  return out + "# --> " + file.string() + "\n";
}

void write_intensity(std::ostream& f, const FrameContext& c, std::size_t row, const fs::path& file, bool two_theta) {
  const auto i = c.reader.intensity(row, c.entry);
  f << pyfai_header(c, row, file) << fmt::format("#{:>14s}  {:>14s}  {:>14s}\n", two_theta ? "2th_deg" : "q_A^-1", "I ",
                                                 "sigma ");
  const double wavelength_angstrom = c.geometry ? c.geometry->wavelength_m * 1e10 : 0.0;
  for (std::size_t k = 0; k < i.q_inv_angstrom.size(); ++k) {
    const double q = i.q_inv_angstrom[k];
    const double x = two_theta ? 2.0 * std::asin(q * wavelength_angstrom / (4.0 * std::numbers::pi)) * 180.0 /
                                     std::numbers::pi
                               : q;
    f << fmt::format("{:14.6e}  {:14.6e} {:14.6e}\n", x, i.intensity[k], i.sigma[k]);
  }
}

// PDFgetX3's .gr layout (its parameters as `key = value`, `#### start data`, `#S 1`, `#L`), each header line behind
// `#`: pdfgui finds the parameters and the data start by pattern, numpy.loadtxt skips the comments.
void write_pdf(std::ostream& f, const FrameContext& c, std::size_t row) {
  const auto pdf = c.reader.reduced_pdf(row, c.entry);
  const auto& p = c.analysis.parameters;
  f << "# [DEFAULT]\n# version = " << c.analysis.program << " (PDFgetX3-style reduction)\n\n# [insitu]\n"
    << fmt::format("# run_file = {}\n# entry = {}\n# frame = {}\n# temperature = {:.2f} K\n", c.reader.path().string(),
                   c.entry, c.analysis.sequence[row], c.analysis.temperature_K[row])
    << "\n# [PDF parameters]\n# dataformat = QA\n# stype = X\n";
  if (c.geometry) f << fmt::format("# wavelength = {}\n", c.geometry->wavelength_m * 1e10);
  for (const char* key : {"composition", "bgscale", "qmin", "qmax", "qmaxinst", "rpoly", "rmin", "rmax", "rstep"})
    if (p.count(key)) f << "# " << key << " = " << p.at(key) << "\n";
  f << "\n#### start data\n#S 1\n#L r($\\AA$)  G($\\AA^{-2}$)\n";
  for (std::size_t k = 0; k < pdf.r_angstrom.size(); ++k)
    f << fmt::format("{:.6f} {:.8e}\n", pdf.r_angstrom[k], pdf.g_per_angstrom2[k]);
}

int export_frames(const ExportOptions& o, std::ostream& out, std::ostream& err) {
  if (o.format != "xy" && o.format != "chi" && o.format != "gr")
    throw Refused(fmt::format("--format '{}': one of xy, chi, gr", o.format));
  const RunFileReader reader(o.run_file);
  const auto analysis = reader.analysis(o.entry);
  if (!analysis || analysis->sequence.empty())
    throw Refused(fmt::format("{}: no analysed frame in {}", o.run_file.string(), o.entry));
  const auto geometry = reader.geometry();
  if (o.format == "chi" && !geometry)
    throw Refused(fmt::format("{}: no detector geometry, so no wavelength for 2theta (use --format xy)",
                              o.run_file.string()));
  const Selection selection = select_rows(reader, *analysis, o.frames);
  const fs::path dir = o.output_dir.value_or(fs::absolute(o.run_file).parent_path());
  std::vector<fs::path> files;
  for (std::size_t row : selection.rows) {
    files.push_back(dir / fmt::format("{}_frame{:05d}_{:.1f}K.{}", file_stem(reader), analysis->sequence[row],
                                      analysis->temperature_K[row], o.format));
    if (fs::exists(files.back())) throw Refused(files.back().string() + ": exists (export never overwrites)");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Refused(fmt::format("{}: cannot create the folder: {}", dir.string(), ec.message()));

  const FrameContext context{reader, *analysis, geometry, o.entry};
  for (std::size_t k = 0; k < files.size(); ++k) {
    std::ofstream f(files[k]);
    if (!f) throw Refused(files[k].string() + ": cannot be written");
    if (o.format == "gr") write_pdf(f, context, selection.rows[k]);
    else write_intensity(f, context, selection.rows[k], files[k], o.format == "chi");
    f.close();
    if (!f) throw std::runtime_error(files[k].string() + ": write failed");
    out << files[k].string() << "\n";
  }
  for (const auto& problem : selection.problems) err << "insitu export: " << problem << "\n";
  return selection.problems.empty() ? 0 : 1;
}

}  // namespace

int run_export(const ExportOptions& options, std::ostream& out, std::ostream& err) {
  try {
    return export_frames(options, out, err);
  } catch (const Refused& e) {
    err << "insitu export: " << e.what() << "\n";
  } catch (const storage::NotARunFile& e) {
    err << "insitu export: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::string line = e.what();
    std::replace(line.begin(), line.end(), '\n', ' ');
    err << "insitu export: " << line << "\n";
    return 1;
  }
  return 2;
}

}  // namespace insitu::daemon
