#pragma once
// insitud as the service tests start it: a state directory of its own under a short path (the Unix socket's limit),
// the detector geometry under the recipes root, simulated instruments, and the CLI to ask it things.
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/client/insitu_process.hpp"
#include "tests/storage/child.hpp"

namespace insitu::service::testing {

inline const std::string kInsitud = INSITU_BINARY_DIR "/daemon/service/insitud";

// A recipe of one sample with 60 s frames (0.3 s of wall time at 200x) during its ramps up, darks before and after,
// and a fast cool; the geometry is the one under the recipes root.
inline void write_recipe(const std::filesystem::path& file, const std::string& sample, const std::string& treatment,
                         double top_K = 373) {
  std::ofstream(file) << "insitu_recipe: 1\nname: night-" << sample << "\nsample:\n  name: " << sample
                      << "\n  composition: Cu50Zr50\n  treatment: " << treatment << "\nstage:\n  model: THMS600\n"
                      << "program:\n  - ramp: {to_K: " << top_K << ", rate_K_per_min: 10}\n"
                      << R"(  - ramp: {to_K: 300, rate_K_per_min: 50}
safe_state: stop
output:
  directory: ignored-by-the-service
detector:
  trigger: {connection: "serial:///dev/ttyUSB1", channel: A, pulse_width_s: 1.0e-4, polarity: normal,
            latency_s: 0.0, shutter_channel: B}
  frames: {folder: /data/xrd1621/incoming, pattern: frame, first_index: 1, format: tiff, sidecar: true,
           deadline_margin_s: 10, readout_s: 0.1332}
  geometry: instruments/xrd1621-60keV.poni
  settings: {subframes: 1, gain_pF: 0.5, timing_mode: 0, binning: 4}
  store_frames: false
exposures:
  period_s: 60
  during: [1]
  darks: {before: 1, after: 1}
)";
}

// A TCP port nobody listens on now (the kernel's pick, released again).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

struct ServiceFixture {
  std::filesystem::path dir = insitu::testing::short_temp_dir();
  std::filesystem::path state = dir / "state";
  std::filesystem::path recipes = state / "recipes";
  std::filesystem::path config = dir / "insitud.yaml";

  ServiceFixture() {
    std::filesystem::create_directories(recipes / "instruments");
    std::filesystem::copy_file(INSITU_SOURCE_DIR "/config/instruments/xrd1621-60keV.poni",
                               recipes / "instruments" / "xrd1621-60keV.poni");
    std::ofstream(config) << "listen: 127.0.0.1:0\n";
  }

  std::unique_ptr<storage::testing::Child> start_service(double speed = 200) const {
    return std::make_unique<storage::testing::Child>(
        std::vector<std::string>{kInsitud, "--config", config.string(), "--state-dir", state.string(), "--simulate",
                                 "--speed", std::to_string(speed)});
  }
  nlohmann::json cli_json(const std::string& command) const {
    const auto out = insitu::testing::run_insitu({command, "--json", "--state-dir", state.string()}, dir);
    if (out.code != 0) return nullptr;
    return nlohmann::json::parse(out.out, nullptr, false);
  }
  // Polls the CLI until `ready` holds for its answer; the last answer either way.
  nlohmann::json wait_for(const std::string& command, const std::function<bool(const nlohmann::json&)>& ready,
                          std::chrono::seconds limit) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    nlohmann::json answer;
    while (std::chrono::steady_clock::now() < end) {
      answer = cli_json(command);
      if (answer.is_object() && ready(answer)) return answer;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return answer;
  }
  bool wait_until_idle() const {
    const auto s = wait_for("status", [](const nlohmann::json& j) { return j["service"]["state"] == "idle"; },
                            std::chrono::seconds(30));
    return s.is_object() && s["service"]["state"] == "idle";
  }
};

}  // namespace insitu::service::testing
