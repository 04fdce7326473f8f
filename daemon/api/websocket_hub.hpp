#pragma once
// The service's broadcasts, fanned out to every watcher: each message is serialised once and shared.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace insitu::api {

class WebSocketHub {
 public:
  class Watcher {
   public:
    virtual ~Watcher() = default;
    // Queues the message, or drops the watcher when it is too far behind; never waits.
    virtual void deliver(const std::shared_ptr<const std::string>& message) = 0;
  };

  void add(Watcher* watcher) { watchers_.push_back(watcher); }
  void remove(Watcher* watcher) { std::erase(watchers_, watcher); }
  void broadcast(const nlohmann::json& message);

 private:
  std::vector<Watcher*> watchers_;
};

}  // namespace insitu::api
