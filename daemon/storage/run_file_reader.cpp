#include "daemon/storage/run_file_reader.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace insitu::storage {
namespace {

namespace s = schema;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

std::string join(const std::string& group, const char* name) { return group + "/" + name; }

template <class T>
std::vector<T> column(const h5::Handle& file, const std::string& path) {
  return h5::exists(file, path) ? h5::read_1d<T>(h5::open_dataset(file, path)) : std::vector<T>{};
}

std::vector<std::string> strings(const h5::Handle& file, const std::string& path) {
  return h5::exists(file, path) ? h5::read_strings(h5::open_dataset(file, path)) : std::vector<std::string>{};
}

// The first value of a 1-element (or scalar) dataset; NaN when it is absent or empty.
double first_value(const h5::Handle& file, const std::string& path) {
  const auto v = column<double>(file, path);
  return v.empty() ? nan : v.front();
}

// Cuts every column to `rows`: rows at or beyond the commit marker's length may be half written.
template <class... Columns>
void keep_rows(std::size_t rows, Columns&... columns) {
  ((columns.resize(std::min(columns.size(), rows))), ...);
}

// Insitu writes /entry_dma, or an /entry whose program (or analysis program) is insitu's.
bool written_by_insitu(const h5::Handle& file) {
  for (const char* entry : {s::entry_dma, s::entry_dsc, s::entry_compare})
    if (h5::exists(file, entry)) return true;
  const std::string program = std::string(s::analysis::group) + "/" + s::analysis::program;
  for (const std::string& relative : {std::string(s::entry_field::program_name), program}) {
    const std::string path = s::entry_path(s::entry, relative);
    if (h5::exists(file, path) && h5::read_string(file, path).starts_with("insitu")) return true;
  }
  return false;
}

}  // namespace

std::string parameter_text(const h5::Handle& file, const std::string& path) {
  const h5::Handle d = h5::open_dataset(file, path);
  switch (h5::value_class(d)) {
    case h5::ValueClass::string: return h5::read_string(file, path);
    case h5::ValueClass::integer: {
      const auto v = h5::read_1d<std::int64_t>(d);
      return v.empty() ? std::string() : std::to_string(v.front());
    }
    default: {
      std::string out;
      for (double v : h5::read_1d<double>(d)) {
        std::array<char, 32> text{};
        const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc()) throw h5::Error(path + ": a number that cannot be formatted");
        out += (out.empty() ? "" : " ") + std::string(text.data(), end);
      }
      return out;
    }
  }
}

int EventLog::count(const std::string& k, const std::string& fragment) const {
  int n = 0;
  for (std::size_t i = 0; i < rows(); ++i) n += kind[i] == k && message[i].find(fragment) != std::string::npos;
  return n;
}

namespace {

// A dataset where a group is looked for (an NXdata's sibling in a listing) is no group: no exception.
bool is_group(const h5::Handle& file, const std::string& path) {
  return h5::exists(file, path) && H5Iget_type(h5::open_object(file, path).get()) == H5I_GROUP;
}

}  // namespace

RunFileReader::RunFileReader(const std::filesystem::path& path) : path_(path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw NotARunFile(path.string() + ": no such file");
  if (!h5::is_hdf5(path)) throw NotARunFile(path.string() + ": not an HDF5 file");
  try {
    file_ = h5::open_file(path, h5::Access::read);
  } catch (const h5::Error&) {
    // Still being written (SWMR), or left open by a crash: read what was flushed.
    try {
      file_ = h5::open_file(path, h5::Access::swmr_read);
      swmr_ = true;
    } catch (const h5::Error& e) {
      // Marked open by a writer outside SWMR (the end of a run, which reopens the file, cut by a kill or a full
      // disk): HDF5 opens it for no reader until the mark is cleared.
      if (std::string_view(e.what()).find("not already open for SWMR writing") != std::string_view::npos)
        throw NotARunFile(path.string() + ": left open by a writer that did not close it (killed, or the disk was full "
                                          "while the run ended); `insitu recover " + path.string() +
                          "` makes it readable");
      throw NotARunFile(path.string() + ": a damaged or truncated HDF5 file (" + std::string(e.what()).substr(0, 160) +
                        ")");
    }
  }
  try {
    if (!written_by_insitu(file_))
      throw NotARunFile(path.string() + ": an HDF5 file that insitu did not write (no insitu /entry, /entry_dma, /entry_dsc or /entry_compare)");
  } catch (const h5::Error& e) {
    throw NotARunFile(path.string() + ": unreadable HDF5 (" + std::string(e.what()).substr(0, 160) + ")");
  }
}

