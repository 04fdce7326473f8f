// Mutations need the token from everyone; reads need it only off this machine; refusals are logged with the peer.
#include <ifaddrs.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "daemon/api/routes.hpp"
#include "tests/api/api_fixture.hpp"

namespace insitu::api::test {
namespace {

// A path of the route with its run id filled in.
std::string concrete(std::string_view pattern) {
  std::string path(pattern);
  if (const auto at = path.find("{id}"); at != std::string::npos) path.replace(at, 4, "4");
  return path;
}

class Auth : public ApiTest {
 protected:
  Auth() { start(); }

  void expect_mutations_guarded(const Endpoint& where) {
    HttpClient client(where);
    for (const Route& route : routes()) {
      if (!route.mutates) continue;
      const auto path = concrete(route.path);
      SCOPED_TRACE(path);
      auto reply = client.call(route.method, path, "");
      EXPECT_EQ(reply.result_int(), 401u);
      EXPECT_EQ(reply[http::field::www_authenticate], "Bearer");
      EXPECT_EQ(json_of(reply)["status"], 401);
      EXPECT_EQ(client.call(route.method, path, "", std::string(64, 'd')).result_int(), 403u);
      http::request<http::string_body> basic{route.method, path, 11};
      basic.set(http::field::authorization, "Basic " + test_token);
      EXPECT_EQ(client.send(basic).result_int(), 401u);
      basic.set(http::field::authorization, "Bearer");
      EXPECT_EQ(client.send(basic).result_int(), 401u);
    }
    EXPECT_TRUE(control_.calls().empty());
  }

  unsigned read_status(const Endpoint& where, const std::vector<std::pair<http::field, std::string>>& headers) {
    HttpClient client(where);
    http::request<http::string_body> request{http::verb::get, "/api/v1/status", 11};
    for (const auto& [field, value] : headers) request.set(field, value);
    return client.send(request).result_int();
  }
};

TEST_F(Auth, MutationsWithoutTheRightTokenAre401Or403OverTcp) {
  expect_mutations_guarded(tcp());
  EXPECT_TRUE(logged("from 127.0.0.1:"));
  EXPECT_TRUE(logged("refused with 401"));
  EXPECT_TRUE(logged("refused with 403: wrong token"));
}

TEST_F(Auth, MutationsWithoutTheRightTokenAre401Or403OverTheUnixSocket) {
  expect_mutations_guarded(unix_socket());
  EXPECT_TRUE(logged("from unix socket (pid"));
}

TEST_F(Auth, TheTokenIsTakenWhateverTheCaseOfBearer) {
  HttpClient client(tcp());
  http::request<http::string_body> request{http::verb::post, "/api/v1/run/pause", 11};
  request.set(http::field::authorization, "bearer  " + test_token);
  EXPECT_EQ(client.send(request).result_int(), 200u);
}

TEST_F(Auth, ReadsNeedNoTokenOnLoopbackOrTheUnixSocket) {
  for (const auto& where : {tcp(), unix_socket()}) {
    HttpClient client(where);
    for (const std::string path : {"/api/v1/status", "/api/v1/queue", "/api/v1/history", "/api/v1/history/2",
                                   "/api/v1/runfiles", "/api/v1/openapi.json"}) {
      EXPECT_EQ(client.call(http::verb::get, path).result_int(), 200u) << path;
    }
  }
  EXPECT_EQ(read_status(tcp(), {{http::field::host, "localhost:8754"}}), 200u);
  EXPECT_EQ(read_status(tcp(), {{http::field::host, "[::1]:8754"}, {http::field::origin, "http://127.0.0.1:8754"}}),
            200u);
}

// A web page elsewhere can make a browser here ask 127.0.0.1, but with its own Origin, or its own name in Host.
TEST_F(Auth, LoopbackReadsOnBehalfOfAnotherSiteNeedTheToken) {
  EXPECT_EQ(read_status(tcp(), {{http::field::host, "127.0.0.1"}, {http::field::origin, "https://evil.example"}}),
            401u);
  EXPECT_EQ(read_status(tcp(), {{http::field::host, "rebound.evil.example:8754"}}), 401u);
  EXPECT_EQ(read_status(tcp(), {{http::field::host, "127.0.0.1"}, {http::field::origin, "null"}}), 401u);
  EXPECT_EQ(read_status(tcp(), {{http::field::host, "rebound.evil.example:8754"},
                                {http::field::authorization, "Bearer " + test_token}}),
            200u);
  EXPECT_EQ(upgrade_answer(tcp(), {{http::field::origin, "https://evil.example"}}).result_int(), 401u);
  EXPECT_THROW(WatchClient(tcp(), {.origin = "https://evil.example"}), boost::system::system_error);
  EXPECT_EQ(upgrade_answer(tcp(), {{http::field::origin, "https://evil.example"},
                                   {http::field::authorization, "Bearer " + test_token}})
                .result_int(),
            101u);
  WatchClient same_machine(tcp(), {.origin = "http://localhost:8754"});
  EXPECT_EQ(same_machine.read()["type"], "hello");
}

// This machine's first address that is not loopback, if it has one.
std::optional<asio::ip::address> outside_address() {
  ifaddrs* interfaces = nullptr;
  if (::getifaddrs(&interfaces) != 0) return std::nullopt;
  std::optional<asio::ip::address> found;
  for (auto* i = interfaces; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto& in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr;
    const asio::ip::address_v4 address(ntohl(in.s_addr));
    if (!address.is_loopback()) found = address;
  }
  ::freeifaddrs(interfaces);
  return found;
}

class RemoteAuth : public ApiTest {};

TEST_F(RemoteAuth, ReadsAndWatchingFromAnotherMachineNeedTheToken) {
  const auto address = outside_address();
  if (!address) GTEST_SKIP() << "no address but loopback here";
  start(short_limits(), {*address, 0});
  HttpClient client(tcp());
  EXPECT_EQ(client.call(http::verb::get, "/api/v1/status").result_int(), 401u);
  EXPECT_EQ(client.call(http::verb::get, "/api/v1/openapi.json", "", std::string(64, 'e')).result_int(), 403u);
  EXPECT_EQ(client.call(http::verb::get, "/api/v1/status", "", test_token).result_int(), 200u);
  EXPECT_TRUE(logged("from " + address->to_string()));

  EXPECT_EQ(upgrade_answer(tcp(), {}).result_int(), 401u);
  EXPECT_EQ(upgrade_answer(tcp(), {{http::field::authorization, "Bearer wrong"}}).result_int(), 403u);
  WatchClient watcher(tcp(), {.token = test_token});
  EXPECT_EQ(watcher.read()["type"], "hello");
}

}  // namespace
}  // namespace insitu::api::test
