// The charts of a run, shared by the live view (fed point by point over the WebSocket) and the report (fed the
// whole run at once): stage temperature and programme against time with segment boundaries, the latest frame,
// the latest I(Q), S(Q), G(r) with the previous ones fading, S_eq(T) and delta phi_eq(T) with T_g.
import uPlot from "uplot";

const WATERFALL_CURVES = 8; // the latest curve and the seven before it, fading
const CHART_HEIGHT = 240;

function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function panel(parent, title, id) {
  const box = element("section", "panel");
  box.id = id;
  box.appendChild(element("h2", "", title));
  parent.appendChild(box);
  return box;
}

function chartWidth(box) {
  return Math.max(320, Math.floor(box.clientWidth || 480) - 16);
}

// `text` shortened with an ellipsis to fit `width` canvas pixels.
function fitText(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let end = text.length;
  while (end > 0 && ctx.measureText(text.slice(0, end) + "…").width > width) end--;
  return end > 0 ? text.slice(0, end) + "…" : "";
}

// Vertical lines at x values, labelled: segment boundaries against time, T_g against temperature.
function markersPlugin(getMarkers, colour) {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = colour;
        ctx.fillStyle = colour;
        ctx.setLineDash([4, 4]);
        ctx.font = `${Math.round(10 * devicePixelRatio)}px sans-serif`;
        ctx.textAlign = "left";  // uPlot leaves the canvas as its last axis label set it (right-aligned)
        ctx.textBaseline = "alphabetic";
        const right = u.bbox.left + u.bbox.width;
        const visible = getMarkers()
          .map(({ x, label }) => ({ px: Math.round(u.valToPos(x, "x", true)), label }))
          .filter(({ px }) => px >= u.bbox.left && px <= right);
        visible.forEach(({ px, label }, i) => {
          ctx.beginPath();
          ctx.moveTo(px, u.bbox.top);
          ctx.lineTo(px, u.bbox.top + u.bbox.height);
          ctx.stroke();
          // A label ends before the next marker's line, so neighbouring boundaries stay readable.
          const room = (i + 1 < visible.length ? visible[i + 1].px : right) - px - 6;
          if (label) ctx.fillText(fitText(ctx, label, room), px + 3, u.bbox.top + 12 * devicePixelRatio);
        });
        ctx.restore();
      },
    },
  };
}

function lineChart(box, { xLabel, yLabel, series, markers, points, legend = true }) {
  const options = {
    width: chartWidth(box),
    height: CHART_HEIGHT,
    scales: { x: { time: false } },
    axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
    series: [{ label: xLabel }, ...series],
    legend: { show: legend, live: false },
    plugins: markers ? [markersPlugin(markers.get, markers.colour)] : [],
  };
  if (points) options.cursor = { drag: { x: true, y: false } };
  const data = [[], ...series.map(() => [])];
  return new uPlot(options, data, box);
}

// The frame preview: 8-bit log-scaled intensities, 0 = masked (drawn grey).
function viridisish(v) {
  const t = v / 255;
  const r = Math.round(255 * Math.min(1, Math.max(0, 1.6 * t - 0.45)));
  const g = Math.round(255 * Math.min(1, Math.max(0, 1.1 * t)));
  const b = Math.round(255 * Math.min(1, Math.max(0, 0.55 + 0.9 * t - 1.3 * t * t)));
  return [r, g, b];
}

function decodeBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; ++i) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

