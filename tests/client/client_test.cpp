// `insitu submit|queue|status|history|pause|...|watch|token` as an operator runs them, against a scripted insitud
// on its Unix socket or TCP address: the requests they make, what they print, their exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/client/insitu_process.hpp"
#include "tests/client/scripted_peer.hpp"

namespace insitu::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json run_object(int id, const std::string& sample, const std::string& state, json position) {
  return {{"id", id},
          {"recipe", "cryo-ramp"},
          {"sample", sample},
          {"treatment", "cryo-HPT"},
          {"state", state},
          {"held", false},
          {"position", position},
          {"source", "recipes/cryo.yaml"},
          {"submitted", "2026-12-07T01:02:03.000Z"},
          {"started", nullptr},
          {"ended", nullptr},
          {"reason", ""},
          {"run_file", nullptr}};
}

json status_object() {
  return {
      {"service",
       {{"version", "0.1.0"}, {"state", "running"}, {"uptime_s", 12.5}, {"simulated", true}, {"speed", 200}}},
      {"stage",
       {{"temperature_K", 293.1}, {"setpoint_K", 293.15}, {"state", "holding"}, {"read", "2026-12-07T01:02:03.000Z"}}},
      {"run",
       {{"id", 3},
        {"sample", "Vit105 HPT"},
        {"recipe", "cryo-ramp"},
        {"state", "running"},
        {"segment", "heat"},
        {"segment_index", 1},
        {"segment_count", 3},
        {"temperature_K", 512.3},
        {"setpoint_K", 512.0},
        {"frames", 120},
        {"missing_frames", 0},
        {"latest_s_eq_J_per_mol_K", 3.1},
        {"progress", 0.42},
        {"eta_s", 1900.0}}},
      {"queue", {{"queued", 2}, {"held", 0}}}};
}

