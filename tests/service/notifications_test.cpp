// Notifications against real servers on loopback: a mail server (aiosmtpd, smtp_sink.py) and a webhook endpoint
// (http_sink.py) that answers a scripted sequence of statuses, or hangs.
#include "daemon/service/notifications.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/service/sinks.hpp"

namespace insitu::service {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

// The loop the reports come back on, run by the test thread while it waits for them.
struct Loop {
  asio::io_context context;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(context);
  std::vector<SentReport> reports;

  Notifier::OnResult on_result() {
    return [this](const SentReport& report) { reports.push_back(report); };
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 4s) {
    const auto deadline = Clock::now() + timeout;
    while (reports.size() < count && Clock::now() < deadline) context.run_one_for(10ms);
    return reports.size() >= count;
  }
};

NotificationSettings quick_settings() {
  NotificationSettings settings;
  settings.retry = {3, 100ms, 1s};
  settings.timeout = 2s;
  return settings;
}

EmailTarget mail_to(int port) {
  EmailTarget target;
  target.url = "smtp://127.0.0.1:" + std::to_string(port);
  target.from = "insitu@beamline.example";
  target.to = {"operator@lab.example", "pi@lab.example"};
  return target;
}

WebhookTarget hook_at(int port) {
  WebhookTarget target;
  target.url = "http://127.0.0.1:" + std::to_string(port) + "/hooks/s3cret";
  target.channel = "beamline";
  target.username = "insitud";
  return target;
}

Notification note(NotificationKind kind, std::string title, std::string body = "") {
  return Notification{kind, std::move(title), std::move(body), std::nullopt, {}};
}

// A port on loopback that nothing listens on.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::vector<std::string> header_lines(const std::string& raw) {
  std::vector<std::string> lines;
  std::istringstream in(raw);
  for (std::string line; std::getline(in, line) && line != "\r" && !line.empty();) {
    if (line.ends_with('\r')) line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

double seconds_between(const json& earlier, const json& later) {
  return later["t"].get<double>() - earlier["t"].get<double>();
}

TEST(Notifier, MailArrivesAsAProperMessage) {
  Sink smtp("smtp_sink.py", {});
  Loop loop;
  auto settings = quick_settings();
  settings.email = {mail_to(smtp.port())};
  Notifier notifier(loop.context.get_executor(), settings, loop.on_result());
  const Notification failed{
      NotificationKind::run_failed,
      "Run 7 failed: the Zr₅₀Cu₅₀ ribbon lost thermocouple contact at 412.5 °C on the second ramp",
      "The stage stopped answering.\nSafe state applied: 293 K.",
      7,
      {{"recipe", "cryo-heating.yaml"}, {"frames", "118"}}};
  const Notification started = note(NotificationKind::run_started,
                                    "Run 8 started: cryo-heating.yaml on sample G-17 with 2 darks before and 0 after",
                                    "Hold at 300 K.\n.\n..then ramp\n.hidden line");
  ASSERT_TRUE(notifier.notify(failed));
  ASSERT_TRUE(notifier.notify(started));

  const json first = smtp.next();
  ASSERT_FALSE(first.is_null());
  EXPECT_EQ(first["mail_from"], "insitu@beamline.example");
  EXPECT_EQ(first["rcpt_to"], json({"operator@lab.example", "pi@lab.example"}));
  EXPECT_EQ(first["headers"]["From"], "insitu@beamline.example");
  EXPECT_EQ(first["headers"]["To"], "operator@lab.example, pi@lab.example");
  EXPECT_EQ(first["headers"]["Subject"], failed.title);
  EXPECT_THAT(first["raw"].get<std::string>(), HasSubstr("\r\nSubject: =?UTF-8?B?"));
  EXPECT_THAT(first["headers"]["Message-ID"].get<std::string>(),
              MatchesRegex("<[0-9]+\\.[0-9]+\\.[0-9]+@beamline\\.example>"));
  EXPECT_THAT(first["date"].get<std::string>(), MatchesRegex("20[0-9][0-9]-.*\\+00:00"));
  EXPECT_EQ(first["headers"]["MIME-Version"], "1.0");
  EXPECT_EQ(first["headers"]["X-Insitu-Event"], "run_failed");
  EXPECT_EQ(first["headers"]["X-Insitu-Run"], "7");
  EXPECT_EQ(first["content_type"], "text/plain");
  EXPECT_EQ(first["charset"], "utf-8");
  EXPECT_EQ(first["defects"], json::array());
  EXPECT_EQ(first["body"], failed.title +
                               "\n\nThe stage stopped answering.\nSafe state applied: 293 K.\n\n"
                               "run: 7\nrecipe: cryo-heating.yaml\nframes: 118\n");

  const json second = smtp.next();
  ASSERT_FALSE(second.is_null());
  EXPECT_EQ(second["headers"]["Subject"], started.title);
  EXPECT_EQ(second["headers"]["Content-Transfer-Encoding"], "7bit");
  EXPECT_EQ(second["defects"], json::array());
  EXPECT_EQ(second["body"], started.title + "\n\n" + started.body + "\n");  // dots at line starts survive SMTP
  for (const json* mail : {&first, &second}) {
    for (const auto& line : header_lines((*mail)["raw"])) EXPECT_LE(line.size(), 78u) << line;
  }

  ASSERT_TRUE(loop.wait_for(2));
  EXPECT_EQ(loop.reports[0].outcome, SendOutcome::sent);
  EXPECT_EQ(loop.reports[0].attempts, 1);
  EXPECT_EQ(loop.reports[0].kind, NotificationKind::run_failed);
  EXPECT_EQ(loop.reports[0].run, 7);
  EXPECT_EQ(loop.reports[0].target,
            "mail to operator@lab.example, pi@lab.example via smtp://127.0.0.1:" + std::to_string(smtp.port()));
}

TEST(Notifier, WebhookPostsMattermostJson) {
  Sink hook("http_sink.py", {});
  Loop loop;
  auto settings = quick_settings();
  settings.webhooks = {hook_at(hook.port())};
  Notifier notifier(loop.context.get_executor(), settings, loop.on_result());
  auto completed = note(NotificationKind::run_completed, "Run 8 completed", "T_g = 412.3 K");
  completed.run = 8;
  notifier.notify(completed);

  const json request = hook.next();
  ASSERT_FALSE(request.is_null());
  EXPECT_EQ(request["path"], "/hooks/s3cret");
  EXPECT_EQ(request["content_type"], "application/json");
  const json post = json::parse(request["body"].get<std::string>());
  EXPECT_EQ(post, json({{"text", "Run 8 completed\n\nT_g = 412.3 K\n\nrun: 8\n"},
                        {"channel", "beamline"},
                        {"username", "insitud"}}));

  ASSERT_TRUE(loop.wait_for(1));
  EXPECT_EQ(loop.reports[0].outcome, SendOutcome::sent);
  EXPECT_EQ(loop.reports[0].target, "webhook http://127.0.0.1:" + std::to_string(hook.port()) + " #beamline");
  EXPECT_THAT(loop.reports[0].target, Not(HasSubstr("s3cret")));
}

TEST(Notifier, RetriesAfter503WithGrowingGaps) {
  Sink hook("http_sink.py", {"--statuses", "503,503,200"});
  Loop loop;
  auto settings = quick_settings();
  settings.retry = {5, 150ms, 2s};
  settings.webhooks = {hook_at(hook.port())};
  Notifier notifier(loop.context.get_executor(), settings, loop.on_result());
  notifier.notify(note(NotificationKind::fault, "Stage not answering"));

  const json first = hook.next(), second = hook.next(), third = hook.next();
  ASSERT_FALSE(third.is_null());
  const double gap1 = seconds_between(first, second), gap2 = seconds_between(second, third);
  EXPECT_GE(gap1, 0.14);
  EXPECT_LT(gap1, 1.0);
  EXPECT_GE(gap2, 0.29);
  EXPECT_GT(gap2, gap1 + 0.05);
  ASSERT_TRUE(loop.wait_for(1));
  EXPECT_EQ(loop.reports[0].outcome, SendOutcome::sent);
  EXPECT_EQ(loop.reports[0].attempts, 3);
}

TEST(Notifier, RetryAfterIsHonouredUpToTheLongestBackoff) {
  Sink polite("http_sink.py", {"--statuses", "429,200", "--retry-after", "1"});
  Sink greedy("http_sink.py", {"--statuses", "503,200", "--retry-after", "30"});
  Loop loop;
  auto honoured = quick_settings(), capped = quick_settings();
  honoured.retry = {3, 50ms, 3s};
  honoured.webhooks = {hook_at(polite.port())};
  capped.retry = {3, 50ms, 300ms};
  capped.webhooks = {hook_at(greedy.port())};
  Notifier first(loop.context.get_executor(), honoured, loop.on_result());
  Notifier second(loop.context.get_executor(), capped, loop.on_result());
  first.notify(note(NotificationKind::queue_empty, "Queue empty"));
  second.notify(note(NotificationKind::queue_empty, "Queue empty"));

  const json polite_first = polite.next(), polite_second = polite.next();
  const json greedy_first = greedy.next(), greedy_second = greedy.next();
  ASSERT_FALSE(polite_second.is_null());
  ASSERT_FALSE(greedy_second.is_null());
  EXPECT_GE(seconds_between(polite_first, polite_second), 0.95);
  EXPECT_GE(seconds_between(greedy_first, greedy_second), 0.28);
  EXPECT_LT(seconds_between(greedy_first, greedy_second), 1.0);
  ASSERT_TRUE(loop.wait_for(2));
  for (const auto& report : loop.reports) EXPECT_EQ(report.outcome, SendOutcome::sent) << report.target;
}

TEST(Notifier, ClientErrorGivesUpAtOnce) {
  Sink hook("http_sink.py", {"--statuses", "400", "--reply", R"({"message": "channel not found"})"});
  Loop loop;
  auto settings = quick_settings();
  settings.webhooks = {hook_at(hook.port())};
  Notifier notifier(loop.context.get_executor(), settings, loop.on_result());
  notifier.notify(note(NotificationKind::run_aborted, "Run 9 aborted"));

  ASSERT_FALSE(hook.next().is_null());
  ASSERT_TRUE(loop.wait_for(1));
  EXPECT_EQ(loop.reports[0].outcome, SendOutcome::failed);
  EXPECT_EQ(loop.reports[0].attempts, 1);
  EXPECT_EQ(loop.reports[0].error, R"(HTTP 400: {"message": "channel not found"})");
  EXPECT_TRUE(hook.next(400ms).is_null()) << "no second attempt";
}

TEST(Notifier, RateLimitFoldsTheExcessIntoTheNextMessage) {
  Sink hook("http_sink.py", {});
  Loop loop;
  auto settings = quick_settings();
  settings.rate_limit = {2, 800ms};
  settings.webhooks = {hook_at(hook.port())};
  Notifier notifier(loop.context.get_executor(), settings, loop.on_result());
  for (int i = 1; i <= 5; ++i) notifier.notify(note(NotificationKind::fault, "Fault " + std::to_string(i)));

  ASSERT_TRUE(loop.wait_for(5));
  const auto count = [&](SendOutcome outcome) {
    return std::count_if(loop.reports.begin(), loop.reports.end(), [&](const auto& r) { return r.outcome == outcome; });
  };
  EXPECT_EQ(count(SendOutcome::sent), 2);
  EXPECT_EQ(count(SendOutcome::suppressed), 3);
  EXPECT_FALSE(hook.next().is_null());
  EXPECT_FALSE(hook.next().is_null());
  EXPECT_TRUE(hook.next(200ms).is_null());

  std::this_thread::sleep_for(800ms);  // the window has passed
  notifier.notify(note(NotificationKind::fault, "Fault 6"));
  const json sixth = hook.next();
  ASSERT_FALSE(sixth.is_null());
  EXPECT_EQ(json::parse(sixth["body"].get<std::string>())["text"],
            "Fault 6\n\n(3 further notifications suppressed by the rate limit)\n");
  ASSERT_TRUE(loop.wait_for(6));
  EXPECT_EQ(loop.reports[5].suppressed_announced, 3u);
}

TEST(Notifier, NotifyReturnsAtOnceWhileTheEndpointHangs) {
  Sink hook("http_sink.py", {"--hang"});
  Loop loop;
  auto settings = quick_settings();
  settings.timeout = 30s;
  settings.rate_limit = {1000, 1h};
  settings.webhooks = {hook_at(hook.port())};
  Notifier notifier(loop.context.get_executor(), settings, loop.on_result());
  constexpr int k_notifications = 50;
  Clock::duration slowest{};
  for (int i = 0; i < k_notifications; ++i) {
    const auto start = Clock::now();
    notifier.notify(note(NotificationKind::fault, "Fault " + std::to_string(i)));
    slowest = std::max(slowest, Clock::now() - start);
  }
  std::cout << "slowest notify(): " << std::chrono::duration<double, std::micro>(slowest).count() << " us\n";
  EXPECT_LT(slowest, 100ms);  // blocking on the post would take the 30 s timeout
  ASSERT_FALSE(hook.next().is_null()) << "the posts went out";

  const auto start = Clock::now();
  EXPECT_EQ(notifier.stop(200ms), std::size_t{k_notifications});
  EXPECT_LT(Clock::now() - start, 1s);
  ASSERT_TRUE(loop.wait_for(k_notifications));
  for (const auto& report : loop.reports) EXPECT_EQ(report.outcome, SendOutcome::abandoned);
  EXPECT_FALSE(notifier.notify(note(NotificationKind::fault, "After stop")));
}

TEST(Notifier, DestructionWithAHangingEndpointTakesTheGraceOnly) {
  Sink hook("http_sink.py", {"--hang"});
  Loop loop;
  auto settings = quick_settings();
  settings.timeout = 30s;
  settings.webhooks = {hook_at(hook.port())};
  auto notifier = std::make_unique<Notifier>(loop.context.get_executor(), settings, loop.on_result());
  notifier->notify(note(NotificationKind::run_failed, "Run 10 failed"));
  ASSERT_FALSE(hook.next().is_null());

  const auto start = Clock::now();
  notifier.reset();
  const auto took = Clock::now() - start;
  EXPECT_GE(took, Notifier::default_shutdown_grace - 50ms);
  EXPECT_LT(took, Notifier::default_shutdown_grace + 1s);  // not the 30 s timeout
}

TEST(Notifier, UnreachableServerFailsAfterEveryAttempt) {
  Loop loop;
  auto settings = quick_settings();
  settings.retry = {3, 50ms, 1s};
  settings.email = {mail_to(closed_port())};
  Notifier notifier(loop.context.get_executor(), settings, loop.on_result());
  notifier.notify(note(NotificationKind::daily_summary, "Daily summary"));

  ASSERT_TRUE(loop.wait_for(1));
  EXPECT_EQ(loop.reports[0].outcome, SendOutcome::failed);
  EXPECT_EQ(loop.reports[0].attempts, 3);
  EXPECT_THAT(loop.reports[0].error, HasSubstr("connect"));
}

TEST(Notifier, MailServerRefusalsAreRetriedOnlyWhenTemporary) {
  Sink busy("smtp_sink.py", {"451", "250"});
  Sink refusing("smtp_sink.py", {"550"});
  Loop loop;
  auto settings = quick_settings();
  settings.email = {mail_to(busy.port()), mail_to(refusing.port())};
  Notifier notifier(loop.context.get_executor(), settings, loop.on_result());
  notifier.notify(note(NotificationKind::run_completed, "Run 11 completed"));

  EXPECT_EQ(busy.next()["reply"], "451");
  EXPECT_EQ(busy.next()["reply"], "250");
  EXPECT_EQ(refusing.next()["reply"], "550");
  ASSERT_TRUE(loop.wait_for(2));
  for (const auto& report : loop.reports) {
    if (report.target.ends_with(std::to_string(busy.port()))) {
      EXPECT_EQ(report.outcome, SendOutcome::sent);
      EXPECT_EQ(report.attempts, 2);
    } else {
      EXPECT_EQ(report.outcome, SendOutcome::failed);
      EXPECT_EQ(report.attempts, 1);
      EXPECT_THAT(report.error, HasSubstr("550"));
    }
  }
  EXPECT_TRUE(refusing.next(300ms).is_null()) << "no second attempt";
}

TEST(Notifier, TargetsGetTheirKindsAndAReloadAppliesToTheNextMessage) {
  Sink faults_only("http_sink.py", {});
  Sink everything("http_sink.py", {});
  Loop loop;
  auto settings = quick_settings();
  settings.webhooks = {hook_at(faults_only.port())};
  settings.webhooks[0].events = {NotificationKind::fault};
  Notifier notifier(loop.context.get_executor(), settings, loop.on_result());
  notifier.notify(note(NotificationKind::run_started, "Run 12 started"));
  notifier.notify(note(NotificationKind::fault, "Detector fault"));
  const json fault = faults_only.next();
  ASSERT_FALSE(fault.is_null());
  EXPECT_THAT(fault["body"].get<std::string>(), HasSubstr("Detector fault"));

  settings.webhooks = {hook_at(everything.port())};
  notifier.update(settings);
  notifier.notify(note(NotificationKind::run_completed, "Run 12 completed"));
  const json completed = everything.next();
  ASSERT_FALSE(completed.is_null());
  EXPECT_THAT(completed["body"].get<std::string>(), HasSubstr("Run 12 completed"));
  EXPECT_TRUE(faults_only.next(300ms).is_null());
  ASSERT_TRUE(loop.wait_for(2));
  EXPECT_EQ(loop.reports.size(), 2u);
}

NotificationSettings parse(const std::string& text) {
  return parse_notification_settings(YAML::Load(text)["notifications"], "service.yaml");
}

std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(NotificationSettings, ReadsTheSection) {
  const auto settings = parse(R"(
notifications:
  email: [{url: smtp://127.0.0.1:2525, from: insitu@beamline, to: [a@b, c@d], events: [run_failed, fault],
           username: insitu, password: pw, starttls: true}]
  webhooks: [{url: http://127.0.0.1:9000/hook, channel: beamline, events: all}]
  rate_limit: {messages: 20, per_s: 3600}
  retry: {attempts: 5, first_backoff_s: 0.5, max_backoff_s: 300}
  timeout_s: 10
)");
  ASSERT_EQ(settings.email.size(), 1u);
  const auto& mail = settings.email[0];
  EXPECT_EQ(mail.url, "smtp://127.0.0.1:2525");
  EXPECT_EQ(mail.from, "insitu@beamline");
  EXPECT_EQ(mail.to, (std::vector<std::string>{"a@b", "c@d"}));
  EXPECT_EQ(mail.events, (std::set{NotificationKind::run_failed, NotificationKind::fault}));
  EXPECT_EQ(mail.username, "insitu");
  EXPECT_EQ(mail.password, "pw");
  EXPECT_TRUE(mail.starttls);
  ASSERT_EQ(settings.webhooks.size(), 1u);
  EXPECT_EQ(settings.webhooks[0].channel, "beamline");
  EXPECT_EQ(settings.webhooks[0].events, all_notification_kinds());
  EXPECT_EQ(settings.rate_limit.messages, 20u);
  EXPECT_EQ(settings.rate_limit.window, 1h);
  EXPECT_EQ(settings.retry.attempts, 5);
  EXPECT_EQ(settings.retry.first_backoff, 500ms);
  EXPECT_EQ(settings.retry.max_backoff, 300s);
  EXPECT_EQ(settings.timeout, 10s);

  EXPECT_TRUE(parse("notifications:\n").email.empty());
  EXPECT_TRUE(parse("other: 1\n").webhooks.empty());
}

TEST(NotificationSettings, ErrorsSayWhere) {
  EXPECT_EQ(parse_error(R"(notifications:
  email:
    - {url: http://127.0.0.1:2525, from: insitu, to: [a@b]}
  webhooks:
    - url: http://127.0.0.1:9000/hook
      events: [run_failed, meltdown]
    - {channel: beamline}
  retry: {attempts: 0, first_backoff_s: 10, max_backoff_s: 5}
  timeout_s: fast
  sms: yes
)"),
            "service.yaml:3:13: url: expected an smtp:// or smtps:// URL, got 'http://127.0.0.1:2525'\n"
            "service.yaml:3:42: from: 'insitu' is not a mail address (local@domain)\n"
            "service.yaml:6:28: events: unknown event 'meltdown' (expected one of: run_started, run_completed, "
            "run_aborted, run_failed, fault, queue_empty, daily_summary, suspender)\n"
            "service.yaml:7:7: missing required key 'url' in webhooks[1]\n"
            "service.yaml:8:21: attempts: must be in 1..100, got 0\n"
            "service.yaml:8:60: retry: max_backoff_s (5 s) is below first_backoff_s (10 s)\n"
            "service.yaml:9:14: timeout_s: expected a number, got 'fast'\n"
            "service.yaml:10:3: unknown key 'sms' in notifications (expected one of: email, webhooks, rate_limit, "
            "retry, timeout_s, daily_summary_utc)");
  EXPECT_EQ(parse_error("notifications: [email]\n"), "service.yaml:1:16: notifications: expected a map, got a list");
}

}  // namespace
}  // namespace insitu::service
