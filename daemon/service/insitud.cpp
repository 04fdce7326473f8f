// insitud: the acquisition service. Runs queued recipes one after another, controlled through its HTTP/WebSocket
// API on a TCP address and a Unix socket; systemd's Type=notify service (packaging/insitud.service).
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>

#include "daemon/api/server.hpp"
#include "daemon/api/token.hpp"
#include "daemon/service/service.hpp"

namespace {

using namespace insitu;

// Exit codes of insitud.
enum ServiceExit : int {
  service_stopped = 0,       // by SIGTERM/SIGINT, after closing what it had open
  service_failed = 1,        // an unexpected error while serving
  service_not_started = 2,   // a bad configuration or command line, a busy state directory, an address in use
};

// journald stamps each line itself and a log file is no terminal: colour and time only on a terminal.
std::vector<spdlog::sink_ptr> service_log_sinks() {
  spdlog::sink_ptr console;
  if (::isatty(STDERR_FILENO) == 1) {
    console = std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>();
  } else {
    console = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    console->set_pattern("[%l] %n: %v");
  }
  console->set_level(spdlog::level::info);
  return {console};
}

// One insitud per state directory: the lock is held until the process ends.
void lock_state_dir(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const auto path = dir / "insitud.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    throw std::runtime_error(fmt::format("another insitud uses the state directory {}", dir.string()));
}

api::ApiSettings api_settings(const service::ServiceConfig& config, std::string token) {
  api::ApiSettings s;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(config.listen_address, ec);
  if (ec) throw std::runtime_error(fmt::format("listen: '{}' is not an IP address", config.listen_address));
  s.tcp = asio::ip::tcp::endpoint(address, config.listen_port);
  s.unix_socket = config.unix_socket;
  s.token = std::move(token);
  return s;
}

int serve(const service::ServiceConfig& config) {
  const auto sinks = service_log_sinks();
  const auto log = std::make_shared<spdlog::logger>("insitud.api", sinks.begin(), sinks.end());
  daemon::Host host;
  std::unique_ptr<service::Service> service;
  std::unique_ptr<api::ApiServer> server;
  try {
    lock_state_dir(config.state_dir);
    service = std::make_unique<service::Service>(host, config, sinks);
    server = std::make_unique<api::ApiServer>(host.loop(), api_settings(config, api::load_or_create_token(config.state_dir)),
                                              *service, log);
    server->start();
  } catch (const std::exception& e) {
    fmt::print(stderr, "insitud: {}\n", e.what());
    return service_not_started;
  }
  log->info("listening on {}:{} and {}", config.listen_address, server->tcp_port(), config.unix_socket.string());
  host.on_signal([&](int signal) {
    if (signal == SIGHUP)
      service->reload_notifications();
    else if (signal == SIGTERM || signal == SIGINT)
      service->stop(signal == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  try {
    host.run([&]() -> awaitable<void> {
      co_await service->serve();
      server->stop();
    }());
  } catch (const std::exception& e) {
    fmt::print(stderr, "insitud: {}\n", e.what());
    return service_failed;
  }
  return service_stopped;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"insitud: runs queued recipes unattended, controlled through an HTTP/WebSocket API"};
  app.set_version_flag("--version", INSITU_VERSION);
  service::ServiceOverrides o;
  std::string config_file, state_dir, listen, linkam;
  double speed = 0;
  bool simulate = false;
  app.add_option("--config", config_file, "service configuration (YAML)")->check(CLI::ExistingFile);
  app.add_option("--state-dir", state_dir, "queue, token, socket and (by default) data and recipes");
  app.add_option("--listen", listen, "ADDRESS:PORT of the HTTP API (default 127.0.0.1:8754)");
  app.add_flag("--simulate", simulate, "start the simulated instruments for the service's life");
  app.add_option("--speed", speed, "run-clock speed factor (e.g. 200 with --simulate)");
  app.add_option("--linkam", linkam, "the stage's connection URL for every run");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : service_not_started;
  }
  if (!config_file.empty()) o.config_file = config_file;
  if (!state_dir.empty()) o.state_dir = state_dir;
  if (!listen.empty()) o.listen = listen;
  if (simulate) o.simulate = true;
  if (speed != 0) o.speed = speed;
  if (!linkam.empty()) o.linkam_url = linkam;
  service::ServiceConfig config;
  try {
    config = service::load_service_config(o);
  } catch (const std::exception& e) {
    fmt::print(stderr, "insitud: {}\n", e.what());
    return service_not_started;
  }
  return serve(config);
}
