#include "daemon/service/notifications.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <variant>

#include "daemon/service/notification_messages.hpp"
#include "daemon/service/notification_transfer.hpp"

namespace insitu::service {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view k_kind_names[] = {"run_started", "run_completed", "run_aborted",  "run_failed",
                                             "fault",       "queue_empty",   "daily_summary", "suspender"};
constexpr milliseconds k_idle_poll = std::chrono::minutes(1);  // nothing to do: sleep until woken

void init_curl_once() {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) throw std::runtime_error(fmt::format("libcurl: {}", curl_easy_strerror(init)));
}

// Identifies a target across reloads, for its rate-limit count.
std::string key_of(const EmailTarget& target) {
  std::string key = "mail " + target.url + " " + target.from;
  for (const auto& to : target.to) key += " " + to;
  return key;
}
std::string key_of(const WebhookTarget& target) {
  return "webhook " + target.url + " " + target.channel.value_or("") + " " + target.username.value_or("");
}

std::string payload_for(const EmailTarget& target, const Notification& notification, const std::string& text) {
  return messages::mail(target, notification, text, std::chrono::system_clock::now());
}
std::string payload_for(const WebhookTarget& target, const Notification&, const std::string& text) {
  return messages::webhook_payload(target, text);
}

milliseconds backoff(const RetryPolicy& policy, int attempts_made, std::optional<std::chrono::seconds> retry_after) {
  if (retry_after) return std::min<milliseconds>(*retry_after, policy.max_backoff);
  milliseconds wait = policy.first_backoff;
  for (int i = 1; i < attempts_made && wait < policy.max_backoff; ++i) wait *= 2;
  return std::min(wait, policy.max_backoff);
}

}  // namespace

std::string_view to_string(NotificationKind kind) { return k_kind_names[static_cast<std::size_t>(kind)]; }

std::optional<NotificationKind> notification_kind(std::string_view name) {
  const auto* it = std::find(std::begin(k_kind_names), std::end(k_kind_names), name);
  if (it == std::end(k_kind_names)) return std::nullopt;
  return static_cast<NotificationKind>(it - std::begin(k_kind_names));
}

std::set<NotificationKind> all_notification_kinds() {
  std::set<NotificationKind> kinds;
  for (std::size_t i = 0; i < std::size(k_kind_names); ++i) kinds.insert(static_cast<NotificationKind>(i));
  return kinds;
}

std::string_view to_string(SendOutcome outcome) {
  switch (outcome) {
    case SendOutcome::sent:
      return "sent";
    case SendOutcome::failed:
      return "failed";
    case SendOutcome::suppressed:
      return "suppressed";
    case SendOutcome::abandoned:
      return "abandoned";
  }
  return "unknown";
}

// The sending thread. The loop thread only touches the inbox (under the mutex) and wakes the multi handle.
class Notifier::Worker {
 public:
  Worker(asio::any_io_executor loop, std::weak_ptr<const OnResult> on_result, NotificationSettings settings);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  bool push(std::variant<Notification, NotificationSettings> item);
  std::size_t stop(milliseconds grace);

 private:
  struct Window {
    std::deque<Clock::time_point> sent;  // within the rate-limit window
    std::size_t suppressed = 0;          // since the last message that went out
  };

  void run();
  void take_inbox();
  void apply(NotificationSettings settings);
  void accept(const Notification& notification);
  template <typename Target>
  void admit(const Target& target, const Notification& notification, Clock::time_point now);
  void start_due(Clock::time_point now);
  void collect_finished();
  void conclude(Delivery delivery, const Verdict& verdict);
  bool stopped(Clock::time_point now) const;
  int poll_timeout_ms(Clock::time_point now) const;
  void abandon_all();
  void report(const Delivery& delivery, SendOutcome outcome, std::string error);
  void post(SentReport report);

  asio::any_io_executor loop_;
  std::weak_ptr<const OnResult> on_result_;
  CURLM* multi_;

  std::mutex mutex_;  // guards the inbox and the stop request
  std::deque<std::variant<Notification, NotificationSettings>> inbox_;
  std::optional<Clock::time_point> stop_requested_;

