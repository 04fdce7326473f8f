// The `notifications:` section of the service configuration, read with the recipe parser's building blocks: every
// problem is collected with its line and column, and reported at once.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "daemon/service/notification_messages.hpp"
#include "daemon/service/notifications.hpp"
#include "protocols/recipe/yaml_fields.hpp"

namespace insitu::service {
namespace {

namespace fields = recipe::fields;
using fields::Diagnostics;
using fields::Entry;
using fields::kind_of;

std::chrono::milliseconds milliseconds_of(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

std::string kind_names() {
  std::string names;
  for (const auto kind : all_notification_kinds()) names += (names.empty() ? "" : ", ") + std::string(to_string(kind));
  return names;
}

// `all`, or a list of notification kinds.
std::optional<std::set<NotificationKind>> read_events(Diagnostics& diag, const Entry* entry) {
  if (entry == nullptr) return std::nullopt;
  const YAML::Node& value = entry->value;
  if (value.IsScalar() && value.Scalar() == "all") return all_notification_kinds();
  if (!value.IsSequence() || value.size() == 0) {
    diag.error(entry->value_mark(),
               fmt::format("events: expected all or a list of {}, got {}", kind_names(), kind_of(value)));
    return std::nullopt;
  }
  std::set<NotificationKind> kinds;
  for (const auto& item : value) {
    const auto kind = item.IsScalar() ? notification_kind(item.Scalar()) : std::nullopt;
    if (kind) {
      kinds.insert(*kind);
    } else {
      diag.error(item.Mark(),
                 fmt::format("events: unknown event {} (expected one of: {})", kind_of(item), kind_names()));
    }
  }
  return kinds;
}

std::optional<std::string> read_url(Diagnostics& diag, const Entry* entry,
                                    std::initializer_list<std::string_view> schemes, std::string_view expected) {
  auto text = fields::read_string(diag, entry);
  if (!text) return std::nullopt;
  const auto url = messages::parse_url(*text);
  if (!url || std::find(schemes.begin(), schemes.end(), url->scheme) == schemes.end()) {
    diag.error(entry->value_mark(),
               fmt::format("{}: expected {}, got {}", entry->name, expected, kind_of(entry->value)));
    return std::nullopt;
  }
  return text;
}

// local@domain, with nothing a mail header or an SMTP command would read as syntax.
bool is_address(std::string_view text) {
  const auto at = text.rfind('@');
  const bool unsafe = std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f || std::strchr("<>(),;\"\\", c) != nullptr;
  });
  return at != std::string_view::npos && at > 0 && at + 1 < text.size() && !unsafe;
}

std::optional<std::string> read_address(Diagnostics& diag, const Entry* entry) {
  auto text = fields::read_string(diag, entry);
  if (text && !is_address(*text)) {
    diag.error(entry->value_mark(),
               fmt::format("{}: {} is not a mail address (local@domain)", entry->name, kind_of(entry->value)));
    return std::nullopt;
  }
  return text;
}

std::optional<std::vector<std::string>> read_addresses(Diagnostics& diag, const Entry* entry) {
  if (entry == nullptr) return std::nullopt;
  if (!entry->value.IsSequence() || entry->value.size() == 0) {
    diag.error(entry->value_mark(),
               fmt::format("{}: expected a list of mail addresses, got {}", entry->name, kind_of(entry->value)));
    return std::nullopt;
  }
  std::vector<std::string> addresses;
  for (const auto& item : entry->value) {
    const Entry address{entry->key, item, entry->name};
    if (auto text = read_address(diag, &address)) addresses.push_back(std::move(*text));
  }
  if (addresses.size() != entry->value.size()) return std::nullopt;
  return addresses;
}

std::optional<EmailTarget> read_email_target(Diagnostics& diag, const Entry& item) {
  const auto map =
      fields::as_map(diag, item, item.name, {"url", "from", "to", "username", "password", "starttls", "events"});
  if (!map) return std::nullopt;
  EmailTarget target;
  const auto url = read_url(diag, map->require("url"), {"smtp", "smtps"}, "an smtp:// or smtps:// URL");
  const auto from = read_address(diag, map->require("from"));
  const auto to = read_addresses(diag, map->require("to"));
  target.username = fields::read_string(diag, map->find("username"));
  target.password = fields::read_string(diag, map->find("password"));
  if (map->find("password") != nullptr && map->find("username") == nullptr) {
    diag.error(map->find("password")->key.Mark(), "password: needs a username");
  }
  if (const auto starttls = fields::read_bool(diag, map->find("starttls"))) target.starttls = *starttls;
  if (auto events = read_events(diag, map->find("events"))) target.events = std::move(*events);
  if (!url || !from || !to) return std::nullopt;
  target.url = *url;
  target.from = *from;
  target.to = *to;
  return target;
}

std::optional<WebhookTarget> read_webhook_target(Diagnostics& diag, const Entry& item) {
  const auto map = fields::as_map(diag, item, item.name, {"url", "channel", "username", "events"});
  if (!map) return std::nullopt;
  WebhookTarget target;
  const auto url = read_url(diag, map->require("url"), {"http", "https"}, "an http:// or https:// URL");
  target.channel = fields::read_string(diag, map->find("channel"));
  target.username = fields::read_string(diag, map->find("username"));
  if (auto events = read_events(diag, map->find("events"))) target.events = std::move(*events);
  if (!url) return std::nullopt;
  target.url = *url;
  return target;
}

template <typename Target, typename Read>
std::vector<Target> read_targets(Diagnostics& diag, const Entry* entry, Read read) {
  std::vector<Target> targets;
  if (!fields::present(entry)) return targets;
  if (!entry->value.IsSequence()) {
    diag.error(entry->value_mark(), fmt::format("{}: expected a list, got {}", entry->name, kind_of(entry->value)));
    return targets;
  }
  std::size_t index = 0;
  for (const auto& value : entry->value) {
    const Entry item{value, value, fmt::format("{}[{}]", entry->name, index++)};
    if (auto target = read(diag, item)) targets.push_back(std::move(*target));
  }
  return targets;
}

void read_rate_limit(Diagnostics& diag, const Entry& entry, RateLimit& limit) {
  const auto map = fields::as_map(diag, entry, "rate_limit", {"messages", "per_s"});
  if (!map) return;
  if (const auto messages = fields::read_integer_in(diag, map->find("messages"), 1, 1'000'000)) {
    limit.messages = static_cast<std::size_t>(*messages);
  }
  if (const auto per_s = fields::read_positive(diag, map->find("per_s"))) limit.window = milliseconds_of(*per_s);
}

void read_retry(Diagnostics& diag, const Entry& entry, RetryPolicy& retry) {
  const auto map = fields::as_map(diag, entry, "retry", {"attempts", "first_backoff_s", "max_backoff_s"});
  if (!map) return;
  if (const auto attempts = fields::read_integer_in(diag, map->find("attempts"), 1, 100)) {
    retry.attempts = static_cast<int>(*attempts);
  }
  const auto first = fields::read_positive(diag, map->find("first_backoff_s"));
  const auto max = fields::read_positive(diag, map->find("max_backoff_s"));
  if (first) retry.first_backoff = milliseconds_of(*first);
  if (max) retry.max_backoff = milliseconds_of(*max);
  if (retry.max_backoff < retry.first_backoff) {
    const Entry* at = max ? map->find("max_backoff_s") : map->find("first_backoff_s");
    diag.error(at->value.Mark(), fmt::format("retry: max_backoff_s ({:g} s) is below first_backoff_s ({:g} s)",
                                             std::chrono::duration<double>(retry.max_backoff).count(),
                                             std::chrono::duration<double>(retry.first_backoff).count()));
  }
}

// "HH:MM" (UTC) as minutes after midnight.
std::optional<std::chrono::minutes> read_time_of_day(Diagnostics& diag, const Entry* entry) {
  const auto text = fields::read_string(diag, entry);
  if (!text) return std::nullopt;
  int hours = -1, minutes = -1;
  char extra = 0;
  if (std::sscanf(text->c_str(), "%2d:%2d%c", &hours, &minutes, &extra) != 2 || hours < 0 || hours > 23 ||
      minutes < 0 || minutes > 59) {
    diag.error(entry->value.Mark(), fmt::format("{}: expected HH:MM (UTC), got '{}'", entry->name, *text));
    return std::nullopt;
  }
  return std::chrono::minutes(hours * 60 + minutes);
}

}  // namespace

