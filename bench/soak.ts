/**
 * `deno task soak`: the server's memory over time, Deno and Bun, loopback only and bounded in
 * time. For `--seconds` it runs a mixed workload (four streamed generations one after another,
 * scoring, an echo of the longest prompt, tokenize and detokenize) while it probes /health and
 * reads the server's RSS every second; then `--rounds` rounds of `--clients` clients that send
 * headers and part of a body until the server answers 408. It fails on a 5xx, on RSS growth past
 * `--bound` MB between the second and the last quarter of the mixed run (medians of each), or
 * between the first and the second half of the slow-body rounds (their peaks). The table goes to a new folder, or replaces
 * reports/soak.md with `--replace`.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { helpText, parseFlags, parseList, runCli } from "../shared/flags.ts";
import { quantile, slowBody } from "./fuzz_probe.ts";
import { startProbes } from "./probe_thread.ts";
import { modelsFolder, rssMB, serverMemoryMB, startServer } from "./fuzz_server.ts";
import { DEFAULT_LIMITS } from "../server/limits.ts";

const USAGE = "usage: deno task soak [flags]";
const int = (min: number) => z.number().int().min(min);
export const SOAK_FLAGS = {
  runtimes: { schema: z.string().default("deno,bun"), help: "Servers to run: deno, bun or both" },
  model: { schema: z.string().default("models/ptb-ugru"), help: "Model folder to serve" },
  seconds: { schema: int(8).default(600), help: "Length of the mixed workload per server" },
  rounds: { schema: int(4).default(16), help: "Slow-body rounds after the mixed workload" },
  clients: { schema: int(1).default(500), help: "Clients per slow-body round" },
  bound: { schema: int(1).default(20), help: "Largest RSS growth allowed (MB)" },
  out: { schema: z.string().optional(), help: "Folder for soak.md (default: runs/soak-<time>)" },
  replace: { schema: z.boolean().default(false), help: "Write reports/soak.md instead" },
};

export interface SoakResult {
  runtime: string;
  seconds: number;
  requests: Record<string, number>;
  serverErrors: number;
  /** Median RSS of each quarter of the mixed run, MB. */
  quartersMB: number[];
  /** Highest wasm heap seen in each quarter of the mixed run, MB. */
  wasmQuartersMB: number[];
  /** RSS after each slow-body round, MB. */
  roundsMB: number[];
  roundStatuses: Record<string, number>;
  /** The server's own account (/metrics) after the mixed run and after the rounds, MB. */
  memoryMB: Record<string, number>[];
  healthP99Ms: number;
  healthMaxMs: number;
  streamTokens: number;
  loadAverage: string;
  failures: string[];
}

const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/**
 * How much higher RSS peaked in the second half of the slow-body rounds than in the first. The
 * JavaScript heap is collected lazily (on Deno it grows to about twice what is live before a
 * full collection), so RSS climbs for several rounds and drops back: a bounded heap peaks as
 * high in both halves, a leak higher in the second.
 */
export function peakGrowth(roundsMB: number[]): number {
  const half = Math.floor(roundsMB.length / 2);
  return Math.max(...roundsMB.slice(half)) - Math.max(...roundsMB.slice(0, half));
}

/** One kind of request sent again and again until `stop`; counts answers by status. */
function loop(
  counts: Record<string, number>,
  stop: AbortSignal,
  send: (i: number) => Promise<Response>,
) {
  return (async () => {
    for (let i = 0; !stop.aborted; i++) {
      let status = "0";
      try {
        const res = await send(i);
        await res.arrayBuffer();
        status = String(res.status);
      } catch {
        // connection error: counted as 0
      }
      counts[status] = (counts[status] ?? 0) + 1;
    }
  })();
}