  // The sending thread's own.
  NotificationSettings settings_;
  std::map<std::string, Window> windows_;
  std::vector<Delivery> waiting_;  // queued, or backing off
  std::map<CURL*, std::unique_ptr<Transfer>> active_;
  std::optional<Clock::time_point> deadline_;
  std::size_t abandoned_ = 0;  // read after the join

  std::thread thread_;  // last: starts when everything above is ready
};

Notifier::Worker::Worker(asio::any_io_executor loop, std::weak_ptr<const OnResult> on_result,
                         NotificationSettings settings)
    : loop_(std::move(loop)), on_result_(std::move(on_result)), multi_(curl_multi_init()) {
  if (multi_ == nullptr) throw std::runtime_error("libcurl: cannot create a multi handle");
  apply(std::move(settings));
  thread_ = std::thread([this] { run(); });
}

Notifier::Worker::~Worker() {
  stop(milliseconds(0));
  curl_multi_cleanup(multi_);
}

bool Notifier::Worker::push(std::variant<Notification, NotificationSettings> item) {
  {
    const std::lock_guard lock(mutex_);
    if (stop_requested_) return false;
    inbox_.push_back(std::move(item));
  }
  curl_multi_wakeup(multi_);
  return true;
}

std::size_t Notifier::Worker::stop(milliseconds grace) {
  {
    const std::lock_guard lock(mutex_);
    if (!stop_requested_) stop_requested_ = Clock::now() + grace;
  }
  curl_multi_wakeup(multi_);
  if (thread_.joinable()) thread_.join();
  return abandoned_;
}

void Notifier::Worker::run() {
  for (;;) {
    take_inbox();
    start_due(Clock::now());
    int running = 0;
    curl_multi_perform(multi_, &running);
    collect_finished();
    if (stopped(Clock::now())) break;
    curl_multi_poll(multi_, nullptr, 0, poll_timeout_ms(Clock::now()), nullptr);
  }
  abandon_all();
}

// In order, so that a reload applies exactly to what was queued after it.
void Notifier::Worker::take_inbox() {
  std::deque<std::variant<Notification, NotificationSettings>> arrived;
  {
    const std::lock_guard lock(mutex_);
    arrived.swap(inbox_);
    deadline_ = stop_requested_;
  }
  for (auto& item : arrived) {
    if (auto* notification = std::get_if<Notification>(&item)) {
      accept(*notification);
    } else {
      apply(std::move(std::get<NotificationSettings>(item)));
    }
  }
}

void Notifier::Worker::apply(NotificationSettings settings) {
  settings_ = std::move(settings);
  std::map<std::string, Window> kept;
  for (const auto& target : settings_.email) kept[key_of(target)] = std::move(windows_[key_of(target)]);
  for (const auto& target : settings_.webhooks) kept[key_of(target)] = std::move(windows_[key_of(target)]);
  windows_ = std::move(kept);
}

void Notifier::Worker::accept(const Notification& notification) {
  const auto now = Clock::now();
  for (const auto& target : settings_.email) {
    if (target.events.contains(notification.kind)) admit(target, notification, now);
  }
  for (const auto& target : settings_.webhooks) {
    if (target.events.contains(notification.kind)) admit(target, notification, now);
  }
}

template <typename Target>
void Notifier::Worker::admit(const Target& target, const Notification& notification, Clock::time_point now) {
  Window& window = windows_[key_of(target)];
  const RateLimit& limit = settings_.rate_limit;
  while (!window.sent.empty() && now - window.sent.front() >= limit.window) window.sent.pop_front();
  Delivery delivery;
  delivery.target = target;
  delivery.description = messages::describe(target);
  delivery.kind = notification.kind;
  delivery.title = notification.title;
  delivery.run = notification.run;
  if (window.sent.size() >= limit.messages) {
    ++window.suppressed;
    report(delivery, SendOutcome::suppressed,
           fmt::format("over the rate limit of {} per {:g} s", limit.messages,
                       std::chrono::duration<double>(limit.window).count()));
    return;
  }
  window.sent.push_back(now);
  delivery.payload = payload_for(target, notification, messages::text_of(notification, window.suppressed));
  delivery.suppressed_announced = std::exchange(window.suppressed, 0);
  delivery.due = now;
  waiting_.push_back(std::move(delivery));
}

