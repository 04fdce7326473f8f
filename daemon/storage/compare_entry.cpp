#include "daemon/storage/compare_entry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "daemon/storage/schema.hpp"
#include "daemon/storage/small_datasets.hpp"

namespace insitu::storage {
namespace {

namespace s = schema;

void write_state(const h5::Handle& entry, std::size_t index, const ComparedState& state) {
  const auto g = h5::create_group(entry, numbered("state", index), s::nx::collection);
  h5::write_string(g, "file_name", state.file_name);
  h5::write_string(g, "label", state.label);
  h5::write_string(g, "sample_name", state.sample.name);
  h5::write_string(g, "chemical_formula", state.sample.chemical_formula);
  h5::write_string(g, "treatment", state.sample.treatment);
  const SampleStateRecord unknown{"", "", 0, std::nan(""), std::nan("")};
  const auto& treatment = state.sample.state ? *state.sample.state : unknown;
  h5::write_string(g, s::sample::deformation, treatment.deformation);
  h5::write_scalar(g, s::sample::rotations, treatment.rotations);
  h5::write_scalar(g, s::sample::deformation_temperature, treatment.deformation_temperature_K, s::unit::kelvin);
  h5::write_scalar(g, s::sample::storage_temperature, treatment.storage_temperature_K, s::unit::kelvin);
  h5::write_scalar(g, "glass_transition", state.glass_transition_K, s::unit::kelvin);
  h5::write_scalar(g, "crystallisation_onset", state.crystallisation_onset_K, s::unit::kelvin);
  h5::write_scalar(g, "liquid_window_lo", state.window_lo_K, s::unit::kelvin);
  h5::write_scalar(g, "liquid_window_hi", state.window_hi_K, s::unit::kelvin);
  h5::write_string(g, "liquid_window_source", state.window_given ? "given" : "found");
  h5::write_scalar(g, "shift", state.shift, s::unit::entropy);
  h5::write_scalar(g, "shift_sigma", state.shift_sigma, s::unit::entropy);
  h5::write_scalar(g, "frame_scatter", state.frame_scatter, s::unit::entropy);
  h5::write_scalar(g, "pdf_temperature", state.pdf_temperature_K, s::unit::kelvin);
}

// One NXdata of curves over one axis, the first the signal and the rest auxiliary signals (viewers overlay them).
struct Curve {
  std::string name;
  const std::vector<double>* values;
  const std::vector<double>* errors;  // nullptr: none
  std::string long_name;
};
void write_plot(const h5::Handle& entry, const char* group, const char* axis, const std::vector<double>& axis_values,
                const char* axis_units, const std::vector<Curve>& curves, const char* units) {
  const auto g = h5::create_group(entry, group, s::nx::data);
  write_column(g, axis, axis_values, axis_units);
  std::vector<std::string> auxiliary;
  for (const auto& c : curves) {
    h5::set_attribute(write_column(g, c.name, *c.values, units), s::attr::long_name, c.long_name);
    if (c.errors) write_column(g, c.name + "_errors", *c.errors, units);
    if (&c != &curves.front()) auxiliary.push_back(c.name);
  }
  if (!curves.empty()) h5::set_attribute(g, s::attr::signal, curves.front().name);
  if (!auxiliary.empty()) h5::set_attribute(g, "auxiliary_signals", auxiliary);
  h5::set_attribute(g, s::attr::axes, axis);
}

}  // namespace

void write_compare_entry(const h5::Handle& file, const Comparison& c) {
  if (h5::exists(file, "entry_compare")) throw h5::Error("write_compare_entry: /entry_compare exists already");
  auto entry = h5::create_group(file, "entry_compare", s::nx::entry);
  h5::set_attribute(h5::open_group(file, "/"), s::attr::nx_class, s::nx::root);
  h5::set_attribute(h5::open_group(file, "/"), s::attr::default_, "entry_compare");
  h5::set_attribute(entry, s::attr::default_, "entropy");
  h5::write_string(entry, s::entry_field::title, "sample states side by side (insitu compare)");
  h5::write_string(entry, "reference", c.states.at(c.reference).label);
  h5::write_string(entry, "table", c.table);
  write_strings(entry, "warnings", c.warnings);

  std::vector<Curve> s_eq, s_eq_reduced, delta, phi, phi_reduced, pdf;
  for (std::size_t i = 0; i < c.states.size(); ++i) {
    const auto& st = c.states[i];
    write_state(entry, i, st);
    const auto n = [&](const char* prefix) { return numbered(prefix, i); };
    s_eq.push_back({n("S_eq"), &st.s_eq, &st.s_eq_sigma, st.label});
    s_eq_reduced.push_back({n("S_eq"), &st.s_eq_reduced, nullptr, st.label});
    if (i != c.reference) delta.push_back({n("delta_S_eq"), &st.delta_s_eq, &st.delta_s_eq_sigma, st.label});
    phi.push_back({n("delta_phi"), &st.delta_phi, nullptr, st.label});
    phi_reduced.push_back({n("delta_phi"), &st.delta_phi_reduced, nullptr, st.label});
    char at[64];
    std::snprintf(at, sizeof at, " at %.1f K", st.pdf_temperature_K);
    pdf.push_back({n("G"), &st.g_of_r, nullptr, st.label + at});
  }
  write_plot(entry, "entropy", "temperature", c.temperature_K, s::unit::kelvin, s_eq, s::unit::entropy);
  write_plot(entry, "entropy_reduced", "reduced_temperature", c.reduced_temperature, "1", s_eq_reduced,
             s::unit::entropy);
  write_plot(entry, "delta_entropy", "temperature", c.temperature_K, s::unit::kelvin, delta, s::unit::entropy);
  write_plot(entry, "heat_flow", "temperature", c.temperature_K, s::unit::kelvin, phi, s::unit::heat_flow);
  write_plot(entry, "heat_flow_reduced", "reduced_temperature", c.reduced_temperature, "1", phi_reduced,
             s::unit::heat_flow);
  write_plot(entry, "pair_distribution", "r", c.r_angstrom, s::unit::angstrom, pdf, s::unit::inverse_angstrom_squared);
}

}  // namespace insitu::storage
