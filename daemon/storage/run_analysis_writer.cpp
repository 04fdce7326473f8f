#include "daemon/storage/run_analysis_writer.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "analysis/pdf/state_comparison.hpp"
#include "daemon/storage/schema.hpp"

namespace insitu::storage {
namespace {

namespace s = schema;

constexpr hsize_t chunk_rows = 1024;
constexpr std::size_t feature_kind_length = 32;

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

h5::Handle column(const h5::Handle& parent, const char* name, const char* units, const char* long_name = nullptr) {
  h5::Handle d = h5::create_extendable(parent, name,
                                       {.type = h5::dtype_of<double>(), .tail_shape = {}, .chunk_rows = chunk_rows});
  if (units) h5::set_attribute(d, s::attr::units, units);
  if (long_name) h5::set_attribute(d, s::attr::long_name, long_name);
  return d;
}

// An NXdata of one run-level curve against the heating frames' temperature (links into analysis/run).
void curve_plot(const h5::Handle& run, const std::string& run_path, const char* name, const char* signal) {
  const h5::Handle plot = h5::create_group(run, name, s::nx::data);
  h5::set_attribute(plot, s::attr::signal, signal);
  h5::set_attribute(plot, s::attr::axes, s::run::temperature);
  for (const char* linked : {signal, s::run::temperature}) h5::soft_link(plot, run_path + "/" + linked, linked);
}

// The numbers of a parameter's text ("4", "0.9", "600 750"), or nullopt when it is not numbers only.
std::optional<std::vector<double>> numbers(const std::string& text) {
  std::istringstream words(text);
  std::vector<double> out;
  for (std::string word; words >> word;) {
    double v = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || end != word.data() + word.size()) return std::nullopt;
    out.push_back(v);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<std::int64_t> integer(const std::string& text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

void write_parameter(const h5::Handle& group, const std::string& dataset, const std::string& key,
                     const std::string& value) {
  const char* units = s::parameter_units(key);
  if (const auto count = integer(value)) {
    h5::write_scalar(group, dataset, *count, units ? units : "");
    return;
  }
  const auto values = numbers(value);
  if (!values || !units) {  // text, or a quantity whose units the table lacks: not a number without units
    h5::write_string(group, dataset, value);
  } else if (values->size() == 1) {
    h5::write_scalar(group, dataset, values->front(), units);
  } else {
    const h5::Handle d = h5::create_fixed(group, dataset, {.type = h5::dtype_of<double>(), .shape = {values->size()}});
    h5::write<double>(d, *values);
    h5::set_attribute(d, s::attr::units, units);
  }
}

}  // namespace

analysis::RunAnalysis align_run_analysis(analysis::RunAnalysis run) {
  const std::size_t n = run.temperature_K.size();
  for (auto* curve : {&run.s_eq_J_per_mol_K, &run.s_eq_smoothed_J_per_mol_K, &run.ds_eq_dT_J_per_mol_K2,
                      &run.delta_phi_W_per_mol}) {
    if (curve->empty()) curve->assign(n, std::numeric_limits<double>::quiet_NaN());
    if (curve->size() != n)
      throw std::invalid_argument("run-level analysis: a curve has " + std::to_string(curve->size()) +
                                  " rows for " + std::to_string(n) + " temperatures");
  }
  return run;
}

double crystallisation_onset_K(const analysis::RunAnalysis& r) {
  if (r.temperature_K.empty() || !std::isfinite(r.glass_transition_K)) return std::numeric_limits<double>::quiet_NaN();
  const double onset = analysis::crystallisation_onset_K(r.temperature_K, r.s_eq_smoothed_J_per_mol_K,
                                                         r.glass_transition_K, 0.0);
  return onset < r.temperature_K.back() ? onset : std::numeric_limits<double>::quiet_NaN();
}

RunAnalysisWriter::RunAnalysisWriter(const h5::Handle& entry, const h5::Handle& process) {
  using h5::set_attribute;
  const h5::Handle run = h5::create_group(process, s::run::name, s::nx::collection);
  s_eq_smoothed_ = column(run, s::run::s_eq_smoothed, s::unit::entropy, "S_eq smoothed (J/(mol K))");
  ds_eq_dT_ = column(run, s::run::ds_eq_dT, s::unit::entropy_per_kelvin, "dS_eq/dT (J/(mol K^2))");
  delta_phi_ = column(run, s::run::delta_phi, s::unit::heat_flow, "delta phi_eq (W/mol)");
  set_attribute(delta_phi_, s::attr::description, "equivalent heat flow T dS_eq/dT beta_h (Eq. 3)");
  temperature_ = column(run, s::run::temperature, s::unit::kelvin, "T (K)");
  set_attribute(temperature_, s::attr::description, "rewritten last on each update: rows below its length are complete");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto scalar = [&](const char* name, const char* units) {
    h5::Handle d = h5::create_fixed(run, name, {.type = h5::dtype_of<double>(), .shape = {1}, .fill = nan});
    set_attribute(d, s::attr::units, units);
    return d;
  };
  t_g_ = scalar(s::run::t_g, s::unit::kelvin);
  t_g_low_ = scalar(s::run::t_g_low, s::unit::kelvin);
  t_g_high_ = scalar(s::run::t_g_high, s::unit::kelvin);
  heating_rate_ = scalar(s::run::heating_rate, s::unit::kelvin_per_second);
  onset_ = scalar(s::run::crystallisation_onset, s::unit::kelvin);
  set_attribute(onset_, s::attr::description, "where S_eq_smoothed peaks above T_g; NaN while the peak is the last frame");
  feature_kind_ = h5::create_extendable(
      run, s::run::feature_kind,
      {.type = h5::Dtype::fixed_string(feature_kind_length), .tail_shape = {}, .chunk_rows = 64});
  feature_temperature_ = column(run, s::run::feature_temperature, s::unit::kelvin);
  feature_reduced_temperature_ = column(run, s::run::feature_reduced_temperature, s::unit::dimensionless, "T/T_g");
  feature_value_ = column(run, s::run::feature_value, s::unit::heat_flow);

  const std::string run_path = h5::object_path(run);
  curve_plot(run, run_path, s::run::entropy_plot, s::run::s_eq_smoothed);
  curve_plot(run, run_path, s::run::entropy_derivative_plot, s::run::ds_eq_dT);
  curve_plot(run, run_path, s::run::heat_flow_plot, s::run::delta_phi);

  namespace ep = s::entropy_plot;
  const h5::Handle plot = h5::create_group(entry, ep::name, s::nx::data);
  set_attribute(plot, s::attr::signal, ep::s_eq);
  set_attribute(plot, s::attr::axes, ep::temperature);
  set_attribute(plot, s::attr::auxiliary_signals, std::vector<std::string>{ep::s_eq_smoothed});
  h5::write_string(plot, ep::title, "S_eq on heating, up to the crystallisation onset");
  plot_s_eq_ = column(plot, ep::s_eq, s::unit::entropy, "S_eq (J/(mol K))");
  plot_s_eq_smoothed_ = column(plot, ep::s_eq_smoothed, s::unit::entropy, "S_eq smoothed (J/(mol K))");
  plot_temperature_ = column(plot, ep::temperature, s::unit::kelvin, "T (K)");
  set_attribute(plot_temperature_, s::attr::description,
                "the heating frames' temperatures up to analysis/run/crystallisation_onset; written last");
  set_attribute(entry, s::attr::default_, ep::name);
}

RunAnalysisWriter RunAnalysisWriter::reopen(const h5::Handle& entry, const h5::Handle& process) {
  RunAnalysisWriter w;
  const h5::Handle run = h5::open_group(process, s::run::name);
  for (auto [handle, name] :
       {std::pair{&w.temperature_, s::run::temperature}, {&w.s_eq_smoothed_, s::run::s_eq_smoothed},
        {&w.ds_eq_dT_, s::run::ds_eq_dT}, {&w.delta_phi_, s::run::delta_phi}, {&w.t_g_, s::run::t_g},
        {&w.t_g_low_, s::run::t_g_low}, {&w.t_g_high_, s::run::t_g_high}, {&w.heating_rate_, s::run::heating_rate},
        {&w.onset_, s::run::crystallisation_onset}, {&w.feature_kind_, s::run::feature_kind},
        {&w.feature_temperature_, s::run::feature_temperature},
        {&w.feature_reduced_temperature_, s::run::feature_reduced_temperature},
        {&w.feature_value_, s::run::feature_value}})
    *handle = h5::open_dataset(run, name);
  namespace ep = s::entropy_plot;
  const h5::Handle plot = h5::open_group(entry, ep::name);
  w.plot_s_eq_ = h5::open_dataset(plot, ep::s_eq);
  w.plot_s_eq_smoothed_ = h5::open_dataset(plot, ep::s_eq_smoothed);
  w.plot_temperature_ = h5::open_dataset(plot, ep::temperature);
  return w;
}

void RunAnalysisWriter::update(const analysis::RunAnalysis& unaligned) {
  const analysis::RunAnalysis r = align_run_analysis(unaligned);
  for (const auto& [dataset, curve] : {std::pair{&s_eq_smoothed_, &r.s_eq_smoothed_J_per_mol_K},
                                       std::pair{&ds_eq_dT_, &r.ds_eq_dT_J_per_mol_K2},
                                       std::pair{&delta_phi_, &r.delta_phi_W_per_mol}})
    replace(*dataset, *curve);
  const double onset_K = crystallisation_onset_K(r);
  for (const auto& [dataset, value] :
       {std::pair{&t_g_, r.glass_transition_K}, std::pair{&t_g_low_, r.glass_transition_low_K},
        std::pair{&t_g_high_, r.glass_transition_high_K}, std::pair{&heating_rate_, r.heating_rate_K_per_s},
        std::pair{&onset_, onset_K}})
    replace_scalar(*dataset, value);
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
  replace(temperature_, r.temperature_K);

  std::size_t shown = r.temperature_K.size();
  if (std::isfinite(onset_K))
    while (shown > 0 && r.temperature_K[shown - 1] > onset_K) --shown;
  const auto head = [&](const std::vector<double>& v) { return std::vector<double>(v.begin(), v.begin() + shown); };
  replace(plot_s_eq_, head(r.s_eq_J_per_mol_K));
  replace(plot_s_eq_smoothed_, head(r.s_eq_smoothed_J_per_mol_K));
  replace(plot_temperature_, head(r.temperature_K));
}

void RunAnalysisWriter::close() {
  for (auto* d : {&temperature_, &s_eq_smoothed_, &ds_eq_dT_, &delta_phi_, &t_g_, &t_g_low_, &t_g_high_,
                  &heating_rate_, &onset_, &feature_kind_, &feature_temperature_, &feature_reduced_temperature_,
                  &feature_value_, &plot_temperature_, &plot_s_eq_, &plot_s_eq_smoothed_})
    d->close();
}

void write_parameters(const h5::Handle& parent, const std::string& name,
                      const std::map<std::string, std::string>& parameters) {
  const h5::Handle group =
      h5::exists(parent, name) ? h5::open_group(parent, name) : h5::create_group(parent, name, s::nx::parameters);
  for (const auto& [key, value] : parameters) {
    const std::string dataset = dataset_name(key);
    if (h5::exists(group, dataset)) h5::remove(group, dataset);
    write_parameter(group, dataset, key, value);
  }
}

}  // namespace insitu::storage