export function createCharts(root) {
  const grid = element("div", "grid");
  root.appendChild(grid);
  const segments = [];
  let glassTransition = null;
  const stageBox = panel(grid, "Stage temperature and programme", "stage");
  const stage = lineChart(stageBox, {
    xLabel: "run time / s",
    yLabel: "T / K",
    series: [
      { label: "stage T / K", stroke: "#d62728", width: 1.5 },
      { label: "setpoint / K", stroke: "#1f77b4", width: 1, dash: [6, 3] },
    ],
    markers: { get: () => segments, colour: "#888" },
  });
  const stageData = [[], [], []];

  const frameBox = panel(grid, "Latest frame (log scale, mask grey)", "frame");
  const canvas = element("canvas", "frame");
  canvas.width = canvas.height = 256;
  frameBox.appendChild(canvas);
  const frameCaption = element("p", "caption", "no frame yet");
  frameBox.appendChild(frameCaption);
  let framesDrawn = 0;

  const waterfallColour = (i, n) => `rgba(31, 119, 180, ${((i + 1) / n).toFixed(2)})`;
  const curveSeries = (name) =>
    Array.from({ length: WATERFALL_CURVES }, (_, i) => ({
      label: `${name} ${i}`,
      stroke: waterfallColour(i, WATERFALL_CURVES),
      width: i === WATERFALL_CURVES - 1 ? 2 : 1,
    }));
  const curveCharts = {};
  for (const [key, title, xLabel, yLabel] of [
    ["intensity", "I(Q), latest and fading", "Q / Å⁻¹", "I / counts"],
    ["s_of_q", "S(Q), latest and fading", "Q / Å⁻¹", "S(Q)"],
    ["g_of_r", "G(r), latest and fading", "r / Å", "G(r) / Å⁻²"],
  ]) {
    const box = panel(grid, title, key);
    curveCharts[key] = {
      chart: lineChart(box, { xLabel, yLabel, series: curveSeries(key), legend: false }),
      history: [],
      axis: [],
    };
    box.appendChild(element("p", "caption", "darkest: the latest frame; paler: the seven before it"));
  }
  let curvesShown = 0;

  const seqBox = panel(grid, "S_eq(T) per frame and smoothed, T_g", "s_eq");
  const pointsOnly = { paths: () => null, points: { show: true, size: 7 } };
  const seq = lineChart(seqBox, {
    xLabel: "T / K",
    yLabel: "S_eq / J mol⁻¹ K⁻¹",
    series: [
      { label: "S_eq per frame", stroke: "#2ca02c", fill: "#2ca02c", ...pointsOnly },
      { label: "S_eq smoothed", stroke: "#111", width: 1.5, spanGaps: true },
    ],
    markers: { get: () => (glassTransition ? [glassTransition] : []), colour: "#9467bd" },
    points: true,
  });
  const seqPoints = [];
  let smoothed = { temperature_K: [], s_eq: [] };

  const phiBox = panel(grid, "Δφ_eq(T), T_g", "delta_phi");
  const phi = lineChart(phiBox, {
    xLabel: "T / K",
    yLabel: "Δφ_eq / W mol⁻¹",
    series: [{ label: "Δφ_eq", stroke: "#ff7f0e", width: 1.5, points: { show: true, size: 4 } }],
    markers: { get: () => (glassTransition ? [glassTransition] : []), colour: "#9467bd" },
  });

  function redrawSeq() {
    // Per-frame points and the smoothed curve on one temperature axis (uPlot wants x ascending).
    const rows = new Map();
    for (const [t, s] of seqPoints) rows.set(t, [s, null]);
    smoothed.temperature_K.forEach((t, i) => {
      const row = rows.get(t) || [null, null];
      row[1] = smoothed.s_eq[i];
      rows.set(t, row);
    });
    const xs = [...rows.keys()].sort((a, b) => a - b);
    seq.setData([xs, xs.map((t) => rows.get(t)[0]), xs.map((t) => rows.get(t)[1])]);
  }

  const view = {
    addStage(timeS, temperatureK, setpointK) {
      stageData[0].push(timeS);
      stageData[1].push(temperatureK);
      stageData[2].push(setpointK);
    },
    addSegment(timeS, label) {
      segments.push({ x: timeS, label });
    },
    setStage(timeS, temperatureK, setpointK) {
      stageData[0] = timeS.slice();
      stageData[1] = temperatureK.slice();
      stageData[2] = setpointK.slice();
      view.redraw();
    },
    // {width, height, pixels (base64, 0 = masked), source_height, source_width, sequence, log10_min, log10_max}
    setFrame(preview) {
      const pixels = decodeBase64(preview.pixels);
      canvas.width = preview.width;
      canvas.height = preview.height;
      const ctx = canvas.getContext("2d");
      const image = ctx.createImageData(preview.width, preview.height);
      for (let i = 0; i < pixels.length; ++i) {
        const [r, g, b] = pixels[i] === 0 ? [150, 150, 150] : viridisish(pixels[i]);
        image.data.set([r, g, b, 255], 4 * i);
      }
      ctx.putImageData(image, 0, 0);
      ++framesDrawn;
      frameCaption.textContent =
        `frame ${preview.sequence}: ${preview.source_width}×${preview.source_height} px shown ` +
        `${preview.width}×${preview.height}; log10 counts ${preview.log10_min.toFixed(2)}–${preview.log10_max.toFixed(2)}`;
    },
    // {q, intensity, q_reduced, s_of_q, r, g_of_r}: one frame's curves; the waterfall keeps the latest few.
    addCurves(curves) {
      for (const [key, axis] of [["intensity", "q"], ["s_of_q", "q_reduced"], ["g_of_r", "r"]]) {
        const c = curveCharts[key];
        c.axis = curves[axis];
        c.history.push(curves[key]);
        if (c.history.length > WATERFALL_CURVES) c.history.shift();
        const padding = Array.from({ length: WATERFALL_CURVES - c.history.length }, () => c.axis.map(() => null));
        c.chart.setData([c.axis, ...padding, ...c.history]);
      }
      ++curvesShown;
    },
    addFrameEntropy(temperatureK, sEq) {
      if (sEq === null || sEq === undefined) return;
      seqPoints.push([temperatureK, sEq]);
      redrawSeq();
    },
    // {temperature_K, s_eq_smoothed_J_per_mol_K, delta_phi_W_per_mol, glass_transition_K}
    setRunAnalysis(run) {
      smoothed = { temperature_K: run.temperature_K || [], s_eq: run.s_eq_smoothed_J_per_mol_K || [] };
      const tg = run.glass_transition_K;
      glassTransition = tg ? { x: tg, label: `T_g = ${tg.toFixed(1)} K` } : null;
      redrawSeq();
      const order = smoothed.temperature_K.map((_, i) => i).sort(
        (a, b) => smoothed.temperature_K[a] - smoothed.temperature_K[b]);
      phi.setData([order.map((i) => run.temperature_K[i]), order.map((i) => (run.delta_phi_W_per_mol || [])[i])]);
    },
    redraw() {
      stage.setData(stageData);
    },
    // What the charts hold, for the browser test and the page's own status line.
    counts() {
      return {
        stage_points: stage.data[0].length,
        segments: segments.length,
        frames_drawn: framesDrawn,
        curves: curvesShown,
        intensity_points: curveCharts.intensity.axis.length,
        g_of_r_points: curveCharts.g_of_r.axis.length,
        s_eq_points: seqPoints.length,
        // Points a reader can see: NaN and null (a run level not yet computed) draw nothing.
        s_eq_smoothed_points: smoothed.s_eq.filter(Number.isFinite).length,
        delta_phi_points: (phi.data[1] || []).filter(Number.isFinite).length,
        glass_transition_K: glassTransition ? glassTransition.x : null,
      };
    },
  };
  return view;
}

// A table from rows of cells; the first row is the header.
export function table(parent, rows, className) {
  const t = element("table", className);
  rows.forEach((cells, i) => {
    const tr = element("tr");
    for (const cell of cells) tr.appendChild(element(i === 0 ? "th" : "td", "", String(cell ?? "")));
    t.appendChild(tr);
  });
  parent.appendChild(t);
  return t;
}

export { element, panel, lineChart };
