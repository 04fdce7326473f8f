// Watchers get a hello and then every broadcast; one that cannot keep up is dropped, and no one else waits for it.
#include <gtest/gtest.h>

#include "tests/api/api_fixture.hpp"

namespace insitu::api::test {
namespace {

using namespace std::chrono_literals;

class Watching : public ApiTest {};

TEST_F(Watching, AWatcherGetsHelloThenEveryBroadcastInOrder) {
  start();
  EXPECT_EQ(control_.listener_count(), 1u);
  for (const auto& where : {tcp(), unix_socket()}) {
    WatchClient watcher(where);
    const auto hello = watcher.read();
    EXPECT_EQ(hello["type"], "hello");
    EXPECT_EQ(hello["api"], "v1");
    EXPECT_EQ(hello["status"]["call"], "status");
    EXPECT_EQ(hello["queue"]["call"], "queue");
    broadcast({{"type", "queue"}, {"runs", nlohmann::json::array()}});
    broadcast({{"type", "status"}, {"status", {{"n", 2}}}});
    EXPECT_EQ(watcher.read()["type"], "queue");
    EXPECT_EQ(watcher.read()["status"]["n"], 2);
    EXPECT_TRUE(watcher.stream().got_text());
  }
}

TEST_F(Watching, EveryWatcherGetsEachMessage) {
  start();
  WatchClient first(tcp());
  WatchClient second(unix_socket());
  first.read();
  second.read();
  broadcast({{"type", "notification"}, {"text", "ramp done"}});
  EXPECT_EQ(first.read()["text"], "ramp done");
  EXPECT_EQ(second.read()["text"], "ramp done");
}

TEST_F(Watching, AWatcherThatNeverReadsIsDroppedWhileAnotherKeepsUp) {
  auto limits = short_limits();
  limits.max_ws_queue_bytes = 256 * 1024;
  // The stalled client answers no ping either: on a loaded machine (the ASan suite) the 2 s idle timeout ended it
  // before the kernel's socket buffers had filled and its queue could overflow, and it was never "dropped".
  limits.idle_timeout = std::chrono::seconds(120);
  start(limits);
  WatchClient stalled(tcp(), {.receive_buffer = 4096});
  stalled.read();  // the hello, then never again until the end
  WatchClient keeping_up(tcp());
  keeping_up.read();

  const std::string payload(64 * 1024, 'd');
  int sent = 0;
  for (; sent < 2000 && !logged("dropped"); ++sent) {
    broadcast({{"type", "document"}, {"seq", sent}, {"doc", payload}});
    ASSERT_EQ(keeping_up.read()["seq"], sent);
  }
  ASSERT_TRUE(logged("dropped")) << "after " << sent << " messages of 64 KiB";
  for (int i = 0; i < 5; ++i, ++sent) {
    broadcast({{"type", "document"}, {"seq", sent}, {"doc", payload}});
    EXPECT_EQ(keeping_up.read()["seq"], sent);
  }

  // What reached the stalled watcher's buffers, then the end of the connection.
  int received = 0;
  boost::system::error_code ec;
  while (!ec) {
    boost::beast::flat_buffer buffer;
    stalled.stream().read(buffer, ec);
    if (!ec) ++received;
  }
  EXPECT_LT(received, sent);
  EXPECT_TRUE(ec == websocket::error::closed || ec == asio::error::eof || ec == asio::error::connection_reset)
      << ec.message();
}

TEST_F(Watching, AClosedWatcherLeavesTheHub) {
  start();
  {
    WatchClient watcher(tcp());
    watcher.read();
    watcher.stream().close(websocket::close_code::normal);
  }
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!logged("left") && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(logged("left"));
  broadcast({{"type", "status"}});  // no one to send it to, and nothing to trip over
  WatchClient next(tcp());
  EXPECT_EQ(next.read()["type"], "hello");
}

TEST_F(Watching, StopClosesWatchersAndConnectionsAndTheListeners) {
  start();
  WatchClient watcher(tcp());
  watcher.read();
  HttpClient client(unix_socket());
  EXPECT_EQ(client.call(http::verb::get, "/api/v1/status").result_int(), 200u);
  on_loop([this] { server_->stop(); });

  boost::beast::flat_buffer buffer;
  boost::system::error_code ec;
  watcher.stream().read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(watcher.stream().reason().code, websocket::close_code::going_away);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_THROW(HttpClient{tcp()}, boost::system::system_error);
  EXPECT_FALSE(std::filesystem::exists(socket_path()));
}

}  // namespace
}  // namespace insitu::api::test
