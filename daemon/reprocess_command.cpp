#include "daemon/reprocess_command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "analysis/pipeline/frame_pipeline.hpp"
#include "daemon/analysis_pool.hpp"
#include "daemon/reprocess_inputs.hpp"
#include "daemon/reprocess_output.hpp"
#include "daemon/storage/run_file_reader.hpp"
#include "daemon/storage/schema.hpp"
#include "drivers/detector/exposure.hpp"

namespace insitu::daemon {
namespace fs = std::filesystem;

namespace {

constexpr const char* usage =
    "usage: insitu reprocess RUN.h5 [--poni FILE] [--form-factors FILE] [--mask FILE] [--workers N] [--set key=value ...] [-o OUT.h5]\n"
    "       insitu reprocess --frames DIR --poni FILE --temperatures CSV --composition FORMULA [--form-factors FILE]\n"
    "                        [--background FILE] [--dark FILE] [--mask FILE] [--frame-period S] [--workers N]\n"
    "                        [--set key=value ...] -o OUT.h5\n"
    "  --form-factors FILE  DABAX f0_WaasKirf.dat; by default the run file's own coefficients (RUN.h5) or the table a\n"
    "               live run uses (--frames: python3-periodictable's, or $INSITU_FORM_FACTORS).\n"
    "  --mask FILE  static mask image (TIFF/EDF as pyFAI and Dioptas write it, non-zero = masked), the frames' shape.\n"
    "               With --frames it is the analysis's mask; with RUN.h5 it is added to the mask the run file stores\n"
    "               (recipe mask and the darks' bad pixels, which stay masked): more pixels are masked, none unmasked.\n"
    "  RUN.h5 gets a new entry /entry_reprocessed_<n> (or -o OUT.h5 its /entry) with the names of a live run's analysis.\n"
    "  With --frames, OUT.h5 is a run file: the frames as read (shuffle+deflate; up to their size again), temperatures,\n"
    "  dark, geometry, parameters, form factors and mask, so `insitu reprocess OUT.h5` reprocesses it identically.";

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

struct Collected {
  std::mutex mutex;
  std::map<std::uint64_t, analysis::FrameAnalysis> frames;
  std::map<std::uint64_t, double> time_s;  // each frame's run time, for the run-level analysis
  std::vector<std::string> errors;
};

// Runs the frames through an AnalysisPool; a refused submit waits for room (this is not the Asio loop).
template <class NextJob>
analysis::AnalysisAxes analyse_all(const analysis::Geometry& geometry, const analysis::PipelineSettings& settings,
                                   const analysis::FormFactorTable& table, std::size_t workers, std::size_t count,
                                   NextJob&& next_job, Collected& collected) {
  const std::size_t n = workers ? workers : AnalysisPool::default_workers();
  const PipelineWorkers pipelines(geometry, settings, table, n);
  AnalysisPool pool({n, 2 * n}, pipelines.analyser(), [&](AnalysisResult&& r) {
    std::lock_guard lock(collected.mutex);
    collected.time_s[r.job.sequence] = r.job.time_s;
    if (r.analysis) collected.frames.emplace(r.job.sequence, std::move(*r.analysis));
    else collected.errors.push_back("frame " + std::to_string(r.job.sequence) + ": " + r.error);
  });
  for (std::size_t i = 0; i < count; ++i) {
    auto job = next_job(i);
    if (!job) continue;
    while (!pool.submit(*job)) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  pool.wait_idle();
  return pipelines.axes();
}

struct Results {
  std::vector<analysis::FrameAnalysis> frames;
  analysis::RunAnalysis run;
};

// The frames in sequence order and the run level over them, as a live run computes it.
Results run_level(Collected& collected, const analysis::PipelineSettings& settings) {
  if (!collected.errors.empty()) {
    std::string all;
    for (const auto& e : collected.errors) all += "\n  " + e;
    throw std::runtime_error(std::to_string(collected.errors.size()) + " frame(s) failed:" + all);
  }
  if (collected.frames.empty())  // a run killed before its first data frame was stored, say
    throw std::runtime_error("no data frame to analyse (only darks, or frames without pixels)");
  analysis::RunAnalyser run_analyser(settings);
  Results r;
  for (auto& [seq, f] : collected.frames) {
    run_analyser.add({collected.time_s.at(seq), f.temperature_K, f.s_eq_J_per_mol_K});
    r.frames.push_back(std::move(f));
  }
  r.run = run_analyser.compute();
  return r;
}

// RUN.h5: its raw frames, analysed with what the run file records (overridden by the flags).
int reprocess_run_file(const ReprocessOptions& o, std::ostream& out) {
  std::optional<storage::RunFileReader> reader(std::in_place, o.run_file);
  const auto frames = reader->frames();
  if (!frames || frames->height == 0)
    throw std::runtime_error(o.run_file.string() + ": no stored detector frames (not a run file with frames)");
  const auto in = run_file_inputs(o, *reader, frames->height, frames->width);
  if (!in.recorded_parameters)
    out << "note: " << o.run_file.string() << " records no analysis parameters: the defaults and the flags given "
        << "are used\n";
  auto dark = std::make_shared<const std::vector<float>>(reader->dark_median());
  Collected collected;
  const auto axes = analyse_all(in.geometry, in.settings, in.form_factors, o.workers, frames->rows(),
                                [&](std::size_t i) -> std::optional<AnalysisJob> {
    if (i < frames->image_key.size() && frames->image_key[i] != 0) return std::nullopt;  // darks, flats
    // An unwritten row reads as zeros: the live analysis never had these frames either.
    constexpr auto no_pixels = detector::exposure_flag::missing | detector::exposure_flag::truncated;
    if (i < frames->flags.size() && (frames->flags[i] & no_pixels) != 0) return std::nullopt;
    const double time_s = 0.5 * (frames->start_s[i] + frames->stop_s[i]);  // mid-exposure, as the live analysis
    auto frame = std::make_shared<detector::Frame>(
        detector::make_frame(frames->height, frames->width, reader->frame_pixels(i)));
    return AnalysisJob{frames->sequence[i], time_s, frames->t_mean_K[i], std::move(frame), dark};
  }, collected);
  reader.reset();  // RUN.h5 is written next
  const auto results = run_level(collected, in.settings);
  const auto layout = reprocess_layout(in, axes, frames->height, frames->width);
  summarise(out, results.frames, results.run, write_reprocessed(o, layout, results.frames, results.run));
  return 0;
}

std::vector<fs::path> frame_paths(const ReprocessOptions& o, const std::vector<FrameTemperature>& csv) {
  std::vector<fs::path> paths;
  for (const auto& row : csv) {
    const auto p = o.frames_dir / row.file;
    if (!fs::exists(p))
      throw std::runtime_error(o.temperatures_csv.string() + ":" + std::to_string(row.line) + ": frame file " +
                               p.string() + " does not exist");
    paths.push_back(p);
  }
  if (paths.empty()) throw std::runtime_error(o.temperatures_csv.string() + ": no frames listed");
  return paths;
}

// --frames: frames taken elsewhere, written into OUT.h5 as a run file as they are read, then analysed into it.
int reprocess_frames(const ReprocessOptions& o, std::ostream& out) {
  const auto csv = parse_temperature_csv(read_text(o.temperatures_csv), o.temperatures_csv.string());
  const auto paths = frame_paths(o, csv);
  const auto first = detector::read_frame(paths.front());
  const auto in = frames_inputs(o, first, paths.front());
  const std::size_t height = in.geometry.height, width = in.geometry.width;
  std::shared_ptr<const std::vector<float>> dark;
  if (!o.dark_file.empty()) {
    const auto dark_frame = detector::read_frame(o.dark_file);
    if (dark_frame.height != height || dark_frame.width != width)
      throw std::runtime_error(fmt::format("{}: dark is {}x{}, the frames {}x{}", o.dark_file.string(),
                                           dark_frame.height, dark_frame.width, height, width));
    dark = std::make_shared<const std::vector<float>>(to_float(dark_frame));
  }
  FramesOutput output(o, in, first);  // removed again unless the analysis completes
  if (dark) output.write_dark(*dark);
  Collected collected;
  const auto axes = analyse_all(in.geometry, in.settings, in.form_factors, o.workers, csv.size(),
                                [&](std::size_t i) -> std::optional<AnalysisJob> {
    auto frame = std::make_shared<detector::Frame>(detector::read_frame(paths[i]));
    const double time_s = csv[i].time_s.value_or(static_cast<double>(i) * o.frame_period_s);
    output.append(*frame, paths[i], i, csv[i], time_s);
    return AnalysisJob{i, time_s, 0.5 * (csv[i].T_start_K + csv[i].T_end_K), std::move(frame), dark};
  }, collected);
  const auto results = run_level(collected, in.settings);
  output.finish(reprocess_layout(in, axes, height, width), results.frames, results.run);
  summarise(out, results.frames, results.run, o.output.string() + ":" + storage::schema::entry);
  return 0;
}

int reprocess(const ReprocessOptions& o, std::ostream& out) {
  return o.run_file.empty() ? reprocess_frames(o, out) : reprocess_run_file(o, out);
}

}  // namespace

std::vector<FrameTemperature> parse_temperature_csv(const std::string& text, const std::string& source_name) {
  std::vector<FrameTemperature> rows;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument(source_name + ":" + std::to_string(number) + ": " + why);
  };
  auto parse = [&](const std::string& field, const char* what) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(field, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != field.size() || !std::isfinite(v)) fail(std::string(what) + " '" + field + "' is not a number");
    return v;
  };
  while (std::getline(in, line)) {
    ++number;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, ',');) fields.push_back(trim(f));
    if (rows.empty() && fields.size() >= 3 && fields[1].find_first_not_of("0123456789.+-eE") != std::string::npos)
      continue;  // header
    if (fields.size() < 3 || fields.size() > 4)
      fail("expected file,T_start_K,T_end_K[,time_s] but found " + std::to_string(fields.size()) + " fields");
    if (fields[0].empty()) fail("empty file name");
    FrameTemperature row{fields[0], parse(fields[1], "T_start_K"), parse(fields[2], "T_end_K"), std::nullopt, number};
    if (!(row.T_start_K > 0) || !(row.T_end_K > 0)) fail("temperatures must be positive kelvin");
    if (fields.size() == 4) row.time_s = parse(fields[3], "time_s");
    rows.push_back(row);
  }
  return rows;
}

