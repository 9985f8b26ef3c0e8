// End to end in headless Chromium: alice fills the request form (which says, as she types, what
// the plugins would decide now), bob sees what the table is (as the plugin told the service) and
// approves in his own browser, alice's open page shows the
// grant without a reload, the form now says she is allowed, a plugin audits her accesses and
// bob sees them on the request's page (a table and a timeline), alice asks for a window that
// starts later and for more time on her grant (Extend), which bob approves, bob revokes, the
// audit page lists the allowed and the denied accesses, and the report charts them per user.
// Screenshots go to e2e/screenshots/.
//
// The real `jitgate serve` runs on a free loopback port; each browser context sends the
// headers an SSO proxy would (the service trusts them from 127.0.0.1).
//
//   JITGATE_BIN=target/release/jitgate CHROMIUM=/usr/bin/chromium node service/e2e/e2e.mjs

import { freePort, launchChromium, serviceDir, shots, startService } from "./harness.mjs";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

const TOKEN = "e2e-plugin-token";

async function start() {
  const dir = serviceDir();
  writeFileSync(join(dir, "tokens"), TOKEN + "\n");
  return startService(dir, await freePort(), `[plugins]
tokens_file = "${dir}/tokens"
[[zones]]
name = "sales"
resources = ["hdfs:/lake/sales", "hive:sales.*"]
approvers = ["sales-owners"]
max_duration = "15m"
[context]
hive = "plugin"
`);
}

/** As HiveServer2's plugin does: what approvers wait for, and what the metastore says of it. */
async function describe(url, scheme, answer) {
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const wanted = await (await fetch(`${url}/v1/context/wanted?scheme=${scheme}`, { headers: auth })).json();
  const contexts = wanted.resources.map(answer);
  const r = await fetch(url + "/v1/context", {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ contexts }),
  });
  assert.equal(r.status, 200, await r.text());
  return wanted.resources;
}

async function audit(url, events) {
  const r = await fetch(url + "/v1/audit", {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ events }),
  });
  assert.equal(r.status, 200, await r.text());
}