bool RunFileReader::has_run_entry() const { return h5::exists(file_, s::entry); }
bool RunFileReader::has_dma_entry() const { return h5::exists(file_, s::entry_dma); }

std::optional<std::string> RunFileReader::text(const std::string& relative, const std::string& entry) const {
  const std::string path = s::entry_path(entry, relative);
  if (!h5::exists(file_, path)) return std::nullopt;
  return h5::read_string(file_, path);
}

std::optional<std::string> RunFileReader::temperature_log_group() const {
  for (const char* relative : {s::log::group, s::log::legacy_group}) {  // NXsensor's value_log, or the older layout
    const std::string g = s::entry_path(s::entry, relative);
    if (h5::exists(file_, g)) return g;
  }
  return std::nullopt;
}

bool RunFileReader::has_temperature_log() const { return temperature_log_group().has_value(); }

TemperatureLog RunFileReader::temperature_log() const {
  namespace l = s::log;
  TemperatureLog r;
  const auto group = temperature_log_group();
  if (!group) return r;
  const std::string& g = *group;
  r.time_s = column<double>(file_, join(g, l::time));  // read first: the marker bounds what the others may hold
  r.time_uncertainty_s = column<double>(file_, join(g, l::time_uncertainty));
  r.value_K = column<double>(file_, join(g, l::value));
  r.setpoint_K = column<double>(file_, join(g, l::setpoint));
  r.status = column<std::uint8_t>(file_, join(g, l::status));
  r.error = column<std::uint8_t>(file_, join(g, l::error));
  r.pump = column<std::uint8_t>(file_, join(g, l::pump));
  const std::size_t n = std::min({r.time_s.size(), r.value_K.size(), r.setpoint_K.size()});
  keep_rows(n, r.time_s, r.time_uncertainty_s, r.value_K, r.setpoint_K, r.status, r.error, r.pump);
  return r;
}

TemperatureDeviations RunFileReader::temperature_deviations() const {
  namespace d = s::deviations;
  const std::string g = s::entry_path(s::entry, d::group);
  TemperatureDeviations r;
  r.start_s = column<double>(file_, join(g, d::start_time));
  r.end_s = column<double>(file_, join(g, d::end_time));
  r.max_deviation_K = column<double>(file_, join(g, d::max_deviation));
  keep_rows(std::min({r.start_s.size(), r.end_s.size(), r.max_deviation_K.size()}), r.start_s, r.end_s,
            r.max_deviation_K);
  return r;
}

EventLog RunFileReader::events() const {
  namespace e = s::events;
  const std::string g = s::entry_path(s::entry, e::group);
  EventLog r;
  r.time_s = column<double>(file_, join(g, e::time));
  r.kind = strings(file_, join(g, e::kind));
  r.message = strings(file_, join(g, e::message));
  keep_rows(std::min({r.time_s.size(), r.kind.size(), r.message.size()}), r.time_s, r.kind, r.message);
  return r;
}

std::optional<FrameRecords> RunFileReader::frames() const {
  namespace d = s::detector;
  const std::string g = s::entry_path(s::entry, d::group);
  if (!h5::exists(file_, join(g, d::sequence_number))) return std::nullopt;
  FrameRecords r;
  r.sequence = column<std::uint64_t>(file_, join(g, d::sequence_number));
  if (h5::exists(file_, join(g, d::data))) {
    const auto shape = h5::shape(h5::open_dataset(file_, join(g, d::data)));
    if (shape.size() != 3) throw h5::Error(join(g, d::data) + " is not [frames, height, width]");
    r.height = shape[1], r.width = shape[2];
    keep_rows(shape[0], r.sequence);
  }
  r.start_s = column<double>(file_, join(g, d::start_time));
  r.stop_s = column<double>(file_, join(g, d::stop_time));
  const std::string temps = g + "/" + d::frame_temperature;
  // A run with a sample calibration was analysed on the sample's scale.
  r.t_mean_K = h5::exists(file_, join(temps, d::t_sample_mean)) ? column<double>(file_, join(temps, d::t_sample_mean))
                                                                 : column<double>(file_, join(temps, d::t_mean));
  r.image_key = column<std::int32_t>(file_, join(g, d::image_key));
  r.flags = column<std::uint32_t>(file_, join(g, d::flags));
  keep_rows(std::min({r.sequence.size(), r.start_s.size(), r.stop_s.size(), r.t_mean_K.size()}), r.sequence,
            r.start_s, r.stop_s, r.t_mean_K, r.image_key, r.flags);
  return r;
}

