#include "drivers/detector/frame_pairing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace insitu::detector {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<FrameName> parse_frame_name(std::string_view file_name, std::string_view pattern) {
  if (!file_name.starts_with(pattern) || file_name.size() <= pattern.size() || file_name[pattern.size()] != '-') {
    return std::nullopt;
  }
  std::string_view rest = file_name.substr(pattern.size() + 1);
  FrameName name;
  bool matched_extension = false;
  for (const std::string_view ext : {".dark.tif", ".dark.tiff", ".dark.edf", ".tif", ".tiff", ".edf"}) {
    if (rest.ends_with(ext)) {
      name.dark = ext.starts_with(".dark");
      rest.remove_suffix(ext.size());
      matched_extension = true;
      break;
    }
  }
  if (!matched_extension) return std::nullopt;
  const auto dash = rest.find('-');
  const std::string_view index = rest.substr(0, dash);
  if (!all_digits(index) || index.size() > 12) return std::nullopt;
  name.index = std::stoll(std::string(index));
  if (dash != std::string_view::npos) {
    std::string_view tail = rest.substr(dash + 1);
    const auto second = tail.find('-');
    const std::string_view group = tail.substr(0, second);
    if (group.size() == 3 && all_digits(group)) {
      name.phase = std::stoi(std::string(group));
      tail = second == std::string_view::npos ? std::string_view{} : tail.substr(second + 1);
    }
    if (!tail.empty()) {
      if (tail.size() != 5 || !all_digits(tail)) return std::nullopt;
      name.uniquified = true;
    }
  }
  return name;
}

std::string describe_flags(unsigned flags) {
  static constexpr std::pair<FrameFlag, const char*> names[] = {
      {FrameFlag::pre_trigger, "pre_trigger"}, {FrameFlag::missing, "missing"},
      {FrameFlag::late, "late"},               {FrameFlag::duplicate, "duplicate"},
      {FrameFlag::truncated, "truncated"},     {FrameFlag::trigger_uncertain, "trigger_uncertain"},
      {FrameFlag::clock_skew, "clock_skew"}};
  std::string out;
  for (const auto& [flag, name] : names) {
    if ((flags & static_cast<unsigned>(flag)) == 0) continue;
    if (!out.empty()) out += ',';
    out += name;
    flags &= ~static_cast<unsigned>(flag);
  }
  if (flags != 0) out += fmt::format("{}unknown(0x{:x})", out.empty() ? "" : ",", flags);
  return out.empty() ? "ok" : out;
}

FramePairer::FramePairer(PairingConfig config) : config_(config) {
  if (!(config_.file_deadline_after_boundary_s > 0.0) || !(config_.max_clock_skew_s > 0.0)) {
    throw std::invalid_argument("FramePairer: deadline and clock-skew tolerance must be positive");
  }
}

void FramePairer::set(FrameRecord& record, FrameFlag flag, bool on) {
  if (on) {
    record.flags |= static_cast<unsigned>(flag);
  } else {
    record.flags &= ~static_cast<unsigned>(flag);
  }
}

void FramePairer::touch(std::size_t k) {
  if (std::find(changed_.begin(), changed_.end(), k) == changed_.end()) changed_.push_back(k);
}

void FramePairer::boundary(double t_s, bool uncertain) {
  if (!records_.empty() && !(t_s > records_.back().end_s)) {
    throw std::invalid_argument(fmt::format("trigger boundary {} at {} s is not after the previous one at {} s",
                                            records_.size(), t_s, records_.back().end_s));
  }
  const auto k = static_cast<std::int64_t>(records_.size());
  FrameRecord record;
  record.frame = k;
  record.file_index = config_.first_file_index + k;
  record.start_s = k == 0 ? std::numeric_limits<double>::quiet_NaN() : records_.back().end_s;
  record.end_s = t_s;
  record.deadline_s = t_s + config_.file_deadline_after_boundary_s;
  set(record, FrameFlag::pre_trigger, k == 0);
  set(record, FrameFlag::trigger_uncertain, uncertain || (k > 0 && boundary_uncertain_.back()));
  boundary_uncertain_.push_back(uncertain);
  records_.push_back(std::move(record));
  touch(static_cast<std::size_t>(k));

  // Files for this index that arrived before the boundary was recorded were kept as orphans: claim them.
  const auto claimed = std::stable_partition(orphans_.begin(), orphans_.end(), [&](const FileArrival& a) {
    return a.index != records_.back().file_index;
  });
  std::vector<FileArrival> early(claimed, orphans_.end());
  orphans_.erase(claimed, orphans_.end());
  for (const FileArrival& arrival : early) file(arrival);
}

void FramePairer::file(const FileArrival& arrival) {
  if (!arrival.index || *arrival.index < config_.first_file_index ||
      *arrival.index - config_.first_file_index >= static_cast<std::int64_t>(records_.size())) {
    orphans_.push_back(arrival);
    return;
  }
  const auto k = static_cast<std::size_t>(*arrival.index - config_.first_file_index);
  FrameRecord& record = records_[k];
  if (record.file && record.file->path != arrival.path) {
    record.duplicates.push_back(arrival);
    set(record, FrameFlag::duplicate, true);
    touch(k);
    return;
  }
  // A first sighting, or the same file polled again (e.g. now complete).
  record.file = arrival;
  set(record, FrameFlag::truncated, !arrival.complete);
  if (arrival.arrival_s > record.deadline_s) {
    set(record, FrameFlag::late, true);
    set(record, FrameFlag::missing, false);
  }
  if (arrival.detector_time_s) {
    set(record, FrameFlag::clock_skew, std::fabs(*arrival.detector_time_s - record.end_s) > config_.max_clock_skew_s);
  }
  touch(k);
}

void FramePairer::advance(double now_s) {
  for (std::size_t k = 0; k < records_.size(); ++k) {
    FrameRecord& record = records_[k];
    if (!record.file && !record.has(FrameFlag::missing) && now_s > record.deadline_s) {
      set(record, FrameFlag::missing, true);
      touch(k);
    }
  }
}

std::vector<FrameRecord> FramePairer::take_changed() {
  std::sort(changed_.begin(), changed_.end());
  std::vector<FrameRecord> out;
  out.reserve(changed_.size());
  for (const std::size_t k : changed_) out.push_back(records_[k]);
  changed_.clear();
  return out;
}

}  // namespace insitu::detector
