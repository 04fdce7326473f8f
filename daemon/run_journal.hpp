#pragma once
// A run's journal (run.journal beside run.h5): what it takes to resume the run after its process died. One JSON
// object a line, appended at the run's start, at each segment change, at each frame and at its end, so that after
// a kill -9 the last line says how far the run had got (after a power cut, the last segment line at least: every
// line but the frame lines is fsynced):
//   {"start": {"utc_origin_ns", "speed", "recipe_source"}}   the run clock (run time goes on from its origin)
//   {"segment": {"index", "started_s", "start_K"}}            0-based programme segment, run time, stage temperature
//   {"frame": {"sequence"}}                                   the last frame handed to the run file
//   {"resumed": {"at_s", "segment"}}                          a later process took the run up again
//   {"end": {"exit_status"}}                                  the run closed its file: nothing to resume
// A torn last line (the kill came mid-write) is ignored, and cut before a resumed run appends.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace insitu::daemon {

inline constexpr const char* kJournalName = "run.journal";

struct JournalState {
  std::chrono::system_clock::time_point utc_origin;
  double speed = 1.0;
  std::string recipe_source;
  std::size_t segment_index = 0;
  double segment_started_s = 0;
  double segment_start_K = 0;
  bool segment_known = false;               // no segment line: the run died before its programme began
  std::optional<std::uint64_t> last_frame;  // sequence number
  std::size_t resumptions = 0;
  std::optional<std::string> exit_status;  // the run ended
};

// Throws std::runtime_error (with the file's name) when the journal is missing or has no start line.
JournalState read_journal(const std::filesystem::path& file);

class RunJournal {
 public:
  // A new journal (truncating any), with its start line.
  RunJournal(const std::filesystem::path& file, std::chrono::system_clock::time_point utc_origin, double speed,
             const std::string& recipe_source);
  // The journal of a run being resumed: appended to, after cutting a last line the kill tore.
  explicit RunJournal(const std::filesystem::path& file);
  ~RunJournal();
  RunJournal(const RunJournal&) = delete;
  RunJournal& operator=(const RunJournal&) = delete;

  void segment(std::size_t index, double started_s, double start_K);
  void frame(std::uint64_t sequence);
  void resumed(double at_s, std::size_t segment_index);
  void end(const std::string& exit_status);

 private:
  enum class Durability { written, synced };
  void append(const std::string& line, Durability durability = Durability::synced);  // throws std::runtime_error
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace insitu::daemon
