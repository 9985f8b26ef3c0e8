// What the Chromium tests share: a free loopback port, the real `jitgate serve` started on one
// (and stopped however the test ends), and headless Chromium that reaches nothing but loopback.

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.JITGATE_BIN || join(here, "..", "..", "target", "release", "jitgate");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
export const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The service must not outlive this test, however it ends: a failed assertion, a browser that
// does not launch, an uncaught error, or a signal. Node runs "exit" listeners on every exit but
// a signal's, so a signal is turned into an exit.
function stopOnExit(child) {
  process.on("exit", () => child.kill());
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(signal, () => process.exit(1));
  }
}

/** A fresh directory for a service's config, data and secrets. */
export function serviceDir() {
  return mkdtempSync(join(tmpdir(), "jitgate-e2e-"));
}

/** Starts `jitgate serve` on 127.0.0.1:`port` with `config` (listen and data_dir are added). */
export async function startService(dir, port, config) {
  writeFileSync(join(dir, "jitgate.toml"), `listen = "127.0.0.1:${port}"\ndata_dir = "${dir}/data"\n${config}`);
  const log = [];
  const child = spawn(bin, ["serve", "--config", join(dir, "jitgate.toml")], { stdio: ["ignore", "pipe", "pipe"] });
  stopOnExit(child);
  child.stdout.on("data", (d) => log.push(d.toString()));
  child.stderr.on("data", (d) => log.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url + "/healthz")).ok) return { child, url, log };
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("jitgate serve did not start: " + log.join(""));
}

export function launchChromium() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** A browser context that may reach loopback addresses only; anything else is cut off. */
export async function loopbackContext(browser, options = {}) {
  const ctx = await browser.newContext(options);
  await ctx.route(/^(?!https?:\/\/(127\.0\.0\.1|localhost)[:/])/, (route) => route.abort());
  return ctx;
}
