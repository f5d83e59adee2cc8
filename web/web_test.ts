/**
 * The in-browser page in headless Chromium on wasm: it downloads the model once, reads it from
 * the Cache API afterwards, and generates (fixed seed) and scores exactly as the Deno server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "../server/app.ts";
import { loadModelsSkipping } from "../server/models.ts";
import { tempDir, useWasm } from "../shared/testing.ts";
import { GENERATE } from "../edge/local.ts";
import { buildWeb } from "./build.ts";
import { haveChromium, launch, visit } from "./chromium.ts";
import { serveStatic } from "./serve.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const TEXT = "The U.S. economy grew 3.5% in 1989. Analysts expected less.";

Deno.test({
  name:
    "the web page generates and scores in Chromium as the Deno server does, cached after once, also from the server's /web/",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!haveChromium("web test")) return;
    await buildWeb();
    await useWasm();
    const { models } = await loadModelsSkipping(
      new Map([["ptb-ugru", join(ROOT, "models/ptb-ugru")]]),
      { maxActive: 8, maxQueue: 8 },
    );
    const app = createApp({ models });
    const ask = async (path: string, body: unknown) =>
      await (await app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      })).json();
    const deno = await ask("/v1/generate", { ...GENERATE, stream: false });
    const denoScore = await ask("/v1/perplexity", { text: TEXT });

    const server = serveStatic();
    const pageUrl = `http://127.0.0.1:${server.addr.port}/web/dist/`;
    // The same page from the server itself, under its Content-Security-Policy, loading the
    // model from the server's /models/ route.
    const api = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
    const apiPageUrl = `http://127.0.0.1:${api.addr.port}/web/`;
    const browser = await launch(await tempDir("rotor-chromium-"));
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.setDefaultTimeout(30_000);
      const first = await visit(page, pageUrl, GENERATE, TEXT);
      assert.equal(first.cached, false);
      // Chromium here has no hardware WebGPU adapter (at most a software one): wasm.
      assert.equal(first.backend, "wasm");
      assert.deepEqual(first.ids, deno.tokens.map((t: { id: number }) => t.id));
      assert.deepEqual(first.score, {
        perplexity: denoScore.perplexity,
        nll: denoScore.nll,
        tokens: denoScore.tokens,
      });
      // The checked files' hashes are recorded: the next load from the cache skips hashing.
      const verified = await page.evaluate(() =>
        Object.keys(localStorage).filter((k) => k.startsWith("rotor-verified:")).sort()
      );
      assert.deepEqual(verified.map((k) => k.split("/").at(-1)), ["vocab.txt", "weights.bin"]);
      const again = await visit(page, pageUrl, GENERATE, TEXT);
      assert.equal(again.cached, true, "the second visit reads the model from the Cache API");
      assert.deepEqual(again.ids, first.ids);
      // The page's own buttons drive the same API.
      await page.click("#load");
      await page.waitForSelector("#load-stat:has-text('from the cache')");
      await page.click("#generate");
      await page.waitForSelector("#gen-stat:has-text('tokens/s')");
      assert.ok((await page.textContent("#out"))!.startsWith("the company said "));
      const fromServer = await visit(page, apiPageUrl, GENERATE, TEXT);
      assert.equal(fromServer.cached, false, "another origin has its own cache");
      assert.deepEqual(fromServer.ids, first.ids);
      assert.deepEqual(fromServer.score, first.score);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.shutdown();
      await api.shutdown();
    }
  },
});
