// Web sign-in end to end in headless Chromium, against a real OIDC provider (`oidc-provider`,
// started by this test on loopback, see provider.mjs): alice signs in and asks for access; bob
// opens the approvals inbox, is sent to the provider, signs in, comes back to the inbox and
// approves; he signs out (here and at the provider) and the inbox asks him to sign in again.
// Refused sign-ins show their reason and start no session: a cancelled sign-in (the provider's
// error) and a replayed answer. Screenshots go to e2e/screenshots/ (`signin-*.png`).
//
// The session cookie is `Secure`, and this test serves jitgate over plain http on 127.0.0.1:
// Chromium counts loopback as a secure context, so it keeps and sends `Secure` (and `__Host-`)
// cookies there as it would over https; the test asserts the cookie's attributes as stored.
//
//   JITGATE_BIN=target/release/jitgate CHROMIUM=/usr/bin/chromium node service/e2e/signin.mjs

import { freePort, launchChromium, loopbackContext, serviceDir, shots, startService } from "./harness.mjs";
import { startProvider, PASSWORD } from "./provider.mjs";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

const CLIENT_ID = "jitgate-web";

async function start() {
  const dir = serviceDir();
  const [port, providerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const clientSecret = "e2e-client-secret-" + Math.random().toString(36).slice(2);
  const provider = await startProvider({
    port: providerPort, clientId: CLIENT_ID, clientSecret,
    redirectUri: `${url}/auth/callback`, postLogoutUri: `${url}/auth/signed-out`,
  });
  writeFileSync(join(dir, "client-secret"), clientSecret + "\n");
  writeFileSync(join(dir, "session-secret"), "e2e-session-secret-0123456789abcdef0123456789\n");
  const service = await startService(dir, port, `[auth]
mode = "oidc"
[auth.oidc]
issuer = "${provider.issuer}"
audience = "${CLIENT_ID}"
jwks_url = "${provider.issuer}/jwks"
user_claim = "preferred_username"
client_id = "${CLIENT_ID}"
client_secret_file = "${dir}/client-secret"
session_secret_file = "${dir}/session-secret"
scopes = ["openid", "profile", "groups"]
[[zones]]
name = "sales"
resources = ["hdfs:/lake/sales", "hive:sales.*"]
approvers = ["sales-owners"]
max_duration = "15m"
`);
  return { ...service, provider };
}

/** Fills the provider's sign-in form as `who` and waits to be back at jitgate on `back`. */
async function signInAtProvider(page, issuer, who, back, shot) {
  await page.waitForURL((u) => u.href.startsWith(issuer + "/interaction/"));
  await page.fill("#login", who);
  await page.fill("#password", PASSWORD);
  if (shot) await page.screenshot({ path: join(shots, shot), fullPage: true });
  await Promise.all([page.waitForURL(back), page.click("#sign-in")]);
}

const { url, log, provider } = await start();
let browser;
let failed = false;
try {
  browser = await launchChromium();
  const viewport = { viewport: { width: 390, height: 844 } };
  const aliceCtx = await loopbackContext(browser, viewport);
  const bobCtx = await loopbackContext(browser, viewport);
  const alice = await aliceCtx.newPage();
  const bob = await bobCtx.newPage();

  // alice follows a denial's link, signs in at the provider and lands on the prefilled form.
  await alice.goto(`${url}/request?resource=hive:sales.orders&action=read`);
  await signInAtProvider(alice, provider.issuer, "alice", /\/request\?resource=/);
  assert.equal(await alice.inputValue("#resources"), "hive:sales.orders");
  assert.match(await alice.textContent("nav .who"), /alice.*analysts/);
  await alice.fill("#duration", "10m");
  await alice.fill("#reason", "INC-5150 quarterly numbers");
  await Promise.all([alice.waitForURL(/\/requests\/r-/), alice.click("form[action='/request'] button[type=submit]")]);
  const id = (await alice.textContent("#request-id")).trim();

  // bob opens his inbox: not signed in, he is sent to the provider, and back to the inbox.
  let callbackUrl;
  bob.on("request", (r) => { if (r.url().startsWith(`${url}/auth/callback?`)) callbackUrl = r.url(); });
  await bob.goto(`${url}/inbox`);
  await signInAtProvider(bob, provider.issuer, "bob", `${url}/inbox`, "signin-1-provider-form.png");
  assert.match(await bob.textContent("nav .who"), /bob.*sales-owners/);
  const [session] = (await bobCtx.cookies(url)).filter((c) => c.name === "__Host-jitgate_session");
  assert.ok(session, "a session cookie is set");
  assert.deepEqual([session.httpOnly, session.secure, session.sameSite, session.path], [true, true, "Lax", "/"]);
  assert.ok(session.expires > Date.now() / 1000 && session.expires <= Date.now() / 1000 + 3600 + 60, `${session.expires}`);
  assert.match(await bob.textContent("main"), /INC-5150 quarterly numbers/);
  await bob.screenshot({ path: join(shots, "signin-2-bob-inbox.png"), fullPage: true });

  // He approves; alice's page shows the grant.
  await Promise.all([bob.waitForURL(/\/inbox$/), bob.click(`form[action="/requests/${id}/approve"] button`)]);
  await alice.waitForSelector(".grant-state [data-expires]", { timeout: 10000 });
  assert.match(await alice.textContent("main"), /approved/);
  assert.match(await alice.textContent("main"), /approved\s*bob/);
  await alice.screenshot({ path: join(shots, "signin-3-alice-granted.png"), fullPage: true });

  // A replayed answer from the provider (the code is spent, the sign-in finished): refused.
  assert.ok(callbackUrl, "the provider sent bob back to /auth/callback");
  const replay = await bobCtx.newPage();
  const replayed = await replay.goto(callbackUrl);
  assert.equal(replayed.status(), 400);
  assert.match(await replay.textContent("#sign-in-error"), /no sign-in is in progress/);
  assert.equal(replayed.headers()["set-cookie"]?.includes("__Host-jitgate_session=ey") ?? false, false);
  await replay.screenshot({ path: join(shots, "signin-4-replayed-answer.png"), fullPage: true });
  await replay.close();

  // bob signs out: the session is gone here and at the provider, and the inbox asks again.
  await bob.goto(`${url}/my`);
  // Signed out here, the browser goes on to sign out at the provider, which asks to confirm.
  await Promise.all([bob.waitForURL((u) => u.href.startsWith(provider.issuer)), bob.click("form[action='/auth/signout'] button")]);
  await bob.screenshot({ path: join(shots, "signin-5-provider-sign-out.png"), fullPage: true });
  await Promise.all([bob.waitForURL(`${url}/auth/signed-out`), bob.click("#logout-yes")]);
  assert.match(await bob.textContent("#signed-out"), /signed out/);
  assert.equal((await bobCtx.cookies(url)).filter((c) => c.name === "__Host-jitgate_session").length, 0);
  await bob.screenshot({ path: join(shots, "signin-6-signed-out.png"), fullPage: true });
  await bob.goto(`${url}/inbox`);
  await bob.waitForURL((u) => u.href.startsWith(provider.issuer + "/interaction/"));
  assert.ok(await bob.isVisible("#login"), "the provider asks bob who he is again");
  await bob.screenshot({ path: join(shots, "signin-7-asked-again.png"), fullPage: true });

  // He cancels at the provider: jitgate shows the provider's refusal and starts no session.
  await Promise.all([bob.waitForURL(/\/auth\/callback\?/), bob.click("#cancel")]);
  assert.match(await bob.textContent("#sign-in-error"), /refused the sign-in: access_denied \(the person cancelled the sign-in\)/);
  assert.equal((await bobCtx.cookies(url)).filter((c) => c.name === "__Host-jitgate_session").length, 0);
  await bob.screenshot({ path: join(shots, "signin-8-cancelled.png"), fullPage: true });
  const api = await bob.evaluate(async () => (await fetch("/v1/requests")).status);
  assert.equal(api, 401, "no session: the API refuses too");
  console.log(`signin e2e ok: request ${id} approved by bob after sign-in; screenshots in ${shots}`);
} catch (e) {
  failed = true;
  console.error("signin e2e FAILED:", e);
  for (const ctx of browser?.contexts() ?? []) for (const p of ctx.pages()) console.error("page at", p.url(), (await p.content().catch(() => "")).slice(0, 1500));
  console.error("--- jitgate serve log ---\n" + log.join(""));
} finally {
  await browser?.close().catch(() => {});
  provider.close();
}
console.log(failed ? "signin: 0 passed, 1 failed" : "signin: 1 passed, 0 failed");
process.exit(failed ? 1 : 0);
