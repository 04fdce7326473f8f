#pragma once
// The insitu executables spawned as an operator runs them, with their output in files and a time bound on the wait.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace insitu::testing {

inline const std::string kInsituBinary = INSITU_BINARY_DIR "/daemon/insitu";
inline const std::string kInsitudBinary = INSITU_BINARY_DIR "/daemon/service/insitud";

inline std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

class ChildProcess {
 public:
  // stdout and stderr go to the two files (created or truncated); stdin is /dev/null; `cwd`: where it starts (the
  // test's own working directory when empty).
  static ChildProcess spawn(const std::string& binary, std::vector<std::string> args,
                            const std::filesystem::path& out_file, const std::filesystem::path& err_file,
                            const std::filesystem::path& cwd = {}) {
    args.insert(args.begin(), binary);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    ChildProcess c;
    c.out_file_ = out_file;
    c.err_file_ = err_file;
    if (posix_spawn(&c.pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) c.pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    return c;
  }

  pid_t pid() const { return pid_; }
  void signal(int s) const { ::kill(pid_, s); }

  // Exit code, or 128 + the signal that ended it; nullopt (and the process killed) past `limit`.
  std::optional<int> wait_for(std::chrono::milliseconds limit) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string out() const { return file_text(out_file_); }
  std::string err() const { return file_text(err_file_); }

 private:
  pid_t pid_ = -1;
  std::filesystem::path out_file_, err_file_;
};

}  // namespace insitu::testing
