// The API of a real insitud while it acquires: every endpoint, the token rules over TCP, and abusive requests
// (oversized, malformed, slow, escaping their folder) refused while the frames keep their timing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/storage/run_file_reader.hpp"
#include "tests/api/api_client.hpp"
#include "tests/service/service_fixture.hpp"

namespace insitu::service {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using api::test::HttpClient;
using api::test::WatchClient;
namespace http = boost::beast::http;

struct LiveService : testing::ServiceFixture {
  int port = testing::free_port();
  std::unique_ptr<storage::testing::Child> process;
  std::string token;
  api::test::Endpoint tcp, unix_socket;

  LiveService() {
    std::ofstream(config) << "listen: 127.0.0.1:" << port << "\n";
    // 100x: a frame is 0.6 s of wall time, so the check that none is late is about the service, not the scheduler.
    process = start_service(100);
    tcp.tcp = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port));
    unix_socket.unix_socket = state / "insitud.sock";
  }
  bool ready() {
    if (!wait_until_idle()) return false;
    token = insitu::testing::file_text(state / "token");
    if (!token.empty() && token.back() == '\n') token.pop_back();
    return token.size() == 64;
  }
  json call(http::verb verb, const std::string& target, const std::string& body = "", int expected = 200) {
    HttpClient client(tcp);
    const auto reply = client.call(verb, target, body, token);
    EXPECT_EQ(reply.result_int(), expected) << target << ": " << reply.body();
    return json::parse(reply.body(), nullptr, false);
  }
  json run_state(std::int64_t id) { return call(http::verb::get, "/api/v1/history/" + std::to_string(id)); }
  bool wait_for_state(std::int64_t id, const std::string& state, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (run_state(id)["state"] == state) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  json submit(const std::string& file, bool held = false) {
    return call(http::verb::post, "/api/v1/queue", json{{"recipe_path", file}, {"held", held}}.dump(), 201);
  }
};

// Every refusal a client can provoke, each answered with its status and a JSON reason.
void refuse_bad_requests(LiveService& s) {
  const auto status_of = [&](http::verb verb, const std::string& target, const std::string& body,
                             std::optional<std::string> token) {
    HttpClient client(s.tcp);
    return client.call(verb, target, body, std::move(token)).result_int();
  };
  EXPECT_EQ(status_of(http::verb::post, "/api/v1/run/pause", "", std::nullopt), 401);
  EXPECT_EQ(status_of(http::verb::post, "/api/v1/run/pause", "", std::string(64, 'f')), 403);
  EXPECT_EQ(status_of(http::verb::delete_, "/api/v1/queue/1", "", std::nullopt), 401);
  EXPECT_EQ(status_of(http::verb::post, "/api/v1/queue", "{\"recipe_text\": ", s.token), 400);
  EXPECT_EQ(status_of(http::verb::post, "/api/v1/queue", json{{"recipe_text", std::string(70000, 'x')}}.dump(),
                      s.token), 413);
  EXPECT_EQ(status_of(http::verb::post, "/api/v1/queue", R"({"recipe_path": "../token"})", s.token), 400);
  EXPECT_EQ(status_of(http::verb::post, "/api/v1/queue", R"({"recipe_path": "/etc/passwd"})", s.token), 400);
  std::filesystem::create_symlink(s.state, s.recipes / "escape");
  EXPECT_EQ(status_of(http::verb::post, "/api/v1/queue", R"({"recipe_path": "escape/token"})", s.token), 403);
  EXPECT_EQ(status_of(http::verb::post, "/api/v1/queue", R"({"recipe_path": "missing.yaml"})", s.token), 404);
  HttpClient recipe_error(s.tcp);
  const auto refused = recipe_error.call(http::verb::post, "/api/v1/queue",
                                         json{{"recipe_text", "insitu_recipe: 1\nname: x\nstage: 3\n"}}.dump(), s.token);
  EXPECT_EQ(refused.result_int(), 422);
  EXPECT_NE(refused.body().find("submitted:3:"), std::string::npos) << refused.body();
  HttpClient garbage(s.tcp);
  garbage.write_raw("\x16\x03\x01\x02\x00 not http at all\r\n\r\n");
  EXPECT_EQ(garbage.read_reply().result_int(), 400);
}

