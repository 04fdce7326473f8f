// Every endpoint reaches the right Control call with the right arguments; malformed requests never do.
#include <gtest/gtest.h>

#include "tests/api/api_fixture.hpp"

namespace insitu::api::test {
namespace {

using http::verb;

struct Case {
  verb method;
  std::string target;
  std::string body;
  unsigned status;
  std::string call;
};

const std::vector<Case> endpoint_cases = {
    {verb::get, "/api/v1/status", "", 200, "status"},
    {verb::get, "/api/v1/status?verbose=1", "", 200, "status"},
    {verb::get, "/api/v1/queue", "", 200, "queue"},
    {verb::post, "/api/v1/queue", R"({"recipe_path": "cryo/ramp.yaml", "position": 1})", 201,
     R"(submit {"position":1,"recipe_path":"cryo/ramp.yaml"})"},
    {verb::post, "/api/v1/queue", R"({"recipe_text": "name: ramp\n"})", 201, R"(submit {"recipe_text":"name: ramp\n"})"},
    {verb::post, "/api/v1/queue", R"({"recipe_text": "x", "source": "a.yaml", "held": true})", 201,
     R"(submit {"held":true,"recipe_text":"x","source":"a.yaml"})"},
    {verb::post, "/api/v1/queue/7/move", R"({"position": 2})", 200, "move 7 2"},
    {verb::post, "/api/v1/queue/7/hold", "", 200, "hold 7"},
    {verb::post, "/api/v1/queue/8/release", "{}", 200, "release 8"},
    {verb::delete_, "/api/v1/queue/9", "", 200, "remove 9"},
    {verb::post, "/api/v1/run/pause", "", 200, "act pause - "},
    {verb::post, "/api/v1/run/resume", R"({"id": 3, "reason": "sample settled"})", 200, "act resume 3 sample settled"},
    {verb::post, "/api/v1/run/abort", R"({"reason": "leak"})", 200, "act abort - leak"},
    {verb::post, "/api/v1/run/stop-after-frame", "{}", 200, "act stop_after_frame - "},
    {verb::get, "/api/v1/history", "", 200, "history -"},
    {verb::get, "/api/v1/history/12", "", 200, "history 12"},
    {verb::get, "/api/v1/runfiles", "", 200, "run_files"},
};

// All on one keep-alive connection.
void expect_every_endpoint_served(FakeControl& control, const Endpoint& where) {
  HttpClient client(where);
  for (const auto& c : endpoint_cases) {
    SCOPED_TRACE(c.target);
    const auto reply = client.call(c.method, c.target, c.body, test_token);
    EXPECT_EQ(reply.result_int(), c.status) << reply.body();
    EXPECT_EQ(json_of(reply).value("call", ""), c.call);
    EXPECT_EQ(control.calls().back(), c.call);
    EXPECT_EQ(reply[http::field::server], "insitud");
    EXPECT_EQ(reply[http::field::content_type], "application/json");
    EXPECT_TRUE(reply.keep_alive());
  }
}

class Routing : public ApiTest {
 protected:
  Routing() { start(); }

