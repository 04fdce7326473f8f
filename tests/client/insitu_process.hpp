#pragma once
// The real `insitu` executable as a child process: a clean environment (plus what the test adds), stdout and stderr
// into files, the exit code.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace insitu::testing {

inline const std::string kInsitu = INSITU_BINARY_DIR "/daemon/insitu";

// A fresh directory with a short path: a Unix socket path has room for 107 bytes.
inline std::filesystem::path short_temp_dir() {
  std::string pattern = "/tmp/insitu-client-XXXXXX";
  return ::mkdtemp(pattern.data());
}

inline std::string file_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), {}};
}

class InsituProcess {
 public:
  // `environment`: NAME=VALUE lines added to PATH, TZ=UTC and HOME=dir (nothing else is inherited but the
  // sanitizers' options).
  InsituProcess(std::vector<std::string> args, const std::filesystem::path& dir, std::vector<std::string> environment)
      : out_(dir / "stdout.txt"), err_(dir / "stderr.txt") {
    args.insert(args.begin(), kInsitu);
    environment.insert(environment.end(), {"PATH=/usr/bin:/bin", "TZ=UTC", "HOME=" + dir.string()});
    // A sanitizer build's options (the asan/tsan test presets) reach the child too, so its reports are collected.
    for (const char* name : {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"})
      if (const char* value = ::getenv(name)) environment.push_back(std::string(name) + "=" + value);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    for (auto& e : environment) envp.push_back(e.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, kInsitu.c_str(), &actions, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~InsituProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // The exit code (128 + signal when killed), or -1 when it did not exit in time (it is then killed).
  int wait(std::chrono::seconds limit = std::chrono::seconds(10)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() > end) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  void signal(int number) const { ::kill(pid_, number); }
  std::string out() const { return file_text(out_); }
  std::string err() const { return file_text(err_); }

 private:
  std::filesystem::path out_, err_;
  pid_t pid_ = -1;
};

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

inline Outcome run_insitu(std::vector<std::string> args, const std::filesystem::path& dir,
                          std::vector<std::string> environment = {}) {
  InsituProcess process(std::move(args), dir, std::move(environment));
  const int code = process.wait();
  return {code, process.out(), process.err()};
}

}  // namespace insitu::testing
