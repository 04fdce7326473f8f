#include "drivers/dhr3/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

namespace insitu::dhr3 {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

bool has_frequency(const Step& s) { return s.find("Frequency") || s.find("Angular frequency"); }

bool is_sweep(const Step& s) {
  return s.find("Temperature") && has_frequency(s) &&
         (s.find("Tan(delta)") || (s.find("Storage modulus") && s.find("Loss modulus")));
}

const Step& pick_step(const Export& data, const SweepOptions& options) {
  if (options.step_index) {
    if (*options.step_index >= data.steps.size())
      throw std::invalid_argument("DMA sweep: step index " + std::to_string(*options.step_index) +
                                  " out of range (export has " + std::to_string(data.steps.size()) + " steps)");
    const auto& s = data.steps[*options.step_index];
    if (!is_sweep(s))
      throw std::invalid_argument("DMA sweep: step '" + s.name +
                                  "' is not a temperature sweep (needs Temperature, Frequency and tan δ or moduli)");
    return s;
  }
  const Step* best = nullptr;
  for (const auto& s : data.steps)
    if (is_sweep(s) && (!best || s.row_count() > best->row_count())) best = &s;
  if (!best)
    throw std::invalid_argument(
        "DMA sweep: no step with Temperature, a frequency column and tan δ (or storage and loss modulus)");
  return *best;
}

dma::Modulus modulus_of(ModulusKind kind) {
  switch (kind) {
    case ModulusKind::shear_G:
      return dma::Modulus::shear_G;
    case ModulusKind::young_E:
      return dma::Modulus::young_E;
    case ModulusKind::unknown:
      return dma::Modulus::unknown;
  }
  return dma::Modulus::unknown;
}

}  // namespace

std::vector<FrequencyGroup> group_by_frequency(const Step& step, double relative_tolerance) {
  std::vector<double> f;
  if (const auto* c = step.find("Frequency"); c && !c->is_text) {
    f = c->values;
  } else if (const auto* w = step.find("Angular frequency"); w && !w->is_text) {
    f = w->values;
    for (auto& v : f) v /= 2.0 * std::numbers::pi;
  } else {
    throw TriosError(0, "step '" + step.name + "' has no numeric 'Frequency' or 'Angular frequency' column");
  }
  std::vector<std::size_t> order;
  for (std::size_t r = 0; r < f.size(); ++r)
    if (std::isfinite(f[r])) order.push_back(r);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return f[a] < f[b]; });
  std::vector<FrequencyGroup> groups;
  double anchor = 0.0;
  for (std::size_t r : order) {
    if (groups.empty() || std::abs(f[r] - anchor) > relative_tolerance * std::abs(anchor)) {
      groups.push_back({});
      anchor = f[r];
    }
    groups.back().rows.push_back(r);
  }
  for (auto& g : groups) {
    double sum = 0.0;
    for (auto r : g.rows) sum += f[r];
    g.frequency_Hz = sum / static_cast<double>(g.rows.size());
    std::sort(g.rows.begin(), g.rows.end());
  }
  return groups;
}

std::vector<FrequencyCurve> frequency_curves(const Step& step, std::string_view y_column, double relative_tolerance) {
  const Column& t = step.at("Temperature");
  const Column& y = step.at(y_column);
  if (t.is_text || y.is_text)
    throw TriosError(0, "step '" + step.name + "': Temperature and y columns must be numeric");
  std::vector<FrequencyCurve> out;
  for (const auto& g : group_by_frequency(step, relative_tolerance)) {
    FrequencyCurve c;
    c.frequency_Hz = g.frequency_Hz;
    for (auto r : g.rows) {
      if (!std::isfinite(t.values[r]) || !std::isfinite(y.values[r])) continue;
      c.temperature_K.push_back(t.values[r]);
      c.y.push_back(y.values[r]);
    }
    out.push_back(std::move(c));
  }
  return out;
}

dma::Sweep dma_sweep(const Export& data, const SweepOptions& options) {
  const auto& step = pick_step(data, options);
  const auto& temperature = step.at("Temperature").values;
  const auto* tan_delta = step.find("Tan(delta)");
  const auto* storage = step.find("Storage modulus");
  const auto* loss = step.find("Loss modulus");
  auto value = [](const Column* c, std::size_t row) { return c && !c->is_text ? c->values[row] : nan; };
  dma::Sweep sweep;
  sweep.name = step.name;
  sweep.modulus = modulus_of(data.meta.modulus);
  for (const auto& group : group_by_frequency(step, options.frequency_relative_tolerance)) {
    dma::FrequencySeries s;
    s.frequency_Hz = group.frequency_Hz;
    for (const auto row : group.rows) {
      s.temperature_K.push_back(temperature[row]);
      s.storage_Pa.push_back(value(storage, row));
      s.loss_Pa.push_back(value(loss, row));
      // Exports without a tan δ column still carry both moduli.
      s.tan_delta.push_back(tan_delta ? value(tan_delta, row) : s.loss_Pa.back() / s.storage_Pa.back());
    }
    sweep.series.push_back(std::move(s));
  }
  // group_by_frequency returns the groups by ascending frequency already.
  return sweep;
}

}  // namespace insitu::dhr3
