// The control API's side of the service: requests validated and confined to their roots, queue operations and run
// control, status and history as JSON (docs/api.md).
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "daemon/service/run_json.hpp"
#include "daemon/service/service.hpp"

namespace insitu::service {
namespace {

using nlohmann::json;

// Whether `path`, symlinks resolved, lies inside `root`.
bool inside(const std::filesystem::path& root, const std::filesystem::path& path) {
  const auto base = std::filesystem::weakly_canonical(root);
  const auto resolved = std::filesystem::weakly_canonical(base / path);
  return std::mismatch(base.begin(), base.end(), resolved.begin(), resolved.end()).first == base.end();
}

// `path` (relative, as a client sent it) inside `root`, symlinks resolved; refused otherwise.
std::filesystem::path confined(const std::filesystem::path& root, const std::string& path, std::string_view what) {
  const std::filesystem::path relative(path);
  if (path.empty() || relative.is_absolute())
    throw RequestRefused(400, fmt::format("{} must be a path relative to the recipes root", what));
  for (const auto& part : relative)
    if (part == "..") throw RequestRefused(400, fmt::format("{} must not contain '..'", what));
  if (!inside(root, relative)) throw RequestRefused(403, fmt::format("{} leads outside the recipes root", what));
  return std::filesystem::weakly_canonical(root / relative);
}

std::string read_text(const std::filesystem::path& file, const std::string& shown_as) {
  std::ifstream in(file, std::ios::binary);
  if (!in || std::filesystem::is_directory(file))
    throw RequestRefused(404, fmt::format("no recipe file {} under the recipes root", shown_as));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A client's name for submitted text, kept to a plain file name for messages and the record.
std::string source_name(const json& request) {
  const auto it = request.find("source");
  if (it == request.end()) return "submitted";
  if (!it->is_string()) throw RequestRefused(400, "source must be a string");
  std::string name = std::filesystem::path(it->get<std::string>()).filename().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return name.empty() ? "submitted" : name;
}

std::optional<std::int64_t> position_of(const json& request) {
  const auto it = request.find("position");
  if (it == request.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0)
    throw RequestRefused(400, "position must be a whole number from 0 (next)");
  return it->get<std::int64_t>();
}

}  // namespace

recipe::Recipe Service::validated_recipe(const std::string& text, const std::string& source) const {
  recipe::Recipe recipe;
  try {
    recipe = recipe::parse_recipe(text, source, config_.recipes_root);
  } catch (const recipe::RecipeError& e) {
    throw RequestRefused(422, e.what());
  }
  // Files a recipe reads (geometry, mask, background, DSC exports) stay under the recipes root like the recipe.
  const std::optional<std::string> inputs[] = {
      recipe.detector ? recipe.detector->geometry : std::nullopt, recipe.detector ? recipe.detector->mask : std::nullopt,
      recipe.analysis ? recipe.analysis->reduction.background : std::nullopt,
      recipe.dsc ? std::optional(recipe.dsc->folder) : std::nullopt};
  for (const auto& input : inputs) {
    if (input && !inside(config_.recipes_root, *input))
      throw RequestRefused(422, fmt::format("{}: {} is outside the recipes root", source, *input));
  }
  return recipe;
}

SubmittedRun Service::submission(const json& request) const {
  SubmittedRun run;
  if (!request.is_object()) throw RequestRefused(400, "the request must be a JSON object");
  const auto path = request.find("recipe_path");
  const auto text = request.find("recipe_text");
  if ((path == request.end()) == (text == request.end()))
    throw RequestRefused(400, "give exactly one of recipe_path and recipe_text");
  if (path != request.end()) {
    if (!path->is_string()) throw RequestRefused(400, "recipe_path must be a string");
    const auto file = confined(config_.recipes_root, path->get<std::string>(), "recipe_path");
    run.source = path->get<std::string>();
    run.recipe_text = read_text(file, run.source);
  } else {
    if (!text->is_string()) throw RequestRefused(400, "recipe_text must be a string");
    run.source = source_name(request);
    run.recipe_text = text->get<std::string>();
  }
  const auto recipe = validated_recipe(run.recipe_text, run.source);
  run.recipe = recipe.name;
  run.sample = recipe.sample.name;
  run.treatment = recipe.sample.treatment;
  return run;
}

json Service::submit(const json& request) {
  if (stopping_) throw RequestRefused(503, "insitud is stopping");
  const auto run = submission(request);
  const auto id = queue_.submit(run, position_of(request));
  if (const auto held = request.find("held"); held != request.end() && held->is_boolean() && held->get<bool>())
    queue_.hold(id);
  log_->info("run {} queued: {} ({}) from {}", id, run.sample, run.recipe, run.source);
  broadcast_queue();
  changed_.notify();
  return run_json(queue_.run(id));
}

json Service::move(RunId id, std::int64_t position) {
  if (position < 0) throw RequestRefused(400, "position must be a whole number from 0 (next)");
  auto run = queue_.move(id, position);
  broadcast_queue();
  return run_json(run);
}

json Service::hold(RunId id) {
  auto run = queue_.hold(id);
  broadcast_queue();
  return run_json(run);
}

json Service::release(RunId id) {
  auto run = queue_.release(id);
  broadcast_queue();
  changed_.notify();
  return run_json(run);
}

json Service::remove(RunId id) {
  auto run = queue_.remove(id);
  broadcast_queue();
  return run_json(run);
}

json Service::act(RunAction action, std::optional<RunId> id, const std::string& reason) {
  if (id && std::find(awaiting_operator_.begin(), awaiting_operator_.end(), *id) != awaiting_operator_.end())
    return act_on_interrupted(action, *id);
  auto* run = current_ ? current_->session->run() : nullptr;
  if (!run) throw RequestRefused(409, "no run is running");
  const auto running = current_->queued.id;
  if (id && *id != running) throw RequestRefused(409, fmt::format("run {} is not the running run ({})", *id, running));
  const auto now = std::chrono::system_clock::now();
  const bool paused = queue_.run(running).state == RunState::paused;
  switch (action) {
    case RunAction::pause:
      if (paused) throw RequestRefused(409, fmt::format("run {} is already paused", running));
      run->pause();
      queue_.mark_state(running, RunState::paused, now, reason.empty() ? "paused on request" : reason);
      break;
    case RunAction::resume:
      if (!paused) throw RequestRefused(409, fmt::format("run {} is not paused", running));
      run->resume();
      queue_.mark_state(running, RunState::running, now, reason.empty() ? "resumed on request" : reason);
      break;
    case RunAction::abort:
      run->abort(reason.empty() ? "aborted on request" : reason);
      break;
    case RunAction::stop_after_frame:
      run->stop_after_frame(reason.empty() ? "stopped after the current frame on request" : reason);
      break;
  }
  broadcast_queue();
  return run_json(queue_.run(running));
}

json Service::queue() const {
  json runs = json::array();
  for (const auto& run : queue_.list_queue()) runs.push_back(run_json(run));
  return {{"runs", runs}};
}

json Service::history(std::optional<RunId> id) const {
  if (id) return run_history_json(queue_.history(*id));
  json runs = json::array();
  for (const auto& run : queue_.history()) runs.push_back(run_history_json(run));
  return {{"runs", runs}};
}

json Service::run_files() const {
  json files = json::array();
  for (const auto& run : queue_.history()) {
    if (!run.run_file) continue;
    const auto path = config_.data_root / *run.run_file;
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    json file{{"id", run.id}, {"path", *run.run_file}, {"size_bytes", ec ? json(nullptr) : json(size)}};
    if (auto time = std::filesystem::last_write_time(path, ec); !ec)
      file["modified"] = io::iso8601_utc(std::chrono::time_point_cast<std::chrono::system_clock::duration>(std::chrono::file_clock::to_sys(time)));
    files.push_back(std::move(file));
  }
  return {{"files", files}};
}

}  // namespace insitu::service