class InsituClient : public ::testing::Test {
 protected:
  void SetUp() override { write(dir_ / "token", "dir-token\n"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void write(const std::filesystem::path& file, const std::string& text) { std::ofstream(file) << text; }
  // A client command on the state dir's socket.
  Outcome local(std::vector<std::string> args, std::vector<std::string> environment = {}) {
    args.insert(args.end(), {"--state-dir", dir_.string()});
    return run_insitu(std::move(args), dir_, std::move(environment));
  }
  Recorded only_request() const {
    const auto requests = peer_.requests();
    EXPECT_EQ(requests.size(), 1u);
    return requests.empty() ? Recorded{} : requests.back();
  }

  std::filesystem::path dir_ = short_temp_dir();
  ScriptedPeer peer_{dir_ / "insitud.sock"};
};

TEST_F(InsituClient, QueueIsATableFromTheStateDirsSocketWithItsToken) {
  auto held = run_object(4, "Vit105 as cast", "queued", 0);
  held["held"] = true;
  peer_.answer("GET /api/v1/queue", 200, {{"runs", {run_object(3, "Vit105 HPT", "running", nullptr), held}}});
  const auto result = local({"queue"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "ID  STATE    POSITION  SAMPLE          RECIPE     SUBMITTED\n"
            "3   running  -         Vit105 HPT      cryo-ramp  2026-12-07 01:02:03\n"
            "4   held     0         Vit105 as cast  cryo-ramp  2026-12-07 01:02:03\n");
  const auto request = only_request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/api/v1/queue");
  EXPECT_EQ(request.authorization, "Bearer dir-token");
}

TEST_F(InsituClient, JsonIsTheServersDocumentPassedThrough) {
  const json queue = {{"runs", {run_object(3, "Vit105 HPT", "running", nullptr)}}};
  auto finished = run_object(2, "Vit105 HPT", "completed_with_deviations", nullptr);
  finished["states"] = {{{"state", "queued"}, {"time", "2026-12-07T01:02:03.000Z"}, {"reason", ""}}};
  const json history = {{"runs", {finished}}};
  peer_.answer("GET /api/v1/queue", 200, queue);
  peer_.answer("GET /api/v1/status", 200, status_object());
  peer_.answer("GET /api/v1/history", 200, history);
  const std::vector<std::pair<std::string, json>> expectations = {
      {"queue", queue}, {"status", status_object()}, {"history", history}};
  for (const auto& [command, expected] : expectations) {
    const auto result = local({command, "--json"});
    ASSERT_EQ(result.code, 0) << command << ": " << result.err;
    EXPECT_EQ(json::parse(result.out), expected) << command;
  }
}

TEST_F(InsituClient, StatusShowsTheServiceTheStageAndTheRunsProgress) {
  peer_.answer("GET /api/v1/status", 200, status_object());
  const auto result = local({"status"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "insitud 0.1.0  running  up 0:00:13  simulated, speed 200\n"
            "stage 293.1 K → 293.1 K  holding\n"
            "run run 3: Vit105 HPT (cryo-ramp)  running  heat 2/3  512.3 K → 512.0 K  frames 120  "
            "S_eq 3.10 J/(mol K)  [########............]  42%  ETA 0:31:40\n"
            "queue 2 queued, 0 held\n");
}

TEST_F(InsituClient, HistoryIsATableAndOneRunShowsItsStates) {
  auto run = run_object(2, "Vit105 HPT", "aborted", nullptr);
  run["started"] = "2026-12-07T01:05:00.000Z";
  run["ended"] = "2026-12-07T02:00:00.000Z";
  run["run_file"] = "2026-12-07/vit105/run.h5";
  run["reason"] = "sample cracked";
  peer_.answer("GET /api/v1/history", 200, {{"runs", {run}}});
  run["states"] = {{{"state", "queued"}, {"time", "2026-12-07T01:02:03.000Z"}, {"reason", ""}},
                   {{"state", "aborted"}, {"time", "2026-12-07T02:00:00.000Z"}, {"reason", "sample cracked"}}};
  peer_.answer("GET /api/v1/history/2", 200, run);

  const auto table = local({"history"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_EQ(table.out,
            "ID  SAMPLE      STATE    STARTED              ENDED                RUN FILE                  REASON\n"
            "2   Vit105 HPT  aborted  2026-12-07 01:05:00  2026-12-07 02:00:00  2026-12-07/vit105/run.h5  "
            "sample cracked\n");
  const auto one = local({"history", "2"});
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(one.out,
            "run 2: Vit105 HPT (cryo-ramp)  aborted\n"
            "source recipes/cryo.yaml  run file 2026-12-07/vit105/run.h5\n"
            "TIME                 STATE    REASON\n"
            "2026-12-07 01:02:03  queued   -\n"
            "2026-12-07 02:00:00  aborted  sample cracked\n");
}

TEST_F(InsituClient, SubmitSendsEachRecipesTextAndSourceInOrder) {
  write(dir_ / "a.yaml", "name: a\n");
  write(dir_ / "b.yaml", "name: b\n");
  peer_.answer("POST /api/v1/queue", 201, run_object(7, "A", "queued", 1));
  peer_.answer("POST /api/v1/queue", 201, run_object(8, "B", "queued", 2));
  const auto result =
      local({"submit", (dir_ / "a.yaml").string(), (dir_ / "b.yaml").string(), "--position", "1", "--hold"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "queued run 7: A (cryo-ramp)\nqueued run 8: B (cryo-ramp)\n");
  const auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(
      json::parse(requests[0].body),
      (json{{"recipe_text", "name: a\n"}, {"source", (dir_ / "a.yaml").string()}, {"position", 1}, {"held", true}}));
  EXPECT_EQ(json::parse(requests[1].body)["position"], 2);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].authorization, "Bearer dir-token");
}

TEST_F(InsituClient, ARefusedRecipeShowsTheServersReasonAndTheOthersGoOn) {
  write(dir_ / "bad.yaml", "rampp: 1\n");
  write(dir_ / "good.yaml", "name: good\n");
  peer_.answer("POST /api/v1/queue", 422,
               {{"error", "bad.yaml:1:1: unknown key 'rampp' (did you mean 'ramp'?)"}, {"status", 422}});
  peer_.answer("POST /api/v1/queue", 201, run_object(8, "good", "queued", 0));
  const auto result = local({"submit", (dir_ / "bad.yaml").string(), (dir_ / "good.yaml").string()});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "insitu: " + (dir_ / "bad.yaml").string() +
                            ": bad.yaml:1:1: unknown key 'rampp' (did you mean 'ramp'?) (HTTP 422)\n");
  EXPECT_EQ(result.out, "queued run 8: good (cryo-ramp)\n");
}

TEST_F(InsituClient, RunActionsGoOverTcpWithTheEnvironmentsToken) {
  auto paused = run_object(3, "Vit105 HPT", "paused", nullptr);
  peer_.answer("POST /api/v1/run/pause", 200, paused);
  peer_.answer("POST /api/v1/run/resume", 200, run_object(3, "Vit105 HPT", "running", nullptr));
  peer_.answer("POST /api/v1/run/abort", 200, run_object(3, "Vit105 HPT", "aborted", nullptr));
  peer_.answer("POST /api/v1/run/stop-after-frame", 200, run_object(3, "Vit105 HPT", "running", nullptr));
  const std::vector<std::string> token = {"INSITU_TOKEN=env-token"};
  const auto tcp = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--server", peer_.url()});
    return run_insitu(args, dir_, token);
  };
  const auto pause = tcp({"pause"});
  ASSERT_EQ(pause.code, 0) << pause.err;
  EXPECT_EQ(pause.out, "pause: run 3: Vit105 HPT (cryo-ramp), paused\n");
  EXPECT_EQ(tcp({"resume", "3"}).out, "resume: run 3: Vit105 HPT (cryo-ramp), running\n");
  EXPECT_EQ(tcp({"abort", "3", "--reason", "sample cracked"}).out, "abort: run 3: Vit105 HPT (cryo-ramp), aborted\n");
  EXPECT_EQ(json::parse(tcp({"stop-after-frame", "--json"}).out)["state"], "running");

  const auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].target, "/api/v1/run/pause");
  EXPECT_EQ(requests[0].body, "");
  EXPECT_EQ(requests[0].authorization, "Bearer env-token");
  EXPECT_EQ(json::parse(requests[1].body), (json{{"id", 3}}));
  EXPECT_EQ(json::parse(requests[2].body), (json{{"id", 3}, {"reason", "sample cracked"}}));
  EXPECT_EQ(requests[3].target, "/api/v1/run/stop-after-frame");
}

TEST_F(InsituClient, QueueEditsUseTheirMethodsAndPaths) {
  auto held = run_object(4, "B", "queued", 1);
  held["held"] = true;
  peer_.answer("POST /api/v1/queue/4/hold", 200, held);
  peer_.answer("POST /api/v1/queue/4/release", 200, run_object(4, "B", "queued", 1));
  peer_.answer("POST /api/v1/queue/4/move", 200, run_object(4, "B", "queued", 0));
  peer_.answer("DELETE /api/v1/queue/4", 200, run_object(4, "B", "removed", nullptr));
  EXPECT_EQ(local({"hold", "4"}).out, "hold: run 4: B (cryo-ramp), held at position 1\n");
  EXPECT_EQ(local({"release", "4"}).out, "release: run 4: B (cryo-ramp), queued at position 1\n");
  EXPECT_EQ(local({"move", "4", "0"}).out, "move: run 4: B (cryo-ramp), queued at position 0\n");
  EXPECT_EQ(local({"remove", "4"}).out, "remove: run 4: B (cryo-ramp), removed\n");
  const auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].method + " " + requests[0].target, "POST /api/v1/queue/4/hold");
  EXPECT_EQ(requests[1].method + " " + requests[1].target, "POST /api/v1/queue/4/release");
  EXPECT_EQ(requests[2].method + " " + requests[2].target, "POST /api/v1/queue/4/move");
  EXPECT_EQ(json::parse(requests[2].body), (json{{"position", 0}}));
  EXPECT_EQ(requests[3].method + " " + requests[3].target, "DELETE /api/v1/queue/4");
}