NotificationSettings parse_notification_settings(const YAML::Node& section, const std::string& file) {
  NotificationSettings settings;
  if (!section.IsDefined() || section.IsNull()) return settings;
  Diagnostics diag(file);
  if (!section.IsMap()) {
    diag.error(section.Mark(), fmt::format("notifications: expected a map, got {}", kind_of(section)));
    diag.raise();
  }
  const fields::MapView map(diag, section, section.Mark(), "notifications",
                            {"email", "webhooks", "rate_limit", "retry", "timeout_s", "daily_summary_utc"});
  settings.email = read_targets<EmailTarget>(diag, map.find("email"), read_email_target);
  settings.webhooks = read_targets<WebhookTarget>(diag, map.find("webhooks"), read_webhook_target);
  if (const auto* rate_limit = map.find("rate_limit")) read_rate_limit(diag, *rate_limit, settings.rate_limit);
  if (const auto* retry = map.find("retry")) read_retry(diag, *retry, settings.retry);
  if (const auto timeout = fields::read_number_in(diag, map.find("timeout_s"), 0.1, 3600.0, "s")) {
    settings.timeout = milliseconds_of(*timeout);
  }
  settings.daily_summary_utc = read_time_of_day(diag, map.find("daily_summary_utc"));
  if (!diag.empty()) diag.raise();
  return settings;
}

}  // namespace insitu::service