const { url, log } = await start();
let browser;
let failed = false;
try {
  browser = await launchChromium();
  const as = (user, groups) =>
    browser.newContext({ extraHTTPHeaders: { "X-Forwarded-User": user, "X-Forwarded-Groups": groups }, viewport: { width: 390, height: 844 } });
  const aliceCtx = await as("alice", "analysts");
  const bobCtx = await as("bob", "sales-owners");
  const alice = await aliceCtx.newPage();
  const bob = await bobCtx.newPage();

  // alice follows the link from a denial: the form comes prefilled.
  await alice.goto(`${url}/request?resource=hive:sales.orders&action=read`);
  assert.equal(await alice.inputValue("#resources"), "hive:sales.orders");
  assert.ok(await alice.isChecked("input[name=action_read]"));
  // The form says what the plugins would decide now, and who can approve.
  await alice.waitForFunction(() => /denied now \(no active grant\): hive:sales\.orders is in zone sales, approved by sales-owners/
    .test(document.querySelector("#check").textContent), null, { timeout: 10000 });
  await alice.fill("#duration", "10m");
  await alice.fill("#reason", "INC-4411 <check> orders");
  await alice.screenshot({ path: join(shots, "1-alice-form.png"), fullPage: true });
  // Keyboard only: submit with Enter from the ticket field.
  await alice.focus("#ticket");
  await alice.keyboard.type("INC-4411");
  await Promise.all([alice.waitForURL(/\/requests\/r-/), alice.keyboard.press("Enter")]);
  const id = (await alice.textContent("#request-id")).trim();
  assert.match(await alice.textContent("main"), /pending/);
  await alice.screenshot({ path: join(shots, "2-alice-pending.png"), fullPage: true });

  // Before deciding, bob sees what the table is, as HiveServer2's plugin told the service.
  assert.deepEqual(await describe(url, "hive", (resource) =>
    ({ resource, kind: "MANAGED_TABLE", location: "hdfs://nn1/warehouse/sales.db/orders" })), ["hive:sales.orders"]);
  await bob.goto(`${url}/requests/${id}`);
  assert.match(await bob.textContent("#context"), /MANAGED_TABLE at hdfs:\/\/nn1\/warehouse\/sales\.db\/orders/);
  await bob.screenshot({ path: join(shots, "2b-bob-request-context.png"), fullPage: true });
  // alice, who may not read the table yet, is not shown it.
  assert.equal(await alice.locator("#context").count(), 0);

  // bob approves from his inbox in one click.
  await bob.goto(`${url}/inbox`);
  assert.match(await bob.textContent("main"), /INC-4411 <check> orders/);
  await bob.screenshot({ path: join(shots, "3-bob-inbox.png"), fullPage: true });
  await Promise.all([bob.waitForURL(/\/inbox$/), bob.click(`form[action="/requests/${id}/approve"] button`)]);

  // alice's open page shows the grant without her reloading it.
  await alice.waitForSelector(".grant-state [data-expires]", { timeout: 10000 });
  await alice.waitForFunction(() => /left/.test(document.querySelector(".grant-state").textContent));
  assert.match(await alice.textContent("main"), /approved/);
  await alice.screenshot({ path: join(shots, "4-alice-granted.png"), fullPage: true });

  const r = await (await fetch(`${url}/v1/requests/${id}`, { headers: { "X-Forwarded-User": "alice" } })).json();
  const gid = r.grant.id;

  // The form, typed into, now says the grant allows her; outside every zone, no request is needed.
  const form = await aliceCtx.newPage();
  await form.goto(`${url}/request`);
  await form.fill("#resources", "hive:sales.orders");
  await form.check("input[name=action_read]");
  await form.waitForFunction((g) => document.querySelector("#check .allow")?.textContent.includes(g), gid, { timeout: 10000 });
  await form.focus("#resources");
  await form.keyboard.press("End");
  await form.keyboard.type("\nhdfs:/tmp/scratch");
  await form.waitForFunction(() => /not protected: hdfs:\/tmp\/scratch is in no zone/.test(document.querySelector("#check").textContent), null, { timeout: 10000 });
  assert.match(await form.textContent("#check"), /allowed now: hive:sales\.orders, by grant/);
  await form.screenshot({ path: join(shots, "4a-alice-check.png"), fullPage: true });
  await form.close();
  // Two seconds apart, so each access is its own mark on the grant's ten-minute timeline.
  const t0 = Date.now();
  const at = (ms) => new Date(t0 + ms).toISOString();
  await audit(url, [{ id: "e2e-1", time: at(0), plugin: "hive", host: "hs2", user: "alice", resource: "hive:sales.orders",
                      action: "read", decision: "allow", grant_id: gid, request_id: id, operation: "SELECT", context: "hive_query_1" },
                    { id: "e2e-1b", time: at(2000), plugin: "spark", host: "driver-7", user: "alice", resource: "hive:sales.orders",
                      action: "read", decision: "allow", grant_id: gid, request_id: id, operation: "Project", context: "app-42/sql-3" },
                    { id: "e2e-1c", time: at(4000), plugin: "hive", host: "hs2", user: "alice", resource: "hive:sales.orders",
                      action: "write", decision: "deny", reason: "the grant allows read", grant_id: gid, request_id: id,
                      operation: "INSERT", context: "hive_query_2" }]);

  // bob, the approver, sees on the request's page what the grant was used for.
  await bob.goto(`${url}/requests/${id}`);
  assert.equal(await bob.locator("svg.timeline .mark.allow").count(), 2);
  assert.equal(await bob.locator("svg.timeline .mark.deny").count(), 1);
  assert.match(await bob.locator("svg.timeline title").first().textContent(), new RegExp(`Accesses under grant ${gid}`));
  const accesses = await bob.$$eval("table.accesses tbody tr", (trs) => trs.map((tr) => tr.textContent));
  assert.equal(accesses.length, 3, accesses.join("\n"));
  assert.match(accesses[0], /INSERT.*hive on hs2.*hive_query_2/, "newest first");
  assert.match(accesses[1], /Project.*spark on driver-7.*app-42\/sql-3/);
  await bob.screenshot({ path: join(shots, "4b-bob-request-accesses.png"), fullPage: true });

  // alice asks for a window that starts in two hours: her pending request says when.
  const later = new Date(Date.now() + 2 * 3600e3).toISOString().slice(0, 16) + "Z";
  const sched = await aliceCtx.newPage();
  await sched.goto(`${url}/request?resource=hive:sales.customers&action=read`);
  await sched.fill("#duration", "15m");
  await sched.fill("#start", later);
  await sched.fill("#reason", "INC-4412 night load of customers");
  await sched.screenshot({ path: join(shots, "4c-alice-scheduled-form.png"), fullPage: true });
  await Promise.all([sched.waitForURL(/\/requests\/r-/), sched.click("button:has-text('Ask for approval')")]);
  const field = (page, name) => page.locator("tr", { has: page.locator("th[scope=row]", { hasText: new RegExp(`^${name}$`) }) }).locator("td");
  assert.match(await field(sched, "Status").textContent(), /pending/);
  assert.ok((await field(sched, "Starting").textContent()).startsWith(later.slice(0, 16)));
  await sched.screenshot({ path: join(shots, "4c-alice-scheduled-pending.png"), fullPage: true });
  await sched.close();

  // alice asks, from her request's page, for ten more minutes on her grant; bob approves the
  // linked request, and the same grant ends ten minutes later.
  await alice.goto(`${url}/requests/${id}`);
  const extend = alice.locator(`form[action="/grants/${gid}/extend"]`);
  await extend.locator("input[name=duration]").fill("10m");
  await extend.locator("input[name=reason]").fill("INC-4411 backfill runs long");
  await alice.screenshot({ path: join(shots, "4d-alice-extend.png"), fullPage: true });
  await Promise.all([alice.waitForURL((u) => /\/requests\/r-/.test(u.pathname) && !u.pathname.endsWith(id)),
                     extend.locator("button").click()]);
  const ext = (await alice.textContent("#request-id")).trim();
  assert.equal((await field(alice, "Extends grant").textContent()).trim(), gid);
  assert.match(await field(alice, "Status").textContent(), /pending/);
  assert.equal((await field(alice, "For").textContent()).trim(), "10m");
  await alice.screenshot({ path: join(shots, "4d-alice-extension-pending.png"), fullPage: true });
  await bob.goto(`${url}/requests/${ext}`);
  assert.equal((await field(bob, "Extends grant").textContent()).trim(), gid);
  await bob.fill(`form[action="/requests/${ext}/approve"] input[name=comment]`, "ok, ten more minutes");
  await bob.screenshot({ path: join(shots, "4d-bob-extension.png"), fullPage: true });
  await bob.click(`form[action="/requests/${ext}/approve"] button`);
  await bob.waitForSelector("strong.status-approved");
  await bob.screenshot({ path: join(shots, "4d-bob-extension-approved.png"), fullPage: true });
  const extended = await (await fetch(`${url}/v1/grants/${gid}`, { headers: { "X-Forwarded-User": "alice" } })).json();
  assert.equal(Date.parse(extended.expires_at) - Date.parse(r.grant.expires_at), 10 * 60e3);
  await alice.goto(`${url}/requests/${id}`);
  assert.equal(await alice.getAttribute(".grant-state [data-expires]", "data-expires"), extended.expires_at);
  assert.match(await alice.textContent("main"), new RegExp(`extended\\s*jitgate\\s*by request ${ext} until ${extended.expires_at}`));
  await alice.screenshot({ path: join(shots, "4d-alice-extended.png"), fullPage: true });

  // bob revokes from the grants page; alice's page follows.
  await bob.goto(`${url}/grants`);
  await bob.screenshot({ path: join(shots, "5-bob-grants.png"), fullPage: true });
  await Promise.all([bob.waitForURL(/\/grants$/), bob.click(`form[action="/grants/${gid}/revoke"] button`)]);
  await alice.waitForFunction(() => /revoked by bob/.test(document.querySelector(".grant-state")?.textContent || ""), null, { timeout: 10000 });
  await alice.screenshot({ path: join(shots, "6-alice-revoked.png"), fullPage: true });
  await audit(url, [{ id: "e2e-2", time: at(Math.max(6000, Date.now() - t0)), plugin: "hive", host: "hs2", user: "alice", resource: "hive:sales.orders",
                      action: "read", decision: "deny", reason: "no active grant", operation: "SELECT" }]);

  // The audit page lists every access, the allowed and the denied, oldest first.
  await bob.goto(`${url}/audit?user=alice`);
  const rows = await bob.$$eval("tbody tr", (trs) => trs.map((tr) => tr.textContent));
  assert.equal(rows.length, 4, rows.join("\n"));
  assert.match(rows[0], /allow/);
  assert.match(rows[1], /allow/);
  assert.match(rows[2], /deny/);
  assert.match(rows[3], /deny/);
  await bob.screenshot({ path: join(shots, "7-audit.png"), fullPage: true });

  // The period report charts each user's accesses (its period reaches past the last one).
  await bob.goto(`${url}/report?until=${encodeURIComponent(new Date(t0 + 3600e3).toISOString())}`);
  const chart = bob.locator("figure.user-timeline", { hasText: "alice" }).locator("svg.timeline");
  assert.match(await chart.locator("desc").textContent(), /4 accesses from .*2 allowed.*2 denied/);
  assert.ok((await chart.locator(".mark.deny").count()) >= 1);
  await bob.screenshot({ path: join(shots, "8-report.png"), fullPage: true });
  console.log(`e2e ok: request ${id}, grant ${gid}; screenshots in ${shots}`);
} catch (e) {
  failed = true;
  console.error("e2e FAILED:", e);
  console.error("--- jitgate serve log ---\n" + log.join(""));
} finally {
  await browser?.close().catch(() => {});
}
console.log(failed ? "e2e: 0 passed, 1 failed" : "e2e: 1 passed, 0 failed");
process.exit(failed ? 1 : 0);
