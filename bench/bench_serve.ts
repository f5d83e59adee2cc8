/**
 * `deno task bench:serve` (a benchmark, not a test): starts the real server (Deno) on a
 * model and measures, from a client over loopback HTTP, the time from process start to the
 * first streamed token, single-stream generation tokens/s, the aggregate tokens/s of N
 * concurrent streams (with the server's peak RSS under each load), and tokens/s scoring the
 * PTB test set through /v1/perplexity. `--json FILE` also writes the results for the
 * benchmark suite (bench/bench.ts).
 *
 * Without --model it saves an untrained uGRU (--hidden units) with the 10k PTB vocabulary
 * (same speed as a trained one) to a temp folder.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { initBackend } from "../shared/backend.ts";
import { parseModelConfig } from "../shared/config.ts";
import { initParams } from "../shared/model.ts";
import { ModelFileSchema, saveModel } from "../shared/model_format.ts";
import { ptbDir, ptbTokens, readPtbSplit } from "../shared/ptb.ts";
import { tempDir } from "../shared/testing.ts";
import { readTokens } from "./sse_tokens.ts";
import { buildVocab } from "../shared/vocab.ts";
import { DENO_SERVE_FLAGS } from "../server/startup.ts";
import { helpText, parseFlags, parseList, runCli } from "../shared/flags.ts";
import type { ServeBench } from "./results.ts";

const USAGE = "usage: deno task bench:serve [flags]";
const int = (min: number) => z.number().int().min(min);
export const SERVE_BENCH_FLAGS = {
  model: { schema: z.string().optional(), help: "Model folder (default: an untrained uGRU)" },
  hidden: { schema: int(1).default(256), help: "Hidden units of the untrained model" },
  streams: {
    schema: z.string().default("8,32"),
    help: "Concurrent stream counts, comma-separated",
  },
  tokens: {
    schema: int(1).default(300),
    help: "Tokens per concurrent stream (the single stream makes 3×)",
  },
  scoreLines: { schema: int(0).default(0), help: "PTB test lines to score (0: all)" },
  requests: {
    schema: int(0).default(10_000),
    help: "Short mixed requests to watch the server's RSS over (0: skip)",
  },
  data: { schema: z.string().optional(), help: "PTB folder (default $PTB_DIR, else data/ptb)" },
  json: { schema: z.string().optional(), help: "Also write the results to this JSON file" },
};

/** An untrained uGRU with the PTB vocabulary, saved to a temp folder (its own parent). */
export async function untrainedModel(data: string, hidden: number): Promise<string> {
  await initBackend("wasm");
  const vocab = buildVocab(ptbTokens(await readPtbSplit(data, "train")));
  const config = parseModelConfig({
    cell: "ugru",
    vocabSize: vocab.words.length,
    embedSize: hidden,
    hiddenSize: hidden,
    tieWeights: true,
  });
  const dir = join(await tempDir("rotor-bench-"), "ptb-ugru-untrained");
  await saveModel(dir, {
    config,
    params: initParams(config, 1),
    vocab,
    provenance: { command: "bench:serve (untrained)" },
  });
  return dir;
}

/** A field of /proc/PID/status in MB (10⁶ bytes), NaN where /proc is missing. */
async function procMB(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024 / 1e6;
}

/** What each of the mixed requests sends, and the status it must get. */
const MIXED: { path: string; body: Record<string, unknown>; status: number; abort?: boolean }[] = [
  { path: "/v1/generate", body: { max_tokens: 4, temperature: 1 }, status: 200 },
  { path: "/v1/generate", body: { max_tokens: 4, stream: false }, status: 200 },
  { path: "/v1/completions", body: { prompt: "the company", max_tokens: 4 }, status: 200 },
  {
    path: "/v1/perplexity",
    body: { text: "the company said profits rose", per_token: true },
    status: 200,
  },
  { path: "/v1/generate", body: { max_tokens: -1 }, status: 400 },
  { path: "/v1/generate", body: { max_tokens: 50, temperature: 1 }, status: 200, abort: true },
];

/**
 * `n` short requests, 16 at a time, cycling through MIXED (streamed and whole generations,
 * completions, scoring, a bad body, a stream the client leaves after its first chunk), with
 * the server's RSS read after every tenth of them: a leak shows as a rising series.
 */
