/**
 * `deno task context --model DIR`: how much of its context a model uses, by the perturbation
 * test of Khandelwal et al. 2018 on PTB test (see context_measure.ts), written to
 * <folder>/<model>.json. `deno task context --plot FILE…` draws the results of several runs
 * into one SVG and writes context.md beside it. The folder is a new one under runs/reports/;
 * --replace writes the committed reports/context/ and reports/context.md instead.
 */
import { cpus, loadavg } from "node:os";
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { z } from "zod";
import {
  BACKENDS,
  describeBackend,
  initBackend,
  wasmThreadsFromEnv,
} from "../../shared/backend.ts";
import { loadModel } from "../../shared/model_format.ts";
import { createPrng } from "../../shared/prng.ts";
import { encode, type Vocab } from "../../shared/vocab.ts";
import { loadCorpus } from "../../trainer/corpus.ts";
import { helpText, parseFlags, parseList, runCli } from "../../shared/flags.ts";
import { formatDuration, progressLine } from "../../trainer/progress.ts";
import { type ContextMeasurement, measureContext } from "./context_measure.ts";
import { PERTURBATIONS, sampleTargets } from "./context_perturb.ts";
import { type ContextResult, readContextResult, writeContextResult } from "./context_results.ts";
import { contextPlotSvg } from "./context_plot.ts";
import { formatContext, renderContextMarkdown } from "./context_markdown.ts";
import { REPLACE_FLAG, reportDir } from "../report_out.ts";

const USAGE = "usage: deno task context --model DIR [flags] | --plot FILE.json… [flags]";
const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** Budgets: a run beyond these is a typo, not a measurement this machine could finish. */
const MAX_HISTORY = 5000, MAX_DISTANCES = 64, MAX_WINDOWS = 2_000_000;

export const CONTEXT_FLAGS = {
  model: { schema: z.string().optional(), help: "Model folder to measure" },
  targets: {
    schema: int(1, 1_000_000).default(2000),
    help: "Target positions sampled from PTB test",
  },
  history: {
    schema: int(2, MAX_HISTORY).default(300),
    help: "Tokens of context before each target (run from a zero state)",
  },
  distances: {
    schema: z.string().default("1,2,3,5,7,10,15,20,30,50,75,100,150,200"),
    help: "Distances d: context farther than d is perturbed (comma-separated)",
  },
  threshold: {
    schema: z.number().positive().max(1).default(0.01),
    help: "Relative loss increase below which far context counts as unused",
  },
  seed: { schema: z.number().int().default(1), help: "Seed for targets and perturbations" },
  block: { schema: int(1, 4096).default(128), help: "Windows per forward pass (bounds memory)" },
  out: {
    schema: z.string().optional(),
    help: "JSON file to write (default <new folder>/<model name>.json)",
  },
  replace: REPLACE_FLAG,
  plot: {
    schema: z.string().optional(),
    help: "Instead of measuring: plot these result files (or folders of them), comma-separated",
  },
  svg: {
    schema: z.string().optional(),
    help: "With --plot: SVG file (default <new folder>/context.svg)",
  },
  md: {
    schema: z.string().optional(),
    help: "With --plot: markdown report (default <new folder>/context.md)",
  },
  data: { schema: z.string().optional(), help: "PTB folder (default $PTB_DIR, else data/ptb)" },
  skipMd5: {
    schema: z.boolean().default(false),
    help: "Read a corpus that is not PTB (no MD5 check)",
  },
  backend: { schema: z.enum(BACKENDS).default("auto"), help: "TensorFlow.js backend" },
  dryRun: {
    schema: z.boolean().default(false),
    help: "At most 6 targets and 24 tokens of history (for tests)",
  },
};
type ContextFlags = ReturnType<typeof parseFlags<typeof CONTEXT_FLAGS>>;

/** `--plot a.json b.json` (as a shell glob expands) → `--plot a.json,b.json`. */
export function joinPlotArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    out.push(argv[i]!);
    if (argv[i] !== "--plot") continue;
    const files: string[] = [];
    while (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) files.push(argv[++i]!);
    if (files.length > 0) out.push(files.join(","));
  }
  return out;
}

