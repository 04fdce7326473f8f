#include "daemon/storage/frame_analysis_writer.hpp"

#include <stdexcept>
#include <tuple>
#include <vector>

#include "daemon/storage/run_analysis_writer.hpp"
#include "daemon/storage/schema.hpp"

namespace insitu::storage {
namespace {

namespace s = schema;
namespace a = schema::analysis;

constexpr hsize_t row_chunk_rows = 16;  // [N, n] per-frame curves: 16 frames (~3 min) per chunk
constexpr hsize_t scalar_chunk_rows = 1024;

void put(const h5::Handle& d, double v) {
  h5::append<double>(d, std::span<const double>(&v, 1));
  h5::flush(d);
}

void put_row(const h5::Handle& d, const std::vector<double>& row) {
  h5::append<double>(d, std::span<const double>(row), 1);
  h5::flush(d);
}

h5::Handle rows(const h5::Handle& proc, const char* name, std::size_t width, const char* long_name, const char* units) {
  h5::Handle d = h5::create_extendable(
      proc, name, {.type = h5::dtype_of<double>(), .tail_shape = {width}, .chunk_rows = row_chunk_rows});
  h5::set_attribute(d, s::attr::long_name, long_name);
  if (units) h5::set_attribute(d, s::attr::units, units);
  return d;
}

h5::Handle column(const h5::Handle& proc, const char* name, const char* units) {
  h5::Handle d = h5::create_extendable(
      proc, name, {.type = h5::dtype_of<double>(), .tail_shape = {}, .chunk_rows = scalar_chunk_rows});
  if (units) h5::set_attribute(d, s::attr::units, units);
  return d;
}

void axis(const h5::Handle& proc, const char* name, const std::vector<double>& values, const char* units,
          const char* long_name) {
  h5::Handle d = h5::create_fixed(proc, name, {.type = h5::dtype_of<double>(), .shape = {values.size()}});
  h5::write<double>(d, values);
  h5::set_attribute(d, s::attr::units, units);
  h5::set_attribute(d, s::attr::long_name, long_name);
}

// One NXdata of a per-frame curve: signal [frame, n] against the frame number and `radial` (Q or r), the temperature
// along the frame axis as a second coordinate (temperature_indices) for viewers that offer it.
void curve_plot(const h5::Handle& proc, const std::string& proc_path, const char* name, const char* signal,
                const char* radial, const char* errors) {
  const h5::Handle plot = h5::create_group(proc, name, s::nx::data);
  h5::set_attribute(plot, s::attr::signal, signal);
  h5::set_attribute(plot, s::attr::axes, std::vector<std::string>{a::frame, radial});
  h5::set_attribute(plot, std::string(a::frame) + "_indices", std::int64_t{0});
  h5::set_attribute(plot, "temperature_indices", std::int64_t{0});
  h5::set_attribute(plot, std::string(radial) + "_indices", std::int64_t{1});
  for (const char* linked : {signal, radial, a::temperature}) h5::soft_link(plot, proc_path + "/" + linked, linked);
  h5::soft_link(plot, proc_path + "/" + a::sequence_number, a::frame);
  if (errors) h5::soft_link(plot, proc_path + "/" + errors, errors);
}

// The per-frame NXdata (analysis/integrated keeps NXazint1d's name for I(Q)) and S_eq of every frame against T.
void write_plots(const h5::Handle& proc, const std::string& proc_path) {
  curve_plot(proc, proc_path, a::integrated, a::intensity, a::radial_axis, a::intensity_errors);
  curve_plot(proc, proc_path, a::structure_factor_plot, a::s_of_q, a::q_reduced, nullptr);
  curve_plot(proc, proc_path, a::reduced_structure_factor_plot, a::f_of_q, a::q_reduced, nullptr);
  curve_plot(proc, proc_path, a::reduced_pdf_plot, a::g_of_r, a::r, nullptr);
  curve_plot(proc, proc_path, a::pair_distribution_plot, a::pair_distribution, a::r, nullptr);

  const h5::Handle entropy = h5::create_group(proc, a::entropy_plot, s::nx::data);
  h5::set_attribute(entropy, s::attr::signal, a::s_eq);
  h5::set_attribute(entropy, s::attr::axes, a::temperature);
  h5::set_attribute(entropy, s::attr::description, "S_eq of every frame in acquisition order (heating and cooling)");
  for (const char* linked : {a::s_eq, a::temperature}) h5::soft_link(entropy, proc_path + "/" + linked, linked);
}

}  // namespace

FrameAnalysisWriter::FrameAnalysisWriter(const h5::Handle& file, const std::string& entry_path,
                                         const AnalysisLayout& layout, const ProcessInfo& process)
    : layout_(layout) {
  using h5::set_attribute;
  const auto& axes = layout.axes;
  if (axes.q_inv_angstrom.empty() || axes.q_reduced_inv_angstrom.empty() || axes.r_angstrom.empty())
    throw std::invalid_argument("analysis layout: every axis (Q, reduced Q, r) needs at least one point");
  const h5::Handle entry = h5::open_group(file, entry_path);
  process_ = h5::create_group(entry, a::group, s::nx::process);
  h5::write_string(process_, a::program, process.program);
  h5::write_string(process_, a::version, process.version);
  h5::write_string(process_, a::date, process.date_iso);
  h5::write_string(process_, a::source, process.source);
  write_parameters(process_, a::parameters, layout.parameters);
  write_analysis_inputs(process_, layout);
  if (layout.mask_height > 0) {
    mask_ = h5::create_fixed(process_, a::mask,
                             {.type = h5::dtype_of<std::uint8_t>(),
                              .shape = {layout.mask_height, layout.mask_width},
                              .filter = h5::Filter::shuffle_deflate});
    set_attribute(mask_, s::attr::description,
                  "static mask of the integration, non-zero = masked: the recipe's detector.mask and the bad pixels "
                  "of the darks (pixel_mask != 0) once they are in, or what insitu reprocess was given");
    if (!layout.mask.empty()) write_mask(layout.mask);
  }
  axis(process_, a::radial_axis, axes.q_inv_angstrom, s::unit::inverse_angstrom, "Q (1/angstrom)");
  axis(process_, a::q_reduced, axes.q_reduced_inv_angstrom, s::unit::inverse_angstrom, "Q (1/angstrom)");
  axis(process_, a::r, axes.r_angstrom, s::unit::angstrom, "r (angstrom)");

  const std::size_t nq = axes.q_inv_angstrom.size(), nqr = axes.q_reduced_inv_angstrom.size(),
                    nr = axes.r_angstrom.size();
  // I(Q) is the mean of the pixels' counts on each Q bin (after the polarisation and solid-angle corrections).
  intensity_ = rows(process_, a::intensity, nq, "I(Q) (counts)", s::unit::counts);
  intensity_sigma_ = rows(process_, a::intensity_errors, nq, "Poisson sigma of I(Q) (counts)", s::unit::counts);
  structure_factor_ = rows(process_, a::s_of_q, nqr, "S(Q)", s::unit::dimensionless);
  reduced_structure_factor_ =
      rows(process_, a::f_of_q, nqr, "F(Q) = Q[S(Q) - 1] (1/angstrom)", s::unit::inverse_angstrom);
  reduced_pdf_ = rows(process_, a::g_of_r, nr, "G(r) (1/angstrom^2)", s::unit::inverse_angstrom_squared);
  pair_distribution_ = rows(process_, a::pair_distribution, nr, "g(r)", s::unit::dimensionless);
  rho0_fit_ = column(process_, a::rho0_fit, s::unit::inverse_cubic_angstrom);
  rho0_nominal_ = column(process_, a::rho0_nominal, s::unit::inverse_cubic_angstrom);
  s_eq_ = column(process_, a::s_eq, s::unit::entropy);
  set_attribute(s_eq_, s::attr::long_name, "S_eq (J/(mol K))");
  set_attribute(s_eq_, s::attr::description, "configurational entropy S_eq (paper Eq. 2)");
  s_eq_k_B_ = column(process_, a::s_eq_k_B, s::unit::dimensionless);
  set_attribute(s_eq_k_B_, s::attr::long_name, "S_eq (k_B per atom)");
  temperature_ = column(process_, a::temperature, s::unit::kelvin);
  set_attribute(temperature_, s::attr::long_name, "T (K)");
  set_attribute(temperature_, s::attr::description,
                "frame mean temperature: the sample's when /entry/sample/temperature_calibration exists, else the stage "
                "sensor's");
  analysis_time_ = column(process_, a::analysis_time, s::unit::second);
  sequence_number_ =
      h5::create_extendable(process_, a::sequence_number,
                            {.type = h5::dtype_of<std::uint64_t>(), .tail_shape = {}, .chunk_rows = scalar_chunk_rows});
  set_attribute(sequence_number_, s::attr::description, "written last for each frame: rows below its length are complete");
  set_attribute(sequence_number_, s::attr::long_name, "frame");
  write_plots(process_, s::entry_path(entry_path, a::group));
}

FrameAnalysisWriter FrameAnalysisWriter::reopen(const h5::Handle& file, const std::string& entry_path,
                                                const AnalysisLayout& layout) {
  FrameAnalysisWriter w(layout);
  w.process_ = h5::open_group(file, s::entry_path(entry_path, a::group));
  w.sequence_number_ = h5::open_dataset(w.process_, a::sequence_number);
  const hsize_t frames = h5::rows(w.sequence_number_);
  const auto cut = [&](const char* name) {
    h5::Handle d = h5::open_dataset(w.process_, name);
    if (h5::rows(d) != frames) h5::resize_rows(d, frames);
    return d;
  };
  const auto& axes = layout.axes;
  for (auto [handle, name, width] :
       {std::tuple{&w.intensity_, a::intensity, axes.q_inv_angstrom.size()},
        {&w.intensity_sigma_, a::intensity_errors, axes.q_inv_angstrom.size()},
        {&w.structure_factor_, a::s_of_q, axes.q_reduced_inv_angstrom.size()},
        {&w.reduced_structure_factor_, a::f_of_q, axes.q_reduced_inv_angstrom.size()},
        {&w.reduced_pdf_, a::g_of_r, axes.r_angstrom.size()},
        {&w.pair_distribution_, a::pair_distribution, axes.r_angstrom.size()}}) {
    *handle = cut(name);
    const auto shape = h5::shape(*handle);
    if (shape.size() != 2 || shape[1] != width)
      throw std::runtime_error(h5::object_path(*handle) + ": rows are not " + std::to_string(width) +
                               " wide as the run's analysis axes");
  }
  for (auto [handle, name] : {std::pair{&w.rho0_fit_, a::rho0_fit}, {&w.rho0_nominal_, a::rho0_nominal},
                              {&w.s_eq_, a::s_eq}, {&w.s_eq_k_B_, a::s_eq_k_B}, {&w.temperature_, a::temperature},
                              {&w.analysis_time_, a::analysis_time}})
    *handle = cut(name);
  if (layout.mask_height > 0) w.mask_ = h5::open_dataset(w.process_, a::mask);
  return w;
}

void FrameAnalysisWriter::append(const analysis::FrameAnalysis& f) {
  check_frame_analysis(layout_, f);
  const std::pair<const h5::Handle*, const std::vector<double>*> curves[] = {
      {&intensity_, &f.intensity},         {&intensity_sigma_, &f.intensity_sigma},
      {&structure_factor_, &f.structure_factor}, {&reduced_structure_factor_, &f.reduced_structure_factor},
      {&reduced_pdf_, &f.reduced_pdf},     {&pair_distribution_, &f.pair_distribution}};
  for (const auto& [dataset, row] : curves) put_row(*dataset, *row);
  const std::pair<const h5::Handle*, double> values[] = {
      {&rho0_fit_, f.rho0_fit_per_cubic_angstrom}, {&rho0_nominal_, f.rho0_nominal_per_cubic_angstrom},
      {&s_eq_, f.s_eq_J_per_mol_K},               {&s_eq_k_B_, f.s_eq_k_B},
      {&temperature_, f.temperature_K},           {&analysis_time_, f.analysis_time_s}};
  for (const auto& [dataset, value] : values) put(*dataset, value);
  h5::append<std::uint64_t>(sequence_number_, std::span<const std::uint64_t>(&f.sequence, 1));
  h5::flush(sequence_number_);
}

void FrameAnalysisWriter::write_mask(std::span<const std::uint8_t> mask) {
  if (layout_.mask_height == 0 || mask.size() != layout_.mask_height * layout_.mask_width)
    throw std::invalid_argument("analysis mask of " + std::to_string(mask.size()) + " pixels for a " +
                                std::to_string(layout_.mask_height) + "x" + std::to_string(layout_.mask_width) +
                                " mask dataset");
  h5::write<std::uint8_t>(mask_, mask, layout_.mask_height);
  h5::flush(mask_);
}

void FrameAnalysisWriter::close() {
  for (auto* d : {&intensity_, &intensity_sigma_, &structure_factor_, &reduced_structure_factor_, &reduced_pdf_,
                  &pair_distribution_, &rho0_fit_, &rho0_nominal_, &s_eq_, &s_eq_k_B_, &temperature_,
                  &analysis_time_, &sequence_number_, &mask_, &process_})
    d->close();
}

}  // namespace insitu::storage
