/**
 * The in-browser page in headless Chromium on wasm: it downloads the model once, reads it from
 * the Cache API afterwards, and generates (fixed seed) and scores exactly as the Deno server.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createApp } from "../server/app.ts";
import { serveModel } from "../server/models.ts";
import { loadModel } from "../shared/model_format.ts";
import { tempDir, useWasm } from "../shared/testing.ts";
import { buildWeb } from "./build.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
};

/** Chromium or, outside CI, a loud skip; under CI=true a missing browser fails the test. */
function haveChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const msg =
    `Chromium not found at "${CHROMIUM}" (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (Deno.env.get("CI") === "true") throw new Error(`${msg}; CI=true needs it`);
  console.warn(`\n*** SKIPPED web test: ${msg} ***\n`);
  return false;
}

/** The repository's web/dist/ and models/ as static files, as any file server would serve them. */
export function serveStatic(served: string[]): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const path = normalize(decodeURIComponent(new URL(req.url).pathname)).replace(/^\/+/, "");
    const file = path.endsWith("/") || path === "" ? join(path, "index.html") : path;
    if (!served.some((dir) => file.startsWith(dir + "/"))) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await readFile(join(ROOT, file));
      const type = TYPES[extname(file)] ?? "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

/** What the page's script measures and returns for one model opening. */
interface PageRun {
  cached: boolean;
  loadMs: number;
  ids: number[];
  firstTokenMs: number;
  score: { perplexity: number; nll: number; tokens: number };
}

const GENERATE = { prompt: "the company said", max_tokens: 40, temperature: 0.8, seed: 7 };
const TEXT = "The U.S. economy grew 3.5% in 1989. Analysts expected less.";

Deno.test({
  name: "the web page generates and scores in Chromium as the Deno server does, cached after once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!haveChromium()) return;
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

    const server = serveStatic(["web/dist", "models"]);
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
      page.setDefaultTimeout(30_000);
      const run = async (): Promise<PageRun> => {
        await page.goto(`http://127.0.0.1:${server.addr.port}/web/dist/`);
        await page.waitForFunction(() => "rotor" in window);
        return await page.evaluate(async ([g, text]) => {
          // deno-lint-ignore no-explicit-any
          const m = await (window as any).rotor.openModel("../../models/ptb-ugru/");
          const ids: number[] = [];
          const r = await m.generate(
            { prompt: g.prompt, maxTokens: g.max_tokens, temperature: g.temperature, seed: g.seed },
            (t: { id: number }) => ids.push(t.id),
          );
          return {
            cached: m.cached,
            loadMs: m.loadMs,
            ids,
            firstTokenMs: r.firstTokenMs,
            score: await m.score(text),
          };
        }, [GENERATE, TEXT] as const);
      };
      const first = await run();
      assert.equal(first.cached, false);
      assert.deepEqual(first.ids, deno.tokens.map((t: { id: number }) => t.id));
      assert.deepEqual(first.score, {
        perplexity: denoScore.perplexity,
        nll: denoScore.nll,
        tokens: denoScore.tokens,
      });
      const again = await run();
      assert.equal(again.cached, true, "the second visit reads the model from the Cache API");
      assert.deepEqual(again.ids, first.ids);
      console.log(
        `browser: model ready ${first.loadMs.toFixed(0)} ms downloaded, ` +
          `${again.loadMs.toFixed(0)} ms cached; first token ${again.firstTokenMs.toFixed(0)} ms`,
      );
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
