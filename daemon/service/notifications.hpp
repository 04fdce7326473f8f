#pragma once
// insitud's notifications: mail through SMTP and Mattermost/Slack-compatible webhook posts when runs start and end,
// on faults, when the queue empties and once a day. Sending never blocks the loop: notify() queues the message for
// the Notifier's own thread, which drives every transfer with libcurl (several at once, so a hanging endpoint holds
// up no other), rate-limits each target, retries with back-off and posts each outcome back to the loop.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/service/control.hpp"
#include "drivers/io/asio.hpp"

namespace insitu::service {

// `suspender`: a recipe suspender tripped or cleared (the run paused, resumed or aborted by it).
enum class NotificationKind {
  run_started,
  run_completed,
  run_aborted,
  run_failed,
  fault,
  queue_empty,
  daily_summary,
  suspender
};

std::string_view to_string(NotificationKind kind);
std::optional<NotificationKind> notification_kind(std::string_view name);
std::set<NotificationKind> all_notification_kinds();

struct EmailTarget {
  std::string url;  // smtp://host:port (STARTTLS when `starttls`) or smtps://host:port
  std::optional<std::string> username, password;
  std::string from;             // envelope sender and From:
  std::vector<std::string> to;  // recipients, all in To:
  bool starttls = false;        // refuse to send unless the server upgrades smtp:// to TLS
  std::set<NotificationKind> events = all_notification_kinds();
};

struct WebhookTarget {
  std::string url;  // the incoming-webhook URL (its path is often the secret: reports never show it)
  std::optional<std::string> channel, username;
  std::set<NotificationKind> events = all_notification_kinds();
};

// At most `messages` per target within any `window`; the rest are suppressed and counted, and the next message that
// goes out to that target says how many.
struct RateLimit {
  std::size_t messages = 20;
  std::chrono::milliseconds window = std::chrono::hours(1);
};

// `attempts` in all; the wait after attempt n is first_backoff * 2^(n-1), at most max_backoff (a server's
// Retry-After replaces it, also capped at max_backoff).
struct RetryPolicy {
  int attempts = 5;
  std::chrono::milliseconds first_backoff = std::chrono::seconds(2);
  std::chrono::milliseconds max_backoff = std::chrono::minutes(5);
};

struct NotificationSettings {
  std::vector<EmailTarget> email;
  std::vector<WebhookTarget> webhooks;
  RateLimit rate_limit;
  RetryPolicy retry;
  std::chrono::milliseconds timeout = std::chrono::seconds(10);  // one attempt, connecting included
  std::optional<std::chrono::minutes> daily_summary_utc;          // when the day's summary goes out (after 00:00 UTC)
};

// The `notifications:` section of the service configuration (null: no targets). Throws std::runtime_error with
// every problem, one "file:line:column: message" line each.
NotificationSettings parse_notification_settings(const YAML::Node& section, const std::string& file);

struct Notification {
  NotificationKind kind = NotificationKind::fault;
  std::string title;  // one line: the mail's subject (line breaks become spaces)
  std::string body;
  std::optional<RunId> run;
  std::vector<std::pair<std::string, std::string>> fields;  // shown as "key: value" lines, in this order
};

enum class SendOutcome {
  sent,
  failed,      // a permanent refusal, or every attempt failed
  suppressed,  // over the target's rate limit
  abandoned,   // still unsent when the Notifier stopped
};
std::string_view to_string(SendOutcome outcome);

struct SentReport {
  std::string target;  // "mail to a@b via smtp://host:port", "webhook http://host:port #channel": no secrets
  NotificationKind kind;
  std::string title;
  std::optional<RunId> run;
  SendOutcome outcome;
  int attempts = 0;
  std::string error;                     // the last attempt's, one line; empty when sent
  std::size_t suppressed_announced = 0;  // earlier suppressed notifications this message told of
};

class Notifier {
 public:
  using OnResult = std::function<void(const SentReport&)>;
  static constexpr std::chrono::milliseconds default_shutdown_grace = std::chrono::seconds(2);

  // `on_result` runs on `loop`, once per target and notification. Construct, call and destroy on the loop thread.
  Notifier(asio::any_io_executor loop, NotificationSettings settings, OnResult on_result);
  ~Notifier();  // stop(default_shutdown_grace); reports not yet run on the loop are dropped
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Queues the notification for every target that wants its kind and returns at once; false after stop().
  bool notify(Notification notification);
  // The settings for every notification queued after this call (a reload); rate-limit counts carry over for
  // targets that stay.
  void update(NotificationSettings settings);
  // Sends what can be sent within `grace` (what is queued, and retries due by then), then abandons the rest and
  // returns how many deliveries that was; each also gets an `abandoned` report. Blocks the caller up to `grace`;
  // a second call returns the same count at once.
  std::size_t stop(std::chrono::milliseconds grace = default_shutdown_grace);

 private:
  class Worker;
  std::shared_ptr<const OnResult> on_result_;  // reports posted to the loop hold it weakly
  std::unique_ptr<Worker> worker_;
};

}  // namespace insitu::service
