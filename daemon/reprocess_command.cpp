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
#include "daemon/storage/analysis_layout.hpp"
#include "daemon/storage/detector_layout.hpp"
#include "daemon/storage/h5.hpp"
#include "daemon/xrd_setup.hpp"
#include "drivers/detector/exposure.hpp"

namespace insitu::daemon {
namespace h5 = storage::h5;
namespace fs = std::filesystem;

namespace {

constexpr const char* usage =
    "usage: insitu reprocess RUN.h5 [--poni FILE] [--form-factors FILE] [--mask FILE] [--workers N] [--set key=value ...] [-o OUT.h5]\n"
    "       insitu reprocess --frames DIR --poni FILE --form-factors FILE --temperatures CSV --composition FORMULA [--background FILE]\n"
    "                        [--dark FILE] [--mask FILE] [--frame-period S] [--workers N] [--set key=value ...] -o OUT.h5\n"
    "  --mask FILE  static mask image (TIFF/EDF as pyFAI and Dioptas write it, non-zero = masked), the frames' shape.\n"
    "               With --frames it is the analysis's mask; with RUN.h5 it is added to the mask the run file stores\n"
    "               (recipe mask and the darks' bad pixels, which stay masked): more pixels are masked, none unmasked.\n"
    "  With --frames, OUT.h5 is a run file: the frames as read (shuffle+deflate; up to their size again), temperatures,\n"
    "  dark, geometry, parameters, form factors and mask, so `insitu reprocess OUT.h5` reprocesses it identically.";

std::string read_text(const fs::path& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// ---- run-file frame source (our own readers over h5.hpp: the run file has no frame API yet) -----

constexpr const char* detector_path = "/entry/instrument/detector";

struct RunFrames {
  h5::Handle file, data;
  std::size_t frames = 0, height = 0, width = 0;
  std::vector<double> t_mean_K, time_s;  // time_s: mid-exposure run time, as the live analysis has it
  std::vector<std::uint64_t> sequence;  // the run's frame numbers (empty: the row index)
  std::vector<std::int32_t> image_key;  // NeXus: 0 data, 2 dark
  std::vector<std::uint32_t> flags;     // exposure_flag bits; missing and unreadable frames have no pixels
  std::vector<float> dark_median;       // empty: none

  static RunFrames open(const fs::path& path) {
    RunFrames r;
    r.file = h5::open_file(path, h5::Access::read);
    const std::string det = detector_path;
    for (const auto* name : {"/data", "/frame_temperature/T_mean"})
      if (!h5::exists(r.file, det + name))
        throw std::runtime_error(path.string() + ": no " + det + name + " (not a run file with stored frames)");
    r.data = h5::open_dataset(r.file, det + "/data");
    h5::Handle space(h5::check(H5Dget_space(r.data.get()), "H5Dget_space"));
    if (H5Sget_simple_extent_ndims(space.get()) != 3)
      throw std::runtime_error(path.string() + ": " + det + "/data is not [frames, height, width]");
    hsize_t dims[3];
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    r.frames = dims[0], r.height = dims[1], r.width = dims[2];
    r.t_mean_K = h5::read_1d<double>(h5::open_dataset(r.file, det + "/frame_temperature/T_mean"));
    // A run with a sample calibration was analysed on the sample's scale (/entry/sample/temperature_calibration).
    if (h5::exists(r.file, det + "/frame_temperature/T_sample_mean")) {
      const auto sample_K = h5::read_1d<double>(h5::open_dataset(r.file, det + "/frame_temperature/T_sample_mean"));
      r.t_mean_K.assign(sample_K.begin(), sample_K.begin() + static_cast<std::ptrdiff_t>(
                                                                std::min(sample_K.size(), r.t_mean_K.size())));
    }
    if (h5::exists(r.file, det + "/start_time") && h5::exists(r.file, det + "/stop_time")) {
      const auto start = h5::read_1d<double>(h5::open_dataset(r.file, det + "/start_time"));
      const auto stop = h5::read_1d<double>(h5::open_dataset(r.file, det + "/stop_time"));
      for (std::size_t i = 0; i < std::min(start.size(), stop.size()); ++i) r.time_s.push_back(0.5 * (start[i] + stop[i]));
    } else if (h5::exists(r.file, det + "/frame_temperature/time")) {
      r.time_s = h5::read_1d<double>(h5::open_dataset(r.file, det + "/frame_temperature/time"));
    }
    const bool has_sequence = h5::exists(r.file, det + "/sequence_number");
    if (has_sequence) r.sequence = h5::read_1d<std::uint64_t>(h5::open_dataset(r.file, det + "/sequence_number"));
    if (h5::exists(r.file, det + "/image_key"))
      r.image_key = h5::read_1d<std::int32_t>(h5::open_dataset(r.file, det + "/image_key"));
    if (h5::exists(r.file, det + "/flags"))
      r.flags = h5::read_1d<std::uint32_t>(h5::open_dataset(r.file, det + "/flags"));
    if (h5::exists(r.file, det + "/dark_median")) {
      auto darks = h5::read_1d<float>(h5::open_dataset(r.file, det + "/dark_median"));
      const std::size_t n = r.height * r.width;
      if (darks.size() < n || darks.size() % n != 0)
        throw std::runtime_error(path.string() + ": " + det + "/dark_median does not hold whole frames");
      r.dark_median.assign(darks.end() - static_cast<std::ptrdiff_t>(n), darks.end());  // the newest dark
    }
    // A frame's row is whole once its sequence_number is in: that is written last (after a crash the other
    // columns may hold one row more). Files without it are bounded by their temperatures.
    r.frames = std::min(r.frames, r.t_mean_K.size());
    if (has_sequence) r.frames = std::min(r.frames, r.sequence.size());
    return r;
  }

  detector::Frame read(std::size_t index) const {
    h5::Handle file_space(h5::check(H5Dget_space(data.get()), "H5Dget_space"));
    const hsize_t start[3] = {index, 0, 0}, count[3] = {1, height, width};
    h5::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr), "select frame");
    h5::Handle memory_space(h5::check(H5Screate_simple(3, count, nullptr), "H5Screate_simple"));
    std::vector<float> pixels(height * width);
    h5::check(H5Dread(data.get(), H5T_NATIVE_FLOAT, memory_space.get(), file_space.get(), H5P_DEFAULT, pixels.data()),
              "read frame " + std::to_string(index));
    return detector::make_frame(height, width, std::move(pixels));
  }
};

// ---- what a run file records for its own reprocessing (detector_layout.hpp, analysis_layout.hpp) -----

constexpr const char* geometry_path = "/entry/instrument/detector/geometry";
constexpr const char* parameters_path = "/entry/analysis/parameters";
constexpr const char* form_factors_path = "/entry/analysis/form_factors";
constexpr const char* background_path = "/entry/analysis/background";
constexpr const char* mask_path = "/entry/analysis/mask";

double read_scalar(const h5::Handle& group, const std::string& name) {
  const auto v = h5::read_1d<double>(h5::open_dataset(group, name));
  if (v.size() != 1) throw std::runtime_error(name + " holds " + std::to_string(v.size()) + " values, not one");
  return v.front();
}

std::optional<analysis::Geometry> stored_geometry(const h5::Handle& file) {
  if (!h5::exists(file, geometry_path)) return std::nullopt;
  const auto g = h5::open_group(file, geometry_path);
  analysis::Geometry out;
  out.distance_m = read_scalar(g, "distance");
  out.poni1_m = read_scalar(g, "poni1");
  out.poni2_m = read_scalar(g, "poni2");
  out.rot1_rad = read_scalar(g, "rot1");
  out.rot2_rad = read_scalar(g, "rot2");
  out.rot3_rad = read_scalar(g, "rot3");
  out.wavelength_m = read_scalar(g, "wavelength");
  out.pixel1_m = read_scalar(g, "pixel1");
  out.pixel2_m = read_scalar(g, "pixel2");
  out.detector = h5::read_string(g, "detector");
  return out;
}

std::map<std::string, std::string> stored_parameters(const h5::Handle& file) {
  std::map<std::string, std::string> out;
  if (!h5::exists(file, parameters_path)) return out;
  const auto g = h5::open_group(file, parameters_path);
  H5G_info_t info;
  h5::check(H5Gget_info(g.get(), &info), "H5Gget_info " + std::string(parameters_path));
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const auto name_of = [&](char* buffer, std::size_t size) {
      return h5::check(H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buffer, size, H5P_DEFAULT),
                       "H5Lget_name_by_idx " + std::string(parameters_path));
    };
    std::vector<char> name(static_cast<std::size_t>(name_of(nullptr, 0)) + 1);
    name_of(name.data(), name.size());
    out[name.data()] = h5::read_string(g, name.data());
  }
  return out;
}