/** The mixed workload beside the four streams: scoring, echo at the limit, (de)tokenize. */
function mixed(url: string, counts: Record<string, number>, stop: AbortSignal) {
  const text = "the company said it would buy a stake in the bank . ".repeat(40);
  const longest = Array.from({ length: DEFAULT_LIMITS.maxPromptTokens }, (_, i) => 1 + i % 900);
  return Promise.all([
    loop(counts, stop, (i) => post(url, "/v1/perplexity", { text: `${text} ${i}` })),
    loop(counts, stop, () =>
      post(url, "/v1/completions", {
        prompt: longest,
        max_tokens: 1,
        echo: true,
        logprobs: 1,
      })),
    loop(counts, stop, (i) => post(url, "/tokenize", { text: `${text} ${i}` })),
    loop(counts, stop, (i) => post(url, "/detokenize", { ids: longest.slice(i % 100, 2000) })),
  ]);
}

const loadAverage = async () =>
  (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(" ");

export async function soakServer(
  runtime: string,
  modelsDir: string,
  f: { seconds: number; rounds: number; clients: number; bound: number },
): Promise<SoakResult> {
  const server = await startServer(runtime, modelsDir, { BODY_TIMEOUT_MS: "1000" });
  const pid = server.child.pid;
  const failures: string[] = [];
  try {
    const { hostname, port } = new URL(server.url);
    const counts: Record<string, number> = {};
    const stop = new AbortController();
    const probes = await startProbes(server.url, { healthEveryMs: 100, streams: 4 });
    const work = mixed(server.url, counts, stop.signal);
    const samples: { t: number; mb: number; wasm?: number }[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < f.seconds * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      // The wasm heap never shrinks: its high-water mark, read every 5 s, tells a heap that
      // grew to hold the largest request at once from RSS that keeps growing.
      const wasm = samples.length % 5 === 4
        ? (await serverMemoryMB(server.url)).wasm_heap
        : undefined;
      samples.push({ t: (performance.now() - t0) / 1000, mb: await rssMB(pid), wasm });
      if (samples.length % 30 === 0) {
        const done = Object.values(counts).reduce((a, b) => a + b, 0);
        console.log(
          `${runtime}: ${samples.length}/${f.seconds} s of the mixed run, ${done} requests, ` +
            `RSS ${samples.at(-1)!.mb.toFixed(0)} MB`,
        );
      }
    }
    const load = await loadAverage();
    stop.abort();
    await work;
    const { ms, bad, streams: streamed } = await probes.stop();
    const memoryMB = [await serverMemoryMB(server.url)];
    const quartersMB = [0, 1, 2, 3].map((q) =>
      quantile(
        samples.filter((s) => s.t > q * f.seconds / 4 && s.t <= (q + 1) * f.seconds / 4)
          .map((s) => s.mb),
        0.5,
      )
    );
    const wasmQuartersMB = [0, 1, 2, 3].map((q) =>
      Math.max(
        ...samples.filter((s) => s.t > q * f.seconds / 4 && s.t <= (q + 1) * f.seconds / 4)
          .map((s) => s.wasm ?? 0),
      )
    );
    const roundsMB: number[] = [];
    const roundStatuses: Record<string, number> = {};
    for (let r = 0; r < f.rounds; r++) {
      const codes = await Promise.all(
        Array.from({ length: f.clients }, () => slowBody(hostname, Number(port), 300)),
      );
      for (const c of codes) roundStatuses[c] = (roundStatuses[c] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, 1000));
      roundsMB.push(await rssMB(pid));
      console.log(
        `${runtime}: slow-body round ${r + 1}/${f.rounds}, RSS ${roundsMB.at(-1)!.toFixed(0)} MB`,
      );
    }
    memoryMB.push(await serverMemoryMB(server.url));
    const serverErrors = Object.entries(counts).filter(([s]) => s.startsWith("5"))
      .reduce((n, [, k]) => n + k, 0) + bad.filter((s) => s >= 500).length;
    if (serverErrors > 0) failures.push(`${serverErrors} × 5xx`);
    const growth = quartersMB[3]! - quartersMB[1]!;
    if (!(growth <= f.bound)) {
      failures.push(`RSS grew ${growth.toFixed(1)} MB between the 2nd and last quarter`);
    }
    const slowGrowth = peakGrowth(roundsMB);
    if (!(slowGrowth <= f.bound)) {
      failures.push(`RSS grew ${slowGrowth.toFixed(1)} MB over the slow-body rounds`);
    }
    return {
      runtime,
      seconds: f.seconds,
      requests: counts,
      serverErrors,
      quartersMB,
      wasmQuartersMB,
      roundsMB,
      roundStatuses,
      memoryMB,
      healthP99Ms: quantile(ms, 0.99),
      healthMaxMs: Math.max(...ms),
      streamTokens: streamed.reduce((n, s) => n + s.tokens, 0),
      loadAverage: load,
      failures,
    };
  } finally {
    server.child.kill("SIGKILL");
    await server.child.status;
  }
}

