/**
 * `deno task grid:ptb [--jobs 2] [--rows id,…]`: train the full-budget grid, each run in its
 * own trainer process, resuming any run whose folder holds a checkpoint. Every run that ends
 * is merged at once (under `grid`) into a copy of reports/ptb-results.json in a new folder
 * under runs/reports/ (into the committed file itself with --replace, or into --results), so an
 * interrupted grid loses at most the minutes since each run's last checkpoint.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, open, readFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { BACKENDS, initBackend } from "../../shared/backend.ts";
import { loadCorpus } from "../../trainer/corpus.ts";
import { GRID_GRADFLOW, runGradflow } from "./grid_gradflow.ts";
import type { GradflowOptions } from "./ptb_gradflow.ts";
import { writeAtomic } from "../../shared/model_format.ts";
import { helpText, parseFlags, runCli } from "../../shared/flags.ts";
import { formatDuration } from "../../trainer/progress.ts";
import {
  FULL_BUDGET,
  type GridBudget,
  type GridRun,
  gridTrainArgs,
  seedRows,
} from "./grid_rows.ts";
import {
  divergenceMessage,
  gradSeries,
  type GridRunResult,
  mergeRun,
  readRunResult,
} from "./grid_results.ts";
import { PtbResultsSchema } from "./ptb_results.ts";
import { REPLACE_FLAG, reportDir } from "../report_out.ts";

const USAGE = "usage: deno task grid:ptb [flags]";
export const GRID_FLAGS = {
  jobs: { schema: z.number().int().min(1).max(8).default(2), help: "Runs trained at once" },
  rows: {
    schema: z.string().default(""),
    help:
      "Comma-separated run ids to train (default: every seed-1 row, then seed 2 of close pairs)",
  },
  seeds: {
    schema: z.string().default("auto"),
    help: '"auto": seed 2 for pairs within 5 %; "1": seed 1 only; "1,2": both for every row',
  },
  list: { schema: z.boolean().default(false), help: "Print the runs and their state, then exit" },
  refresh: {
    schema: z.boolean().default(false),
    help:
      "Re-read finished runs' metrics and measure missing gradient flow (folders under --runs), then exit",
  },
  epochs: { schema: z.number().int().min(1).default(FULL_BUDGET.epochs), help: "Epochs per run" },
  hidden: { schema: z.number().int().min(1).default(FULL_BUDGET.hidden), help: "Hidden units" },
  data: { schema: z.string().optional(), help: "PTB folder (default $PTB_DIR, else data/ptb)" },
  skipMd5: { schema: z.boolean().default(false), help: "Accept a corpus that is not PTB (tests)" },
  runs: { schema: z.string().default("runs/ptb-grid"), help: "Folder for the runs" },
  results: {
    schema: z.string().optional(),
    help: "Results file the runs are merged into (default: a copy of the committed one, " +
      "in a new folder under runs/reports/)",
  },
  replace: REPLACE_FLAG,
  backend: { schema: z.enum(BACKENDS).default("wasm"), help: "TensorFlow.js backend" },
  dryRun: { schema: z.boolean().default(false), help: "Trainer dry runs (for tests)" },
};
type GridFlags = ReturnType<typeof parseFlags<typeof GRID_FLAGS>>;

/** argv without --data and its value: the recorded command names no machine path. */
export function withoutData(argv: string[]): string[] {
  return argv.filter((a, i) => !a.startsWith("--data") && argv[i - 1] !== "--data");
}

/** The runs to train now: explicit ids, or the seed-1 rows plus seed 2 where it is needed. */
export function planRuns(
  f: Pick<GridFlags, "rows" | "seeds">,
  done: GridRunResult[],
): GridRun[] {
  const all = [...seedRows(1), ...seedRows(2)];
  if (f.rows !== "") {
    return f.rows.split(",").map((id) => {
      const r = all.find((x) => x.id === id);
      if (!r) {
        throw new Error(
          `Unknown run "${id.slice(0, 60)}"; known: ${all.map((x) => x.id).join(", ")}`,
        );
      }
      return r;
    });
  }
  if (f.seeds === "1") return seedRows(1);
  if (f.seeds === "1,2") return all;
  if (f.seeds !== "auto") throw new Error(`--seeds must be auto, 1 or 1,2, got "${f.seeds}"`);
  return [...seedRows(1), ...seedRows(2).filter((r) => needsSecondSeed(r, done))];
}

