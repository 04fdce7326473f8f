// The live view in a real browser (Debian's chromium, headless, driven by playwright-core): insitud with a simulated
// stage and detector runs a short ramp with analysis through the simulated glass's T_g (709 K) into
// crystallisation; the page's charts fill from the WebSocket (stage temperature, frame image, I(Q)/S(Q)/G(r), S_eq
// points, then the smoothed S_eq, Δφ_eq and T_g); pause from the page with the token pauses the run (the API says
// so), resume resumes it; at the end the run's report.html (written by insitud) opens offline with every chart
// filled.
// Screenshots go to $ARTIFACTS. Exit code 0 when every check holds.
//   node live_view_test.mjs   with INSITUD, SOURCE_DIR, ARTIFACTS (and CHROMIUM, default /usr/bin/chromium)
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { checkReport } from "./report_check.mjs";

const insitud = process.env.INSITUD;
const sourceDir = process.env.SOURCE_DIR;
const artifacts = process.env.ARTIFACTS;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const speed = 30; // a 13-minute programme in ~27 s of wall time, frames 0.4 s apart

const failures = [];
function check(condition, what) {
  console.log(`${condition ? "ok  " : "FAIL"} ${what}`);
  if (!condition) failures.push(what);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function until(what, probe, timeoutMs) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

function recipe() {
  return `insitu_recipe: 1
name: browser-test
sample: {name: browser-glass, composition: Cu44Zr44Al8Hf2Co2, treatment: as cast}
stage: {model: THMS600, poll_interval_s: 1.0}
program:
  - ramp: {to_K: 640, rate_K_per_min: 100}
  - ramp: {to_K: 800, rate_K_per_min: 20}
  - ramp: {to_K: 700, rate_K_per_min: 50}
safe_state: stop
output: {directory: ignored-by-the-service}
detector:
  trigger: {connection: "serial:///dev/ttyUSB1", channel: A, pulse_width_s: 1.0e-4, polarity: normal,
            latency_s: 0.0, shutter_channel: B}
  frames: {folder: /data/xrd1621/incoming, pattern: frame, first_index: 1, format: tiff, sidecar: true,
           deadline_margin_s: 10, readout_s: 0.1332}
  geometry: instruments/xrd1621-60keV.poni
  settings: {subframes: 1, gain_pF: 0.5, timing_mode: 0, binning: 4}
  store_frames: true
exposures:
  period_s: 12
  during: [2]
  darks: {before: 1, after: 0}
analysis:
  enabled: true
  integration: {npt: 1000, split: bbox, polarization: 0.99, q_range_inv_angstrom: [0.5, 25.0]}
  reduction: {qmin: 0.8, qmax: 24.0, qmaxinst: 25.0, rpoly: 0.9, r_min: 0.0, r_step: 0.02, r_max: 20.0,
              background: null, bgscale: 1.0}
  density: {fit_range_angstrom: [0.0, 2.0], nominal_per_cubic_m: 5.38345e28, use: nominal}
  entropy: {r_max_angstrom: 10.0}
  run: {smoothing_window_K: 40, expected_tg_K: null}  # 10 frames a window at 4 K a frame, as the demo has
`;
}

async function main() {
  mkdirSync(artifacts, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "insitu-web-"));
  const state = join(dir, "state");
  const data = join(dir, "data");
  mkdirSync(join(state, "recipes", "instruments"), { recursive: true });
  copyFileSync(join(sourceDir, "config/instruments/xrd1621-60keV.poni"),
    join(state, "recipes", "instruments", "xrd1621-60keV.poni"));
  const port = await freePort();
  writeFileSync(join(dir, "insitud.yaml"), `listen: 127.0.0.1:${port}\ndata_root: ${data}\n`);
  const daemon = spawn(insitud, ["--config", join(dir, "insitud.yaml"), "--state-dir", state, "--simulate",
    "--speed", String(speed)], { stdio: ["ignore", "ignore", "pipe"] });
  let daemonLog = "";
  daemon.stderr.on("data", (chunk) => { daemonLog += chunk; });
  const base = `http://127.0.0.1:${port}`;
  let browser;
  try {
    const token = await until("insitud's token", () => {
      const path = join(state, "token");
      return existsSync(path) && readFileSync(path, "utf8").trim().length === 64 && readFileSync(path, "utf8").trim();
    }, 20000);
    const api = async (method, path, body) => {
      const reply = await fetch(base + path, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: reply.status, body: await reply.json() };
    };
    await until("the API", async () => (await api("GET", "/api/v1/status")).status === 200, 20000);

    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu"] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(base + "/");
    await page.waitForFunction(() => document.getElementById("state").textContent.startsWith("insitud"), null,
      { timeout: 10000 });
    check(true, "the live view loads and hears the WebSocket's hello");

    const submitted = await api("POST", "/api/v1/queue", { recipe_text: recipe(), source: "browser-test.yaml" });
    check(submitted.status === 201, `the run is queued (${submitted.status} ${JSON.stringify(submitted.body)})`);
    if (submitted.status !== 201) throw new Error("no run to watch");
    const id = submitted.body.id;

    const counts = () => page.evaluate(() => window.insituView.counts());
    await page.waitForFunction(() => {
      const c = window.insituView.counts();
      return c.stage_points > 20 && c.frames_drawn > 0 && c.curves > 2 && c.s_eq_points > 2;
    }, null, { timeout: 45000 }).catch(() => {});
    const live = await counts();
    console.log("live view counts:", JSON.stringify(live));
    check(live.stage_points > 20, `the temperature series grows (${live.stage_points} points)`);
    check(live.segments > 0, `segment boundaries are marked (${live.segments})`);
    check(live.frames_drawn > 0, `the frame image is drawn (${live.frames_drawn} frames)`);
    check(live.curves > 2 && live.intensity_points > 100 && live.g_of_r_points > 100,
      `I(Q), S(Q), G(r) are drawn (${live.curves} frames, ${live.intensity_points} Q, ${live.g_of_r_points} r points)`);
    check(live.s_eq_points > 2, `S_eq(T) grows point by point (${live.s_eq_points})`);

    await page.fill("#token", token);
    await page.click("#pause");
    const paused = await until("the run paused", async () => {
      const run = (await api("GET", `/api/v1/history/${id}`)).body;
      return run.state === "paused" && run;
    }, 15000).catch((e) => ({ error: e.message }));
    check(paused.state === "paused", `pause from the page pauses the run (${paused.state || paused.error})`);
    await page.waitForFunction(() => document.getElementById("state").dataset.runState === "paused", null,
      { timeout: 5000 }).catch(() => {});
    const livePng = join(artifacts, "live-paused.png");
    await page.screenshot({ path: livePng, fullPage: true });
    await page.click("#resume");
    const resumed = await until("the run resumed", async () => {
      const run = (await api("GET", `/api/v1/history/${id}`)).body;
      return run.state !== "paused" && run;
    }, 15000).catch((e) => ({ error: e.message }));
    check(resumed.state === "running" || resumed.state?.startsWith("completed"),
      `resume from the page resumes it (${resumed.state || resumed.error})`);

    const ended = await until("the run's end", async () => {
      const run = (await api("GET", `/api/v1/history/${id}`)).body;
      return run.ended && run;
    }, 60000);
    check(ended.state.startsWith("completed"), `the run completes (${ended.state}: ${ended.reason})`);
    const header = await page.waitForFunction(() => {
      const s = document.getElementById("state");
      return s.dataset.runState?.startsWith("completed") && s.textContent;
    }, null, { timeout: 5000 }).then((h) => h.jsonValue()).catch(() => null);
    check(header !== null, `the live view's header says the run ended (${header})`);
    await sleep(500);
    const finalPng = join(artifacts, "live-completed.png");
    await page.screenshot({ path: finalPng, fullPage: true });
    const atEnd = await counts();
    console.log("live view counts at the end:", JSON.stringify(atEnd));
    check(atEnd.s_eq_smoothed_points > 10, `the smoothed S_eq(T) is drawn (${atEnd.s_eq_smoothed_points} points)`);
    check(atEnd.delta_phi_points > 10, `Δφ_eq(T) is drawn (${atEnd.delta_phi_points} points)`);
    check(Math.abs(atEnd.glass_transition_K - 709) < 15, `T_g is marked (${atEnd.glass_transition_K} K)`);
    check(pageErrors.length === 0, `no script errors in the live view (${pageErrors.join("; ")})`);

    const report = join(data, ended.run_file.replace(/run\.h5$/, "report.html"));
    check(existsSync(report), `insitud wrote the report beside the run file (${report})`);
    const reportPng = join(artifacts, "report.png");
    const { problems, counts: reported } = await checkReport(browser, report, reportPng);
    console.log("report counts:", JSON.stringify(reported));
    check(problems.length === 0, `the report opens offline with every chart filled (${problems.join("; ")})`);
    for (const png of [livePng, finalPng, reportPng]) console.log(`screenshot: ${png}`);
  } finally {
    if (browser) await browser.close();
    daemon.kill("SIGTERM");
    if (daemon.exitCode === null && daemon.signalCode === null) await new Promise((r) => daemon.once("exit", r));
    if (failures.length) console.log("insitud's log:\n" + daemonLog.split("\n").slice(-40).join("\n"));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => {
  if (failures.length) {
    console.log(`${failures.length} check(s) failed`);
    process.exit(1);
  }
}, (e) => {
  console.log(`FAIL ${e.message}`);
  process.exit(1);
});
