#include "daemon/storage/analysis_layout.hpp"

#include <stdexcept>
#include <vector>

#include "daemon/storage/frame_analysis_writer.hpp"
#include "daemon/storage/run_analysis_writer.hpp"
#include "daemon/storage/schema.hpp"

namespace insitu::storage {
namespace {

namespace s = schema;

void check_size(const std::string& what, std::size_t got, std::size_t expected) {
  if (got != expected)
    throw std::invalid_argument("analysis: " + what + " has " + std::to_string(got) + " values, the axis has " +
                                std::to_string(expected));
}

void write_form_factors(const h5::Handle& proc, const AnalysisLayout& layout) {
  namespace ff = s::form_factors;
  const std::size_t n = layout.form_factors.size();
  const h5::Handle g = h5::create_group(proc, s::analysis::form_factors, s::nx::collection);
  h5::set_attribute(g, s::attr::source, layout.form_factor_source);
  h5::set_attribute(g, s::attr::description,
                    "Waasmaier-Kirfel (1995) f0 coefficients used for the composition: "
                    "f0(Q) = c + sum_i a_i exp(-b_i (Q / 4 pi)^2), Q in 1/angstrom");
  std::vector<std::string> element(n);
  std::vector<std::int64_t> z(n);
  std::vector<double> a(5 * n), c(n), b(5 * n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& [symbol, k] = layout.form_factors[i];
    element[i] = symbol;
    z[i] = k.atomic_number;
    c[i] = k.c;
    for (std::size_t j = 0; j < 5; ++j) a[5 * i + j] = k.a[j], b[5 * i + j] = k.b[j];
  }
  const h5::Handle e =
      h5::create_extendable(g, ff::element, {.type = h5::Dtype::fixed_string(8), .tail_shape = {}, .chunk_rows = 16});
  h5::append_strings(e, element);
  const auto fixed = [&]<class T>(const char* name, const std::vector<T>& values, std::vector<hsize_t> shape,
                                  const char* units) {
    const h5::Handle d = h5::create_fixed(g, name, {.type = h5::dtype_of<T>(), .shape = std::move(shape)});
    h5::write<T>(d, values, n);
    if (units) h5::set_attribute(d, s::attr::units, units);
  };
  fixed(ff::atomic_number, z, {n}, nullptr);
  fixed(ff::a, a, {n, 5}, s::unit::dimensionless);  // f0 in electrons
  fixed(ff::c, c, {n}, s::unit::dimensionless);
  fixed(ff::b, b, {n, 5}, "angstrom^2");
}

void write_background(const h5::Handle& proc, const AnalysisLayout& layout) {
  const h5::Handle note = h5::create_group(proc, s::analysis::background, s::nx::note);
  h5::write_string(note, s::note::type, "text/plain");
  h5::write_string(note, s::note::description, "background I(Q) (.xy/.chi), verbatim");
  h5::write_string(note, s::note::file_name, layout.background_file_name);
  h5::write_string(note, s::note::data, layout.background_text);
}

}  // namespace

void check_frame_analysis(const AnalysisLayout& layout, const analysis::FrameAnalysis& f) {
  const auto& a = layout.axes;
  const std::string at = " (frame " + std::to_string(f.sequence) + ")";
  check_size("I(Q)" + at, f.intensity.size(), a.q_inv_angstrom.size());
  check_size("sigma I(Q)" + at, f.intensity_sigma.size(), a.q_inv_angstrom.size());
  check_size("S(Q)" + at, f.structure_factor.size(), a.q_reduced_inv_angstrom.size());
  check_size("F(Q)" + at, f.reduced_structure_factor.size(), a.q_reduced_inv_angstrom.size());
  check_size("G(r)" + at, f.reduced_pdf.size(), a.r_angstrom.size());
  check_size("g(r)" + at, f.pair_distribution.size(), a.r_angstrom.size());
}

void write_analysis_inputs(const h5::Handle& proc, const AnalysisLayout& layout) {
  if (!layout.form_factors.empty()) write_form_factors(proc, layout);
  if (!layout.background_text.empty()) write_background(proc, layout);
}

AnalysisWriter::AnalysisWriter(const h5::Handle& file, const std::string& entry_path, const AnalysisLayout& layout,
                               const ProcessInfo& process)
    : frames_writer_(std::make_unique<FrameAnalysisWriter>(file, entry_path, layout, process)),
      run_writer_(std::make_unique<RunAnalysisWriter>(h5::open_group(file, entry_path), frames_writer_->process())) {}

AnalysisWriter AnalysisWriter::reopen(const h5::Handle& file, const std::string& entry_path,
                                      const AnalysisLayout& layout) {
  AnalysisWriter w;
  w.frames_writer_ = std::make_unique<FrameAnalysisWriter>(FrameAnalysisWriter::reopen(file, entry_path, layout));
  w.run_writer_ = std::make_unique<RunAnalysisWriter>(
      RunAnalysisWriter::reopen(h5::open_group(file, entry_path), w.frames_writer_->process()));
  w.frames_ = h5::rows(h5::open_dataset(w.frames_writer_->process(), schema::analysis::sequence_number));
  return w;
}

AnalysisWriter::AnalysisWriter(AnalysisWriter&&) noexcept = default;
AnalysisWriter::~AnalysisWriter() = default;

void AnalysisWriter::append(const analysis::FrameAnalysis& frame) {
  frames_writer_->append(frame);
  ++frames_;
}

void AnalysisWriter::update(const analysis::RunAnalysis& run) { run_writer_->update(run); }

void AnalysisWriter::write_mask(std::span<const std::uint8_t> mask) { frames_writer_->write_mask(mask); }

void AnalysisWriter::close() {
  run_writer_->close();
  frames_writer_->close();
}

void write_analysis(const h5::Handle& file, const std::string& entry_path, const AnalysisLayout& layout,
                    const ProcessInfo& process, const std::vector<analysis::FrameAnalysis>& frames,
                    const analysis::RunAnalysis& run) {
  FrameAnalysisWriter frames_writer(file, entry_path, layout, process);
  RunAnalysisWriter run_writer(h5::open_group(file, entry_path), frames_writer.process());
  for (const auto& f : frames) frames_writer.append(f);
  run_writer.update(run);
  write_parameters(frames_writer.process(), s::run::parameters, run.parameters);
  run_writer.close();
  frames_writer.close();
}

}  // namespace insitu::storage
