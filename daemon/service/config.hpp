#pragma once
// insitud's configuration: a YAML file (validated with file:line:column like the recipes) under command-line
// overrides, with defaults that make the file optional. Every path a run or a request may write or read is under
// one of the roots named here.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "daemon/service/notifications.hpp"

namespace insitu::service {

// What the stage does between runs: heater off (its own safe state), or hold a temperature.
struct IdleStageSettings {
  enum class Mode { stop, hold } mode = Mode::stop;
  double temperature_K = 293.15;
  double rate_K_per_min = 20.0;
};

// Each run's Bluesky event-model documents: JSON lines beside its run file, and ZeroMQ for live consumers.
struct BlueskySettings {
  std::optional<std::string> zmq;  // bound for the service's life, e.g. tcp://127.0.0.1:5577
  bool jsonl = true;
};

struct ServiceConfig {
  std::filesystem::path state_dir;     // queue, token, socket; default client::default_state_dir()
  std::filesystem::path data_root;     // run directories go here; default STATE_DIR/data
  std::filesystem::path recipes_root;  // submitted recipe paths are relative to it; default STATE_DIR/recipes
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8754;
  std::filesystem::path unix_socket;  // default STATE_DIR/insitud.sock
  bool simulate = false;
  double speed = 1.0;
  std::optional<std::string> linkam_url;  // the stage for every run, instead of each recipe's stage.connection
  IdleStageSettings idle;
  std::size_t analysis_workers = 0;  // 0: every core but one, at least 1
  NotificationSettings notifications;
  BlueskySettings bluesky;
  std::optional<std::filesystem::path> file;  // where it was read from, for SIGHUP
};

// The command line's share: set fields override the file's.
struct ServiceOverrides {
  std::optional<std::filesystem::path> config_file, state_dir;
  std::optional<std::string> listen;  // ADDRESS:PORT
  std::optional<bool> simulate;
  std::optional<double> speed;
  std::optional<std::string> linkam_url;
};

// what() is "FILE:LINE:COLUMN: reason", one line per problem, or one line for a bad override.
class ConfigError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

ServiceConfig load_service_config(const ServiceOverrides& overrides);
// Only the notification settings, from the same file again (SIGHUP).
NotificationSettings reload_notifications(const std::filesystem::path& file);

}  // namespace insitu::service
