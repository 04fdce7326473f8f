#include "daemon/web/report_plots.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <optional>

#include "daemon/storage/run_file_reader.hpp"
#include "daemon/storage/schema.hpp"
#include "daemon/web/view_data.hpp"

namespace insitu::web {
namespace {

using nlohmann::json;
namespace s = storage::schema;

json plot(std::string title, std::string x_label, std::string y_label, bool y_log = false) {
  return {{"title", std::move(title)}, {"x_label", std::move(x_label)}, {"y_label", std::move(y_label)},
          {"x_log", false},            {"y_log", y_log},                 {"series", json::array()}};
}

void add_series(json& p, const std::string& label, const std::vector<double>& x, const std::vector<double>& y,
                bool points = false) {
  const std::size_t n = std::min(x.size(), y.size());
  p["series"].push_back({{"label", label},
                         {"x", numbers(std::span(x).first(n))},
                         {"y", numbers(std::span(y).first(n))},
                         {"points", points}});
}

std::string with_units(const std::string& name, const std::string& units) {
  return units.empty() || units == "1" ? name : fmt::format("{} / {}", name, units);
}

std::vector<std::string> prefixed(const std::vector<std::string>& names, const std::string& prefix) {
  std::vector<std::string> out;
  std::copy_if(names.begin(), names.end(), std::back_inserter(out), [&](const auto& n) { return n.starts_with(prefix); });
  return out;
}

// The string dataset at an absolute path ("/entry_dma/sample_01/set_01/title").
std::optional<std::string> text_at(const storage::RunFileReader& reader, const std::string& path) {
  const auto entry_end = path.find('/', 1);
  return reader.text(path.substr(entry_end + 1), path.substr(0, entry_end));
}

// Each y divided by its largest magnitude: curves of different quantities on one axis.
std::vector<double> normalised(std::vector<double> y) {
  double top = 0;
  for (const double v : y)
    if (std::isfinite(v)) top = std::max(top, std::abs(v));
  if (top > 0)
    for (double& v : y) v /= top;
  return y;
}

// One set (a direction and rate of one sample): tan delta against T per frequency, and its Arrhenius plot.
void add_dma_set(const storage::RunFileReader& reader, const std::string& set, json& plots) {
  const auto title = text_at(reader, set + "/title").value_or(set);
  auto curves = plot("DMA tan δ(T): " + title, "T / K", "tan δ");
  for (const auto& curve : prefixed(reader.members(set), "curve_")) {
    const auto data = reader.nxdata(set + "/" + curve);
    if (!data || data->signals.empty()) continue;
    const auto frequency = reader.numbers(set + "/" + curve + "/frequency");
    add_series(curves, frequency.empty() ? curve : fmt::format("{:g} Hz", frequency.front()), data->x,
               data->signals.front().second);
  }
  if (!curves["series"].empty()) plots.push_back(std::move(curves));
  auto arrhenius = plot("DMA Arrhenius plot: " + title, "1000 / T_peak / K⁻¹", "f / Hz", true);
  for (const auto& transition : reader.members(set + "/fits")) {
    const auto fit = set + "/fits/" + transition;
    const auto f = reader.numbers(fit + "/frequency");
    auto inverse_T = reader.numbers(fit + "/peak_temperature");
    for (double& t : inverse_T) t = 1000.0 / t;
    add_series(arrhenius, transition, inverse_T, f, true);
  }
  if (!arrhenius["series"].empty()) plots.push_back(std::move(arrhenius));
}

// Fig. 3: the DMA's tan delta (the first set's lowest frequency) and the run's delta phi_eq against T/T_g.
void add_overlay(const storage::RunFileReader& reader, const std::string& first_set, json& plots) {
  const auto tg = reader.numbers(std::string(s::entry_dma) + "/overlay/glass_transition_temperature");
  if (tg.empty() || !(tg.front() > 0)) return;
  auto overlay = plot(fmt::format("Fig. 3 overlay (T_g = {:.1f} K)", tg.front()), "T / T_g",
                      "normalised to max |value|");
  const auto reduced = [&](std::vector<double> t) {
    for (double& v : t) v /= tg.front();
    return t;
  };
  const auto curves = prefixed(reader.members(first_set), "curve_");
  if (!curves.empty()) {
    if (const auto data = reader.nxdata(first_set + "/" + curves.front()); data && !data->signals.empty())
      add_series(overlay, "tan δ (DMA)", reduced(data->x), normalised(data->signals.front().second));
  }
  if (const auto analysis = reader.analysis())
    add_series(overlay, "Δφ_eq (XRD)", reduced(analysis->run.temperature_K),
               normalised(analysis->run.delta_phi_W_per_mol));
  if (!overlay["series"].empty()) plots.push_back(std::move(overlay));
}

void add_dma(const storage::RunFileReader& reader, json& plots) {
  const std::string entry = s::entry_dma;
  std::string first_set;
  for (const auto& sample : prefixed(reader.members(entry), "sample_")) {
    for (const auto& set : prefixed(reader.members(entry + "/" + sample), "set_")) {
      const auto path = entry + "/" + sample + "/" + set;
      if (first_set.empty()) first_set = path;
      add_dma_set(reader, path, plots);
    }
  }
  if (!first_set.empty()) add_overlay(reader, first_set, plots);
}

// Every NXdata of /entry_compare, each state's series under its label.
void add_compare(const storage::RunFileReader& reader, json& plots) {
  const std::string entry = s::entry_compare;
  const auto members = reader.members(entry);
  for (const auto& name : members) {
    const auto data = reader.nxdata(entry + "/" + name);
    if (!data) continue;
    auto p = plot("Comparison: " + name, with_units(data->axis, data->axis_units),
                  with_units(data->signals.empty() ? "" : data->signals.front().first, data->signal_units));
    for (const auto& [signal, values] : data->signals) {
      // S_eq_01, delta_phi_02, G_03: the number is the state's (state_NN/label).
      const auto number = signal.substr(signal.rfind('_') + 1);
      const auto label = reader.text("state_" + number + "/label", entry);
      add_series(p, label ? fmt::format("{} ({})", *label, signal) : signal, data->x, values);
    }
    plots.push_back(std::move(p));
  }
}

}  // namespace

json report_plots(const storage::RunFileReader& reader) {
  json plots = json::array();
  add_dma(reader, plots);
  add_compare(reader, plots);
  return plots;
}

}  // namespace insitu::web