std::vector<float> RunFileReader::frame_pixels(std::size_t row) const {
  return h5::read_row<float>(h5::open_dataset(file_, s::entry_path(s::entry, s::detector::group) + "/" + s::detector::data),
                             row);
}

std::vector<float> RunFileReader::dark_median() const {
  const std::string path = s::entry_path(s::entry, s::detector::group) + "/" + s::detector::dark_median;
  const auto frames = this->frames();
  auto darks = column<float>(file_, path);
  const std::size_t n = frames ? frames->height * frames->width : 0;
  if (darks.empty() || n == 0) return {};
  if (darks.size() % n != 0) throw h5::Error(path + " does not hold whole frames");
  return std::vector<float>(darks.end() - static_cast<std::ptrdiff_t>(n), darks.end());  // the newest dark
}

std::optional<StoredSampleCalibration> RunFileReader::sample_calibration() const {
  const std::string g = s::entry_path(s::entry, s::sample::calibration);
  if (!h5::exists(file_, g)) return std::nullopt;
  StoredSampleCalibration c{column<double>(file_, join(g, s::sample::calibration_sensor)),
                            column<double>(file_, join(g, s::sample::calibration_sample)), ""};
  if (auto source = text(std::string(s::sample::calibration) + "/" + s::sample::calibration_source)) c.source = *source;
  return c;
}

SampleRecord RunFileReader::sample() const {
  namespace sm = s::sample;
  const auto field = [&](const std::string& name) { return text(std::string(sm::group) + "/" + name).value_or(""); };
  SampleRecord out{field(sm::name), field(sm::chemical_formula), field(sm::treatment), field(sm::description), {}};
  const std::string state = std::string(sm::group) + "/" + sm::state;
  const std::string g = s::entry_path(s::entry, state);
  if (!h5::exists(file_, g)) return out;
  const auto rotations = column<std::int64_t>(file_, join(g, sm::rotations));
  out.state = SampleStateRecord{field(std::string(sm::state) + "/" + sm::state_label),
                                field(std::string(sm::state) + "/" + sm::deformation),
                                rotations.empty() ? 0 : rotations.front(),
                                first_value(file_, join(g, sm::deformation_temperature)),
                                first_value(file_, join(g, sm::storage_temperature))};
  return out;
}

StoredPdf RunFileReader::reduced_pdf(std::size_t row, const std::string& entry) const {
  const std::string g = s::entry_path(entry, s::analysis::group);
  const auto dataset = h5::open_dataset(file_, join(g, s::analysis::g_of_r));
  if (row >= h5::rows(dataset)) throw h5::Error(join(g, s::analysis::g_of_r) + " has no row " + std::to_string(row));
  return {column<double>(file_, join(g, s::analysis::r)), h5::read_row<double>(dataset, row)};
}

StoredIntensity RunFileReader::intensity(std::size_t row, const std::string& entry) const {
  const std::string g = s::entry_path(entry, s::analysis::group);
  const auto intensity = h5::open_dataset(file_, join(g, s::analysis::intensity));
  if (row >= h5::rows(intensity))
    throw h5::Error(join(g, s::analysis::intensity) + " has no row " + std::to_string(row));
  return {column<double>(file_, join(g, s::analysis::radial_axis)), h5::read_row<double>(intensity, row),
          h5::read_row<double>(h5::open_dataset(file_, join(g, s::analysis::intensity_errors)), row)};
}

StoredCurves RunFileReader::frame_curves(std::size_t row, const std::string& entry) const {
  const std::string g = s::entry_path(entry, s::analysis::group);
  const auto row_of = [&](const char* name) {
    const auto dataset = h5::open_dataset(file_, join(g, name));
    if (row >= h5::rows(dataset)) throw h5::Error(join(g, name) + " has no row " + std::to_string(row));
    return h5::read_row<double>(dataset, row);
  };
  return {column<double>(file_, join(g, s::analysis::radial_axis)), row_of(s::analysis::intensity),
          column<double>(file_, join(g, s::analysis::q_reduced)),   row_of(s::analysis::s_of_q),
          column<double>(file_, join(g, s::analysis::r)),           row_of(s::analysis::g_of_r)};
}

