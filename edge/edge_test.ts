/**
 * The Worker under workerd (from npm) on loopback, checked against the Deno server's app
 * in-process on the same model: the same answers (fixed-seed generation token for token,
 * perplexity, completions with echo and logprobs, limits), and an isolate that stays under
 * Cloudflare's 128 MB after the heaviest requests the edge admits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "../server/app.ts";
import { serveModel } from "../server/models.ts";
import { loadModel } from "../shared/model_format.ts";
import { createPrng } from "../shared/prng.ts";
import { useWasm } from "../shared/testing.ts";
import { EDGE_LIMITS } from "./config.ts";
import { GENERATE, startLocalEdge } from "./local.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Cloudflare's memory limit of one isolate. */
const ISOLATE_LIMIT = 128 * 1000 * 1000;

/** The Deno server's app over the model the Worker serves, with the edge's limits. */
async function denoApp() {
  await useWasm();
  const model = serveModel("ptb-ugru", await loadModel(join(ROOT, "models/ptb-ugru")), {
    maxActive: 32,
    maxQueue: 64,
  });
  return createApp({
    models: new Map([[model.name, model]]),
    backend: "wasm",
    limits: EDGE_LIMITS,
  });
}

/** The Bun server (server/main_bun.ts) on the shipped models, on a free loopback port. */
async function startBun(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(join(ROOT, "node_modules/.bin/bun"), {
    args: ["server/main_bun.ts"],
    cwd: ROOT,
    env: { PORT: "0", MODELS_DIR: join(ROOT, "models"), SCORE_WORKERS: "0" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let log = "", url: string | undefined;
  while (!url) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`the Bun server did not start:\n${log}`);
    log += value;
    url = /listening on (http:\/\/[\d.]+:\d+)\//.exec(log)?.[1];
  }
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await lines.cancel().catch(() => {});
    },
  };
}

/**
 * Short lower-case vocabulary words in a seeded order, 20 to a line: `lines` of them. Short, so
 * that a text of 5,000 tokens stays under the Deno server's 32 KB for tokenizing on a worker.
 */
function wordText(words: readonly string[], lines: number, seed: number): string {
  const plain = words.filter((w) => /^[a-z]{1,5}$/.test(w));
  const prng = createPrng(seed);
  return Array.from(
    { length: lines },
    () => Array.from({ length: 20 }, () => plain[prng.int(plain.length)]!).join(" "),
  ).join("\n");
}

/** A response as a comparable value: status and JSON body, without what differs by design. */
async function answer(res: Response) {
  const body = await res.json();
  for (const k of ["id", "created", "timings"]) delete body[k];
  return { status: res.status, body };
}

/** An SSE body's frames with the `done` event's timings left out. */
async function sseFrames(res: Response): Promise<string[]> {
  const text = await res.text();
  return text.split("\n\n").filter((f) => f !== "").map((f) =>
    f.replace(/,"timings":\{[^}]*\}/, "")
  );
}

