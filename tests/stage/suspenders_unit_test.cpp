// The suspenders' own logic on a scripted external signal (no Tango, no instruments): a read failure that trips or
// is ignored, the settle time, the frames' flag, and an operator's pause that no suspender ends.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "protocols/run/suspenders.hpp"

namespace insitu::program {
namespace {

// Returns script[k] at the k-th read (the last one from then on); nullopt: the read fails.
class ScriptedSignal final : public ExternalSignal {
 public:
  ScriptedSignal(std::vector<std::optional<double>> script, std::vector<double>& read_at_s, const io::RunClock& clock)
      : script_(std::move(script)), read_at_s_(read_at_s), clock_(clock) {}
  void read(std::function<void(SignalValue)> done) override {
    const auto k = std::min(read_at_s_.size(), script_.size() - 1);
    read_at_s_.push_back(clock_.now_s());
    const auto v = script_[k];
    done(v ? SignalValue{v, ""} : SignalValue{std::nullopt, "device down"});
  }

 private:
  std::vector<std::optional<double>> script_;
  std::vector<double>& read_at_s_;
  const io::RunClock& clock_;
};

struct Outcome {
  std::vector<std::string> actions;  // "pause", "resume", "abort"
  std::vector<std::pair<io::EventKind, std::string>> events;
  std::vector<double> read_at_s;
  int count(io::EventKind kind, const std::string& fragment) const {
    int n = 0;
    for (const auto& [k, m] : events) n += k == kind && m.find(fragment) != std::string::npos;
    return n;
  }
};

recipe::Suspender beam(recipe::ReadFailure on_failure) {
  recipe::Suspender s;
  s.kind = recipe::SuspenderKind::tango;
  s.attribute = "a/b/c/BeamCurrent";
  s.below = 80.0;
  s.on_read_failure = on_failure;
  s.settle_s = 3.0;
  return s;
}

// Runs the suspenders for `run_s` of run time at 50x, `operator_paused` first when asked.
Outcome run(const recipe::Suspender& spec, std::vector<std::optional<double>> script, double run_s,
            bool operator_paused = false, std::uint32_t* flags_inside = nullptr) {
  Outcome out;
  asio::io_context io;
  const io::RunClock clock(50.0);
  SuspenderActions actions{[&] { out.actions.push_back("pause"); }, [&] { out.actions.push_back("resume"); },
                           [&](const std::string&) { out.actions.push_back("abort"); },
                           [&](io::EventKind kind, const std::string& m) { out.events.emplace_back(kind, m); }};
  const ExternalSignalFactory factory = [&](const recipe::Suspender&) {
    return std::make_unique<ScriptedSignal>(script, out.read_at_s, clock);
  };
  Suspenders suspenders(io.get_executor(), clock, {spec}, actions, factory);
  if (operator_paused) suspenders.operator_paused();
  suspenders.start();
  io.run_for(clock.wall_duration(run_s));
  suspenders.stop();
  if (flags_inside) {
    // A window over the third read (the first bad one) and one before the first read.
    *flags_inside = suspenders.window_flags(out.read_at_s.at(2) - 0.1, out.read_at_s.at(2) + 0.1) |
                    (suspenders.window_flags(-10.0, -5.0) << 16);
  }
  return out;
}

TEST(SuspenderLogic, AReadFailureCountsAsTrippingAndTheRunResumesAfterTheSettleTime) {
  std::uint32_t flags = 0;
  const auto out = run(beam(recipe::ReadFailure::trip), {100.0, 100.0, std::nullopt, std::nullopt, 100.0}, 30.0,
                       false, &flags);
  EXPECT_EQ(out.actions, (std::vector<std::string>{"pause", "resume"}));
  EXPECT_EQ(out.count(io::EventKind::warning, "cannot read a/b/c/BeamCurrent: device down (counts as tripping)"), 1)
      << "once per streak of failures";
  EXPECT_EQ(out.count(io::EventKind::warning, "tripped at"), 1);
  EXPECT_EQ(out.count(io::EventKind::info, "a/b/c/BeamCurrent read again"), 1);
  EXPECT_EQ(out.count(io::EventKind::info, "cleared at"), 1);
  EXPECT_EQ(out.count(io::EventKind::info, "settled: resuming the run"), 1);
  for (const auto& [kind, message] : out.events) EXPECT_TRUE(message.starts_with("suspender 1 (tango: ")) << message;
  EXPECT_EQ(flags & 0xFFFF, detector::exposure_flag::suspended) << "a frame exposed while it held";
  EXPECT_EQ(flags >> 16, 0u) << "a frame before it";
}

TEST(SuspenderLogic, AnIgnoredReadFailureIsReportedButTripsNothing) {
  const auto out = run(beam(recipe::ReadFailure::ignore), {100.0, std::nullopt, std::nullopt, 100.0}, 10.0);
  EXPECT_TRUE(out.actions.empty());
  EXPECT_EQ(out.count(io::EventKind::warning, "(ignored)"), 1);
  EXPECT_EQ(out.count(io::EventKind::warning, "tripped"), 0);
}

TEST(SuspenderLogic, ARunTheOperatorPausedIsNeitherPausedAgainNorResumedByASuspender) {
  const auto out = run(beam(recipe::ReadFailure::trip), {100.0, 10.0, 10.0, 100.0}, 12.0, true);
  EXPECT_TRUE(out.actions.empty());
  EXPECT_EQ(out.count(io::EventKind::warning, "the run stays paused (by the operator)"), 1);
  EXPECT_EQ(out.count(io::EventKind::info, "cleared at"), 1);
  EXPECT_EQ(out.count(io::EventKind::info, "resuming the run"), 0);
}

TEST(SuspenderLogic, AnAbortingSuspenderAbortsOnceAndNeverClears) {
  auto spec = beam(recipe::ReadFailure::trip);
  spec.on_trip = recipe::SuspenderTrip::abort;
  spec.for_s = 2.0;
  const auto out = run(spec, {100.0, 10.0, 10.0, 10.0, 10.0, 100.0}, 10.0);
  EXPECT_EQ(out.actions, std::vector<std::string>{"abort"});
  EXPECT_EQ(out.count(io::EventKind::warning, "a/b/c/BeamCurrent = 10 (since"), 1);
  EXPECT_EQ(out.count(io::EventKind::info, "cleared"), 0);
}

}  // namespace
}  // namespace insitu::program
