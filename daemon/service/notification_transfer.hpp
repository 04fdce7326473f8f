#pragma once
// One attempt at delivering one message to one target, as a libcurl easy handle (internal to the notifier), and
// what its end means: sent, worth retrying, or refused for good.
#include <curl/curl.h>

#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "daemon/service/notifications.hpp"

namespace insitu::service {

// A message for one target, through all its attempts.
struct Delivery {
  std::variant<EmailTarget, WebhookTarget> target;
  std::string description;  // messages::describe(target)
  std::string payload;      // the whole mail, or the JSON post
  NotificationKind kind = NotificationKind::fault;
  std::string title;
  std::optional<RunId> run;
  std::size_t suppressed_announced = 0;
  int attempts = 0;  // made so far
  std::chrono::steady_clock::time_point due;
  std::string last_error;
};

struct Verdict {
  enum What { sent, retry, give_up } what;
  std::string error;                                // one line; empty when sent
  std::optional<std::chrono::seconds> retry_after;  // the server's Retry-After
};

// Owns the easy handle and everything it points into, so it never moves (hold it by pointer).
class Transfer {
 public:
  Transfer(Delivery delivery, std::chrono::milliseconds timeout);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  CURL* handle() const { return easy_; }
  Verdict verdict(CURLcode result) const;

  Delivery delivery;

 private:
  void set_up_mail(const EmailTarget& target);
  void set_up_webhook(const WebhookTarget& target);
  Verdict mail_verdict(CURLcode result) const;
  Verdict webhook_verdict(CURLcode result) const;
  std::string error_text(CURLcode result) const;
  static std::size_t read_payload(char* buffer, std::size_t size, std::size_t count, void* self);
  static std::size_t keep_reply(char* data, std::size_t size, std::size_t count, void* self);

  CURL* easy_;
  curl_slist* list_ = nullptr;  // the mail's recipients or the post's headers
  std::size_t uploaded_ = 0;
  std::string reply_;  // the start of an HTTP reply body, for the error text
  char error_[CURL_ERROR_SIZE] = {};
};

}  // namespace insitu::service
