#include "daemon/storage/dma_entry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "daemon/storage/small_datasets.hpp"

namespace insitu::storage {
namespace {

std::string modulus_kind(dhr3::ModulusKind kind) {
  switch (kind) {
    case dhr3::ModulusKind::shear_G: return "G";
    case dhr3::ModulusKind::young_E: return "E";
    case dhr3::ModulusKind::unknown: return "unknown";
  }
  return "unknown";
}

std::string encoding_name(dhr3::SourceEncoding e) {
  switch (e) {
    case dhr3::SourceEncoding::utf8: return "utf-8";
    case dhr3::SourceEncoding::utf8_bom: return "utf-8 with BOM";
    case dhr3::SourceEncoding::utf16le: return "utf-16le";
    case dhr3::SourceEncoding::utf16be: return "utf-16be";
    case dhr3::SourceEncoding::cp1252: return "cp1252";
  }
  return "?";
}

void write_metadata(const h5::Handle& parent, const dhr3::Export& data) {
  auto g = h5::create_group(parent, "metadata", "NXcollection");
  const auto& m = data.meta;
  h5::write_string(g, "instrument_name", m.instrument_name);
  h5::write_string(g, "instrument_type", m.instrument_type);
  h5::write_string(g, "serial_number", m.serial_number);
  h5::write_string(g, "geometry", m.geometry);
  h5::write_string(g, "modulus_kind", modulus_kind(m.modulus));
  h5::write_string(g, "sample", m.sample);
  h5::write_string(g, "run_date", m.run_date);
  h5::write_string(g, "procedure", m.procedure);
  h5::write_string(g, "trios_version", m.trios_version);
}

void write_curves(const h5::Handle& parent, const dma::Sweep& sweep) {
  for (std::size_t i = 0; i < sweep.series.size(); ++i) {
    const auto& s = sweep.series[i];
    auto g = h5::create_group(parent, numbered("curve", i), "NXdata");
    h5::set_attribute(g, "signal", "tan_delta");
    h5::set_attribute(g, "axes", "temperature");
    h5::write_string(g, "source", s.source);
    h5::write_scalar(g, "frequency", s.frequency_Hz, "Hz");
    write_column(g, "temperature", s.temperature_K, "K");
    write_column(g, "tan_delta", s.tan_delta, "1");
    write_column(g, "storage_modulus", s.storage_Pa, "Pa");
    write_column(g, "loss_modulus", s.loss_Pa, "Pa");
  }
}

void write_steps(const h5::Handle& parent, const std::vector<dhr3::StepReport>& steps) {
  auto g = h5::create_group(parent, "steps", "NXcollection");
  std::vector<std::string> names, notes;
  std::vector<std::int64_t> rows, curves;
  for (const auto& s : steps) {
    names.push_back(s.name);
    notes.push_back(s.note);
    rows.push_back(static_cast<std::int64_t>(s.rows));
    curves.push_back(static_cast<std::int64_t>(s.curves));
  }
  write_strings(g, "name", names);
  write_column(g, "rows", rows, nullptr);
  write_column(g, "curves", curves, nullptr);
  write_strings(g, "note", notes);
}

void write_fits(const h5::Handle& parent, const dma::DmaAnalysis& a) {
  auto fits = h5::create_group(parent, "fits", "NXcollection");
  for (const auto& t : a.transitions) {
    auto g = h5::create_group(fits, t.name, "NXcollection");
    std::vector<double> f, T, sT, amp, q, shape, lo, hi, rms;
    std::vector<std::int64_t> points;
    for (const auto& fit : t.fits) {
      f.push_back(fit.frequency_Hz);
      T.push_back(fit.peak_K);
      sT.push_back(fit.peak_sigma_K);
      amp.push_back(fit.amplitude);
      q.push_back(fit.width_q_K);
      shape.push_back(fit.shape_a);
      lo.push_back(fit.window_lo_K);
      hi.push_back(fit.window_hi_K);
      rms.push_back(fit.rms_residual);
      points.push_back(static_cast<std::int64_t>(fit.points));
    }
    write_column(g, "frequency", f, "Hz");
    write_column(g, "peak_temperature", T, "K");
    write_column(g, "peak_temperature_sigma", sT, "K");
    write_column(g, "amplitude", amp, "1");
    write_column(g, "width_q", q, "K");
    write_column(g, "shape_a", shape, "1");
    write_column(g, "window_lo", lo, "K");
    write_column(g, "window_hi", hi, "K");
    write_column(g, "rms_residual", rms, "1");
    write_column(g, "points", points, nullptr);
    h5::write_string(g, "note", t.note);
  }
}

void write_arrhenius(const h5::Handle& parent, const dma::DmaAnalysis& a) {
  auto g = h5::create_group(parent, "arrhenius", "NXcollection");
  std::vector<std::string> names;
  std::vector<double> E, sE, f0, log10_f0, ln_f0, s_ln_f0, r2;
  std::vector<std::int64_t> points;
  for (const auto& t : a.transitions) {
    if (!t.arrhenius) continue;
    const auto& r = *t.arrhenius;
    names.push_back(r.name);
    E.push_back(r.activation_energy_eV);
    sE.push_back(r.activation_energy_sigma_eV);
    // The α process's apparent f0 (≈1e52 Hz) fits a double, but a steeper one would not: keep ln f0 too.
    f0.push_back(r.ln_f0 < 709.0 ? std::exp(r.ln_f0) : std::numeric_limits<double>::infinity());
    log10_f0.push_back(r.ln_f0 / std::log(10.0));
    ln_f0.push_back(r.ln_f0);
    s_ln_f0.push_back(r.ln_f0_sigma);
    r2.push_back(r.r_squared);
    points.push_back(static_cast<std::int64_t>(r.points));
  }
  write_strings(g, "transition", names);
  write_column(g, "activation_energy", E, "eV");
  write_column(g, "activation_energy_sigma", sE, "eV");
  write_column(g, "f0", f0, "Hz");
  write_column(g, "log10_f0", log10_f0, "1");
  write_column(g, "ln_f0", ln_f0, "1");
  write_column(g, "ln_f0_sigma", s_ln_f0, "1");
  write_column(g, "r_squared", r2, "1");
  write_column(g, "points", points, nullptr);
}

void write_overlay(const h5::Handle& entry, const DmaResults& results, double tg_K) {
  auto g = h5::create_group(entry, "overlay", "NXcollection");
  h5::write_scalar(g, "glass_transition_temperature", tg_K, "K");
  std::vector<std::string> names, samples, sets;
  std::vector<double> lo, hi, rlo, rhi, flo, fhi;
  std::vector<std::int64_t> counts;
  for (std::size_t si = 0; si < results.samples.size(); ++si) {
    for (std::size_t k = 0; k < results.samples[si].sets.size(); ++k) {
      for (const auto& iv : dma::transition_intervals_on_reduced_axis(results.samples[si].sets[k].analysis, tg_K)) {
        names.push_back(iv.name);
        samples.push_back(numbered("sample", si));
        sets.push_back(numbered("set", k));
        lo.push_back(iv.lo_K);
        hi.push_back(iv.hi_K);
        rlo.push_back(iv.lo_reduced);
        rhi.push_back(iv.hi_reduced);
        flo.push_back(iv.lo_frequency_Hz);
        fhi.push_back(iv.hi_frequency_Hz);
        counts.push_back(static_cast<std::int64_t>(iv.frequencies));
      }
    }
  }
  write_strings(g, "transition", names);
  write_strings(g, "sample", samples);
  write_strings(g, "set", sets);
  write_column(g, "interval_lo", lo, "K");
  write_column(g, "interval_hi", hi, "K");
  write_column(g, "reduced_lo", rlo, "1");
  write_column(g, "reduced_hi", rhi, "1");
  write_column(g, "frequency_lo", flo, "Hz");
  write_column(g, "frequency_hi", fhi, "Hz");
  write_column(g, "frequencies", counts, nullptr);
}

void write_export(const h5::Handle& entry, std::size_t index, const dhr3::IngestedExport& e) {
  auto g = h5::create_group(entry, numbered("export", index), "NXcollection");
  h5::write_string(g, "file_name", e.path.string());
  h5::write_string(g, "sha256", e.sha256);
  h5::write_string(g, "text", e.text);
  h5::write_string(g, "layout", std::string(dhr3::to_string(e.data.layout)));
  h5::write_string(g, "encoding", encoding_name(e.data.encoding));
  h5::write_string(g, "sample", e.data.meta.sample);
  write_metadata(g, e.data);
  write_steps(g, e.steps);
}

void write_sample(const h5::Handle& entry, std::size_t index, const AnalysedSample& sample) {
  auto g = h5::create_group(entry, numbered("sample", index), "NXcollection");
  h5::write_string(g, "name", sample.name);
  std::vector<std::string> exports;
  for (auto i : sample.exports) exports.push_back(numbered("export", i));
  write_strings(g, "exports", exports);
  if (!sample.sets.empty()) h5::set_attribute(g, "default", numbered("set", 0));
  for (std::size_t k = 0; k < sample.sets.size(); ++k) {
    const auto& [sweep, analysis] = sample.sets[k];
    auto s = h5::create_group(g, numbered("set", k), "NXcollection");
    h5::set_attribute(s, "default", numbered("curve", 0));
    h5::write_string(s, "title", sweep.name);
    h5::write_string(s, "direction", std::string(dma::to_string(sweep.direction)));
    h5::write_scalar(s, "rate", sweep.rate_K_per_min, "K/min");
    h5::write_string(s, "windows", analysis.automatic_windows ? "automatic" : "settings");
    h5::write_string(s, "detection_note", analysis.note);
    h5::write_string(s, "table_I", analysis.table);
    write_curves(s, sweep);
    write_fits(s, analysis);
    write_arrhenius(s, analysis);
  }
}

}  // namespace

std::string sample_of(const dhr3::IngestedExport& e, const std::string& unnamed_as) {
  return e.data.meta.sample.empty() ? unnamed_as : e.data.meta.sample;
}

DmaResults analyse_exports(std::vector<dhr3::IngestedExport> exports, const dma::DmaSettings& settings,
                           const std::string& unnamed_as) {
  DmaResults out;
  out.exports = std::move(exports);
  std::vector<std::vector<dma::SegmentCurve>> curves;  // per sample
  for (std::size_t i = 0; i < out.exports.size(); ++i) {
    const auto& e = out.exports[i];
    if (e.curves.empty()) continue;
    const std::string name = sample_of(e, unnamed_as);
    auto it = std::find_if(out.samples.begin(), out.samples.end(), [&](const auto& s) { return s.name == name; });
    if (it == out.samples.end()) {
      out.samples.push_back({.name = name, .exports = {}, .sets = {}});
      curves.emplace_back();
      it = std::prev(out.samples.end());
    }
    it->exports.push_back(i);
    auto& pool = curves[static_cast<std::size_t>(it - out.samples.begin())];
    pool.insert(pool.end(), e.curves.begin(), e.curves.end());
  }
  for (std::size_t si = 0; si < out.samples.size(); ++si)
    for (auto& sweep : dma::pool_curves(curves[si])) {
      auto analysis = dma::analyse_sweep(sweep, settings);
      out.samples[si].sets.push_back({std::move(sweep), std::move(analysis)});
    }
  return out;
}

void write_dma_entry(const h5::Handle& file, const DmaResults& results, std::optional<double> glass_transition_K) {
  if (h5::exists(file, "entry_dma")) throw h5::Error("write_dma_entry: /entry_dma exists already");
  auto entry = h5::create_group(file, "entry_dma", "NXentry");
  h5::write_string(entry, "title", "DMA temperature sweeps (TA DHR-3 TRIOS exports)");
  h5::write_scalar(entry, "export_count", static_cast<std::int64_t>(results.exports.size()));
  h5::write_scalar(entry, "sample_count", static_cast<std::int64_t>(results.samples.size()));
  // The entry's @default names the NXdata itself (viewers open an NXentry's default only when it is an NXdata);
  // the sample and set collections keep their own @default along the same path.
  if (!results.samples.empty() && !results.samples.front().sets.empty())
    h5::set_attribute(entry, "default", numbered("sample", 0) + "/" + numbered("set", 0) + "/" + numbered("curve", 0));
  if (glass_transition_K) write_overlay(entry, results, *glass_transition_K);
  for (std::size_t i = 0; i < results.exports.size(); ++i) write_export(entry, i, results.exports[i]);
  for (std::size_t i = 0; i < results.samples.size(); ++i) write_sample(entry, i, results.samples[i]);
}

}  // namespace insitu::storage
