#include "daemon/console.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdio>
#include <mutex>

namespace insitu::daemon {
namespace {

// Console log lines that first clear the live status line, so the two never share a row of the terminal.
class StatusAwareConsoleSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fputs("\r\033[K", stderr);
    std::fwrite(formatted.data(), 1, formatted.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

std::string format_duration(double s) {
  const auto total = static_cast<long>(std::max(0.0, s));
  return fmt::format("{}:{:02d}:{:02d}", total / 3600, (total / 60) % 60, total % 60);
}

}  // namespace

spdlog::sink_ptr console_log_sink(bool live_status) {
  spdlog::sink_ptr console;
  if (live_status)
    console = std::make_shared<StatusAwareConsoleSink>();
  else
    console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(live_status ? spdlog::level::warn : spdlog::level::info);
  return console;
}

void LogSink::operator()(const documents::Document& document) const {
  if (const auto* e = std::get_if<documents::RunEvent>(&document)) {
    io::log_run_event(*log_, e->kind, e->message);
  } else if (const auto* start = std::get_if<documents::RunStart>(&document)) {
    log_->info("run {}: recipe {}, sample {}", start->uid, start->recipe_name, start->sample.name);
  } else if (const auto* stop = std::get_if<documents::RunStop>(&document)) {
    log_->info("run {} after {:.0f} s of run time{}", documents::to_string(stop->exit_status), stop->time_s,
               stop->reason.empty() ? "" : ": " + stop->reason);
  }
}

StatusLine::StatusLine(asio::any_io_executor loop, const program::Run& run) : run_(run), timer_(loop) { schedule(); }

StatusLine::~StatusLine() { timer_.cancel(); }

void StatusLine::operator()(const documents::Document& document) {
  if (!std::holds_alternative<documents::RunStop>(document)) return;
  stopped_ = true;
  timer_.cancel();
  fmt::print("\n");
}

void StatusLine::schedule() {
  timer_.expires_after(std::chrono::milliseconds(200));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    draw();
    schedule();
  });
}

void StatusLine::draw() {
  const auto s = run_.status();
  const auto& p = s.program;
  fmt::print("\r\033[K[{}] {}/{} {} | T {} K | setpoint {:.2f} K | frames {} | elapsed {} | ETA {}",
             program::to_string(p.state), p.segment_index + 1, p.segment_count, p.segment_label,
             p.temperature_K ? fmt::format("{:.2f}", *p.temperature_K) : "--", p.setpoint_K, s.frames.data_frames,
             format_duration(p.time_s), format_duration(p.eta_s));
  std::fflush(stdout);
}

}  // namespace insitu::daemon