struct StoredFormFactors {
  analysis::FormFactorTable table;
  std::vector<std::string> elements;
};

std::optional<StoredFormFactors> stored_form_factors(const h5::Handle& file) {
  if (!h5::exists(file, form_factors_path)) return std::nullopt;
  const auto g = h5::open_group(file, form_factors_path);
  const auto elements = h5::read_strings(h5::open_dataset(g, "element"));
  const auto z = h5::read_1d<std::int64_t>(h5::open_dataset(g, "atomic_number"));
  const auto a = h5::read_1d<double>(h5::open_dataset(g, "a"));
  const auto c = h5::read_1d<double>(h5::open_dataset(g, "c"));
  const auto b = h5::read_1d<double>(h5::open_dataset(g, "b"));
  const std::size_t n = elements.size();
  if (z.size() != n || c.size() != n || a.size() != 5 * n || b.size() != 5 * n)
    throw std::runtime_error(std::string(form_factors_path) + ": element, atomic_number, a[n,5], c, b[n,5] disagree in n");
  std::vector<std::pair<std::string, analysis::WaasKirfCoefficients>> entries;
  for (std::size_t i = 0; i < n; ++i) {
    analysis::WaasKirfCoefficients k;
    k.atomic_number = static_cast<int>(z[i]);
    k.c = c[i];
    for (std::size_t j = 0; j < 5; ++j) k.a[j] = a[5 * i + j], k.b[j] = b[5 * i + j];
    entries.emplace_back(elements[i], k);
  }
  return StoredFormFactors{analysis::FormFactorTable::from_coefficients(entries), elements};
}

