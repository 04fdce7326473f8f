#include "daemon/storage/analysis_layout.hpp"

#include <limits>
#include <stdexcept>
#include <vector>

namespace insitu::storage {
namespace {

constexpr hsize_t row_chunk_rows = 16;    // [N, n] per-frame curves: 16 frames (~3 min) per chunk
constexpr hsize_t scalar_chunk_rows = 1024;
constexpr std::size_t feature_kind_length = 32;

void check_size(const std::string& what, std::size_t got, std::size_t expected) {
  if (got != expected)
    throw std::invalid_argument("analysis: " + what + " has " + std::to_string(got) + " values, the axis has " +
                                std::to_string(expected));
}

void put(const h5::Handle& d, double v) {
  h5::append<double>(d, std::span<const double>(&v, 1));
  h5::flush(d);
}

void put_row(const h5::Handle& d, const std::vector<double>& row) {
  h5::append<double>(d, std::span<const double>(row), 1);
  h5::flush(d);
}

void replace(const h5::Handle& d, const std::vector<double>& values) {
  h5::write<double>(d, values);
  h5::flush(d);
}

void replace_scalar(const h5::Handle& d, double v) {
  h5::write<double>(d, std::span<const double>(&v, 1));
  h5::flush(d);
}

std::string dataset_name(const std::string& key) {
  if (key.empty() || key == "." || key == "..") throw std::invalid_argument("analysis parameter name '" + key + "'");
  std::string name = key;
  for (char& c : name)
    if (c == '/') c = '_';  // a '/' would make a path of groups
  return name;
}

void write_form_factors(const h5::Handle& proc, const AnalysisLayout& layout) {
  const std::size_t n = layout.form_factors.size();
  const h5::Handle g = h5::create_group(proc, "form_factors", "NXcollection");
  h5::set_attribute(g, "source", layout.form_factor_source);
  h5::set_attribute(g, "description",
                    "Waasmaier-Kirfel (1995) f0 coefficients used for the composition: "
                    "f0(Q) = c + sum_i a_i exp(-b_i (Q / 4 pi)^2), Q in 1/angstrom");
  std::vector<std::string> element(n);
  std::vector<std::int64_t> z(n);
  std::vector<double> a(5 * n), c(n), b(5 * n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& [symbol, k] = layout.form_factors[i];
    element[i] = symbol;
    z[i] = k.atomic_number;
    c[i] = k.c;
    for (std::size_t j = 0; j < 5; ++j) a[5 * i + j] = k.a[j], b[5 * i + j] = k.b[j];
  }
  const h5::Handle e = h5::create_extendable(g, "element", {.type = h5::Dtype::fixed_string(8), .tail_shape = {}, .chunk_rows = 16});
  h5::append_strings(e, element);
  const auto fixed = [&]<class T>(const std::string& name, const std::vector<T>& values, std::vector<hsize_t> shape) {
    const h5::Handle d = h5::create_fixed(g, name, {.type = h5::dtype_of<T>(), .shape = std::move(shape)});
    h5::write<T>(d, values, n);
  };
  fixed("atomic_number", z, {n});
  fixed("a", a, {n, 5});
  fixed("c", c, {n});
  fixed("b", b, {n, 5});
}

void write_background(const h5::Handle& proc, const AnalysisLayout& layout) {
  const h5::Handle note = h5::create_group(proc, "background", "NXnote");
  h5::write_string(note, "type", "text/plain");
  h5::write_string(note, "description", "background I(Q) (.xy/.chi), verbatim");
  h5::write_string(note, "file_name", layout.background_file_name);
  h5::write_string(note, "data", layout.background_text);
}

}  // namespace

void check_frame_analysis(const AnalysisLayout& layout, const analysis::FrameAnalysis& f) {
  const auto& a = layout.axes;
  const std::string at = " (frame " + std::to_string(f.sequence) + ")";
  check_size("I(Q)" + at, f.intensity.size(), a.q_inv_angstrom.size());
  check_size("sigma I(Q)" + at, f.intensity_sigma.size(), a.q_inv_angstrom.size());
  check_size("S(Q)" + at, f.structure_factor.size(), a.q_reduced_inv_angstrom.size());
  check_size("F(Q)" + at, f.reduced_structure_factor.size(), a.q_reduced_inv_angstrom.size());
  check_size("G(r)" + at, f.reduced_pdf.size(), a.r_angstrom.size());
  check_size("g(r)" + at, f.pair_distribution.size(), a.r_angstrom.size());
}

void check_run_analysis(const analysis::RunAnalysis& r) {
  const std::size_t n = r.temperature_K.size();
  check_size("run-level S_eq smoothed", r.s_eq_smoothed_J_per_mol_K.size(), n);
  check_size("run-level dS_eq/dT", r.ds_eq_dT_J_per_mol_K2.size(), n);
  check_size("run-level delta_phi", r.delta_phi_W_per_mol.size(), n);
}

void write_analysis_inputs(const h5::Handle& proc, const AnalysisLayout& layout) {
  if (!layout.form_factors.empty()) write_form_factors(proc, layout);
  if (!layout.background_text.empty()) write_background(proc, layout);
}

void write_parameters(const h5::Handle& parent, const std::string& name,
                      const std::map<std::string, std::string>& parameters) {
  const h5::Handle group =
      h5::exists(parent, name) ? h5::open_group(parent, name) : h5::create_group(parent, name, "NXparameters");
  for (const auto& [key, value] : parameters) {
    const std::string dataset = dataset_name(key);
    if (h5::exists(group, dataset)) h5::remove(group, dataset);
    h5::write_string(group, dataset, value);
  }
}

AnalysisWriter::AnalysisWriter(const h5::Handle& file, const std::string& entry_path, const AnalysisLayout& layout,
                               const ProcessInfo& process)
    : layout_(layout) {
  using h5::set_attribute;
  const auto& axes = layout.axes;
  if (axes.q_inv_angstrom.empty() || axes.q_reduced_inv_angstrom.empty() || axes.r_angstrom.empty())
    throw std::invalid_argument("analysis layout: every axis (Q, reduced Q, r) needs at least one point");
  const h5::Handle entry = h5::open_group(file, entry_path);
  const h5::Handle proc = h5::create_group(entry, "analysis", "NXprocess");
  h5::write_string(proc, "program", process.program);
  h5::write_string(proc, "version", process.version);
  h5::write_string(proc, "date", process.date_iso);
  write_parameters(proc, "parameters", layout.parameters);
  write_analysis_inputs(proc, layout);
  if (layout.mask_height > 0) {
    mask_ = h5::create_fixed(proc, "mask",
                             {.type = h5::dtype_of<std::uint8_t>(),
                              .shape = {layout.mask_height, layout.mask_width},
                              .filter = h5::Filter::shuffle_deflate});
    set_attribute(mask_, "description",
                  "static mask of the integration, non-zero = masked: the recipe's detector.mask and the bad pixels "
                  "of the darks (pixel_mask != 0) once they are in");
    if (!layout.mask.empty()) write_mask(layout.mask);
  }

  const auto axis = [&](const std::string& name, const std::vector<double>& values, const char* units) {
    h5::Handle d = h5::create_fixed(proc, name, {.type = h5::dtype_of<double>(), .shape = {values.size()}});
    h5::write<double>(d, values);
    set_attribute(d, "units", units);
  };
  axis("radial_axis", axes.q_inv_angstrom, "1/angstrom");
  axis("Q_reduced", axes.q_reduced_inv_angstrom, "1/angstrom");
  axis("r", axes.r_angstrom, "angstrom");

  const auto rows = [&](const std::string& name, std::size_t width, const char* long_name, const char* units) {
    h5::Handle d = h5::create_extendable(
        proc, name, {.type = h5::dtype_of<double>(), .tail_shape = {width}, .chunk_rows = row_chunk_rows});
    set_attribute(d, "long_name", long_name);
    if (units[0] != '\0') set_attribute(d, "units", units);
    return d;
  };
  const auto column = [](const h5::Handle& parent, const std::string& name, const char* units) {
    h5::Handle d = h5::create_extendable(
        parent, name, {.type = h5::dtype_of<double>(), .tail_shape = {}, .chunk_rows = scalar_chunk_rows});
    if (units[0] != '\0') set_attribute(d, "units", units);
    return d;
  };
  const std::size_t nq = axes.q_inv_angstrom.size(), nqr = axes.q_reduced_inv_angstrom.size(),
                    nr = axes.r_angstrom.size();
  intensity_ = rows("I", nq, "I(Q)", "");
  intensity_sigma_ = rows("I_errors", nq, "Poisson sigma of I(Q)", "");
  structure_factor_ = rows("S_of_Q", nqr, "S(Q)", "");
  reduced_structure_factor_ = rows("F_of_Q", nqr, "F(Q) = Q[S(Q) - 1]", "1/angstrom");
  reduced_pdf_ = rows("G_of_r", nr, "G(r)", "1/angstrom^2");
  pair_distribution_ = rows("g_of_r", nr, "g(r)", "");
  rho0_fit_ = column(proc, "rho0_fit", "1/angstrom^3");
  rho0_nominal_ = column(proc, "rho0_nominal", "1/angstrom^3");
  s_eq_ = column(proc, "S_eq", "J/(mol K)");
  set_attribute(s_eq_, "long_name", "configurational entropy S_eq (Eq. 2)");
  s_eq_k_B_ = column(proc, "S_eq_k_B", "");
  set_attribute(s_eq_k_B_, "long_name", "S_eq per atom in units of k_B");
  temperature_ = column(proc, "temperature", "K");
  set_attribute(temperature_, "long_name",
                "frame mean temperature: the sample's when /entry/sample/temperature_calibration exists, else the stage "
                "sensor's");
  analysis_time_ = column(proc, "analysis_time", "s");
  sequence_number_ = h5::create_extendable(
      proc, "sequence_number", {.type = h5::dtype_of<std::uint64_t>(), .tail_shape = {}, .chunk_rows = scalar_chunk_rows});
  set_attribute(sequence_number_, "description", "written last for each frame: rows below its length are complete");

  const std::string proc_path = entry_path + "/analysis";
  const h5::Handle integrated = h5::create_group(proc, "integrated", "NXdata");
  set_attribute(integrated, "signal", "I");
  set_attribute(integrated, "axes", std::vector<std::string>{".", "radial_axis"});
  for (const char* name : {"I", "I_errors", "radial_axis"}) h5::soft_link(integrated, proc_path + "/" + name, name);

  const h5::Handle run = h5::create_group(proc, "run", "NXcollection");
  run_s_eq_smoothed_ = column(run, "S_eq_smoothed", "J/(mol K)");
  run_ds_eq_dT_ = column(run, "dS_eq_dT", "J/(mol K^2)");
  run_delta_phi_ = column(run, "delta_phi", "W/mol");
  set_attribute(run_delta_phi_, "long_name", "equivalent heat flow T dS_eq/dT beta_h (Eq. 3)");
  run_temperature_ = column(run, "temperature", "K");
  set_attribute(run_temperature_, "description", "rewritten last on each update: rows below its length are complete");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto scalar = [&](const std::string& name, const char* units) {
    h5::Handle d = h5::create_fixed(run, name, {.type = h5::dtype_of<double>(), .shape = {1}, .fill = nan});
    set_attribute(d, "units", units);
    return d;
  };
  run_t_g_ = scalar("T_g", "K");
  run_t_g_low_ = scalar("T_g_low", "K");
  run_t_g_high_ = scalar("T_g_high", "K");
  run_heating_rate_ = scalar("heating_rate", "K/s");
  feature_kind_ = h5::create_extendable(
      run, "feature_kind", {.type = h5::Dtype::fixed_string(feature_kind_length), .tail_shape = {}, .chunk_rows = 64});
  feature_temperature_ = column(run, "feature_temperature", "K");
  feature_reduced_temperature_ = column(run, "feature_reduced_temperature", "");
  set_attribute(feature_reduced_temperature_, "long_name", "T/T_g");
  feature_value_ = column(run, "feature_value", "W/mol");

  const h5::Handle plot = h5::create_group(entry, "entropy", "NXdata");
  set_attribute(plot, "signal", "S_eq");
  set_attribute(plot, "axes", "temperature");
  h5::soft_link(plot, proc_path + "/S_eq", "S_eq");
  h5::soft_link(plot, proc_path + "/temperature", "temperature");
  set_attribute(entry, "default", "entropy");
}

void AnalysisWriter::append(const analysis::FrameAnalysis& f) {
  check_frame_analysis(layout_, f);
  put_row(intensity_, f.intensity);
  put_row(intensity_sigma_, f.intensity_sigma);
  put_row(structure_factor_, f.structure_factor);
  put_row(reduced_structure_factor_, f.reduced_structure_factor);
  put_row(reduced_pdf_, f.reduced_pdf);
  put_row(pair_distribution_, f.pair_distribution);
  put(rho0_fit_, f.rho0_fit_per_cubic_angstrom);
  put(rho0_nominal_, f.rho0_nominal_per_cubic_angstrom);
  put(s_eq_, f.s_eq_J_per_mol_K);
  put(s_eq_k_B_, f.s_eq_k_B);
  put(temperature_, f.temperature_K);
  put(analysis_time_, f.analysis_time_s);
  h5::append<std::uint64_t>(sequence_number_, std::span<const std::uint64_t>(&f.sequence, 1));
  h5::flush(sequence_number_);
  ++frames_;
}

void AnalysisWriter::write_mask(std::span<const std::uint8_t> mask) {
  if (layout_.mask_height == 0 || mask.size() != layout_.mask_height * layout_.mask_width)
    throw std::invalid_argument("analysis mask of " + std::to_string(mask.size()) + " pixels for a " +
                                std::to_string(layout_.mask_height) + "x" + std::to_string(layout_.mask_width) +
                                " mask dataset");
  h5::write<std::uint8_t>(mask_, mask, layout_.mask_height);
  h5::flush(mask_);
}

void AnalysisWriter::update(const analysis::RunAnalysis& r) {
  check_run_analysis(r);
  replace(run_s_eq_smoothed_, r.s_eq_smoothed_J_per_mol_K);
  replace(run_ds_eq_dT_, r.ds_eq_dT_J_per_mol_K2);
  replace(run_delta_phi_, r.delta_phi_W_per_mol);
  replace_scalar(run_t_g_, r.glass_transition_K);
  replace_scalar(run_t_g_low_, r.glass_transition_low_K);
  replace_scalar(run_t_g_high_, r.glass_transition_high_K);
  replace_scalar(run_heating_rate_, r.heating_rate_K_per_s);
  const std::size_t nf = r.features.size();
  std::vector<std::string> kind(nf);
  std::vector<double> t(nf), reduced(nf), value(nf);
  for (std::size_t i = 0; i < nf; ++i) {
    kind[i] = r.features[i].kind;
    t[i] = r.features[i].temperature_K;
    reduced[i] = r.features[i].reduced_temperature;
    value[i] = r.features[i].value;
  }
  h5::resize_rows(feature_kind_, 0);
  h5::append_strings(feature_kind_, kind);
  h5::flush(feature_kind_);
  replace(feature_reduced_temperature_, reduced);
  replace(feature_value_, value);
  replace(feature_temperature_, t);
  replace(run_temperature_, r.temperature_K);
}

void AnalysisWriter::close() {
  for (auto* d : {&intensity_,
                  &intensity_sigma_,
                  &structure_factor_,
                  &reduced_structure_factor_,
                  &reduced_pdf_,
                  &pair_distribution_,
                  &rho0_fit_,
                  &rho0_nominal_,
                  &s_eq_,
                  &s_eq_k_B_,
                  &temperature_,
                  &analysis_time_,
                  &sequence_number_,
                  &run_temperature_,
                  &run_s_eq_smoothed_,
                  &run_ds_eq_dT_,
                  &run_delta_phi_,
                  &run_t_g_,
                  &run_t_g_low_,
                  &run_t_g_high_,
                  &run_heating_rate_,
                  &feature_kind_,
                  &feature_temperature_,
                  &feature_reduced_temperature_,
                  &feature_value_,
                  &mask_})
    d->close();
}

}  // namespace insitu::storage
