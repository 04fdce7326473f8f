#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "drivers/linkam/sim/stage_model.hpp"

namespace insitu::linkam::sim {

// The device side of the T95 ASCII protocol (research note linkam.md §1), written independently of
// the driver's codec so that tests can cross-check the two. Pure: bytes in, bytes out.
//
// Commands end with CR; LF bytes are discarded wherever they appear. Until the first `T` every
// command is ignored. Set commands answer a bare CR, `T` answers 10 bytes + CR with the
// temperature in UPPERCASE hex; anything invalid or out of range gets no reply at all.
class T95Emulator {
 public:
  // A command other than `T` as it arrived, with the controller state (SB1) it found: what tests check the wire by.
  struct Received {
    double run_s;
    std::string command;
    ControllerState state_before;
  };

  explicit T95Emulator(StageModel& model, std::uint64_t seed = 1);

  // Advances the model to `run_s`, then consumes `bytes` (any chunking) and returns the replies to
  // every command completed by them, in order.
  std::string feed(std::string_view bytes, double run_s);

  // Back to the power-up state: init (waiting for `T`), partial line dropped. The model keeps its state.
  void reset_link();
  // Line noise: each byte of every reply (its CR too) is replaced by a random byte with this probability.
  void set_byte_error_rate(double probability) { byte_error_rate_ = probability; }
  bool initialised() const { return initialised_; }
  // The last commands other than `T` (at most kReceivedKept), oldest first; unanswered ones included.
  const std::deque<Received>& received() const { return received_; }
  static constexpr std::size_t kReceivedKept = 4096;

 private:
  // Executes one complete line; returns the reply (empty for "no reply").
  std::string execute(std::string_view line);
  std::string status_reply() const;
  std::string garble(std::string reply);
  std::string corrupt_bytes(std::string reply);

  static constexpr std::size_t max_line_bytes = 32;  // longer lines are junk; dropped at their CR

  StageModel& model_;
  SplitMix64 rng_;
  std::string line_;
  bool overflow_ = false;
  bool initialised_ = false;
  double byte_error_rate_ = 0.0;
  std::deque<Received> received_;
};

}  // namespace insitu::linkam::sim
