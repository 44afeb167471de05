// Accessibility audit: loads each URL in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core), injects axe-core and runs
// the WCAG 2.0/2.1 A and AA rules. Also checks each page at 200 % zoom
// (a 640 px wide viewport at device scale 2 — the same CSS width as
// 1280 px at 200 %) for horizontal scrolling, and that every interactive
// element can be reached with the Tab key.
//
// usage: node axe.mjs URL...     exit 0: no violations; 1: violations; 2: error
// Prints one JSON line per URL: {"url", "violations": [{id, impact, help, nodes}], "zoom_overflow", "tab_stops"}.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const urls = process.argv.slice(2);
if (urls.length === 0) {
  console.error("usage: node axe.mjs URL...");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
try {
  for (const url of urls) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const resp = await page.goto(url, { waitUntil: "load" });
    if (!resp || resp.status() !== 200) {
      console.log(JSON.stringify({ url, error: `HTTP ${resp ? resp.status() : "no response"}` }));
      failed = true;
      await page.close();
      continue;
    }
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(async () =>
      await window.axe.run(document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        resultTypes: ["violations"],
      }));
    const violations = result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
    // Keyboard: count the elements Tab reaches; every link and control must be one.
    // (A date input takes several Tab presses, one per field of the date.)
    const focusable = await page.evaluate(() =>
      [...document.querySelectorAll("a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])")]
        .filter((e) => !e.disabled && e.type !== "hidden").length);
    let tabStops = 0;
    const seen = new Set();
    for (let i = 0; i < 4 * focusable + 4 && tabStops < focusable; i++) {
      await page.keyboard.press("Tab");
      const id = await page.evaluate(() => {
        const e = document.activeElement;
        if (!e || e === document.body) return null;
        const r = e.getBoundingClientRect();
        return `${e.tagName}|${e.getAttribute("href") || ""}|${e.textContent.trim().slice(0, 40)}|${r.x},${r.y}`;
      });
      if (id && !seen.has(id)) { seen.add(id); tabStops++; }
    }
    // 200 % zoom: content must reflow, not scroll sideways.
    const zoomed = await browser.newPage({ viewport: { width: 640, height: 450 }, deviceScaleFactor: 2 });
    await zoomed.goto(url, { waitUntil: "load" });
    const overflow = await zoomed.evaluate(() =>
      document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
    await zoomed.close();
    const out = { url, violations, focusable, tab_stops: tabStops, zoom_overflow: overflow };
    console.log(JSON.stringify(out));
    if (violations.length > 0 || overflow || tabStops < focusable) failed = true;
    await page.close();
  }
} catch (e) {
  console.error(`axe.mjs: ${e.message}`);
  await browser.close();
  process.exit(2);
}
await browser.close();
process.exit(failed ? 1 : 0);