// A PONI of the whole detector applied to binned frames: the pixels grow by the binning factor.
analysis::Geometry fit_to_frames(analysis::Geometry g, std::size_t height, std::size_t width, const fs::path& poni) {
  if (g.height != 0 && g.width != 0 && (g.height != height || g.width != width)) {
    if (g.height % height != 0 || g.width % width != 0 || g.height / height != g.width / width)
      throw std::runtime_error(poni.string() + ": the PONI's detector is " + std::to_string(g.height) + "x" +
                               std::to_string(g.width) + " pixels, the frames " + std::to_string(height) + "x" +
                               std::to_string(width) + " (not a binning of it)");
    const auto binning = static_cast<double>(g.height / height);
    g.pixel1_m *= binning;
    g.pixel2_m *= binning;
  }
  g.height = height, g.width = width;
  return g;
}

std::vector<float> to_float(const detector::Frame& frame) {
  return std::visit([](const auto& p) { return std::vector<float>(p.begin(), p.end()); }, frame.pixels);
}

// ---- output ------------------------------------------------------------------------------------

// The --frames input as a run file stores its frames (the RunFrames datasets, detector_layout.hpp): the pixels as
// read, in the first frame's pixel type, each frame's temperatures, run time, file and sequence number, the dark
// and the geometry; with the analysis record (parameters, form factors, background, mask) OUT.h5 is a run file
// that `insitu reprocess OUT.h5` analyses again, wherever it is copied.
class FrameRecord {
 public:
  FrameRecord(const h5::Handle& entry, const detector::Frame& first, const storage::DetectorLayout::Calibration& c)
      : height_(first.height), width_(first.width), pixel_type_(first.pixel_type()) {
    const auto instrument = h5::create_group(entry, "instrument", "NXinstrument");
    det_ = h5::create_group(instrument, "detector", "NXdetector");
    h5::write_string(det_, "description", "frames of `insitu reprocess --frames`, as read");
    storage::write_calibration(instrument, det_, c);
    const auto type = std::visit(
        [](const auto& p) { return h5::dtype_of<typename std::decay_t<decltype(p)>::value_type>(); }, first.pixels);
    data_ = h5::create_extendable(
        det_, "data",
        {.type = type, .tail_shape = {height_, width_}, .chunk_rows = 1, .filter = h5::Filter::shuffle_deflate});
    h5::set_attribute(data_, "units", "counts");
    const auto column = [](const h5::Handle& parent, const std::string& name, h5::Dtype t, const char* units) {
      auto d = h5::create_extendable(parent, name, {.type = t, .tail_shape = {}, .chunk_rows = 1024});
      if (units[0] != '\0') h5::set_attribute(d, "units", units);
      return d;
    };
    image_key_ = column(det_, "image_key", h5::dtype_of<std::int32_t>(), "");
    file_name_ = column(det_, "file_name", h5::Dtype::fixed_string(1024), "");
    const auto ft = h5::create_group(det_, "frame_temperature", "NXcollection");
    t_start_ = column(ft, "T_start", h5::dtype_of<double>(), "K");
    t_end_ = column(ft, "T_end", h5::dtype_of<double>(), "K");
    t_mean_ = column(ft, "T_mean", h5::dtype_of<double>(), "K");
    time_ = column(ft, "time", h5::dtype_of<double>(), "s");
    sequence_ = column(det_, "sequence_number", h5::dtype_of<std::uint64_t>(), "");
  }

