#include "daemon/storage/run_analysis_writer.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

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

h5::Handle column(const h5::Handle& parent, const char* name, const char* units) {
  h5::Handle d = h5::create_extendable(parent, name,
                                       {.type = h5::dtype_of<double>(), .tail_shape = {}, .chunk_rows = chunk_rows});
  if (units) h5::set_attribute(d, s::attr::units, units);
  return d;
}

}  // namespace

analysis::RunAnalysis align_run_analysis(analysis::RunAnalysis run) {
  const std::size_t n = run.temperature_K.size();
  for (auto* curve : {&run.s_eq_smoothed_J_per_mol_K, &run.ds_eq_dT_J_per_mol_K2, &run.delta_phi_W_per_mol}) {
    if (curve->empty()) curve->assign(n, std::numeric_limits<double>::quiet_NaN());
    if (curve->size() != n)
      throw std::invalid_argument("run-level analysis: a curve has " + std::to_string(curve->size()) +
                                  " rows for " + std::to_string(n) + " temperatures");
  }
  return run;
}

RunAnalysisWriter::RunAnalysisWriter(const h5::Handle& process) {
  using h5::set_attribute;
  const h5::Handle run = h5::create_group(process, s::run::name, s::nx::collection);
  s_eq_smoothed_ = column(run, s::run::s_eq_smoothed, s::unit::entropy);
  ds_eq_dT_ = column(run, s::run::ds_eq_dT, s::unit::entropy_per_kelvin);
  delta_phi_ = column(run, s::run::delta_phi, s::unit::heat_flow);
  set_attribute(delta_phi_, s::attr::long_name, "equivalent heat flow T dS_eq/dT beta_h (Eq. 3)");
  temperature_ = column(run, s::run::temperature, s::unit::kelvin);
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
  feature_kind_ = h5::create_extendable(
      run, s::run::feature_kind,
      {.type = h5::Dtype::fixed_string(feature_kind_length), .tail_shape = {}, .chunk_rows = 64});
  feature_temperature_ = column(run, s::run::feature_temperature, s::unit::kelvin);
  feature_reduced_temperature_ = column(run, s::run::feature_reduced_temperature, nullptr);
  set_attribute(feature_reduced_temperature_, s::attr::long_name, "T/T_g");
  feature_value_ = column(run, s::run::feature_value, s::unit::heat_flow);
}

void RunAnalysisWriter::update(const analysis::RunAnalysis& unaligned) {
  const analysis::RunAnalysis r = align_run_analysis(unaligned);
  for (const auto& [dataset, curve] : {std::pair{&s_eq_smoothed_, &r.s_eq_smoothed_J_per_mol_K},
                                       std::pair{&ds_eq_dT_, &r.ds_eq_dT_J_per_mol_K2},
                                       std::pair{&delta_phi_, &r.delta_phi_W_per_mol}})
    replace(*dataset, *curve);
  for (const auto& [dataset, value] :
       {std::pair{&t_g_, r.glass_transition_K}, std::pair{&t_g_low_, r.glass_transition_low_K},
        std::pair{&t_g_high_, r.glass_transition_high_K}, std::pair{&heating_rate_, r.heating_rate_K_per_s}})
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
}

void RunAnalysisWriter::close() {
  for (auto* d : {&temperature_, &s_eq_smoothed_, &ds_eq_dT_, &delta_phi_, &t_g_, &t_g_low_, &t_g_high_,
                  &heating_rate_, &feature_kind_, &feature_temperature_, &feature_reduced_temperature_,
                  &feature_value_})
    d->close();
}

void write_parameters(const h5::Handle& parent, const std::string& name,
                      const std::map<std::string, std::string>& parameters) {
  const h5::Handle group =
      h5::exists(parent, name) ? h5::open_group(parent, name) : h5::create_group(parent, name, s::nx::parameters);
  for (const auto& [key, value] : parameters) {
    const std::string dataset = dataset_name(key);
    if (h5::exists(group, dataset)) h5::remove(group, dataset);
    h5::write_string(group, dataset, value);
  }
}

}  // namespace insitu::storage
