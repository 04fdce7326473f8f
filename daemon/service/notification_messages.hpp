#pragma once
// What a notification says (internal to the notifier): as text, as an RFC 5322 mail and as a webhook post, and
// where it goes, told without secrets.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/service/notifications.hpp"

namespace insitu::service::messages {

// The parts of a URL a report may show; nullopt when curl cannot parse it or it has no host.
struct UrlParts {
  std::string scheme, host;
  std::optional<std::string> port;
  std::string origin() const;  // scheme://host[:port]
};
std::optional<UrlParts> parse_url(const std::string& url);

// Control characters (line breaks too) become spaces and runs of spaces one; no space at either end.
std::string one_line(std::string_view text);

std::string describe(const EmailTarget& target);
std::string describe(const WebhookTarget& target);

// Title, body, fields as "key: value" lines and, when `suppressed` > 0, the line that says how many were not sent.
std::string text_of(const Notification& notification, std::size_t suppressed);

// A complete message with CRLF line ends: Date, From, To, Subject (RFC 2047 when not ASCII), Message-ID,
// MIME-Version, Content-Type text/plain; charset=utf-8, 7bit or base64.
std::string mail(const EmailTarget& target, const Notification& notification, const std::string& text,
                 std::chrono::system_clock::time_point date);

// {"text": ..., "channel": ..., "username": ...} (the last two when set).
std::string webhook_payload(const WebhookTarget& target, const std::string& text);

}  // namespace insitu::service::messages