  // A frame of another shape or pixel type than the first: std::runtime_error naming the file.
  void append(const detector::Frame& frame, const fs::path& file, std::uint64_t sequence, const FrameTemperature& row,
              double t_mean_K, double time_s) {
    if (frame.height != height_ || frame.width != width_)
      throw std::runtime_error(fmt::format("{}: frame is {}x{}, the first was {}x{}", file.string(), frame.height,
                                           frame.width, height_, width_));
    if (frame.pixel_type() != pixel_type_)
      throw std::runtime_error(fmt::format("{}: frame pixels are {}, the first frame's {}", file.string(),
                                           detector::to_string(frame.pixel_type()), detector::to_string(pixel_type_)));
    std::visit([&](const auto& p) { h5::append(data_, std::span(p), 1); }, frame.pixels);
    h5::append<std::int32_t>(image_key_, std::vector<std::int32_t>{0});
    h5::append_strings(file_name_, std::vector<std::string>{file.string()});
    h5::append<double>(t_start_, std::vector<double>{row.T_start_K});
    h5::append<double>(t_end_, std::vector<double>{row.T_end_K});
    h5::append<double>(t_mean_, std::vector<double>{t_mean_K});
    h5::append<double>(time_, std::vector<double>{time_s});
    h5::append<std::uint64_t>(sequence_, std::vector<std::uint64_t>{sequence});
  }

  void write_dark(const std::vector<float>& dark) {
    auto ds = h5::create_extendable(det_, "dark_median",
                                    {.type = h5::dtype_of<float>(),
                                     .tail_shape = {height_, width_},
                                     .chunk_rows = 1,
                                     .filter = h5::Filter::shuffle_deflate});
    h5::append<float>(ds, dark, 1);
  }

 private:
  hsize_t height_, width_;
  detector::PixelType pixel_type_;
  h5::Handle det_, data_, image_key_, file_name_, t_start_, t_end_, t_mean_, time_, sequence_;
};

