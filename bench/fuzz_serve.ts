/**
 * `deno task fuzz:serve`: a hostile client against the real server (Deno and Bun), over
 * loopback only, seeded and bounded in count and time. It sends `--cases` generated requests
 * (bench/fuzz_cases.ts: every route, every category of bad input), then the heavy cases that
 * used to freeze or poison the server while it watches /health and a concurrent stream, and
 * slow-body clients. The whole workload runs twice, a warm-up pass (another seed) and the
 * measured one: the server's RSS must not grow by more than 50 MB between them. It prints the
 * status counts, any 5xx, /health p99, the longest gap between a stream's tokens and the
 * server's memory, and exits non-zero on a 5xx, a poisoned server (not healthy, or a seeded
 * generation or score that changed), or a stall over the target.
 */
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { tempDir } from "../shared/testing.ts";
import { helpText, parseFlags, parseList, runCli } from "../shared/flags.ts";
import { untrainedModel } from "./bench_serve.ts";
import { type FuzzCase, fuzzCases } from "./fuzz_cases.ts";
import { probeHealth, quantile, slowBody, watchStream } from "./fuzz_probe.ts";
import { DEFAULT_LIMITS } from "../server/limits.ts";
import { DENO_SERVE_FLAGS } from "../server/startup.ts";
import { ptbDir } from "../shared/ptb.ts";

const USAGE = "usage: deno task fuzz:serve [flags]";
const int = (min: number) => z.number().int().min(min);
export const FUZZ_FLAGS = {
  runtimes: { schema: z.string().default("deno,bun"), help: "Servers to run: deno, bun or both" },
  cases: { schema: int(1).default(1300), help: "Generated requests per server" },
  seed: { schema: int(0).default(1), help: "Seed of the generated requests" },
  model: { schema: z.string().optional(), help: "Model folder (default: an untrained PTB uGRU)" },
  hidden: { schema: int(1).default(256), help: "Hidden units of the untrained model" },
  heavy: { schema: z.boolean().default(true), help: "Run the timed heavy cases" },
  slowClients: { schema: int(0).default(20), help: "Clients sending a byte every 500 ms" },
  warmUps: { schema: int(0).default(2), help: "Warm-up passes of the workload before RSS is read" },
  targetMs: { schema: int(1).default(100), help: "/health p99 and stream gap target (ms)" },
  timeLimit: { schema: int(1).default(900), help: "Seconds per server before giving up" },
  data: { schema: z.string().optional(), help: "PTB folder (default $PTB_DIR, else data/ptb)" },
  json: { schema: z.string().optional(), help: "Also write the results to this JSON file" },
};

export interface FuzzResult {
  runtime: string;
  cases: number;
  statuses: Record<string, number>;
  serverErrors: string[];
  heavy: { name: string; status: number; want: number; ms: number; healthMaxMs: number }[];
  healthP99Ms: number;
  healthMaxMs: number;
  healthBad: number;
  streamMaxGapMs: number;
  slowBodies: Record<string, number>;
  /** The steady state: the highest RSS after a warm-up pass (or at the start without one). */
  rssWarmMB: number;
  rssAfterMB: number;
  /** RSS after each warm-up pass, in MB. */
  rssPassesMB: number[];
  /** The server's own account (/metrics rotor_memory_bytes) after warm-up and after, in MB. */
  memoryWarmMB: Record<string, number>;
  memoryAfterMB: Record<string, number>;
  peakRssMB: number;
  poisoned: string | null;
  seconds: number;
  failures: string[];
}

export async function rssMB(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024 / 1e6;
}

/** The server's memory by kind, from its /metrics, in MB. */
export async function serverMemoryMB(url: string): Promise<Record<string, number>> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text()).catch(() => "");
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^rotor_memory_bytes\{kind="(\w+)"\} (\S+)$/gm)) {
    out[m[1]!] = Number(m[2]) / 1e6;
  }
  return out;
}

