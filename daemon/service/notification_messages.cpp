#include "daemon/service/notification_messages.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace insitu::service::messages {
namespace {

constexpr std::size_t k_folded_line = 78;         // RFC 5322: lines SHOULD stay within this
constexpr std::size_t k_longest_line = 998;       // and MUST stay within this
constexpr std::size_t k_base64_line = 76;         // RFC 2045
constexpr std::size_t k_encoded_word_bytes = 39;  // 52 base64 characters: "Subject: =?UTF-8?B?...?=" stays within 78

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string base64(std::string_view bytes) {
  static constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 3; ++k) group = group << 8 | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? k_alphabet[group >> (18 - 6 * k) & 0x3f] : '=';
  }
  return out;
}

// "Name: value" with CRLF inserted before spaces, so that lines stay within 78 characters where the words allow.
std::string fold(std::string_view line) {
  std::string out;
  std::size_t line_start = 0;
  for (std::size_t pos = 0; pos < line.size();) {
    std::size_t end = line.find(' ', pos + 1);
    if (end == std::string_view::npos) end = line.size();
    const bool fits = out.size() - line_start + (end - pos) <= k_folded_line;
    if (!fits && line[pos] == ' ' && out.size() > line_start) {
      out += "\r\n";
      line_start = out.size();
    }
    out.append(line.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

// RFC 2047 encoded words, one per folded line, each whole UTF-8 characters (decoders join them without the folds).
std::string encoded_words(std::string_view text) {
  std::string out;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = std::min(pos + k_encoded_word_bytes, text.size());
    while (end < text.size() && end > pos + 1 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(text.substr(pos, end - pos)) + "?=";
    pos = end;
  }
  return out;
}

std::string header_line(std::string_view name, std::string_view value) {
  const std::string clean = one_line(value);
  // Plain ASCII that a decoder could mistake for an encoded word is encoded too.
  if (is_ascii(clean) && clean.find("=?") == std::string::npos) return fold(fmt::format("{}: {}", name, clean));
  return fmt::format("{}: {}", name, encoded_words(clean));
}

std::string rfc5322_date(std::chrono::system_clock::time_point date) {
  // Spelled out: strftime's names follow the locale.
  static constexpr const char* k_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(date);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", k_days[utc.tm_wday], utc.tm_mday, k_months[utc.tm_mon],
                     utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

std::string message_id(const std::string& from, std::chrono::system_clock::time_point date) {
  static std::atomic<std::uint64_t> counter{0};
  const auto at = from.rfind('@');
  const std::string domain = at == std::string::npos || at + 1 == from.size() ? "insitu" : from.substr(at + 1);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(date.time_since_epoch()).count();
  return fmt::format("<{}.{}.{}@{}>", us, ::getpid(), counter++, domain);
}

// The text with CRLF line ends: 7bit when SMTP carries it as it is (ASCII, lines within 998), else base64.
std::pair<std::string, std::string> mail_body(std::string_view text) {
  std::string crlf;
  std::size_t longest = 0, current = 0;
  for (char c : text) {
    if (c == '\r') continue;
    if (c == '\n') {
      crlf += "\r\n";
      current = 0;
      continue;
    }
    crlf += c;
    longest = std::max(longest, ++current);
  }
  if (!crlf.ends_with("\r\n")) crlf += "\r\n";
  if (is_ascii(crlf) && longest <= k_longest_line) return {crlf, "7bit"};
  const std::string encoded = base64(crlf);
  std::string wrapped;
  for (std::size_t i = 0; i < encoded.size(); i += k_base64_line) wrapped += encoded.substr(i, k_base64_line) + "\r\n";
  return {wrapped, "base64"};
}

}  // namespace

std::string UrlParts::origin() const { return scheme + "://" + host + (port ? ":" + *port : ""); }

std::optional<UrlParts> parse_url(const std::string& url) {
  const std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> handle(curl_url(), &curl_url_cleanup);
  if (!handle || curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  const auto part = [&](CURLUPart which) -> std::optional<std::string> {
    char* value = nullptr;
    if (curl_url_get(handle.get(), which, &value, 0) != CURLUE_OK) return std::nullopt;
    std::string text(value);
    curl_free(value);
    return text;
  };
  auto scheme = part(CURLUPART_SCHEME);
  auto host = part(CURLUPART_HOST);
  if (!scheme || !host || host->empty()) return std::nullopt;
  return UrlParts{std::move(*scheme), std::move(*host), part(CURLUPART_PORT)};
}

std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool space = static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
    if (!space) {
      out += c;
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string describe(const EmailTarget& target) {
  std::string to;
  for (const auto& address : target.to) to += (to.empty() ? "" : ", ") + address;
  const auto url = parse_url(target.url);
  return fmt::format("mail to {} via {}", to, url ? url->origin() : "an invalid URL");
}

std::string describe(const WebhookTarget& target) {
  const auto url = parse_url(target.url);
  return fmt::format("webhook {}{}", url ? url->origin() : "with an invalid URL",
                     target.channel ? " #" + *target.channel : "");
}

std::string text_of(const Notification& notification, std::size_t suppressed) {
  std::string text = one_line(notification.title) + "\n";
  if (!notification.body.empty()) text += "\n" + notification.body + (notification.body.ends_with('\n') ? "" : "\n");
  if (notification.run || !notification.fields.empty()) text += "\n";
  if (notification.run) text += fmt::format("run: {}\n", *notification.run);
  for (const auto& [key, value] : notification.fields) text += key + ": " + value + "\n";
  if (suppressed > 0) {
    text += fmt::format("\n({} further notification{} suppressed by the rate limit)\n", suppressed,
                        suppressed == 1 ? "" : "s");
  }
  return text;
}

std::string mail(const EmailTarget& target, const Notification& notification, const std::string& text,
                 std::chrono::system_clock::time_point date) {
  const auto [body, encoding] = mail_body(text);
  std::string to;
  for (const auto& address : target.to) to += (to.empty() ? "" : ", ") + address;
  std::vector<std::string> headers = {
      "Date: " + rfc5322_date(date),
      fold("From: " + one_line(target.from)),
      fold("To: " + one_line(to)),
      header_line("Subject", notification.title),
      "Message-ID: " + message_id(target.from, date),
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: " + encoding,
      fmt::format("X-Insitu-Event: {}", to_string(notification.kind)),
  };
  if (notification.run) headers.push_back(fmt::format("X-Insitu-Run: {}", *notification.run));
  std::string message;
  for (const auto& header : headers) message += header + "\r\n";
  return message + "\r\n" + body;
}

std::string webhook_payload(const WebhookTarget& target, const std::string& text) {
  nlohmann::json post{{"text", text}};
  if (target.channel) post["channel"] = *target.channel;
  if (target.username) post["username"] = *target.username;
  // Invalid UTF-8 (a garbled file name in a message) is replaced rather than refused.
  return post.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace insitu::service::messages