void write_rows(const h5::Handle& group, const std::string& name, const std::vector<std::vector<double>>& rows,
                const std::string& units) {
  const std::size_t width = rows.empty() ? 0 : rows.front().size();
  h5::ExtendableSpec spec{h5::dtype_of<float>(), {width}, 16, h5::Filter::none, 1};
  if (width == 0) spec.tail_shape.clear();
  auto ds = h5::create_extendable(group, name, spec);
  std::vector<float> flat;
  flat.reserve(rows.size() * width);
  for (const auto& row : rows) {
    if (row.size() != width) throw std::logic_error(name + ": rows of different lengths");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  if (!rows.empty()) h5::append<float>(ds, flat, rows.size());
  if (!units.empty()) h5::set_attribute(ds, "units", units);
}

void write_vector(const h5::Handle& group, const std::string& name, const std::vector<double>& v,
                  const std::string& units) {
  auto ds = h5::create_extendable(group, name, {h5::dtype_of<double>(), {}, 1024, h5::Filter::none, 1});
  if (!v.empty()) h5::append<double>(ds, v);
  if (!units.empty()) h5::set_attribute(ds, "units", units);
}

void write_analysis(const h5::Handle& parent, const std::string& name,
                    const std::vector<analysis::FrameAnalysis>& frames, const analysis::AnalysisAxes& axes,
                    const analysis::RunAnalysis& run, const std::string& source,
                    const analysis::PipelineSettings& settings, std::size_t height, std::size_t width,
                    const storage::AnalysisLayout* inputs) {
  auto g = h5::create_group(parent, name, "NXprocess");
  h5::write_string(g, "program", "insitu reprocess");
  h5::write_string(g, "source", source);
  // As the run file: the settings (what reprocessing applies again) apart from what the run analysis found.
  storage::write_parameters(g, "parameters", settings.describe());
  storage::write_parameters(g, "run_parameters", run.parameters);
  if (inputs) storage::write_analysis_inputs(g, *inputs);
  const auto& mask = settings.mask;
  if (!mask.empty()) {  // the static mask used (parameters/mask_pixels counts it)
    auto ds = h5::create_fixed(
        g, "mask",
        {.type = h5::dtype_of<std::uint8_t>(), .shape = {height, width}, .filter = h5::Filter::shuffle_deflate});
    h5::write<std::uint8_t>(ds, mask, height);
    h5::set_attribute(ds, "description",
                      "static mask of the integration, non-zero = masked: the run file's stored mask, or --mask, or "
                      "both OR'ed");
  }

  write_vector(g, "q", axes.q_inv_angstrom, "1/angstrom");
  write_vector(g, "q_reduced", axes.q_reduced_inv_angstrom, "1/angstrom");
  write_vector(g, "r", axes.r_angstrom, "angstrom");
  std::vector<double> sequence, temperature, rho0_fit, rho0_nominal, s_k_B, s_J, time;
  std::vector<std::vector<double>> intensity, sigma, s_q, f_q, g_r, pair;
  for (const auto& f : frames) {
    sequence.push_back(static_cast<double>(f.sequence));
    temperature.push_back(f.temperature_K);
    rho0_fit.push_back(f.rho0_fit_per_cubic_angstrom);
    rho0_nominal.push_back(f.rho0_nominal_per_cubic_angstrom);
    s_k_B.push_back(f.s_eq_k_B);
    s_J.push_back(f.s_eq_J_per_mol_K);
    time.push_back(f.analysis_time_s);
    intensity.push_back(f.intensity);
    sigma.push_back(f.intensity_sigma);
    s_q.push_back(f.structure_factor);
    f_q.push_back(f.reduced_structure_factor);
    g_r.push_back(f.reduced_pdf);
    pair.push_back(f.pair_distribution);
  }
  write_vector(g, "sequence", sequence, "");
  write_vector(g, "temperature", temperature, "K");
  write_vector(g, "rho0_fit", rho0_fit, "1/angstrom^3");
  write_vector(g, "rho0_nominal", rho0_nominal, "1/angstrom^3");
  write_vector(g, "s_eq_k_B", s_k_B, "k_B/atom");
  write_vector(g, "s_eq", s_J, "J/(mol K)");
  write_vector(g, "analysis_time", time, "s");
  write_rows(g, "intensity", intensity, "");
  write_rows(g, "intensity_sigma", sigma, "");
  write_rows(g, "structure_factor", s_q, "");
  write_rows(g, "reduced_structure_factor", f_q, "1/angstrom");
  write_rows(g, "reduced_pdf", g_r, "1/angstrom^2");
  write_rows(g, "pair_distribution", pair, "");

  auto r = h5::create_group(g, "run", "NXcollection");
  write_vector(r, "temperature", run.temperature_K, "K");
  write_vector(r, "s_eq_smoothed", run.s_eq_smoothed_J_per_mol_K, "J/(mol K)");
  write_vector(r, "ds_eq_dT", run.ds_eq_dT_J_per_mol_K2, "J/(mol K^2)");
  write_vector(r, "delta_phi", run.delta_phi_W_per_mol, "W/mol");
  h5::write_scalar(r, "heating_rate", run.heating_rate_K_per_s, "K/s");
  h5::write_scalar(r, "glass_transition", run.glass_transition_K, "K");
  h5::write_scalar(r, "glass_transition_low", run.glass_transition_low_K, "K");
  h5::write_scalar(r, "glass_transition_high", run.glass_transition_high_K, "K");
  std::vector<std::string> kinds;
  std::vector<double> feature_T, feature_reduced, feature_value;
  for (const auto& f : run.features) {
    kinds.push_back(f.kind);
    feature_T.push_back(f.temperature_K);
    feature_reduced.push_back(f.reduced_temperature);
    feature_value.push_back(f.value);
  }
  auto kind_ds = h5::create_extendable(r, "feature_kind", {h5::Dtype::fixed_string(16), {}, 64, h5::Filter::none, 1});
  if (!kinds.empty()) h5::append_strings(kind_ds, kinds);
  write_vector(r, "feature_temperature", feature_T, "K");
  write_vector(r, "feature_reduced_temperature", feature_reduced, "");
  write_vector(r, "feature_value", feature_value, "W/mol");
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

std::string next_group_name(const h5::Handle& file) {
  for (int i = 1;; ++i) {
    const std::string name = "reprocessed_" + std::to_string(i);
    if (!h5::exists(file, "/entry/" + name)) return name;
  }
}

void summarise(std::ostream& out, const std::vector<analysis::FrameAnalysis>& frames, const analysis::RunAnalysis& run,
               const std::string& where) {
  out << "frames analysed: " << frames.size() << "\n";
  if (!frames.empty()) {
    const auto [lo, hi] = std::minmax_element(frames.begin(), frames.end(), [](const auto& a, const auto& b) {
      return a.temperature_K < b.temperature_K;
    });
    out << std::fixed << std::setprecision(1) << "T range: " << lo->temperature_K << " - " << hi->temperature_K
        << " K; heating part " << run.temperature_K.size() << " frames at "
        << run.heating_rate_K_per_s * 60.0 << " K/min\n";
  }
  if (std::isfinite(run.glass_transition_K))
    out << std::fixed << std::setprecision(1) << "T_g = " << run.glass_transition_K << " +/- "
        << (run.glass_transition_high_K - run.glass_transition_low_K) / (2 * 1.959964) << " K (95 % interval "
        << run.glass_transition_low_K << " - " << run.glass_transition_high_K << " K)\n";
  else
    out << "T_g: not determined (" << (run.parameters.count("tg_status") ? run.parameters.at("tg_status") : "no heating part")
        << ")\n";
  out << "written: " << where << "\n";
}

bool overrides_key(const ReprocessOptions& o, const std::string& key) {
  return std::any_of(o.overrides.begin(), o.overrides.end(),
                     [&](const std::string& kv) { return kv.rfind(key + "=", 0) == 0; });
}

// Defaults, then `base` (a run file's record), then the flags, then --set in order.
analysis::PipelineSettings settings_from(const ReprocessOptions& o, analysis::PipelineSettings base = {}) {
  analysis::PipelineSettings s = std::move(base);
  if (!o.composition.empty()) s.apply("composition", o.composition);
  if (!o.background_file.empty()) s.apply("background_file", o.background_file.string());
  if (!o.form_factor_file.empty()) s.apply("form_factor_file", o.form_factor_file.string());
  for (const auto& kv : o.overrides) s.apply(kv);
  s.validate();
  return s;
}

// Everything the analysis of a run file needs: from the run file itself, or from the flags that override it.
struct RunInputs {
  analysis::PipelineSettings settings;
  analysis::Geometry geometry;
  analysis::FormFactorTable form_factors;
  bool recorded_parameters = false;  // false: the run file has none (no analysis), so defaults and flags alone
};

RunInputs run_inputs(const ReprocessOptions& o, const h5::Handle& file, std::size_t height, std::size_t width) {
  const std::string run = o.run_file.string();
  const auto geometry = o.poni.empty() ? stored_geometry(file) : std::nullopt;
  const bool form_factor_flag = !o.form_factor_file.empty() || overrides_key(o, "form_factor_file");
  auto stored_table = form_factor_flag ? std::nullopt : stored_form_factors(file);
  const auto recorded = stored_parameters(file);

  std::vector<std::string> missing;
  if (o.poni.empty() && !geometry)
    missing.push_back(std::string("no detector geometry (") + geometry_path + "): pass --poni FILE");
  if (!form_factor_flag && !stored_table) {
    const auto used = recorded.find("form_factor_file");
    missing.push_back(std::string("no form-factor coefficients (") + form_factors_path +
                      "): pass --form-factors FILE (DABAX f0_WaasKirf.dat" +
                      (used == recorded.end() ? std::string() : "; the run used " + used->second) + ")");
  }
  if (!missing.empty()) {
    std::string all;
    for (const auto& m : missing) all += "\n  " + m;
    throw std::runtime_error(run + " does not record what reprocessing needs (a run from an older insitu, or "
                             "without analysis):" + all);
  }

  analysis::PipelineSettings base;
  // The stored mask is what the frames were integrated with; mask_pixels is only rewritten at finish, so after a
  // crash it may still hold the recipe mask's count while the mask has the darks' bad pixels too.
  if (h5::exists(file, mask_path)) {
    auto mask = h5::read_1d<std::uint8_t>(h5::open_dataset(file, mask_path));
    if (mask.size() != height * width)
      throw std::runtime_error(run + ":" + mask_path + " holds " + std::to_string(mask.size()) +
                               " pixels, the frames " + std::to_string(height) + "x" + std::to_string(width));
    if (std::any_of(mask.begin(), mask.end(), [](auto m) { return m != 0; })) base.mask = std::move(mask);
  }
  if (!o.mask_file.empty()) {  // added to the stored mask: what the run masked stays masked
    const auto extra =
        read_static_mask(o.mask_file, height, width, fmt::format("the frames of {} are {}x{}", run, height, width));
    if (base.mask.empty()) base.mask.assign(extra.size(), 0);
    for (std::size_t i = 0; i < extra.size(); ++i) base.mask[i] |= extra[i];
  }
  for (const auto& [key, value] : recorded) {
    if (key == "mask_pixels") {
      if (value != "0" && !h5::exists(file, mask_path))
        throw std::runtime_error(run + ": the run's analysis used a static mask of " + value +
                                 " pixels that the run file does not store (" + mask_path +
                                 "): it cannot be reprocessed as it was analysed");
      continue;
    }
    try {
      base.apply(key, value);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(run + ":" + parameters_path + ": " + e.what());
    }
  }
  if (!base.background_file.empty() && h5::exists(file, std::string(background_path) + "/data"))
    base.background_text = h5::read_string(file, std::string(background_path) + "/data");
  if (stored_table) base.form_factor_file = run + ":" + form_factors_path;  // the record names the coefficients' source

  RunInputs in{settings_from(o, std::move(base)), {}, {}, !recorded.empty()};
  in.geometry = geometry ? fit_to_frames(*geometry, height, width, run + ":" + geometry_path)
                         : fit_to_frames(analysis::read_poni(o.poni), height, width, o.poni);
  if (stored_table) {
    for (const auto& [symbol, amount] : analysis::parse_composition(in.settings.composition))
      if (!stored_table->table.contains(symbol)) {
        std::string have;
        for (const auto& e : stored_table->elements) have += (have.empty() ? "" : ", ") + e;
        throw std::runtime_error(run + " records form factors for " + have + " only; composition " +
                                 in.settings.composition + " needs " + symbol + ": pass --form-factors FILE");
      }
    in.form_factors = std::move(stored_table->table);
  } else {
    in.form_factors = analysis::FormFactorTable::load(in.settings.form_factor_file);
  }
  return in;
}

// A file this run created, removed unless the run completes (it clears `path`).
struct RemoveUnlessKept {
  fs::path path;
  RemoveUnlessKept() = default;
  RemoveUnlessKept(const RemoveUnlessKept&) = delete;
  RemoveUnlessKept& operator=(const RemoveUnlessKept&) = delete;
  ~RemoveUnlessKept() {
    std::error_code ignored;  // nothing to report from a destructor; the run's own error is on its way
    if (!path.empty()) fs::remove(path, ignored);
  }
};

int reprocess(const ReprocessOptions& o, std::ostream& out) {
  Collected collected;
  std::optional<analysis::PipelineSettings> used;
  std::string source;
  analysis::AnalysisAxes axes;
  std::size_t height = 0, width = 0;              // of the frames
  RemoveUnlessKept output_guard;                  // before `output`: the file is closed before it is removed
  h5::Handle output;                              // --frames: OUT.h5, created before the analysis
  std::optional<storage::AnalysisLayout> inputs;  // --frames: the form factors and background OUT.h5 records

  if (!o.run_file.empty()) {
    const auto frames = RunFrames::open(o.run_file);
    auto in = run_inputs(o, frames.file, frames.height, frames.width);
    height = frames.height, width = frames.width;
    if (!in.recorded_parameters)
      out << "note: " << o.run_file.string() << " records no analysis parameters (" << parameters_path
          << "): the defaults and the flags given are used\n";
    auto dark = std::make_shared<const std::vector<float>>(frames.dark_median);
    axes = analyse_all(in.geometry, in.settings, in.form_factors, o.workers, frames.frames,
                       [&](std::size_t i) -> std::optional<AnalysisJob> {
      if (i < frames.image_key.size() && frames.image_key[i] != 0) return std::nullopt;  // darks, flats
      // An unwritten row reads as zeros: the live analysis never had these frames either.
      constexpr auto no_pixels = detector::exposure_flag::missing | detector::exposure_flag::truncated;
      if (i < frames.flags.size() && (frames.flags[i] & no_pixels) != 0) return std::nullopt;
      const double time_s = i < frames.time_s.size() ? frames.time_s[i] : static_cast<double>(i) * o.frame_period_s;
      const std::uint64_t sequence = i < frames.sequence.size() ? frames.sequence[i] : i;
      return AnalysisJob{sequence, time_s, frames.t_mean_K[i], std::make_shared<detector::Frame>(frames.read(i)), dark};
    }, collected);
    used = std::move(in.settings);
    source = o.run_file.string();
  } else {
    if (o.poni.empty()) throw std::invalid_argument("--poni FILE is required with --frames");
    auto settings = settings_from(o);
    const auto table = analysis::FormFactorTable::load(settings.form_factor_file);
    const auto csv = parse_temperature_csv(read_text(o.temperatures_csv), o.temperatures_csv.string());
    std::vector<fs::path> paths;
    for (const auto& row : csv) {
      const auto p = o.frames_dir / row.file;
      if (!fs::exists(p))
        throw std::runtime_error(o.temperatures_csv.string() + ":" + std::to_string(row.line) + ": frame file " +
                                 p.string() + " does not exist");
      paths.push_back(p);
    }
    if (paths.empty()) throw std::runtime_error(o.temperatures_csv.string() + ": no frames listed");
    const auto first = detector::read_frame(paths.front());
    const auto poni = analysis::read_poni(o.poni);
    const auto geometry = fit_to_frames(poni, first.height, first.width, o.poni);
    height = geometry.height, width = geometry.width;
    if (!o.mask_file.empty())
      settings.mask = read_static_mask(o.mask_file, height, width,
                                       fmt::format("the frames are {}x{} ({})", height, width, paths.front().string()));
    // The bytes analysed are the bytes recorded (as pipeline_settings does for a live run).
    if (!settings.background_file.empty() && settings.background_text.empty())
      settings.background_text = read_text(settings.background_file);
    std::shared_ptr<const std::vector<float>> dark;
    if (!o.dark_file.empty()) {
      const auto dark_frame = detector::read_frame(o.dark_file);
      if (dark_frame.height != height || dark_frame.width != width)
        throw std::runtime_error(fmt::format("{}: dark is {}x{}, the frames {}x{}", o.dark_file.string(),
                                             dark_frame.height, dark_frame.width, height, width));
      dark = std::make_shared<const std::vector<float>>(to_float(dark_frame));
    }

    // OUT.h5 is written from the start (the frames go in as they are read) and removed if the run fails.
    output = h5::create_file(o.output);
    output_guard.path = o.output;
    const int binning = poni.height != 0 ? static_cast<int>(poni.height / height) : 1;
    FrameRecord record(h5::create_group(output, "entry", "NXentry"), first,
                       {geometry, binning, read_text(o.poni), fs::absolute(o.poni).string()});
    if (dark) record.write_dark(*dark);
    axes = analyse_all(geometry, settings, table, o.workers, csv.size(), [&](std::size_t i) -> std::optional<AnalysisJob> {
      auto frame = std::make_shared<detector::Frame>(detector::read_frame(paths[i]));
      const double time_s = csv[i].time_s.value_or(static_cast<double>(i) * o.frame_period_s);
      const double t_mean_K = 0.5 * (csv[i].T_start_K + csv[i].T_end_K);
      record.append(*frame, paths[i], i, csv[i], t_mean_K, time_s);
      return AnalysisJob{i, time_s, t_mean_K, std::move(frame), dark};
    }, collected);
    inputs = analysis_layout(settings, axes, geometry);
    used = std::move(settings);
    source = o.frames_dir.string();
  }
  if (!collected.errors.empty()) {
    std::string all;
    for (const auto& e : collected.errors) all += "\n  " + e;
    throw std::runtime_error(std::to_string(collected.errors.size()) + " frame(s) failed:" + all);
  }
  analysis::RunAnalyser run_analyser(*used);
  std::vector<analysis::FrameAnalysis> results;
  for (auto& [seq, f] : collected.frames) {
    run_analyser.add({collected.time_s.at(seq), f.temperature_K, f.s_eq_J_per_mol_K});
    results.push_back(std::move(f));
  }
  const auto run = run_analyser.compute();
  std::string where;
  if (output) {
    write_analysis(h5::open_group(output, "/entry"), "analysis", results, axes, run, source, *used, height, width,
                   &*inputs);
    output = {};
    output_guard.path.clear();
    where = o.output.string() + ":/entry/analysis";
  } else if (!o.output.empty()) {
    auto file = h5::create_file(o.output);
    auto entry = h5::create_group(file, "entry", "NXentry");
    write_analysis(entry, "analysis", results, axes, run, source, *used, height, width, nullptr);
    where = o.output.string() + ":/entry/analysis";
  } else {
    auto file = h5::open_file(o.run_file, h5::Access::read_write);
    auto entry = h5::open_group(file, "/entry");
    const auto name = next_group_name(file);
    write_analysis(entry, name, results, axes, run, source, *used, height, width, nullptr);
    where = o.run_file.string() + ":/entry/" + name;
  }
  summarise(out, results, run, where);
  return 0;
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