const mb = (x: number) => x.toFixed(0);

export function soakTable(results: SoakResult[], bound: number): string {
  const rows = results.map((r) =>
    `| ${r.runtime} | ${r.seconds} s | ${
      Object.entries(r.requests).map(([s, n]) => `${n} × ${s}`).join(", ")
    } + ${r.streamTokens.toLocaleString("en")} streamed tokens | ${r.serverErrors} | ${
      r.quartersMB.map(mb).join(" → ")
    } (${(r.quartersMB[3]! - r.quartersMB[1]!).toFixed(1)}) | ${
      r.wasmQuartersMB.map(mb).join(" → ")
    } | ${r.roundsMB.map(mb).join(" → ")} (${peakGrowth(r.roundsMB).toFixed(1)}; ${
      Object.entries(r.roundStatuses).map(([s, n]) => `${n} × ${s}`).join(", ")
    }) | ${r.healthP99Ms.toFixed(0)} / ${r.healthMaxMs.toFixed(0)} ms | ${
      r.memoryMB.map((m) =>
        [m.js_heap, m.external, m.wasm_heap].map((x) => mb(x ?? NaN)).join(" / ")
      )
        .join(" → ")
    } | ${r.loadAverage} | ${r.failures.join("; ") || "ok"} |`
  );
  return [
    `| server | mixed run | requests | 5xx | RSS by quarter, MB (Q4 − Q2, bound ${bound}) | wasm heap by quarter, MB | RSS after each slow-body round, MB (peak of the 2nd half − peak of the 1st) | /health p99 / max | JS heap / external / wasm heap, MB (after the mixed run → after the rounds) | load average (1/5/15 min) | verdict |`,
    "| --- | --- | --- | --: | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

export async function soak(argv: string[]): Promise<SoakResult[] | undefined> {
  if (argv.includes("--help")) {
    console.log(helpText(USAGE, SOAK_FLAGS));
    return;
  }
  const f = parseFlags(SOAK_FLAGS, argv, USAGE);
  const started = new Date();
  const runtimes = parseList(f.runtimes, "runtimes", z.enum(["deno", "bun"]));
  const modelsDir = await modelsFolder(f.model);
  const results: SoakResult[] = [];
  try {
    for (const runtime of runtimes) {
      results.push(await soakServer(runtime, modelsDir, f));
      console.log(`${runtime}: ${results.at(-1)!.failures.join("; ") || "ok"}`);
    }
  } finally {
    await rm(modelsDir, { recursive: true });
  }
  const table = soakTable(results, f.bound);
  console.log(table);
  const dir = f.replace ? "reports" : f.out ?? `runs/soak-${new Date().toISOString().slice(0, 19)}`;
  await mkdir(dir, { recursive: true });
  const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
  await writeFile(
    join(dir, "soak.md"),
    `# Soak\n\n\`deno task soak ${argv.join(" ")}\`, started ${
      started.toISOString().slice(0, 16).replace("T", " ")
    } UTC, ${((Date.now() - started.getTime()) / 60_000).toFixed(0)} min, on ` +
      `${navigator.hardwareConcurrency} × ${cpu}, model ${f.model}.\n\n${table}\n`,
  );
  console.log(`wrote ${join(dir, "soak.md")}`);
  if (results.some((r) => r.failures.length > 0)) {
    throw new Error("The soak failed (see the table)");
  }
  return results;
}

if (import.meta.main) runCli(async () => void (await soak(Deno.args)));
