#include "daemon/client/cli.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <tuple>
#include <utility>

namespace insitu::client {
namespace {

std::optional<std::filesystem::path> path_option(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return std::filesystem::path(value);
}

std::optional<RunId> given(const CLI::Option* option, RunId value) {
  return option->count() > 0 ? std::optional<RunId>(value) : std::nullopt;
}

}  // namespace

ClientCommands::ClientCommands(CLI::App& app) {
  add_submit(app);
  add_views(app);
  add_run_actions(app);
  add_queue_edits(app);
  auto* token = add(app, "token", "print the service's API token (for its owner: STATE_DIR/token)", 0);
  commands_.push_back({token, [this] { return print_token(context()); }});
}

std::optional<int> ClientCommands::run() const {
  for (const auto& command : commands_)
    if (*command.app) return command.run();
  return std::nullopt;
}

CLI::App* ClientCommands::add(CLI::App& app, const std::string& name, const std::string& description, int options) {
  auto* command = app.add_subcommand(name, description);
  command->add_option("--state-dir", state_dir_,
                      "insitud's state directory (default: INSITU_STATE_DIR, /var/lib/insitud for root, else "
                      "$XDG_STATE_HOME/insitud or ~/.local/state/insitud)");
  if (options & kConnection) {
    command->add_option("--server", server_, "http://HOST:PORT of insitud (default: the state directory's socket)");
    command->add_option("--token-file", token_file_,
                        "file holding the API token (default: INSITU_TOKEN, else STATE_DIR/token for the socket)");
  }
  if (options & kJson) command->add_flag("--json", json_, "print the server's answer as one JSON document");
  return command;
}

void ClientCommands::add_submit(CLI::App& app) {
  auto* submit = add(app, "submit", "queue recipes on insitud (their text is sent)", kConnection | kJson);
  submit->add_option("recipes", recipes_, "recipe YAML files")->required()->check(CLI::ExistingFile);
  auto* position = submit->add_option("--position", position_, "place of the first recipe in the queue (0 = next)")
                       ->check(CLI::NonNegativeNumber);
  submit->add_flag("--hold", hold_, "queue them held: they wait until released");
  commands_.push_back({submit, [this, position] {
                         SubmitOptions options{{recipes_.begin(), recipes_.end()}, given(position, position_), hold_};
                         return client::submit(context(), options);
                       }});
}

void ClientCommands::add_views(CLI::App& app) {
  auto* queue = add(app, "queue", "the running run and the queued ones", kConnection | kJson);
  commands_.push_back({queue, [this] { return show_queue(context()); }});
  auto* status = add(app, "status", "the service, the stage and the current run", kConnection | kJson);
  commands_.push_back({status, [this] { return show_status(context()); }});
  auto* history = add(app, "history", "runs that have ended, or one run with its states", kConnection | kJson);
  auto* id = history->add_option("run", run_id_, "run id: that run's states");
  commands_.push_back({history, [this, id] { return show_history(context(), given(id, run_id_)); }});
  auto* watch = add(app, "watch", "follow the current run live (segment, T, frames, S_eq, progress, ETA)", kConnection);
  watch->add_flag("--once", once_, "print the current state and exit");
  commands_.push_back({watch, [this] { return client::watch(context(), once_, ::isatty(STDOUT_FILENO) == 1); }});
}

void ClientCommands::add_run_actions(CLI::App& app) {
  const std::pair<const char*, RunAction> actions[] = {{"pause", RunAction::pause},
                                                       {"resume", RunAction::resume},
                                                       {"abort", RunAction::abort},
                                                       {"stop-after-frame", RunAction::stop_after_frame}};
  for (const auto& [name, action] : actions) {
    auto* command = add(app, name, std::string(name) + " the running run", kConnection | kJson);
    auto* id = command->add_option("run", run_id_, "run id: refused unless it is the running one");
    command->add_option("--reason", reason_, "why (kept in the run's history)");
    commands_.push_back(
        {command, [this, id, action = action] { return act_on_run(context(), action, given(id, run_id_), reason_); }});
  }
}

void ClientCommands::add_queue_edits(CLI::App& app) {
  const std::tuple<const char*, QueueEdit, const char*> edits[] = {
      {"hold", QueueEdit::hold, "keep a queued run from starting until released"},
      {"release", QueueEdit::release, "let a held run start in its turn"},
      {"remove", QueueEdit::remove, "take a queued or held run off the queue"},
      {"move", QueueEdit::move, "put a queued run at POSITION (0 = next)"}};
  for (const auto& [name, edit, description] : edits) {
    auto* command = add(app, name, description, kConnection | kJson);
    command->add_option("run", run_id_, "run id")->required();
    if (edit == QueueEdit::move)
      command->add_option("position", position_, "place in the queue")->required()->check(CLI::NonNegativeNumber);
    commands_.push_back({command, [this, edit = edit] {
                           return edit_queue(context(), edit, run_id_,
                                             edit == QueueEdit::move ? std::optional(position_) : std::nullopt);
                         }});
  }
}

CommandContext ClientCommands::context() const {
  ConnectionOptions connection{server_.empty() ? std::nullopt : std::optional(server_), path_option(token_file_),
                               path_option(state_dir_)};
  return {connection, json_, std::cout, std::cerr};
}

}  // namespace insitu::client
