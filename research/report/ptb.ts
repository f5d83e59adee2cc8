/**
 * `deno task report:ptb [--rerun]`: the poster's PTB tables reproduced. Without --rerun it
 * redraws ptb.md and its plots from reports/ptb-results.json (and samples the shipped models
 * again); with --rerun it first trains every row of the grid on one token budget, times a
 * batch of each cell, and measures gradient flow, then saves the results. It writes to a new
 * folder under runs/reports/ unless told --replace (the committed reports/) or --out.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { readContextResult } from "./context_results.ts";
import { join } from "node:path";
import { z } from "zod";
import { tf } from "../../shared/tf.ts";
import { BACKENDS, initBackend } from "../../shared/backend.ts";
import { parseModelConfig } from "../../shared/config.ts";
import { initParams } from "../../shared/model.ts";
import { loadModel } from "../../shared/model_format.ts";
import { loadCorpus } from "../../trainer/corpus.ts";
import { helpText, parseFlags, runCli } from "../../shared/flags.ts";
import { type Budget, GRID, type GridRow } from "./ptb_grid.ts";
import { runRow } from "./ptb_runs.ts";
import { measureGradflow } from "./ptb_gradflow.ts";
import { sampleModels } from "./ptb_samples.ts";
import { timeSteps } from "../../trainer/step_time.ts";
import {
  type PtbResults,
  readResults,
  type RowResult,
  type Timing,
  writeResults,
} from "./ptb_results.ts";
import { renderMarkdown } from "./ptb_markdown.ts";
import { renderPlots } from "./ptb_plots.ts";
import { REPLACE_FLAG, reportDir } from "../report_out.ts";

const USAGE = "usage: deno task report:ptb [--rerun] [flags]";
const int = (min: number) => z.number().int().min(min);
export const REPORT_FLAGS = {
  rerun: { schema: z.boolean().default(false), help: "Train the grid and measure again" },
  retime: {
    schema: z.boolean().default(false),
    help: "Measure time per batch again, keep the other saved results",
  },
  reuseRuns: {
    schema: z.boolean().default(false),
    help: "With --rerun, keep finished runs made by the same command",
  },
  tokens: { schema: int(1).default(105000), help: "Training tokens per row (the budget)" },
  hidden: { schema: int(1).default(128), help: "Hidden units of every row" },
  batch: { schema: int(1).default(20), help: "Batch size of every row" },
  lr: { schema: z.number().positive().default(0.002), help: "Adam learning rate (orth: lr/10)" },
  tie: { schema: z.boolean().default(false), help: "Tie output projection to the embedding" },
  seed: { schema: z.number().int().default(1), help: "Seed for weights, batches and samples" },
  k: { schema: int(1).default(100), help: "Gradient flow: largest distance in time K" },
  gradBatch: { schema: int(1).default(8), help: "Gradient flow: sequences per batch" },
  gradBatches: { schema: int(1).default(2), help: "Gradient flow: batches averaged" },
  timingReps: { schema: int(1).default(10), help: "Timed repetitions per cell" },
  models: {
    schema: z.string().default("models/ptb-ugru,models/ptb-urnn"),
    help: "Shipped model folders to sample, comma-separated",
  },
  temperature: { schema: z.number().min(0).default(0.8), help: "Sampling temperature" },
  data: { schema: z.string().optional(), help: "PTB folder (default $PTB_DIR, else data/ptb)" },
  skipMd5: {
    schema: z.boolean().default(false),
    help: "Accept a corpus that is not PTB (for tests)",
  },
  runs: { schema: z.string().default("runs/ptb-report"), help: "Folder for the grid's runs" },
  from: {
    schema: z.string().default("reports"),
    help: "Folder holding the saved ptb-results.json and context/ to draw from",
  },
  out: {
    schema: z.string().optional(),
    help: "Folder for ptb.md, plots and results (default: a new one under runs/reports/)",
  },
  replace: REPLACE_FLAG,
  backend: { schema: z.enum(BACKENDS).default("wasm"), help: "TensorFlow.js backend" },
  dryRun: {
    schema: z.boolean().default(false),
    help: "Trainer dry runs, tiny timing and gradient flow (for tests)",
  },
};
type ReportFlags = ReturnType<typeof parseFlags<typeof REPORT_FLAGS>>;

function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? "unknown CPU"}, ${
    Math.round(totalmem() / 2 ** 30)
  } GiB, ${process.platform}/${process.arch}; load average ${
    loadavg()[0]!.toFixed(1)
  } when the measurement started (the machine was shared)`;
}

const configOf = (row: GridRow, budget: Budget, vocabSize: number) =>
  parseModelConfig({
    cell: row.cell,
    ...(row.activation ? { activation: row.activation } : {}),
    vocabSize,
    embedSize: budget.hidden,
    hiddenSize: budget.hidden,
    tieWeights: budget.tie,
  });

const rowLabel = (r: { cell: string; activation?: string; bptt: number; table: string }) =>
  r.table === "activation" ? `${r.cell} ${r.activation}` : `${r.cell} bptt ${r.bptt}`;

async function measure(f: ReportFlags, argv: string[]): Promise<PtbResults> {
  const backend = await initBackend(f.backend);
  const startMachine = machine();
  const corpus = await loadCorpus(f.data, f.skipMd5);
  const data = corpus.dir;
  const V = corpus.vocab.words.length;
  const budget: Budget = {
    tokens: f.dryRun ? 3 * f.batch * 35 * 150 : f.tokens,
    batch: f.batch,
    hidden: f.hidden,
    seed: f.seed,
    lr: f.lr,
    tie: f.tie,
  };
  const gradOpts = {
    k: f.dryRun ? 10 : f.k,
    batch: f.dryRun ? 2 : f.gradBatch,
    batches: f.dryRun ? 1 : f.gradBatches,
    seed: f.seed,
    stream: corpus.valid,
  };
  // At initialisation a GRU's weights do not depend on BPTT: one series per cell.
  const initRows = GRID.filter((r) => r.table === "activation" || r.bptt === 35);
  const gradflow = [];
  for (const row of initRows) {
    const cfg = configOf(row, budget, V);
    const label = `${rowLabel(row).replace(/ bptt \d+/, "")}, init`;
    console.log(`gradient flow: ${label}`);
    const params = initParams(cfg, f.seed);
    gradflow.push(await measureGradflow({ label, stage: "init", cfg, params }, gradOpts));
    Object.values(params).forEach((t) => t.dispose());
  }

  const timing = await measureTiming(f, budget, V);

  const rows: RowResult[] = [];
  for (const row of GRID) {
    console.log(`training ${row.id}`);
    const r = await runRow(row, budget, {
      runs: f.runs,
      data,
      backend: f.backend,
      dryRun: f.dryRun,
      skipMd5: f.skipMd5,
      reuse: f.reuseRuns,
    });
    rows.push(r);
    console.log(`  ${row.id}: valid ${r.validPpl.toFixed(2)}, test ${r.testPpl.toFixed(2)}`);
    const m = await loadModel(join(f.runs, row.id, "model"));
    gradflow.push(
      await measureGradflow(
        { label: `${rowLabel(row)}, trained`, stage: "trained", cfg: m.config, params: m.params },
        gradOpts,
      ),
    );
    Object.values(m.params).forEach((t) => t.dispose());
  }
  return {
    version: 1,
    date: new Date().toISOString(),
    machine: startMachine,
    backend: `${backend.name} (${backend.reason})`,
    runtime: `deno ${Deno.version.deno}, @tensorflow/tfjs ${tf.version.tfjs}`,
    command: `deno task report:ptb ${argv.join(" ")}`.trim(),
    budget,
    rows,
    timing,
    gradflow: { k: gradOpts.k, batch: gradOpts.batch, batches: gradOpts.batches, series: gradflow },
    samples: { temperature: f.temperature, maxTokens: 30, models: [] },
  };
}

/** Time per batch of rnn, urnn, gru and ugru at the budget's size, round-robin. */
async function measureTiming(
  f: ReportFlags,
  budget: Budget,
  vocabSize: number,
): Promise<Timing> {
  const bptt = 35, reps = f.dryRun ? 1 : f.timingReps;
  const rows = ["rnn-relu-bptt35", "urnn-relu-bptt35", "gru-bptt35", "ugru-bptt35"]
    .map((id) => GRID.find((r) => r.id === id)!);
  console.log(`timing one batch of each cell, ${reps} rounds`);
  const loadAverage = loadavg()[0]!;
  const cells = await timeSteps(
    rows.map((r) => ({
      label: rowLabel(r).replace(/ bptt \d+/, ""),
      cfg: configOf(r, budget, vocabSize),
    })),
    { batch: budget.batch, bptt, reps, seed: f.seed },
  );
  for (const c of cells) {
    console.log(
      `  ${c.label}: step ${c.stepMs.toFixed(1)} ms, fwd+bwd ${c.fwdBwdMs.toFixed(1)} ms`,
    );
  }
  return {
    hidden: budget.hidden,
    batch: budget.batch,
    bptt,
    vocab: vocabSize,
    reps,
    cells,
    loadAverage,
    date: new Date().toISOString(),
  };
}

