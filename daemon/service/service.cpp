#include "daemon/service/service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "daemon/service/document_json.hpp"
#include "daemon/service/run_json.hpp"
#include "daemon/service/systemd.hpp"
#include "daemon/web/report.hpp"
#include "protocols/run/suspenders.hpp"

namespace insitu::service {

namespace {

std::shared_ptr<spdlog::logger> service_logger(const std::vector<spdlog::sink_ptr>& sinks) {
  auto log = std::make_shared<spdlog::logger>("insitud", sinks.begin(), sinks.end());
  log->set_level(spdlog::level::info);
  log->flush_on(spdlog::level::info);
  return log;
}

std::filesystem::path prepared_state_dir(const ServiceConfig& config) {
  for (const auto& dir : {config.state_dir, config.data_root, config.recipes_root})
    std::filesystem::create_directories(dir);
  return config.state_dir;
}

// What the queue says of a run that ended; the reason says why.
std::pair<RunState, std::string> end_state(daemon::SessionEnd end, const documents::RunStop& stop,
                                           const program::RunStatus* counts, std::uint64_t faults) {
  switch (end) {
    case daemon::SessionEnd::record_incomplete:
      return {RunState::failed, "part of the record could not be written: " + stop.reason};
    case daemon::SessionEnd::aborted_or_failed:
      return {stop.exit_status == documents::ExitStatus::aborted ? RunState::aborted : RunState::failed, stop.reason};
    case daemon::SessionEnd::completed:
    case daemon::SessionEnd::completed_with_deviations:
      break;
  }
  const std::uint64_t missing = counts ? counts->frames.missing : 0;
  const std::uint64_t failures = counts ? counts->analysis_failures : 0;
  const std::size_t off_programme = stop.deviations.size();
  if (faults == 0 && missing == 0 && failures == 0 && off_programme == 0) {
    // Paused by a suspender: the programme did not run as written, which the stop's reason tells.
    if (end == daemon::SessionEnd::completed_with_deviations) return {RunState::completed_with_deviations, stop.reason};
    return {RunState::completed, ""};
  }
  return {RunState::completed_with_deviations,
          fmt::format("{} fault event(s), {} missing frame(s), {} frame(s) not analysed, {} stretch(es) off the "
                      "programme",
                      faults, missing, failures, off_programme)};
}

NotificationKind notification_for(RunState state) {
  switch (state) {
    case RunState::completed:
    case RunState::completed_with_deviations:
      return NotificationKind::run_completed;
    case RunState::aborted:
    case RunState::interrupted:
      return NotificationKind::run_aborted;
    default:
      return NotificationKind::run_failed;
  }
}

}  // namespace

Service::Service(daemon::Host& host, ServiceConfig config, std::vector<spdlog::sink_ptr> log_sinks)
    : host_(host),
      config_(std::move(config)),
      log_sinks_(std::move(log_sinks)),
      log_(service_logger(log_sinks_)),
      clock_(config_.speed),
      queue_(prepared_state_dir(config_) / "queue.sqlite"),
      changed_(host.loop()),
      status_timer_(host.loop()),
      daily_timer_(host.loop()) {
  std::optional<std::string> stage_url = config_.linkam_url;
  if (config_.simulate) std::filesystem::create_directories(config_.state_dir / "simulation");  // its fault console
  if (config_.simulate && stage_url) {  // a stage of its own (e.g. insitu-linkam-sim), the detector side simulated
    host_.start_simulation(clock_, config_.state_dir / "simulation", *stage_url);
  } else if (config_.simulate) {
    stage_url = host_.start_simulation(clock_, config_.state_dir / "simulation").stage_url();
  }
  if (stage_url) idle_.emplace(clock_, *stage_url, config_.idle, log_);
  notifier_ = std::make_unique<Notifier>(host.loop(), config_.notifications,
                                         [this](const SentReport& report) { on_notification(report); });
  if (config_.bluesky.zmq) {
    bluesky_publisher_ = std::make_unique<daemon::bluesky::ZmqPublisher>(*config_.bluesky.zmq);
    log_->info("bluesky documents published on {}", bluesky_publisher_->endpoint());
  }
}

Service::~Service() = default;

void Service::broadcast(const nlohmann::json& message) const {
  for (const auto& listener : listeners_) listener(message);
}

void Service::broadcast_queue() const { broadcast({{"type", "queue"}, {"runs", queue()["runs"]}}); }

void Service::notify(NotificationKind kind, const std::string& title, const std::string& body,
                     std::optional<RunId> run, Fields fields) {
  Notification n;
  n.kind = kind;
  n.title = title;
  n.body = body;
  n.run = run;
  n.fields = std::move(fields);
  notifier_->notify(std::move(n));
}

// Each notification's fate is an event of the service: in its log and to watchers.
void Service::on_notification(const SentReport& report) {
  const auto outcome = to_string(report.outcome);
  if (report.outcome == SendOutcome::sent)
    log_->info("notification '{}' {} to {} ({} attempt(s))", report.title, outcome, report.target, report.attempts);
  else
    log_->warn("notification '{}' {} to {}: {}", report.title, outcome, report.target, report.error);
  nlohmann::json message{{"type", "notification"},  {"kind", to_string(report.kind)}, {"title", report.title},
                         {"target", report.target}, {"outcome", outcome},              {"attempts", report.attempts},
                         {"error", report.error}};
  message["run"] = report.run ? nlohmann::json(*report.run) : nlohmann::json(nullptr);
  broadcast(message);
}

void Service::reload_notifications() {
  if (!config_.file) {
    log_->info("SIGHUP: no configuration file to reload");
    return;
  }
  notify_reloading();
  try {
    config_.notifications = service::reload_notifications(*config_.file);
    notifier_->update(config_.notifications);
    schedule_daily_summary();
    log_->info("SIGHUP: notification settings reloaded from {}", config_.file->string());
  } catch (const std::exception& e) {
    log_->error("SIGHUP: notification settings kept: {}", e.what());
  }
  notify_reloaded();
}

void Service::stop(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  stop_why_ = why;
  log_->info("stopping ({})", why);
  notify_stopping();
  if (current_ && current_->session->run())
    current_->session->run()->stop_after_frame("insitud stopping: " + why);
  changed_.notify();
}

awaitable<void> Service::serve() {
  const auto interrupted = queue_.recover_after_restart(std::chrono::system_clock::now());
  for (const auto id : interrupted) {
    log_->warn("run {} was running when insitud stopped: marked interrupted", id);
    notify(NotificationKind::fault, fmt::format("run {} interrupted", id),
           "insitud stopped during the run (a crash or power cut); the run is marked interrupted.", id);
  }
  schedule_status();
  schedule_daily_summary();
  notify_ready();
  log_->info("insitud ready: data under {}, recipes under {}{}", config_.data_root.string(),
             config_.recipes_root.string(), config_.simulate ? fmt::format(", simulated at {}x", config_.speed) : "");
  co_await take_up_interrupted(interrupted);
  const std::function<bool()> work_or_stop = [this] {
    return stopping_ || operator_resume_ || queue_.next_runnable().has_value();
  };
  while (!stopping_) {
    if (idle_ && awaiting_operator_.empty())  // a run held for an operator keeps the stage as it is
      co_await idle_->hold_until(work_or_stop, changed_);
    else
      co_await changed_.wait_until(work_or_stop, io::RunClock::wall_clock::now() + std::chrono::seconds(60));
    if (stopping_) break;
    if (const auto id = std::exchange(operator_resume_, std::nullopt)) {
      if (apply_interruption_policy(queue_.run(*id), true)) co_await run_current();
      continue;
    }
    const auto next = queue_.next_runnable();
    if (!next || !begin_run(*next)) continue;
    co_await run_current();
  }
  status_timer_.cancel();
  daily_timer_.cancel();
  log_->info("stopped");
}

// The queued run as a session, or false when it cannot start (it is then marked failed).
bool Service::begin_run(const Run& queued) {
  try {
    start_session(queued, validated_recipe(queued.submission.recipe_text, queued.submission.source));
    return true;
  } catch (const RequestRefused& e) {
    refuse_start(queued, fmt::format("the recipe no longer validates: {}", e.what()));
  } catch (const daemon::SessionNotStarted& e) {
    refuse_start(queued, e.what());
  }
  return false;
}

awaitable<void> Service::take_up_interrupted(const std::vector<RunId>& ids) {
  for (const auto id : ids) {
    if (stopping_) co_return;
    if (apply_interruption_policy(queue_.run(id))) co_await run_current();
  }
}

// The run's journal says where it got to; its recipe (as queued) says what to do. Anything that prevents it leaves
// the run interrupted, with the reason in the log and a notification.
bool Service::apply_interruption_policy(const Run& interrupted, bool operator_resumes) {
  const auto id = interrupted.id;
  const auto refuse = [&](const std::string& why) {
    log_->error("run {} stays interrupted: {}", id, why);
    notify(NotificationKind::fault, fmt::format("run {} not resumed", id), why, id);
    return false;
  };
  if (!interrupted.run_file) return refuse("it has no run file");
  const auto directory = (config_.data_root / *interrupted.run_file).parent_path();
  try {
    auto journal = daemon::read_journal(directory / daemon::kJournalName);
    if (journal.exit_status) return refuse("its run file was already closed (" + *journal.exit_status + ")");
    auto recipe = validated_recipe(interrupted.submission.recipe_text, interrupted.submission.source);
    switch (operator_resumes ? recipe::OnInterruption::resume : recipe.on_interruption) {
      case recipe::OnInterruption::resume:
        start_resumed_session(interrupted, std::move(recipe), {directory, std::move(journal)});
        return true;
      case recipe::OnInterruption::hold:
        log_->warn("run {} interrupted, on_interruption: hold: waiting for an operator (insitu resume|abort {})", id,
                   id);
        awaiting_operator_.push_back(id);
        return false;
      case recipe::OnInterruption::abort:
        daemon::close_interrupted_run(directory, journal, &recipe,
                                      "insitud stopped during the run; closed as interrupted (on_interruption: abort)");
        log_->warn("run {} closed as interrupted (on_interruption: abort)", id);
        return false;
    }
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  return false;
}

nlohmann::json Service::act_on_interrupted(RunAction action, RunId id) {
  if (action != RunAction::resume && action != RunAction::abort)
    throw RequestRefused(409, fmt::format("run {} is interrupted: it can be resumed or aborted", id));
  const auto interrupted = queue_.run(id);
  if (action == RunAction::resume) {
    if (current_) throw RequestRefused(409, fmt::format("run {} is running: resume run {} after it", current_->queued.id, id));
    operator_resume_ = id;
    changed_.notify();
  } else {
    const auto directory = (config_.data_root / interrupted.run_file.value_or("")).parent_path();
    std::optional<recipe::Recipe> recipe;  // to cut what the death tore; the file closes without it too
    try {
      recipe = validated_recipe(interrupted.submission.recipe_text, interrupted.submission.source);
    } catch (const std::exception& e) {
      log_->warn("run {}: its recipe is no longer readable ({}): closed without cutting torn rows", id, e.what());
    }
    try {
      daemon::close_interrupted_run(directory, daemon::read_journal(directory / daemon::kJournalName),
                                    recipe ? &*recipe : nullptr,
                                    "insitud stopped during the run; closed as interrupted by an operator");
    } catch (const std::exception& e) {
      throw RequestRefused(409, fmt::format("run {} cannot be closed: {}", id, e.what()));
    }
    log_->warn("run {} closed as interrupted by an operator", id);
  }
  std::erase(awaiting_operator_, id);
  return run_json(interrupted);
}

// What every session of this service runs with, a new one or one taken up after a crash (the same documents sinks).
daemon::SessionSettings Service::session_settings(const Run& run) const {
  daemon::SessionSettings settings;
  settings.recipe_source = run.submission.source;
  settings.output = config_.data_root;
  settings.linkam_url = config_.linkam_url;
  settings.analysis_workers = config_.analysis_workers;
  settings.log_sinks = log_sinks_;
  settings.simulation.seed = static_cast<std::uint64_t>(run.id);
  settings.bluesky = {config_.bluesky.jsonl, bluesky_publisher_.get()};
  return settings;
}

void Service::start_resumed_session(const Run& interrupted, recipe::Recipe recipe, daemon::ResumeFrom resume) {
  const auto settings = session_settings(interrupted);
  auto current = std::make_unique<Current>();
  current->clock = std::make_unique<io::RunClock>(resume.journal.speed, resume.journal.utc_origin);
  current->session =
      std::make_unique<daemon::RunSession>(host_, *current->clock, std::move(recipe), settings, std::move(resume));
  follow(*current);
  current->queued = queue_.mark_resumed(interrupted.id, std::chrono::system_clock::now(),
                                        "resumed after insitud stopped (on_interruption: resume)");
  current_ = std::move(current);
  log_->info("run {} resumed: {}", interrupted.id, current_->session->directory().string());
  notify(NotificationKind::run_started, fmt::format("run {} resumed: {}", interrupted.id, interrupted.submission.sample),
         fmt::format("file {}", run_file_of(*current_->session)), interrupted.id);
  broadcast_queue();
}

awaitable<void> Service::run_current() {
  if (idle_) idle_->mark_in_run();
  const auto end = co_await current_->session->execute();
  const auto [state, reason] = finish_run(end);
  const auto report = co_await write_report();
  announce_end(state, reason, report);
  // What the run left in flight (cancelled reads and timers) completes before its session goes.
  asio::steady_timer drain(host_.loop(), std::chrono::milliseconds(200));
  co_await drain.async_wait(asio::use_awaitable);
  current_.reset();
}

void Service::start_session(const Run& queued, recipe::Recipe recipe) {
  const auto settings = session_settings(queued);
  auto current = std::make_unique<Current>();
  current->queued = queued;
  current->clock = std::make_unique<io::RunClock>(config_.speed);
  current->session = std::make_unique<daemon::RunSession>(host_, *current->clock, std::move(recipe), settings);
  follow(*current);
  const auto now = std::chrono::system_clock::now();
  current->queued = queue_.mark_started(queued.id, now);
  queue_.set_run_file(queued.id, run_file_of(*current->session));
  current_ = std::move(current);
  log_->info("run {} started: {} ({}), {}", queued.id, queued.submission.sample, queued.submission.recipe,
             current_->session->directory().string());
  notify(NotificationKind::run_started, fmt::format("run {} started: {}", queued.id, queued.submission.sample),
         fmt::format("recipe {}, sample {} ({}); file {}", queued.submission.recipe, queued.submission.sample,
                     queued.submission.treatment, run_file_of(*current_->session)),
         queued.id);
  broadcast_queue();
}

void Service::refuse_start(const Run& queued, const std::string& reason) {
  log_->error("run {} cannot start: {}", queued.id, reason);
  queue_.mark_state(queued.id, RunState::failed, std::chrono::system_clock::now(), reason);
  finished_since_summary_.push_back(fmt::format("run {} ({}): failed to start", queued.id, queued.submission.sample));
  notify(NotificationKind::run_failed, fmt::format("run {} failed to start", queued.id), reason, queued.id);
  broadcast_queue();
}

// The run's end in the queue at once (a crash while its report is written must not leave it running there).
std::pair<RunState, std::string> Service::finish_run(daemon::SessionEnd end) {
  const auto& stop = current_->session->stop();
  const auto id = current_->queued.id;
  auto [state, reason] = end_state(end, stop, current_->at_stop ? &*current_->at_stop : nullptr, current_->faults);
  if (stopping_) {
    state = RunState::interrupted;
    reason = fmt::format("insitud stopped ({}) during the run; it ended after its frame in flight, the stage in the "
                         "recipe's safe state",
                         stop_why_);
  }
  queue_.mark_state(id, state, std::chrono::system_clock::now(), reason);
  log_->info("run {} {}{}", id, to_string(state), reason.empty() ? "" : ": " + reason);
  finished_since_summary_.push_back(
      fmt::format("run {} ({}): {}", id, current_->queued.submission.sample, to_string(state)));
  return {state, reason};
}

// The end's notification, naming the report when there is one.
void Service::announce_end(RunState state, const std::string& reason, const std::optional<std::string>& report) {
  const auto id = current_->queued.id;
  const auto& sample = current_->queued.submission.sample;
  notify(notification_for(state), fmt::format("run {} {}: {}", id, to_string(state), sample),
         fmt::format("{}{}file {}", reason, reason.empty() ? "" : "\n", run_file_of(*current_->session)), id,
         report ? Fields{{"report", *report}} : Fields{});
  broadcast_queue();
  if (!stopping_ && !queue_.next_runnable()) queue_empty_summary();
}

// report.html beside the closed run file, written on the host's background thread (a night's run takes a while to
// read); its path under the data root, nothing when it could not be written (logged: the run is complete without it).
awaitable<std::optional<std::string>> Service::write_report() {
  const auto file = current_->session->file_path();
  const auto report = file.parent_path() / "report.html";
  const auto write = [file, report]() -> awaitable<std::string> {
    std::string error;
    try {
      web::write_report(file, report);
    } catch (const std::exception& e) {
      error = e.what();
    }
    co_return error;
  };
  const std::string error = co_await asio::co_spawn(host_.background(), write(), asio::use_awaitable);
  if (!error.empty()) {
    log_->warn("run {}: no report: {}", current_->queued.id, error);
    co_return std::nullopt;
  }
  co_return std::filesystem::relative(report, config_.data_root).string();
}

void Service::queue_empty_summary() {
  std::string body;
  for (const auto& line : finished_since_summary_) body += line + "\n";
  notify(NotificationKind::queue_empty, "insitud: the queue is empty", body);
  finished_since_summary_.clear();
}

// At the configured UTC time of day: what ended in the last 24 hours and what waits.
void Service::schedule_daily_summary() {
  daily_timer_.cancel();
  const auto at = config_.notifications.daily_summary_utc;
  if (!at) return;
  const auto now = std::chrono::system_clock::now();
  auto next = std::chrono::floor<std::chrono::days>(now) + *at;
  if (next <= now) next += std::chrono::days(1);
  daily_timer_.expires_at(next);
  daily_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    daily_summary();
    schedule_daily_summary();
  });
}

