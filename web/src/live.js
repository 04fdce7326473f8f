// The live view: insitud's WebSocket (/api/v1/ws) into the charts, the queue, the run's events; pause, resume
// and abort with the token (kept in sessionStorage: gone when the tab closes).
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { createCharts, element, table } from "./charts.js";

const root = document.getElementById("app");
const header = element("header");
header.appendChild(element("h1", "", "insitu live"));
const state = element("p", "state", "connecting…");
state.id = "state";
header.appendChild(state);
root.appendChild(header);

const controls = element("div", "controls");
const token = element("input");
token.type = "password";
token.id = "token";
token.placeholder = "token (for pause, resume, abort)";
token.value = sessionStorage.getItem("insitu-token") || "";
token.addEventListener("change", () => sessionStorage.setItem("insitu-token", token.value.trim()));
controls.appendChild(token);
const answer = element("span", "answer");
answer.id = "answer";
for (const action of ["pause", "resume", "abort"]) {
  const button = element("button", "", action);
  button.id = action;
  button.addEventListener("click", () => act(action));
  controls.appendChild(button);
}
controls.appendChild(answer);
root.appendChild(controls);

const chartsHost = element("div");
root.appendChild(chartsHost);
let charts = createCharts(chartsHost);
const lists = element("div", "grid");
root.appendChild(lists);
const queueBox = element("section", "panel");
queueBox.id = "queue";
queueBox.appendChild(element("h2", "", "Queue"));
const eventsBox = element("section", "panel");
eventsBox.id = "events";
eventsBox.appendChild(element("h2", "", "Events, suspensions and notifications"));
const eventList = element("ol", "events");
eventsBox.appendChild(eventList);
lists.append(queueBox, eventsBox);
let currentRun = null;

async function act(action) {
  sessionStorage.setItem("insitu-token", token.value.trim());
  const reply = await fetch(`/api/v1/run/${action}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token.value.trim()}`, "Content-Type": "application/json" },
    body: JSON.stringify(action === "abort" ? { reason: "aborted from the live view" } : {}),
  });
  const body = await reply.json().catch(() => ({}));
  answer.textContent = reply.ok ? `${action}: done` : `${action}: ${reply.status} ${body.error || ""}`;
}

function showQueue(runs) {
  queueBox.querySelector("table")?.remove();
  const rows = [["id", "sample", "recipe", "state", "run file"]];
  for (const r of runs) rows.push([r.id, r.sample, r.recipe, r.held ? `${r.state} (held)` : r.state, r.run_file]);
  table(queueBox, rows, "queue");
}

function addEvent(time, kind, message) {
  const item = element("li", `event ${kind}`, `${time} ${kind}: ${message}`);
  eventList.prepend(item);
  while (eventList.children.length > 200) eventList.lastChild.remove();
}

function showStatus(status) {
  const run = status.run;
  const service = `insitud ${status.service.version}, ${status.service.state}`;
  if (!run) {
    const t = status.stage.temperature_K;
    state.textContent = `${service}; stage ${status.stage.state}${t ? ` at ${t.toFixed(1)} K` : ""}`;
    return;
  }
  const t = run.temperature_K;
  state.textContent = `${service}; run ${run.id} (${run.sample}) ${run.state}` +
    (run.segment ? `: ${run.segment}${t ? ` at ${t.toFixed(1)} K` : ""}, ${run.frames} frames` : "");
  state.dataset.runState = run.state;
}

let stageDirty = false;
function redrawSoon() {
  if (stageDirty) return;
  stageDirty = true;
  requestAnimationFrame(() => {
    stageDirty = false;
    charts.redraw();
  });
}

function onDocument(m) {
  const doc = m.doc;
  if (m.run !== currentRun) {
    // A new run: fresh charts under the same controls.
    if (currentRun !== null) {
      chartsHost.replaceChildren();
      charts = createCharts(chartsHost);
    }
    currentRun = m.run;
  }
  if (m.name === "event" && m.stream === "stage") {
    charts.addStage(doc.time_s, doc.temperature_K, doc.setpoint_K);
    redrawSoon();
  } else if (m.name === "event" && m.stream === "events") {
    addEvent(`${doc.time_s.toFixed(1)} s`, doc.kind, doc.message);
    if (doc.kind === "segment") charts.addSegment(doc.time_s, doc.message);
  } else if (m.name === "event" && m.stream === "frame_analysis") {
    charts.addFrameEntropy(doc.temperature_K, doc.s_eq_J_per_mol_K);
  } else if (m.name === "event" && m.stream === "run_analysis") {
    charts.setRunAnalysis(doc);
  } else if (m.name === "stop") {
    addEvent(`${doc.time_s.toFixed(1)} s`, "stop", `${doc.exit_status}${doc.reason ? ": " + doc.reason : ""}`);
    // The header says so at once, not at the next once-a-second status.
    state.textContent = `run ${m.run} ${doc.exit_status}`;
    state.dataset.runState = doc.exit_status;
  } else if (m.name === "start") {
    addEvent("0 s", "start", `run ${m.run}: ${doc.sample} (${doc.recipe})`);
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
  socket.onmessage = (event) => {
    const m = JSON.parse(event.data);
    if (m.type === "hello") {
      showStatus(m.status);
      showQueue(m.queue.runs);
    } else if (m.type === "status") showStatus(m.status);
    else if (m.type === "queue") showQueue(m.runs);
    else if (m.type === "document") onDocument(m);
    else if (m.type === "frame_preview") charts.setFrame(m);
    else if (m.type === "frame_curves") charts.addCurves(m);
    else if (m.type === "notification") addEvent("", "notification", `${m.title} (${m.outcome} to ${m.target})`);
  };
  socket.onclose = () => {
    state.textContent = "disconnected from insitud; reconnecting…";
    setTimeout(connect, 2000);
  };
}

window.insituView = { counts: () => charts.counts() };
connect();
