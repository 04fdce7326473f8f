#include "daemon/service/run_json.hpp"

#include <optional>
#include <string>

namespace insitu::service {
namespace {

template <typename T>
nlohmann::json or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json run_json(const Run& run) {
  return {
      {"id", run.id},
      {"recipe", run.submission.recipe},
      {"sample", run.submission.sample},
      {"treatment", run.submission.treatment},
      {"state", to_string(run.state)},
      {"held", run.held},
      {"position", or_null(run.position)},
      {"source", run.submission.source},
      {"submitted", run.submitted},
      {"started", or_null(run.started)},
      {"ended", or_null(run.ended)},
      {"reason", run.reason},
      {"run_file", or_null(run.run_file)},
  };
}

nlohmann::json run_history_json(const Run& run) {
  auto json = run_json(run);
  auto& states = json["states"] = nlohmann::json::array();
  for (const auto& change : run.states) {
    states.push_back({{"state", to_string(change.state)}, {"time", change.time}, {"reason", change.reason}});
  }
  return json;
}

}  // namespace insitu::service