TEST(LiveApi, EveryEndpointWhileARunAcquiresAndAbuseCostsItNoFrame) {
  LiveService s;
  ASSERT_TRUE(s.ready()) << "insitud did not come up";
  WatchClient watcher(s.unix_socket);
  EXPECT_EQ(watcher.read()["type"], "hello");
  testing::write_recipe(s.recipes / "long.yaml", "long", "as cast", 393);
  testing::write_recipe(s.recipes / "short.yaml", "second", "HPT at 77 K", 393);
  EXPECT_EQ(s.submit("long.yaml")["id"], 1);
  EXPECT_EQ(s.submit("short.yaml", true)["held"], true);
  EXPECT_EQ(s.submit("short.yaml")["id"], 3);
  ASSERT_TRUE(s.wait_for_state(1, "running", 30s));

  // A slow client holds a half-sent request open through the run; the others are refused meanwhile.
  HttpClient slow(s.tcp);
  slow.write_raw("POST /api/v1/run/pause HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  refuse_bad_requests(s);
  EXPECT_EQ(s.call(http::verb::get, "/api/v1/status")["run"]["id"], 1);
  const auto watched = insitu::testing::run_insitu({"watch", "--once", "--state-dir", s.state.string()}, s.dir);
  EXPECT_EQ(watched.code, 0) << watched.err;
  EXPECT_NE(watched.out.find("long"), std::string::npos) << watched.out;
  EXPECT_EQ(s.call(http::verb::post, "/api/v1/queue/3/move", R"({"position": 0})")["position"], 0);
  EXPECT_EQ(s.call(http::verb::delete_, "/api/v1/queue/3")["state"], "removed");
  EXPECT_EQ(s.call(http::verb::post, "/api/v1/queue/2/release")["held"], false);
  EXPECT_EQ(s.call(http::verb::get, "/api/v1/queue")["runs"].size(), 2u);
  EXPECT_TRUE(s.call(http::verb::get, "/api/v1/openapi.json").contains("paths"));
  EXPECT_EQ(s.call(http::verb::post, "/api/v1/run/abort", R"({"id": 2})", 409)["status"], 409);
  ASSERT_TRUE(s.wait_for_state(1, "completed", 90s)) << s.run_state(1).dump();

  // The second run is paused, resumed, and stopped after its frame in flight.
  ASSERT_TRUE(s.wait_for_state(2, "running", 30s));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(s.call(http::verb::post, "/api/v1/run/pause", R"({"id": 2})")["state"], "paused");
  EXPECT_EQ(s.call(http::verb::post, "/api/v1/run/pause", "", 409)["status"], 409);
  EXPECT_EQ(s.call(http::verb::post, "/api/v1/run/resume", R"({"reason": "beam back"})")["state"], "running");
  std::this_thread::sleep_for(1500ms);
  s.call(http::verb::post, "/api/v1/run/stop-after-frame");
  ASSERT_TRUE(s.wait_for_state(2, "aborted", 30s));
  const auto second = s.run_state(2);
  EXPECT_EQ(second["reason"], "stopped after the current frame on request");
  std::vector<std::string> states;
  for (const auto& change : second["states"]) states.push_back(change["state"]);
  EXPECT_EQ(states, (std::vector<std::string>{"queued", "queued", "queued", "running", "paused", "running", "aborted"}))
      << second.dump();

  const auto history = s.call(http::verb::get, "/api/v1/history");
  ASSERT_EQ(history["runs"].size(), 3u);
  const auto files = s.call(http::verb::get, "/api/v1/runfiles")["files"];
  ASSERT_EQ(files.size(), 2u);
  EXPECT_GT(files[0]["size_bytes"].get<std::int64_t>(), 0);

  // The first run's frames kept their period through all of it; none missing, no late boundary.
  const storage::RunFileReader first(s.state / "data" / files[0]["path"].get<std::string>());
  const auto frames = *first.frames();
  int data = 0;
  for (std::size_t i = 0; i < frames.rows(); ++i) {
    if (frames.image_key[i] != 0) continue;
    ++data;
    EXPECT_NEAR(frames.stop_s[i] - frames.start_s[i], 60.0, 3.0) << "frame " << i;
  }
  EXPECT_GE(data, 8);
  EXPECT_EQ(first.events().count("warning", "late"), 0);
  const storage::RunFileReader stopped(s.state / "data" / files[1]["path"].get<std::string>());
  const auto last = *stopped.frames();
  std::size_t k = last.rows();
  while (k > 0 && last.image_key[k - 1] != 0) --k;
  ASSERT_GT(k, 0u);
  EXPECT_NEAR(last.stop_s[k - 1] - last.start_s[k - 1], 60.0, 3.0) << "the frame in flight ran to its end";
  // The programme went on through that frame: the stage was secured only after it.
  const auto events = stopped.events();
  for (std::size_t i = 0; i < events.rows(); ++i) {
    if (events.message[i].find("safe state") != std::string::npos) {
      EXPECT_GT(events.time_s[i], last.stop_s[k - 1]) << events.message[i];
    }
  }
  s.process->kill(SIGTERM);
  EXPECT_EQ(s.process->wait(), 0);
}

}  // namespace
}  // namespace insitu::service
