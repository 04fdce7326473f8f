// Opens an `insitu report` HTML file in headless chromium with the network off and says whether every chart is
// filled: the live view's charts (stage, frame, curves, S_eq per frame and smoothed, Δφ_eq, T_g) and each extra
// plot of the report (DMA, Fig. 3 overlay, comparisons) with points. Used by live_view_test.mjs and alone:
//   node report_check.mjs REPORT.html SCREENSHOT.png     (CHROMIUM, default /usr/bin/chromium); exit 1 on a failure
import { chromium } from "playwright-core";

// The problems of the report at `path` ([] when every chart is filled), its counts, and a full-page screenshot.
export async function checkReport(browser, path, png) {
  const context = await browser.newContext({ offline: true, viewport: { width: 1400, height: 1500 } });
  const page = await context.newPage();
  const requests = [];
  const pageErrors = [];
  page.on("request", (r) => { if (!r.url().startsWith("file:")) requests.push(r.url()); });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto("file://" + path);
  const counts = await page.evaluate(() => window.insituView.counts());
  await page.screenshot({ path: png, fullPage: true });
  await context.close();
  const problems = [];
  const need = (ok, what) => { if (!ok) problems.push(what); };
  need(counts.stage_points > 20, `stage chart has ${counts.stage_points} points`);
  need(counts.frames_drawn === 1, "no frame drawn");
  need(counts.curves > 0 && counts.intensity_points > 0 && counts.g_of_r_points > 0, "no I(Q)/S(Q)/G(r) curves");
  need(counts.s_eq_points > 2, `S_eq per frame has ${counts.s_eq_points} points`);
  need(counts.s_eq_smoothed_points > 10, `smoothed S_eq has ${counts.s_eq_smoothed_points} points`);
  need(counts.delta_phi_points > 10, `Δφ_eq has ${counts.delta_phi_points} points`);
  need(counts.glass_transition_K > 0, "no T_g marked");
  for (const [title, points] of Object.entries(counts.plots || {})) need(points > 0, `"${title}" is empty`);
  need(requests.length === 0, `the report fetches ${requests.join(", ")}`);
  need(pageErrors.length === 0, `script errors: ${pageErrors.join("; ")}`);
  return { problems, counts };
}

async function main([path, png]) {
  if (!path || !png) throw new Error("usage: node report_check.mjs REPORT.html SCREENSHOT.png");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const { problems, counts } = await checkReport(browser, path, png);
    console.log(`${path}: ${JSON.stringify(counts)}`);
    console.log(`screenshot: ${png}`);
    for (const p of problems) console.log(`FAIL ${p}`);
    return problems.length ? 1 : 0;
  } finally {
    await browser.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    console.log(`FAIL ${e.message}`);
    process.exit(1);
  });
}
