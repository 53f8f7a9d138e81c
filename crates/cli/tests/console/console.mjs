// The web console in a real Chromium (playwright-core driving Debian's /usr/bin/chromium)
// against a real daemon monitoring a real anvil. Started by crates/cli/tests/it/console.rs,
// which passes everything through the environment. Exits non-zero naming the failed step.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const TOOLS = env("CONSOLE_TOOLS");
const require = createRequire(path.join(TOOLS, "node_modules", "x.js"));
const { chromium } = require("playwright-core");
const AXE = path.join(TOOLS, "node_modules", "axe-core", "axe.min.js");
const BASE = env("CONSOLE_BASE");
const ANVIL = env("CONSOLE_ANVIL");
const SHOTS = env("CONSOLE_SHOTS");
const [ADMIN, ADMIN_PW] = [env("CONSOLE_ADMIN"), env("CONSOLE_ADMIN_PASSWORD")];
const [VIEWER, VIEWER_PW] = [env("CONSOLE_VIEWER"), env("CONSOLE_VIEWER_PASSWORD")];
const CATALOG = env("CONSOLE_CATALOG");
const NODE = "anvil-1";
const LOG_LINE = env("CONSOLE_LOG_LINE");

fs.mkdirSync(SHOTS, { recursive: true });
const T = 45_000;
let step = "start";
const say = (s) => { step = s; console.log(`console test: ${s}`); };

