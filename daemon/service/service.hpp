#pragma once
// insitud: runs queued recipes one after another on the host's loop, keeps the stage idle between them, and
// answers the control API (service::Control). Every run is a daemon::RunSession whose documents the service also
// watches: for the queue's states, the WebSocket and the notifications.
#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/host.hpp"
#include "daemon/run_session.hpp"
#include "daemon/service/config.hpp"
#include "daemon/service/control.hpp"
#include "daemon/service/idle_stage.hpp"
#include "daemon/service/notifications.hpp"
#include "daemon/service/queue_store.hpp"
#include "daemon/web/live_feed.hpp"
#include "drivers/io/loop_condition.hpp"

namespace insitu::service {

class Service final : public Control {
 public:
  // Opens the queue (QueueError when it cannot) and, with config.simulate, starts the simulated stage for the
  // service's life.
  Service(daemon::Host& host, ServiceConfig config, std::vector<spdlog::sink_ptr> log_sinks);
  ~Service() override;

  // On the loop until stop(): marks runs the last service left unfinished interrupted, then runs the queue.
  awaitable<void> serve();
  // SIGTERM, SIGINT: a running run ends after its frame in flight with the stage in the recipe's safe state, and is
  // marked interrupted; then serve() returns.
  void stop(const std::string& why);
  void reload_notifications();  // SIGHUP

  nlohmann::json status() const override;
  nlohmann::json queue() const override;
  nlohmann::json submit(const nlohmann::json& request) override;
  nlohmann::json move(RunId id, std::int64_t position) override;
  nlohmann::json hold(RunId id) override;
  nlohmann::json release(RunId id) override;
  nlohmann::json remove(RunId id) override;
  nlohmann::json act(RunAction action, std::optional<RunId> id, const std::string& reason) override;
  nlohmann::json history(std::optional<RunId> id) const override;
  nlohmann::json run_files() const override;
  void on_broadcast(Broadcast listener) override { listeners_.push_back(std::move(listener)); }

 private:
  // The run being run, and what the service keeps of it besides its session.
  struct Current {
    Run queued;
    std::unique_ptr<io::RunClock> clock;
    std::unique_ptr<daemon::RunSession> session;
    std::uint64_t faults = 0;
    std::optional<program::RunStatus> at_stop;  // the run's counts when it emitted its stop
    std::optional<web::LiveFeed> live;          // frame previews and curves for the WebSocket
  };

  bool begin_run(const Run& queued);
  // The recipe's on_interruption for each run the last service left interrupted: resume runs it again here.
  awaitable<void> take_up_interrupted(const std::vector<RunId>& ids);
  // true: a resumed session is current. `operator_resumes`: resume whatever the recipe says (insitu resume ID).
  bool apply_interruption_policy(const Run& interrupted, bool operator_resumes = false);
  // An operator's `resume ID` / `abort ID` of a run left interrupted under on_interruption: hold.
  nlohmann::json act_on_interrupted(RunAction action, RunId id);
  daemon::SessionSettings session_settings(const Run& run) const;
  void start_resumed_session(const Run& interrupted, recipe::Recipe recipe, daemon::ResumeFrom resume);
  awaitable<void> run_current();
  void start_session(const Run& queued, recipe::Recipe recipe);
  std::pair<RunState, std::string> finish_run(daemon::SessionEnd end);
  void announce_end(RunState state, const std::string& reason, const std::optional<std::string>& report);
  awaitable<std::optional<std::string>> write_report();
  void refuse_start(const Run& queued, const std::string& reason);
  // The session's documents to watchers, notifications and the live view (made here, on the session's axes).
  void follow(Current& current);
  void on_document(const documents::Document& document);
  SubmittedRun submission(const nlohmann::json& request) const;
  recipe::Recipe validated_recipe(const std::string& text, const std::string& source) const;
  std::string run_file_of(const daemon::RunSession& session) const;
  nlohmann::json current_run_json() const;
  std::string status_line() const;
  void broadcast(const nlohmann::json& message) const;
  void broadcast_queue() const;
  void schedule_status();
  using Fields = std::vector<std::pair<std::string, std::string>>;
  void notify(NotificationKind kind, const std::string& title, const std::string& body,
              std::optional<RunId> run = std::nullopt, Fields fields = {});
  void queue_empty_summary();
  void schedule_daily_summary();
  void daily_summary();
  void on_notification(const SentReport& report);

  daemon::Host& host_;
  ServiceConfig config_;
  std::vector<spdlog::sink_ptr> log_sinks_;
  std::shared_ptr<spdlog::logger> log_;
  io::RunClock clock_;  // the service's: the simulated stage's and the idle stage's; each run has its own
  QueueStore queue_;
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<daemon::bluesky::ZmqPublisher> bluesky_publisher_;  // every run's documents, when configured
  std::optional<IdleStage> idle_;
  io::LoopCondition changed_;  // the queue or the stop request changed
  asio::steady_timer status_timer_;
  asio::system_timer daily_timer_;
  std::vector<Broadcast> listeners_;
  std::unique_ptr<Current> current_;
  std::vector<std::string> finished_since_summary_;
  std::vector<RunId> awaiting_operator_;   // interrupted under on_interruption: hold
  std::optional<RunId> operator_resume_;   // asked to resume; taken up by serve()
  bool stopping_ = false;
  std::string stop_why_;
};

}  // namespace insitu::service
