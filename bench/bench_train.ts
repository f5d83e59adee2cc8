/**
 * `deno task bench:train`: training tokens/s per cell as a user gets it — the trainer's own
 * step (gradient engine, clipping, Adam, orthogonal step; see step_time.ts) on a tied
 * language model at each BPTT length, in one process and with the data-parallel workers of
 * `train --workers` — with the orthogonal step's overhead per batch, beside the roofline of
 * the same run: the GFLOPS of a plain [B·T×H]·[H×V] matMul. `--recurrence fused,composed`
 * times each layer's unroll both as the recurrence op and as per-step tfjs ops, in the same
 * rounds, and prints the op's speed-up. `--json FILE` also writes the results for the
 * benchmark suite (bench/bench.ts). Each row also counts one step's kernel dispatches and
 * device reads (shared/dispatch_count.ts): on a GPU they, not the arithmetic, set the step
 * time of a small model.
 */
import { writeFile } from "node:fs/promises";
import { z } from "zod";
import { BACKENDS, describeBackend, initBackend } from "../shared/backend.ts";
import { CELL_KINDS, parseModelConfig } from "../shared/config.ts";
import { RECURRENCES } from "../shared/recurrence/mod.ts";
import type { TrainBench } from "./results.ts";
import { helpText, parseFlags, parseList, runCli } from "../shared/flags.ts";
import { progressLine } from "../trainer/progress.ts";
import {
  orthOverheads,
  pairedSpeedup,
  timeMatMul,
  timeSteps,
  trainFlopsPerToken,
} from "../trainer/step_time.ts";

const USAGE = "usage: deno task bench:train [flags]";
const int = (min: number) => z.number().int().min(min);
export const TRAIN_BENCH_FLAGS = {
  cells: { schema: z.string().default("rnn,urnn,gru,ugru"), help: "Cells to time" },
  bptt: { schema: z.string().default("35,150"), help: "BPTT lengths T, comma-separated" },
  workers: {
    schema: z.string().default("1,2"),
    help: "Worker counts to time (1: one process, as train --workers), comma-separated",
  },
  threads: {
    schema: int(1).max(64).optional(),
    help: "Wasm threads of this process: one-process rows, shard 0 of --workers rows " +
      "(default $WASM_THREADS, else 1)",
  },
  recurrence: {
    schema: z.string().default("fused"),
    help: "Unrolls to time, comma-separated: fused (the recurrence op), composed (tfjs ops)",
  },
  reps: { schema: int(1).default(5), help: "Timed rounds per configuration" },
  hidden: { schema: int(1).default(256), help: "Hidden units (= embedding size, tied)" },
  vocab: { schema: int(2).default(10000), help: "Vocabulary size (full softmax)" },
  batch: { schema: int(1).default(20), help: "Batch size B" },
  seed: { schema: z.number().int().default(1), help: "Seed for weights and tokens" },
  backend: { schema: z.enum(BACKENDS).default("wasm"), help: "TensorFlow.js backend" },
  json: { schema: z.string().optional(), help: "Also write the results to this JSON file" },
  kernels: {
    schema: z.boolean().default(false),
    help: "Also print each row's dispatches by pass and kernel",
  },
  profile: {
    schema: z.boolean().default(false),
    help: "Also time one whole step by kernel and print where the time goes (wasm)",
  },
};

