#include "daemon/api/websocket_hub.hpp"

namespace insitu::api {

void WebSocketHub::broadcast(const nlohmann::json& message) {
  if (watchers_.empty()) return;
  const auto text = std::make_shared<const std::string>(
      message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  const auto watchers = watchers_;  // a watcher may leave while it is given the message
  for (Watcher* watcher : watchers) watcher->deliver(text);
}

}  // namespace insitu::api
