#pragma once
// A service::Control that records what it was asked (as "move 7 2") and answers {"call": that}; it can be told
// to refuse or fail its next call, and hands broadcasts to the server's listener. Called on the loop; read from
// the test's thread.
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/service/control.hpp"

namespace insitu::api::test {

class FakeControl : public service::Control {
 public:
  nlohmann::json status() const override {
    return answer("status", {{"service", {{"state", "idle"}}}, {"run", nullptr}});
  }
  nlohmann::json queue() const override { return answer("queue", {{"runs", nlohmann::json::array()}}); }
  nlohmann::json submit(const nlohmann::json& request) override { return answer("submit " + request.dump()); }
  nlohmann::json move(service::RunId id, std::int64_t position) override {
    return answer("move " + std::to_string(id) + " " + std::to_string(position));
  }
  nlohmann::json hold(service::RunId id) override { return answer("hold " + std::to_string(id)); }
  nlohmann::json release(service::RunId id) override { return answer("release " + std::to_string(id)); }
  nlohmann::json remove(service::RunId id) override { return answer("remove " + std::to_string(id)); }
  nlohmann::json act(service::RunAction action, std::optional<service::RunId> id,
                     const std::string& reason) override {
    static const char* const names[] = {"pause", "resume", "abort", "stop_after_frame"};
    return answer(std::string("act ") + names[static_cast<int>(action)] + " " +
                  (id ? std::to_string(*id) : "-") + " " + reason);
  }
  nlohmann::json history(std::optional<service::RunId> id) const override {
    return answer("history " + (id ? std::to_string(*id) : "-"));
  }
  nlohmann::json run_files() const override { return answer("run_files", {{"files", nlohmann::json::array()}}); }
  void on_broadcast(Broadcast listener) override {
    const std::lock_guard lock(mutex_);
    listeners_.push_back(std::move(listener));
  }

  // On the loop, as the service would.
  void broadcast(const nlohmann::json& message) {
    for (const auto& listener : listeners()) listener(message);
  }

  void refuse_next(int status, std::string reason) {
    const std::lock_guard lock(mutex_);
    next_failure_ = {status, std::move(reason)};
  }

  std::vector<std::string> calls() const {
    const std::lock_guard lock(mutex_);
    return calls_;
  }
  std::size_t listener_count() const { return listeners().size(); }

 private:
  struct Failure {
    int status;  // 0: not a refusal, a plain std::runtime_error
    std::string reason;
  };

  nlohmann::json answer(const std::string& call, nlohmann::json body = nlohmann::json::object()) const {
    const std::lock_guard lock(mutex_);
    calls_.push_back(call);
    if (auto failure = std::exchange(next_failure_, std::nullopt)) {
      if (failure->status == 0) throw std::runtime_error(failure->reason);
      throw service::RequestRefused(failure->status, failure->reason);
    }
    body["call"] = call;
    return body;
  }

  std::vector<Broadcast> listeners() const {
    const std::lock_guard lock(mutex_);
    return listeners_;
  }

  mutable std::mutex mutex_;
  mutable std::vector<std::string> calls_;
  mutable std::optional<Failure> next_failure_;
  std::vector<Broadcast> listeners_;
};

}  // namespace insitu::api::test
