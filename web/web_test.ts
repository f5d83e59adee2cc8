/**
 * The in-browser page in headless Chromium on wasm: it downloads the model once, reads it from
 * the Cache API afterwards, and generates (fixed seed) and scores exactly as the Deno server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "../server/app.ts";
import { serveModel } from "../server/models.ts";
import { loadModel } from "../shared/model_format.ts";
import { tempDir, useWasm } from "../shared/testing.ts";
import { GENERATE } from "../edge/local.ts";
import { buildWeb } from "./build.ts";
import { haveChromium, launch, visit } from "./chromium.ts";
import { serveStatic } from "./serve.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const TEXT = "The U.S. economy grew 3.5% in 1989. Analysts expected less.";

Deno.test({
  name: "the web page generates and scores in Chromium as the Deno server does, cached after once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!haveChromium("web test")) return;
    await buildWeb();
    await useWasm();
    const model = serveModel("ptb-ugru", await loadModel(join(ROOT, "models/ptb-ugru")), {
      maxActive: 8,
      maxQueue: 8,
    });
    const app = createApp({ models: new Map([[model.name, model]]) });
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
    const browser = await launch(await tempDir("rotor-chromium-"));
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.setDefaultTimeout(30_000);
      const first = await visit(page, pageUrl, GENERATE, TEXT);
      assert.equal(first.cached, false);
      assert.deepEqual(first.ids, deno.tokens.map((t: { id: number }) => t.id));
      assert.deepEqual(first.score, {
        perplexity: denoScore.perplexity,
        nll: denoScore.nll,
        tokens: denoScore.tokens,
      });
      const again = await visit(page, pageUrl, GENERATE, TEXT);
      assert.equal(again.cached, true, "the second visit reads the model from the Cache API");
      assert.deepEqual(again.ids, first.ids);
      // The page's own buttons drive the same API.
      await page.click("#load");
      await page.waitForSelector("#load-stat:has-text('from the cache')");
      await page.click("#generate");
      await page.waitForSelector("#gen-stat:has-text('tokens/s')");
      assert.ok((await page.textContent("#out"))!.startsWith("the company said "));
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
