#pragma once
// Pairs detector frame files with trigger boundaries (research/trigger.md §2, §6). Frame-wise external
// trigger: the image read out at pulse k integrated over [t(k-1), t(k)], so N frames need N+1 pulses and
// the image read out at the first pulse after arming (k = 0) holds pre-trigger signal. Pure: events in
// (boundary times, file arrivals, the current time), frame records with flags out.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace insitu::detector {

// QXRD naming: <pattern>-<index>.tif, <pattern>-<index>-<phase:3>.tif, <pattern>-<index>.dark.tif and a
// uniquifying -<nnnnn> suffix when the name was taken. Also accepts .tiff and .edf.
struct FrameName {
  std::int64_t index = 0;
  std::optional<int> phase;
  bool dark = false;
  bool uniquified = false;  // carried QXRD's "-00001" suffix: a second file for an index
};
std::optional<FrameName> parse_frame_name(std::string_view file_name, std::string_view pattern);

enum class FrameFlag : unsigned {
  pre_trigger = 1u << 0,         // image read out at the first pulse: discard
  missing = 1u << 1,             // deadline passed without a file
  late = 1u << 2,                // the file came after its deadline
  duplicate = 1u << 3,           // more than one file carried this index
  truncated = 1u << 4,           // the paired file did not read complete
  trigger_uncertain = 1u << 5,   // either bounding trigger was not confirmed
  clock_skew = 1u << 6,          // detector time stamp disagrees with t(k)
};

// "missing,trigger_uncertain" style text for logs and the run file; "ok" when no flag is set.
std::string describe_flags(unsigned flags);

struct FileArrival {
  std::string path;
  std::optional<std::int64_t> index;      // from parse_frame_name; nullopt if the name does not match
  double arrival_s = 0.0;                 // run time the poller saw the file
  bool complete = true;                   // false: the reader said "not complete yet" or corrupt
  std::optional<double> detector_time_s;  // sidecar timeStamp, converted to run seconds
};

struct FrameRecord {
  std::int64_t frame = 0;       // k; 0 is the pre-trigger image
  std::int64_t file_index = 0;  // expected file index: first_file_index + k
  double start_s = 0.0;         // t(k-1); NaN for k = 0
  double end_s = 0.0;           // t(k)
  double deadline_s = 0.0;
  std::optional<FileArrival> file;
  std::vector<FileArrival> duplicates;
  unsigned flags = 0;

  bool has(FrameFlag flag) const { return (flags & static_cast<unsigned>(flag)) != 0; }
};

struct PairingConfig {
  std::int64_t first_file_index = 0;  // index of the file written at the first boundary
  // Time after t(k) within which file k must appear: readout + save + margin (§6: + 10 s).
  double file_deadline_after_boundary_s = 12.0;
  double max_clock_skew_s = 2.0;
};

class FramePairer {
 public:
  explicit FramePairer(PairingConfig config);

  // Boundary k = number of earlier boundaries, fired at t_s; `uncertain` if its trigger was not confirmed.
  void boundary(double t_s, bool uncertain = false);
  void file(const FileArrival& arrival);
  // Marks frames whose deadline lies before now_s as missing.
  void advance(double now_s);

  const std::vector<FrameRecord>& records() const { return records_; }
  // Files matching no boundary (unknown name or index); kept, never deleted.
  const std::vector<FileArrival>& orphans() const { return orphans_; }
  // Records changed since the last call, in frame order.
  std::vector<FrameRecord> take_changed();

 private:
  void set(FrameRecord& record, FrameFlag flag, bool on);
  void touch(std::size_t k);

  PairingConfig config_;
  std::vector<FrameRecord> records_;
  std::vector<bool> boundary_uncertain_;
  std::vector<FileArrival> orphans_;
  std::vector<std::size_t> changed_;
};

}  // namespace insitu::detector