/** A models folder with the model and a hostile folder whose model.json names /etc/passwd. */
export async function modelsFolder(model: string): Promise<string> {
  const parent = await tempDir("rotor-fuzz-");
  await symlink(resolve(model), join(parent, "model"));
  await mkdir(join(parent, "escape"));
  const meta = JSON.parse(await readFile(join(model, "model.json"), "utf8"));
  meta.vocab.file = "../../../../../../etc/passwd";
  await writeFile(join(parent, "escape", "model.json"), JSON.stringify(meta));
  return parent;
}

/** Start a server; resolves with its URL and process once it listens. */
export async function startServer(runtime: string, modelsDir: string, env: Record<string, string>) {
  const root = new URL("..", import.meta.url).pathname;
  const cmd = runtime === "bun"
    ? [join(root, "node_modules/.bin/bun"), join(root, "server/main_bun.ts")]
    : [Deno.execPath(), "run", "-A", ...DENO_SERVE_FLAGS, join(root, "server/main.ts")];
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env: { ...env, MODELS_DIR: modelsDir, DEFAULT_MODEL: "model", PORT: "0", HOST: "127.0.0.1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url && Date.now() < deadline) {
    const { value, done } = await out.read();
    if (done) break;
    log += value;
    url = /listening on (http:\/\/[\d.]+:\d+)\//.exec(log)?.[1];
  }
  if (!url) {
    child.kill("SIGKILL");
    throw new Error(`The ${runtime} server did not start:\n${log}`);
  }
  // Keep reading its output so the pipes never fill; stderr has the skipped folder's line.
  let errLog = "";
  void (async () => {
    for (;;) if ((await out.read().catch(() => ({ done: true }))).done) break;
  })();
  void (async () => {
    for await (const s of child.stderr.pipeThrough(new TextDecoderStream())) errLog += s;
  })().catch(() => {});
  return { url, child, errLog: () => errLog };
}

/** How long a heavy case may take: scoring four 4,900-token texts on one thread takes ~30 s. */
const HEAVY_TIMEOUT_MS = 300_000;

/** Send one case; its status (0: no answer), with a time limit. */
async function send(url: string, c: FuzzCase, timeoutMs = 60_000): Promise<number> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url + c.path, {
      method: c.method,
      headers: c.headers,
      body: c.method === "GET" || c.method === "HEAD" ? undefined : c.body as BodyInit | undefined,
      signal: ac.signal,
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

const post = (path: string, body: unknown): FuzzCase => ({
  category: "heavy",
  method: "POST",
  path,
  headers: { "content-type": "application/json" },
  body: new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body)),
});

/** The requests that froze, poisoned or broke the server, at and past their budgets. */
function heavyCases(): { name: string; c: FuzzCase; want: number }[] {
  const L = DEFAULT_LIMITS;
  const maxPrompt = "the ".repeat(L.maxPromptTokens);
  // Ten tokens a sentence, <eos> included; under 5,000 tokens a text is scored on the main thread.
  const text = (n: number) => "the company said it would buy a stake . ".repeat(Math.ceil(n / 10));
  return [
    {
      name: "generate, longest prompt",
      c: post("/v1/generate", { prompt: maxPrompt, max_tokens: 4, stream: false }),
      want: 200,
    },
    {
      name: "echo + logprobs, longest prompt",
      c: post("/v1/completions", { prompt: maxPrompt, max_tokens: 0, echo: true, logprobs: 5 }),
      want: 200,
    },
    {
      name: "the poisoning echo (60,000 tokens)",
      c: post("/v1/completions", {
        prompt: "the ".repeat(60_000),
        max_tokens: 0,
        echo: true,
        logprobs: 5,
      }),
      want: 413,
    },
    {
      name: "generate, 99,998-character prompt",
      c: post("/v1/generate", { prompt: "the ".repeat(25_000).slice(0, 99_998) }),
      want: 413,
    },
    {
      name: "perplexity, 4,900 tokens here",
      c: post("/v1/perplexity", { text: text(4_900), per_token: true }),
      want: 200,
    },
    {
      name: "perplexity, texts 4 × 4,900 tokens",
      c: post("/v1/perplexity", { texts: Array(4).fill(text(4_900)) }),
      want: 200,
    },
    {
      name: "perplexity, 20,000 tokens on workers",
      c: post("/v1/perplexity", { text: text(20_000) }),
      want: 200,
    },
    {
      name: "detokenize, most ids",
      c: post("/detokenize", { ids: Array(L.maxDetokenizeIds).fill(2) }),
      want: 200,
    },
    {
      name: "detokenize, 200,000 ids",
      c: post("/detokenize", { ids: Array(200_000).fill(2) }),
      want: 413,
    },
    {
      name: 'tokenize, ")" × 900,000 + "a"',
      c: post("/tokenize", { text: ")".repeat(900_000) + "a" }),
      want: 200,
    },
    {
      name: "tokenize, 990 KB of text",
      c: post("/tokenize", { text: text(200_000).slice(0, 990_000) }),
      want: 200,
    },
    {
      name: "array nested 50,000 deep",
      c: post("/v1/generate", "[".repeat(50_000) + "]".repeat(50_000)),
      want: 400,
    },
    { name: "5 MB body", c: post("/v1/perplexity", { text: "a".repeat(5_000_000) }), want: 413 },
  ];
}

