#pragma once
// The detector part of a run file: raw frames and the synchronised exposure record of every frame.
//
//   entry/instrument/detector:NXdetector  description, settings_key, x_pixel_size/y_pixel_size/distance @units=m,
//       compression (filter name), frames_stored (0/1), gain_setting, detector_readout_time @units=s,
//       saturation_value @units=counts, frame_start_number, beam_center_x/beam_center_y @units=m (with a geometry:
//       where the direct beam meets the detector, from the PONI as pyFAI's Fit2D conversion computes it)
//     data[N,H,W] uint16|uint32 @units=counts @interpretation=image, chunk (1,H,W), bitshuffle+LZ4 or
//                 shuffle+deflate (only when frames are stored; viewers show one frame, not the stack;
//                 a missing frame is an unwritten row: reads as 0, takes no space, flags has the missing bit)
//     start_time[N] @units=s @start=<run start ISO>, stop_time[N], count_time[N] @units=s,
//     start_uncertainty[N], stop_uncertainty[N] @units=s, image_key[N] int32 (0 data, 2 dark),
//     flags[N] uint32 @description, file_name[N] (256 B UTF-8),
//     frame_temperature:NXcollection  T_start, T_end, T_mean, T_mean_uncertainty, T_min, T_max,
//       setpoint_mid [N] @units=K: the stage sensor's scale, as the T95 reads it;
//       with a sample calibration also T_sample_start, T_sample_end, T_sample_mean, T_sample_mean_uncertainty,
//       T_sample_min, T_sample_max [N] @units=K: the same statistics mapped to the sample's scale
//     pixel_mask[H,W] uint32 (NeXus bits, 0 = good), dark_median[H,W] float32: pre-created, written once known
//       (never subtracted from data)
//     sequence_number[N] uint64: appended and flushed LAST, the commit marker (readers trust rows < its length)
//     orphan_files[M] (1024 B UTF-8) @description: paths of the files in the frame folder that matched the frame
//       pattern but belong to no frame (kept where they are, never recorded as frames); empty when there were none
//     geometry:NXcollection  (when the layout has one) the pyFAI PONI geometry of the frames as stored, i.e. with
//       the binned pixel size: distance, poni1, poni2, pixel1, pixel2, wavelength @units=m, rot1..rot3 @units=rad,
//       binning, detector (the PONI's detector name); what `insitu reprocess` analyses with
//     calibration:NXnote  type=text/plain, file_name, data: the PONI file verbatim (unbinned), so pyFAI users can
//       rebuild the calibration exactly
//   entry/instrument/monochromator:NXmonochromator  wavelength @units=angstrom, energy @units=keV (with a geometry)
//   entry/sample/temperature -> detector/frame_temperature/T_mean (per-frame mean, K), or T_sample_mean with a
//     sample calibration: the NXsample temperature is the sample's
//   entry/sample/temperature_calibration:NXcollection  (with a sample calibration) sensor[M], sample[M] @units=K
//     (the points), source, description: how T_sample_* derive from T_*
//   entry/data:NXdata  @signal=data @axes=["frame",".","."] @frame_indices=0 @temperature_indices=0; links to data,
//     sequence_number (as frame) and the frame temperature (as entry/sample/temperature); only when frames are
//     stored
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>

#include "analysis/integration/geometry.hpp"
#include "daemon/storage/h5.hpp"
#include "drivers/detector/exposure.hpp"
#include "protocols/recipe/sample_calibration.hpp"