void Notifier::Worker::start_due(Clock::time_point now) {
  const auto due = std::stable_partition(waiting_.begin(), waiting_.end(),
                                         [now](const Delivery& delivery) { return delivery.due > now; });
  for (auto it = due; it != waiting_.end(); ++it) {
    auto transfer = std::make_unique<Transfer>(std::move(*it), settings_.timeout);
    curl_multi_add_handle(multi_, transfer->handle());
    active_.emplace(transfer->handle(), std::move(transfer));
  }
  waiting_.erase(due, waiting_.end());
}

void Notifier::Worker::collect_finished() {
  int queued = 0;
  while (const CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    const CURLcode result = message->data.result;  // the message is gone once its handle is removed
    const auto it = active_.find(message->easy_handle);
    curl_multi_remove_handle(multi_, it->first);
    const std::unique_ptr<Transfer> transfer = std::move(it->second);
    active_.erase(it);
    conclude(std::move(transfer->delivery), transfer->verdict(result));
  }
}

void Notifier::Worker::conclude(Delivery delivery, const Verdict& verdict) {
  ++delivery.attempts;
  if (verdict.what == Verdict::sent) return report(delivery, SendOutcome::sent, "");
  if (verdict.what == Verdict::give_up || delivery.attempts >= settings_.retry.attempts) {
    return report(delivery, SendOutcome::failed, verdict.error);
  }
  delivery.last_error = verdict.error;
  delivery.due = Clock::now() + backoff(settings_.retry, delivery.attempts, verdict.retry_after);
  waiting_.push_back(std::move(delivery));
}

// Stopping ends at the deadline, or sooner when nothing left could still go out by then.
bool Notifier::Worker::stopped(Clock::time_point now) const {
  if (!deadline_) return false;
  if (now >= *deadline_) return true;
  return active_.empty() &&
         std::all_of(waiting_.begin(), waiting_.end(), [this](const Delivery& d) { return d.due > *deadline_; });
}

int Notifier::Worker::poll_timeout_ms(Clock::time_point now) const {
  Clock::time_point until = now + k_idle_poll;  // libcurl shortens it for its own timeouts
  for (const auto& delivery : waiting_) until = std::min(until, delivery.due);
  if (deadline_) until = std::min(until, *deadline_);
  return static_cast<int>(std::max<milliseconds::rep>(0, std::chrono::ceil<milliseconds>(until - now).count()));
}

void Notifier::Worker::abandon_all() {
  for (const auto& [handle, transfer] : active_) {
    curl_multi_remove_handle(multi_, handle);
    report(transfer->delivery, SendOutcome::abandoned, "still being sent when the notifier stopped");
  }
  for (const auto& delivery : waiting_) {
    report(delivery, SendOutcome::abandoned,
           "not sent before the notifier stopped" +
               (delivery.last_error.empty() ? "" : " (last attempt: " + delivery.last_error + ")"));
  }
  abandoned_ = active_.size() + waiting_.size();
  active_.clear();
  waiting_.clear();
}

void Notifier::Worker::report(const Delivery& delivery, SendOutcome outcome, std::string error) {
  post(SentReport{delivery.description, delivery.kind, delivery.title, delivery.run, outcome, delivery.attempts,
                  std::move(error), delivery.suppressed_announced});
}

void Notifier::Worker::post(SentReport report) {
  asio::post(loop_, [on_result = on_result_, report = std::move(report)] {
    if (const auto callback = on_result.lock()) (*callback)(report);
  });
}

Notifier::Notifier(asio::any_io_executor loop, NotificationSettings settings, OnResult on_result)
    : on_result_(std::make_shared<const OnResult>(std::move(on_result))) {
  init_curl_once();
  worker_ = std::make_unique<Worker>(std::move(loop), on_result_, std::move(settings));
}

Notifier::~Notifier() {
  stop();
  worker_.reset();
  on_result_.reset();  // reports still on their way to the loop find no one
}

bool Notifier::notify(Notification notification) { return worker_->push(std::move(notification)); }

void Notifier::update(NotificationSettings settings) { worker_->push(std::move(settings)); }

std::size_t Notifier::stop(milliseconds grace) { return worker_->stop(grace); }

}  // namespace insitu::service
