#include "daemon/service/notification_transfer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "daemon/service/notification_messages.hpp"

namespace insitu::service {
namespace {

constexpr std::size_t k_reply_kept = 300;  // enough for a Mattermost/Slack error message

// Failures that another attempt cannot mend: the configuration is wrong.
bool is_permanent(CURLcode result) {
  switch (result) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_LOGIN_DENIED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
      return true;
    default:
      return false;
  }
}

long response_code(CURL* easy) {
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

}  // namespace

Transfer::Transfer(Delivery delivery_to_send, std::chrono::milliseconds timeout)
    : delivery(std::move(delivery_to_send)), easy_(curl_easy_init()) {
  if (easy_ == nullptr) throw std::bad_alloc();
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: this is not the main thread
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, "insitud");
  curl_easy_setopt(easy_, CURLOPT_QUICK_EXIT, 1L);  // an abandoned transfer does not wait for its name lookup
  if (const auto* mail = std::get_if<EmailTarget>(&delivery.target)) {
    set_up_mail(*mail);
  } else {
    set_up_webhook(std::get<WebhookTarget>(delivery.target));
  }
}

Transfer::~Transfer() {
  curl_easy_cleanup(easy_);
  curl_slist_free_all(list_);
}

void Transfer::set_up_mail(const EmailTarget& target) {
  curl_easy_setopt(easy_, CURLOPT_URL, target.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(easy_, CURLOPT_MAIL_FROM, ("<" + target.from + ">").c_str());  // libcurl copies strings
  for (const auto& to : target.to) list_ = curl_slist_append(list_, ("<" + to + ">").c_str());
  curl_easy_setopt(easy_, CURLOPT_MAIL_RCPT, list_);
  if (target.username) curl_easy_setopt(easy_, CURLOPT_USERNAME, target.username->c_str());
  if (target.password) curl_easy_setopt(easy_, CURLOPT_PASSWORD, target.password->c_str());
  if (target.starttls) curl_easy_setopt(easy_, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(easy_, CURLOPT_READFUNCTION, &Transfer::read_payload);
  curl_easy_setopt(easy_, CURLOPT_READDATA, this);
  curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(delivery.payload.size()));
}

void Transfer::set_up_webhook(const WebhookTarget& target) {
  curl_easy_setopt(easy_, CURLOPT_URL, target.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  list_ = curl_slist_append(list_, "Content-Type: application/json");
  list_ = curl_slist_append(list_, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list_);
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, delivery.payload.c_str());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(delivery.payload.size()));
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Transfer::keep_reply);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
}

std::size_t Transfer::read_payload(char* buffer, std::size_t size, std::size_t count, void* self) {
  auto& transfer = *static_cast<Transfer*>(self);
  const std::string& payload = transfer.delivery.payload;
  const std::size_t n = std::min(size * count, payload.size() - transfer.uploaded_);
  std::memcpy(buffer, payload.data() + transfer.uploaded_, n);
  transfer.uploaded_ += n;
  return n;
}

std::size_t Transfer::keep_reply(char* data, std::size_t size, std::size_t count, void* self) {
  auto& reply = static_cast<Transfer*>(self)->reply_;
  reply.append(data, std::min(size * count, k_reply_kept - std::min(k_reply_kept, reply.size())));
  return size * count;
}

Verdict Transfer::verdict(CURLcode result) const {
  return std::holds_alternative<EmailTarget>(delivery.target) ? mail_verdict(result) : webhook_verdict(result);
}

std::string Transfer::error_text(CURLcode result) const {
  return messages::one_line(error_[0] != '\0' ? error_ : curl_easy_strerror(result));
}

Verdict Transfer::mail_verdict(CURLcode result) const {
  if (result == CURLE_OK) return {Verdict::sent, "", std::nullopt};
  // 4xx replies are the server's "try again later", 5xx its "never".
  const long code = response_code(easy_);
  std::string error = code > 0 ? fmt::format("{} (SMTP reply {})", error_text(result), code) : error_text(result);
  return {is_permanent(result) || code >= 500 ? Verdict::give_up : Verdict::retry, std::move(error), std::nullopt};
}

Verdict Transfer::webhook_verdict(CURLcode result) const {
  if (result != CURLE_OK) {
    return {is_permanent(result) ? Verdict::give_up : Verdict::retry, error_text(result), std::nullopt};
  }
  const long status = response_code(easy_);
  if (status >= 200 && status < 300) return {Verdict::sent, "", std::nullopt};
  std::string error = fmt::format("HTTP {}", status);
  if (const std::string reply = messages::one_line(reply_); !reply.empty()) error += ": " + reply;
  if (status != 429 && status < 500) return {Verdict::give_up, std::move(error), std::nullopt};
  curl_off_t retry_after = 0;
  curl_easy_getinfo(easy_, CURLINFO_RETRY_AFTER, &retry_after);
  return {Verdict::retry, std::move(error),
          retry_after > 0 ? std::optional(std::chrono::seconds(retry_after)) : std::nullopt};
}

}  // namespace insitu::service