Deno.test({
  name: "the Worker under workerd answers as the Deno server does, within 128 MB",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    // Bun's server starts meanwhile; it is asked for the fixed-seed generation too.
    const [edge, deno, bun] = await Promise.all([startLocalEdge(), denoApp(), startBun()]);
    const post = (path: string, body: unknown) => {
      const init = {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      };
      return Promise.all([
        fetch(edge.url + path, init),
        deno.request(new Request("http://localhost" + path, init)),
      ]);
    };
    try {
      await t.step("a fixed-seed generation is token-identical", async () => {
        const [e, d] = await post("/v1/generate", { ...GENERATE, stream: false });
        const [a, b] = [await answer(e), await answer(d)];
        assert.equal(a.status, 200);
        assert.equal(a.body.tokens.length, 40);
        assert.deepEqual(a, b);
        const [es, ds] = await post("/v1/generate", { prompt: "stocks fell", seed: 11 });
        assert.deepEqual(await sseFrames(es), await sseFrames(ds));
        // And Bun's server gives the same tokens.
        const res = await fetch(bun.url + "/v1/generate", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ...GENERATE, model: "ptb-ugru", stream: false }),
        });
        assert.deepEqual(await answer(res), a);
      });

      await t.step("perplexity is equal, short texts and the long-text layout", async () => {
        const text = "The U.S. economy grew 3.5% in 1989. Analysts expected less.";
        let [e, d] = await post("/v1/perplexity", { text, per_token: true });
        assert.deepEqual(await answer(e), await answer(d));
        const long = wordText(await vocabWords(), 240, 5); // 5,040 tokens: 10 columns
        [e, d] = await post("/v1/perplexity", { text: long, lines: true });
        const a = await answer(e);
        assert.equal(a.body.tokens, 5040);
        assert.deepEqual(a, await answer(d));
      });

      await t.step("completions with echo and logprobs are equal", async () => {
        const [e, d] = await post("/v1/completions", {
          prompt: ["the market", "interest rates rose"],
          max_tokens: 6,
          logprobs: 3,
          echo: true,
          seed: 3,
        });
        const [a, b] = [await answer(e), await answer(d)];
        assert.equal(a.status, 200);
        assert.equal(a.body.choices.length, 2);
        assert.deepEqual(a, b);
      });

      await t.step("limits and errors have the Deno server's status and body", async () => {
        // 10,017 tokens in texts of 2,100 or fewer, each tokenized in the request's thread.
        const lines = wordText(await vocabWords(), 477, 6).split("\n");
        const tooMany = Array.from(
          { length: 5 },
          (_, i) => lines.slice(100 * i, 100 * (i + 1)).join("\n"),
        );
        for (
          const [path, body] of [
            ["/v1/generate", { max_tokens: 5000 }],
            ["/v1/generate", { prompt: "x", model: "nope" }],
            ["/v1/perplexity", { texts: tooMany, lines: true }],
            ["/v1/perplexity", "{not json"],
            ["/v1/completions", { prompt: "the", n: 17 }],
            ["/v1/generate", "x".repeat(EDGE_LIMITS.maxBodyBytes + 1)],
          ] as const
        ) {
          const [e, d] = await post(path, body);
          const [a, b] = [await answer(e), await answer(d)];
          assert.ok(a.status >= 400, `${path} answered ${a.status}`);
          assert.deepEqual(a, b, path);
        }
      });

      await t.step(
        "the isolate stays under 128 MB after the heaviest admitted requests",
        async () => {
          // The most scoring one request may ask (EDGE_LIMITS.maxScoreTokens), then the longest
          // prompt echoed with logprobs, then a full batch of streams.
          const score = wordText(await vocabWords(), 476, 8); // 9,996 tokens
          const postEdge = (path: string, body: unknown) =>
            fetch(edge.url + path, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(body),
            });
          let e = await postEdge("/v1/perplexity", { text: score, lines: true });
          assert.equal((await answer(e)).body.tokens, 9_996);
          const prompt = Array.from({ length: EDGE_LIMITS.maxPromptTokens }, (_, i) => i % 9000);
          e = await postEdge("/v1/completions", { prompt, max_tokens: 1, echo: true, logprobs: 5 });
          assert.equal(e.status, 200);
          await e.body?.cancel();
          const streams = await Promise.all(
            Array.from(
              { length: 32 },
              (_, i) =>
                postEdge("/v1/generate", { max_tokens: 50, seed: i, stream: false }).then((r) =>
                  r.json()
                ),
            ),
          );
          assert.ok(streams.every((s) => s.generated_tokens === 50));
          const metrics = await (await fetch(edge.url + "/metrics")).text();
          const wasm = Number(metrics.match(/rotor_memory_bytes\{kind="wasm_heap"\} (\d+)/)![1]);
          const heap = await edge.heap();
          const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
          console.log(
            `isolate: JS heap ${mb(heap.usedBytes)} used of ${mb(heap.totalBytes)}, wasm heap ${
              mb(wasm)
            }`,
          );
          assert.ok(wasm > 0);
          assert.ok(heap.totalBytes + wasm < ISOLATE_LIMIT, `${mb(heap.totalBytes + wasm)} in all`);
        },
      );
    } finally {
      await Promise.all([edge.stop(), bun.stop()]);
    }
  },
});

let vocab: Promise<string[]> | undefined;
function vocabWords(): Promise<string[]> {
  vocab ??= Deno.readTextFile(join(ROOT, "models/ptb-ugru/vocab.txt")).then((t) =>
    t.split("\n").filter((w) => w !== "")
  );
  return vocab;
}
