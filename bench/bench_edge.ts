/**
 * rotor at the edge, measured in one run (reports/edge.md): the Worker's bundle size, cold
 * start to the first streamed token, one- and 32-stream generation speed under workerd beside
 * the Deno server, the isolate's memory after the heaviest admitted requests, and the page in
 * headless Chromium (first token with the model downloaded and cached, tokens/s).
 *
 *   deno run -A bench/bench_edge.ts [--runs 3]
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildEdge, EDGE_DIST, WASM_FILE } from "../edge/build.ts";
import { EDGE_LIMITS } from "../edge/config.ts";
import { startLocalEdge } from "../edge/local.ts";
import { buildWeb, WEB_DIST } from "../web/build.ts";
import { haveChromium, launch, visit } from "../web/chromium.ts";
import { serveStatic } from "../web/serve.ts";
import { tempDir } from "../shared/testing.ts";
import { DENO_SERVE_FLAGS } from "../server/startup.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const runs = Number(Deno.args[Deno.args.indexOf("--runs") + 1] || 3);

async function gzipBytes(path: string): Promise<number> {
  const stream = new Blob([await readFile(path)]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return (await new Response(stream).arrayBuffer()).byteLength;
}

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** Milliseconds from now to the first `event: token` of a streamed generation. */
async function firstToken(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await post(url + "/v1/generate", { prompt: "the company said", max_tokens: 20 });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("event: token")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`no token streamed: ${text}`);
    text += value;
  }
  const ms = performance.now() - t0;
  await reader.cancel();
  return ms;
}

/** Generated tokens per wall-clock second: one stream of 500, and 32 streams of 200 at once. */
async function throughput(url: string) {
  await (await post(url + "/v1/generate", { max_tokens: 50, seed: 99, stream: false })).json();
  let t0 = performance.now();
  const one = await (await post(url + "/v1/generate", {
    prompt: "the",
    max_tokens: 500,
    seed: 1,
    stream: false,
  })).json();
  const single = one.generated_tokens / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  const many = await Promise.all(
    Array.from(
      { length: 32 },
      (_, i) =>
        post(url + "/v1/generate", { max_tokens: 200, seed: i, stream: false }).then((r) =>
          r.json()
        ),
    ),
  );
  const total = many.reduce((n, r) => n + r.generated_tokens, 0);
  return { single, streams32: total / ((performance.now() - t0) / 1000) };
}

/** The Deno server (server/main.ts, as `deno task start` runs it) on the shipped models. */
async function startDeno(): Promise<{ url: string; spawnedAt: number; stop(): Promise<void> }> {
  const spawnedAt = performance.now();
  const child = new Deno.Command(join(ROOT, "node_modules/.bin/deno"), {
    args: ["run", "-A", ...DENO_SERVE_FLAGS, "server/main.ts"],
    cwd: ROOT,
    env: { PORT: "0", MODELS_DIR: join(ROOT, "models") },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let log = "", url: string | undefined;
  while (!url) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`the Deno server did not start:\n${log}`);
    log += value;
    url = /listening on (http:\/\/[\d.]+:\d+)\//.exec(log)?.[1];
  }
  return {
    url,
    spawnedAt,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await lines.cancel().catch(() => {});
    },
  };
}

const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
const out: string[] = [];
const say = (line: string) => {
  out.push(line);
  console.log(line);
};

// Bundle sizes.
await buildEdge();
await buildWeb();
const worker = await gzipBytes(join(EDGE_DIST, "worker.js"));
const wasm = await gzipBytes(join(EDGE_DIST, WASM_FILE));
// The page loads rotor.js and the chunks it imports statically; the webgpu chunk only on use.
const rotorJs = await readFile(join(WEB_DIST, "rotor.js"), "utf8");
const eager = [...rotorJs.matchAll(/from\s*"\.\/(chunk-[A-Z0-9]+\.js)"/g)].map((m) => m[1]!);
const lazy = [...rotorJs.matchAll(/import\(\s*"\.\/(chunk-[A-Z0-9]+\.js)"\s*\)/g)].map((m) =>
  m[1]!
);
let page = 0, gpu = 0;
for (const f of ["rotor.js", ...eager]) page += await gzipBytes(join(WEB_DIST, f));
for (const f of lazy) gpu += await gzipBytes(join(WEB_DIST, f));
say(
  `bundle (gzip): worker.js ${(worker / 1024).toFixed(0)} KiB + ${WASM_FILE} ${
    (wasm / 1024).toFixed(0)
  } KiB = ${((worker + wasm) / 1024).toFixed(0)} KiB; web rotor.js + ${eager.length} chunk ${
    (page / 1024).toFixed(0)
  } KiB (webgpu chunk, loaded on use: ${(gpu / 1024).toFixed(0)} KiB)`,
);