TEST_F(InsituClient, TokenFileThenEnvironmentThenStateDirAndNoneForAnotherServer) {
  peer_.answer("GET /api/v1/queue", 200, {{"runs", json::array()}});
  write(dir_ / "my-token", "file-token\n");
  const std::vector<std::string> environment = {"INSITU_TOKEN=env-token"};
  EXPECT_EQ(local({"queue", "--token-file", (dir_ / "my-token").string()}, environment).code, 0);
  EXPECT_EQ(local({"queue"}, environment).out, "no runs queued\n");
  EXPECT_EQ(local({"queue"}).code, 0);
  // With --server the local service's token stays home.
  EXPECT_EQ(run_insitu({"queue", "--server", peer_.url()}, dir_, {"INSITU_STATE_DIR=" + dir_.string()}).code, 0);
  std::filesystem::remove(dir_ / "token");
  EXPECT_EQ(local({"queue"}).code, 0);

  const auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[0].authorization, "Bearer file-token");
  EXPECT_EQ(requests[1].authorization, "Bearer env-token");
  EXPECT_EQ(requests[2].authorization, "Bearer dir-token");
  EXPECT_EQ(requests[3].authorization, "");
  EXPECT_EQ(requests[4].authorization, "");
}

TEST_F(InsituClient, TheStateDirComesFromTheEnvironmentWithoutTheOption) {
  peer_.answer("GET /api/v1/status", 200, status_object());
  const auto result = run_insitu({"status", "--json"}, dir_, {"INSITU_STATE_DIR=" + dir_.string()});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(only_request().authorization, "Bearer dir-token");
}

