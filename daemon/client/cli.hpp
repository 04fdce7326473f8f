#pragma once
// The client commands' place on `insitu`'s command line (CLI11): submit, queue, status, history, pause, resume,
// abort, stop-after-frame, hold, release, remove, move, watch, token.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/client/commands.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace insitu::client {

class ClientCommands {
 public:
  explicit ClientCommands(CLI::App& app);  // adds the subcommands to `app`
  ClientCommands(const ClientCommands&) = delete;
  ClientCommands& operator=(const ClientCommands&) = delete;

  // After parsing: the exit code of the client command given, or nullopt when another command was given.
  std::optional<int> run() const;

 private:
  struct Command {
    CLI::App* app;
    std::function<int()> run;
  };
  enum Options { kConnection = 1, kJson = 2 };
  // A subcommand with --state-dir, and (kConnection) --server and --token-file, (kJson) --json.
  CLI::App* add(CLI::App& app, const std::string& name, const std::string& description, int options);
  void add_submit(CLI::App& app);
  void add_views(CLI::App& app);
  void add_run_actions(CLI::App& app);
  void add_queue_edits(CLI::App& app);
  CommandContext context() const;

  std::vector<Command> commands_;
  // Bound to the options of every client subcommand; one subcommand is parsed.
  std::string server_;
  std::string token_file_;
  std::string state_dir_;
  bool json_ = false;
  std::vector<std::string> recipes_;
  bool hold_ = false;
  std::int64_t position_ = 0;
  std::int64_t run_id_ = 0;
  std::string reason_;
  bool once_ = false;
};

}  // namespace insitu::client
