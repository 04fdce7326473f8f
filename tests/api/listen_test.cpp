// Where the server listens: the bound port, the Unix socket's mode, and what is found at the socket's path.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "tests/api/api_fixture.hpp"

namespace insitu::api::test {
namespace {

class Listening : public ApiTest {};

TEST_F(Listening, PortZeroBindsAFreePortAndTheSocketIsGroupOnly) {
  start();
  EXPECT_NE(port_, 0);
  struct stat info {};
  ASSERT_EQ(::stat(socket_path().c_str(), &info), 0);
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0660u);
  EXPECT_TRUE(logged("listening on 127.0.0.1:" + std::to_string(port_)));
}

TEST_F(Listening, AStaleSocketFileIsReplaced) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path().c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(fd);  // the file stays, with no one behind it
  start();
  HttpClient client(unix_socket());
  EXPECT_EQ(client.call(http::verb::get, "/api/v1/status").result_int(), 200u);
}

TEST_F(Listening, AFileInTheSocketsPlaceIsNotRemoved) {
  std::ofstream(socket_path()) << "not a socket";
  try {
    start();
    FAIL() << "started over a regular file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exists and is not a socket"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::filesystem::is_regular_file(socket_path()));
}

TEST_F(Listening, ASecondServerOnTheSameSocketIsRefused) {
  start();
  ApiSettings settings{std::nullopt, socket_path(), test_token};
  try {
    on_loop([&] { ApiServer(io_.get_executor(), settings, control_, logger_).start(); });
    FAIL() << "two servers on one socket";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another server answers on"), std::string::npos) << e.what();
  }
  HttpClient client(unix_socket());
  EXPECT_EQ(client.call(http::verb::get, "/api/v1/status").result_int(), 200u);
}

TEST_F(Listening, ATakenPortIsAClearError) {
  start();
  ApiSettings settings{asio::ip::tcp::endpoint(tcp_address_, port_), std::nullopt, test_token};
  try {
    on_loop([&] { ApiServer(io_.get_executor(), settings, control_, logger_).start(); });
    FAIL() << "two servers on one port";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "API: cannot listen on 127.0.0.1:" + std::to_string(port_) +
                                         ": Address already in use");
  }
}

}  // namespace
}  // namespace insitu::api::test
