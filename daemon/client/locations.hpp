#pragma once
// Where insitud keeps its state, and so where the client finds its socket and token. The service and the client
// call the same function, so that an `insitu` run by the service's user reaches it with no options at all.
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace insitu::client {

// What the client needs from this machine (the state directory, the token, a recipe file) is missing or cannot be
// read; what() is the one line to print.
class LocalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// INSITU_STATE_DIR, else /var/lib/insitud for root, else $XDG_STATE_HOME/insitud or ~/.local/state/insitud.
std::filesystem::path default_state_dir();

// `--state-dir` when given, else default_state_dir().
std::filesystem::path state_dir(const std::optional<std::filesystem::path>& option);

std::filesystem::path socket_path(const std::filesystem::path& state_dir);  // STATE_DIR/insitud.sock
std::filesystem::path token_path(const std::filesystem::path& state_dir);   // STATE_DIR/token

// The token in `file`, surrounding whitespace removed; LocalError when it cannot be read or is empty.
std::string read_token(const std::filesystem::path& file);

// `--token-file` (which must be readable), else INSITU_TOKEN, else the token in `state_dir` when given and readable,
// else none: read-only requests on the socket or loopback need none. With --server no state dir is given: the
// local service's token is not sent to another one.
std::optional<std::string> resolve_token(const std::optional<std::filesystem::path>& token_file_option,
                                         const std::optional<std::filesystem::path>& state_dir);

}  // namespace insitu::client
