#pragma once
// The service's side of systemd's notify protocol (Type=notify): readiness, a status line, the watchdog's
// keep-alive and stopping. Without NOTIFY_SOCKET (not started by systemd) every call does nothing.
#include <chrono>
#include <optional>
#include <string>

namespace insitu::service {

void notify_ready();
void notify_status(const std::string& line);
void notify_stopping();
void notify_reloading();
void notify_reloaded();
void notify_watchdog();
// How often the watchdog must hear from the service (half of WatchdogSec), when systemd watches it.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace insitu::service