/** A seeded generation and score, to compare before and after: a poisoned heap changes them. */
async function fingerprint(url: string): Promise<string> {
  const g = await fetch(`${url}/v1/generate`, {
    method: "POST",
    body: JSON.stringify({ prompt: "the company", max_tokens: 20, seed: 7, stream: false }),
  }).then((r) => r.json());
  const p = await fetch(`${url}/v1/perplexity`, {
    method: "POST",
    body: JSON.stringify({ text: "the company said it would buy a stake .", per_token: true }),
  }).then((r) => r.json());
  return JSON.stringify([g.tokens, p.per_token]);
}

/**
 * One pass of the workload: the generated cases 8 at a time, then the heavy cases one after the
 * other while /health, a concurrent stream and slow-body clients are watched.
 */
async function fuzzPass(
  url: string,
  port: number,
  f: { cases: number; seed: number; heavy: boolean; slowClients: number },
) {
  const statuses: Record<string, number> = {};
  const serverErrors: string[] = [], failures: string[] = [];
  const count = (status: number, what: string) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status >= 500 || status === 0) serverErrors.push(`${status} ${what}`);
  };
  const it = fuzzCases(f.seed, f.cases, DEFAULT_LIMITS);
  const lane = async () => {
    for (let n = it.next(); !n.done; n = it.next()) {
      count(await send(url, n.value), `${n.value.category} ${n.value.method} ${n.value.path}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));

  const heavy = f.heavy ? heavyCases() : [];
  const probe = probeHealth(url);
  const stream = watchStream(url);
  const slow = Promise.all(
    Array.from({ length: f.slowClients }, () => slowBody("127.0.0.1", port)),
  );
  const heavyOut: FuzzResult["heavy"] = [];
  for (const h of heavy) {
    const t = performance.now();
    const status = await send(url, h.c, HEAVY_TIMEOUT_MS);
    const end = performance.now();
    await new Promise((r) => setTimeout(r, 100)); // the probe in flight comes back
    const healthMaxMs = probe.maxBetween(t, end);
    heavyOut.push({ name: h.name, status, want: h.want, ms: end - t, healthMaxMs });
    count(status, `heavy: ${h.name}`);
    if (status !== h.want) failures.push(`${h.name}: ${status}, expected ${h.want}`);
  }
  const slowBodies: Record<string, number> = {};
  for (const s of await slow) slowBodies[s] = (slowBodies[s] ?? 0) + 1;
  if (f.slowClients > 0 && slowBodies["408"] !== f.slowClients) {
    failures.push(`slow bodies answered ${JSON.stringify(slowBodies)}, expected all 408`);
  }
  const { ms, bad } = await probe.stop();
  const { maxGapMs } = await stream.stop();
  return { statuses, serverErrors, failures, heavyOut, slowBodies, ms, bad, maxGapMs };
}

/** Run every generated and heavy case against one server, after a warm-up pass. */
export async function fuzzServer(
  runtime: string,
  modelsDir: string,
  f: {
    cases: number;
    seed: number;
    heavy: boolean;
    slowClients: number;
    targetMs: number;
    /** Passes of the whole workload before RSS is read (the full run 2; the test's short run 0). */
    warmUps: number;
  },
  env: Record<string, string> = {},
): Promise<FuzzResult> {
  const t0 = performance.now();
  const { url, child, errLog } = await startServer(runtime, modelsDir, env);
  const failures: string[] = [];
  const statuses: Record<string, number> = {};
  const serverErrors: string[] = [];
  try {
    const health = await (await fetch(`${url}/health`)).json();
    if (!health.failed_models?.some((m: { name: string }) => m.name === "escape")) {
      failures.push("the folder naming /etc/passwd was not listed as failed");
    }
    const before = await fingerprint(url);
    const port = Number(new URL(url).port);
    // Warm-up: the same workload (other seeds), so the heaps reach what this workload needs,
    // concurrency included; the measured pass must then not grow them. Its 5xx count. RSS after
    // a pass swings by tens of MB with the garbage not yet collected, so the steady state is the
    // highest level after a warm-up pass: a heap that grows with use climbs past it.
    const rssPassesMB: number[] = [];
    for (let i = 0; i < f.warmUps; i++) {
      const warm = await fuzzPass(url, port, { ...f, seed: f.seed + 1 + i });
      serverErrors.push(...warm.serverErrors.map((e) => `warm-up: ${e}`));
      await new Promise((r) => setTimeout(r, 2000));
      rssPassesMB.push(await rssMB(child.pid));
    }
    const rssWarmMB = Math.max(...rssPassesMB, await rssMB(child.pid));
    const memoryWarmMB = await serverMemoryMB(url);
    const pass = await fuzzPass(url, port, f);
    Object.assign(statuses, pass.statuses);
    serverErrors.push(...pass.serverErrors);
    failures.push(...pass.failures);
    const { heavyOut, slowBodies, ms, bad, maxGapMs } = pass;
    await new Promise((r) => setTimeout(r, 2000));
    const after = await fingerprint(url).catch((e) => `${e}`);
    const h = await fetch(`${url}/health`).then((r) => r.json()).catch(() => ({}));
    const poisoned = h.status !== "ok"
      ? `health says ${JSON.stringify(h).slice(0, 200)}`
      : after !== before
      ? "a seeded generation or score changed"
      : null;
    const r: FuzzResult = {
      runtime,
      cases: f.cases,
      statuses,
      serverErrors,
      heavy: heavyOut,
      healthP99Ms: quantile(ms, 0.99),
      healthMaxMs: Math.max(...ms),
      healthBad: bad.length,
      streamMaxGapMs: maxGapMs,
      slowBodies,
      rssWarmMB,
      rssPassesMB,
      rssAfterMB: await rssMB(child.pid),
      memoryWarmMB,
      memoryAfterMB: await serverMemoryMB(url),
      peakRssMB: await rssMB(child.pid, "VmHWM"),
      poisoned,
      seconds: (performance.now() - t0) / 1000,
      failures,
    };
    if (serverErrors.length > 0) failures.push(`${serverErrors.length} × 5xx or no answer`);
    if (poisoned) failures.push(`poisoned: ${poisoned}`);
    if (bad.length > 0) failures.push(`/health failed ${bad.length} times during the heavy cases`);
    if (f.heavy && r.healthP99Ms > f.targetMs) {
      failures.push(`/health p99 ${r.healthP99Ms.toFixed(0)} ms > ${f.targetMs} ms`);
    }
    if (f.heavy && maxGapMs > f.targetMs) {
      failures.push(`a stream waited ${maxGapMs.toFixed(0)} ms > ${f.targetMs} ms for a token`);
    }
    if (r.rssAfterMB > r.rssWarmMB + 50) {
      failures.push(`RSS grew ${r.rssWarmMB.toFixed(0)} → ${r.rssAfterMB.toFixed(0)} MB`);
    }
    if (failures.length > 0) console.error(errLog().slice(-2000));
    return r;
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

/** The results as a markdown table, one column per server. */
export function fuzzTable(results: FuzzResult[]): string {
  const row = (name: string, f: (r: FuzzResult) => string) =>
    `| ${name} | ${results.map(f).join(" | ")} |`;
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const lines = [
    `| measure | ${results.map((r) => r.runtime).join(" | ")} |`,
    `| --- | ${results.map(() => "---").join(" | ")} |`,
    row("generated cases", (r) => String(r.cases)),
    row("statuses", (r) => Object.entries(r.statuses).map(([s, n]) => `${n} × ${s}`).join(", ")),
    row("5xx or no answer", (r) => String(r.serverErrors.length)),
    row("poisoned", (r) => r.poisoned ?? "no"),
    row(
      "/health p99 (max) during heavy cases",
      (r) => `${ms(r.healthP99Ms)} (${ms(r.healthMaxMs)})`,
    ),
    row("longest gap between a stream's tokens", (r) => ms(r.streamMaxGapMs)),
    row(
      "slow-body clients",
      (r) => Object.entries(r.slowBodies).map(([s, n]) => `${n} × ${s}`).join(", ") || "none",
    ),
    row(
      "RSS after each warm-up pass → after the measured one (peak)",
      (r) =>
        `${
          [...r.rssPassesMB, r.rssAfterMB].map((x) => x.toFixed(0))
            .join(" → ")
        } MB (${r.peakRssMB.toFixed(0)})`,
    ),
    row(
      "memory by kind after warm-up → after run",
      (r) =>
        Object.keys(r.memoryAfterMB).map((k) =>
          `${k} ${r.memoryWarmMB[k]?.toFixed(0)} → ${r.memoryAfterMB[k]!.toFixed(0)}`
        ).join(", ") || "n/a",
    ),
    row("wall time", (r) => `${r.seconds.toFixed(0)} s`),
    row("failures", (r) => r.failures.join("; ") || "none"),
  ];
  const names = results[0]?.heavy.map((h) => h.name) ?? [];
  for (const [i, name] of names.entries()) {
    lines.push(row(`heavy: ${name}`, (r) => {
      const h = r.heavy[i]!;
      return `${h.status} in ${ms(h.ms)}, /health ≤ ${ms(h.healthMaxMs)}`;
    }));
  }
  return lines.join("\n");
}

export async function fuzzServe(argv: string[]): Promise<FuzzResult[] | undefined> {
  if (argv.includes("--help")) {
    console.log(helpText(USAGE, FUZZ_FLAGS));
    return;
  }
  const f = parseFlags(FUZZ_FLAGS, argv, USAGE);
  const runtimes = parseList(f.runtimes, "runtimes", z.enum(["deno", "bun"]));
  const model = f.model ?? await untrainedModel(f.data ?? ptbDir(), f.hidden);
  const modelsDir = await modelsFolder(model);
  const results: FuzzResult[] = [];
  try {
    for (const runtime of runtimes) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${runtime}: over ${f.timeLimit} s`)),
          f.timeLimit * 1000,
        );
      });
      try {
        results.push(await Promise.race([fuzzServer(runtime, modelsDir, f), limit]));
      } finally {
        clearTimeout(timer);
      }
      console.log(`${runtime}: ${results.at(-1)!.failures.join("; ") || "ok"}`);
    }
  } finally {
    await rm(modelsDir, { recursive: true });
    // The untrained model's own temp folder (rotor-bench-…), never anything above it.
    const made = dirname(model);
    if (!f.model && basename(made).startsWith("rotor-bench-")) await rm(made, { recursive: true });
  }
  console.log(fuzzTable(results));
  if (f.json) await writeFile(f.json, JSON.stringify(results, null, 2) + "\n");
  if (results.some((r) => r.failures.length > 0)) {
    throw new Error("The hostile-client run failed (see the table)");
  }
  return results;
}

if (import.meta.main) runCli(async () => void (await fuzzServe(Deno.args)));
