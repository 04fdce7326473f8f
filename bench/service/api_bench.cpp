// insitud's API under load, against the simulated instruments (figures, not pass/fail):
//  1. status request latency (median, p99) over one keep-alive TCP connection while a run acquires at 1x;
//  2. 50 WebSocket watchers for a whole simulated run at 20x: each must see the run's stop, none dropped, and the
//     run's frames must keep their period (no late boundary).
//   api_bench [requests]      (default 2000; ~4 min in all)
#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/storage/run_file_reader.hpp"
#include "tests/api/api_client.hpp"
#include "tests/service/service_fixture.hpp"

namespace {

using namespace insitu;
using namespace std::chrono_literals;
using nlohmann::json;
namespace http = boost::beast::http;

struct Bench : service::testing::ServiceFixture {
  int port = service::testing::free_port();
  std::unique_ptr<storage::testing::Child> process;
  api::test::Endpoint tcp, unix_socket;

  explicit Bench(double speed) {
    std::ofstream(config) << "listen: 127.0.0.1:" << port << "\n";
    process = start_service(speed);
    tcp.tcp = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port));
    unix_socket.unix_socket = state / "insitud.sock";
    if (!wait_until_idle()) throw std::runtime_error("insitud did not come up");
  }
  ~Bench() {
    process->kill(SIGTERM);
    process->wait();
    std::filesystem::remove_all(dir);
  }
  std::string token() const {
    auto text = insitu::testing::file_text(state / "token");
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }
  void submit(const std::string& name, double top_K) {
    service::testing::write_recipe(recipes / (name + ".yaml"), name, "as cast", top_K);
    api::test::HttpClient client(tcp);
    const auto reply = client.call(http::verb::post, "/api/v1/queue", json{{"recipe_path", name + ".yaml"}}.dump(),
                                   token());
    if (reply.result_int() != 201) throw std::runtime_error("submit refused: " + reply.body());
  }
  json status() const {
    api::test::HttpClient client(tcp);
    return json::parse(client.call(http::verb::get, "/api/v1/status").body());
  }
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

void status_latency(int requests) {
  Bench bench(1.0);
  bench.submit("latency", 303);  // 1x: a frame a minute, the stage ramping
  while (!bench.status()["run"].is_object()) std::this_thread::sleep_for(200ms);
  std::this_thread::sleep_for(5s);
  api::test::HttpClient client(bench.tcp);
  std::vector<double> ms;
  for (int i = 0; i < requests; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto reply = client.call(http::verb::get, "/api/v1/status");
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (reply.result_int() != 200) throw std::runtime_error("status failed");
  }
  fmt::print("status latency during a 1x acquisition, {} requests on one connection: median {:.3f} ms, p99 {:.3f} ms, "
             "max {:.3f} ms\n",
             requests, percentile(ms, 0.5), percentile(ms, 0.99), *std::max_element(ms.begin(), ms.end()));
}

// One watcher: reads until the run's stop document, or the connection ends (dropped).
bool watch_until_stop(const api::test::Endpoint& where, std::atomic<int>& connected) {
  api::test::WatchClient watcher(where);
  ++connected;
  try {
    for (;;) {
      const auto message = watcher.read();
      if (message["type"] == "document" && message["name"] == "stop") return true;
    }
  } catch (const std::exception&) {
    return false;
  }
}

void many_watchers() {
  constexpr int kWatchers = 50;
  Bench bench(20.0);
  std::atomic<int> connected{0};
  std::atomic<int> saw_stop{0};
  std::vector<std::thread> watchers;
  for (int i = 0; i < kWatchers; ++i)
    watchers.emplace_back([&] {
      if (watch_until_stop(bench.unix_socket, connected)) ++saw_stop;
    });
  while (connected < kWatchers) std::this_thread::sleep_for(10ms);
  const auto t0 = std::chrono::steady_clock::now();
  bench.submit("watched", 353);
  for (auto& w : watchers) w.join();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  api::test::HttpClient client(bench.tcp);
  const auto files = json::parse(client.call(http::verb::get, "/api/v1/runfiles").body())["files"];
  const storage::RunFileReader run(bench.state / "data" / files[0]["path"].get<std::string>());
  const auto frames = *run.frames();
  double worst_s = 0;
  int data = 0;
  for (std::size_t i = 0; i < frames.rows(); ++i) {
    if (frames.image_key[i] != 0) continue;
    ++data;
    worst_s = std::max(worst_s, std::abs(frames.stop_s[i] - frames.start_s[i] - 60.0));
  }
  fmt::print("{} WebSocket watchers through a {:.0f} s run at 20x: {} saw its stop, {} dropped; {} data frames, "
             "worst period error {:.3f} s of 60 s, {} late-boundary warnings\n",
             kWatchers, wall_s, saw_stop.load(), kWatchers - saw_stop.load(), data, worst_s,
             run.events().count("warning", "late"));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    status_latency(argc > 1 ? std::stoi(argv[1]) : 2000);
    many_watchers();
  } catch (const std::exception& e) {
    fmt::print(stderr, "api_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