/**
 * Seed 2 is trained for both runs of a pair whose seed-1 test perplexities differ by less than
 * 5 % (a sign that one seed cannot settle), once both seed-1 runs are done.
 */
export function needsSecondSeed(r: GridRun, done: GridRunResult[]): boolean {
  const mine = done.find((d) => d.base === r.base && d.seed === 1 && d.status === "done");
  const twinBase = twinBaseOf(r.base);
  const twin = done.find((d) => d.base === twinBase && d.seed === 1 && d.status === "done");
  if (!mine?.testPpl || !twin?.testPpl) return false;
  return Math.abs(mine.testPpl - twin.testPpl) / Math.min(mine.testPpl, twin.testPpl) < 0.05;
}

export function twinBaseOf(base: string): string {
  const m = /^(u?)(rnn|gru)/.exec(base);
  if (!m) return base;
  return (m[1] ? "" : "u") + base.slice(m[1]!.length);
}

function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? "unknown CPU"}`;
}

const COMMITTED_RESULTS = join("reports", "ptb-results.json");

/** A new folder holding a copy of the committed results, for this grid run to merge into. */
async function copyResults(): Promise<string> {
  const dir = await reportDir({
    command: "grid-ptb",
    committed: COMMITTED_RESULTS,
    replace: false,
  });
  const path = join(dir, "ptb-results.json");
  await copyFile(COMMITTED_RESULTS, path);
  console.log(`merging into ${path}; continue this grid with --results ${path}`);
  return path;
}

async function loadResults(path: string) {
  return PtbResultsSchema.parse(JSON.parse(await readFile(path, "utf8")));
}

export async function gridPtb(argv: string[]): Promise<void> {
  const f = parseFlags(GRID_FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, GRID_FLAGS));
  const budget: GridBudget = { ...FULL_BUDGET, epochs: f.epochs, hidden: f.hidden };
  const command = `deno task grid:ptb ${withoutData(argv).join(" ")}`.trim();
  // --list only reads: it looks at the committed results unless told another file.
  const results = f.results ?? (f.replace || f.list ? COMMITTED_RESULTS : await copyResults());
  const state = async () => (await loadResults(results)).grid?.runs ?? [];
  const finished = (await state()).filter((r) => r.status !== "running");
  const plan = planRuns(f, finished).filter((r) =>
    f.rows !== "" || f.dryRun || !finished.some((d) => d.id === r.id)
  );
  if (f.list) {
    for (const r of plan) {
      const ck = existsSync(join(f.runs, r.id, "checkpoint.bin")) ? "checkpointed" : "not started";
      console.log(`${r.id}: ${ck}`);
    }
    for (const r of finished) console.log(`${r.id}: ${r.status} (${r.testPpl ?? "-"})`);
    return;
  }
  // Results are merged by this process alone, one run at a time.
  let writing = Promise.resolve();
  const record = (result: GridRunResult) => {
    writing = writing.then(async () => {
      const all = await loadResults(results);
      all.grid = mergeRun(all.grid, budget, command, result, plan.map((r) => r.id));
      await writeAtomic(results, JSON.stringify(PtbResultsSchema.parse(all), null, 1) + "\n");
    });
    return writing;
  };
  // Gradient flow of a trained run, measured here (the backend and corpus load on first use).
  // One promise, started by the first run to finish: two runs finishing together must not
  // start the backend twice (tfjs fails the first of two overlapping initialisations).
  let gf: Promise<GradflowOptions> | undefined;
  const gradflowOf = async (res: GridRunResult) => {
    gf ??= (async () => {
      await initBackend(f.backend, { threads: 1 });
      const corpus = await loadCorpus(f.data, f.skipMd5);
      const size = f.dryRun ? { k: 10, batch: 2, batches: 1 } : {};
      return { ...GRID_GRADFLOW, ...size, stream: corpus.valid };
    })();
    return await runGradflow(res, f.runs, await gf);
  };
  if (f.refresh) {
    for (const r of finished.filter((r) => r.status !== "running")) {
      const dir = join(f.runs, r.id);
      if (!existsSync(join(dir, "metrics.jsonl"))) {
        console.log(`${r.id}: no run folder under ${f.runs}`);
        continue;
      }
      const grad = gradSeries(await readFile(join(dir, "metrics.jsonl"), "utf8"));
      const gradflow = r.gradflow ?? await gradflowOf(r);
      await record({ ...r, grad, ...(gradflow ? { gradflow } : {}) });
      console.log(`${r.id}: refreshed (${grad.length} metric points)`);
    }
    await writing;
    return;
  }
  await mkdir(f.runs, { recursive: true });
  console.log(
    `grid: ${plan.length} runs, ${f.jobs} at a time, ${budget.epochs} epochs each, H = ${budget.hidden}`,
  );
  const queue = [...plan];
  const t0 = performance.now();
  let failures = 0;
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      const ok = await trainRun(r, budget, f, record, gradflowOf);
      if (!ok) failures++;
      const left = queue.length;
      console.log(
        `grid: ${plan.length - left} of ${plan.length} runs started or done, ${
          formatDuration((performance.now() - t0) / 1000)
        } elapsed`,
      );
    }
  };
  await Promise.all(Array.from({ length: f.jobs }, worker));
  await writing;
  if (failures > 0) throw new Error(`${failures} run(s) failed without diverging; see their logs`);
}

/** Train (or resume) one run in a child process; false when it failed for another reason. */
async function trainRun(
  r: GridRun,
  budget: GridBudget,
  f: GridFlags,
  record: (res: GridRunResult) => Promise<void>,
  gradflowOf: (res: GridRunResult) => Promise<GridRunResult["gradflow"]>,
): Promise<boolean> {
  const dir = join(f.runs, r.id);
  const base = [
    ...gridTrainArgs(r, budget),
    "--runs",
    f.runs,
    "--backend",
    f.backend,
    ...(f.data ? ["--data", f.data] : []),
    ...(f.skipMd5 ? ["--skip-md5"] : []),
    ...(f.dryRun ? ["--dry-run"] : []),
  ];
  const command = `deno task train ${withoutData(base).join(" ")}`.trim();
  const resume = !f.dryRun && existsSync(join(dir, "checkpoint.bin"));
  const args = resume ? ["--resume", dir, "--backend", f.backend] : base;
  const started = new Date().toISOString();
  const meta = { command, started, machine: machine() };
  await record({
    ...r,
    status: "running",
    ...meta,
    steps: 0,
    tokens: 0,
    wallSeconds: 0,
    tokensPerSecond: 0,
    history: [],
    grad: [],
  });
  console.log(`${r.id}: ${resume ? "resuming" : "starting"} (log: ${dir}.log)`);
  await mkdir(f.runs, { recursive: true });
  const log = await open(`${dir}.log`, "a");
  // Two runs on two cores: one wasm thread each, or they would fight over the cores.
  const threads = f.jobs >= cpus().length
    ? "1"
    : String(Math.max(1, Math.floor(cpus().length / f.jobs)));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(import.meta.dirname!, "..", "..", "trainer", "train.ts"), ...args],
    env: { WASM_THREADS: threads },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pipe = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) await log.write(chunk);
  };
  const [status] = await Promise.all([child.status, pipe(child.stdout), pipe(child.stderr)]);
  await log.close();
  const text = await readFile(`${dir}.log`, "utf8");
  if (status.success) {
    const res = await readRunResult(r, dir, meta);
    const gradflow = await gradflowOf(res);
    await record(gradflow ? { ...res, gradflow } : res);
    console.log(
      `${r.id}: done, valid ${res.validPpl?.toFixed(2)}, test ${res.testPpl?.toFixed(2)}`,
    );
    return true;
  }
  const diverged = divergenceMessage(text);
  if (diverged) {
    await record(await readRunResult(r, dir, { ...meta, diverged }));
    console.log(`${r.id}: diverged: ${diverged}`);
    return true;
  }
  console.error(`${r.id}: failed (exit ${status.code}); last lines of ${dir}.log:`);
  console.error(text.split("\n").slice(-8).join("\n"));
  return false;
}

if (import.meta.main) runCli(() => gridPtb(Deno.args));
