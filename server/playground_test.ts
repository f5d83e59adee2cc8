/** The playground page in headless Chromium: generate sentences, score a text as a heat map. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { tempDir } from "../shared/testing.ts";
import { post, smallApp } from "./testing.ts";

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

/** Headless Chromium with a fresh profile; `phone` gives a 390 × 844 touch screen. */
async function launch(phone = false) {
  // A fresh profile per run; Playwright takes it as launchPersistentContext's first argument.
  return await chromium.launchPersistentContext(await tempDir("rotor-chromium-"), {
    executablePath: CHROMIUM,
    headless: true,
    ...(phone
      ? {
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
        deviceScaleFactor: 3,
      }
      : {}),
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
}

Deno.test({
  name: "GET / playground streams sentences after the prompt and shows a surprisal heat map",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!haveChromium()) return;
    const { app } = await smallApp();
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
    const browser = await launch();
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
      assert.ok(sentences.every((s) => s && s.length > 0), "no empty sentence box");
      assert.equal(await page.textContent("#prompt-shown"), "The company said");

      const text = "It said the zebra is 5.\nthe company";
      await page.fill("#score-text", text);
      await page.click("#score");
      await page.waitForSelector("#perplexity");
      const ppl = Number(await page.textContent("#perplexity"));
      assert.ok(ppl > 1 && ppl < 64, `perplexity ${ppl}`);
      assert.match((await page.textContent("#score-result"))!, /over 9 tokens \(2 unknown\)/);
      // The heat map holds /v1/perplexity's per-token numbers, one word each, OOV marked.
      const spans = await page.$$eval("#heat span.tok", (ss) =>
        ss.map((s) => ({
          text: s.textContent,
          logprob: Number(s.getAttribute("data-logprob")),
          oov: s.classList.contains("oov"),
          title: s.getAttribute("title") ?? "",
          style: s.getAttribute("style") ?? "",
        })));
      const want = (await (await app.request(post("/v1/perplexity", { text, per_token: true })))
        .json()).per_token as { token: string; logprob: number }[];
      assert.equal(spans.length, want.length);
      for (const [i, s] of spans.entries()) {
        assert.equal(s.text, want[i]!.token === "<eos>" ? "¶" : want[i]!.token);
        assert.ok(Math.abs(s.logprob - want[i]!.logprob) < 1e-9, `${i}: ${s.logprob}`);
        assert.equal(s.oov, ["zebra", "company"].includes(want[i]!.token)); // not in the tiny vocabulary
        assert.match(s.title, /log p = -\d+\.\d\d .*\nmost likely here: (\S+ -\d+\.\d\d, ){4}/s);
        assert.match(s.style, /background: rgb/);
      }
      assert.equal(await page.isVisible("#legend"), true);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});

Deno.test({
  name:
    "GET / playground on a 390 px phone: no sideways scroll, legend after scoring, details on tap, empty text refused",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!haveChromium()) return;
    const { app } = await smallApp();
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
    const browser = await launch(true);
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      let scored = 0;
      page.on("request", (r) => void (r.url().endsWith("/v1/perplexity") && scored++));
      page.setDefaultTimeout(10_000);
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      await page.waitForSelector("#model option", { state: "attached" });
      const width = () => page.$eval("html", (html) => html.scrollWidth);
      assert.equal(await width(), 390, "the page is wider than the phone");
      assert.equal(await page.isVisible("#legend"), false, "legend before anything is scored");

      await page.fill("#score-text", "  \n ");
      await page.tap("#score");
      await page.waitForSelector("#score-result.error");
      assert.equal(
        await page.textContent("#score-result"),
        "Type a text to score: an empty text has no perplexity",
      );
      assert.equal(scored, 0);
      assert.equal(await page.isVisible("#legend"), false);

      await page.fill("#score-text", "It said the zebra is 5.\nthe company expects a bigger stake");
      await page.tap("#score");
      await page.waitForSelector("#perplexity");
      assert.equal(await page.isVisible("#legend"), true);
      assert.equal(await width(), 390, "the scored page is wider than the phone");
      assert.equal(await page.isVisible("#word-detail"), false);
      await page.tap("#heat span.tok:nth-of-type(4)");
      const detail = (await page.textContent("#word-detail"))!;
      assert.match(
        detail,
        /^zebra: log p = -\d+\.\d\d .*\nnot in the vocabulary: scored as <unk>\nmost likely here: /s,
      );
      assert.doesNotMatch(detail, /<unk> -\d/, "an alternative is <unk>");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