ReprocessOptions parse_reprocess_args(const std::vector<std::string>& args) {
  ReprocessOptions o;
  auto value = [&](std::size_t& i) -> const std::string& {
    if (i + 1 >= args.size()) throw std::invalid_argument(args[i] + " needs a value\n" + usage);
    return args[++i];
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--frames") o.frames_dir = value(i);
    else if (a == "--poni") o.poni = value(i);
    else if (a == "--temperatures") o.temperatures_csv = value(i);
    else if (a == "--composition") o.composition = value(i);
    else if (a == "--background") o.background_file = value(i);
    else if (a == "--dark") o.dark_file = value(i);
    else if (a == "--mask") o.mask_file = value(i);
    else if (a == "--form-factors") o.form_factor_file = value(i);
    else if (a == "-o" || a == "--output") o.output = value(i);
    else if (a == "--set") o.overrides.push_back(value(i));
    else if (a == "--frame-period") {
      const auto& v = value(i);
      try {
        o.frame_period_s = std::stod(v);
      } catch (const std::exception&) {
        throw std::invalid_argument("--frame-period: '" + v + "' is not a number");
      }
    } else if (a == "--workers") {
      const auto& v = value(i);
      try {
        o.workers = static_cast<std::size_t>(std::stoul(v));
      } catch (const std::exception&) {
        throw std::invalid_argument("--workers: '" + v + "' is not a count");
      }
    } else if (!a.empty() && a[0] == '-') throw std::invalid_argument("unknown option " + a + "\n" + usage);
    else if (o.run_file.empty()) o.run_file = a;
    else throw std::invalid_argument("unexpected argument " + a + "\n" + usage);
  }
  if (o.run_file.empty() == o.frames_dir.empty())
    throw std::invalid_argument(std::string("give either RUN.h5 or --frames DIR\n") + usage);
  if (!o.frames_dir.empty()) {
    if (o.temperatures_csv.empty()) throw std::invalid_argument(std::string("--frames needs --temperatures CSV\n") + usage);
    if (o.composition.empty()) throw std::invalid_argument(std::string("--frames needs --composition FORMULA\n") + usage);
    if (o.output.empty()) throw std::invalid_argument(std::string("--frames needs -o OUT.h5\n") + usage);
    if (o.poni.empty()) throw std::invalid_argument(std::string("--frames needs --poni FILE\n") + usage);
  }
  return o;
}

int run_reprocess(const ReprocessOptions& options, std::ostream& out, std::ostream& err) {
  try {
    return reprocess(options, out);
  } catch (const std::exception& e) {
    err << "insitu reprocess: " << e.what() << "\n";
    return 1;
  }
}

int run_reprocess(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (std::any_of(args.begin(), args.end(), [](const auto& a) { return a == "--help" || a == "-h"; })) {
    out << usage << "\n";
    return 0;
  }
  ReprocessOptions options;
  try {
    options = parse_reprocess_args(args);
  } catch (const std::exception& e) {
    err << "insitu reprocess: " << e.what() << "\n";
    return 2;
  }
  return run_reprocess(options, out, err);
}

}  // namespace insitu::daemon