// Cold starts: a fresh workerd (or Deno server) each time, to its first streamed token.
const edgeCold: { spawn: number; request: number }[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const edge = await startLocalEdge({ build: false });
  const request = await firstToken(edge.url);
  edgeCold.push({ spawn: performance.now() - t0, request });
  await edge.stop();
}
say(
  `workerd cold start to first token, from process start: ${fmt(edgeCold.map((c) => c.spawn))} ms`,
);
say(
  `  of which the first request (model fetched, wasm started): ${
    fmt(edgeCold.map((c) => c.request))
  } ms`,
);
const denoCold: number[] = [];
for (let i = 0; i < runs; i++) {
  const deno = await startDeno();
  await firstToken(deno.url);
  denoCold.push(performance.now() - deno.spawnedAt);
  await deno.stop();
}
say(`Deno server start to first token: ${fmt(denoCold)} ms`);

// Throughput and memory: workerd, then Deno.
const edge = await startLocalEdge({ build: false });
const edgeSpeed = await throughput(edge.url);
// One text of 9,500 tokens: the 10-column layout, the largest working set scoring has.
const score = await post(edge.url + "/v1/perplexity", {
  text: "the company said it expects N N of sales .\n".repeat(950),
  lines: true,
});
const scored = await score.json();
const prompt = Array.from({ length: EDGE_LIMITS.maxPromptTokens }, (_, i) => i % 9000);
await (await post(edge.url + "/v1/completions", { prompt, max_tokens: 1, echo: true, logprobs: 5 }))
  .text();
const metrics = await (await fetch(edge.url + "/metrics")).text();
const wasmHeap = Number(/wasm_heap"\} (\d+)/.exec(metrics)![1]);
const heap = await edge.heap();
await edge.stop();
const deno = await startDeno();
const denoSpeed = await throughput(deno.url);
await deno.stop();
say(
  `tokens/s, 1 stream: workerd ${edgeSpeed.single.toFixed(0)}, Deno ${denoSpeed.single.toFixed(0)}`,
);
say(
  `tokens/s, 32 streams: workerd ${edgeSpeed.streams32.toFixed(0)}, Deno ${
    denoSpeed.streams32.toFixed(0)
  }`,
);
const mb = (n: number) => (n / 1e6).toFixed(1);
say(
  `isolate after scoring ${scored.tokens} tokens, a ${prompt.length}-token echo and 32 streams: ` +
    `wasm heap ${mb(wasmHeap)} MB + JS heap ${mb(heap.totalBytes)} MB (${
      mb(heap.usedBytes)
    } used) ` +
    `= ${mb(wasmHeap + heap.totalBytes)} MB`,
);

// The page in Chromium: a fresh profile (download), then the same page again (cache).
if (haveChromium("browser measurements")) {
  const server = serveStatic();
  const url = `http://127.0.0.1:${server.addr.port}/web/dist/`;
  say(`load average before the browser part: ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  const browser = await launch(await tempDir("rotor-chromium-"));
  try {
    const tab = await browser.newPage();
    tab.setDefaultTimeout(120_000);
    const g = { prompt: "the company said", max_tokens: 500, temperature: 1, seed: 1 };
    const text = "The U.S. economy grew 3.5% in 1989.";
    for (const label of ["downloaded", "cached", "cached"]) {
      const r = await visit(tab, url, g, text);
      const ph = r.phases;
      say(
        `browser (${label}${r.cached ? "" : ", not cached"}, ${r.backend}): model ready ${
          r.loadMs.toFixed(0)
        } ms (backend ${ph.backendMs.toFixed(0)} ms and files ${
          ph.filesMs.toFixed(0)
        } ms side by side, then checks and tensors ${ph.buildMs.toFixed(0)} ms), ` +
          `first token ${r.firstTokenMs.toFixed(0)} ms after, ${
            (r.loadMs + r.firstTokenMs).toFixed(0)
          } ms in all; ` +
          `${r.tokensPerS.toFixed(0)} tokens/s over ${r.ids.length} tokens`,
      );
    }
  } finally {
    await browser.close();
    await server.shutdown();
  }
}
const esbuild = await import("esbuild");
await esbuild.stop();
