/** The playground page in headless Chromium: generate sentences, score a text. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { tempDir } from "../shared/testing.ts";
import { smallApp } from "./testing.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Chromium or, outside CI, a loud skip; under CI=true a missing browser fails the test. */
function haveChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const msg =
    `Chromium not found at "${CHROMIUM}" (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (Deno.env.get("CI") === "true") throw new Error(`${msg}; CI=true needs it`);
  console.warn(`\n*** SKIPPED playground test: ${msg} ***\n`);
  return false;
}

Deno.test({
  name: "GET / playground streams sentences and shows a perplexity in Chromium",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!haveChromium()) return;
    const { app } = await smallApp();
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
    // A fresh profile per run; Playwright takes it as launchPersistentContext's first argument.
    const browser = await chromium.launchPersistentContext(await tempDir("rotor-chromium-"), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      page.setDefaultTimeout(10_000);
      await page.waitForSelector("#model option", { state: "attached" });
      await page.fill("#prompt", "The company said");
      await page.fill("#max-sentences", "2");
      await page.fill("#max-tokens", "300");
      await page.fill("#seed", "4");
      await page.click("#generate");
      await page.waitForSelector("#sentences p:nth-child(2)");
      await page.waitForSelector("#gen-stat:has-text('finished: sentences')");
      const sentences = await page.$$eval("#sentences p", (ps) => ps.map((p) => p.textContent));
      assert.equal(sentences.length, 2);
      assert.ok(sentences.every((s) => s && s.length > 0));

      await page.fill("#score-text", "It said the company is N.");
      await page.click("#score");
      await page.waitForSelector("#perplexity");
      const ppl = Number(await page.textContent("#perplexity"));
      assert.ok(ppl > 1 && ppl < 64, `perplexity ${ppl}`);
      assert.match((await page.textContent("#score-result"))!, /over 7 tokens/);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
