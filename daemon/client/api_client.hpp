#pragma once
// The client side of insitud's control API (docs/api.md): one synchronous HTTP/1.1 request per call, and the
// WebSocket stream for `insitu watch`, over the service's Unix socket or TCP address.
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>

namespace insitu::client {

// Where insitud listens.
struct Endpoint {
  struct Tcp {
    std::string host;
    std::string port;
  };
  std::variant<std::filesystem::path, Tcp> address;

  static Endpoint unix_socket(std::filesystem::path socket);
  // "http://HOST[:PORT][/]" (port 80 when omitted) or "unix:PATH"; std::invalid_argument for anything else.
  static Endpoint parse(const std::string& url);
  std::string describe() const;  // "unix:/var/lib/insitud/insitud.sock", "http://127.0.0.1:8754"
};

// insitud could not be reached, went silent, or answered with no JSON; what() is the line to print.
class Unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// insitud answered 4xx/5xx; what() is "REASON (HTTP STATUS)", the reason being the answer's "error".
class Refused : public std::runtime_error {
 public:
  Refused(int status, const std::string& reason);
  int status() const { return status_; }
  const std::string& reason() const { return reason_; }

 private:
  int status_;
  std::string reason_;
};

struct Response {
  int status = 0;
  nlohmann::json body;
};

class ApiClient {
 public:
  static constexpr std::chrono::seconds kDefaultTimeout{10};

  // `token`, when given, goes with every request as "Authorization: Bearer TOKEN".
  ApiClient(Endpoint endpoint, std::optional<std::string> token, std::chrono::seconds timeout = kDefaultTimeout);

  // Each on a connection of its own; the timeout bounds the connection and then the exchange. A 2xx answer is
  // returned, any other throws Refused; no answer throws Unreachable. A post without a body sends none.
  Response get(const std::string& path) const;
  Response post(const std::string& path, const std::optional<nlohmann::json>& body = std::nullopt) const;
  Response del(const std::string& path) const;

  // Reads /api/v1/ws until `on_message` returns false (then closes the stream normally) or SIGINT/SIGTERM
  // arrives; returns true when a signal ended it. Throws Unreachable when the stream cannot be opened, goes
  // silent for the timeout, or is closed by the service, and Refused when the upgrade is refused.
  using MessageHandler = std::function<bool(const nlohmann::json& message)>;
  bool stream_events(const MessageHandler& on_message) const;

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  enum class Method { get, post, del };
  Response request(Method method, const std::string& path, const std::optional<nlohmann::json>& body) const;

  Endpoint endpoint_;
  std::optional<std::string> token_;
  std::chrono::seconds timeout_;
};

}  // namespace insitu::client
