// A run report: the data `insitu report` inlined (<script type="application/json" id="insitu-report-data">) drawn
// with the live view's charts, then the summary, and the DMA and comparison plots when the file has them.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import uPlot from "uplot";
import { createCharts, element, panel, table } from "./charts.js";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

// {title, x_label, y_label, x_log, y_log, series: [{label, x, y, points}]}: series on their own x, joined.
function extraPlot(parent, plot, id) {
  const box = panel(parent, plot.title, id);
  const tables = plot.series.map((s) => {
    const order = s.x.map((_, i) => i).filter((i) => s.x[i] !== null).sort((a, b) => s.x[a] - s.x[b]);
    return [order.map((i) => s.x[i]), order.map((i) => s.y[i])];
  });
  const data = uPlot.join(tables);
  const series = plot.series.map((s, i) => ({
    label: s.label,
    stroke: PALETTE[i % PALETTE.length],
    width: 1.5,
    spanGaps: true,
    ...(s.points ? { paths: () => null, points: { show: true, size: 5 } } : {}),
  }));
  const chart = new uPlot({
    width: Math.max(320, (box.clientWidth || 480) - 16),
    height: 260,
    scales: { x: { time: false, distr: plot.x_log ? 3 : 1 }, y: { distr: plot.y_log ? 3 : 1 } },
    axes: [{ label: plot.x_label }, { label: plot.y_label, size: 60 }],
    series: [{ label: plot.x_label }, ...series],
  }, data, box);
  return chart.data[0].length;
}

const data = JSON.parse(document.getElementById("insitu-report-data").textContent);
const root = document.getElementById("app");
const header = element("header");
header.appendChild(element("h1", "", data.title));
header.appendChild(element("p", "state", `${data.file} — report written ${data.written}`));
root.appendChild(header);

const charts = createCharts(root);
charts.setStage(data.stage.time_s, data.stage.temperature_K, data.stage.setpoint_K);
for (const s of data.segments) charts.addSegment(s.time_s, s.label);
charts.redraw();
if (data.frame) charts.setFrame(data.frame);
for (const c of data.curves) charts.addCurves(c);
data.frame_entropy.temperature_K.forEach((t, i) => charts.addFrameEntropy(t, data.frame_entropy.s_eq_J_per_mol_K[i]));
if (data.run_analysis) charts.setRunAnalysis(data.run_analysis);

const more = element("div", "grid");
root.appendChild(more);
const extraPoints = {};
data.plots.forEach((plot, i) => {
  extraPoints[plot.title] = extraPlot(more, plot, `plot-${i}`);
});

const summary = panel(more, "Summary (insitu summary)", "summary");
summary.appendChild(element("pre", "summary", data.summary_text));
const events = panel(more, "Events", "events");
table(events, [["time / s", "kind", "message"], ...data.events.map((e) => [e.time_s.toFixed(1), e.kind, e.message])]);

window.insituView = { counts: () => ({ ...charts.counts(), plots: extraPoints }) };