std::optional<StoredPlot> RunFileReader::nxdata(const std::string& path) const {
  if (!is_group(file_, path)) return std::nullopt;
  const auto group = h5::open_group(file_, path);
  if (!h5::has_attribute(group, s::attr::signal) || !h5::has_attribute(group, s::attr::axes)) return std::nullopt;
  const auto units_of = [](const h5::Handle& dataset) {
    return h5::has_attribute(dataset, s::attr::units) ? h5::read_string_attribute(dataset, s::attr::units) : "";
  };
  StoredPlot plot;
  const auto axes = h5::read_string_array_attribute(group, s::attr::axes);
  plot.axis = axes.empty() ? "" : axes.front();
  const auto axis = h5::open_dataset(group, plot.axis);
  plot.x = h5::read_1d<double>(axis);
  plot.axis_units = units_of(axis);
  std::vector<std::string> names{h5::read_string_attribute(group, s::attr::signal)};
  if (h5::has_attribute(group, "auxiliary_signals")) {
    for (auto& name : h5::read_string_array_attribute(group, "auxiliary_signals")) names.push_back(std::move(name));
  }
  for (const auto& name : names) {
    const auto dataset = h5::open_dataset(group, name);
    if (h5::shape(dataset).size() != 1) continue;  // a frame stack is no curve
    if (plot.signals.empty()) plot.signal_units = units_of(dataset);
    plot.signals.emplace_back(name, h5::read_1d<double>(dataset));
  }
  return plot;
}