export async function benchTrain(argv: string[]): Promise<TrainBench | undefined> {
  const f = parseFlags(TRAIN_BENCH_FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, TRAIN_BENCH_FLAGS));
  const cells = parseList(f.cells, "cells", z.enum(CELL_KINDS));
  const kinds = parseList(f.recurrence, "recurrence", z.enum(RECURRENCES));
  const bptts = parseList(f.bptt, "bptt", int(1));
  const workerCounts = parseList(f.workers, "workers", int(1).max(16));
  for (const w of workerCounts) {
    if (f.batch % w !== 0) throw new Error(`--batch ${f.batch} must be a multiple of workers ${w}`);
  }
  const chosen = await initBackend(f.backend, { threads: f.threads });
  if (chosen.name === "webgpu" && workerCounts.some((w) => w > 1)) {
    // Gradient workers are wasm threads: on one GPU the batch stays in one process.
    if (!workerCounts.includes(1)) throw new Error("--workers must include 1 on webgpu");
    console.log("webgpu: timing one process only (gradient workers are wasm threads)");
    workerCounts.splice(0, workerCounts.length, 1);
  }
  const threads = chosen.threads ?? 1;
  const oneProcess = threads > 1 ? `one process, ${threads} threads` : "one process";
  const B = f.batch, H = f.hidden, V = f.vocab;

  const mm = await timeMatMul(B * bptts[0]!, H, V, f.reps);
  console.log(
    `${describeBackend(chosen)}; roofline: matMul [${B * bptts[0]!}×${H}]·[${H}×${V}] ` +
      `${mm.ms.toFixed(1)} ms = ${mm.gflops.toFixed(1)} GFLOPS`,
  );
  const models = kinds.flatMap((recurrence) =>
    cells.map((cell) => ({
      label: kinds.length > 1 ? `${cell} ${recurrence}` : cell,
      cell,
      recurrence,
      cfg: parseModelConfig({
        cell,
        activation: "tanh",
        vocabSize: V,
        embedSize: H,
        hiddenSize: H,
        tieWeights: true,
      }),
    }))
  );

  const runs: TrainBench["runs"] = [];
  for (const T of bptts) {
    for (const workers of workerCounts) {
      const what = `B = ${B}, T = ${T}, H = ${H}, V = ${V}, ${
        workers === 1 ? oneProcess : `--workers ${workers}`
      }`;
      const rows = await timeSteps(models, {
        batch: B,
        bptt: T,
        reps: f.reps,
        seed: f.seed,
        workers,
        onRound: (i, n) => progressLine(`bench:train ${what}: round ${i + 1}/${n}`),
        profile: f.profile,
      });
      console.log(`\n${what}`);
      const out = rows.map((r, i) => {
        const tokensPerS = (B * T) / (r.stepMs / 1000);
        const roof = (workers * mm.gflops * 1e9) / trainFlopsPerToken(models[i]!.cfg);
        console.log(
          `  ${r.label.padEnd(5)} ${r.stepMs.toFixed(1).padStart(8)} ms/batch ` +
            `${tokensPerS.toFixed(0).padStart(7)} tokens/s  (${
              (100 * tokensPerS / roof).toFixed(0)
            } % of the matMul roofline; forward+backward ${r.fwdBwdMs.toFixed(1)} ms; ` +
            `${r.dispatches.dispatches} dispatches (optimizer ${r.optimizerDispatches}), ` +
            `${r.dispatches.kernels} kernels, ` +
            `${r.dispatches.reads} reads per step)`,
        );
        if (f.kernels) console.log(kernelTable(r.byKernel));
        if (r.kernelMs) console.log(kernelTimeTable(r.kernelMs));
        return {
          cell: models[i]!.cell,
          recurrence: models[i]!.recurrence,
          stepMs: r.stepMs,
          fwdBwdMs: r.fwdBwdMs,
          tokensPerS,
          rooflineTokensPerS: roof,
          stepSamples: r.stepSamples,
          dispatches: r.dispatches,
          optimizerDispatches: r.optimizerDispatches,
        };
      });
      const byKind = (k: string) =>
        rows.flatMap((r, i) =>
          models[i]!.recurrence === k ? [{ ...r, label: models[i]!.cell }] : []
        );
      for (const cell of kinds.length > 1 ? cells : []) {
        const [fused, composed] = RECURRENCES.map((k) => byKind(k).find((r) => r.label === cell));
        const s = pairedSpeedup(fused!.stepSamples, composed!.stepSamples);
        console.log(
          `  ${cell} fused vs composed: ${s.median.toFixed(2)}× the speed per batch ` +
            `(quartiles of the paired rounds ${s.q1.toFixed(2)} … ${s.q3.toFixed(2)}×)`,
        );
      }
      for (const o of kinds.flatMap((k) => orthOverheads(byKind(k)))) {
        console.log(
          `  ${o.cell} vs ${o.base}: ${o.median >= 0 ? "+" : ""}${
            o.median.toFixed(1)
          } % per batch ` +
            `(quartiles of the paired rounds ${o.q1.toFixed(1)} … ${o.q3.toFixed(1)} %)`,
        );
      }
      runs.push({ bptt: T, workers, cells: out });
    }
  }
  const result: TrainBench = {
    tool: "bench:train",
    backend: chosen.name,
    batch: B,
    hidden: H,
    vocab: V,
    reps: f.reps,
    threads,
    roofline: { m: B * bptts[0]!, k: H, n: V, ...mm },
    runs,
  };
  if (f.json) await writeFile(f.json, JSON.stringify(result, null, 2) + "\n");
  return result;
}

/** A step's time by kernel, most first, the kernels past 95 % of it summed as "others". */
export function kernelTimeTable(ms: Record<string, number>): string {
  const rows = Object.entries(ms).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const total = rows.reduce((a, [, t]) => a + t, 0);
  const shown: string[] = [];
  let sum = 0;
  for (const [k, t] of rows) {
    if (sum >= 0.95 * total) break;
    sum += t;
    shown.push(`${k} ${t.toFixed(1)} ms (${(100 * t / total).toFixed(0)} %)`);
  }
  const rest = total - sum;
  if (rest > 0) shown.push(`others ${rest.toFixed(1)} ms`);
  return `      kernel time ${total.toFixed(1)} ms: ${shown.join(", ")}`;
}

/** Dispatches by pass and kernel, most first, two to a line. */
export function kernelTable(byKernel: Record<string, number>): string {
  const rows = Object.entries(byKernel).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const cells = rows.map(([k, n]) => `${String(n).padStart(5)} ${k.padEnd(34)}`);
  const lines = [];
  for (let i = 0; i < cells.length; i += 2) lines.push(`      ${cells.slice(i, i + 2).join("")}`);
  return lines.join("\n");
}

if (import.meta.main) runCli(async () => void (await benchTrain(Deno.args)));