TEST_F(InsituClient, AnUnreachableServiceIsOneLineAndExit2) {
  const auto empty = short_temp_dir();
  const auto result = run_insitu({"queue", "--state-dir", empty.string()}, dir_);
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "insitu: cannot reach insitud at unix:" + empty.string() +
                            "/insitud.sock: No such file or directory (is insitud running?)\n");
  std::filesystem::remove_all(empty);

  asio::io_context io;
  asio::ip::tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = std::to_string(closed.local_endpoint().port());
  closed.close();
  const auto refused = run_insitu({"status", "--server", "http://127.0.0.1:" + port}, dir_);
  EXPECT_EQ(refused.code, 2);
  EXPECT_EQ(refused.err, "insitu: cannot reach insitud at http://127.0.0.1:" + port +
                             ": Connection refused (is insitud running?)\n");

  const auto not_a_url = run_insitu({"status", "--server", "ftp://example.org"}, dir_);
  EXPECT_EQ(not_a_url.code, 2);
  EXPECT_EQ(not_a_url.err, "insitu: --server ftp://example.org: expected http://HOST:PORT or unix:PATH\n");
}

TEST_F(InsituClient, ARefusalIsTheServersReasonWithItsStatusAndExit1) {
  peer_.answer("POST /api/v1/run/abort", 409, {{"error", "run 3 is not the running run"}, {"status", 409}});
  peer_.answer("POST /api/v1/run/pause", 403, {{"error", "wrong token"}, {"status", 403}});
  const auto conflict = local({"abort", "3"});
  EXPECT_EQ(conflict.code, 1);
  EXPECT_EQ(conflict.err, "insitu: run 3 is not the running run (HTTP 409)\n");
  EXPECT_EQ(conflict.out, "");
  const auto forbidden = local({"pause"});
  EXPECT_EQ(forbidden.code, 1);
  EXPECT_EQ(forbidden.err,
            "insitu: wrong token (HTTP 403); give the service's token with --token-file or INSITU_TOKEN\n");
}

TEST_F(InsituClient, TokenPrintsTheStateDirsTokenOrRefusesInOneLine) {
  const auto shown = local({"token"});
  EXPECT_EQ(shown.code, 0);
  EXPECT_EQ(shown.out, "dir-token\n");
  std::filesystem::remove(dir_ / "token");
  const auto missing = local({"token"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.err, "insitu: cannot read the token file " + dir_.string() + "/token: No such file or directory\n");
  std::filesystem::create_directory(dir_ / "token");  // root reads any file: a directory is what it cannot read
  const auto unreadable = local({"queue", "--token-file", (dir_ / "token").string()});
  EXPECT_EQ(unreadable.code, 2);
  EXPECT_EQ(unreadable.err, "insitu: cannot read the token file " + dir_.string() + "/token: Is a directory\n");
  EXPECT_TRUE(peer_.requests().empty());
}

TEST_F(InsituClient, WatchOncePrintsTheCurrentRunFromTheStream) {
  peer_.stream({{{"type", "queue"}, {"runs", json::array()}}, {{"type", "status"}, {"status", status_object()}}});
  const auto result = local({"watch", "--once"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out,
            "run 3: Vit105 HPT (cryo-ramp)  running  heat 2/3  512.3 K → 512.0 K  frames 120  S_eq 3.10 J/(mol K)  "
            "[########............]  42%  ETA 0:31:40\n");
  const auto request = only_request();
  EXPECT_EQ(request.target, "/api/v1/ws");
  EXPECT_EQ(request.authorization, "Bearer dir-token");
}

TEST_F(InsituClient, WatchRefusedIsTheServersReasonAndExit1) {
  peer_.answer("GET /api/v1/ws", 401, {{"error", "no token"}, {"status", 401}});
  const auto result = local({"watch"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "insitu: no token (HTTP 401); give the service's token with --token-file or INSITU_TOKEN\n");
}

TEST_F(InsituClient, WatchOnAPipePrintsChangesAtMostOnceASecondAndCtrlCEndsIt) {
  auto warmer = status_object();
  warmer["run"]["temperature_K"] = 512.4;
  auto paused = warmer;
  paused["run"]["state"] = "paused";
  peer_.stream({{{"type", "status"}, {"status", status_object()}},
                {{"type", "status"}, {"status", warmer}},  // within the second: not shown
                {{"type", "status"}, {"status", paused}}});
  InsituProcess watch({"watch", "--state-dir", dir_.string()}, dir_, {});
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  const auto lines = [&] {
    const auto out = watch.out();
    return std::count(out.begin(), out.end(), '\n');
  };
  while (lines() < 2 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(), 0) << watch.err();
  const auto out = watch.out();
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_THAT(out, HasSubstr("running  heat 2/3  512.3 K"));
  EXPECT_THAT(out, HasSubstr("paused  heat 2/3  512.4 K"));
}

}  // namespace
}  // namespace insitu::testing
