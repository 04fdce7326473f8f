#include "daemon/service/document_json.hpp"

#include <cmath>

namespace insitu::service {
namespace {

using nlohmann::json;

// JSON has no NaN: a value that is not there is null.
json number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json message(std::string_view name, std::string_view stream, json doc) {
  return json{{"name", name}, {"stream", stream}, {"doc", std::move(doc)}};
}

// The run level's curves: one value per heating frame, a few hundred at most.
json numbers(const std::vector<double>& values) {
  json out = json::array();
  for (const double v : values) out.push_back(number(v));
  return out;
}

json deviations_json(const std::vector<documents::Deviation>& deviations) {
  json rows = json::array();
  for (const auto& d : deviations)
    rows.push_back({{"start_s", d.start_s}, {"end_s", d.end_s}, {"max_deviation_K", d.max_deviation_K}});
  return rows;
}

struct ToJson {
  std::optional<json> operator()(const documents::RunStart& s) const {
    return message("start", "", {{"uid", s.uid},
                                 {"time", s.start_time_iso},
                                 {"recipe", s.recipe_name},
                                 {"sample", s.sample.name},
                                 {"treatment", s.sample.treatment},
                                 {"simulated", s.instruments.simulated},
                                 {"speed", s.instruments.clock_speed}});
  }
  std::optional<json> operator()(const documents::Descriptor& d) const {
    json keys = json::object();
    for (const auto& k : d.keys) keys[k.name] = {{"dtype", k.dtype}, {"units", k.units}, {"shape", k.shape}};
    return message("descriptor", documents::to_string(d.stream), {{"data_keys", keys}});
  }
  std::optional<json> operator()(const documents::StageReading& r) const {
    return message("event", "stage",
                   {{"time_s", r.time_s}, {"temperature_K", r.temperature_K}, {"setpoint_K", number(r.setpoint_K)}});
  }
  std::optional<json> operator()(const documents::RunEvent& e) const {
    return message("event", "events",
                   {{"time_s", e.time_s}, {"kind", io::to_string(e.kind)}, {"message", e.message}});
  }
  std::optional<json> operator()(const documents::FrameEvent& f) const {
    const auto& r = f.record;
    return message("event", "frames",
                   {{"sequence", r.sequence},
                    {"start_s", r.start_s},
                    {"stop_s", r.stop_s},
                    {"file", r.file_name},
                    {"missing", f.pixels == nullptr},
                    {"temperature_mean_K", number(r.temperature.mean_K)},
                    {"temperature_min_K", number(r.temperature.min_K)},
                    {"temperature_max_K", number(r.temperature.max_K)}});
  }
  std::optional<json> operator()(const documents::FrameAnalysisEvent& a) const {
    return message("event", "frame_analysis",
                   {{"sequence", a.analysis.sequence},
                    {"temperature_K", a.analysis.temperature_K},
                    {"s_eq_J_per_mol_K", number(a.analysis.s_eq_J_per_mol_K)},
                    {"rho0_fit_per_cubic_angstrom", number(a.analysis.rho0_fit_per_cubic_angstrom)}});
  }
  std::optional<json> operator()(const documents::RunAnalysisEvent& a) const {
    return message("event", "run_analysis",
                   {{"final", a.final},
                    {"frames", a.analysis.temperature_K.size()},
                    {"glass_transition_K", number(a.analysis.glass_transition_K)},
                    {"temperature_K", numbers(a.analysis.temperature_K)},
                    {"s_eq_smoothed_J_per_mol_K", numbers(a.analysis.s_eq_smoothed_J_per_mol_K)},
                    {"delta_phi_W_per_mol", numbers(a.analysis.delta_phi_W_per_mol)},
                    {"heating_rate_K_per_s", number(a.analysis.heating_rate_K_per_s)}});
  }
  std::optional<json> operator()(const documents::StreamResource& r) const {
    return message("resource", "frames", {{"uid", r.uid}, {"spec", r.spec}, {"shape", {r.height, r.width}}});
  }
  std::optional<json> operator()(const documents::StreamDatum& d) const {
    return message("datum", "frames", {{"resource", d.resource_uid}, {"sequence", d.sequence}});
  }
  std::optional<json> operator()(const documents::RunStop& s) const {
    return message("stop", "", {{"time_s", s.time_s},
                                {"exit_status", documents::to_string(s.exit_status)},
                                {"reason", s.reason},
                                {"frames", s.frames},
                                {"analysed_frames", s.analysed_frames},
                                {"deviations", deviations_json(s.deviations)}});
  }
  template <typename Other>
  std::optional<json> operator()(const Other&) const {
    return std::nullopt;
  }
};

}  // namespace

std::optional<nlohmann::json> document_json(const documents::Document& document) {
  return std::visit(ToJson{}, document);
}

}  // namespace insitu::service