async function rpc(method, params) {
  const r = await fetch(ANVIL, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  if (!r.ok) throw new Error(`anvil ${method}: ${r.status}`);
  return r.json();
}

// Catalog keys (`section.key`) from en.toml: none may show on a rendered page.
function catalogKeys(file) {
  const keys = [];
  let section = "";
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const s = line.match(/^\[([^\]]+)\]/);
    if (s) { section = s[1]; continue; }
    const k = line.match(/^([A-Za-z0-9_]+)\s*=/);
    if (k && section) keys.push(`${section}.${k[1]}`);
  }
  return keys;
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];
function watch(page, label) {
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${label}: page error: ${e.message}`));
}

async function login(page, name, pw) {
  await page.goto(BASE + "/");
  await page.getByLabel(/User name|用户名/).fill(name);
  await page.getByLabel(/Password|密码/).fill(pw);
  await page.getByLabel(/Password|密码/).press("Enter");
  await page.waitForURL(BASE + "/", { timeout: T });
}

const tileStatus = (page) =>
  page.locator(`li.tile[data-node="${NODE}"]`).getAttribute("data-status");
const tileHeight = async (page) =>
  Number((await page.locator(`li.tile[data-node="${NODE}"] .height`).innerText()).replace(/\D/g, ""));

try {
  // --- admin: login, fleet ok with a rising height -------------------------------------
  const admin = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  const fleet = await admin.newPage();
  watch(fleet, "fleet");
  say("log in as admin");
  await login(fleet, ADMIN, ADMIN_PW);
  say("fleet shows the node ok");
  await fleet.waitForFunction((n) => document.querySelector(`li.tile[data-node="${n}"]`)?.dataset.status === "ok", NODE, { timeout: T });
  const h1 = await tileHeight(fleet);
  say(`height rises without a reload (from ${h1})`);
  await fleet.waitForFunction(([n, h]) => {
    const el = document.querySelector(`li.tile[data-node="${n}"] .height`);
    return el && Number(el.textContent.replace(/\D/g, "")) > h;
  }, [NODE, h1], { timeout: T });

  const alerts = await admin.newPage();
  watch(alerts, "alerts");
  await alerts.goto(BASE + "/alerts");

  // The public status page, as a visitor without an account sees it.
  const visitor = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  const status = await visitor.newPage();
  watch(status, "status");
  const chainState = async () => {
    await status.reload();
    return status.locator('li.chain-status[data-chain="devnet"]').getAttribute("data-state");
  };
  const waitState = async (want) => {
    const until = Date.now() + T;
    while (Date.now() < until) {
      if ((await chainState()) === want) return;
      await status.waitForTimeout(500);
    }
    throw new Error(`the status page never said ${want} (it says ${await chainState()})`);
  };
  say("public status page: the chain is operational, without a login");
  await status.goto(BASE + "/status");
  await waitState("operational");
  if ((await status.locator("svg.uptime rect").count()) !== 90) throw new Error("the status page lacks its 90 uptime bars");

  // --- halt mining: stalled tile, alert on the alerts page, no reload ------------------
  say("halt mining");
  await rpc("evm_setIntervalMining", [0]);
  say("the tile turns stalled without a reload");
  await fleet.waitForFunction((n) => document.querySelector(`li.tile[data-node="${n}"]`)?.dataset.status === "stalled", NODE, { timeout: T });
  say("public status page: the halted chain is an outage");
  await waitState("outage");
  if ((await status.locator(".status-banner").getAttribute("data-state")) !== "outage") throw new Error("the banner does not say outage");
  say("HeadStalled appears firing on the open alerts page without a reload");
  await alerts.waitForSelector(`li.alert[data-rule="HeadStalled"][data-node="${NODE}"][data-state="firing"]`, { timeout: T });

  say("acknowledge the incident with a comment in the browser");
  const inc = alerts.locator(`li.incident[data-node="${NODE}"][data-state="open"]`).first();
  await inc.locator("summary").click();
  await inc.getByLabel(/Comment/).fill("on it: mining halted on purpose");
  await inc.getByRole("button", { name: "Acknowledge" }).click();
  await alerts.waitForURL(BASE + "/alerts", { timeout: T });
  await alerts.waitForSelector(`li.incident[data-node="${NODE}"] .acked`, { timeout: T });
  const ackText = await alerts.locator(`li.incident[data-node="${NODE}"] .acked`).first().innerText();
  if (!ackText.includes(ADMIN) || !ackText.includes("mining halted on purpose")) throw new Error(`ack shows ${ackText}`);
  await alerts.waitForSelector(`li.alert[data-rule="HeadStalled"] .badge.acked`, { timeout: T });

  say("CSRF: a form post without the token is refused");
  const before = problems.length;
  const noCsrf = await alerts.evaluate(async () => (await fetch("/silences", {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "rule=HeadStalled&node=anvil-1&comment=x&duration=1h",
  })).status);
  if (noCsrf !== 403) throw new Error(`post without CSRF answered ${noCsrf}`);
  problems.splice(before); // the browser logs the refused request; that one is expected

  say("resume mining: the alert resolves on the page");
  await rpc("evm_setIntervalMining", [1]);
  await alerts.waitForSelector(`li.alert[data-rule="HeadStalled"][data-node="${NODE}"][data-state="resolved"]`, { timeout: T });
  await fleet.waitForFunction((n) => document.querySelector(`li.tile[data-node="${n}"]`)?.dataset.status === "ok", NODE, { timeout: T });
  say("public status page: operational again");
  await waitState("operational");

  say("the incident timeline shows every step");
  await alerts.reload();
  const timeline = await alerts.locator(`li.incident[data-node="${NODE}"]`).first().locator("ol.timeline").innerText();
  for (const kind of ["opened", "firing", "acknowledged", "resolved", "closed"]) {
    if (!timeline.includes(kind)) throw new Error(`timeline lacks ${kind}: ${timeline}`);
  }

  // --- node page: charts with data, the log line --------------------------------------
  say("node page charts render data points");
  const node = await admin.newPage();
  watch(node, "node");
  await node.goto(`${BASE}/nodes/${NODE}`);
  await node.waitForFunction(() => {
    const f = document.querySelector('figure[data-metric="height"]');
    return f && Number(f.dataset.points || 0) > 0 && f.querySelector("canvas");
  }, null, { timeout: T });
  say("node page: RPC latency by method, one line per method, has data points");
  await node.waitForFunction(() => {
    const f = document.querySelector('figure[data-metric="rpc_method_latency_seconds"]');
    return f && Number(f.dataset.points || 0) > 0 && f.querySelector("canvas") && (f.dataset.labels || "").includes("eth_");
  }, null, { timeout: T });
  say("node page shows the pushed log line");
  await node.waitForSelector(`#node-logs .msg:text("${LOG_LINE}")`, { timeout: T });

  say("the logs page finds the pushed line");
  const logs = await admin.newPage();
  watch(logs, "logs");
  await logs.goto(`${BASE}/logs`);
  await logs.getByLabel("Query").fill("区块已导入");
  await logs.getByLabel("Query").press("Enter");
  await logs.waitForSelector(`#logs-results td.msg:has-text("${LOG_LINE}")`, { timeout: T });
  await logs.goto(`${BASE}/logs?q=${encodeURIComponent("no-such-line-anywhere")}`);
  await logs.waitForSelector("#logs-results p.muted", { timeout: T });

  say("users page: a token is created in the browser and its secret shown once");
  const users = await admin.newPage();
  watch(users, "users");
  await users.goto(`${BASE}/users`);
  await users.getByText("Create a token…").click();
  await users.getByLabel("What it is for").fill("grafana-console");
  await users.getByRole("button", { name: "Create token" }).click();
  const secret = await users.locator("#new-token").innerText();
  if (!/^chainops_/.test(secret)) throw new Error(`token secret looks wrong: ${secret}`);
  const me = await fetch(`${BASE}/api/v1/auth/me`, { headers: { authorization: `Bearer ${secret}` } });
  if (me.status !== 200) throw new Error(`the new token answers ${me.status}`);
  await users.goto(`${BASE}/users`);
  if ((await users.content()).includes(secret)) throw new Error("the token secret is shown a second time");

  say("audit trail: the acknowledgement is recorded and the trail verifies");
  const trail = await admin.newPage();
  watch(trail, "trail");
  await trail.goto(`${BASE}/audit-trail?action=incident.ack`);
  const trailText = await trail.locator("main").innerText();
  if (!trailText.includes("incident.ack")) throw new Error("the audit trail lacks incident.ack");
  await trail.getByText("Verify the trail").click();
  await trail.waitForSelector('#verify-result[data-ok="true"]', { timeout: T });
  const csv = await trail.evaluate(async () => (await fetch("/audit-trail/export?format=csv&action=incident.ack")).text());
  if (!csv.startsWith("seq,at,actor") || !csv.includes("incident.ack")) throw new Error(`CSV export: ${csv.slice(0, 200)}`);

  say("backups: a backup started in the browser runs, is listed with its restore command");
  const backups = await admin.newPage();
  watch(backups, "backups");
  await backups.goto(`${BASE}/backups`);
  await backups.getByRole("button", { name: "Back up now: anvil-dump" }).click();
  await backups.waitForURL(`${BASE}/backups`, { timeout: T });
  const restoreCmd = await (async () => {
    const until = Date.now() + T;
    while (Date.now() < until) {
      await backups.reload();
      const done = await backups.locator('tr[data-run-job="anvil-dump"][data-run-kind="backup"]').count();
      const cmd = backups.locator('section[data-job="anvil-dump"] code.restore').first();
      if (done > 0 && (await cmd.count()) > 0) return cmd.innerText();
      await backups.waitForTimeout(500);
    }
    throw new Error("no backup run and snapshot appeared");
  })();
  const runOk = await backups.locator('tr[data-run-job="anvil-dump"][data-run-kind="backup"]').first().getAttribute("data-ok");
  if (runOk !== "true") throw new Error(`the backup run failed: ${await backups.locator('tr[data-run-job="anvil-dump"]').first().innerText()}`);
  fs.writeFileSync(env("CONSOLE_RESTORE_FILE"), restoreCmd);

  say("contract audit: an uploaded contract with a reentrancy bug shows the finding");
  const audit = await admin.newPage();
  watch(audit, "audit");
  await audit.goto(`${BASE}/audit`);
  const bank = [
    "pragma solidity ^0.8.0;",
    "contract Bank {",
    "    mapping(address => uint256) public balances;",
    "    function deposit() external payable { balances[msg.sender] += msg.value; }",
    "    function withdraw() external {",
    "        uint256 amount = balances[msg.sender];",
    "        (bool ok, ) = msg.sender.call{value: amount}(\"\");",
    "        require(ok);",
    "        balances[msg.sender] = 0;",
    "    }",
    "}",
  ].join("\n");
  await audit.setInputFiles("#audit-file", { name: "Bank.sol", mimeType: "text/plain", buffer: Buffer.from(bank) });
  await audit.waitForFunction(() => document.getElementById("audit-source").value.includes("contract Bank"), null, { timeout: T });
  if ((await audit.inputValue("#audit-name")) !== "Bank.sol") throw new Error("the file name was not taken");
  await audit.getByRole("button", { name: "Audit", exact: true }).click();
  await audit.waitForURL(/\/audit\/reports\//, { timeout: T });
  const finding = audit.locator('li.finding[data-detector^="reentrancy"]').first();
  await finding.waitFor({ timeout: T });
  const findingText = await finding.innerText();
  if (!findingText.includes("msg.sender.call") || !findingText.includes("Fix:")) throw new Error(`finding lacks code or advice: ${findingText}`);
  const sarif = await audit.evaluate(async () => {
    const a = document.querySelector('a[href$="format=sarif"]');
    return (await fetch(a.href)).json();
  });
  if (!sarif.runs || !sarif.runs[0].results.some((r) => String(r.ruleId).startsWith("reentrancy"))) throw new Error("the SARIF download lacks the finding");
  await audit.goto(`${BASE}/audit`);
  if (!(await audit.locator("main").innerText()).includes("Bank.sol")) throw new Error("the report is not in the history");
  const reportUrl = await audit.locator('a[href^="/audit/reports/"]').first().getAttribute("href");

  say("contract audit: a zipped project reports its own contract, not its tests or libraries");
  await audit.goto(`${BASE}/audit`);
  await audit.setInputFiles("#project-file", env("CONSOLE_PROJECT_ZIP"));
  await audit.getByRole("button", { name: "Audit the project" }).click();
  await audit.waitForURL(/\/audit\/reports\//, { timeout: T });
  const projectFindings = await audit.locator("li.finding").evaluateAll((els) => els.map((e) => e.innerText));
  if (!projectFindings.some((t) => t.includes("src/Vault.sol") && t.includes("msg.sender.call"))) {
    throw new Error(`the project's reentrancy is not shown with its file and code: ${projectFindings.join(" | ")}`);
  }
  if (projectFindings.some((t) => t.includes("test/") || t.includes("lib/"))) throw new Error("findings in tests or libraries are reported");
  const projectUrl = new URL(audit.url()).pathname;

  say("contract audit: deployed code at an address is checked through the node");
  await audit.goto(`${BASE}/audit`);
  await audit.getByLabel("Contract address").fill(env("CONSOLE_CODE_ADDRESS"));
  await audit.getByRole("button", { name: "Check" }).click();
  await audit.waitForURL(/\/audit\/reports\//, { timeout: T });
  await audit.locator('li.finding[data-detector="selfdestruct"]').waitFor({ timeout: T });
  const deployedText = await audit.locator("dl.deployed").innerText();
  if (!deployedText.toLowerCase().includes(env("CONSOLE_CODE_ADDRESS").toLowerCase())) throw new Error(`the address is not shown: ${deployedText}`);
  const addressUrl = new URL(audit.url()).pathname;
  await audit.goto(`${BASE}/audit`);
  await audit.getByLabel("Contract address").fill("0x00000000000000000000000000000000000000aa");
  const beforeNoCode = problems.length;
  await audit.getByRole("button", { name: "Check" }).click();
  await audit.waitForSelector("main >> text=no code at", { timeout: T });
  problems.splice(beforeNoCode);

  say("load tests: the recorded run is listed; an uploaded report shows its charts; two runs compare");
  const bench = await admin.newPage();
  watch(bench, "bench");
  await bench.goto(`${BASE}/bench`);
  if ((await bench.locator("tr[data-run]").count()) < 1) throw new Error("the run recorded with --record is not listed");
  await bench.setInputFiles("#bench-report", env("CONSOLE_BENCH_REPORT"));
  await bench.getByRole("button", { name: "Upload" }).click();
  await bench.waitForURL(/\/bench\/runs\//, { timeout: T });
  const benchRunUrl = new URL(bench.url()).pathname;
  const charts = await bench.locator(".bench-report svg").count();
  if (charts < 4) throw new Error(`the report shows ${charts} charts`);
  if (!(await bench.locator(".bench-report").innerText()).includes("Throughput over time")) throw new Error("the report lacks its throughput chart");
  await bench.getByRole("button", { name: "Compare" }).click();
  await bench.waitForURL(/\/bench\/compare\?/, { timeout: T });
  await bench.locator('tr[data-metric="throughput"]').waitFor({ timeout: T });
  const benchCompareUrl = new URL(bench.url()).pathname + new URL(bench.url()).search;
  await bench.goto(`${BASE}/bench`);
  if ((await bench.locator("tr[data-run]").count()) < 2) throw new Error("the uploaded run is not listed");

  say("status page: an incident is written, updated, resolved with a post-mortem; maintenance is scheduled");
  const manage = await admin.newPage();
  watch(manage, "manage");
  await manage.goto(`${BASE}/status/manage`);
  await manage.getByLabel("Title").fill("RPC slow 区块延迟");
  await manage.locator("#inc-state").selectOption("investigating");
  await manage.getByLabel("Message").first().fill("**Looking** into slow answers <script>alert(1)</script>");
  await manage.getByRole("button", { name: "Publish" }).click();
  await manage.waitForURL(`${BASE}/status/manage`, { timeout: T });
  const incident = manage.locator('li.incident[data-state="investigating"]').first();
  await incident.locator("select").selectOption("resolved");
  await incident.locator("textarea").fill("Fixed: a slow disk was replaced.");
  await incident.getByRole("button", { name: "Post the update" }).click();
  await manage.waitForURL(`${BASE}/status/manage`, { timeout: T });
  const solved = manage.locator('li.incident[data-state="resolved"]').first();
  await solved.locator("textarea").fill("## Cause\nThe disk filled up.");
  await solved.getByRole("button", { name: "Save the post-mortem" }).click();
  await manage.waitForURL(`${BASE}/status/manage`, { timeout: T });
  await manage.getByLabel("What is done").fill("Client upgrade");
  await manage.getByLabel("Starts (RFC 3339, or now+1h)").fill("now");
  await manage.getByRole("button", { name: "Schedule" }).click();
  await manage.waitForURL(`${BASE}/status/manage`, { timeout: T });
  await status.goto(`${BASE}/status/devnet`);
  const pub = await status.locator("main").innerText();
  for (const want of ["RPC slow 区块延迟", "Looking", "Fixed: a slow disk", "Client upgrade"]) {
    if (!pub.includes(want)) throw new Error(`the public chain page lacks ${want}: ${pub.slice(0, 500)}`);
  }
  if ((await status.content()).includes("<script>alert(1)")) throw new Error("operator text is not escaped");
  await status.locator("details.postmortem summary").first().click();
  if (!(await status.locator("details.postmortem h2").first().innerText()).includes("Cause")) throw new Error("the post-mortem is not rendered");
  const feed = await status.evaluate(async () => (await fetch("/status/feed.atom")).text());
  if (!feed.includes("<feed") || !feed.includes("RPC slow") || !feed.includes("Client upgrade")) throw new Error(`feed: ${feed.slice(0, 300)}`);
  await alerts.goto(`${BASE}/alerts`);
  if (!(await alerts.locator("main").innerText()).includes("maintenance: Client upgrade")) throw new Error("the maintenance silence is not on the alerts page");

  say("support portal: a visitor opens a ticket with an attachment and follows it by its private link");
  const portal = await visitor.newPage();
  watch(portal, "portal");
  await portal.goto(`${BASE}/support`);
  await portal.locator("#p-email").fill("dev@example.cn");
  await portal.locator("#p-name").fill("李雷");
  await portal.locator("#p-category").selectOption("rpc");
  say("knowledge base: typing a subject suggests articles; one answers the question (a deflected ticket)");
  await portal.locator("#p-subject").pressSequentially("rpc time", { delay: 40 });
  const suggestion = portal.locator("#kb-suggestions-list a").first();
  await suggestion.waitFor({ timeout: T });
  const suggested = await suggestion.getAttribute("href");
  if (!suggested.startsWith("/kb/rpc-timeouts?") || !suggested.includes("from=portal")) throw new Error(`suggestion: ${suggested}`);
  const kbPage = await visitor.newPage();
  watch(kbPage, "kb");
  await kbPage.goto(`${BASE}${suggested}`);
  if (!(await kbPage.locator("#kb-article h1").innerText()).includes("RPC")) throw new Error("the suggested article did not open");
  await kbPage.getByRole("button", { name: "Yes, this answered my question (no ticket needed)" }).click();
  await kbPage.locator("#kb-thanks").waitFor({ timeout: T });
  await kbPage.goto(`${BASE}/kb?q=${encodeURIComponent("节点超时")}`);
  if (!(await kbPage.locator("#kb-results a").first().getAttribute("href")).startsWith("/kb/rpc-timeouts")) throw new Error("a Chinese search does not find the RPC article");
  await kbPage.close();
  await portal.locator("#p-subject").fill("eth_call 超时 on devnet");
  await portal.locator("#p-body").fill("Since **10:00** every eth_call times out.");
  await portal.locator("#p-files").setInputFiles({ name: "trace.log", mimeType: "text/plain", buffer: Buffer.from("ERROR deadline exceeded\n") });
  await portal.getByRole("button", { name: "Send", exact: true }).click();
  await portal.waitForURL(/\/support\/t\/[0-9a-f]{64}\?new=1$/, { timeout: T });
  const ticketLink = new URL(portal.url()).pathname;
  if ((await portal.locator("#keep-link").count()) !== 1) throw new Error("the new ticket page does not say to keep the link");
  if (!(await portal.locator("main").innerText()).includes("trace.log")) throw new Error("the attachment is not listed");

  say("staff: the ticket is queued; a public reply reaches the requester, an internal note does not");
  const desk = await admin.newPage();
  watch(desk, "tickets");
  await desk.goto(`${BASE}/tickets`);
  await desk.locator("#ticket-table tbody a").first().click();
  await desk.waitForURL(/\/tickets\/\d+$/, { timeout: T });
  const ticketUrl = new URL(desk.url()).pathname;
  if (!(await desk.locator("#requester-contact").innerText()).includes("dev@example.cn")) throw new Error("staff do not see the requester's contact");
  await desk.locator("#reply-body").fill("We are on it: the RPC pool is being refilled.");
  await desk.getByRole("button", { name: "Send the reply" }).click();
  await desk.waitForURL(`${BASE}${ticketUrl}`, { timeout: T });
  await desk.locator('input[name="visibility"][value="internal"]').check();
  await desk.locator("#reply-body").fill("internal: haproxy backend 3 is down");
  await desk.getByRole("button", { name: "Send the reply" }).click();
  await desk.waitForURL(`${BASE}${ticketUrl}`, { timeout: T });
  await desk.locator("#ch-state").selectOption("pending");
  await desk.getByRole("button", { name: "Save" }).click();
  await desk.waitForURL(`${BASE}${ticketUrl}`, { timeout: T });
  if ((await desk.locator("#ticket-state").getAttribute("data-state")) !== "pending") throw new Error("the state did not change");
  if ((await desk.locator('li[data-clock="tickets.resolution"]').getAttribute("data-phase")) !== "paused") throw new Error("pending does not pause the resolution clock");
  await portal.goto(`${BASE}${ticketLink}`);
  const seen = await portal.locator("main").innerText();
  if (!seen.includes("RPC pool is being refilled")) throw new Error("the requester does not see the reply");
  if (seen.includes("haproxy backend 3")) throw new Error("the requester sees an internal note");
  await portal.locator("#r-body").fill("Thanks, it works again.");
  await portal.getByRole("button", { name: "Send the reply" }).click();
  await portal.waitForURL(`${BASE}${ticketLink}`, { timeout: T });
  await desk.reload();
  if ((await desk.locator("#ticket-state").getAttribute("data-state")) !== "open") throw new Error("the requester's reply does not reopen a pending ticket");

  say("feedback: staff solve the ticket; the requester rates it on the same page; the report shows it");
  await desk.locator("#ch-state").selectOption("solved");
  await desk.getByRole("button", { name: "Save" }).click();
  await desk.waitForURL(`${BASE}${ticketUrl}`, { timeout: T });
  await portal.goto(`${BASE}${ticketLink}`);
  await portal.locator('#csat-form input[name="score"][value="4"]').check();
  await portal.locator("#csat-comment").fill("快，谢谢");
  await portal.getByRole("button", { name: "Send the rating" }).click();
  await portal.locator("#csat-given").waitFor({ timeout: T });
  await desk.goto(`${BASE}/tickets/reports?days=7`);
  if ((await desk.locator("#csat-value").innerText()).trim() !== "100 %") throw new Error(`CSAT: ${await desk.locator("#csat-value").innerText()}`);
  if ((await desk.locator("#by-category tbody tr").count()) < 1) throw new Error("no volume by category");

  say("knowledge base: staff see the deflection, write a Chinese draft, publish it");
  const kbm = await admin.newPage();
  watch(kbm, "kb-manage");
  await kbm.goto(`${BASE}/kb/manage`);
  const rpcRow = kbm.locator('#kb-table tr[data-article="rpc-timeouts"][data-lang="en"] td');
  if ((await rpcRow.nth(7).innerText()).trim() !== "1") throw new Error(`deflections: ${await rpcRow.nth(7).innerText()}`);
  await kbm.locator("#kb-id").fill("devnet-faucet");
  await kbm.locator("#kb-lang").selectOption("zh-CN");
  await kbm.locator("#kb-title").fill("如何领取测试网代币");
  await kbm.locator("#kb-body").fill("访问水龙头页面，输入地址即可。");
  await kbm.getByRole("button", { name: "Save", exact: true }).click();
  await kbm.waitForURL(/\/kb\/manage\?id=devnet-faucet/, { timeout: T });
  const draftSeen = await visitor.newPage();
  const draftResp = await draftSeen.goto(`${BASE}/kb/devnet-faucet`);
  if (draftResp.status() !== 404) throw new Error(`a draft is public: ${draftResp.status()}`);
  await kbm.locator('input[name="published"]').check();
  await kbm.getByRole("button", { name: "Save", exact: true }).click();
  await kbm.waitForURL(/\/kb\/manage\?id=devnet-faucet/, { timeout: T });
  await draftSeen.goto(`${BASE}/kb?q=${encodeURIComponent("水龙头")}`);
  if ((await draftSeen.locator("#kb-results a").count()) !== 1) throw new Error("the published article is not found");
  await draftSeen.close();

  say("settings show the effective configuration with secrets redacted");
  const settings = await admin.newPage();
  watch(settings, "settings");
  await settings.goto(`${BASE}/settings`);
  const cfg = await settings.locator("pre.config").innerText();
  if (!cfg.includes("anvil-1")) throw new Error("settings page lacks the node config");

  // --- viewer: no mutating control, forged post refused -------------------------------
  say("viewer sees no mutating control");
  const viewerCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const viewer = await viewerCtx.newPage();
  watch(viewer, "viewer");
  await login(viewer, VIEWER, VIEWER_PW);
  await viewer.goto(BASE + "/alerts");
  const mutating = await viewer.locator('form[method="post"]:not([action="/logout"])').count();
  if (mutating !== 0) throw new Error(`viewer sees ${mutating} mutating forms`);
  say("viewer's forged form post (with a valid CSRF token) is refused with 403");
  const beforeForged = problems.length;
  const forged = await viewer.evaluate(async () => {
    const csrf = document.querySelector('input[name="_csrf"]').value;
    const r = await fetch("/silences", {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `rule=HeadStalled&node=anvil-1&comment=x&duration=1h&_csrf=${csrf}`,
    });
    return r.status;
  });
  if (forged !== 403) throw new Error(`viewer's forged post answered ${forged}`);
  problems.splice(beforeForged);
  say("viewer: pages of other roles are hidden and refused alike");
  const nav = await viewer.locator("header nav").innerText();
  for (const hidden of ["Users", "Audit trail", "Logs"]) {
    if (nav.includes(hidden)) throw new Error(`viewer's navigation shows ${hidden}`);
  }
  const beforeRefused = problems.length;
  if ((await viewer.goto(BASE + "/audit")) && (await viewer.locator("#audit-form").count()) !== 0) {
    throw new Error("viewer sees the audit form");
  }
  if ((await viewer.goto(BASE + "/bench")) && (await viewer.locator('form[method="post"]:not([action="/logout"])').count()) !== 0) {
    throw new Error("viewer sees the report upload");
  }
  if ((await viewer.goto(BASE + "/audit")) && (await viewer.locator("#project-form, #address-form").count()) !== 0) {
    throw new Error("viewer sees the project or address audit");
  }
  if ((await viewer.goto(BASE + "/backups")) && (await viewer.locator('form[action$="/run"]').count()) !== 0) {
    throw new Error("viewer sees the backup run button");
  }
  if ((await viewer.goto(BASE + ticketUrl)) && (await viewer.locator('form[method="post"]:not([action="/logout"])').count()) !== 0) {
    throw new Error("viewer sees a ticket form");
  }
  if ((await viewer.locator("main").innerText()).includes("dev@example.cn")) throw new Error("viewer sees the requester's email");
  for (const url of ["/users", "/audit-trail", "/logs"]) {
    const r = await viewer.goto(BASE + url);
    if (r.status() !== 403) throw new Error(`viewer GET ${url} answered ${r.status()}`);
  }
  problems.splice(beforeRefused);

  // --- every page: zh-CN without catalog keys; axe; screenshots at two widths ----------
  const pages = [["fleet", "/"], ["alerts", "/alerts"], ["node", `/nodes/${NODE}`], ["logs", "/logs"], ["backups", "/backups"], ["audit", "/audit"],
    ["users", "/users"], ["audit-trail", "/audit-trail?verify=1"], ["settings", "/settings"], ["setup", "/setup"]];
  pages.push(["audit-report", reportUrl], ["audit-project", projectUrl], ["audit-address", addressUrl],
    ["bench", "/bench"], ["bench-run", benchRunUrl], ["bench-compare", benchCompareUrl],
    ["status", "/status"], ["status-chain", "/status/devnet"], ["status-manage", "/status/manage"],
    ["support", "/support"], ["support-ticket", ticketLink], ["tickets", "/tickets"], ["ticket", ticketUrl],
    ["tickets-known-issue", "/tickets?state=&incident=inc-1"],
    ["kb", "/kb"], ["kb-search", `/kb?q=${encodeURIComponent("节点 rpc")}`], ["kb-article", "/kb/rpc-timeouts"],
    ["kb-manage", "/kb/manage?id=rpc-timeouts&lang=en"], ["reports", "/tickets/reports"]);
  const keys = catalogKeys(CATALOG);
  say("zh-CN pages show no catalog key");
  const zhCtx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN", extraHTTPHeaders: { "Accept-Language": "zh-CN,zh;q=0.9" } });
  const zh = await zhCtx.newPage();
  watch(zh, "zh");
  await zh.goto(BASE + "/");
  const loginText = await zh.locator("body").innerText();
  if (!loginText.includes("登录")) throw new Error("zh-CN login page is not in Chinese");
  await login(zh, ADMIN, ADMIN_PW);
  for (const [name, url] of pages) {
    await zh.goto(BASE + url);
    await zh.waitForLoadState("networkidle");
    const text = await zh.locator("body").innerText();
    const leaked = keys.filter((k) => text.includes(k));
    if (leaked.length) throw new Error(`zh-CN ${name} shows catalog keys: ${leaked.join(", ")}`);
    await zh.screenshot({ path: path.join(SHOTS, `${name}-zh-CN-1280.png`), fullPage: true });
  }

  say("axe-core: no serious or critical violation at 1280 and 390 px");
  const axeCtx = await browser.newContext({ bypassCSP: true });
  const ax = await axeCtx.newPage();
  await ax.goto(BASE + "/");
  await ax.setViewportSize({ width: 1280, height: 900 });
  const axeRun = async (label) => {
    await ax.addScriptTag({ path: AXE });
    const res = await ax.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
    const bad = res.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    if (bad.length) {
      throw new Error(`${label}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`).join(" | ")}`);
    }
  };
  for (const width of [1280, 390]) {
    await ax.setViewportSize({ width, height: 900 });
    await ax.goto(BASE + "/");
    await axeRun(`login @${width}`);
    await ax.screenshot({ path: path.join(SHOTS, `login-en-${width}.png`), fullPage: true });
  }
  await login(ax, ADMIN, ADMIN_PW);
  for (const width of [1280, 390]) {
    await ax.setViewportSize({ width, height: 900 });
    for (const [name, url] of pages) {
      await ax.goto(BASE + url);
      await ax.waitForLoadState("networkidle");
      await axeRun(`${name} @${width}`);
      await ax.screenshot({ path: path.join(SHOTS, `${name}-en-${width}.png`), fullPage: true });
    }
  }
  if (problems.length) throw new Error(`browser reported:\n${problems.join("\n")}`);
  say("all steps passed");
  await browser.close();
} catch (e) {
  console.error(`console test failed at step "${step}": ${e.message}`);
  if (problems.length) console.error(problems.join("\n"));
  await browser.close();
  process.exit(1);
}