/** A model folder's name; the trainer's runs/<name>/model folders go by their run's name. */
export function modelName(dir: string): string {
  const parts = dir.replace(/\/+$/, "").split(/[\\/]/);
  const last = parts.at(-1) ?? dir;
  return last === "model" && parts.length > 1 ? parts.at(-2)! : last;
}

/**
 * The corpus's ids are its own vocabulary's: the same stream when the model's vocabulary is the
 * same, else re-encoded through the words (a word the model lacks becomes its `<unk>`).
 */
export function inModelVocab(ids: Int32Array, from: Vocab, to: Vocab): Int32Array {
  const same = from.words.length === to.words.length &&
    to.words.every((w, i) => from.words[i] === w);
  return same ? ids : encode(to, Array.from(ids, (id) => from.words[id]!)).ids;
}

function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? "unknown CPU"}, load average ${
    loadavg()[0]!.toFixed(1)
  } at the start`;
}

function parseDistances(raw: string): number[] {
  const ds = parseList(raw, "distances", z.number().int().min(1).max(MAX_HISTORY));
  if (ds.length > MAX_DISTANCES) {
    throw new Error(`--distances lists ${ds.length} values; at most ${MAX_DISTANCES}`);
  }
  return [...new Set(ds)].sort((a, b) => a - b);
}

function printTable(m: ContextMeasurement, distances: readonly number[]): void {
  console.log(`unperturbed loss ${m.loss.toFixed(4)} nats (perplexity ${m.perplexity.toFixed(2)})`);
  console.log(
    `${"d".padStart(5)}  ${PERTURBATIONS.map((k) => `${k} +nats (rel ± se)`.padEnd(30)).join("")}`,
  );
  distances.forEach((d, i) => {
    const cells = PERTURBATIONS.map((k) => {
      const r = m.perturbations[k].rows[i]!;
      return `${r.increase.toFixed(4)} (${(100 * r.relIncrease).toFixed(2)} % ± ${
        (100 * r.stderr / m.loss).toFixed(2)
      })`.padEnd(30);
    });
    console.log(`${String(d).padStart(5)}  ${cells.join("")}`);
  });
}

async function measure(f: ContextFlags, argv: readonly string[]): Promise<ContextResult> {
  if (!f.model) throw new Error("--model is required (a model folder such as models/ptb-ugru)");
  const distances = parseDistances(f.distances);
  const history = f.dryRun ? Math.min(f.history, 24) : f.history;
  const nTargets = f.dryRun ? Math.min(f.targets, 6) : f.targets;
  const windows = nTargets * (1 + PERTURBATIONS.length * distances.length);
  if (windows > MAX_WINDOWS) {
    throw new Error(
      `${nTargets} targets × ${distances.length} distances make ${windows} windows; at most ${MAX_WINDOWS}`,
    );
  }
  // Long products: two threads (the threaded wasm build) unless WASM_THREADS says.
  const backend = await initBackend(f.backend, { threads: wasmThreadsFromEnv(2) });
  const startMachine = machine();
  const m = await loadModel(f.model);
  const corpus = await loadCorpus(f.data, f.skipMd5);
  const stream = inModelVocab(corpus.test, corpus.vocab, m.vocab);
  const targets = sampleTargets(stream.length, history, nTargets, createPrng(f.seed));
  const name = modelName(f.model);
  console.log(
    `context: ${name} (${m.config.cell}, H = ${m.config.hiddenSize}); ${nTargets} targets, ` +
      `history ${history}, d = ${distances.join(",")}; ${windows} windows of ${history} tokens; ` +
      describeBackend(backend),
  );
  const t0 = performance.now();
  let lastPrint = 0;
  const result = measureContext(m.params, m.config, stream, {
    targets,
    history,
    distances,
    seed: f.seed,
    block: f.block,
    threshold: f.threshold,
    onProgress: (done, total) => {
      const now = performance.now(), el = (now - t0) / 1000;
      if (done < total && now - lastPrint < 5000) return;
      lastPrint = now;
      progressLine(
        `windows ${done}/${total} | ${(done * history / el).toFixed(0)} tokens/s | ETA ${
          formatDuration(((total - done) * el) / done)
        }`,
        done === total,
      );
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  printTable(result, distances);
  for (const k of PERTURBATIONS) {
    console.log(`effective context (${k}): ${formatEffective(result, k, distances)}`);
  }
  return {
    version: 1,
    command: `deno task context ${argv.join(" ")}`,
    date: new Date().toISOString(),
    machine: startMachine,
    backend: describeBackend(backend),
    runtime: typeof Deno !== "undefined" ? `deno ${Deno.version.deno}` : "bun",
    model: {
      dir: f.model,
      name,
      cell: m.config.cell,
      activation: m.config.activation,
      hiddenSize: m.config.hiddenSize,
      layers: m.config.layers,
      testPpl: m.meta.metrics.test_ppl ?? null,
    },
    // Where the corpus came from as given (a flag or $PTB_DIR), not this machine's path.
    data: {
      source: f.data ?? (process.env.PTB_DIR ? "$PTB_DIR" : "data/ptb"),
      split: "test",
      md5: corpus.md5?.test ?? null,
      tokens: stream.length,
    },
    settings: {
      targets: nTargets,
      history,
      distances,
      seed: f.seed,
      block: f.block,
      threshold: f.threshold,
    },
    result,
    timing: { seconds, tokensPerSecond: (result.windows * history) / seconds },
  };
}

function formatEffective(
  m: ContextMeasurement,
  kind: (typeof PERTURBATIONS)[number],
  distances: readonly number[],
): string {
  const e = m.perturbations[kind].effectiveContext;
  return e === null ? `> ${distances.at(-1)} (every listed d costs ≥ threshold)` : `${e} tokens`;
}

/** The result files named by --plot: files as given, folders by their *.json. */
async function resultFiles(list: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of list.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const isDir = await stat(p).then((s) => s.isDirectory(), () => false);
    if (!isDir) out.push(p);
    else {
      const names = (await readdir(p)).filter((n) => n.endsWith(".json")).sort();
      out.push(...names.map((n) => join(p, n)));
    }
  }
  if (out.length === 0) throw new Error(`--plot "${list.slice(0, 80)}" names no result file`);
  return out;
}

/** --plot's two outputs: as named, the committed pair with --replace, else a new folder's. */
async function plotFiles(f: ContextFlags): Promise<{ svg: string; md: string }> {
  if (f.replace) {
    return { svg: f.svg ?? join("reports", "context", "context.svg"), md: f.md ?? COMMITTED_MD };
  }
  if (f.svg !== undefined && f.md !== undefined) return { svg: f.svg, md: f.md };
  const dir = await reportDir({ command: "context", committed: COMMITTED_MD, replace: false });
  return { svg: f.svg ?? join(dir, "context.svg"), md: f.md ?? join(dir, "context.md") };
}

const COMMITTED_MD = join("reports", "context.md");

async function plot(f: ContextFlags, argv: readonly string[]): Promise<void> {
  const results = await Promise.all((await resultFiles(f.plot!)).map(readContextResult));
  const { svg, md } = await plotFiles(f);
  await mkdir(dirname(svg), { recursive: true });
  await writeFile(svg, await contextPlotSvg(results));
  await mkdir(dirname(md), { recursive: true });
  const text = renderContextMarkdown(
    results,
    `deno task context ${argv.join(" ")}`,
    relative(dirname(md), svg),
  );
  await writeFile(md, text);
  for (const r of results) {
    console.log(
      `${r.model.name}: effective context shuffle ${formatContext(r, "shuffle")}, replace ${
        formatContext(r, "replace")
      }`,
    );
  }
  console.log(`wrote ${svg} and ${md}`);
}

/** Runs the command; returns the measurement (undefined for --help and --plot). */
export async function context(argv: string[]): Promise<ContextResult | undefined> {
  const args = joinPlotArgs(argv);
  const f = parseFlags(CONTEXT_FLAGS, args, USAGE);
  if (f.help) return void console.log(helpText(USAGE, CONTEXT_FLAGS));
  if (f.plot !== undefined) return void await plot(f, argv);
  const r = await measure(f, argv);
  const dir = f.out === undefined
    ? await reportDir({
      command: "context",
      committed: join("reports", "context"),
      replace: f.replace,
    })
    : undefined;
  const out = f.out ?? join(dir!, `${r.model.name}.json`);
  await mkdir(dirname(out), { recursive: true });
  await writeContextResult(out, r);
  console.log(`wrote ${out}`);
  return r;
}

if (import.meta.main) runCli(() => context(Deno.args).then(() => {}));