  // The request is answered with `status` and a JSON error, and Control is not called.
  void expect_refused(verb method, const std::string& target, const std::string& body, unsigned status) {
    SCOPED_TRACE(target + " " + body);
    const auto calls_before = control_.calls().size();
    HttpClient client(tcp());
    const auto reply = client.call(method, target, body, test_token);
    EXPECT_EQ(reply.result_int(), status) << reply.body();
    const auto error = json_of(reply);
    EXPECT_EQ(error.value("status", 0u), status);
    EXPECT_FALSE(error.value("error", "").empty());
    EXPECT_EQ(control_.calls().size(), calls_before);
  }
};

TEST_F(Routing, EveryEndpointReachesItsControlCallOverTcp) { expect_every_endpoint_served(control_, tcp()); }

TEST_F(Routing, EveryEndpointReachesItsControlCallOverTheUnixSocket) {
  expect_every_endpoint_served(control_, unix_socket());
}

TEST_F(Routing, UnknownPathsAre404) {
  for (const std::string target : {"/index.html", "/api/v1", "/api/v1/nothing", "/api/v1/status/", "/api/v1/queue/7/shake",
                                   "/api/v2/status", "http://example.org/api/v1/status"}) {
    expect_refused(verb::get, target, "", 404);
  }
}

TEST_F(Routing, AKnownPathWithTheWrongMethodIs405WithAllow) {
  HttpClient client(tcp());
  const auto reply = client.call(verb::delete_, "/api/v1/status", "", test_token);
  EXPECT_EQ(reply.result_int(), 405u);
  EXPECT_EQ(reply[http::field::allow], "GET");
  EXPECT_EQ(client.call(verb::put, "/api/v1/queue", "{}", test_token)[http::field::allow], "GET, POST");
  expect_refused(verb::get, "/api/v1/run/pause", "", 405);
  expect_refused(verb::post, "/api/v1/queue/7", "", 405);
}

TEST_F(Routing, MalformedBodiesAre400) {
  const std::string queue = "/api/v1/queue";
  for (const std::string body : {"{not json", "[1, 2]", "\"text\"", R"({"recipe_path": 5})",
                                 R"({"recipe_path": "a.yaml", "recipe_text": "b"})", R"({"position": 0})",
                                 R"({"recipe_path": "a.yaml", "position": -1})",
                                 R"({"recipe_path": "a.yaml", "position": 1.5})",
                                 R"({"recipe_path": "a.yaml", "position": 18446744073709551615})",
                                 R"({"recipe_path": "a.yaml", "command": "rm -rf /"})"}) {
    expect_refused(verb::post, queue, body, 400);
  }
  expect_refused(verb::post, "/api/v1/queue/7/move", "", 400);
  expect_refused(verb::post, "/api/v1/queue/7/move", R"({"position": "2"})", 400);
  expect_refused(verb::post, "/api/v1/queue/7/hold", R"({"position": 2})", 400);
  expect_refused(verb::post, "/api/v1/run/abort", R"({"id": 0})", 400);
  expect_refused(verb::post, "/api/v1/run/abort", R"({"reason": ["a"]})", 400);
}

TEST_F(Routing, RunIdsArePositiveIntegers) {
  for (const std::string id : {"0", "-3", "abc", "+5", "1e3", "7.0", "99999999999999999999"}) {
    expect_refused(verb::post, "/api/v1/queue/" + id + "/hold", "", 400);
    expect_refused(verb::get, "/api/v1/history/" + id, "", 400);
  }
}

TEST_F(Routing, ARefusalFromTheServiceKeepsItsStatusAndReason) {
  HttpClient client(tcp());
  control_.refuse_next(409, "no run is running");
  auto reply = client.call(verb::post, "/api/v1/run/pause", "", test_token);
  EXPECT_EQ(reply.result_int(), 409u);
  EXPECT_EQ(json_of(reply), (nlohmann::json{{"error", "no run is running"}, {"status", 409}}));

  control_.refuse_next(422, "ramp.yaml:3:7: unknown key \"rampp\"");
  reply = client.call(verb::post, "/api/v1/queue", R"({"recipe_path": "ramp.yaml"})", test_token);
  EXPECT_EQ(reply.result_int(), 422u);
  EXPECT_EQ(json_of(reply)["error"], "ramp.yaml:3:7: unknown key \"rampp\"");

  control_.refuse_next(0, "database is locked");
  reply = client.call(verb::get, "/api/v1/history", "");
  EXPECT_EQ(reply.result_int(), 500u);
  EXPECT_EQ(json_of(reply)["error"], "database is locked");

  control_.refuse_next(200, "not an error status");
  EXPECT_EQ(client.call(verb::get, "/api/v1/queue", "").result_int(), 500u);
  EXPECT_EQ(client.call(verb::get, "/api/v1/queue", "").result_int(), 200u) << "the connection goes on";
  EXPECT_TRUE(logged("refused with 409: no run is running"));
  EXPECT_TRUE(logged("failed with 500: database is locked"));
}

TEST_F(Routing, AGetOfTheWebSocketPathWithoutUpgradeIs426) {
  HttpClient client(tcp());
  const auto reply = client.call(verb::get, "/api/v1/ws", "");
  EXPECT_EQ(reply.result_int(), 426u);
  EXPECT_EQ(reply[http::field::upgrade], "websocket");
}

TEST_F(Routing, ABodyAnnouncedWithExpectContinueIsAskedFor) {
  HttpClient client(tcp());
  http::request<http::string_body> request{verb::post, "/api/v1/queue", 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::authorization, "Bearer " + test_token);
  request.set(http::field::expect, "100-continue");
  const std::string body = R"({"recipe_path": "a.yaml"})";
  request.content_length(body.size());
  http::request_serializer<http::string_body> serializer(request);
  http::write_header(client.socket(), serializer);
  EXPECT_EQ(client.read_reply().result(), http::status::continue_);
  client.write_raw(body);
  EXPECT_EQ(client.read_reply().result_int(), 201u);
}

}  // namespace
}  // namespace insitu::api::test