export async function reportPtb(argv: string[]): Promise<void> {
  const f = parseFlags(REPORT_FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, REPORT_FLAGS));
  const results = f.rerun
    ? await measure(f, argv)
    : await readResults(join(f.from, "ptb-results.json"));
  const out = await reportDir({
    command: "report-ptb",
    committed: "reports",
    replace: f.replace,
    out: f.out,
  });
  await mkdir(out, { recursive: true });
  const resultsPath = join(out, "ptb-results.json");
  if (!f.rerun) await initBackend(f.backend);
  if (f.retime && !f.rerun) {
    results.timing = {
      ...(await measureTiming(f, results.budget, results.timing.vocab)),
      command: `deno task report:ptb ${argv.join(" ")}`,
    };
  }
  // Shipped models are committed, so their samples are redrawn every time (seconds).
  const dirs = f.models.split(",").filter((d) => d !== "");
  results.samples = await sampleModels(dirs, {
    seeds: [1, 2, 3, 4, 5].map((s) => s + f.seed - 1),
    temperature: f.temperature,
    maxTokens: 30,
  });
  await writeResults(resultsPath, results);
  for (const [name, svg] of Object.entries(await renderPlots(results))) {
    await writeFile(join(out, name), svg);
  }
  // Every context-test result under the folder drawn from (`deno task context --replace`
  // writes them there).
  const contextDir = join(f.from, "context");
  const files = existsSync(contextDir)
    ? (await readdir(contextDir)).filter((n) => n.endsWith(".json")).sort()
    : [];
  const contexts = await Promise.all(files.map((n) => readContextResult(join(contextDir, n))));
  await writeFile(join(out, "ptb.md"), renderMarkdown(results, contexts));
  console.log(`wrote ${join(out, "ptb.md")}, its plots and ${resultsPath}`);
}

if (import.meta.main) runCli(() => reportPtb(Deno.args));
