#pragma once
// The notification sinks of the tests: a mail server (aiosmtpd, smtp_sink.py) and a webhook endpoint (http_sink.py)
// on loopback, each a Python child that prints its port and then one JSON line per message it receives.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/storage/child.hpp"

namespace insitu::service {

// A sink script on a free port, which it prints first; then one JSON line per mail or request it receives.
class Sink {
 public:
  Sink(const std::string& script, std::vector<std::string> args) : child_(command(script, std::move(args))) {
    const auto line = child_.read_line(std::chrono::seconds(5));
    if (!line) throw std::runtime_error(script + " did not start (the mail server needs python3-aiosmtpd)");
    port_ = std::stoi(*line);
  }
  int port() const { return port_; }
  // What it received next, or null when nothing comes within `timeout`.
  nlohmann::json next(std::chrono::milliseconds timeout = std::chrono::seconds(4)) {
    const auto line = child_.read_line(timeout);
    return line ? nlohmann::json::parse(*line) : nlohmann::json();
  }

 private:
  static std::vector<std::string> command(const std::string& script, std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/python3", INSITU_SOURCE_DIR "/tests/service/" + script});
    return args;
  }
  storage::testing::Child child_;
  int port_ = 0;
};

}  // namespace insitu::service
