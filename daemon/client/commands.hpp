#pragma once
// The client commands of `insitu`: each asks the local insitud (or --server) through the control API and returns
// the exit code. 0 ok, 1 the server refused (4xx/5xx: its reason and status are printed), 2 usage or connection
// errors (insitud cannot be reached, a token or recipe file cannot be read). Errors are one line on `err`.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace insitu::client {

struct ConnectionOptions {
  std::optional<std::string> server;  // --server URL; else the state dir's socket
  std::optional<std::filesystem::path> token_file;
  std::optional<std::filesystem::path> state_dir;
};

struct CommandContext {
  ConnectionOptions connection;
  bool json = false;  // one JSON document on `out`: the server's objects passed through
  std::ostream& out;
  std::ostream& err;
};

using RunId = std::int64_t;

struct SubmitOptions {
  std::vector<std::filesystem::path> recipes;
  std::optional<std::int64_t> position;  // of the first recipe; the others follow it in order
  bool hold = false;
};
// Sends each file's text; prints `queued run N: SAMPLE (RECIPE)` per accepted recipe, the reason per refused one
// (and goes on with the next; the exit code is then 1).
int submit(const CommandContext& context, const SubmitOptions& options);

int show_queue(const CommandContext& context);
int show_status(const CommandContext& context);
int show_history(const CommandContext& context, std::optional<RunId> id);

enum class RunAction { pause, resume, abort, stop_after_frame };
// On the running run; `id`, when given, must be it.
int act_on_run(const CommandContext& context, RunAction action, std::optional<RunId> id, const std::string& reason);

enum class QueueEdit { hold, release, remove, move };
// `position` is for move only.
int edit_queue(const CommandContext& context, QueueEdit edit, RunId id, std::optional<std::int64_t> position);

// `once`: print the current state and return. `redraw`: a terminal, whose lines are redrawn in place. Returns 0 on
// Ctrl-C.
int watch(const CommandContext& context, bool once, bool redraw);

// Prints STATE_DIR/token (the service's token, readable by its owner).
int print_token(const CommandContext& context);

}  // namespace insitu::client