std::vector<std::string> RunFileReader::members(const std::string& path) const {
  if (!is_group(file_, path)) return {};
  auto names = h5::link_names(h5::open_group(file_, path));
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<double> RunFileReader::numbers(const std::string& path) const {
  if (!h5::exists(file_, path)) return {};
  return h5::read_1d<double>(h5::open_dataset(file_, path));
}

std::vector<std::string> RunFileReader::analysis_entries() const {
  std::vector<std::string> out;
  std::vector<std::pair<int, std::string>> reprocessed;
  for (const auto& name : h5::link_names(h5::open_group(file_, "/"))) {
    const std::string entry = "/" + name;
    if (!h5::exists(file_, s::entry_path(entry, s::analysis::group))) continue;
    if (entry == s::entry) out.push_back(entry);
    else if (name.starts_with(s::reprocessed_prefix))
      reprocessed.emplace_back(std::atoi(name.c_str() + std::string(s::reprocessed_prefix).size()), entry);
  }
  std::sort(reprocessed.begin(), reprocessed.end());
  for (auto& [n, entry] : reprocessed) out.push_back(std::move(entry));
  return out;
}

std::string RunFileReader::next_reprocessed_entry() const {
  for (int i = 1;; ++i) {
    const std::string entry = "/" + std::string(s::reprocessed_prefix) + std::to_string(i);
    if (!h5::exists(file_, entry)) return entry;
  }
}

std::optional<AnalysisRecord> RunFileReader::analysis(const std::string& entry) const {
  namespace a = s::analysis;
  namespace r = s::run;
  const std::string g = s::entry_path(entry, a::group);
  if (!h5::exists(file_, g)) return std::nullopt;
  AnalysisRecord out;
  out.entry = entry;
  out.program = text(std::string(a::group) + "/" + a::program, entry).value_or("");
  out.source = text(std::string(a::group) + "/" + a::source, entry).value_or("");
  out.parameters = parameters(entry);
  const std::string run_parameters = join(g, r::parameters);
  if (h5::exists(file_, run_parameters))
    for (const auto& name : h5::link_names(h5::open_group(file_, run_parameters)))
      out.run_parameters[name] = parameter_text(file_, run_parameters + "/" + name);
  out.sequence = column<std::uint64_t>(file_, join(g, a::sequence_number));
  out.temperature_K = column<double>(file_, join(g, a::temperature));
  out.s_eq_J_per_mol_K = column<double>(file_, join(g, a::s_eq));
  keep_rows(std::min({out.sequence.size(), out.temperature_K.size(), out.s_eq_J_per_mol_K.size()}), out.sequence,
            out.temperature_K, out.s_eq_J_per_mol_K);

  const std::string rg = s::entry_path(entry, r::group);
  auto& run = out.run;
  run.temperature_K = column<double>(file_, join(rg, r::temperature));
  run.s_eq_smoothed_J_per_mol_K = column<double>(file_, join(rg, r::s_eq_smoothed));
  run.ds_eq_dT_J_per_mol_K2 = column<double>(file_, join(rg, r::ds_eq_dT));
  run.delta_phi_W_per_mol = column<double>(file_, join(rg, r::delta_phi));
  keep_rows(run.temperature_K.size(), run.s_eq_smoothed_J_per_mol_K, run.ds_eq_dT_J_per_mol_K2,
            run.delta_phi_W_per_mol);
  run.t_g_K = first_value(file_, join(rg, r::t_g));
  run.t_g_low_K = first_value(file_, join(rg, r::t_g_low));
  run.t_g_high_K = first_value(file_, join(rg, r::t_g_high));
  run.heating_rate_K_per_s = first_value(file_, join(rg, r::heating_rate));
  run.feature_kind = strings(file_, join(rg, r::feature_kind));
  run.feature_temperature_K = column<double>(file_, join(rg, r::feature_temperature));
  keep_rows(run.feature_temperature_K.size(), run.feature_kind);
  return out;
}

std::optional<analysis::Geometry> RunFileReader::geometry() const {
  namespace gm = s::geometry;
  const std::string g = s::entry_path(s::entry, s::detector::group) + "/" + s::detector::geometry;
  if (!h5::exists(file_, g)) return std::nullopt;
  const auto scalar = [&](const char* name) {
    const auto v = h5::read_1d<double>(h5::open_dataset(file_, join(g, name)));
    if (v.size() != 1) throw h5::Error(join(g, name) + " holds " + std::to_string(v.size()) + " values, not one");
    return v.front();
  };
  analysis::Geometry out;
  out.distance_m = scalar(gm::distance);
  out.poni1_m = scalar(gm::poni1);
  out.poni2_m = scalar(gm::poni2);
  out.rot1_rad = scalar(gm::rot1);
  out.rot2_rad = scalar(gm::rot2);
  out.rot3_rad = scalar(gm::rot3);
  out.wavelength_m = scalar(gm::wavelength);
  out.pixel1_m = scalar(gm::pixel1);
  out.pixel2_m = scalar(gm::pixel2);
  out.detector = h5::read_string(file_, join(g, gm::detector));
  return out;
}

std::map<std::string, std::string> RunFileReader::parameters(const std::string& entry) const {
  std::map<std::string, std::string> out;
  const std::string g = s::entry_path(entry, s::analysis::group) + "/" + s::analysis::parameters;
  if (!h5::exists(file_, g)) return out;
  for (const auto& name : h5::link_names(h5::open_group(file_, g))) out[name] = parameter_text(file_, g + "/" + name);
  return out;
}

std::optional<StoredFormFactors> RunFileReader::form_factors(const std::string& entry) const {
  namespace ff = s::form_factors;
  const std::string g = s::entry_path(entry, s::analysis::group) + "/" + s::analysis::form_factors;
  if (!h5::exists(file_, g)) return std::nullopt;
  const auto elements = h5::read_strings(h5::open_dataset(file_, join(g, ff::element)));
  const auto z = h5::read_1d<std::int64_t>(h5::open_dataset(file_, join(g, ff::atomic_number)));
  const auto a = h5::read_1d<double>(h5::open_dataset(file_, join(g, ff::a)));
  const auto c = h5::read_1d<double>(h5::open_dataset(file_, join(g, ff::c)));
  const auto b = h5::read_1d<double>(h5::open_dataset(file_, join(g, ff::b)));
  const std::size_t n = elements.size();
  if (z.size() != n || c.size() != n || a.size() != 5 * n || b.size() != 5 * n)
    throw h5::Error(g + ": element, atomic_number, a[n,5], c, b[n,5] disagree in n");
  StoredFormFactors out;
  out.source = g;
  for (std::size_t i = 0; i < n; ++i) {
    analysis::WaasKirfCoefficients k;
    k.atomic_number = static_cast<int>(z[i]);
    k.c = c[i];
    for (std::size_t j = 0; j < 5; ++j) k.a[j] = a[5 * i + j], k.b[j] = b[5 * i + j];
    out.coefficients.emplace_back(elements[i], k);
  }
  return out;
}

std::optional<std::string> RunFileReader::background_text(const std::string& entry) const {
  return text(std::string(s::analysis::group) + "/" + s::analysis::background + "/" + s::note::data, entry);
}

std::optional<std::vector<std::uint8_t>> RunFileReader::analysis_mask(const std::string& entry) const {
  const std::string path = s::entry_path(entry, s::analysis::group) + "/" + s::analysis::mask;
  if (!h5::exists(file_, path)) return std::nullopt;
  return h5::read_1d<std::uint8_t>(h5::open_dataset(file_, path));
}

}  // namespace insitu::storage
