#include "daemon/service/config.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "daemon/client/locations.hpp"
#include "drivers/io/connection_url.hpp"
#include "protocols/recipe/yaml_fields.hpp"

namespace insitu::service {
namespace {

namespace f = recipe::fields;

void read_idle(f::Diagnostics& diag, const f::Entry& entry, IdleStageSettings& idle) {
  const auto map = f::as_map(diag, entry, "idle", {"stage", "temperature_K", "rate_K_per_min"});
  if (!map) return;
  if (auto mode = f::read_choice(diag, map->find("stage"), {"stop", "hold"}))
    idle.mode = *mode == 0 ? IdleStageSettings::Mode::stop : IdleStageSettings::Mode::hold;
  // The THMS600's range; a recipe may narrow it, the idle state must not leave it.
  if (auto t = f::read_number_in(diag, map->find("temperature_K"), 77.0, 873.15, "K")) idle.temperature_K = *t;
  if (auto r = f::read_number_in(diag, map->find("rate_K_per_min"), 0.1, 150.0, "K/min")) idle.rate_K_per_min = *r;
}

void read_bluesky(f::Diagnostics& diag, const f::Entry& entry, BlueskySettings& bluesky) {
  const auto map = f::as_map(diag, entry, "bluesky", {"zmq", "jsonl"});
  if (!map) return;
  if (auto s = f::read_string(diag, map->find("zmq")); s && !s->empty()) bluesky.zmq = *s;
  if (auto b = f::read_bool(diag, map->find("jsonl"))) bluesky.jsonl = *b;
}

void read_paths(f::Diagnostics& diag, const f::MapView& top, ServiceConfig& c) {
  if (auto s = f::read_string(diag, top.find("state_dir"))) c.state_dir = *s;
  if (auto s = f::read_string(diag, top.find("data_root"))) c.data_root = *s;
  if (auto s = f::read_string(diag, top.find("recipes_root"))) c.recipes_root = *s;
  if (auto s = f::read_string(diag, top.find("unix_socket"))) c.unix_socket = *s;
}

void parse_listen(const std::string& text, ServiceConfig& c) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) throw ConfigError("listen: expected ADDRESS:PORT, got '" + text + "'");
  int port = -1;
  const auto port_text = text.substr(colon + 1);
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port < 0 || port > 65535)
    throw ConfigError("listen: '" + port_text + "' is not a port (0..65535)");
  c.listen_address = text.substr(0, colon);
  c.listen_port = static_cast<std::uint16_t>(port);
}

void read_top(f::Diagnostics& diag, const f::MapView& top, ServiceConfig& c, const std::string& source) {
  read_paths(diag, top, c);
  if (auto s = f::read_string(diag, top.find("listen"))) {
    try {
      parse_listen(*s, c);
    } catch (const ConfigError& e) {
      diag.error(top.find("listen")->value.Mark(), e.what());
    }
  }
  if (auto b = f::read_bool(diag, top.find("simulate"))) c.simulate = *b;
  if (auto v = f::read_number_in(diag, top.find("speed"), 1e-3, 1e4, "")) c.speed = *v;
  if (auto n = f::read_integer_in(diag, top.find("analysis_workers"), 1, 64))
    c.analysis_workers = static_cast<std::size_t>(*n);
  if (const auto* instruments = top.find("instruments")) {
    if (const auto map = f::as_map(diag, *instruments, "instruments", {"linkam"}))
      if (auto s = f::read_string(diag, map->find("linkam"))) c.linkam_url = *s;
  }
  if (const auto* idle = top.find("idle")) read_idle(diag, *idle, c.idle);
  if (const auto* bluesky = top.find("bluesky")) read_bluesky(diag, *bluesky, c.bluesky);
  if (const auto* n = top.find("notifications")) {
    try {
      c.notifications = parse_notification_settings(n->value, source);
    } catch (const std::exception& e) {
      throw ConfigError(e.what());
    }
  }
}

YAML::Node parse_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file.string() + ": cannot read the configuration file");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}:{}: {}", file.string(), e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

// The shared YAML field readers raise RecipeError; insitud's callers expect ConfigError.
[[noreturn]] void raise_config_error(f::Diagnostics& diag) {
  try {
    diag.raise();
  } catch (const recipe::RecipeError& e) {
    throw ConfigError(e.what());
  }
}

void read_file(const std::filesystem::path& file, ServiceConfig& c) {
  const auto root = parse_file(file);
  if (root.IsNull()) return;
  f::Diagnostics diag(file.string());
  if (!root.IsMap()) {
    diag.error(root.Mark(), "the configuration must be a map");
    raise_config_error(diag);
  }
  const f::MapView top(diag, root, root.Mark(), "the configuration",
                       {"state_dir", "data_root", "recipes_root", "listen", "unix_socket", "simulate", "speed",
                        "analysis_workers", "instruments", "idle", "notifications", "bluesky"});
  read_top(diag, top, c, file.string());
  if (!diag.empty()) raise_config_error(diag);
}

void apply(const ServiceOverrides& o, ServiceConfig& c) {
  if (o.state_dir) c.state_dir = *o.state_dir;
  if (o.listen) parse_listen(*o.listen, c);
  if (o.simulate) c.simulate = *o.simulate;
  if (o.speed) {
    // The configuration file's bounds; 1e400 reads as infinity.
    if (!(*o.speed >= 1e-3 && *o.speed <= 1e4)) throw ConfigError("--speed must be within 0.001..10000");
    c.speed = *o.speed;
  }
  if (o.linkam_url) c.linkam_url = *o.linkam_url;
  if (c.linkam_url) {  // refused now, not when the first run connects
    try {
      io::parse_connection_url(*c.linkam_url);
    } catch (const std::exception& e) {
      throw ConfigError(std::string(o.linkam_url ? "--linkam" : "instruments.linkam") + ": " + e.what());
    }
  }
  if (c.state_dir.empty()) c.state_dir = client::default_state_dir();
  c.state_dir = std::filesystem::absolute(c.state_dir);
  // Relative roots are under the state directory, so one --state-dir is a whole self-contained service.
  for (auto* root : {&c.data_root, &c.recipes_root}) {
    if (!root->empty() && root->is_relative()) *root = c.state_dir / *root;
  }
  if (c.data_root.empty()) c.data_root = c.state_dir / "data";
  if (c.recipes_root.empty()) c.recipes_root = c.state_dir / "recipes";
  if (c.unix_socket.empty()) c.unix_socket = client::socket_path(c.state_dir);
}

}  // namespace

ServiceConfig load_service_config(const ServiceOverrides& overrides) {
  ServiceConfig c;
  if (overrides.config_file) {
    c.file = std::filesystem::absolute(*overrides.config_file);
    read_file(*c.file, c);
  }
  apply(overrides, c);
  return c;
}

NotificationSettings reload_notifications(const std::filesystem::path& file) {
  ServiceConfig c;
  read_file(file, c);
  return c.notifications;
}

}  // namespace insitu::service