void Service::daily_summary() {
  const auto since = io::iso8601_utc(std::chrono::system_clock::now() - std::chrono::hours(24));
  std::string body;
  int ended = 0;
  for (const auto& run : queue_.history()) {
    if (!run.ended || *run.ended < since) continue;
    ++ended;
    body += fmt::format("run {} ({}): {}{}\n", run.id, run.submission.sample, to_string(run.state),
                        run.reason.empty() ? "" : " - " + run.reason);
  }
  const auto waiting = status()["queue"]["queued"].get<std::int64_t>();
  body += fmt::format("{} run(s) queued{}", waiting, current_ ? ", one running" : "");
  notify(NotificationKind::daily_summary, fmt::format("insitud: {} run(s) ended in the last 24 h", ended), body);
}

void Service::follow(Current& current) {
  current.session->subscribe([this](const documents::Document& d) { on_document(d); });
  const auto* axes = current.session->analysis_axes();
  current.live.emplace(axes ? std::optional(*axes) : std::nullopt);
}

void Service::on_document(const documents::Document& document) {
  if (!current_) return;
  if (const auto* e = std::get_if<documents::RunEvent>(&document); e && e->kind == io::EventKind::fault) {
    ++current_->faults;
    notify(NotificationKind::fault, fmt::format("run {}: fault", current_->queued.id), e->message,
           current_->queued.id);
  }
  if (const auto* e = std::get_if<documents::RunEvent>(&document); e && program::is_suspender_event(*e))
    notify(NotificationKind::suspender, fmt::format("run {}: suspender", current_->queued.id), e->message,
           current_->queued.id);
  if (std::holds_alternative<documents::RunStop>(document) && current_->session->run())
    current_->at_stop = current_->session->run()->status();
  if (listeners_.empty()) return;
  if (auto doc = document_json(document)) {
    (*doc)["type"] = "document";
    (*doc)["run"] = current_->queued.id;
    broadcast(*doc);
  }
  if (auto live = current_->live->message(document)) {
    (*live)["run"] = current_->queued.id;
    broadcast(*live);
  }
}

std::string Service::run_file_of(const daemon::RunSession& session) const {
  return std::filesystem::relative(session.file_path(), config_.data_root).string();
}

}  // namespace insitu::service