namespace insitu::storage {

// The stored pixel type: the detector's (u16, u32) or, for frames read elsewhere (--frames), i32 and f32 too.
enum class PixelType { u16, u32, i32, f32 };

struct DetectorLayout {
  std::size_t height = 2048, width = 2048;
  PixelType pixel_type = PixelType::u16;
  bool store_frames = true;  // false: exposure records only (the frames live elsewhere)
  // nullopt: bitshuffle+LZ4 when its plugin can encode here, else shuffle+deflate. An explicit filter that
  // cannot encode fails RunFile::create, before the run.
  std::optional<h5::Filter> filter;
  double x_pixel_size_m = 200e-6, y_pixel_size_m = 200e-6, distance_m = 0;
  std::string description = "Perkin Elmer XRD1621";
  std::string settings_key;  // names the detector settings (gain, binning, exposure mode) used for the run
  std::string gain_setting;  // NXdetector gain_setting, e.g. "0.5 pF"
  double readout_time_s = std::numeric_limits<double>::quiet_NaN();  // NXdetector detector_readout_time
  std::int64_t saturation_value = 65535;  // counts at which a pixel saturates (times the summed subframes)
  std::int64_t frame_start_number = 0;    // the detector's number of the first frame (its first file index)
  // The calibration the frames are analysed with: nullopt when the run has none (no geometry group is written).
  struct Calibration {
    analysis::Geometry geometry;  // as applied to the stored frames (pixel size x binning)
    int binning = 1;
    std::string poni_text, poni_file_name;  // the PONI file verbatim and where it was read
  };
  std::optional<Calibration> calibration = std::nullopt;
  // Stage sensor -> sample temperature: nullopt writes the sensor statistics only.
  std::optional<recipe::SampleCalibration> sample_calibration = std::nullopt;
};

// The filter the layout resolves to on this machine; throws std::runtime_error if an explicit one is unavailable.
h5::Filter resolve_frame_filter(const DetectorLayout&);
std::size_t bytes_per_frame(const DetectorLayout&);
// Throws std::invalid_argument unless `raw_pixels` is empty or exactly one frame of the layout.
void check_frame_bytes(const DetectorLayout&, std::span<const std::uint8_t> raw_pixels);

// The geometry collection and calibration note under the NXdetector `det`, and the NXmonochromator under
// `instrument`, as DetectorWriter writes them for a layout with a calibration; std::invalid_argument when the
// distance, wavelength or a pixel size is not positive.
void write_calibration(const h5::Handle& instrument, const h5::Handle& det, const DetectorLayout::Calibration& c);

// A frame's temperature statistics mapped to the sample's scale (setpoint_mid stays the program's, in sensor
// terms): the calibration is monotonic, so start, end, min and max map point by point; the mean maps as a point,
// its bound through SampleCalibration::mean_uncertainty_K.
detector::WindowTemperature sample_scale(const recipe::SampleCalibration&, const detector::WindowTemperature& sensor);

// Creates the layout above in `file` (regular or pre-SWMR mode) and appends to it. Not thread-safe: the run
// file's writer thread owns it.
class DetectorWriter {
 public:
  // Under `entry_path`, whose instrument and sample groups exist (run_entry.hpp).
  DetectorWriter(const h5::Handle& file, const std::string& entry_path, const DetectorLayout& layout,
                 const std::string& start_time_iso);
  // The detector group a killed writer left (regular mode, before SWMR starts again): every per-frame dataset is
  // cut back to the commit marker (sequence_number), so that a frame torn by the kill is dropped whole and appends
  // stay aligned. std::runtime_error when the file's frames are not the layout's shape.
  static DetectorWriter reopen(const h5::Handle& file, const std::string& entry_path, const DetectorLayout& layout);

  // One frame: pixels first, then the record columns, then sequence_number; every dataset flushed.
  // `raw_pixels` empty: the frame is missing or not stored (no pixels written).
  void append(const detector::ExposureRecord& record, std::span<const std::uint8_t> raw_pixels);
  void write_pixel_mask(std::span<const std::uint32_t> mask);  // H*W values, row-major
  void write_dark_median(std::span<const float> dark);         // H*W values, row-major
  void append_orphan_file(const std::string& path);
  h5::Filter filter() const { return filter_; }
  std::uint64_t frames() const { return frames_; }
  // Closes every dataset, throwing on failure (the destructor cannot report).
  void close();

 private:
  DetectorWriter(const DetectorLayout& layout, h5::Filter filter) : layout_(layout), filter_(filter) {}
  DetectorLayout layout_;
  h5::Filter filter_;
  std::uint64_t frames_ = 0;
  h5::Handle data_, start_time_, stop_time_, count_time_, start_uncertainty_, stop_uncertainty_, image_key_, flags_,
      file_name_, t_start_, t_end_, t_mean_, t_mean_uncertainty_, t_min_, t_max_, setpoint_mid_, pixel_mask_,
      dark_median_, sequence_number_, orphan_files_;
  // Only with a sample calibration.
  h5::Handle t_sample_start_, t_sample_end_, t_sample_mean_, t_sample_mean_uncertainty_, t_sample_min_,
      t_sample_max_;
};

}  // namespace insitu::storage
