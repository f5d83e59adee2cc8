/**
 * `deno task bench:step`: time per training batch (B = 20, T = --bptt, H = --hidden,
 * V = 10,000) for each cell — forward + backward alone, and the whole step with clipping, Adam
 * and the orthogonal Lie-group step — beside the GFLOPS of a plain [B·T×H]·[H×10000] matMul
 * measured in the same run. `deno task bench:train` runs the same timing at both BPTT
 * lengths and worker counts for the benchmark suite. Cells take turns within each round (step_time.ts), so a change in
 * the machine's load during the run hits every cell alike; overheads are paired per round.
 */
import { z } from "zod";
import { BACKENDS, describeBackend, initBackend } from "../shared/backend.ts";
import { CELL_KINDS, parseModelConfig } from "../shared/config.ts";
import { helpText, parseFlags, parseList, runCli } from "./flags.ts";
import { orthOverheads, timeMatMul, timeSteps } from "./step_time.ts";

const USAGE = "usage: deno task bench:step [flags]";
const FLAGS = {
  backend: { schema: z.enum(BACKENDS).default("wasm"), help: "TensorFlow.js backend" },
  reps: { schema: z.number().int().min(1).default(5), help: "Timed rounds" },
  bptt: { schema: z.number().int().min(1).default(35), help: "Time steps per batch" },
  hidden: { schema: z.number().int().min(1).default(256), help: "Hidden units" },
  cells: { schema: z.string().default("rnn,urnn,gru,ugru,lstm"), help: "Cells to time" },
  workers: {
    schema: z.number().int().min(1).max(20).default(1),
    help: "Data-parallel shards of each batch, one thread each (as train --workers)",
  },
};

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, FLAGS));
  const chosen = await initBackend(f.backend);
  const B = 20, T = f.bptt, H = f.hidden, V = 10000;
  const cells = parseList(f.cells, "cells", z.enum(CELL_KINDS));

  const mm = await timeMatMul(B * T, H, V, f.reps);
  console.log(
    `${describeBackend(chosen)}; matMul [${B * T}×${H}]·[${H}×${V}]: ${mm.ms.toFixed(1)} ms = ${
      mm.gflops.toFixed(1)
    } GFLOPS`,
  );

  const models = cells.map((cell) => ({
    label: cell,
    cfg: parseModelConfig({ cell, activation: "tanh", vocabSize: V, embedSize: H, hiddenSize: H }),
  }));
  const rows = await timeSteps(models, {
    batch: B,
    bptt: T,
    reps: f.reps,
    seed: 1,
    workers: f.workers,
  });
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(5)} forward+backward ${r.fwdBwdMs.toFixed(1)} ms/batch, whole step ` +
        `${r.stepMs.toFixed(1)} ms/batch (${((B * T) / (r.stepMs / 1000)).toFixed(0)} tokens/s)`,
    );
  }
  for (const o of orthOverheads(rows)) {
    console.log(
      `${o.cell} vs ${o.base}: whole step ${o.median.toFixed(1)} % (quartiles ${
        o.q1.toFixed(1)
      } … ${o.q3.toFixed(1)} %)`,
    );
  }
}

if (import.meta.main) runCli(() => main(Deno.args));
