#include "daemon/client/locations.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace insitu::client {
namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

std::filesystem::path default_state_dir() {
  if (const auto dir = environment("INSITU_STATE_DIR")) return *dir;
  if (::geteuid() == 0) return "/var/lib/insitud";
  if (const auto xdg = environment("XDG_STATE_HOME")) return std::filesystem::path(*xdg) / "insitud";
  if (const auto home = environment("HOME")) return std::filesystem::path(*home) / ".local/state/insitud";
  throw LocalError("no state directory: neither INSITU_STATE_DIR, XDG_STATE_HOME nor HOME is set");
}

std::filesystem::path state_dir(const std::optional<std::filesystem::path>& option) {
  return option ? *option : default_state_dir();
}

std::filesystem::path socket_path(const std::filesystem::path& state_dir) { return state_dir / "insitud.sock"; }

std::filesystem::path token_path(const std::filesystem::path& state_dir) { return state_dir / "token"; }

std::string read_token(const std::filesystem::path& file) {
  const auto refused = [&](int error) {
    return LocalError("cannot read the token file " + file.string() + ": " + std::strerror(error));
  };
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw refused(errno);
  std::string text;
  char buffer[256];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  const int read_error = errno;
  ::close(fd);
  if (n < 0) throw refused(read_error);  // EISDIR, EIO
  const auto token = trimmed(text);
  if (token.empty()) throw LocalError("the token file " + file.string() + " is empty");
  return token;
}

std::optional<std::string> resolve_token(const std::optional<std::filesystem::path>& token_file_option,
                                         const std::optional<std::filesystem::path>& state_dir) {
  if (token_file_option) return read_token(*token_file_option);
  if (const auto token = environment("INSITU_TOKEN")) return trimmed(*token);
  if (!state_dir) return std::nullopt;
  try {
    return read_token(token_path(*state_dir));
  } catch (const LocalError&) {
    return std::nullopt;  // not the service's user: mutating requests will say 401
  }
}

}  // namespace insitu::client