async function churn(
  url: string,
  pid: number,
  n: number,
): Promise<NonNullable<ServeBench["requests"]>> {
  const t0 = performance.now();
  const rssMB: number[] = [];
  let next = 0, done = 0;
  const one = async (i: number) => {
    const m = MIXED[i % MIXED.length]!;
    const ac = new AbortController();
    const res = await fetch(url + m.path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...m.body, ...("max_tokens" in m.body ? { seed: i } : {}) }),
      signal: ac.signal,
    });
    if (res.status !== m.status) {
      throw new Error(
        `${m.path} answered ${res.status}, expected ${m.status}: ${await res.text()}`,
      );
    }
    if (m.abort) {
      await res.body!.getReader().read();
      ac.abort();
    } else await res.arrayBuffer();
  };
  const lane = async () => {
    while (next < n) {
      await one(next++).catch((err) => {
        if ((err as Error).name !== "AbortError") throw err;
      });
      if (++done % Math.ceil(n / 10) === 0) rssMB.push(await procMB(pid, "VmRSS"));
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const growthMB = rssMB[rssMB.length - 1]! - rssMB[0]!;
  console.log(
    `${`${n} mixed short requests, 16 at a time`.padEnd(50)}${seconds.toFixed(1)} s; RSS after ` +
      `each tenth ${rssMB.map((x) => x.toFixed(0)).join(", ")} MB (growth after the first tenth ` +
      `${growthMB >= 0 ? "+" : ""}${growthMB.toFixed(1)} MB)`,
  );
  return { n, seconds, rssMB, growthMB };
}

export async function benchServe(argv: string[]): Promise<ServeBench | undefined> {
  const f = parseFlags(SERVE_BENCH_FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, SERVE_BENCH_FLAGS));
  const counts = parseList(f.streams, "streams", int(1).max(256));
  const data = ptbDir(f.data);
  const modelDir = f.model ?? await untrainedModel(data, f.hidden);
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...DENO_SERVE_FLAGS, "server/main.ts"],
    env: {
      MODELS_DIR: dirname(modelDir),
      DEFAULT_MODEL: basename(modelDir),
      PORT: "0",
      MAX_ACTIVE_STREAMS: String(Math.max(32, ...counts)),
    },
    stdout: "piped",
  }).spawn();
  try {
    const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let log = "", url: string | undefined;
    while (!url) {
      const { value, done } = await out.read();
      if (done) throw new Error(`The server exited before listening:\n${log}`);
      log += value;
      url = /listening on (http:\/\/[\d.]+:\d+)\//.exec(log)?.[1];
    }
    void out.read().then(function drain(r): unknown {
      return r.done ? undefined : out.read().then(drain);
    });
    const post = (path: string, body: unknown) =>
      fetch(url + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    /**
     * Stream one generation; returns when its first token arrived, how many came, and the
     * longest wait for a chunk that carried tokens (the first one's counted from the request).
     */
    const stream = async (maxTokens: number, seed: number) => {
      const sent = performance.now();
      const res = await post("/v1/generate", { max_tokens: maxTokens, seed, temperature: 1 });
      if (!res.ok) throw new Error(`/v1/generate answered ${res.status}: ${await res.text()}`);
      const r = await readTokens(res.body!, { since: sent });
      if (r.first === undefined) throw new Error("/v1/generate streamed no token");
      return { first: r.first, n: r.n, maxGapMs: r.maxGapMs };
    };
    const rate = (tokens: number, t: number) => {
      const seconds = (performance.now() - t) / 1000;
      return { tokens, seconds, tokensPerS: tokens / seconds };
    };

    const firstTokenMs = (await stream(1, 1)).first - t0;
    console.log(`time from process start to first streamed token  ${firstTokenMs.toFixed(0)} ms`);
    await stream(50, 2); // warm-up

    let t = performance.now();
    const single = rate((await stream(f.tokens * 3, 3)).n, t);
    console.log(
      `single-stream generation                          ${single.tokensPerS.toFixed(0)} tokens/s`,
    );

    const streams: ServeBench["streams"] = [];
    for (const n of counts) {
      // RSS sampled while the streams run: the server's peak under this load.
      let peakRssMB = 0;
      const poll = setInterval(async () => {
        peakRssMB = Math.max(peakRssMB, await procMB(child.pid, "VmRSS"));
      }, 20);
      t = performance.now();
      const many = await Promise.all(
        Array.from({ length: n }, (_, i) => stream(f.tokens, 10 + i)),
      ).finally(() => clearInterval(poll));
      const r = rate(many.reduce((s, m) => s + m.n, 0), t);
      peakRssMB = Math.max(peakRssMB, await procMB(child.pid, "VmRSS"));
      streams.push({ n, ...r, peakRssMB });
      console.log(
        `${`${n} concurrent streams, aggregate`.padEnd(50)}${r.tokensPerS.toFixed(0)} tokens/s ` +
          `(${(r.tokensPerS / single.tokensPerS).toFixed(1)}× single), peak RSS ${
            peakRssMB.toFixed(0)
          } MB`,
      );
    }

    const requests = f.requests > 0 ? await churn(url, child.pid, f.requests) : undefined;

    let testText = await readPtbSplit(data, "test");
    if (f.scoreLines > 0) testText = testText.split("\n").slice(0, f.scoreLines).join("\n") + "\n";
    t = performance.now();
    const res = await post("/v1/perplexity", { text: testText, lines: true });
    if (!res.ok) throw new Error(`/v1/perplexity answered ${res.status}: ${await res.text()}`);
    const pp = await res.json() as { tokens: number; perplexity: number };
    const score = { lines: f.scoreLines, ...rate(pp.tokens, t), perplexity: pp.perplexity };
    console.log(
      `${`PTB test set through /v1/perplexity`.padEnd(50)}${pp.tokens} tokens in ${
        score.seconds.toFixed(1)
      } s = ${score.tokensPerS.toFixed(0)} tokens/s (perplexity ${pp.perplexity.toFixed(1)})`,
    );
    // Does scoring hold up generation? One stream while the same text is scored again.
    t = performance.now();
    const scoring = post("/v1/perplexity", { text: testText, lines: true }).then(async (r) => {
      if (!r.ok) throw new Error(`/v1/perplexity answered ${r.status}: ${await r.text()}`);
      await r.arrayBuffer();
      return (performance.now() - t) / 1000;
    });
    await new Promise((r) => setTimeout(r, 200)); // the scoring has started
    const ts = performance.now();
    const during = await stream(f.tokens * 3, 4);
    const duringRate = rate(during.n, ts);
    const scoreWhileStreaming = {
      tokensPerS: duringRate.tokensPerS,
      maxGapMs: during.maxGapMs,
      scoreSeconds: await scoring,
    };
    console.log(
      `${"one stream while the test set is scored".padEnd(50)}${
        duringRate.tokensPerS.toFixed(0)
      } tokens/s, longest gap ${during.maxGapMs.toFixed(0)} ms (scoring took ${
        scoreWhileStreaming.scoreSeconds.toFixed(1)
      } s)`,
    );
    const peakRssMB = await procMB(child.pid, "VmHWM");
    console.log(`${"server peak RSS over the run".padEnd(50)}${peakRssMB.toFixed(0)} MB`);

    const cfgLine = log.split("\n").find((l) => l.startsWith("model ")) ?? "";
    console.log(cfgLine);
    const { config } = ModelFileSchema.parse(
      JSON.parse(await readFile(join(modelDir, "model.json"), "utf8")),
    );
    const result: ServeBench = {
      tool: "bench:serve",
      model: cfgLine,
      hidden: config.hiddenSize,
      vocab: config.vocabSize,
      firstTokenMs,
      single,
      streams,
      score,
      scoreWhileStreaming,
      peakRssMB,
      ...(requests ? { requests } : {}),
    };
    if (f.json) await writeFile(f.json, JSON.stringify(result, null, 2) + "\n");
    return result;
  } finally {
    child.kill("SIGTERM");
    await child.status;
    if (!f.model) await rm(dirname(modelDir), { recursive: true });
  }
}

if (import.meta.main) runCli(async () => void (await benchServe(Deno.args)));
