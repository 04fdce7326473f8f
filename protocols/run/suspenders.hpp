#pragma once
// The recipe's suspenders, a component of the run: each watches a condition in the run's documents (the stage's
// readings, the frames) or an external signal (a Tango attribute), and when it trips pauses the run (no exposures,
// the stage holding where it is) or aborts it; when it clears, the paused run resumes after the settle time or
// waits for an operator. Every trip and clear is an event whose message starts with kSuspenderEventPrefix. Runs
// on the loop; the external signals are read off it.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/io/asio.hpp"
#include "drivers/io/clock.hpp"
#include "drivers/io/run_events.hpp"
#include "protocols/recipe/recipe.hpp"
#include "protocols/run/documents.hpp"

namespace insitu::program {

inline constexpr std::string_view kSuspenderEventPrefix = "suspender ";
bool is_suspender_event(const documents::RunEvent& event);

// One read of an external signal: the value, or why there is none.
struct SignalValue {
  std::optional<double> value;
  std::string error;
};

// An external signal a suspender watches (the beamline's Tango attribute). read() must not block: it reads on
// another thread and calls `done` there, once per read.
class ExternalSignal {
 public:
  virtual ~ExternalSignal() = default;
  virtual void read(std::function<void(SignalValue)> done) = 0;
};
// Makes the reader of a `tango` suspender's attribute; empty when this program cannot read any.
using ExternalSignalFactory = std::function<std::unique_ptr<ExternalSignal>(const recipe::Suspender&)>;

// How the suspenders act on the run (on the loop).
struct SuspenderActions {
  std::function<void()> pause, resume;
  std::function<void(const std::string& reason)> abort;
  std::function<void(io::EventKind, const std::string& message)> event;
};

class Suspenders {
 public:
  // Throws std::runtime_error when a tango suspender has no reader (`signals` empty).
  Suspenders(asio::any_io_executor loop, const io::RunClock& clock, const std::vector<recipe::Suspender>& specs,
             SuspenderActions actions, const ExternalSignalFactory& signals);
  ~Suspenders();
  Suspenders(const Suspenders&) = delete;
  Suspenders& operator=(const Suspenders&) = delete;

  void start();  // watching begins: the external signals are read, settle times run out
  void stop();   // the programme is over: nothing trips or resumes any more

  void observe(const documents::Document& document);  // stage readings and frames; the rest is ignored
  // The operator's own pause and resume: a run the operator paused is not resumed by a suspender, and the
  // operator's resume ends every suspension (a condition still holding trips again only after its for_s).
  void operator_paused();
  void operator_resumed();

  // exposure_flag::suspended when [start_s, stop_s] overlaps a time a suspender's condition was seen to hold.
  std::uint32_t window_flags(double start_s, double stop_s) const;
  // Suspensions (pauses by suspenders) so far, and the suspenders that tripped them (each named once).
  std::size_t suspensions() const;
  const std::vector<std::string>& tripped_by() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the reads in flight and the watch loop
};

}  // namespace insitu::program
